"""Bad input raises typed errors that say what to do; the configuration loads in a fixed precedence."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import reamo
from reamo import (
    BackendUnavailableError,
    ConfigError,
    EmptyInputError,
    InputError,
    LabelSchema,
    LabelSchemaError,
    MediaNotFoundError,
    Reamo,
    ReamoConfig,
    ReamoError,
    UnknownTaskError,
    UnreadableMediaError,
    UnsupportedMediaError,
    media,
)
from reamo.agent import ScriptedPlanner, make_planner
from reamo.schemas import Inputs, MediaInput
from reamo.tools import ToolRegistry

TEXT = "Barack Obama met Angela Merkel in Berlin."
ANSWER = {"entities": [{"text": "Barack Obama", "label": "person"}]}
HINT_WORDS = ("use", "give", "check", "convert", "downscale", "raise", "put", "rename", "install")


def says_what_to_do(message: str) -> bool:
    return any(re.search(rf"\b{word}\b", message, re.IGNORECASE) for word in HINT_WORDS)


def raises_input_error(expected: type[InputError], call: Callable[[], Any]) -> InputError:
    """Run ``call``: it must raise ``expected``, an InputError whose message says what to do."""
    with pytest.raises(expected) as info:
        call()
    error = info.value
    assert isinstance(error, reamo.ReamoError)
    assert isinstance(error, reamo.InputError)
    assert says_what_to_do(str(error)), f"the message does not say what to do: {error}"
    return error


# --------------------------------------------------------------------------
# Bad requests
# --------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "   \n"])
def test_empty_input(text: str | None, make_reamo: Callable[..., Reamo]) -> None:
    reamo_ = make_reamo(ANSWER)
    raises_input_error(EmptyInputError, lambda: reamo_.extract("ner", text=text))
    assert reamo_.planner.requests == []  # type: ignore[attr-defined]


def test_missing_file(make_reamo: Callable[..., Reamo], media_dir: Path) -> None:
    error = raises_input_error(
        MediaNotFoundError, lambda: make_reamo(ANSWER).extract("ner", image=media_dir / "nope.png")
    )
    assert isinstance(error, FileNotFoundError)
    assert "image:0" in str(error)
    assert "nope.png" in str(error)


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        ("image", "clip", UnsupportedMediaError),  # a folder is a video only
        ("audio", "clip", UnsupportedMediaError),
        ("image", "notes.txt", UnsupportedMediaError),
        ("audio", "photo.png", UnsupportedMediaError),
        ("video", "speech.wav", UnsupportedMediaError),
        ("image", "empty.png", UnreadableMediaError),
    ],
)
def test_unusable_media_is_refused_before_any_work(
    kind: str, name: str, expected: type[InputError], make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    reamo_ = make_reamo(ANSWER)
    error = raises_input_error(expected, lambda: reamo_.extract("ner", text=TEXT, **{kind: media_dir / name}))
    assert f"{kind}:0" in str(error)
    assert reamo_.planner.requests == []  # type: ignore[attr-defined]


def test_corrupt_image_passes_the_check_but_fails_in_perception(
    make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    corrupt = media_dir / "corrupt.png"
    media.check_inputs(Inputs.build(image=corrupt))  # the header looks fine: no error yet
    reamo_ = make_reamo(ANSWER)
    error = raises_input_error(UnreadableMediaError, lambda: reamo_.extract("ner", image=corrupt))
    assert "corrupt.png" in str(error)
    assert reamo_.planner.requests == []  # type: ignore[attr-defined]  # raised by perceive, before planning


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("audio", lambda d: (d / "noise.wav").write_bytes(b"RIFF" + b"\x01" * 40) and d / "noise.wav"),
        ("video", lambda d: (d / "junk.mp4").write_bytes(b"\x00" * 64) and d / "junk.mp4"),
        ("video", lambda d: (d / "frames").mkdir() or d / "frames"),
    ],
)
def test_unreadable_audio_and_video(
    kind: str, make: Callable[[Path], Path], make_reamo: Callable[..., Reamo], media_dir: Path
) -> None:
    path = make(media_dir)
    error = raises_input_error(
        UnreadableMediaError, lambda: make_reamo(ANSWER).extract("ner", **{kind: path})
    )
    assert path.name in str(error)


def test_unknown_task(make_reamo: Callable[..., Reamo]) -> None:
    error = raises_input_error(UnknownTaskError, lambda: make_reamo(ANSWER).extract("pos", text=TEXT))
    assert "'pos'" in str(error)
    assert "ner, re, ee" in str(error)


@pytest.mark.parametrize(
    "labels", [["person", "person"], ["person", ""], ["  "], "person,,location", "person, person"]
)
def test_bad_label_sets(labels: Any, make_reamo: Callable[..., Reamo]) -> None:
    raises_input_error(LabelSchemaError, lambda: make_reamo(ANSWER).extract("ner", text=TEXT, labels=labels))


def test_event_extraction_needs_argument_roles(make_reamo: Callable[..., Reamo]) -> None:
    labels = LabelSchema(entity_types=["person"], event_types=["Contact:Meet"])
    error = raises_input_error(
        LabelSchemaError, lambda: make_reamo(ANSWER).extract("ee", text=TEXT, labels=labels)
    )
    assert "argument_roles" in str(error)


def test_a_label_set_without_the_tasks_labels(make_reamo: Callable[..., Reamo]) -> None:
    labels = LabelSchema(entity_types=["person"])
    error = raises_input_error(
        LabelSchemaError, lambda: make_reamo(ANSWER).extract("re", text=TEXT, labels=labels)
    )
    assert "RE" in str(error)


def test_error_hierarchy() -> None:
    for error in (
        EmptyInputError,
        MediaNotFoundError,
        UnreadableMediaError,
        UnsupportedMediaError,
        UnknownTaskError,
        LabelSchemaError,
    ):
        assert issubclass(error, InputError)
        assert issubclass(error, ReamoError)
        assert issubclass(error, ValueError)
    for error in (ConfigError, BackendUnavailableError):
        assert issubclass(error, ReamoError)
        assert not issubclass(error, InputError)


# --------------------------------------------------------------------------
# Images: decompression bombs and EXIF rotation
# --------------------------------------------------------------------------


def test_an_image_over_max_image_pixels_is_refused(registry: ToolRegistry, media_dir: Path) -> None:
    # no perceivers given: they come from the config, with its pixel limit
    small_limit = Reamo(
        planner=ScriptedPlanner([ANSWER]), registry=registry, plugins=False, max_image_pixels=100
    )
    error = raises_input_error(
        UnreadableMediaError, lambda: small_limit.extract("ner", image=media_dir / "photo.png")
    )
    assert "64x48" in str(error)
    assert "limit of 100" in str(error)
    assert "max_image_pixels" in str(error)


def test_video_frames_over_max_image_pixels_are_refused(registry: ToolRegistry, media_dir: Path) -> None:
    small_limit = Reamo(
        planner=ScriptedPlanner([ANSWER]), registry=registry, plugins=False, max_image_pixels=100
    )
    error = raises_input_error(
        UnreadableMediaError, lambda: small_limit.extract("ner", video=media_dir / "clip")
    )
    assert "limit of 100" in str(error)


def test_probe_reports_the_exif_rotated_size(make_reamo: Callable[..., Reamo], tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    Image.new("RGB", (64, 48), (200, 10, 10)).save(path, exif=exif)
    with Image.open(path) as raw:
        assert raw.size == (64, 48)

    probed = media.probe_image(MediaInput(id="image:0", path=path))
    assert (probed.width, probed.height) == (48, 64)
    result = make_reamo(ANSWER).extract("ner", image=path)
    assert (result.perception.images["image:0"].width, result.perception.images["image:0"].height) == (48, 64)


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

TOML = """
[reamo]
max_repairs = 5
tool_timeout_s = 3.0
plugins = false

[reamo.tools."image.segment.v1"]
backend = "sam"
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "reamo.toml"
    path.write_text(TOML)
    return path


def test_config_precedence_defaults_file_env_keywords(config_file: Path) -> None:
    defaults = ReamoConfig.load(env={})
    assert defaults == ReamoConfig()
    assert (defaults.max_repairs, defaults.tool_timeout_s, defaults.plugins) == (2, 120.0, True)

    from_file = ReamoConfig.load(config_file, env={})
    assert (from_file.max_repairs, from_file.tool_timeout_s, from_file.plugins) == (5, 3.0, False)
    assert from_file.tools == {"image.segment.v1": {"backend": "sam"}}
    assert ReamoConfig.load(env={"REAMO_CONFIG": str(config_file)}) == from_file

    env = {"REAMO_MAX_REPAIRS": "7", "REAMO_PLUGINS": "true"}
    from_env = ReamoConfig.load(config_file, env=env)
    assert (from_env.max_repairs, from_env.tool_timeout_s, from_env.plugins) == (7, 3.0, True)

    from_keywords = ReamoConfig.load(config_file, env=env, max_repairs=9, planner=None)
    assert (from_keywords.max_repairs, from_keywords.tool_timeout_s, from_keywords.plugins) == (9, 3.0, True)
    assert from_keywords.planner == defaults.planner  # a None keyword means "not given"
    assert from_keywords.tools == from_file.tools


def test_config_from_env_alone_and_no_timeout() -> None:
    config = ReamoConfig.load(env={"REAMO_TOOL_TIMEOUT_S": "none", "REAMO_PLANNER": "scripted:a.jsonl"})
    assert config.tool_timeout_s is None
    assert config.planner == "scripted:a.jsonl"


def test_zero_tool_timeout_means_no_limit(tmp_path: Path) -> None:
    path = tmp_path / "reamo.toml"
    path.write_text("[reamo]\ntool_timeout_s = 0\n")  # TOML has no null: 0 turns the limit off
    assert ReamoConfig.load(path, env={}).tool_timeout_s == 0


def test_config_file_without_a_reamo_table(tmp_path: Path) -> None:
    path = tmp_path / "flat.toml"
    path.write_text("max_repairs = 4\n")
    assert ReamoConfig.load(path, env={}).max_repairs == 4


@pytest.mark.parametrize(
    ("source", "env", "overrides", "bad"),
    [
        (None, {}, {"max_repairs": -1}, "max_repairs"),
        (None, {}, {"tool_timeout_s": -1}, "tool_timeout_s"),
        (None, {"REAMO_MAX_REPAIRS": "lots"}, {}, "max_repairs"),
        ({"max_repair": 3}, {}, {}, "max_repair"),
        (ReamoConfig(), {}, {"max_repairs": 99}, "max_repairs"),
        (ReamoConfig(), {}, {"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_invalid_config_lists_the_known_settings(
    source: Any, env: dict[str, str], overrides: dict[str, Any], bad: str
) -> None:
    with pytest.raises(ConfigError) as info:
        ReamoConfig.load(source, env=env, **overrides)
    message = str(info.value)
    assert bad in message
    assert "Known settings: " + ", ".join(ReamoConfig.model_fields) in message


def test_a_config_object_with_keyword_overrides() -> None:
    base = ReamoConfig(planner="scripted:a.jsonl", max_repairs=4)
    assert ReamoConfig.load(base, env={}) is base
    assert ReamoConfig.load(base, env={}, planner=None) == base  # None means "not given"
    changed = ReamoConfig.load(base, env={}, max_repairs=1)
    assert (changed.planner, changed.max_repairs) == ("scripted:a.jsonl", 1)


def test_reamo_takes_a_config_object(tmp_path: Path, registry: ToolRegistry) -> None:
    answers = tmp_path / "answers.jsonl"
    answers.write_text('{"entities": [{"text": "Barack Obama", "label": "person"}]}\n')
    r = Reamo(ReamoConfig(planner=f"scripted:{answers}", plugins=False, refiners=[]), registry=registry)
    assert r.config.planner == f"scripted:{answers}"
    assert [e.text for e in r.extract("ner", text=TEXT).entities] == ["Barack Obama"]


@pytest.mark.parametrize(("path", "content"), [("missing.toml", None), ("broken.toml", "max_repairs = ")])
def test_unreadable_config_files(path: str, content: str | None, tmp_path: Path) -> None:
    if content is not None:
        (tmp_path / path).write_text(content)
    with pytest.raises(ConfigError, match=re.escape(path)):
        ReamoConfig.load(tmp_path / path, env={})


def test_unknown_planner_spec() -> None:
    with pytest.raises(ConfigError) as info:
        Reamo(planner="gpt9:turbo", plugins=False)
    assert "'gpt9:turbo'" in str(info.value)
    assert "scripted" in str(info.value)
    with pytest.raises(ConfigError):
        make_planner("nope", ReamoConfig())


@pytest.mark.parametrize("spec", ["scripted", "scripted:/no/such/answers.jsonl"])
def test_scripted_planner_needs_a_readable_file(spec: str) -> None:
    with pytest.raises(ConfigError, match="scripted"):
        Reamo(planner=spec, plugins=False)


def test_embedded_planner_loads_its_model_lazily() -> None:
    reamo = Reamo(planner="embedded", plugins=False)  # no model is loaded until the first plan
    assert reamo.planner.describe().name == "embedded"
    with pytest.raises(ConfigError, match="takes no argument"):
        Reamo(planner="embedded:big", plugins=False)
