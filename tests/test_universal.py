"""The universal scorer (agent/universal.py) and its tuning (finetune/universal.py): how labels are written
in tuning; a tiny tuning run on pools made here, whose numpy runtime gives the torch model's numbers and
which resumes to the same weights; the scorer bound to a request's labels (their names, their
descriptions); labels far from those it was tuned on, reported directly and through the graph; its
folder checks and ``reamo finetune`` on a ``[universal]`` config."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reamo.agent.universal import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    Bound,
    UniversalConfig,
    UniversalScorer,
    UniversalScorers,
    is_universal,
)
from reamo.errors import ConfigError
from reamo.finetune.universal import PairItem, Pool, TagItem, UniversalTrainConfig
from reamo.finetune.verbalise import DESCRIPTIONS, PARAPHRASES, bare_name, code, verbalise
from reamo.schemas import LabelSchema
from reamo.sdk import Reamo

TEXT = "Rafael Nadal married Mery Perello in Paris"
NADAL, PERELLO, PARIS = (0, 12), (21, 33), (37, 42)
ATTACK = "Rebels attacked the town with rockets"
REBELS, ATTACKED, ROCKETS = (0, 6), (7, 15), (30, 37)
LABELS = LabelSchema(
    entity_types=["person", "location"],
    relation_types=["couple", "place of residence"],
    descriptions={"couple": "two people in a romantic relationship", "location": "a named place"},
)


# --------------------------------------------------------------------------
# How a label is written in tuning


@pytest.mark.parametrize(
    ("label", "name", "short"),
    [
        ("/per/per/couple", "couple", "COU"),
        ("Conflict:Attack", "attack", "ATT"),
        ("birthPlace", "birth place", "BIRTH_PLACE"),
        ("Vulnerable_System", "vulnerable system", "VULNERABLE_SYSTEM"),
        ("/per/loc/place_of_birth", "place of birth", "POB"),
        ("Justice:Arrest-Jail", "arrest jail", "ARREST_JAIL"),
        ("PER", "per", "PER"),
        ("meet", "meet", "MEET"),  # four letters or fewer: the whole word
        ("person", "person", "PER"),
    ],
)
def test_a_labels_bare_name_and_code(label: str, name: str, short: str) -> None:
    assert bare_name(label) == name
    assert code(label) == short


def test_verbalise_is_seeded_and_never_empty() -> None:
    labels = ["/per/per/couple", "Conflict:Attack", "birthPlace", "PER", "/", "___", "x", *PARAPHRASES]
    for label in labels:
        first = [verbalise(label, random.Random(seed)) for seed in range(40)]
        assert first == [verbalise(label, random.Random(seed)) for seed in range(40)]
        assert all(form.strip() for form in first), label
    forms = {verbalise("/per/per/couple", random.Random(seed)) for seed in range(400)}
    described = f"couple: {DESCRIPTIONS['couple']}"
    assert {"/per/per/couple", "couple", "Couple", "COUPLE", "COU", "spouse", described} <= forms
    assert forms <= {"/per/per/couple", "couple", "Couple", "COUPLE", "COU", *PARAPHRASES["couple"]} | {
        described,
        f"/per/per/couple: {DESCRIPTIONS['couple']}",
    }


# --------------------------------------------------------------------------
# A tiny tuning run on pools made here


def synthetic_pools() -> list[Pool]:
    """One small pool of each task, in the corpora's own label strings."""
    relations = [
        PairItem(TEXT, NADAL, PERELLO, "/per/per/couple"),
        PairItem(TEXT, NADAL, PARIS, "/per/loc/place_of_residence"),
        PairItem(TEXT, PERELLO, NADAL, None),
    ]
    arguments = [
        PairItem(ATTACK, REBELS, ATTACKED, "Attacker", "Conflict:Attack"),
        PairItem(ATTACK, ROCKETS, ATTACKED, "Instrument", "Conflict:Attack"),
    ]
    entities = [TagItem(TEXT, ((NADAL, "PER"), (PERELLO, "PER"), (PARIS, "LOC")))]
    triggers = [TagItem(ATTACK, ((ATTACKED, "Conflict:Attack"),))]
    return [
        Pool("relations", "mnre", ["/per/loc/place_of_residence", "/per/per/couple"], relations, []),
        Pool("arguments", "m2e2", ["Attacker", "Instrument"], arguments, []),
        Pool("entities", "conll2003", ["LOC", "PER"], entities, []),
        Pool("triggers", "m2e2", ["Conflict:Attack"], triggers, []),
    ]


def tiny_config(output: Path) -> UniversalTrainConfig:
    return UniversalTrainConfig(
        data=str(output / "no-corpora"), output=str(output), steps=4, pair_batch=4, tag_batch=2,
        lora_r=2, lora_alpha=4, dim=16, lora_layers=[4, 5], warmup_steps=1, threads=1, log_every=1,
        save_every=2,
    )  # fmt: skip


def tune(output: Path) -> dict[str, Any]:
    """``train_universal`` on the synthetic pools (never the corpora)."""
    from reamo.finetune import universal

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(universal, "pools", lambda data, exclude=(): synthetic_pools())
        return universal.train_universal(tiny_config(output))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of a four-step run (a checkpoint at step 2, the scorer in ``scorer/``)."""
    pytest.importorskip("torch")
    output = tmp_path_factory.mktemp("universal") / "run"
    tune(output)
    return output


@dataclass
class Tuned:
    model: Any  # finetune.universal.UniversalModel, in eval mode, with the scorer's (float16) weights
    tokenizer: Any
    folder: Path


@pytest.fixture(scope="module")
def tuned(run: Path) -> Tuned:
    """The run's scorer with noise added to its LoRA factors (four small steps hardly move them), written
    by ``write_scorer`` and read back into the torch model, so both hold the same float16 weights."""
    import torch
    from safetensors.torch import load_file
    from tokenizers import Tokenizer

    from reamo.finetune.universal import UniversalModel, write_scorer
    from reamo.tools.vision.embedder import model_dir

    config = tiny_config(run)
    model = UniversalModel(config)
    model.load(load_file(str(run / "scorer" / WEIGHTS_FILE)))
    noise = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, weight in model.encoder.named_parameters():
            if "lora_B" in name:
                weight.copy_(0.1 * torch.randn(weight.shape, generator=noise))
    folder = write_scorer(model, config, synthetic_pools(), run.parent / "tuned")
    model.load(load_file(str(folder / WEIGHTS_FILE)))
    model.train(False)
    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return Tuned(model, tokenizer, folder)


def test_tuning_logs_each_task_and_writes_a_float16_scorer_with_its_trained_names(run: Path) -> None:
    import torch
    from safetensors.torch import load_file

    summary = json.loads((run / "summary.json").read_text())
    assert (summary["steps"], summary["resumed_from"]) == (4, 0)
    assert summary["pools"]["relations:mnre"] == [3, 0, 2]
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log] == [1, 2, 3, 4]
    assert all(len(set(entry) & {"relations", "arguments", "entities", "triggers"}) == 1 for entry in log)
    assert (run / "checkpoint-2" / WEIGHTS_FILE).is_file()
    weights = load_file(str(run / "scorer" / WEIGHTS_FILE))
    assert {weight.dtype for weight in weights.values()} == {torch.float16}
    assert "lora.encoder.layer.4.attention.self.query.A" in weights
    assert not any(".layer.3." in key for key in weights)  # LoRA tunes lora_layers only
    config = UniversalConfig.read(run / "scorer")
    assert (config.lora_r, config.dim, config.lora_layers) == (2, 16, [4, 5])
    assert config.corpora == ["conll2003", "m2e2", "mnre"]
    # bare names and their paraphrases, by head: what far labels are measured against
    assert {"couple", "spouse", "place of residence", "attacker", "weapon"} <= set(config.trained["pair"])
    assert {"per", "loc", "attack", "assault"} <= set(config.trained["tag"])
    assert is_universal(run / "scorer")


def test_the_numpy_runtime_gives_the_torch_models_numbers(tuned: Tuned) -> None:
    """What a request runs (merged LoRA, numpy) is what was tuned (peft, torch): label vectors, pair
    probabilities with and without an event-type prefix, and tag probabilities."""
    import torch

    from reamo.agent.planners.pairs import ENCODER_KEY, encode_pair, encode_text
    from reamo.finetune.universal import label_rows

    scorer = UniversalScorer(tuned.folder, threads=1)
    long = "victim: " + "the person harmed or killed in the attack, " * 8  # cut to LABEL_TOKENS
    labels = [
        f"couple: {DESCRIPTIONS['couple']}",
        "place of residence",
        "PER",
        "/per/loc/place_of_birth",
        long,
    ]
    pairs = [(NADAL, PERELLO), (PERELLO, PARIS), (PARIS, NADAL)]
    model, tokenizer = tuned.model, tuned.tokenizer
    with torch.no_grad():
        vectors = model.label_vectors(label_rows(tokenizer, labels))
        pooled, _, _ = scorer.label_vectors(labels)
        assert np.allclose(pooled, vectors.numpy(), atol=1e-4)
        for prefix in ("", "attack : "):
            logits = model.pair_logits(
                [encode_pair(tokenizer, TEXT, h, t, prefix) for h, t in pairs], vectors
            )
            got = scorer.pair_probabilities(TEXT, pairs, labels, prefix)
            assert got.shape == (3, 1 + len(labels))
            assert np.allclose(got, torch.softmax(logits, -1).numpy(), atol=1e-4)
            assert np.allclose(np.log(got), torch.log_softmax(logits, -1).numpy(), atol=1e-4)
        ids, offsets = encode_text(tokenizer, TEXT)
        tags = torch.softmax(model.tag_logits([ids], vectors), -1)[0].numpy()
        with model.encoder.disable_adapter():
            plain = model.label_vectors(label_rows(tokenizer, labels)).numpy()
    view = scorer.tag(TEXT, labels)
    assert view.offsets == offsets
    assert view.tags[:3] == ["O", f"B-{labels[0]}", f"I-{labels[0]}"]
    assert np.allclose(view.probs, tags, atol=1e-4)
    # the comparison sees the LoRA factors: without them the label vectors move
    assert not np.allclose(plain, pooled, atol=1e-2)
    # merged into copies of the layers LoRA tuned only; the rest are MiniLM's own arrays, shared
    base = scorer.resources.get(ENCODER_KEY, lambda: None)
    query = "encoder.layer.{}.attention.self.query.weight"
    assert scorer.encoder.w[query.format(3)] is base[query.format(3)]
    assert scorer.encoder.w[query.format(4)] is not base[query.format(4)]


@pytest.mark.slow
def test_a_stopped_run_resumes_to_the_same_weights(run: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    stopped = tmp_path / "stopped"
    # what a run stopped during step 3 leaves
    shutil.copytree(run / "checkpoint-2", stopped / "checkpoint-2")
    summary = tune(stopped)
    assert (summary["steps"], summary["resumed_from"]) == (4, 2)
    first = load_file(str(run / "scorer" / WEIGHTS_FILE))
    second = load_file(str(stopped / "scorer" / WEIGHTS_FILE))
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    halfway = load_file(str(run / "checkpoint-2" / WEIGHTS_FILE))
    assert not all(torch.equal(halfway[k].half(), first[k]) for k in first)  # steps 3 and 4 were taken


# --------------------------------------------------------------------------
# The scorer bound to a request's labels


def spy(monkeypatch: pytest.MonkeyPatch, scorer: UniversalScorer, method: str) -> list[tuple[Any, ...]]:
    """The arguments of each call of ``scorer.<method>``, which still answers."""
    calls: list[tuple[Any, ...]] = []
    real = getattr(scorer, method)

    def recorded(*args: Any) -> Any:
        calls.append(tuple(list(a) if isinstance(a, (list, tuple)) else a for a in args))
        return real(*args)

    monkeypatch.setattr(scorer, method, recorded)
    return calls


@pytest.fixture
def scorer(tuned: Tuned) -> UniversalScorer:
    return UniversalScorer(tuned.folder, threads=1)


def test_relate_answers_by_the_requests_names_and_reads_their_descriptions(
    scorer: UniversalScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = spy(monkeypatch, scorer, "label_vectors")
    bound = Bound(scorer, LABELS, "relations")
    entities = [("Rafael Nadal", NADAL), ("Mery", (21, 25)), ("Mery Perello", PERELLO), ("Paris", PARIS)]
    scorer.config = replace(scorer.config, none_margin=-1.0)  # every pair takes its likeliest type
    found = bound.relate(TEXT, entities, ["couple", "place of residence"])
    assert asked == [([f"couple: {LABELS.descriptions['couple']}", "place of residence"],)]
    assert {r["label"] for r in found} <= {"couple", "place of residence"}
    # each ordered pair of entities that do not overlap ('Mery' is inside 'Mery Perello')
    assert len(found) == 4 * 3 - 2
    assert ("Mery", "Mery Perello") not in {(r["head"], r["tail"]) for r in found}
    scorer.config = replace(scorer.config, none_margin=1.0)  # none always wins
    assert bound.relate(TEXT, entities, ["couple", "place of residence"]) == []


def test_arguments_answer_by_the_requests_roles_after_its_described_event_type(
    scorer: UniversalScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = LabelSchema(
        entity_types=["person", "weapon"],
        event_types=["Conflict:Attack"],
        argument_roles=["Attacker", "Instrument"],
        descriptions={"Conflict:Attack": "a violent physical act", "Instrument": "the weapon used"},
    )
    asked = spy(monkeypatch, scorer, "pair_probabilities")
    scorer.config = replace(scorer.config, none_margin=-1.0)
    bound = Bound(scorer, schema, "arguments")
    entities = [("Rebels", REBELS), ("attacked", ATTACKED), ("rockets", ROCKETS)]
    found = bound.arguments(ATTACK, entities, ATTACKED, "Conflict:Attack", ["Attacker", "Instrument"])
    assert [a["text"] for a in found] == ["Rebels", "rockets"]  # not the entity on the trigger
    assert {a["role"] for a in found} <= {"Attacker", "Instrument"}
    [(text, pairs, labels, prefix)] = asked
    assert (text, pairs) == (ATTACK, [(REBELS, ATTACKED), (ROCKETS, ATTACKED)])
    assert labels == ["Attacker", "Instrument: the weapon used"]
    assert prefix == "Conflict:Attack: a violent physical act : "


def test_taggers_report_mentions_by_the_requests_names(
    scorer: UniversalScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reamo.agent.refiners.scored import TagCheck

    bound = Bound(scorer, LABELS, "relations")
    assert bound.event_tagger() is None  # no event types asked for
    tagger = bound.tagger()
    assert tagger is not None
    assert (tagger.kind, tagger.names) == ("mentions", ["person", "location"])
    assert tagger.labels == ["O", "B-person", "I-person", "B-location", "I-location"]
    asked = spy(monkeypatch, scorer, "label_vectors")
    scorer.heads["tag_o.bias"] = np.array([-100.0], np.float32)  # no token is outside: every one a mention
    offsets, probs = tagger.tag_probabilities(TEXT)
    assert probs.shape == (len(offsets), 5)
    found = tagger.mentions(TEXT)
    assert found
    assert all(label in {"person", "location"} and TEXT[a:b] == name for name, label, (a, b) in found)
    assert asked
    assert all(call == (["person", "location: a named place"],) for call in asked)
    # the refiners' checks read its tags by name
    check = TagCheck(tagger, TEXT)
    assert check.tags("person")
    assert not check.tags("couple")
    assert check.sure(NADAL, "location") == pytest.approx(tagger.view(TEXT).sure(NADAL, "location"))
    events = Bound(scorer, LabelSchema(event_types=["Conflict:Attack"]), "arguments").event_tagger()
    assert events is not None
    assert events.names == ["Conflict:Attack"]


def test_universal_scorers_bind_every_request(tuned: Tuned) -> None:
    from reamo.agent.refiners.protocol import RefinerSetup
    from reamo.agent.refiners.scored import scorers_of

    scorers = scorers_of(RefinerSetup("entities", {"scorer": str(tuned.folder), "threads": 1}), "ner")
    assert isinstance(scorers, UniversalScorers)
    bound = scorers.for_labels(LabelSchema(entity_types=["drug", "dose"]))  # any labels
    assert (bound.kind, bound.names) == ("mentions", ["drug", "dose"])
    assert scorers.for_labels(LABELS).scorer is bound.scorer  # loaded once
    relations = scorers_of(RefinerSetup("relations", {"scorer": str(tuned.folder)}), "re")
    assert isinstance(relations, UniversalScorers)
    assert relations.for_labels(LABELS).kind == "relations"


# --------------------------------------------------------------------------
# Labels far from those tuned on


def with_bank(scorer: UniversalScorer, below: float) -> UniversalScorer:
    scorer.config = replace(
        scorer.config, trained={"pair": ["couple", "weapon"], "tag": ["person"]}, unseen_below=below
    )
    return scorer


def test_a_far_label_is_reported_with_its_nearest_tuned_name(tuned: Tuned) -> None:
    scorer = with_bank(UniversalScorer(tuned.folder, threads=1), 0.99)
    far = scorer.unseen("pair", ["couple", "ingredient of a recipe"])
    assert [u.label for u in far] == ["ingredient of a recipe"]  # 'couple' is in the bank itself
    assert far[0].nearest in {"couple", "weapon"}
    assert far[0].similarity < 0.99
    assert [u.nearest for u in scorer.unseen("tag", ["ingredient of a recipe"])] == ["person"]
    assert scorer.unseen("events", ["ingredient of a recipe"]) == []  # no bank: nothing to measure
    assert with_bank(UniversalScorer(tuned.folder, threads=1), -1.0).unseen("pair", ["anything"]) == []


def test_a_bound_scorer_reports_far_labels_by_name(tuned: Tuned) -> None:
    scorer = with_bank(UniversalScorer(tuned.folder, threads=1), 1.01)  # every label is far
    bound = Bound(scorer, LABELS, "relations")
    assert [u.label for u in bound.unseen(["couple", "place of residence"])] == [
        "couple",
        "place of residence",
    ]
    tagger = bound.tagger()
    assert tagger is not None
    assert [(u.label, u.nearest) for u in tagger.unseen(["location"])] == [("location", "person")]


class MatchingExpert:
    """A stand-in relations expert that matches ``known`` to a class of its own."""

    kind = "relations"

    def __init__(self, known: set[str]) -> None:
        self.known = known

    def matches(
        self, universal: Any, names: Any, texts: Any, *, contexts: bool = False, floor: float = 0.7
    ) -> dict[str, Any]:
        return {name: name for name in names if name in self.known}


def test_a_label_is_seen_by_its_name_or_an_expert_whatever_its_description(tuned: Tuned) -> None:
    scorer = with_bank(UniversalScorer(tuned.folder, threads=1), 0.99)
    described = LabelSchema(
        entity_types=["person"],
        relation_types=["couple", "wed", "ingredient of a recipe"],
        descriptions={"couple": "two people in love, written out at length", "wed": "married to each other"},
    )
    expert = MatchingExpert({"wed"})
    bound = Bound(scorer, described, "relations", (), [expert])  # type: ignore[list-item]
    far = bound.unseen(list(described.relation_types))
    # 'couple' is a tuned name, however it is described; the expert scores 'wed' as one of its classes
    assert [u.label for u in far] == ["ingredient of a recipe"]
    assert [u.label for u in Bound(scorer, described, "relations").unseen(["couple", "wed"])] == ["wed"]


@pytest.fixture
def strict(tuned: Tuned, tmp_path: Path) -> Path:
    """The tuned scorer with ``unseen_below`` 0.99: every label but a tuned name is far."""
    folder = tmp_path / "universal"
    shutil.copytree(tuned.folder, folder)
    config = json.loads((folder / CONFIG_FILE).read_text())
    (folder / CONFIG_FILE).write_text(json.dumps({**config, "unseen_below": 0.99}))
    return folder


def test_the_relations_refiner_reports_a_far_relation_type(
    strict: Path, make_reamo: Callable[..., Reamo]
) -> None:
    folder = strict
    answer = {
        "entities": [
            {"text": "Rafael Nadal", "label": "person"},
            {"text": "Mery Perello", "label": "person"},
            {"text": "Paris", "label": "location"},
        ],
        "relations": [{"head": "Rafael Nadal", "label": "couple", "tail": "Mery Perello"}],
        "calls": [],
    }
    reamo = make_reamo(
        answer,
        refiners=["relations"],
        refiner_options={"relations": {"scorer": str(folder), "experts": "none", "threads": 1}},
    )
    labels = {"entity_types": ["person", "location"], "relation_types": ["couple", "ingredient of a recipe"]}
    result = reamo.extract("re", text=TEXT, labels=labels)
    refined = [d for d in result.diagnostics if d.stage == "refine"]
    [unseen] = [d for d in refined if d.code == "refine.relations.unseen_labels"]
    assert unseen.level == "info"
    assert "'ingredient of a recipe' (nearest tuned: " in unseen.message
    assert "'couple'" not in unseen.message.split("(nearest")[0]  # a tuned name is not far
    assert not [d for d in refined if d.code.endswith(".failed")]
    assert {r.label for r in result.relations} <= {"couple", "ingredient of a recipe"}
    [backend] = [b for b in result.backends if b.role == "refiner"]
    assert (backend.name, backend.detail) == (
        "relations",
        "relations scored among the entities (MiniLM: universal)",
    )


def test_the_entities_refiner_leaves_entities_of_a_far_type_to_the_planner(
    strict: Path, make_reamo: Callable[..., Reamo]
) -> None:
    """A check floor of 1 doubts every entity the tagger judges ('per' is a tuned name); one of a type
    far from all it was tuned on is not judged: it stays as the planner gave it, and the effect says so."""
    folder = strict
    answer = {
        "entities": [
            {"text": "Rafael Nadal", "label": "per"},
            {"text": "Paris", "label": "ingredient of a recipe"},
        ],
        "calls": [],
    }
    options = {"entities": {"scorer": str(folder), "experts": "none", "threads": 1, "check_floor": 1.0}}
    reamo = make_reamo(answer, refiners=["entities"], refiner_options=options)
    labels = {"entity_types": ["per", "ingredient of a recipe", "giraffes"]}
    result = reamo.extract("ner", text=TEXT, labels=labels)
    assert [(e.text, e.label) for e in result.entities] == [("Paris", "ingredient of a recipe")]
    codes = [d.code for d in result.diagnostics if d.stage == "refine"]
    assert codes.count("refine.entities.dropped") == 1
    [unseen] = [d for d in result.diagnostics if d.code == "refine.entities.unseen_labels"]
    assert "left as the planner gave them: 'ingredient of a recipe'" in unseen.message
    assert "giraffes" not in unseen.message  # far too (strict), but an object class: the objects refiner's


def test_the_arguments_refiner_keeps_the_planners_arguments_in_a_far_role(
    strict: Path, make_reamo: Callable[..., Reamo]
) -> None:
    """Roles far from all the scorer was tuned on ('who did it') keep the planner's arguments; in a tuned
    role ('Instrument') the scorer's answer replaces the planner's."""
    answer = {
        "entities": [
            {"text": "Rebels", "label": "group"},
            {"text": "rockets", "label": "weapon"},
        ],
        "events": [
            {
                "trigger": "attacked",
                "type": "Conflict:Attack",
                "arguments": [
                    {"text": "Rebels", "role": "who did it"},
                    {"text": "rockets", "role": "Instrument"},
                ],
            }
        ],
        "calls": [],
    }
    options = {
        "arguments": {
            "scorer": str(strict),
            "experts": "none",
            "threads": 1,
            "event_floor": 0.0,
            "event_add": None,
        }
    }
    reamo = make_reamo(answer, refiners=["arguments"], refiner_options=options)
    labels = {
        "entity_types": ["group", "weapon"],
        "event_types": ["Conflict:Attack"],
        "argument_roles": ["who did it", "Instrument"],
    }
    result = reamo.extract("ee", text=ATTACK, labels=labels)
    [event] = result.events
    names = {e.id: e.text for e in result.entities}
    roles = [(names[a.entity], a.role) for a in event.arguments]
    assert ("Rebels", "who did it") in roles  # the planner's, kept
    assert all(role == "Instrument" for text, role in roles if text != "Rebels")  # the rest: scored
    unseen = [d.message for d in result.diagnostics if d.code == "refine.arguments.unseen_labels"]
    assert any("argument roles" in m and "left as the planner gave them: 'who did it'" in m for m in unseen)


# --------------------------------------------------------------------------
# Folders, configs and the command line


def test_a_folder_that_is_no_universal_scorer_says_what_it_needs(tmp_path: Path, tuned: Tuned) -> None:
    with pytest.raises(
        ConfigError, match=r"No universal scorer at .*missing.*as `reamo finetune` writes them"
    ):
        UniversalConfig.read(tmp_path / "missing")
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"kind": "relations", "labels": ["none"]}))
    assert not is_universal(tmp_path)
    with pytest.raises(ConfigError, match=r"kind is 'relations', not 'universal'"):
        UniversalConfig.read(tmp_path)
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"kind": "universal", "dim": 16}))  # no LoRA shape
    with pytest.raises(ConfigError, match="No universal scorer at"):
        UniversalConfig.read(tmp_path)
    (tmp_path / CONFIG_FILE).write_text((tuned.folder / CONFIG_FILE).read_text())
    with pytest.raises(ConfigError, match=r"Can't read the universal scorer's weights"):
        UniversalScorer(tmp_path, threads=1)


def test_the_universal_config_needs_known_settings(tmp_path: Path) -> None:
    from reamo.finetune.pairs import is_scorer_config
    from reamo.finetune.universal import is_universal_config

    path = tmp_path / "universal.toml"  # the shipped ones load in test_finetune_train
    path.write_text("[universal]\nbatch = 3\n")
    assert is_universal_config(path)
    assert not is_scorer_config(path)
    with pytest.raises(ConfigError, match=r"Unknown universal scorer setting.*batch"):
        UniversalTrainConfig.load(path)
    path.write_text('[universal]\nexclude = ["mnre", "ace05"]\n')
    with pytest.raises(ConfigError, match=r"exclude names \['ace05'\]; use corpora of conll2003, "):
        UniversalTrainConfig.load(path)


def test_reamo_finetune_runs_a_universal_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reamo.cli import main
    from reamo.finetune import universal

    runs: list[tuple[UniversalTrainConfig, bool, int | None]] = []

    def fake(
        config: UniversalTrainConfig, *, resume: bool = True, steps: int | None = None
    ) -> dict[str, Any]:
        runs.append((config, resume, steps))
        return {"steps": steps or config.steps, "config": {}}

    monkeypatch.setattr(universal, "train_universal", fake)
    path = tmp_path / "universal.toml"
    path.write_text('[universal]\ndata = "corpora"\noutput = "out"\nsteps = 7\n')
    assert main(["finetune", "--config", str(path)]) == 0
    overrides = ["--build-data", "data", "--output", "o", "--steps", "3", "--no-resume"]
    assert main(["finetune", "--config", str(path), *overrides]) == 0
    assert [(c.data, c.output, c.steps, resume, steps) for c, resume, steps in runs] == [
        ("corpora", "out", 7, True, None),
        ("data", "o", 7, False, 3),  # --steps reaches train_universal, which plans that many
    ]
