"""Tuning the universal scorer (``agent/universal.py``): one all-MiniLM-L6-v2 with LoRA that reads the
request's labels as text, for relations, event arguments, entity mentions and event triggers at once.

The label sets of every training corpus are mixed, each label written a different way in each batch
(``finetune/verbalise.py``: the dataset's string, bare names, codes, casing, paraphrases, descriptions)
and some dropped from the batch's set (their gold becomes none), so the scorer learns to match what a
label *says* rather than which slot it has:

- relations: MNRE train, WebNLG train, NYT (every ordered pair of a sentence's entities);
- arguments: the M2E2 text sentences no suite scores, CASIE (each event's trigger with every entity);
- entities: CoNLL-2003, WNUT-17, Twitter-2015 and Twitter-2017 train, MNRE train, M2E2 text, CASIE;
- triggers: M2E2 text and CASIE events.

Dev material: each corpus's own dev split where it has one, else every seventh sentence; test splits
are never read. ``exclude`` leaves corpora out (the zero-shot scorer: ``["twitter2017", "mnre",
"m2e2"]``). Each step draws its task, corpus, items, label forms and dropout from seeds of its own
number, so a run that resumes from a checkpoint takes the same steps.

    reamo finetune --config finetune/configs/universal-cpu.toml --build-data ../shared/data
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reamo.agent.planners.pairs import (
    OUTSIDE,
    WEIGHTS_FILE,
    Span,
    encode_pair,
    encode_text,
    load_minilm,
    lora_targets,
    mark_states,
    overlaps,
    token_states,
    token_tags,
)
from reamo.agent.spans import find_spans
from reamo.agent.universal import UniversalConfig, label_ids
from reamo.errors import ConfigError
from reamo.finetune.corpora import Sentence, read_bio, read_casie, read_casrel, read_m2e2_text, read_mnre
from reamo.finetune.data import WNUT_LABELS
from reamo.finetune.pairs import IGNORED, Tuning, lora_factors, minilm_tokenizer
from reamo.finetune.train import TimeBudget, mixed_precision, read_config, settings
from reamo.finetune.verbalise import PARAPHRASES, bare_name, verbalise

TABLE = "universal"
TASKS = ("relations", "arguments", "entities", "triggers")
CORPORA = ("conll2003", "wnut17", "twitter2015", "twitter2017", "mnre", "webnlg", "nyt", "m2e2", "casie")
DEV_EVERY = 7


@dataclass
class UniversalTrainConfig:
    """The ``[universal]`` table of a tuning config."""

    data: str = "../shared/data"
    output: str = "finetune-out/universal"
    steps: int = 4000
    pair_batch: int = 32
    tag_batch: int = 16
    max_labels: int = 24
    learning_rate: float = 5e-4  # the LoRA factors
    head_learning_rate: float = 1e-3
    warmup_steps: int = 100
    lora_r: int = 16
    lora_alpha: int = 32
    target_modules: list[str] = field(default_factory=lambda: ["query", "key", "value", "dense"])
    lora_layers: list[int] = field(default_factory=lambda: [2, 3, 4, 5])  # the layers LoRA tunes
    dim: int = 256  # the shared space of items and labels
    dropout: float = 0.1
    drop_label: float = 0.15  # how often a label is left out of a batch's set (its gold becomes none)
    trigger_outside_weight: float = 0.1  # triggers are rare: the loss weight of a token in none
    task_weights: dict[str, float] = field(
        default_factory=lambda: {"relations": 0.35, "arguments": 0.2, "entities": 0.3, "triggers": 0.15}
    )
    exclude: list[str] = field(default_factory=list)
    seed: int = 0
    threads: int = 2
    log_every: int = 25
    save_every: int = 250
    weights_dtype: str = "float16"
    device: str = "cpu"  # "cuda" on a GPU
    autocast: str = ""  # "bfloat16" on a GPU: float32 weights and optimizer, bfloat16 matrix products
    time_budget_s: float = 0.0  # > 0: at step 60, shorten the run (and its schedule) to fit

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> UniversalTrainConfig:
        config = settings(cls, read_config(path).get(TABLE, {}), overrides, "universal scorer")
        unknown = sorted(set(config.exclude) - set(CORPORA))
        if unknown or set(config.task_weights) - set(TASKS):
            raise ConfigError(
                f"universal.exclude names {unknown or config.exclude}; use corpora of {', '.join(CORPORA)}"
                f"; task_weights keys are {', '.join(TASKS)}."
            )
        return config


def is_universal_config(path: str | Path) -> bool:
    """True when the TOML at ``path`` has a ``[universal]`` table."""
    return TABLE in read_config(path)


@dataclass(frozen=True)
class PairItem:
    text: str
    head: Span
    tail: Span
    label: str | None
    context: str | None = None  # an argument's event type


@dataclass(frozen=True)
class TagItem:
    text: str
    mentions: tuple[tuple[Span, str], ...]


@dataclass
class Pool:
    """One corpus's material for one task: its labels, train items and dev items."""

    task: str
    corpus: str
    labels: list[str]
    train: list[Any]
    dev: list[Any]


def _all_pairs(sentences: Iterable[Sentence]) -> list[PairItem]:
    out = []
    for s in sentences:
        related = {(r.head, r.tail): r.label for r in s.relations}
        for a in s.entities:
            for b in s.entities:
                if a is not b and not overlaps((a.start, a.end), (b.start, b.end)):
                    label = related.get((a.text, b.text))
                    out.append(PairItem(s.text, (a.start, a.end), (b.start, b.end), label))
    return out


def _argument_pairs(sentences: Iterable[Sentence]) -> list[PairItem]:
    out = []
    for s in sentences:
        for event in s.events:
            found = find_spans(s.text, event.trigger)
            if not found:
                continue
            roles = dict(event.arguments)
            for entity in s.entities:
                span = (entity.start, entity.end)
                if not overlaps(span, found[0]):
                    out.append(PairItem(s.text, span, found[0], roles.get(entity.text), event.type))
    return out


def _entities(sentences: Iterable[Sentence]) -> list[TagItem]:
    return [TagItem(s.text, tuple(((e.start, e.end), e.label) for e in s.entities)) for s in sentences]


def _triggers(sentences: Iterable[Sentence]) -> list[TagItem]:
    out = []
    for s in sentences:
        placed = [(found[0], e.type) for e in s.events if (found := find_spans(s.text, e.trigger))]
        out.append(TagItem(s.text, tuple(placed)))
    return out


def _split(sentences: Iterable[Sentence]) -> tuple[list[Sentence], list[Sentence]]:
    train: list[Sentence] = []
    dev: list[Sentence] = []
    for n, s in enumerate(sentences):
        (dev if n % DEV_EVERY == 0 else train).append(s)
    return train, dev


def corpora(data: Path, exclude: Sequence[str] = ()) -> dict[str, tuple[list[Sentence], list[Sentence]]]:
    """Train and dev sentences of each training corpus (test splits are never read)."""
    text = data / "text"
    m2e2 = text / "m2e2" / "m2e2_annotations"
    readers: dict[str, Any] = {
        "conll2003": lambda: (
            list(read_bio(text / "conll2003/train.txt", "conll2003")),
            list(read_bio(text / "conll2003/dev.txt", "conll2003")),
        ),
        "wnut17": lambda: (
            list(read_bio(text / "wnut17/wnut17train.conll", "wnut17", label_map=WNUT_LABELS)),
            list(read_bio(text / "wnut17/emerging.dev.conll", "wnut17", label_map=WNUT_LABELS)),
        ),
        "twitter2015": lambda: _split(read_bio(text / "twitter2015/train.txt", "twitter2015")),
        "twitter2017": lambda: (
            list(read_bio(text / "twitter2017/train.txt", "twitter2017")),
            list(read_bio(text / "twitter2017/valid.txt", "twitter2017")),
        ),
        "mnre": lambda: (
            list(read_mnre(text / "mnre_v2/mnre_train.txt")),
            list(read_mnre(text / "mnre_v2/mnre_val.txt")),
        ),
        "webnlg": lambda: (
            list(read_casrel(text / "webnlg/train_triples.json", "webnlg")),
            list(read_casrel(text / "webnlg/dev_triples.json", "webnlg")),
        ),
        "nyt": lambda: _split(
            [
                *read_casrel(text / "nyt/dev_triples.json", "nyt"),
                *read_casrel(text / "nyt/test_triples.json", "nyt"),
            ]
        ),
        "m2e2": lambda: _split(
            read_m2e2_text(m2e2 / "text_only_event.compact.json", exclude=m2e2 / "text_multimedia_event.json")
        ),
        "casie": lambda: _split(read_casie(text / "casie/annotation")),
    }
    out = {}
    for name, read in readers.items():
        if name in exclude:
            continue
        try:
            out[name] = read()
        except OSError as exc:
            raise ConfigError(
                f"Can't read the {name} corpus under {str(data)!r}: {exc}. Give the benchmark sources "
                "folder (../shared/data) with --build-data."
            ) from exc
    return out


def pools(data: Path, exclude: Sequence[str] = ()) -> list[Pool]:
    """Every (task, corpus) pool of tuning material."""
    found = corpora(data, exclude)
    out: list[Pool] = []

    def add(task: str, corpus: str, make: Any, train: list[Sentence], dev: list[Sentence]) -> None:
        items, held = make(train), make(dev)
        if task in ("relations", "arguments"):
            labels = sorted({i.label for i in items if i.label is not None})
        else:
            labels = sorted({label for i in items for _, label in i.mentions})
        if labels:
            out.append(Pool(task, corpus, labels, items, held))

    for corpus, (train, dev) in found.items():
        if corpus in ("mnre", "webnlg", "nyt"):
            add("relations", corpus, _all_pairs, train, dev)
        if corpus in ("m2e2", "casie"):
            add("arguments", corpus, _argument_pairs, train, dev)
            add("triggers", corpus, _triggers, train, dev)
        if corpus not in ("webnlg", "nyt"):  # their entities are untyped
            add("entities", corpus, _entities, train, dev)
    return out


@dataclass
class Batch:
    """One step's material: the task, the label texts, and the encoded items with their targets."""

    task: str
    label_texts: list[str]
    inputs: list[Any]
    targets: list[Any]


def label_set(pool: Pool, gold: set[str], config: UniversalTrainConfig, rng: random.Random) -> list[str]:
    """The batch's labels: the pool's (the batch's gold first when there are more than ``max_labels``),
    each dropped with ``drop_label``, at least one kept, in a random order."""
    labels = list(pool.labels)
    if len(labels) > config.max_labels:
        rest = [label for label in labels if label not in gold]
        rng.shuffle(rest)
        labels = sorted(gold)[: config.max_labels] + rest[: max(0, config.max_labels - len(gold))]
    kept = [label for label in labels if rng.random() >= config.drop_label] or [rng.choice(labels)]
    rng.shuffle(kept)
    return kept


def make_batch(
    pool: Pool, config: UniversalTrainConfig, tokenizer: Any, rng: random.Random, items: Sequence[Any]
) -> Batch:
    """A batch of ``items`` of ``pool``, its labels written one random way each."""
    if pool.task in ("relations", "arguments"):
        gold = {i.label for i in items if i.label is not None}
    else:
        gold = {label for i in items for _, label in i.mentions}
    labels = label_set(pool, gold, config, rng)
    texts = [verbalise(label, rng) for label in labels]
    index = {label: k for k, label in enumerate(labels)}
    if pool.task in ("relations", "arguments"):
        contexts = {i.context for i in items if i.context is not None}
        written = {c: verbalise(c, rng) for c in sorted(contexts)}
        inputs = [
            encode_pair(
                tokenizer, i.text, i.head, i.tail, "" if i.context is None else f"{written[i.context]} : "
            )
            for i in items
        ]
        # 0 is none; label k is k + 1
        targets = [0 if i.label not in index else index[i.label] + 1 for i in items]
        return Batch(pool.task, texts, inputs, targets)
    rows: list[list[int]] = []
    tag_targets: list[list[int]] = []
    for i in items:
        ids, offsets = encode_text(tokenizer, i.text)
        kept = [(span, label) for span, label in i.mentions if label in index]
        tags = token_tags(offsets, kept)
        row = []
        for tag in tags:
            if tag is None:
                row.append(IGNORED)
            elif tag == OUTSIDE:
                row.append(0)
            else:
                bio, _, label = tag.partition("-")
                row.append(1 + 2 * index[label] + (bio == "I"))
        rows.append(ids)
        tag_targets.append(row)
    return Batch(pool.task, texts, rows, tag_targets)


def label_rows(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of label texts (with the special tokens), each cut to ``LABEL_TOKENS``."""
    return [label_ids(tokenizer, text) for text in texts]


class UniversalModel:
    """MiniLM with peft LoRA factors and the heads, as trained (the runtime merges the factors)."""

    def __init__(self, config: UniversalTrainConfig) -> None:
        import torch
        from peft import LoraConfig, get_peft_model

        torch.manual_seed(config.seed)
        base = load_minilm()
        self.targets = [
            name
            for name in lora_targets(base, config.target_modules)
            if int(name.split(".")[2]) in config.lora_layers
        ]
        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            target_modules=config.target_modules,
            layers_to_transform=config.lora_layers,
        )
        self.encoder = get_peft_model(base, lora)
        hidden, dim = int(base.config.hidden_size), config.dim
        lin = torch.nn.Linear
        self.heads = torch.nn.ModuleDict(
            {
                "pair_proj": lin(2 * hidden, dim),
                "pair_none": lin(2 * hidden, 1),
                "pair_label": lin(hidden, dim),
                "tag_b": lin(hidden, dim),
                "tag_i": lin(hidden, dim),
                "tag_o": lin(hidden, 1),
                "tag_label": lin(hidden, dim),
            }
        )
        self.scale = 1 / math.sqrt(dim)
        self.dropout = torch.nn.Dropout(config.dropout)
        self.outside_weight = config.trigger_outside_weight

    def label_vectors(self, rows: Sequence[list[int]]) -> Any:
        """Mean-pooled states of label texts: (labels, hidden)."""
        states, mask = token_states(self.encoder, rows)
        m = mask.unsqueeze(-1).float()
        return (states * m).sum(1) / m.sum(1)

    def pair_logits(self, inputs: Sequence[Any], labels: Any) -> Any:
        import torch

        pairs = self.dropout(mark_states(self.encoder, inputs))
        scores = self.heads["pair_proj"](pairs) @ self.heads["pair_label"](labels).T * self.scale
        return torch.cat([self.heads["pair_none"](pairs), scores], -1)

    def tag_logits(self, rows: Sequence[list[int]], labels: Any) -> Any:
        import torch

        states = self.dropout(token_states(self.encoder, rows)[0])
        vectors = self.heads["tag_label"](labels)
        b = self.heads["tag_b"](states) @ vectors.T * self.scale
        i = self.heads["tag_i"](states) @ vectors.T * self.scale
        bio = torch.stack([b, i], -1).flatten(-2)  # B-1, I-1, B-2, I-2, ...
        return torch.cat([self.heads["tag_o"](states), bio], -1)

    def loss(self, batch: Batch, tokenizer: Any) -> Any:
        import torch
        from torch.nn import functional

        labels = self.label_vectors(label_rows(tokenizer, batch.label_texts))
        if batch.task in ("relations", "arguments"):
            logits = self.pair_logits(batch.inputs, labels).float()
            return functional.cross_entropy(logits, torch.tensor(batch.targets, device=logits.device))
        logits = self.tag_logits(batch.inputs, labels).float()
        wanted = torch.full(logits.shape[:2], IGNORED, dtype=torch.long)
        for k, row in enumerate(batch.targets):
            wanted[k, : len(row)] = torch.tensor(row)
        weight = torch.ones(logits.shape[-1])
        if batch.task == "triggers":
            weight[0] = self.outside_weight
        return functional.cross_entropy(
            logits.flatten(0, 1),
            wanted.flatten().to(logits.device),
            weight=weight.to(logits.device),
            ignore_index=IGNORED,
        )

    def to(self, device: str) -> UniversalModel:
        self.encoder.to(device)
        self.heads.to(device)
        return self

    def train(self, on: bool) -> None:
        self.encoder.train(on)
        self.heads.train(on)
        self.dropout.train(on)  # a module of its own: off, the logits are the runtime's

    def trained(self) -> dict[str, Any]:
        out = lora_factors(self.encoder, self.targets) | self.heads.state_dict()
        return {name: value.detach().cpu() for name, value in out.items()}

    def load(self, weights: dict[str, Any]) -> None:
        import torch

        with torch.no_grad():
            for key, factor in lora_factors(self.encoder, self.targets).items():
                factor.copy_(weights[key])
            self.heads.load_state_dict({k: weights[k] for k in self.heads.state_dict()})

    def parameters(self) -> tuple[list[Any], list[Any]]:
        return [p for p in self.encoder.parameters() if p.requires_grad], list(self.heads.parameters())


def trained_names(material: Sequence[Pool]) -> dict[str, list[str]]:
    """The bare names (and paraphrases) of the labels each head was tuned on: the bank against which a
    request's labels are checked for being far from everything trained."""
    out: dict[str, set[str]] = {"pair": set(), "tag": set()}
    for pool in material:
        head = "pair" if pool.task in ("relations", "arguments") else "tag"
        for label in pool.labels:
            name = bare_name(label)
            out[head] |= {name, *PARAPHRASES.get(name, ())}
    return {head: sorted(names) for head, names in out.items()}


def train_universal(
    config: UniversalTrainConfig, *, resume: bool = True, steps: int | None = None
) -> dict[str, Any]:
    """Tune the universal scorer; writes ``<output>/scorer`` and returns a summary."""
    import torch

    tokenizer = minilm_tokenizer(config.threads)
    material = pools(Path(config.data).expanduser(), config.exclude)
    model = UniversalModel(config).to(config.device)
    output = Path(config.output)
    tuning = Tuning(model, config, steps or config.steps, output, resume=resume)
    start = tuning.start
    autocast = mixed_precision(config.device, config.autocast)
    by_task = {task: [p for p in material if p.task == task] for task in TASKS}
    tasks = [t for t in TASKS if by_task[t] and config.task_weights.get(t, 0) > 0]
    model.train(True)
    log = (output / "log.jsonl").open("a", encoding="utf-8")
    started, sums, last = time.perf_counter(), dict.fromkeys(TASKS, (0.0, 0)), float("nan")
    budget, step = TimeBudget(config.time_budget_s, start), start  # lowers tuning.planned once
    while step < tuning.planned:
        rng = random.Random(config.seed * 1_000_003 + step)
        torch.manual_seed(config.seed * 100_003 + step)
        task = rng.choices(tasks, [config.task_weights[t] for t in tasks])[0]
        pool = rng.choices(by_task[task], [math.sqrt(len(p.train)) for p in by_task[task]])[0]
        size = config.pair_batch if task in ("relations", "arguments") else config.tag_batch
        items = rng.sample(pool.train, min(size, len(pool.train)))
        with autocast:
            loss = model.loss(make_batch(pool, config, tokenizer, rng, items), tokenizer)
        last = tuning.step(loss)
        total, n = sums[task]
        sums[task] = (total + last, n + 1)
        tuning.planned = budget.fit(step + 1, tuning.planned)
        if (step + 1) % config.log_every == 0 or step + 1 == tuning.planned:
            entry: dict[str, Any] = {"step": step + 1, "seconds": round(time.perf_counter() - started, 1)}
            entry |= {t: round(s / n, 4) for t, (s, n) in sums.items() if n}
            log.write(json.dumps(entry) + "\n")
            log.flush()
            sums = dict.fromkeys(TASKS, (0.0, 0))
        if (step + 1) % config.save_every == 0 and step + 1 < tuning.planned:
            tuning.save(step + 1)
        step += 1
    log.close()
    seconds = time.perf_counter() - started
    folder = write_scorer(model, config, material, output / "scorer")
    summary = {
        "steps": tuning.planned,
        "resumed_from": start,
        "final_loss": last,
        "seconds": seconds,
        "pools": {f"{p.task}:{p.corpus}": [len(p.train), len(p.dev), len(p.labels)] for p in material},
        "scorer": str(folder),
        "config": asdict(config),
    }
    (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def write_scorer(
    model: UniversalModel, config: UniversalTrainConfig, material: Sequence[Pool], folder: Path
) -> Path:
    """The scorer folder the runtime loads: weights (``config.weights_dtype``) and ``scorer.json``."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    dtype = getattr(torch, config.weights_dtype)
    save_file(
        {k: v.to(dtype).contiguous() for k, v in model.trained().items()},
        str(folder / WEIGHTS_FILE),
        {"format": "pt"},
    )
    UniversalConfig(
        lora_r=config.lora_r,
        lora_alpha=config.lora_alpha,
        target_modules=list(config.target_modules),
        dim=config.dim,
        lora_layers=list(config.lora_layers),
        trained=trained_names(material),
        corpora=sorted({p.corpus for p in material}),
    ).write(folder)
    return folder
