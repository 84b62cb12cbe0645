"""Tests for the tool registry, its registration rules, the derived call schema, the conformance check
for tool authors and the runner's typed failures."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _golden import check_golden_text
from conftest import broken_segment, fake_audio, fake_segment, fake_track
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict

from reamo.errors import ConformanceError, RegistrationError, ToolNotFoundError
from reamo.schemas import AudioSpan, ImagePerception, ImageRegion, Inputs, MetaResponse, Perception
from reamo.tools import ToolArgs, ToolContext, ToolRegistry, call_schema, check_definition, run_call, tool
from reamo.tools.testing import check_tool

WIDTH, HEIGHT = 64, 48  # conftest's photo.png


def _registration_error(bad: object, *fragments: str) -> str:
    """Register ``bad``, expect a RegistrationError showing the definition, the fix and each fragment."""
    with pytest.raises(RegistrationError) as info:
        ToolRegistry().register(bad)
    message = str(info.value)
    assert "definition:" in message
    assert "fix:" in message
    for fragment in fragments:
        assert fragment in message
    return message


# --------------------------------------------------------------------------
# Registration rules
# --------------------------------------------------------------------------


def test_valid_tools_register_and_are_listed(registry: ToolRegistry) -> None:
    assert registry.names() == ["fake.audio.segment.v1", "fake.image.segment.v1", "fake.video.track.v1"]
    assert registry.modules() == ["AudioSegmentation", "ImageSegmentation", "VideoTracking"]
    assert len(registry) == 3
    assert "fake.image.segment.v1" in registry
    assert registry.get("fake.image.segment.v1") is fake_segment
    assert registry.by_module("VideoTracking") is fake_track
    assert registry.for_modality("audio") == [fake_audio]
    assert [t.name for t in registry] == registry.names()


def test_decorator_takes_args_model_result_type_and_description_from_the_function() -> None:
    assert fake_segment.args_model.__name__ == "SegmentArgs"
    assert fake_segment.result_model is ImageRegion
    assert fake_segment.description == "Segment what the instruction names (fake: knows 'Obama' and 'dog')."
    assert check_definition(fake_segment) is fake_segment


@pytest.mark.parametrize(
    "name", ["image.segment", "Image.Segment.v1", "image segment v1", "image.segment.v", ""]
)
def test_unversioned_or_malformed_name(name: str) -> None:
    message = _registration_error(
        dataclasses.replace(fake_segment, name=name), repr(name), "image.segment.v1"
    )
    assert "version" in message


@pytest.mark.parametrize("module", ["image_seg", "imageSegmentation", "Image Segmentation", ""])
def test_module_must_be_camel_case(module: str) -> None:
    _registration_error(dataclasses.replace(fake_segment, module=module), repr(module), "CamelCase")


def test_unknown_modality() -> None:
    message = _registration_error(dataclasses.replace(fake_segment, modality="smell"), "'smell'")
    for modality in ("text", "image", "audio", "video"):
        assert modality in message


@pytest.mark.parametrize("description", ["", "   \n"])
def test_empty_description(description: str) -> None:
    _registration_error(
        dataclasses.replace(fake_segment, description=description), fake_segment.name, "description"
    )


class PlainArgs(BaseModel):
    instruction: str
    target: str


@pytest.mark.parametrize("model", [PlainArgs, dict, None])
def test_args_model_must_subclass_tool_args(model: Any) -> None:
    message = _registration_error(
        dataclasses.replace(fake_segment, args_model=model), repr(model), "ToolArgs"
    )
    assert "class MyArgs(ToolArgs)" in message


class RequiredOptionArgs(ToolArgs):
    threshold: float


def test_option_without_default() -> None:
    _registration_error(
        dataclasses.replace(fake_segment, args_model=RequiredOptionArgs), "threshold", "default"
    )


class ConceptArgs(ToolArgs):
    concept: str = "x"


class ModuleArgs(ToolArgs):
    module: str = "x"


@pytest.mark.parametrize(("model", "field"), [(ConceptArgs, "concept"), (ModuleArgs, "module")])
def test_reserved_field_names(model: type[ToolArgs], field: str) -> None:
    _registration_error(dataclasses.replace(fake_segment, args_model=model), field, "reserved", "rename")


class LaxArgs(ToolArgs):
    model_config = ConfigDict(extra="allow", frozen=True)


def test_args_model_that_accepts_unknown_keys() -> None:
    _registration_error(dataclasses.replace(fake_segment, args_model=LaxArgs), "LaxArgs", "extra='forbid'")


class CallableArgs(ToolArgs):
    hook: Callable[[], None] = print


def test_args_model_without_json_schema() -> None:
    _registration_error(dataclasses.replace(fake_segment, args_model=CallableArgs), "CallableArgs", "JSON")


def test_wrong_result_type_for_modality() -> None:
    @tool("image.listen.v1", module="ImageListening", modality="image")
    def listen(args: ToolArgs, ctx: ToolContext) -> list[AudioSpan]:
        """Listen to an image."""
        return []

    _registration_error(listen, "image.listen.v1", "AudioSpan", "list[ImageRegion]")


def test_object_lacking_the_protocol() -> None:
    class HalfTool:
        name = "half.tool.v1"
        module = "HalfTool"

    _registration_error(HalfTool(), "half.tool.v1", "modality", "run()")


def test_class_based_tool_is_accepted() -> None:
    class ClassTool:
        name = "class.image.v2"
        module = "ClassImage"
        modality = "image"
        description = "A tool written as a class."
        args_model = ToolArgs
        result_model = ImageRegion

        def run(self, args: ToolArgs, ctx: ToolContext) -> list[ImageRegion]:
            return []

    instance = ClassTool()
    assert ToolRegistry([instance]).get("class.image.v2") is instance


def test_duplicate_name() -> None:
    registry = ToolRegistry([fake_segment])
    twin = dataclasses.replace(fake_segment, module="OtherSegmentation")
    _registration_error_in(registry, twin, "name 'fake.image.segment.v1'", "already taken", "replace=True")


def test_duplicate_module_and_replace() -> None:
    registry = ToolRegistry([fake_segment, fake_audio])
    _registration_error_in(registry, broken_segment, "module 'ImageSegmentation'", "fake.image.segment.v1")
    assert registry.by_module("ImageSegmentation") is fake_segment

    registry.register(broken_segment, replace=True)
    assert registry.by_module("ImageSegmentation") is broken_segment
    assert registry.names() == ["fake.audio.segment.v1", "fake.image.broken.v1"]


def test_unregister() -> None:
    registry = ToolRegistry([fake_segment, fake_audio])
    registry.unregister("fake.audio.segment.v1")
    assert registry.names() == ["fake.image.segment.v1"]
    with pytest.raises(ToolNotFoundError, match=r"fake\.audio\.segment\.v1"):
        registry.unregister("fake.audio.segment.v1")


def _registration_error_in(registry: ToolRegistry, bad: object, *fragments: str) -> None:
    before = registry.names()
    with pytest.raises(RegistrationError) as info:
        registry.register(bad)
    message = str(info.value)
    for fragment in ("definition:", "fix:", *fragments):
        assert fragment in message
    assert registry.names() == before


def test_unknown_name_lists_the_available_names(registry: ToolRegistry) -> None:
    with pytest.raises(ToolNotFoundError) as info:
        registry.get("image.segment.v9")
    message = str(info.value)
    assert "'image.segment.v9'" in message
    assert "Available names: fake.audio.segment.v1, fake.image.segment.v1, fake.video.track.v1" in message


def test_unknown_module_lists_the_available_modules(registry: ToolRegistry) -> None:
    with pytest.raises(ToolNotFoundError) as info:
        registry.by_module("FaceRecognition")
    assert "'FaceRecognition'" in str(info.value)
    assert "Available modules: AudioSegmentation, ImageSegmentation, VideoTracking" in str(info.value)


def test_not_found_in_an_empty_registry_says_none() -> None:
    with pytest.raises(ToolNotFoundError, match="Available names: none"):
        ToolRegistry().get("x.v1")
    with pytest.raises(KeyError):  # still a KeyError for callers that catch that
        ToolRegistry().by_module("X")


# --------------------------------------------------------------------------
# The derived call schema
# --------------------------------------------------------------------------


def test_call_schema_golden() -> None:
    schema = call_schema(fake_segment, ["image:0"])
    Draft202012Validator.check_schema(schema)
    check_golden_text(
        "call_schema_image_segment.json", json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    )


def test_call_schema_accepts_a_call_and_rejects_typos() -> None:
    validator = Draft202012Validator(call_schema(fake_segment, ["image:0", "image:1"]))
    call = {"module": "ImageSegmentation", "instruction": "dog", "target": "image:1", "max_instances": 2}
    assert validator.is_valid(call)
    assert not validator.is_valid({**call, "max_instance": 2})
    assert not validator.is_valid({**call, "target": "image:2"})
    assert not validator.is_valid({**call, "module": "AudioSegmentation"})
    assert not validator.is_valid({k: v for k, v in call.items() if k != "target"})


class Region(BaseModel):
    x: int = 0


class NestedArgs(ToolArgs):
    region: Region = Region()


def test_call_schema_moves_nested_definitions_into_shared_defs() -> None:
    @tool("image.nested.v1", module="NestedImage", modality="image")
    def nested(args: NestedArgs, ctx: ToolContext) -> list[ImageRegion]:
        """Nested options."""
        return []

    defs: dict[str, Any] = {}
    schema = call_schema(nested, ["image:0"], defs=defs)
    assert "$defs" not in schema
    assert set(defs) == {"NestedImage_Region"}
    assert schema["properties"]["region"]["$ref"] == "#/$defs/NestedImage_Region"
    alone = call_schema(nested, ["image:0"])
    assert set(alone["$defs"]) == {"Region"}


# --------------------------------------------------------------------------
# check_tool: the conformance check for tool authors
# --------------------------------------------------------------------------


@pytest.fixture
def sample_image(media_dir: Path) -> Inputs:
    return Inputs.build(image=[media_dir / "photo.png"])


@pytest.fixture
def image_perception() -> Perception:
    return Perception(images={"image:0": ImagePerception(media="image:0", width=WIDTH, height=HEIGHT)})


def test_check_tool_passes_for_a_conforming_tool(sample_image: Inputs, image_perception: Perception) -> None:
    runs = check_tool(
        fake_segment,
        inputs=sample_image,
        instruction="dog",
        absent_instruction="zebra",
        perception=image_perception,
    )
    assert [(r.call.instruction, r.status) for r in runs] == [("dog", "ok"), ("zebra", "not_found")]
    assert all(g.media == "image:0" for g in runs[0].groundings)


def test_check_tool_without_inputs_checks_registration_and_schema() -> None:
    assert check_tool(fake_segment) == []
    with pytest.raises(ConformanceError, match=r"name it like 'image\.segment\.v1'"):
        check_tool(dataclasses.replace(fake_segment, name="image.segment"))


@tool("image.inventive.v1", module="InventiveSegmentation", modality="image")
def inventive_segment(args: ToolArgs, ctx: ToolContext) -> list[ImageRegion]:
    """Finds everything, even what is not there."""
    return [ImageRegion(media=args.target, box=(0.0, 0.0, 10.0, 10.0), score=0.5)]


@tool("image.misplaced.v1", module="MisplacedSegmentation", modality="image")
def misplaced_segment(args: ToolArgs, ctx: ToolContext) -> list[ImageRegion]:
    """Grounds on another image than the one targeted."""
    return [ImageRegion(media="image:7", box=(0.0, 0.0, 10.0, 10.0), score=0.5)]


def test_check_tool_rejects_an_invented_grounding(sample_image: Inputs) -> None:
    with pytest.raises(ConformanceError) as info:
        check_tool(inventive_segment, inputs=sample_image, instruction="dog", absent_instruction="zebra")
    message = str(info.value)
    assert "image.inventive.v1" in message
    assert "'zebra'" in message
    assert "expected not_found" in message


def test_check_tool_rejects_groundings_on_the_wrong_media(sample_image: Inputs) -> None:
    with pytest.raises(ConformanceError) as info:
        check_tool(misplaced_segment, inputs=sample_image, instruction="dog")
    message = str(info.value)
    assert "'image:7'" in message
    assert "image:0" in message


def test_check_tool_needs_a_medium_of_the_tools_modality(media_dir: Path) -> None:
    with pytest.raises(ConformanceError, match="no image medium"):
        check_tool(fake_segment, inputs=Inputs.build(audio=[media_dir / "speech.wav"]), instruction="dog")


# --------------------------------------------------------------------------
# run_call: a tool's failure is a typed status, never an exception
# --------------------------------------------------------------------------


@pytest.fixture
def image_ctx(sample_image: Inputs, image_perception: Perception) -> ToolContext:
    return ToolContext(inputs=sample_image, perception=image_perception)


def _call(instruction: str, **options: Any) -> MetaResponse:
    return MetaResponse(
        module="ImageSegmentation", instruction=instruction, target="image:0", concept="e1", options=options
    )


def test_run_call_ok_and_not_found(image_ctx: ToolContext) -> None:
    ok = run_call(fake_segment, _call("dog"), image_ctx)
    assert (ok.status, ok.tool, ok.error) == ("ok", "fake.image.segment.v1", None)
    assert len(ok.groundings) == 1
    missing = run_call(fake_segment, _call("zebra"), image_ctx)
    assert (missing.status, missing.groundings) == ("not_found", [])
    assert "'zebra' was not found in image:0" in (missing.error or "")


def test_run_call_tool_that_raises(image_ctx: ToolContext) -> None:
    run = run_call(broken_segment, _call("Merkel"), image_ctx)
    assert run.status == "error"
    assert run.error == "RuntimeError: segmenter crashed"
    assert run.groundings == []


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # let the abandoned tool thread finish


def test_run_call_slow_tool_times_out(image_ctx: ToolContext, release: threading.Event) -> None:
    @tool("image.slow.v1", module="SlowSegmentation", modality="image")
    def slow(args: ToolArgs, ctx: ToolContext) -> list[ImageRegion]:
        """Waits until released."""
        release.wait(10)
        return []

    run = run_call(slow, _call("dog"), image_ctx, timeout_s=0.2)
    assert run.status == "timeout"
    assert run.error == "image.slow.v1 did not finish within 0.2 s"


def test_run_call_fast_tool_with_timeout_is_ok(image_ctx: ToolContext) -> None:
    assert run_call(fake_segment, _call("dog"), image_ctx, timeout_s=5).status == "ok"


@pytest.mark.parametrize(
    ("options", "field"),
    [({"max_instances": "many"}, "max_instances"), ({"colour": "red"}, "colour")],
)
def test_run_call_invalid_options(image_ctx: ToolContext, options: dict[str, Any], field: str) -> None:
    run = run_call(fake_segment, _call("dog", **options), image_ctx)
    assert run.status == "invalid_arguments"
    assert field in (run.error or "")


def test_run_call_wrong_result_type_is_an_error(image_ctx: ToolContext) -> None:
    wrong = dataclasses.replace(
        fake_segment, fn=lambda args, ctx: [AudioSpan(media="audio:0", start=0, end=1, score=1)]
    )
    run = run_call(wrong, _call("dog"), image_ctx)
    assert run.status == "error"
    assert "expected ImageRegion, got AudioSpan" in (run.error or "")
