"""One configuration chooses every backend: a file, environment variables or SDK arguments.

Precedence, lowest first: defaults, the TOML file (``config=`` path or ``$REAMO_CONFIG``), ``REAMO_*``
environment variables, then keyword arguments. Nothing is chosen by editing code.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reamo.errors import ConfigError, validation_problems

ENV_PREFIX = "REAMO_"
CONFIG_ENV = "REAMO_CONFIG"
DEFAULT_REFINERS = ("relations", "arguments", "entities", "heard", "objects")
"""The built-in refiners, in the order the refine stage runs them (``agent/refiners``)."""
MOVED_TO_REFINERS = {
    "relation_scorer": "refiner_options.relations.scorer",
    "argument_scorer": "refiner_options.arguments.scorer",
    "entity_checker": "refiner_options.entities.scorer",
}
"""Planner options that became refiner settings when the scorers left the embedded planner for the
refine stage, which every planner goes through."""


class ReamoConfig(BaseModel):
    """Backends and limits of a REAMO instance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    planner: str = Field(
        default="embedded",
        description="embedded | spacy | scripted:FILE | hf:PATH_OR_ID[+ADAPTER] | openai:URL#MODEL",
    )
    max_repairs: int = Field(default=2, ge=0, le=10, description="planner re-asks after an invalid answer")
    tool_timeout_s: float | None = Field(
        default=120.0, ge=0, description="per tool call; 0 or none: no limit"
    )
    plugins: bool = Field(
        default=True, description="load third-party tools from the reamo.tools entry points"
    )
    perceive: bool = Field(default=True, description="run perception models on media before planning")
    perception: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="settings per perceived modality, e.g. {'audio': {'model': 'tiny.en'}}",
    )
    max_image_pixels: int = Field(default=100_000_000, gt=0)
    tools: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="settings per tool name, e.g. {'image.segment.v1': {'backend': 'sam'}}",
    )
    window_chars: int = Field(
        default=300,
        ge=100,
        description="a text or transcript longer than this many characters is read in windows of whole "
        "sentences of about this size, whose results are joined with document offsets",
    )
    window_overlap: int = Field(
        default=0,
        ge=0,
        le=5,
        description="sentences each window repeats from the one before, as context",
    )
    planner_options: dict[str, Any] = Field(
        default_factory=dict, description="backend-specific planner settings"
    )
    refiners: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REFINERS),
        description="refiners run on every planner's validated records, in order (built-in: relations, "
        "arguments, entities, heard, objects; others from the reamo.refiners entry points); [] turns "
        "refine off",
    )
    refiner_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="settings per refiner name, e.g. {'relations': {'scorer': 'none'}}",
    )

    @field_validator("planner_options")
    @classmethod
    def _no_moved_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        moved = [key for key in MOVED_TO_REFINERS if key in options]
        if moved:
            raise ValueError(
                "; ".join(
                    f"planner_options.{key} is now {MOVED_TO_REFINERS[key]} (the scorers run in the refine "
                    f"stage, for every planner): set {MOVED_TO_REFINERS[key]} = {options[key]!r} instead"
                    for key in moved
                )
            )
        return options

    @classmethod
    def load(
        cls,
        source: ReamoConfig | Mapping[str, Any] | str | Path | None = None,
        *,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> ReamoConfig:
        """Build the config from a file or mapping, the environment and keyword overrides."""
        env = os.environ if env is None else env
        given = {k: v for k, v in overrides.items() if v is not None}  # None: not given (e.g. planner=None)
        values: dict[str, Any] = {}
        if isinstance(source, ReamoConfig):
            if not given:
                return source
            # validated like any other source: model_copy(update=...) would skip every check
            values.update(source.model_dump())
        else:
            path = source if isinstance(source, str | Path) else env.get(CONFIG_ENV)
            if path:
                values.update(_read_file(Path(path)))
            if isinstance(source, Mapping):
                values.update(source)
            values.update(_from_env(env))
        values.update(given)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = validation_problems(exc)
            raise ConfigError(
                f"Invalid REAMO configuration: {problems}. Known settings: {', '.join(cls.model_fields)}."
            ) from exc


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"Config file {str(path)!r} does not exist (set by argument or ${CONFIG_ENV})."
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file {str(path)!r} is not valid TOML: {exc}.") from exc
    section = data.get("reamo", data)
    if not isinstance(section, dict):
        raise ConfigError(f"Config file {str(path)!r}: [reamo] must be a table.")
    return section


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, field in ReamoConfig.model_fields.items():
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is None or field.annotation in (dict[str, Any], dict[str, dict[str, Any]]):
            continue
        if field.annotation == list[str]:  # REAMO_REFINERS=relations,entities ('' for none)
            values[name] = [part.strip() for part in raw.split(",") if part.strip()]
            continue
        values[name] = None if raw.lower() in ("none", "") and name == "tool_timeout_s" else raw
    return values
