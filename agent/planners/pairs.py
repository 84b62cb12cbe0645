"""Pair scorers: classifiers over pairs the planner's answer names, for the label sets they were tuned on.

The 135M planner finds entities and triggers well but relates them poorly: on MNRE it closed the
relation list empty on a third of the tweets with a relation and related pairs on two fifths of those
with none. A pair scorer is the usual supervised sentence-level model instead (Zhou and Chen, 2021): the
sentence with one span marked ``< … >`` and the other ``[ … ]`` goes through all-MiniLM-L6-v2 (the
MiniLM package the image tools already use) with a LoRA adapter, and a linear layer over the two
opening marks' states picks a label or ``None``. Two kinds:

- ``relations``: head and tail entities → a relation type;
- ``arguments``: an entity and an event's trigger, after the event type written as a prefix
  (``conflict attack : …``) → the entity's role in the event.

A third kind tags rather than pairs: ``mentions`` reads the sentence once and gives each token a BIO tag
of an entity type (the same encoder, with a linear layer over every token). A relation or argument
scorer whose ``scorer.json`` names one as its ``candidates`` scores the mentions it finds beside the
planner's entities: most arguments the planner misses are nominals (``police``, ``forces``,
``missile``) that a named-entity answer leaves out, and MNRE cuts its entities its own way. A tagger of
event triggers (BIO tags of event types) checks an argument scorer's events when its ``scorer.json``
names one as its ``events``: about half of the planner's events are not in the gold, and each of them
gets arguments. It drops the planner's events it doubts and adds those it is sure of.

``reamo finetune`` tunes them (``finetune/pairs.py``, with torch) and they ship beside the planner's
adapter, about 1.4 MB each. In use they run in numpy (``MiniLMEncoder``) with the LoRA merged into a copy
of the layers it tunes, so a request never imports torch; MiniLM's other weights are shared. The
refiners (``agent/refiners``: relations, arguments, entities) replace a planner's relations, or its
events' arguments, with a scorer's, and check its entities, whenever the request's label set is one the
scorer knows; other label sets keep the planner's own.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reamo.errors import ConfigError
from reamo.schemas import LabelSchema
from reamo.tools.protocol import Resources

NONE = "None"
HEAD_MARKS = ("<", ">")
TAIL_MARKS = ("[", "]")
MAX_TOKENS = 256
CONFIG_FILE = "scorer.json"
KINDS = ("relations", "arguments", "mentions")
OUTSIDE = "O"  # the mentions kind's tag of a token in no mention
WEIGHTS_FILE = "model.safetensors"

Span = tuple[int, int]
Array = npt.NDArray[np.float32]
ENCODER_KEY = "planner.minilm"
"""The ``Resources`` key of MiniLM's own weights, which every pair scorer shares."""


def marked(text: str, head: Span, tail: Span) -> str:
    """``text`` with ``< head >`` and ``[ tail ]`` written around the two spans (they must not overlap)."""
    inserts = [
        (head[0], 1, f" {HEAD_MARKS[0]} "),
        (head[1], 0, f" {HEAD_MARKS[1]} "),
        (tail[0], 1, f" {TAIL_MARKS[0]} "),
        (tail[1], 0, f" {TAIL_MARKS[1]} "),
    ]
    out = text
    # from the end, so offsets stay valid; at one offset the opening mark goes in first, so that the
    # closing one inserted after it lands before it
    for position, _, mark in sorted(inserts, key=lambda x: (-x[0], -x[1])):
        out = out[:position] + mark + out[position:]
    return out


def context_prefix(event_type: str) -> str:
    """How an argument scorer's input names the event type: ``Conflict:Attack`` → ``conflict attack : ``."""
    return " ".join(event_type.replace(":", " ").replace("-", " ").replace("_", " ").lower().split()) + " : "


def encode_pair(
    tokenizer: Any, text: str, head: Span, tail: Span, prefix: str = ""
) -> tuple[list[int], int, int]:
    """Token ids of ``prefix`` and the marked sentence, and the positions of the two opening marks.

    The input is cut to ``MAX_TOKENS``: a mark cut off falls back to the last token (a tweet or a news
    sentence is far shorter)."""
    sentence = prefix + marked(text, head, tail)
    encoding = tokenizer.encode(sentence)
    ids = list(encoding.ids[:MAX_TOKENS])
    head_at = tail_at = len(ids) - 1
    found_head = found_tail = False
    for i, (a, b) in enumerate(encoding.offsets[: len(ids)]):
        piece = sentence[a:b] if a >= len(prefix) else ""
        if piece == HEAD_MARKS[0] and not found_head:
            head_at, found_head = i, True
        elif piece == TAIL_MARKS[0] and not found_tail:
            tail_at, found_tail = i, True
    return ids, head_at, tail_at


def token_states(encoder: Any, rows: Sequence[list[int]]) -> tuple[Any, Any]:
    """The encoder's (rows, tokens, hidden) states of a padded batch of token id rows, and its mask."""
    import torch

    ids = torch.zeros(len(rows), max(len(row) for row in rows), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    device = next(encoder.parameters()).device
    ids, mask = ids.to(device), mask.to(device)
    return encoder(input_ids=ids, attention_mask=mask).last_hidden_state, mask


def mark_states(encoder: Any, encoded: Sequence[tuple[list[int], int, int]]) -> Any:
    """The encoder's states at the two opening marks of each ``encode_pair`` result, side by side: a
    (pairs, 2 × hidden) tensor (the scorer's head reads it, in tuning and in use alike)."""
    import torch

    states, _ = token_states(encoder, [ids for ids, _, _ in encoded])
    rows = torch.arange(len(encoded), device=states.device)
    heads = states[rows, torch.tensor([h for _, h, _ in encoded], device=states.device)]
    tails = states[rows, torch.tensor([t for _, _, t in encoded], device=states.device)]
    return torch.cat([heads, tails], -1)


def encode_text(tokenizer: Any, text: str) -> tuple[list[int], list[Span]]:
    """Token ids of ``text`` (cut to ``MAX_TOKENS``) and each token's character span; the special tokens
    have the empty span (0, 0)."""
    encoding = tokenizer.encode(text)
    return list(encoding.ids[:MAX_TOKENS]), [(a, b) for a, b in encoding.offsets[:MAX_TOKENS]]


def token_tags(offsets: Sequence[Span], mentions: Sequence[tuple[Span, str]]) -> list[str | None]:
    """BIO tags of the tokens at ``offsets`` for ``mentions`` (span, label); None for a special token.
    Of nested or overlapping mentions the longest wins (a tag sequence holds one layer)."""
    tags: list[str | None] = [None if b <= a else OUTSIDE for a, b in offsets]
    taken: list[Span] = []
    for span, label in sorted(mentions, key=lambda m: (m[0][0] - m[0][1], m[0][0])):
        if any(overlaps(span, other) for other in taken):
            continue
        taken.append(span)
        inside = [i for i, (a, b) in enumerate(offsets) if b > a and overlaps((a, b), span)]
        for n, i in enumerate(inside):
            tags[i] = f"{'I' if n else 'B'}-{label}"
    return tags


def tagged_spans(text: str, offsets: Sequence[Span], tags: Sequence[str]) -> list[tuple[Span, str]]:
    """The mentions (span, label) a BIO tag sequence marks, widened to whole words (mentions that meet in
    a word become one, of the first one's label); an ``I-`` tag that does not continue a mention of its
    label starts one."""
    found: list[tuple[Span, str]] = []
    current: list[Any] | None = None
    for (a, b), tag in zip(offsets, tags, strict=True):
        kind, _, label = tag.partition("-")
        if b > a and kind == "I" and current is not None and current[2] == label:
            current[1] = b
            continue
        if current is not None:
            found.append(((current[0], current[1]), current[2]))
            current = None
        if b > a and tag != OUTSIDE:
            current = [a, b, label]
    if current is not None:
        found.append(((current[0], current[1]), current[2]))
    widened: list[tuple[Span, str]] = []
    for (start, end), label in found:
        while start > 0 and text[start - 1].isalnum():
            start -= 1
        while end < len(text) and text[end].isalnum():
            end += 1
        if widened and widened[-1][0][1] > start:  # two pieces of one word: one mention
            (start, _), label = widened.pop()
        widened.append(((start, end), label))
    return widened


def tag_confidence(
    labels: Sequence[str], offsets: Sequence[Span], probs: npt.NDArray[np.float32], span: Span, label: str
) -> float:
    """How sure a tagger (its tag ``labels``, and its ``tag_probabilities`` of a text) is that ``span`` is
    a mention of ``label``: the highest ``P(B-label) + P(I-label)`` of its tokens; 0 for a label it does
    not tag."""
    if f"B-{label}" not in labels:
        return 0.0
    columns = [labels.index(f"B-{label}"), labels.index(f"I-{label}")]
    inside = [i for i, (a, b) in enumerate(offsets) if b > a and overlaps((a, b), span)]
    return max((float(probs[i, columns].sum()) for i in inside), default=0.0)


def overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@dataclass(frozen=True)
class ScorerConfig:
    """What ``scorer.json`` holds: the kind, the label order of the head (BIO tags for ``mentions``), the
    LoRA shape, the event types an argument scorer was tuned on (``contexts``), its decision rule (a label
    wins when it is the likeliest, ``none_below`` None, or when ``P(None) < none_below``), and the
    mentions tagger whose mentions a scorer scores beside the planner's entities (``candidates``: a
    folder, or the name of a folder beside the scorer's or of a shipped one). An argument scorer may name
    a trigger tagger as its ``events`` (found the same way): a planner's event whose trigger it tags as
    the event's type with less than ``event_floor`` is dropped, and an event it tags with at least
    ``event_add`` (None: none) is added. A mentions tagger that checks a NER answer (the
    ``entity_checker``) drops an entity it tags as its type with less than ``check_floor`` and adds
    a mention it tags with at least ``check_add``."""

    labels: list[str]
    lora_r: int
    lora_alpha: int
    target_modules: list[str]
    kind: str = "relations"
    contexts: list[str] = field(default_factory=list)
    none_below: float | None = None
    candidates: str | None = None
    events: str | None = None
    event_floor: float = 0.0
    event_add: float | None = None
    check_floor: float = 0.0
    check_add: float | None = None
    ends: dict[str, list[str]] = field(default_factory=dict)
    """The entity types a class's ends have most often in its training data: a relation's head and tail
    (``/per/per/couple``: person, person), an argument role's entity (one type)."""

    def knows(self, labels: LabelSchema) -> bool:
        """Relations: every requested relation type is one the scorer was tuned on. Arguments: every
        requested event type is, and so is at least one requested role. Mentions: every requested
        entity type is one it tags."""
        known = set(self.labels) - {NONE}
        if self.kind == "mentions":
            tagged = {label.partition("-")[2] for label in known - {OUTSIDE}}
            return bool(labels.entity_types) and set(labels.entity_types) <= tagged
        if self.kind == "relations":
            return bool(labels.relation_types) and set(labels.relation_types) <= known
        return (
            bool(labels.event_types)
            and set(labels.event_types) <= set(self.contexts)
            and bool(known & set(labels.argument_roles))
        )

    @classmethod
    def read(cls, folder: Path) -> ScorerConfig:
        try:
            data = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
            config = cls(
                labels=list(data["labels"]),
                lora_r=int(data["lora_r"]),
                lora_alpha=int(data["lora_alpha"]),
                target_modules=list(data["target_modules"]),
                kind=str(data.get("kind", "relations")),
                contexts=list(data.get("contexts", [])),
                none_below=None if data.get("none_below") is None else float(data["none_below"]),
                candidates=None if data.get("candidates") is None else str(data["candidates"]),
                events=None if data.get("events") is None else str(data["events"]),
                event_floor=float(data.get("event_floor", 0.0)),
                event_add=None if data.get("event_add") is None else float(data["event_add"]),
                check_floor=float(data.get("check_floor", 0.0)),
                check_add=None if data.get("check_add") is None else float(data["check_add"]),
                ends={str(k): [str(t) for t in v] for k, v in data.get("ends", {}).items()},
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"No pair scorer at {str(folder)!r} ({CONFIG_FILE} and {WEIGHTS_FILE}, as "
                f"`reamo finetune` writes them): {exc}. Set refiner_options.relations.scorer (or "
                "arguments.scorer, entities.scorer) = 'none' to keep the planner's own records."
            ) from exc
        if config.kind not in KINDS:
            raise ConfigError(
                f"{folder / CONFIG_FILE}: kind is {config.kind!r}; use one of {', '.join(KINDS)}."
            )
        return config

    def write(self, folder: Path, **extra: Any) -> None:
        unset: dict[str, Any] = dict(
            candidates=None,
            events=None,
            event_floor=0.0,
            event_add=None,
            check_floor=0.0,
            check_add=None,
            ends={},
        )
        body = {**extra, **{k: v for k, v in self.__dict__.items() if k not in unset or v != unset[k]}}
        (folder / CONFIG_FILE).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


def lora_targets(model: Any, target_modules: Sequence[str]) -> list[str]:
    """Names of the linear layers of ``model`` whose last name part is one of ``target_modules`` (peft's
    rule), in module order."""
    import torch

    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and name.split(".")[-1] in target_modules
    ]


def load_minilm() -> Any:
    """all-MiniLM-L6-v2 from its package as a transformers ``BertModel`` without the pooler (the scorer
    reads token states), quietly: the load report would list the pooler's unused weights."""
    from transformers import BertModel
    from transformers.utils import logging

    from reamo.tools.vision.embedder import model_dir

    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        return BertModel.from_pretrained(str(model_dir()), add_pooling_layer=False)
    finally:
        logging.set_verbosity(verbosity)
        logging.enable_progress_bar()  # type: ignore[no-untyped-call]


class PairScorer:
    """A tuned scorer: ``relate`` for the ``relations`` kind, ``arguments`` for the ``arguments`` kind,
    ``mentions`` for the ``mentions`` kind."""

    def __init__(
        self, folder: Path, *, threads: int | None = None, resources: Resources | None = None
    ) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        from reamo.tools.vision.embedder import MiniLMEncoder, load_weights, model_dir

        self.folder = folder
        self.config = ScorerConfig.read(folder)
        try:
            weights = load_file(str(folder / WEIGHTS_FILE))
        except OSError as exc:
            raise ConfigError(f"Can't read the pair scorer's weights in {str(folder)!r}: {exc}.") from exc
        self.resources = resources if resources is not None else Resources()
        self.tokenizer: Any = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        base = self.resources.get(ENCODER_KEY, load_weights)
        self.encoder = MiniLMEncoder(merged_weights(base, weights, self.config))
        self.head_weight: Array = weights["head.weight"].astype(np.float32)
        self.head_bias: Array = weights["head.bias"].astype(np.float32)
        self.labels = self.config.labels
        self.kind = self.config.kind
        self.threads = threads
        self._linked: dict[str, PairScorer] = {}

    def tagger(self) -> PairScorer | None:
        """The mentions tagger a scorer names as its ``candidates``, loaded on first use."""
        return self._linked_tagger("candidates", "score the planner's entities alone")

    def event_tagger(self) -> PairScorer | None:
        """The trigger tagger an argument scorer names as its ``events``, loaded on first use."""
        return self._linked_tagger("events", "keep all the planner's events")

    def _linked_tagger(self, setting: str, otherwise: str) -> PairScorer | None:
        name = getattr(self.config, setting)
        if name is None:
            return None
        if setting not in self._linked:
            folder = scorer_folder(
                name,
                f"or remove {setting} from {self.folder / CONFIG_FILE} to {otherwise}",
                beside=self.folder.parent,
            )
            tagger = load_scorer(folder, self.resources, threads=self.threads)
            if tagger.kind != "mentions":
                raise ConfigError(
                    f"{self.folder / CONFIG_FILE}: {setting} names {str(folder)!r}, a {tagger.kind} "
                    f"scorer; name a mentions tagger, or remove the setting to {otherwise}."
                )
            self._linked[setting] = tagger
        return self._linked[setting]

    def tag_probabilities(self, text: str) -> tuple[list[Span], npt.NDArray[np.float32]]:
        """Each token's character span in ``text`` and its (tokens, tags) softmax probabilities, in the
        order of ``self.labels`` (a tagger's)."""
        ids, offsets = encode_text(self.tokenizer, text)
        states = self._states([ids])
        return offsets, _softmax(states[0] @ self.head_weight.T + self.head_bias)

    def _states(self, rows: Sequence[list[int]]) -> Array:
        """The encoder's (rows, tokens, hidden) states of a batch of token id rows, padded with zeros."""
        from threadpoolctl import threadpool_limits

        ids = np.zeros((len(rows), max(len(row) for row in rows)), dtype=np.int64)
        mask = np.zeros(ids.shape, dtype=np.float32)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
        with threadpool_limits(self.threads):
            return self.encoder.states(ids, mask)

    def mentions(self, text: str) -> list[tuple[str, str, Span]]:
        """The mentions (text, label, span) the tagger finds in ``text``: its likeliest tag of each token."""
        offsets, probs = self.tag_probabilities(text)
        tags = [self.labels[k] for k in probs.argmax(-1).tolist()]
        return [(text[a:b], label, (a, b)) for (a, b), label in tagged_spans(text, offsets, tags)]

    def knows(self, labels: LabelSchema) -> bool:
        """Whether ``labels`` are ones the scorer was tuned on (``ScorerConfig.knows``)."""
        return self.config.knows(labels)

    def probabilities(
        self, text: str, pairs: Sequence[tuple[Span, Span]], prefixes: Sequence[str] | None = None
    ) -> npt.NDArray[np.float32]:
        """(pairs, labels) softmax probabilities, in the order of ``self.labels``; ``prefixes`` (one a
        pair) go before the marked text."""
        if not pairs:
            return np.zeros((0, len(self.labels)), np.float32)
        before = prefixes or [""] * len(pairs)
        encoded = [
            encode_pair(self.tokenizer, text, head, tail, prefix)
            for (head, tail), prefix in zip(pairs, before, strict=True)
        ]
        states = self._states([ids for ids, _, _ in encoded])
        rows = np.arange(len(encoded))
        heads = states[rows, [h for _, h, _ in encoded]]
        tails = states[rows, [t for _, _, t in encoded]]
        return _softmax(np.concatenate([heads, tails], -1) @ self.head_weight.T + self.head_bias)

    def _allowed(self, allowed: Sequence[str]) -> npt.NDArray[np.bool_]:
        """Which of ``self.labels`` may be picked: those of ``allowed``, never ``None``."""
        return np.array([label != NONE and label in set(allowed) for label in self.labels])

    def _choose(self, row: npt.NDArray[np.float32], ok: npt.NDArray[np.bool_]) -> tuple[str, float] | None:
        """The label a probability row picks among the ``ok`` ones, and its probability; None for ``None``."""
        if not ok.any():
            return None
        best = int(np.argmax(np.where(ok, row, -1.0)))
        none = float(row[self.labels.index(NONE)])
        wins = none < self.config.none_below if self.config.none_below is not None else row[best] > none
        return (self.labels[best], float(row[best])) if wins else None

    def choose_among(self, row: npt.NDArray[np.float32], allowed: Sequence[str]) -> tuple[str, float] | None:
        """The label a probability row picks among ``allowed`` by the scorer's own rule; None for ``None``."""
        return self._choose(row, self._allowed(allowed))

    def relate(
        self, text: str, entities: Sequence[tuple[str, Span]], allowed: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Planned relations (``head``, ``label``, ``tail`` as entity texts) among ``entities`` (text and
        span in ``text``): each ordered pair gets its likeliest type of ``allowed`` when that wins over
        ``None``. The surest relations come first."""
        pairs = entity_pairs(entities)
        probs = self.probabilities(text, [(a[1], b[1]) for a, b in pairs])
        ok = self._allowed(allowed)
        return surest_relations(pairs, probs, lambda row: self._choose(row, ok))

    def arguments(
        self,
        text: str,
        entities: Sequence[tuple[str, Span]],
        trigger: Span,
        event_type: str,
        allowed: Sequence[str],
    ) -> list[dict[str, Any]]:
        """Planned arguments (``text``, ``role``) of one event: each of ``entities`` not on the trigger
        gets its likeliest role of ``allowed`` when that wins over ``None``."""
        candidates = [entity for entity in entities if not overlaps(entity[1], trigger)]
        prefix = context_prefix(event_type)
        probs = self.probabilities(
            text, [(span, trigger) for _, span in candidates], [prefix] * len(candidates)
        )
        ok = self._allowed(allowed)
        return chosen_arguments(candidates, probs, lambda row: self._choose(row, ok))


Entity = tuple[str, Span]
Choose = Callable[[Array], tuple[str, float] | None]
"""A scorer's decision on a pair's probability row: its label and probability, or None for none."""


def entity_pairs(entities: Sequence[Entity]) -> list[tuple[Entity, Entity]]:
    """Every ordered pair of two ``entities`` that do not overlap: the pairs a relation scorer scores."""
    return [(a, b) for a in entities for b in entities if a is not b and not overlaps(a[1], b[1])]


def surest_relations(
    pairs: Sequence[tuple[Entity, Entity]], probs: Array, choose: Choose
) -> list[dict[str, Any]]:
    """The relations (``head``, ``label``, ``tail`` as entity texts) ``choose`` takes from each pair's
    probability row, the surest first."""
    found = []
    for (head, tail), row in zip(pairs, probs, strict=True):
        chosen = choose(row)
        if chosen is not None:
            found.append((chosen[1], {"head": head[0], "label": chosen[0], "tail": tail[0]}))
    found.sort(key=lambda item: -item[0])
    return [relation for _, relation in found]


def chosen_arguments(candidates: Sequence[Entity], probs: Array, choose: Choose) -> list[dict[str, Any]]:
    """The arguments (``text``, ``role``) ``choose`` takes from each candidate's probability row."""
    found = []
    for (name, _), row in zip(candidates, probs, strict=True):
        chosen = choose(row)
        if chosen is not None:
            found.append({"text": name, "role": chosen[0]})
    return found


def _softmax(logits: Array) -> Array:
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    probs: Array = (shifted / shifted.sum(-1, keepdims=True)).astype(np.float32)
    return probs


def merged_weights(
    base: Mapping[str, Array], weights: Mapping[str, Any], config: ScorerConfig
) -> dict[str, Array]:
    """MiniLM's weights (``base``) with each tuned ``scale * B @ A`` added to its linear layer's weight, as
    ``merge_lora`` adds them to a torch model; the arrays LoRA leaves alone are ``base``'s own, not copies."""
    from threadpoolctl import threadpool_limits

    scale = np.float32(config.lora_alpha / config.lora_r)
    names = [
        key.removesuffix(".weight")
        for key in base
        if key.startswith("encoder.")  # the pooler is not part of the scorer's model
        and key.endswith(".weight")
        and base[key].ndim == 2  # a linear layer's (LayerNorm weights are vectors)
        and key.split(".")[-2] in config.target_modules
    ]
    missing = [name for name in names if f"lora.{name}.A" not in weights]
    if missing:
        raise ConfigError(
            f"The pair scorer's weights lack LoRA factors for {', '.join(missing[:3])}: "
            "rebuild it with `reamo finetune`."
        )
    merged = dict(base)
    with threadpool_limits(1):  # rank-r products: a second BLAS thread only waits (10x slower on 2 cores)
        for name in names:
            a = np.asarray(weights[f"lora.{name}.A"], dtype=np.float32)
            b = np.asarray(weights[f"lora.{name}.B"], dtype=np.float32)
            merged[f"{name}.weight"] = (base[f"{name}.weight"] + scale * (b @ a)).astype(np.float32)
    return merged


def merge_lora(model: Any, weights: dict[str, Any], config: ScorerConfig) -> None:
    """Adds each tuned ``scale * B @ A`` to its base weight (``lora.<module>.A`` / ``.B`` in ``weights``)."""
    import torch

    scale = config.lora_alpha / config.lora_r
    modules = dict(model.named_modules())
    names = lora_targets(model, config.target_modules)
    missing = [name for name in names if f"lora.{name}.A" not in weights]
    if missing:
        raise ConfigError(
            f"The pair scorer's weights lack LoRA factors for {', '.join(missing[:3])}: "
            "rebuild it with `reamo finetune`."
        )
    with torch.no_grad():
        for name in names:
            a, b = weights[f"lora.{name}.A"].float(), weights[f"lora.{name}.B"].float()
            modules[name].weight += scale * (b @ a)


DEFAULT_SCORERS = {
    "re": ("reamo-universal-minilm",),
    "ee": ("reamo-universal-minilm",),
    "ner": ("reamo-universal-minilm",),
}
"""The shipped scorer of each task: the universal one (``agent/universal.py``), which reads the request's
labels as text and so serves every label set. The per-dataset scorers tuned before it (MNRE's
relations, M2E2's arguments and triggers, the four NER types, WNUT's six) still ship beside it for
their own label strings; ``refiner_options.relations.scorer``, ``arguments.scorer`` and
``entities.scorer`` name them, or others."""
OPTIONS = {
    "re": "refiner_options.relations.scorer",
    "ee": "refiner_options.arguments.scorer",
    "ner": "refiner_options.entities.scorer",
}


def scorer_folder(name: str, otherwise: str, *, beside: Path | None = None) -> Path:
    """The scorer folder ``name`` names: a folder, a folder of that name in ``beside``, or a shipped one;
    a ConfigError that lists the shipped ones and ends with ``otherwise`` when there is none."""
    from reamo.agent.planners.embedded import adapters_dir

    places = [Path(name), *([beside / name] if beside is not None else []), adapters_dir() / name]
    found = next((path for path in places if (path / CONFIG_FILE).is_file()), None)
    if found is None:
        shipped = ", ".join(p.parent.name for p in sorted(adapters_dir().glob(f"*/{CONFIG_FILE}")))
        raise ConfigError(
            f"No pair scorer at {name!r} (a folder with {CONFIG_FILE}). Shipped scorers: "
            f"{shipped or 'none'}; {otherwise}."
        )
    return found


def find_scorers(
    task: str,
    choice: str | Path | Sequence[str | Path] | None = None,
    *,
    option: str | None = None,
    shipped: Mapping[str, Sequence[str]] = DEFAULT_SCORERS,
) -> list[Path]:
    """The ``task`` scorer folders ``choice`` names (a folder or a name under the shipped adapters, or a
    list of them), the installed ``shipped`` ones of ``task`` when ``choice`` is None, or none for
    ``"none"``; ``option`` is the setting that chose, for messages."""
    from reamo.agent.planners.embedded import adapters_dir

    if choice is None:
        folders = [adapters_dir() / name for name in shipped[task]]
        return [folder for folder in folders if (folder / CONFIG_FILE).is_file()]
    setting = option or OPTIONS[task]
    names: list[Any] = list(choice) if isinstance(choice, (list, tuple)) else [choice]
    if not all(isinstance(name, (str, Path)) for name in names):
        raise ConfigError(
            f"{setting} is {choice!r}; give a scorer's name or folder, a list of them, or 'none'."
        )
    return [scorer_folder(str(name), f"or set {setting} = 'none'") for name in names if name != "none"]


def scorer_key(folder: Path) -> str:
    """The ``Resources`` key of the scorer in ``folder``."""
    return f"planner.scorer:{folder.resolve()}"


def load_scorer(folder: Path, resources: Resources, *, threads: int | None = None) -> PairScorer:
    """The scorer in ``folder``, built once per ``resources`` (a tagger two scorers name loads once)."""
    scorer: PairScorer = resources.get(
        scorer_key(folder), lambda: PairScorer(folder, threads=threads, resources=resources)
    )
    return scorer


class Scorers:
    """One task's pair scorers, in order: a request gets the first that knows its labels
    (``ScorerConfig.knows``), loaded on first use into ``resources``."""

    def __init__(
        self, folders: Sequence[Path], *, threads: int | None = None, resources: Resources | None = None
    ) -> None:
        self.configs = [(folder, ScorerConfig.read(folder)) for folder in folders]
        self.threads = threads
        self.resources = resources if resources is not None else Resources()

    def for_labels(self, labels: LabelSchema) -> PairScorer | None:
        folder = next((folder for folder, config in self.configs if config.knows(labels)), None)
        if folder is None:
            return None
        return load_scorer(folder, self.resources, threads=self.threads)


def left_to_scorer(schema: dict[str, Any], kind: str) -> dict[str, Any]:
    """A copy of an answer schema in which the planner writes nothing that a ``kind`` scorer replaces:
    no relations (``relations``) or no event arguments (``arguments``)."""
    left = copy.deepcopy(schema)
    props = left.get("properties", {})
    if kind == "relations" and "relations" in props:
        props["relations"]["maxItems"] = 0
    arguments = props.get("events", {}).get("items", {}).get("properties", {}).get("arguments")
    if kind == "arguments" and isinstance(arguments, dict):
        arguments["maxItems"] = 0
    return left
