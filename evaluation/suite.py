"""The MUIE suite format (``BENCHMARK.md``): typed instances, loading with checks, and writing.

A suite is one JSON Lines file, one instance a line, media paths relative to the file's folder. Loading
checks every line against the format and against its own label schema, and resolves every path, so a
malformed suite fails at once with a ``SuiteError`` naming the file, the line and the fix, never halfway
through a benchmark run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reamo.errors import SuiteError, validation_problems
from reamo.media import AUDIO_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES, frame_files
from reamo.schemas import Box, LabelSchema, Task

__all__ = [
    "Gold",
    "GoldArgument",
    "GoldEntity",
    "GoldEvent",
    "GoldImage",
    "GoldRelation",
    "GoldTrigger",
    "GoldVideo",
    "Suite",
    "SuiteInputs",
    "SuiteInstance",
    "load_suite",
    "write_suite",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GoldImage(_Strict):
    """Where an entity is in the image: polygons, a mask PNG (non-zero = object) or a box alone."""

    polygons: list[list[float]] | None = None
    mask: str | None = None
    box: Box | None = None

    @field_validator("polygons")
    @classmethod
    def _polygons(cls, value: list[list[float]] | None) -> list[list[float]] | None:
        for polygon in value or []:
            if len(polygon) < 6 or len(polygon) % 2:
                raise ValueError(
                    f"a polygon is [x1, y1, x2, y2, ...] with at least 3 points, got {len(polygon)} numbers"
                )
        return value


class GoldVideo(_Strict):
    """An entity through the video: a folder of per-frame mask PNGs named like the frames, or boxes."""

    masks: str | None = None
    boxes: dict[str, Box] | None = None


class GoldEntity(_Strict):
    """A gold entity. ``image`` and ``video`` are one region (track), or a list of them when the entity
    stands for several things seen ("dogs" on three dogs' masks); a seen-only entity (no text span, no
    audio) counts once per region in NER, as a prediction does (``metrics.seen_regions``)."""

    id: str
    text: str | None = None
    label: str
    text_span: tuple[int, int] | None = None
    image: GoldImage | list[GoldImage] | None = None
    audio: tuple[float, float] | None = None
    video: GoldVideo | list[GoldVideo] | None = None

    def image_regions(self) -> list[GoldImage]:
        """The entity's image regions, one per thing seen (none when it is not in the image)."""
        return self.image if isinstance(self.image, list) else [self.image] if self.image else []

    def video_tracks(self) -> list[GoldVideo]:
        """The entity's video tracks, one per thing seen (none when it is not in the video)."""
        return self.video if isinstance(self.video, list) else [self.video] if self.video else []


class GoldTrigger(_Strict):
    text: str | None = None
    text_span: tuple[int, int] | None = None
    audio: tuple[float, float] | None = None


class GoldArgument(_Strict):
    entity: str
    role: str


class GoldEvent(_Strict):
    type: str
    trigger: GoldTrigger
    arguments: list[GoldArgument] = Field(default_factory=list)


class GoldRelation(_Strict):
    head: str
    tail: str
    label: str


class Gold(_Strict):
    entities: list[GoldEntity] = Field(default_factory=list)
    relations: list[GoldRelation] = Field(default_factory=list)
    events: list[GoldEvent] = Field(default_factory=list)


class SuiteInputs(_Strict):
    """Text and media paths; after loading, media paths are absolute."""

    text: str | None = None
    image: str | None = None
    audio: str | None = None
    video: str | None = None

    def present(self) -> list[str]:
        """The modalities given, in the order text, image, audio, video."""
        return [m for m in ("text", "image", "audio", "video") if getattr(self, m)]


class SuiteInstance(_Strict):
    """One line of a suite."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(min_length=1)
    task: Task
    inputs: SuiteInputs
    labels: LabelSchema = Field(alias="schema")
    gold: Gold = Field(default_factory=Gold)

    @property
    def has_text(self) -> bool:
        return bool(self.inputs.text)

    @property
    def modalities(self) -> str:
        """The modality combination in the paper's notation: ``T``, ``T+I``, ``A``, ``I+V`` ..."""
        return "+".join(
            {"text": "T", "image": "I", "audio": "A", "video": "V"}[m] for m in self.inputs.present()
        )

    def gold_dict(self) -> dict[str, Any]:
        """The gold object as the plain mapping ``reamo.evaluation.metrics.gold_keys`` reads."""
        return self.gold.model_dump(mode="json")


@dataclass(frozen=True)
class Suite:
    """A loaded suite: its file, a name (the file's stem) and its checked instances, paths resolved."""

    path: Path
    instances: tuple[SuiteInstance, ...]

    @property
    def name(self) -> str:
        return self.path.stem

    def head(self, limit: int | None) -> Suite:
        """The first ``limit`` instances (all when ``limit`` is None)."""
        if limit is None:
            return self
        if limit < 1:
            raise SuiteError(f"--limit must be at least 1, got {limit}.")
        return Suite(self.path, self.instances[:limit])

    @property
    def task(self) -> str:
        """The task of the suite's instances, or ``mixed``."""
        tasks = {i.task for i in self.instances}
        return tasks.pop() if len(tasks) == 1 else "mixed"

    @property
    def modalities(self) -> str:
        combos = sorted({i.modalities for i in self.instances})
        return ", ".join(combos)


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def _pydantic_message(exc: ValidationError) -> str:
    return validation_problems(exc, whole="line")


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


class _Checker:
    """Checks one instance against the format; collects problems phrased for the suite's author."""

    def __init__(self, instance: SuiteInstance, base: Path) -> None:
        self.instance = instance
        self.base = base
        self.problems: list[str] = []

    def media(self, modality: str, value: str, suffixes: tuple[str, ...], *, folder_ok: bool) -> str:
        path = _resolve(self.base, value)
        if not path.exists():
            self.problems.append(
                f"inputs.{modality} {value!r} does not exist (paths are relative to the suite's folder "
                f"{str(self.base)!r})"
            )
        elif path.is_dir():
            if not folder_ok:
                self.problems.append(f"inputs.{modality} {value!r} is a folder; give a file")
            elif not frame_files(path):
                self.problems.append(f"inputs.{modality} folder {value!r} has no frames (00000.jpg, ...)")
        elif path.suffix.lower() not in suffixes:
            self.problems.append(
                f"inputs.{modality} {value!r} is not a {modality} file ({', '.join(suffixes)})"
            )
        return str(path)

    def span(self, where: str, span: tuple[int, int] | None, text: str | None) -> None:
        if span is None:
            return
        start, end = span
        source = self.instance.inputs.text
        if source is None:
            self.problems.append(f"{where}: text_span {list(span)} given but the instance has no text input")
        elif not 0 <= start < end <= len(source):
            self.problems.append(
                f"{where}: text_span {list(span)} is outside the text (length {len(source)}); "
                "spans are [start, end) character offsets with start < end"
            )
        elif text is not None and source[start:end] != text:
            self.problems.append(
                f"{where}: text_span {list(span)} cuts {source[start:end]!r}, not its text {text!r}"
            )

    def label(self, where: str, value: str, allowed: Sequence[str], kind: str) -> None:
        if value not in allowed:
            self.problems.append(
                f"{where}: {kind} {value!r} is not in the schema's {kind}s "
                f"({', '.join(allowed) or 'none given'}); add it to the schema or fix the label"
            )

    def interval(self, where: str, interval: tuple[float, float] | None) -> None:
        if interval is not None and not 0 <= interval[0] <= interval[1]:
            self.problems.append(f"{where}: audio span {list(interval)} needs 0 <= start <= end (seconds)")

    def run(self) -> SuiteInstance:
        inst, labels = self.instance, self.instance.labels
        inputs = inst.inputs
        if not inputs.present():
            self.problems.append("inputs has no text, image, audio or video: give at least one")
        resolved = {
            "image": inputs.image and self.media("image", inputs.image, IMAGE_SUFFIXES, folder_ok=False),
            "audio": inputs.audio
            and self.media("audio", inputs.audio, AUDIO_SUFFIXES + VIDEO_SUFFIXES, folder_ok=False),
            "video": inputs.video and self.media("video", inputs.video, VIDEO_SUFFIXES, folder_ok=True),
        }
        if not labels.primary(inst.task):
            self.problems.append(f"schema has no labels for task {inst.task!r}")
        ids: set[str] = set()
        entities = []
        for n, entity in enumerate(inst.gold.entities):
            where = f"gold.entities[{n}] ({entity.id})"
            if entity.id in ids:
                self.problems.append(f"{where}: duplicate entity id {entity.id!r}")
            ids.add(entity.id)
            if entity.text is None and entity.text_span is None:
                self.problems.append(f"{where}: give 'text' or 'text_span' (or both)")
            self.span(where, entity.text_span, entity.text)
            self.label(where, entity.label, labels.entity_types, "entity type")
            self.interval(where, entity.audio)
            entities.append(self._entity_media(where, entity, resolved))
        for n, rel in enumerate(inst.gold.relations):
            where = f"gold.relations[{n}]"
            for end in (rel.head, rel.tail):
                if end not in ids:
                    self.problems.append(f"{where}: entity {end!r} is not a gold entity id ({sorted(ids)})")
            self.label(where, rel.label, labels.relation_types, "relation type")
        for n, event in enumerate(inst.gold.events):
            where = f"gold.events[{n}]"
            self.label(where, event.type, labels.event_types, "event type")
            if event.trigger.text is None and event.trigger.text_span is None:
                self.problems.append(f"{where}.trigger: give 'text' or 'text_span'")
            self.span(f"{where}.trigger", event.trigger.text_span, event.trigger.text)
            self.interval(f"{where}.trigger", event.trigger.audio)
            for arg in event.arguments:
                if arg.entity not in ids:
                    self.problems.append(f"{where}: argument {arg.entity!r} is not a gold entity id")
                self.label(where, arg.role, labels.argument_roles, "argument role")
        gold = inst.gold.model_copy(update={"entities": entities})
        media = {k: v for k, v in resolved.items() if v}
        return inst.model_copy(update={"inputs": inputs.model_copy(update=media), "gold": gold})

    def _entity_media(self, where: str, entity: GoldEntity, inputs: dict[str, Any]) -> GoldEntity:
        update: dict[str, Any] = {}
        for medium in ("image", "video"):
            value = getattr(entity, medium)
            if value is None:
                continue
            if not inputs[medium]:
                self.problems.append(f"{where}: has a {medium} grounding but the instance has no {medium}")
            if value == []:
                self.problems.append(f"{where}.{medium}: an empty list; give a region or leave it out")
        regions = [self._image(f"{where}.image", img) for img in entity.image_regions()]
        tracks = [self._video(f"{where}.video", vid) for vid in entity.video_tracks()]
        if regions != entity.image_regions():
            update["image"] = regions if isinstance(entity.image, list) else regions[0]
        if tracks != entity.video_tracks():
            update["video"] = tracks if isinstance(entity.video, list) else tracks[0]
        if entity.audio is not None and not inputs["audio"]:
            self.problems.append(f"{where}: has an audio span but the instance has no audio")
        return entity.model_copy(update=update) if update else entity

    def _image(self, where: str, img: GoldImage) -> GoldImage:
        if img.polygons is None and img.mask is None and img.box is None:
            self.problems.append(f"{where}: give polygons, mask or box")
        if img.mask is None:
            return img
        mask = _resolve(self.base, img.mask)
        if not mask.is_file():
            self.problems.append(f"{where}.mask {img.mask!r} does not exist")
        return img.model_copy(update={"mask": str(mask)})

    def _video(self, where: str, vid: GoldVideo) -> GoldVideo:
        if vid.masks is None and vid.boxes is None:
            self.problems.append(f"{where}: give masks (a folder) or boxes")
        if vid.masks is None:
            return vid
        folder = _resolve(self.base, vid.masks)
        if not folder.is_dir():
            self.problems.append(f"{where}.masks {vid.masks!r} is not a folder")
        return vid.model_copy(update={"masks": str(folder)})


def _read_lines(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SuiteError(
            f"Suite {str(path)!r} does not exist; build suites with `reamo bench build`."
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"Suite {str(path)!r} cannot be read as UTF-8 text: {exc}.") from exc
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path}:{n}: not valid JSON ({exc}); each line is one JSON object.") from exc
        if not isinstance(row, dict):
            raise SuiteError(
                f"{path}:{n}: each line must be a JSON object (BENCHMARK.md), got {type(row).__name__}."
            )
        yield n, row


def load_suite(path: str | Path) -> Suite:
    """Read and check a suite file; raises ``SuiteError`` with the file, line and fix for any problem."""
    path = Path(path)
    base = path.parent.resolve()
    instances: list[SuiteInstance] = []
    seen: dict[str, int] = {}
    for n, row in _read_lines(path):
        where = f"{path}:{n} (id {row.get('id', '?')!r})"
        try:
            instance = SuiteInstance.model_validate(row)
        except ValidationError as exc:
            raise SuiteError(f"{where}: {_pydantic_message(exc)} (format: BENCHMARK.md).") from exc
        if instance.id in seen:
            raise SuiteError(
                f"{where}: duplicate id, first used on line {seen[instance.id]}; ids must be unique."
            )
        seen[instance.id] = n
        checker = _Checker(instance, base)
        checked = checker.run()
        if checker.problems:
            raise SuiteError(f"{where}: " + "; ".join(checker.problems) + ".")
        instances.append(checked)
    if not instances:
        raise SuiteError(f"Suite {str(path)!r} has no instances.")
    return Suite(path, tuple(instances))


def write_suite(path: Path, instances: Iterable[SuiteInstance]) -> int:
    """Write instances as a suite file (media paths as given: make them relative to ``path``'s folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for instance in instances:
            # a schema without descriptions is written as BENCHMARK.md shows it, without the empty field
            bare = None if instance.labels.descriptions else {"labels": {"descriptions"}}
            out.write(instance.model_dump_json(by_alias=True, exclude=bare) + "\n")
            count += 1
    tmp.replace(path)
    return count
