"""LLM planner backends on models made in the test: constrained decoding, prompting, the hf backend
with a tiny random llama and a random LoRA (offline)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _tiny_lm import make_random_lora, make_tiny_llama
from jsonschema import Draft202012Validator

from reamo import Reamo
from reamo.agent.planners import make_planner
from reamo.agent.planners.constrained import (
    LIST_LIMITS,
    Generation,
    Grammar,
    SecondLook,
    generate,
    guidance_tokenizer,
    input_spans,
    tighten_schema,
)
from reamo.agent.planners.embedded import find_adapter
from reamo.agent.planners.hf import TransformersModel, parse_spec
from reamo.agent.planners.llm import LocalPlanner, one_label_per_text, prompt_ids, second_look
from reamo.agent.planners.prompting import Candidates, PromptStyle, planner_messages
from reamo.agent.planners.protocol import Message, PlanRequest
from reamo.agent.planners.spacy import map_label
from reamo.agent.spans import find_spans
from reamo.agent.validation import answer_schema
from reamo.config import ReamoConfig
from reamo.errors import ConfigError
from reamo.prompts import render_messages, repair_message
from reamo.prompts.examples import few_shot_messages
from reamo.schemas import AudioPerception, Inputs, LabelSchema, MediaInput, Perception, Task, Transcript
from reamo.schemas.calls import CONCEPT_ID_PATTERN
from reamo.tools import ToolRegistry

OBAMA = "Barack Obama met Angela Merkel in Berlin."


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tiny")
    base = make_tiny_llama(folder / "base")
    return base, make_random_lora(base, folder / "lora")


def request_for(
    task: Task,
    registry: ToolRegistry,
    text: str | None = OBAMA,
    inputs: Inputs | None = None,
    labels: LabelSchema | None = None,
    perception: Perception | None = None,
) -> PlanRequest:
    inputs = inputs or Inputs(text=text)
    labels = labels or LabelSchema.default(task)
    perception = perception or Perception()
    messages = render_messages(task, inputs, labels, perception, registry)
    return PlanRequest(
        task=task,
        inputs=inputs,
        labels=labels,
        perception=perception,
        messages=tuple(messages),
        answer_schema=answer_schema(task, labels, inputs, registry),
    )


class FixedCandidates(Candidates):
    def __init__(self, found: list[tuple[str, str]]) -> None:
        self.found = found

    def find(self, request: PlanRequest) -> list[tuple[str, str]]:
        return self.found


class RandomLogits:
    """A TokenModel that returns seeded random logits and records what it was fed."""

    def __init__(self, vocab: int, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.vocab = vocab
        self.fed: list[int] = []

    def start(self, prompt_ids: Sequence[int]) -> Any:
        self.fed = list(prompt_ids)
        return self.rng.normal(size=self.vocab).astype(np.float32)

    def extend(self, ids: Sequence[int]) -> Any:
        self.fed += list(ids)
        return self.rng.normal(size=self.vocab).astype(np.float32)


# --- schema tightening -------------------------------------------------------------------------------


def test_input_spans_are_word_runs_of_the_text(registry: ToolRegistry) -> None:
    spans = input_spans(request_for("ner", registry))
    assert {"Barack Obama", "Angela Merkel", "Berlin", "Berlin."} <= set(spans)
    assert all(find_spans(OBAMA, s) for s in spans)
    assert "Barack Obama met Angela Merkel in Berlin." in spans  # 8 tokens with the full stop
    long = input_spans(request_for("ner", registry, text="one two three four five six seven eight nine"))
    assert "one two three four five six seven eight" in long
    assert "one two three four five six seven eight nine" not in long  # over MAX_SPAN_TOKENS


def test_tightened_schema_is_stricter_than_the_request_schema(registry: ToolRegistry) -> None:
    request = request_for("re", registry)
    tight = tighten_schema(request.answer_schema, request)
    entity = tight["properties"]["entities"]["items"]["properties"]["text"]
    assert "Berlin" in entity["enum"]
    assert "Paris" not in entity["enum"]
    assert tight["properties"]["relations"]["items"]["properties"]["head"]["enum"] == entity["enum"]
    assert tight["properties"]["entities"]["maxItems"] == 24
    assert tight["properties"]["events"]["maxItems"] == 0  # RE: stays empty
    ee = request_for("ee", registry)
    arguments = tighten_schema(ee.answer_schema, ee)["properties"]["events"]["items"]["properties"][
        "arguments"
    ]
    assert arguments["maxItems"] == 8
    assert arguments["items"]["properties"]["text"]["enum"] == entity["enum"]
    good = {"entities": [{"text": "Berlin", "label": "location"}], "relations": [], "events": [], "calls": []}
    Draft202012Validator(tight).validate(good)
    Draft202012Validator(request.answer_schema).validate(good)
    assert not Draft202012Validator(tight).is_valid(
        {**good, "entities": [{"text": "Paris", "label": "location"}]}
    )


def heard_request(registry: ToolRegistry, media_dir: Path) -> PlanRequest:
    """An RE request on speech alone, whose transcript says "Rihanna performed with Drake in Toronto"."""
    heard = "Rihanna performed with Drake in Toronto"
    inputs = Inputs(audio=(MediaInput(id="audio:0", path=media_dir / "speech.wav"),))
    perception = Perception(
        audio={"audio:0": AudioPerception(media="audio:0", duration=2.0, transcript=Transcript(text=heard))}
    )
    return request_for("re", registry, inputs=inputs, perception=perception)


def test_a_call_concept_is_a_heard_span_or_an_id_never_a_label(
    registry: ToolRegistry, media_dir: Path
) -> None:
    request = heard_request(registry, media_dir)
    tight = tighten_schema(request.answer_schema, request)
    validator = Draft202012Validator(tight)

    def answer(concept: str) -> dict[str, Any]:
        entity = {"text": "Rihanna", "label": "person", "concept": True}
        call = {
            "module": "AudioSegmentation",
            "instruction": "Rihanna",
            "target": "audio:0",
            "concept": concept,
        }
        return {"entities": [entity], "relations": [], "events": [], "calls": [call]}

    assert validator.is_valid(answer("Rihanna"))
    assert validator.is_valid(answer("e1"))
    assert not validator.is_valid(answer("/per/per/peer"))  # a relation label, as a tuned model once wrote
    assert not validator.is_valid(answer("Beyonce"))  # not heard
    unnamed = answer("Rihanna")
    del unnamed["calls"][0]["concept"]
    assert not validator.is_valid(unnamed)  # else the instruction, which may be anything, stands in for it
    Draft202012Validator(request.answer_schema).validate(answer("Rihanna"))


def test_an_image_keeps_entity_text_free(registry: ToolRegistry, media_dir: Path) -> None:
    inputs = Inputs(text=OBAMA, images=(MediaInput(id="image:0", path=media_dir / "photo.png"),))
    request = request_for("ner", registry, inputs=inputs)
    tight = tighten_schema(request.answer_schema, request)
    assert tight["properties"]["entities"]["items"]["properties"]["text"]["type"] == "string"


# --- constrained decoding ----------------------------------------------------------------------------


def decode_randomly(tiny: tuple[Path, Path], request: PlanRequest, seed: int) -> tuple[RandomLogits, Any]:
    """Decode ``request``'s tightened answer grammar from random logits with the tiny model's tokenizer."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny[0])
    grammar = Grammar(
        guidance_tokenizer(tokenizer, len(tokenizer)), tighten_schema(request.answer_schema, request)
    )
    model = RandomLogits(len(tokenizer), seed)
    return model, generate(model, grammar, [5, 6, 7], max_new_tokens=2000, decode=tokenizer.decode)


@pytest.mark.parametrize("task", ["ner", "re", "ee"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_logits_still_give_a_valid_answer(
    task: Task, seed: int, tiny: tuple[Path, Path], registry: ToolRegistry
) -> None:
    request = request_for(task, registry)
    model, out = decode_randomly(tiny, request, seed)
    assert not out.truncated
    answer = json.loads(out.text.replace("<|im_end|>", ""))
    Draft202012Validator(request.answer_schema).validate(answer)
    assert model.fed[:3] == [5, 6, 7]
    assert out.forced_tokens > 0  # the grammar's fixed parts are appended without sampling


@pytest.mark.parametrize(("task", "kind"), [("re", "relations"), ("ee", "arguments")])
def test_what_a_scorer_replaces_is_left_out_of_the_grammar(
    task: Task, kind: str, tiny: tuple[Path, Path], registry: ToolRegistry
) -> None:
    from transformers import AutoTokenizer

    from reamo.agent.planners.pairs import left_to_scorer

    request = request_for(task, registry)
    tight = tighten_schema(request.answer_schema, request)
    left = left_to_scorer(tight, kind)
    assert tight != left  # a copy: the tightened schema is unchanged
    tokenizer = AutoTokenizer.from_pretrained(tiny[0])
    grammar = Grammar(guidance_tokenizer(tokenizer, len(tokenizer)), left)
    for seed in range(3):
        model = RandomLogits(len(tokenizer), seed)
        out = generate(model, grammar, [5, 6, 7], max_new_tokens=2000, decode=tokenizer.decode)
        answer = json.loads(out.text.replace("<|im_end|>", ""))
        Draft202012Validator(request.answer_schema).validate(answer)
        assert answer["relations"] == []
        assert all(event["arguments"] == [] for event in answer["events"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_logits_on_speech_give_calls_on_heard_spans(
    seed: int, tiny: tuple[Path, Path], registry: ToolRegistry, media_dir: Path
) -> None:
    request = heard_request(registry, media_dir)
    _, out = decode_randomly(tiny, request, seed)
    answer = json.loads(out.text.replace("<|im_end|>", ""))
    Draft202012Validator(tighten_schema(request.answer_schema, request)).validate(answer)
    spans = set(input_spans(request))
    for call in answer["calls"]:
        assert call["concept"] in spans or re.fullmatch(CONCEPT_ID_PATTERN, call["concept"]), call


def test_a_short_budget_reports_truncation(tiny: tuple[Path, Path], registry: ToolRegistry) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny[0])
    request = request_for("ner", registry)
    grammar = Grammar(guidance_tokenizer(tokenizer, len(tokenizer)), request.answer_schema)
    out = generate(RandomLogits(len(tokenizer)), grammar, [5], max_new_tokens=3, decode=tokenizer.decode)
    assert out.truncated
    assert len(out.ids) == 3


class TwoWays:
    """A TokenModel that writes one of two answers: the short one while it can (it likes to close its
    list early), the long one once the text has left the short one's path, with a logit margin of
    ``sure`` on the long answer's next token. Stateless over what it was fed, so rewinds are exact."""

    def __init__(self, tokenizer: Any, prompt: int, short: str, long: str, sure: float) -> None:
        self.tokenizer = tokenizer
        self.pieces = [tokenizer.decode([i]) for i in range(len(tokenizer))]
        self.prompt, self.short, self.long, self.sure = prompt, short, long, sure
        self.fed: list[int] = []

    def start(self, prompt_ids: Sequence[int]) -> Any:
        self.fed = list(prompt_ids)
        return self._logits()

    def extend(self, ids: Sequence[int]) -> Any:
        self.fed += list(ids)
        return self._logits()

    def _next(self, rest: str) -> int:
        fits = [(len(p), i) for i, p in enumerate(self.pieces) if p and rest.startswith(p)]
        return max(fits)[1]

    def _logits(self) -> Any:
        done = self.tokenizer.decode(self.fed[self.prompt :])
        logits = np.zeros(len(self.pieces), dtype=np.float32)
        if self.long.startswith(done) and len(done) < len(self.long):
            logits[self._next(self.long[len(done) :])] = self.sure
        if self.short.startswith(done) and len(done) < len(self.short):
            logits[self._next(self.short[len(done) :])] = self.sure + 1
        return logits


@pytest.mark.parametrize(
    ("third", "sure", "look", "mentions", "found"),
    [
        ("Angela Merkel", 8.0, 0.9, {"Angela Merkel"}, 3),  # sure of a new entity spaCy found too: kept
        ("Angela Merkel", 8.0, 0.0, {"Angela Merkel"}, 2),  # no second look
        ("Angela Merkel", 1.0, 0.9, {"Angela Merkel"}, 2),  # unsure: the look is undone
        ("Angela Merkel", 8.0, 0.9, {"Berlin"}, 2),  # not a mention spaCy found: undone
        ("Barack Obama", 8.0, 0.9, {"Barack Obama"}, 2),  # sure, but of one already in the list: undone
    ],
)
def test_a_second_look_reopens_an_entity_list_closed_too_early(
    third: str,
    sure: float,
    look: float,
    mentions: set[str],
    found: int,
    tiny: tuple[Path, Path],
    registry: ToolRegistry,
) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny[0])
    request = request_for("ner", registry)
    grammar = Grammar(
        guidance_tokenizer(tokenizer, len(tokenizer)), tighten_schema(request.answer_schema, request)
    )

    def answer(*names: tuple[str, str]) -> str:
        entities = [{"text": t, "label": label, "concept": False} for t, label in names]
        return json.dumps(
            {"entities": entities, "relations": [], "events": [], "calls": []}, separators=(",", ":")
        )

    two = (("Barack Obama", "person"), ("Berlin", "location"))
    model = TwoWays(tokenizer, 3, answer(*two), answer(*two, (third, "person")), sure)
    ids = {piece: tokenizer.convert_tokens_to_ids(piece) for piece in ('],"', ",", "rel")}
    # this tokenizer closes the list with '],"' after '}' (SmolLM2's with '}]'): the look is made for it
    second = SecondLook(ids['],"'], ids[","], ids["rel"], look, frozenset(mentions)) if look else None
    out = generate(model, grammar, [5, 6, 7], max_new_tokens=200, decode=tokenizer.decode, second_look=second)
    entities = json.loads(out.text.replace("<|im_end|>", ""))["entities"]
    assert [e["text"] for e in entities] == ["Barack Obama", "Berlin", "Angela Merkel"][:found]
    assert model.fed[:3] == [5, 6, 7]
    assert model.fed[3:] == list(out.ids[: len(model.fed) - 3])  # a look not taken was rewound


def test_the_second_look_needs_its_tokens_in_the_vocabulary(tiny: tuple[Path, Path]) -> None:
    from transformers import AutoTokenizer

    assert second_look(AutoTokenizer.from_pretrained(tiny[0]), 0.9) is None  # no '}]' token here
    assert second_look(AutoTokenizer.from_pretrained(tiny[0]), 0.0) is None


def test_one_label_per_text_keeps_the_first() -> None:
    answer = {
        "entities": [
            {"text": "Ohio", "label": "location"},
            {"text": "Ohio", "label": "person"},
            {"text": "CNN", "label": "organization"},
        ],
        "relations": [],
        "events": [],
        "calls": [],
    }
    kept = json.loads(one_label_per_text(json.dumps(answer)))
    assert kept["entities"] == [answer["entities"][0], answer["entities"][2]]
    assert one_label_per_text('{"entities": [') == '{"entities": ['


# --- prompting ---------------------------------------------------------------------------------------


def test_few_shot_and_candidates_go_where_they_belong(registry: ToolRegistry) -> None:
    request = request_for("ner", registry)
    found = [("Barack Obama", "person"), ("Berlin", "location")]
    messages = planner_messages(request, PromptStyle(), FixedCandidates(found))
    assert messages[0] == request.messages[0]
    assert [m.role for m in messages[1:-1]] == ["user", "assistant"] * (len(messages[1:-1]) // 2)
    task_turn = messages[-1].content
    assert task_turn.startswith(request.messages[-1].content)
    assert '[{"text":"Barack Obama","label":"person"},{"text":"Berlin","label":"location"}]' in task_turn
    plain = planner_messages(request, PromptStyle(examples=False, candidates=False), None)
    assert plain == list(request.messages)


def test_candidates_go_to_the_task_turn_not_the_repair_turn(registry: ToolRegistry) -> None:
    first = request_for("ner", registry)
    repair = repair_message(["entities[0].label: 'city' is not allowed"])
    messages = (*first.messages, Message("assistant", "{}"), repair)
    request = PlanRequest(**{**first.__dict__, "messages": messages, "attempt": 1})
    out = planner_messages(request, PromptStyle(examples=False), FixedCandidates([("Berlin", "location")]))
    assert "Candidate mentions" in out[1].content
    assert out[-1] == repair


def test_render_messages_with_candidates_matches_the_planner_augmentation(registry: ToolRegistry) -> None:
    request = request_for("ner", registry)
    found = [("Berlin", "location")]
    rendered = render_messages(
        "ner", request.inputs, request.labels, Perception(), registry, candidates=found
    )
    augmented = planner_messages(request, PromptStyle(examples=False), FixedCandidates(found))
    assert rendered == augmented  # a model tuned on the rendered form sees the same text


@pytest.mark.parametrize("task", ["ner", "re", "ee"])
@pytest.mark.parametrize("entity_types", [None, ["PER", "LOC"], ["person", "organization", "misc"]])
def test_few_shot_answers_obey_the_request_schema(
    task: Task, entity_types: list[str] | None, registry: ToolRegistry, media_dir: Path
) -> None:
    labels = LabelSchema.default(task)
    if entity_types:
        labels = labels.model_copy(update={"entity_types": entity_types})
    image = Inputs(text="x", images=(MediaInput(id="image:0", path=media_dir / "photo.png"),))
    schema = answer_schema(task, labels, image, registry)
    shots = few_shot_messages(task, labels, map_label, ("ImageSegmentation", "image:0"))
    answers = [json.loads(m.content) for m in shots if m.role == "assistant"]
    assert len(answers) >= 3
    for answer in answers:
        Draft202012Validator(schema).validate(answer)
    if task == "ner":
        assert any(answer["calls"] for answer in answers)


def test_prompt_style_defaults_follow_tuning() -> None:
    assert PromptStyle.from_options({}, tuned=False) == PromptStyle(True, True)
    assert PromptStyle.from_options({}, tuned=True) == PromptStyle(False, False)
    assert PromptStyle.from_options({"prompt": "plain", "candidates": True}, tuned=False) == PromptStyle(
        False, True
    )
    with pytest.raises(ConfigError, match="few-shot"):
        PromptStyle.from_options({"prompt": "zero"}, tuned=False)


# --- the hf backend ----------------------------------------------------------------------------------


def test_hf_spec_parsing() -> None:
    assert parse_spec("lmsys/vicuna-7b-v1.5+./lora") == ("lmsys/vicuna-7b-v1.5", "./lora")
    assert parse_spec("/models/x") == ("/models/x", None)
    with pytest.raises(ConfigError, match="hf:PATH_OR_ID"):
        make_planner("hf:", ReamoConfig())


def test_hf_planner_with_a_lora_extracts_spans_of_the_text(tiny: tuple[Path, Path]) -> None:
    base, lora = tiny
    reamo = Reamo(planner=f"hf:{base}+{lora}", plugins=False)
    result = reamo.extract(task="ner", text=OBAMA)
    planner = reamo.planner
    assert isinstance(planner, LocalPlanner)
    assert planner.last is not None
    assert not planner.last.truncated
    assert not [d for d in result.diagnostics if d.code == "planner.parse"]
    for entity in result.entities:
        span = entity.groundings[0]
        assert OBAMA[span.start : span.end] == entity.text  # type: ignore[union-attr]
    assert "adapter lora" in planner.describe().detail
    assert planner.style == PromptStyle(examples=False, candidates=False)  # tuned: its training format


def test_the_lora_changes_the_model(tiny: tuple[Path, Path]) -> None:
    from reamo.agent.planners.hf import load_transformers

    base, lora = tiny
    plain = load_transformers(str(base), None).model.start([1, 5, 9, 12])
    tuned = load_transformers(str(base), str(lora)).model.start([1, 5, 9, 12])
    assert not np.allclose(plain, tuned)


def test_the_kv_cache_reuse_gives_the_same_logits(tiny: tuple[Path, Path]) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny[0]).eval()
    cached = TransformersModel(model)
    cached.start([1, 5, 9, 12, 30])
    cached.extend([31, 32])
    again = cached.start([1, 5, 9, 40, 41])  # shares 3 tokens: the cache is cropped, not rebuilt
    fresh = TransformersModel(model).start([1, 5, 9, 40, 41])
    assert np.allclose(again, fresh, atol=1e-5)
    assert cached._ids == [1, 5, 9, 40, 41]


def test_prompt_ids_use_the_chat_template(tiny: tuple[Path, Path]) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny[0])
    ids = prompt_ids(tokenizer, [Message("system", "S"), Message("user", "U")])
    assert (
        tokenizer.decode(ids)
        == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    )


# --- the embedded backend's configuration (its model runs in test_planner_embedded.py) -------------


def test_embedded_finds_a_shipped_adapter(
    tmp_path: Path, tiny: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import reamo.agent.planners.embedded as embedded

    monkeypatch.setattr(embedded, "adapters_dir", lambda: tmp_path)
    assert find_adapter() is None
    (tmp_path / "reamo-ner").mkdir()
    (tmp_path / "reamo-ner" / "adapter_config.json").write_text("{}")
    assert find_adapter() == tmp_path / "reamo-ner"
    (tmp_path / embedded.DEFAULT_ADAPTER).mkdir()
    (tmp_path / embedded.DEFAULT_ADAPTER / "adapter_config.json").write_text("{}")
    assert find_adapter() == tmp_path / embedded.DEFAULT_ADAPTER  # the default before the first in order
    (tmp_path / embedded.DEFAULT_ADAPTER / "adapter_config.json").unlink()
    assert find_adapter("none") is None
    assert find_adapter(str(tiny[1])) == tiny[1]
    with pytest.raises(ConfigError, match="reamo-ner"):
        find_adapter("missing")
    planner = make_planner("embedded", ReamoConfig(planner_options={"engine": "transformers"}))
    assert isinstance(planner, LocalPlanner)
    assert planner.style == PromptStyle(examples=False, candidates=False)
    assert "LoRA reamo-ner" in planner.describe().detail
    asset = embedded.onnx_asset(tmp_path / "reamo-ner")  # a merged adapter is kept at 8 bits
    assert asset.name.startswith("smollm2-135m-onnx-int8-reamo-ner-")
    assert asset.name in {a.name for a in embedded.planner_assets()}
    assert embedded.onnx_asset().name == "smollm2-135m-onnx-int4"
    assert embedded.onnx_asset(tmp_path / "reamo-ner", "int4").name.startswith("smollm2-135m-onnx-int4-")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"engine": "llama.cpp"}, "engine"),
        ({"threads": 0}, "threads"),
        ({"prompt": "zero"}, "prompt"),
        ({"precision": "fp8"}, "precision"),
    ],
)
def test_embedded_rejects_bad_options(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_planner("embedded", ReamoConfig(planner_options={"adapter": "none", **options}))


@pytest.mark.slow
def test_a_shipped_adapter_is_merged_into_the_onnx_model(
    tiny: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded model's set-up path (merge the LoRA, convert to 4-bit ONNX) on the tiny llama."""
    import reamo.agent.planners.embedded as embedded
    from reamo.agent.planners.hf import load_transformers
    from reamo.assets import Asset, prepare

    base, lora = tiny
    monkeypatch.setenv("REAMO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(embedded, "HF_ASSET", Asset("tiny-hf", "planner", "tiny llama", build=lambda _: base))
    folder = prepare(embedded.onnx_asset(lora)).path
    ids = [1, 5, 9, 12, 40]
    onnx = embedded.OrtModel(folder, threads=1).start(ids)
    tuned = load_transformers(str(base), str(lora)).model.start(ids)
    plain = load_transformers(str(base), None).model.start(ids)
    assert np.corrcoef(onnx, tuned)[0, 1] > 0.95  # int8 rounding only
    assert np.abs(onnx - tuned).mean() < np.abs(onnx - plain).mean()  # the LoRA is in the weights


def test_an_input_with_nothing_to_read_skips_the_model(media_dir: Path, registry: ToolRegistry) -> None:
    from reamo.agent.planners.llm import NOTHING_TO_READ, has_words
    from reamo.schemas import DetectedObject, ImagePerception, OcrLine

    def load() -> Any:
        raise AssertionError("the model must not load for an image without words")

    planner = LocalPlanner(name="embedded", summary="test", load=load, style=PromptStyle())
    inputs = Inputs.build(image=[media_dir / "photo.png"])
    request = request_for("ner", registry, inputs=inputs)
    assert has_words(request)  # a medium not perceived: the model decides
    seen = ImagePerception(
        media="image:0",
        width=64,
        height=48,
        objects=[DetectedObject(label="dog", box=(1, 1, 9, 9), score=0.9)],
    )
    request = PlanRequest(**{**request.__dict__, "perception": Perception(images={"image:0": seen})})
    assert planner.plan(request) == NOTHING_TO_READ  # the validator adds the dog as a seen object
    sign = seen.model_copy(update={"ocr": [OcrLine(text="STARBUCKS", box=(0, 0, 9, 4), score=0.9)]})
    with_sign = PlanRequest(**{**request.__dict__, "perception": Perception(images={"image:0": sign})})
    assert has_words(with_sign)
    assert has_words(request_for("ner", registry))  # text


def test_the_planner_leaves_the_relations_a_refiner_replaces_to_it(
    tiny: tuple[Path, Path], registry: ToolRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reamo.agent.planners.llm as llm
    from reamo.agent.planners.embedded import leave_to_scorers
    from reamo.agent.planners.hf import load_transformers

    schemas: list[dict[str, Any]] = []
    written = '{"entities":[{"text":"Barack Obama","label":"person"},{"text":"Hawaii","label":"location"}],'
    written += '"relations":[],"events":[],"calls":[]}'
    monkeypatch.setattr(
        llm, "generate", lambda *args, **kwargs: Generation(written, (), 1, 0.0, 0.0, 0, 1, False)
    )
    request = request_for("re", registry, text="Barack Obama was born in Hawaii.")
    left = replace(request, left_to_refiners=frozenset({"relations"}))
    for leave, asked in (((), left), (("re",), request), (("re",), left)):
        planner = LocalPlanner(
            name="embedded",
            summary="test",
            load=lambda: load_transformers(str(tiny[0]), None),
            style=PromptStyle(),
            leave_to_scorers=leave,
        )
        monkeypatch.setattr(planner, "_grammar", lambda engine, schema: schemas.append(schema))
        assert planner.plan(asked) == written  # the planner's own answer: the refiners come after it
    # the model leaves the relations out only for a task it leaves to them, where a refiner replaces them
    assert [s["properties"]["relations"]["maxItems"] for s in schemas] == [
        LIST_LIMITS["relations"],
        LIST_LIMITS["relations"],
        0,
    ]
    assert leave_to_scorers({}) == ("re",)  # the embedded planner's default
    with pytest.raises(ConfigError, match="use a list of 're' and 'ee'"):
        leave_to_scorers({"leave_to_scorers": "re"})
