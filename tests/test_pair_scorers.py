"""The pair scorers: marks, signatures that type related entities, BIO tags, the LoRA merge done at load
time, and their tuning (which resumes to the same weights). The refiners' use of them: test_refiners.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reamo.agent.planners.pairs import (
    CONFIG_FILE,
    NONE,
    OUTSIDE,
    ScorerConfig,
    encode_pair,
    marked,
    merge_lora,
    tagged_spans,
    token_tags,
)
from reamo.errors import ConfigError
from reamo.schemas import LabelSchema

TWEET = "Tennis star Rafael Nadal gets engaged to girlfriend Mery Perello"
NADAL, PERELLO = (12, 24), (52, 64)
MNRE = LabelSchema.default("re")


def test_marks_go_around_head_and_tail_in_either_order() -> None:
    assert marked(TWEET, NADAL, PERELLO) == (
        "Tennis star  < Rafael Nadal >  gets engaged to girlfriend  [ Mery Perello ] "
    )
    assert marked("AB", (1, 2), (0, 1)) == " [ A ]  < B > "  # adjacent: the tail closes before the head opens


def test_encode_pair_finds_the_two_opening_marks() -> None:
    from tokenizers import Tokenizer

    from reamo.tools.vision.embedder import model_dir

    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    ids, head, tail = encode_pair(tokenizer, TWEET, PERELLO, NADAL)
    assert tokenizer.id_to_token(ids[head]) == "<"
    assert tokenizer.id_to_token(ids[tail]) == "["
    assert tail < head  # the tail comes first in the sentence
    assert tokenizer.id_to_token(ids[head + 1]) == "mer"  # "Mery": mer ##y


@pytest.mark.parametrize(
    ("relation", "expected"),
    [
        ("/per/org/member_of", ("person", "organization")),
        ("/misc/loc/held_on", ("miscellaneous", "location")),
        ("/per/per/couple", ("person", "person")),
        ("/people/person/place_lived", None),  # no entity type begins with "people"
        ("founded_by", None),
        ("/per/x", None),
    ],
)
def test_a_relation_type_names_its_entity_types(relation: str, expected: tuple[str, str] | None) -> None:
    assert MNRE.signature(relation) == expected


def test_an_ambiguous_abbreviation_is_no_signature() -> None:
    labels = LabelSchema(entity_types=["person", "personal item", "location"])
    assert labels.signature("/per/loc/place_of_birth") is None
    assert labels.signature("/location/person/x") == ("location", "person")


def test_bio_tags_of_mentions_and_back() -> None:
    text = "Syria's border guards met"
    # "Syria" "'" "s" "border" "guards" "met", as a word-piece tokenizer cuts them, with [CLS] and [SEP]
    offsets = [(0, 0), (0, 5), (5, 6), (6, 7), (8, 14), (15, 21), (22, 25), (0, 0)]
    mentions = [((0, 14), "location"), ((0, 5), "location"), ((15, 21), "person")]
    tags = token_tags(offsets, mentions)
    # the longer of two nested mentions wins; special tokens have no tag
    assert tags == [None, "B-location", "I-location", "I-location", "I-location", "B-person", OUTSIDE, None]
    found = tagged_spans(text, offsets, [t or OUTSIDE for t in tags])
    assert found == [((0, 14), "location"), ((15, 21), "person")]
    # a mention is widened to whole words; an I- tag that continues nothing starts a mention
    pieces = [(0, 3), (3, 5), (6, 8)]  # "Syr" "ia" "'s" of "Syria 's"
    assert tagged_spans("Syria 's", pieces, ["B-location", OUTSIDE, "I-person"]) == [
        ((0, 5), "location"),
        ((6, 8), "person"),
    ]
    # two pieces of one word tagged as two mentions ("war" "planes") are one mention
    assert tagged_spans("warplanes", [(0, 3), (3, 9)], ["B-miscellaneous", "B-location"]) == [
        ((0, 9), "miscellaneous")
    ]


def test_merge_lora_gives_the_peft_models_outputs() -> None:
    torch = pytest.importorskip("torch")
    from peft import LoraConfig, get_peft_model
    from transformers import BertConfig, BertModel

    from reamo.agent.planners.pairs import lora_targets
    from reamo.finetune.pairs import lora_factors

    torch.manual_seed(0)
    shape = {"vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2}
    base = BertModel(BertConfig(**shape, intermediate_size=32), add_pooling_layer=False).eval()
    plain = BertModel(BertConfig(**shape, intermediate_size=32), add_pooling_layer=False).eval()
    plain.load_state_dict(base.state_dict())
    config = ScorerConfig(
        labels=[NONE, "r"], lora_r=4, lora_alpha=8, target_modules=["query", "value", "dense"]
    )
    targets = lora_targets(base, config.target_modules)
    assert len(targets) == 2 * 5  # query, value and three dense layers in each of two layers
    tuned = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=config.target_modules))
    with torch.no_grad():
        for name, weight in tuned.named_parameters():
            if "lora_B" in name:
                weight.normal_()  # peft starts B at zero, which would merge nothing
    ids = torch.tensor([[1, 5, 7, 9, 2]])
    expected = tuned(input_ids=ids).last_hidden_state
    assert not torch.allclose(plain(input_ids=ids).last_hidden_state, expected, atol=1e-3)
    merge_lora(plain, lora_factors(tuned, targets), config)
    assert torch.allclose(plain(input_ids=ids).last_hidden_state, expected, atol=1e-5)
    with pytest.raises(ConfigError, match="rebuild it"):
        merge_lora(plain, {}, config)


def test_the_numpy_encoder_with_merged_lora_gives_the_torch_models_states() -> None:
    """What a scorer runs in use (MiniLMEncoder over merged_weights) matches the tuned torch model, padding
    included."""
    torch = pytest.importorskip("torch")
    import numpy as np
    from peft import LoraConfig, get_peft_model
    from transformers import BertConfig, BertModel

    from reamo.agent.planners.pairs import lora_targets, merged_weights
    from reamo.finetune.pairs import lora_factors
    from reamo.tools.vision.embedder import MiniLMEncoder

    torch.manual_seed(0)
    shape = {"vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2}
    base = BertModel(BertConfig(**shape, intermediate_size=32), add_pooling_layer=False).eval()
    plain = {k: v.detach().numpy().astype(np.float32) for k, v in base.state_dict().items()}
    config = ScorerConfig(
        labels=[NONE, "r"], lora_r=4, lora_alpha=8, target_modules=["query", "value", "dense"]
    )
    targets = lora_targets(base, config.target_modules)
    tuned = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=config.target_modules))
    with torch.no_grad():
        for name, weight in tuned.named_parameters():
            if "lora_B" in name:
                weight.normal_()
    ids = torch.tensor([[1, 5, 7, 9, 2], [1, 8, 2, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    with torch.no_grad():
        expected = tuned(input_ids=ids, attention_mask=mask).last_hidden_state.numpy()
    factors = {k: v.detach().numpy() for k, v in lora_factors(tuned, targets).items()}
    merged = merged_weights(plain, factors, config)
    assert merged["embeddings.word_embeddings.weight"] is plain["embeddings.word_embeddings.weight"]  # shared
    states = MiniLMEncoder(merged, heads=2).states(ids.numpy(), mask.numpy().astype(np.float32))
    assert np.allclose(states[0], expected[0], atol=1e-5)
    assert np.allclose(states[1, :3], expected[1, :3], atol=1e-5)  # the padding's states are never read
    with pytest.raises(ConfigError, match="rebuild it"):
        merged_weights(plain, {}, config)


def _mnre_file(
    path: Path, tweets: list[tuple[list[str], list[tuple[tuple[int, int], tuple[int, int], str]]]]
) -> None:
    lines = []
    for n, (tokens, pairs) in enumerate(tweets):
        for head, tail, relation in pairs:
            record = {
                "token": tokens,
                "h": {"name": " ".join(tokens[head[0] : head[1]]), "pos": list(head)},
                "t": {"name": " ".join(tokens[tail[0] : tail[1]]), "pos": list(tail)},
                "img_id": f"img{n}.jpg",
                "relation": relation,
            }
            lines.append(repr(record))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_tuning_writes_a_scorer_the_planner_loads_and_resumes_to_the_same_weights(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    from reamo.agent.planners.pairs import WEIGHTS_FILE, PairScorer
    from reamo.finetune.pairs import ScorerTrainConfig, mnre_pairs, train_scorer

    tweets = [
        (["Rafael", "Nadal", "engaged", "to", "Mery", "Perello"], [((0, 2), (4, 6), "/per/per/couple")]),
        (["Obama", "visits", "Paris"], [((0, 1), (2, 3), "/per/loc/place_of_residence")]),
        (
            ["Merkel", "and", "Macron", "in", "Berlin"],
            [((0, 1), (2, 3), "/per/per/peer"), ((0, 1), (4, 5), NONE)],
        ),
    ]
    for split in ("train", "val"):
        _mnre_file(tmp_path / "data/text/mnre_v2" / f"mnre_{split}.txt", tweets)
    pairs = mnre_pairs(tmp_path / "data/text/mnre_v2/mnre_train.txt")
    # every ordered pair; unannotated ones (Berlin -> Merkel, Macron <-> Berlin, ...) are None
    assert len(pairs) == 2 + 2 + 6
    assert sum(p.label != NONE for p in pairs) == 3

    def config(out: str) -> ScorerTrainConfig:
        return ScorerTrainConfig(
            data=str(tmp_path / "data"), output=str(tmp_path / out), batch_size=4, save_every=2, log_every=1,
            warmup_steps=1, lora_r=4, lora_alpha=8,
        )  # fmt: skip

    summary = train_scorer(config("run"), steps=4)
    assert summary["steps"] == 4
    assert summary["train_examples"] == 10
    assert set(summary["dev"]) == {"precision", "recall", "f1"}
    log = [json.loads(line) for line in (tmp_path / "run/log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log] == [1, 2, 3, 4]
    assert all(entry["loss"] > 0 for entry in log)
    first = load_file(str(tmp_path / "run/scorer" / WEIGHTS_FILE))
    assert first["head.weight"].dtype == torch.float16
    # resume from the step-2 checkpoint: the same last two steps, the same weights
    again = train_scorer(config("run"), steps=4)
    assert again["resumed_from"] == 2
    second = load_file(str(tmp_path / "run/scorer" / WEIGHTS_FILE))
    assert all(torch.equal(first[k], second[k]) for k in first)

    scorer = PairScorer(tmp_path / "run/scorer", threads=1)
    assert scorer.labels[0] == NONE
    assert "/per/per/couple" in scorer.labels
    assert json.loads((tmp_path / "run/scorer" / CONFIG_FILE).read_text())["lora_r"] == 4
    probs = scorer.probabilities("Obama visits Paris", [((0, 5), (13, 18)), ((13, 18), (0, 5))])
    assert probs.shape == (2, len(scorer.labels))
    assert probs.sum(1) == pytest.approx([1.0, 1.0], abs=1e-4)
    found = scorer.relate("Obama visits Paris", [("Obama", (0, 5)), ("Paris", (13, 18))], ["/per/per/couple"])
    assert {r["label"] for r in found} <= {"/per/per/couple"}  # only an allowed type, or nothing


def _m2e2_folder(folder: Path, sentences: list[tuple[list[str], list[tuple[int, int, str]]]]) -> None:
    rows = [
        {
            "sentence_id": f"s{n}",
            "words": words,
            "golden-entity-mentions": [{"start": a, "end": b, "entity-type": t} for a, b, t in mentions],
            # "arrested" (the second word) is an arrest
            "golden-event-mentions": [
                {"trigger": {"start": 1, "end": 2}, "event_type": "Justice:Arrest-Jail", "arguments": []}
            ],
        }
        for n, (words, mentions) in enumerate(sentences)
    ]
    folder.mkdir(parents=True)
    (folder / "text_only_event.compact.json").write_text(json.dumps(rows))
    (folder / "text_multimedia_event.json").write_text(json.dumps([{"sentence_id": "s1"}]))  # scored


@pytest.mark.slow
def test_a_mentions_tagger_tunes_and_an_argument_scorer_loads_it(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from reamo.agent.planners.pairs import WEIGHTS_FILE, PairScorer
    from reamo.finetune.pairs import M2E2_DIR, ScorerTrainConfig, m2e2_mentions, train_scorer

    sentence = (
        ["Police", "arrested", "the", "man", "in", "Chicago"],
        [(0, 1, "ORG"), (3, 4, "PER"), (5, 6, "GPE")],
    )
    _m2e2_folder(tmp_path / "data" / M2E2_DIR, [sentence] * 9)
    train, dev = m2e2_mentions(tmp_path / "data" / M2E2_DIR)
    assert (len(train), len(dev)) == (6, 2)  # s1 is scored by a suite; s0 and s7 are every seventh
    assert train[0].mentions == (((0, 6), "organization"), ((20, 23), "person"), ((27, 34), "location"))
    triggers, _ = m2e2_mentions(tmp_path / "data" / M2E2_DIR, events=True)  # a trigger tagger's
    assert triggers[0].mentions == (((7, 15), "Justice:Arrest-Jail"),)

    config = ScorerTrainConfig(
        kind="mentions", data=str(tmp_path / "data"), output=str(tmp_path / "run"), batch_size=3,
        log_every=1, warmup_steps=1, lora_r=4, lora_alpha=8, head_learning_rate=0.05,
    )  # fmt: skip
    summary = train_scorer(config, steps=6)
    assert summary["train_labels"] == {"organization": 6, "person": 6, "location": 6}
    assert summary["dev_examples"] == 2
    tagger = PairScorer(tmp_path / "run/scorer", threads=1)
    assert tagger.kind == "mentions"
    assert tagger.labels == [
        OUTSIDE,
        *(f"{bio}-{t}" for t in ("location", "organization", "person") for bio in "BI"),
    ]
    found = tagger.mentions("Police arrested the man in Chicago")
    assert all(label in {"location", "organization", "person"} for _, label, _ in found)
    assert all("Police arrested the man in Chicago"[a:b] == name for name, _, (a, b) in found)

    # an argument scorer names the tagger as its candidates, by a folder name beside its own (these
    # weights stand in for an argument scorer's: only the loading is checked)
    scorer_dir = tmp_path / "run" / "arguments"
    scorer_dir.mkdir()
    (scorer_dir / WEIGHTS_FILE).write_bytes((tmp_path / "run/scorer" / WEIGHTS_FILE).read_bytes())
    config_json = {**json.loads((tmp_path / "run/scorer" / CONFIG_FILE).read_text()), "kind": "arguments"}
    (scorer_dir / CONFIG_FILE).write_text(json.dumps({**config_json, "candidates": "scorer"}))
    loaded = PairScorer(scorer_dir, threads=1).tagger()
    assert loaded is not None
    assert loaded.kind == "mentions"
    (scorer_dir / CONFIG_FILE).write_text(json.dumps({**config_json, "candidates": "arguments"}))
    with pytest.raises(ConfigError, match="name a mentions tagger"):
        PairScorer(scorer_dir, threads=1).tagger()
    # and a tagger as its events, found the same way (these tags stand in for event types)
    (scorer_dir / CONFIG_FILE).write_text(json.dumps({**config_json, "events": "scorer", "event_floor": 0.3}))
    checker = PairScorer(scorer_dir, threads=1)
    assert checker.tagger() is None
    assert checker.config.event_floor == 0.3
    assert checker.config.event_add is None
    events = checker.event_tagger()
    assert events is not None
    assert events.kind == "mentions"
    (scorer_dir / CONFIG_FILE).write_text(json.dumps({**config_json, "events": "missing"}))
    with pytest.raises(ConfigError, match=r"remove events from .* to keep all the planner's events"):
        PairScorer(scorer_dir, threads=1).event_tagger()


def test_argument_pairs_hold_out_every_seventh_m2e2_sentence() -> None:
    from reamo.finetune.pairs import M2E2_DIR, m2e2_argument_pairs

    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (data / M2E2_DIR).is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    train, dev, types = m2e2_argument_pairs(data / M2E2_DIR)
    assert len(train) > 5 * len(dev) > 0
    assert types == sorted(LabelSchema.default("ee").event_types)  # the eight M2E2 types
    attack = next(p for p in train if p.prefix == "conflict attack : " and p.label == "Attacker")
    assert not (attack.head[0] < attack.tail[1] and attack.tail[0] < attack.head[1])  # entity off the trigger
    roles = {p.label for p in train}
    assert NONE in roles
    assert roles - {NONE} <= set(LabelSchema.default("ee").argument_roles)


def test_a_tagger_tunes_on_the_train_splits_of_each_corpus_it_lists(tmp_path: Path) -> None:
    from reamo.finetune.pairs import ScorerTrainConfig, training_mentions

    splits = {
        "twitter2015/train.txt": "RT O\n@nancy O\nNancy B-PER\nAjram I-PER\n",
        "twitter2017/train.txt": "Paris B-LOC\nrocks O\n",
        "twitter2017/valid.txt": "Apple B-ORG\nsells O\n",
        "conll2003/train.txt": "-DOCSTART- O\n\nEU B-ORG\nrejects O\nGerman B-MISC\ncall O\n",
        "conll2003/dev.txt": "Peter B-PER\nBlackburn I-PER\n",
        "conll2003/test.txt": "never B-PER\nread I-PER\n",
        "wnut17/wnut17train.conll": "@paul\tO\nloves\tO\niPhone\tB-product\nby\tO\nApple\tB-corporation\n",
        "wnut17/emerging.dev.conll": "Taylor\tB-person\nSwift\tI-person\n",
    }
    for part, lines in splits.items():
        (tmp_path / "text" / part).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "text" / part).write_text(lines, encoding="utf-8")
    path = tmp_path / "tagger.toml"
    path.write_text(
        f'[pair_scorer]\nkind = "mentions"\nmentions_from = ["twitter", "conll"]\ndata = "{tmp_path}"\n'
    )
    config = ScorerTrainConfig.load(path)
    assert config.sources == ("twitter", "conll")
    train, dev = training_mentions(config)
    assert [t.text for t in train] == ["RT @nancy Nancy Ajram", "Paris rocks", "EU rejects German call"]
    assert train[2].mentions == (((0, 2), "organization"), ((11, 17), "miscellaneous"))
    assert [(t.text, t.mentions) for t in dev] == [
        ("Apple sells", (((0, 5), "organization"),)),
        ("Peter Blackburn", (((0, 15), "person"),)),
    ]
    assert training_mentions(ScorerTrainConfig.load(path, mentions_from="conll"))[1] == dev[1:]
    wnut_train, _ = training_mentions(ScorerTrainConfig.load(path, mentions_from="wnut"))
    assert [(t.text, t.mentions) for t in wnut_train] == [  # WNUT's own types
        ("@paul loves iPhone by Apple", (((12, 18), "product"), ((22, 27), "corporation")))
    ]
    with pytest.raises(
        ConfigError, match=r"mentions_from is \['conll', 'news'\]; use one of .*, a folder of"
    ):
        ScorerTrainConfig.load(path, mentions_from=["conll", "news"])
    # a folder of your own: its tag types are the labels, as written
    own = tmp_path / "drugs"
    own.mkdir()
    (own / "train.txt").write_text("took O\nbaby B-drug\naspirin I-drug\ndaily O\n\nPfizer B-maker\n")
    (own / "dev.txt").write_text("no O\nibuprofen B-drug\n")
    mine = ScorerTrainConfig.load(path, mentions_from=[str(own)])
    mine_train, mine_dev = training_mentions(mine)
    assert [(t.text, t.mentions) for t in mine_train] == [
        ("took baby aspirin daily", (((5, 17), "drug"),)),
        ("Pfizer", (((0, 6), "maker"),)),
    ]
    assert [t.mentions for t in mine_dev] == [(((3, 12), "drug"),)]
    (own / "dev.txt").unlink()
    with pytest.raises(
        ConfigError, match=r"names .*drugs', but .*dev.txt' is missing: give one of .*, or a folder"
    ):
        training_mentions(mine)
    (tmp_path / "text/conll2003/dev.txt").unlink()
    with pytest.raises(ConfigError, match=r"No conll split at .*dev.txt.*give the benchmark sources folder"):
        training_mentions(config)


def test_a_scorer_config_needs_known_settings(tmp_path: Path) -> None:
    from reamo.finetune.pairs import ScorerTrainConfig, is_scorer_config

    path = tmp_path / "scorer.toml"
    path.write_text("[pair_scorer]\nepochs = 1.0\nbatch = 3\n")
    assert is_scorer_config(path)
    with pytest.raises(ConfigError, match=r"Unknown pair scorer setting.*batch"):
        ScorerTrainConfig.load(path)
    path.write_text('[pair_scorer]\nkind = "spans"\n')
    with pytest.raises(ConfigError, match="use one of relations, arguments, mentions"):
        ScorerTrainConfig.load(path)
    path.write_text("[finetune]\nsteps = 3\n")
    assert not is_scorer_config(path)


def test_the_shipped_configs_load() -> None:
    from reamo.finetune.pairs import ScorerTrainConfig

    folder = Path(__file__).parents[1] / "finetune/configs"
    assert ScorerTrainConfig.load(folder / "arguments-cpu.toml").kind == "arguments"
    assert ScorerTrainConfig.load(folder / "mentions-cpu.toml").kind == "mentions"
    events = ScorerTrainConfig.load(folder / "events-cpu.toml")
    assert (events.kind, events.mentions_from, events.outside_weight) == ("mentions", "m2e2-events", 0.1)
    entities = ScorerTrainConfig.load(folder / "entities-cpu.toml")
    assert (entities.sources, entities.check_floor, entities.check_add) == (("twitter", "conll"), 0.3, 0.9)
    wnut = ScorerTrainConfig.load(folder / "wnut-entities-cpu.toml")
    assert (wnut.sources, wnut.check_floor, wnut.check_add, wnut.threads) == (("wnut",), 0.3, 0.7, 1)
    arguments = ScorerTrainConfig.load(folder / "arguments-cpu.toml")
    assert (arguments.events, arguments.event_floor, arguments.event_add) == ("reamo-m2e2-events", 0.3, 0.9)
    config = ScorerTrainConfig.load(folder / "relations-cpu.toml")
    assert config.kind == "relations"
    assert config.lora_r == 16
    assert config.weights_dtype == "float16"
