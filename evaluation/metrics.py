"""Scoring of the MUIE benchmark (``BENCHMARK.md``, the paper's appendix C): pure functions over plain inputs.

Extraction (NER, RE, EE) is scored by micro precision, recall and F1 over matched keys; grounding by mean
IoU of Hungarian-paired masks (I-Seg), time intervals (A-Seg) and tracks (V-Trck J). Per-instance
functions return a ``PRF`` or a ``Mean``; both add up, so a suite score is ``sum(per_instance, PRF())``.
Arguments come gold first, then prediction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

from reamo import masks
from reamo.agent.spans import normalise
from reamo.masks import box_iou
from reamo.schemas import (
    RLE,
    AudioSpan,
    Box,
    Entity,
    Event,
    ImageRegion,
    Relation,
    TextSpan,
    Trigger,
    VideoTrack,
)

__all__ = [
    "PRF",
    "ArgumentKey",
    "EntityKey",
    "IEKeys",
    "IEScores",
    "Interval",
    "KeyedEntity",
    "Locator",
    "Mask",
    "Mean",
    "Region",
    "RelationKey",
    "Track",
    "TriggerKey",
    "box_iou",
    "gold_entity",
    "gold_keys",
    "interval_iou",
    "mention_keys",
    "predicted_keys",
    "predicted_mentions",
    "region_iou",
    "score_aseg",
    "score_choices",
    "score_ie",
    "score_iseg",
    "score_keys",
    "score_vtrck",
    "seen_regions",
    "track_jaccard",
]

K = TypeVar("K", bound=Hashable)

Span = tuple[int, int]
Locator = Span | str
"""Where a mention is: its ``[start, end)`` character span, or its normalised surface text."""
EntityKey = tuple[str, Locator]
"""``(label, locator)``: the benchmark's entity key."""
TriggerKey = tuple[str, Locator]
"""``(event type, trigger locator)``: the ET key."""
RelationKey = tuple[EntityKey, EntityKey, str]
"""``(head key, tail key, relation label)``: the RE key."""
ArgumentKey = tuple[str, str, EntityKey]
"""``(event type, role, argument entity key)``: the EA key."""

Mask = npt.NDArray[Any] | Mapping[str, object] | RLE
"""A binary mask: a 2-D array (non-zero = object) or a COCO RLE, as a mapping or ``reamo.schemas.RLE``."""
Region = Mask | Box
"""A mask, or a box ``(x0, y0, x1, y1)`` standing in for one."""
Interval = tuple[float, float]
"""A time interval ``[start, end)`` in seconds."""
Track = Mapping[int, Region]
"""An object through a video: its region on each frame index where it is visible."""


# --------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------


def _percent(x: float) -> float:
    return round(100.0 * x, 1)


@dataclass(frozen=True)
class PRF:
    """Match counts and the precision, recall and F1 they give; ``+`` pools counts (micro averaging).

    With nothing predicted precision is 0, with nothing gold recall is 0; a suite with neither scores 0
    everywhere, as the paper's tables print it, and ``n_pred == n_gold == 0`` tells a caller why.
    """

    tp: int = 0
    n_pred: int = 0
    n_gold: int = 0

    def __post_init__(self) -> None:
        if min(self.tp, self.n_pred, self.n_gold) < 0 or self.tp > min(self.n_pred, self.n_gold):
            raise ValueError(f"impossible counts {self!r}: need 0 <= tp <= min(n_pred, n_gold)")

    def __add__(self, other: PRF) -> PRF:
        return PRF(self.tp + other.tp, self.n_pred + other.n_pred, self.n_gold + other.n_gold)

    @property
    def precision(self) -> float:
        return self.tp / self.n_pred if self.n_pred else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.n_gold if self.n_gold else 0.0

    @property
    def f1(self) -> float:
        denominator = self.n_pred + self.n_gold
        return 2 * self.tp / denominator if denominator else 0.0

    def scaled(self) -> dict[str, float]:
        """Precision, recall and F1 ×100 with one decimal, as in the paper's tables."""
        return {
            "precision": _percent(self.precision),
            "recall": _percent(self.recall),
            "f1": _percent(self.f1),
        }

    def __str__(self) -> str:
        s = self.scaled()
        return (
            f"P {s['precision']:.1f} R {s['recall']:.1f} F1 {s['f1']:.1f} "
            f"(tp {self.tp}, pred {self.n_pred}, gold {self.n_gold})"
        )


@dataclass(frozen=True)
class Mean:
    """A running mean (a sum of scores in [0, 1] and how many); ``+`` pools them. Empty means 0."""

    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        if self.count < 0 or not 0.0 <= self.total <= self.count + 1e-9:
            raise ValueError(f"impossible mean {self!r}: need 0 <= total <= count")

    def __add__(self, other: Mean) -> Mean:
        return Mean(self.total + other.total, self.count + other.count)

    @property
    def value(self) -> float:
        return self.total / self.count if self.count else 0.0

    def scaled(self) -> float:
        """The mean ×100 with one decimal, as in the paper's tables."""
        return _percent(self.value)

    def __str__(self) -> str:
        return f"{self.scaled():.1f} (n {self.count})"


# --------------------------------------------------------------------------
# Keys of extraction records
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyedEntity:
    """One mention to score: its label (entity type, or event type for a trigger), text and span."""

    label: str
    text: str
    span: Span | None = None

    def key(self, *, has_text: bool) -> EntityKey:
        """``(label, span)`` with text input and a span, else ``(label, normalised text)`` (BENCHMARK.md)."""
        if has_text and self.span is not None:
            return (self.label, self.span)
        return (self.label, normalise(self.text))


def _span(value: Any, where: str) -> Span | None:
    if value is None:
        return None
    if not isinstance(value, Sequence) or len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{where}: text_span must be [start, end) integer offsets, got {value!r}")
    start, end = int(value[0]), int(value[1])
    if not 0 <= start <= end:
        raise ValueError(f"{where}: text_span {value!r} needs 0 <= start <= end")
    return (start, end)


def gold_entity(entity: Mapping[str, Any], label: str | None = None) -> KeyedEntity:
    """A gold entity (or, with ``label`` the event type, a trigger) of the suite format as a mention."""
    where = f"gold entity {entity.get('id', entity.get('text'))!r}"
    if label is None:
        if "label" not in entity:
            raise ValueError(f"{where} has no 'label': every gold entity needs one (BENCHMARK.md)")
        label = str(entity["label"])
    span = _span(entity.get("text_span"), where)
    text = entity.get("text")
    if not isinstance(text, str) and span is None:
        raise ValueError(f"{where} has neither 'text' nor 'text_span': give at least one")
    return KeyedEntity(label=label, text=text if isinstance(text, str) else "", span=span)


def predicted_mentions(record: Entity | Trigger, label: str | None = None) -> list[KeyedEntity]:
    """A predicted entity (or trigger, ``label`` its event type) as mentions: one per ``TextSpan``.

    The agent grounds a record at every occurrence of its text, so each TextSpan is a mention of its own;
    a record with none is a single span-less mention, keyed by its text.
    """
    if label is None:
        if not isinstance(record, Entity):
            raise TypeError("a trigger has no label of its own: pass its event type as label")
        label = record.label
    spans = [(g.start, g.end) for g in record.groundings if isinstance(g, TextSpan)]
    if not spans:
        return [KeyedEntity(label=label, text=record.text)]
    return [KeyedEntity(label=label, text=record.text, span=s) for s in spans]


def mention_keys(mentions: Iterable[KeyedEntity], *, has_text: bool) -> list[EntityKey]:
    """The distinct keys of some mentions, first occurrence first (without text they all collapse to one)."""
    return list(dict.fromkeys(m.key(has_text=has_text) for m in mentions))


def _count(grounding: Any) -> int:
    """How many regions a gold ``image`` or ``video`` value holds: none, one, or a list of them."""
    if grounding is None:
        return 0
    return len(grounding) if isinstance(grounding, list) else 1


def seen_regions(entity: Entity | Mapping[str, Any]) -> int:
    """How many times a seen-only entity counts: once per region it is grounded on (image regions and
    video tracks), in the prediction and in the gold alike, so "dog" found on three regions is three
    mentions wherever it was written down as one record. An entity with a text span or a time in the
    speech is written or heard, not seen only: it counts by its mentions there, and this is 0; so is a
    seen-only entity grounded nowhere, which counts once."""
    if isinstance(entity, Entity):
        if any(isinstance(g, TextSpan | AudioSpan) for g in entity.groundings):
            return 0
        return sum(isinstance(g, ImageRegion | VideoTrack) for g in entity.groundings)
    if entity.get("text_span") is not None or entity.get("audio") is not None:
        return 0
    return _count(entity.get("image")) + _count(entity.get("video"))


def _ner_keys(entity: Entity, keys: list[EntityKey]) -> list[EntityKey]:
    """An entity's NER keys: one per distinct mention, repeated once per region when it is seen only."""
    return keys * max(1, seen_regions(entity))


@dataclass(frozen=True)
class IEKeys:
    """The scoring keys of one instance's records.

    Each item is the set of keys it may match as: a gold item has exactly one; a predicted relation,
    trigger or argument whose entity is mentioned several times has one per mention, and counts as one
    prediction that is correct when any of them matches (``score_choices``). Entities are scored per
    mention, so each of their keys is an item of its own; a seen-only entity's key is one item per
    region it is grounded on (``seen_regions``), in the gold as in the prediction.
    """

    entities: tuple[frozenset[EntityKey], ...] = ()
    relations: tuple[frozenset[RelationKey], ...] = ()
    triggers: tuple[frozenset[TriggerKey], ...] = ()
    arguments: tuple[frozenset[ArgumentKey], ...] = ()


def gold_keys(gold: Mapping[str, Any], *, has_text: bool) -> IEKeys:
    """The keys of a suite instance's ``gold`` object; ``has_text`` is whether its inputs include text."""
    by_id: dict[str, EntityKey] = {}
    entities: list[frozenset[EntityKey]] = []
    for entity in gold.get("entities") or []:
        key = gold_entity(entity).key(has_text=has_text)
        entities += [frozenset([key])] * max(1, seen_regions(entity))
        if "id" in entity:
            by_id[str(entity["id"])] = key

    def ref(entity_id: str, where: str) -> EntityKey:
        if entity_id not in by_id:
            raise ValueError(
                f"{where} refers to entity {entity_id!r}; gold entity ids: {sorted(by_id) or 'none'}"
            )
        return by_id[entity_id]

    relations = [
        frozenset([(ref(r["head"], "gold relation"), ref(r["tail"], "gold relation"), str(r["label"]))])
        for r in gold.get("relations") or []
    ]
    triggers: list[frozenset[TriggerKey]] = []
    arguments: list[frozenset[ArgumentKey]] = []
    for event in gold.get("events") or []:
        etype = str(event["type"])
        triggers.append(frozenset([gold_entity(event["trigger"], label=etype).key(has_text=has_text)]))
        arguments += [
            frozenset([(etype, str(a["role"]), ref(a["entity"], f"gold {etype} argument"))])
            for a in event.get("arguments") or []
        ]
    return IEKeys(tuple(entities), tuple(relations), tuple(triggers), tuple(arguments))


def predicted_keys(
    entities: Sequence[Entity],
    relations: Sequence[Relation] = (),
    events: Sequence[Event] = (),
    *,
    has_text: bool,
) -> IEKeys:
    """The keys of predicted records (an ``ExtractionResult``'s entities, relations and events)."""
    records = {e.id: e for e in entities}
    by_id = {i: mention_keys(predicted_mentions(e), has_text=has_text) for i, e in records.items()}

    def ref(entity_id: str, where: str) -> list[EntityKey]:
        if entity_id not in by_id:
            raise ValueError(
                f"{where} refers to entity {entity_id!r}; predicted ids: {sorted(by_id) or 'none'}"
            )
        return by_id[entity_id]

    relation_keys = [
        frozenset((h, t, r.label) for h in ref(r.head, "relation") for t in ref(r.tail, "relation"))
        for r in relations
    ]
    triggers = [
        frozenset(mention_keys(predicted_mentions(ev.trigger, label=ev.type), has_text=has_text))
        for ev in events
    ]
    arguments = [
        frozenset((ev.type, a.role, k) for k in ref(a.entity, f"event {ev.id} argument"))
        for ev in events
        for a in ev.arguments
    ]
    return IEKeys(
        entities=tuple(frozenset([k]) for i, e in records.items() for k in _ner_keys(e, by_id[i])),
        relations=tuple(relation_keys),
        triggers=tuple(triggers),
        arguments=tuple(arguments),
    )


# --------------------------------------------------------------------------
# Matching and P/R/F1
# --------------------------------------------------------------------------


def _assignment_total(scores: npt.NDArray[np.float64]) -> float:
    """The largest sum of a one-to-one pairing of rows and columns (Hungarian algorithm)."""
    if scores.size == 0:
        return 0.0
    rows, cols = linear_sum_assignment(scores, maximize=True)
    return float(scores[rows, cols].sum())


def score_keys(gold: Iterable[K], pred: Iterable[K]) -> PRF:
    """Keys matched as multisets: each gold key can be matched by one predicted key."""
    gold_counts, pred_counts = Counter(gold), Counter(pred)
    tp = sum((gold_counts & pred_counts).values())
    return PRF(tp=tp, n_pred=sum(pred_counts.values()), n_gold=sum(gold_counts.values()))


def score_choices(gold: Iterable[K], pred: Iterable[Collection[K]]) -> PRF:
    """Each prediction is a set of keys it may match as; the most one-to-one matches count as correct."""
    gold_list, pred_list = list(gold), [frozenset(p) for p in pred]
    if all(len(p) == 1 for p in pred_list):
        return score_keys(gold_list, (next(iter(p)) for p in pred_list))
    matches = np.array([[g in p for g in gold_list] for p in pred_list], dtype=np.float64)
    tp = round(_assignment_total(matches.reshape(len(pred_list), len(gold_list))))
    return PRF(tp=tp, n_pred=len(pred_list), n_gold=len(gold_list))


def _flatten_gold(items: Iterable[frozenset[K]], what: str) -> list[K]:
    out: list[K] = []
    for item in items:
        if len(item) != 1:
            raise ValueError(f"a gold {what} must have exactly one key, got {sorted(map(repr, item))}")
        out += item
    return out


@dataclass(frozen=True)
class IEScores:
    """NER, RE, ET and EA counts of one instance or, added up, of a suite."""

    ner: PRF = field(default_factory=PRF)
    re: PRF = field(default_factory=PRF)
    et: PRF = field(default_factory=PRF)
    ea: PRF = field(default_factory=PRF)

    def __add__(self, other: IEScores) -> IEScores:
        return IEScores(self.ner + other.ner, self.re + other.re, self.et + other.et, self.ea + other.ea)

    def scaled(self) -> dict[str, dict[str, float]]:
        return {
            "ner": self.ner.scaled(),
            "re": self.re.scaled(),
            "et": self.et.scaled(),
            "ea": self.ea.scaled(),
        }


def score_ie(gold: IEKeys, pred: IEKeys) -> IEScores:
    """One instance's NER (entity), RE (head, tail, label), ET (type, trigger), EA (type, role, argument)."""
    return IEScores(
        ner=score_choices(_flatten_gold(gold.entities, "entity"), pred.entities),
        re=score_choices(_flatten_gold(gold.relations, "relation"), pred.relations),
        et=score_choices(_flatten_gold(gold.triggers, "trigger"), pred.triggers),
        ea=score_choices(_flatten_gold(gold.arguments, "argument"), pred.arguments),
    )


# --------------------------------------------------------------------------
# Regions, intervals and tracks
# --------------------------------------------------------------------------

_Prepared = npt.NDArray[np.bool_] | Box


def _prepare(region: Region) -> _Prepared:
    """A region as a boolean mask or a float box, each RLE decoded once."""
    if isinstance(region, np.ndarray):
        if region.ndim != 2:
            raise ValueError(f"a mask must be a 2-D array (H, W), got shape {region.shape}")
        return np.asarray(region, dtype=np.bool_)
    if isinstance(region, RLE):
        return masks.decode({"size": list(region.size), "counts": region.counts})
    if isinstance(region, Mapping):
        return masks.decode(region)
    if isinstance(region, Sequence) and len(region) == 4:
        x0, y0, x1, y1 = (float(v) for v in region)
        if x1 < x0 or y1 < y0:
            raise ValueError(
                f"box {tuple(region)} has x1 < x0 or y1 < y0: boxes are (x0, y0, x1, y1) corners"
            )
        return (x0, y0, x1, y1)
    raise TypeError(f"a region is a 2-D mask array, a COCO RLE or an (x0, y0, x1, y1) box, got {region!r}")


def _is_empty(region: _Prepared) -> bool:
    if isinstance(region, np.ndarray):
        return not region.any()
    return region[2] <= region[0] or region[3] <= region[1]


def _rasterise(box: Box, like: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """A box as a mask of ``like``'s size, pixels whose centre is inside (``masks.from_box``)."""
    return masks.decode(masks.from_box(box, like.shape[0], like.shape[1]))


def _iou(a: _Prepared, b: _Prepared) -> float:
    if isinstance(a, np.ndarray):
        if not isinstance(b, np.ndarray):
            b = _rasterise(b, a)
    elif isinstance(b, np.ndarray):
        a = _rasterise(a, b)
    else:
        return box_iou(a, b)
    if a.shape != b.shape:
        raise ValueError(f"masks of different sizes {a.shape} and {b.shape} cannot be compared")
    union = int(np.count_nonzero(a | b))
    return int(np.count_nonzero(a & b)) / union if union else 0.0


def region_iou(a: Region, b: Region) -> float:
    """IoU of two masks, two boxes (by area) or a mask and a box (rasterised); 0 when both are empty."""
    return _iou(_prepare(a), _prepare(b))


def interval_iou(a: Interval, b: Interval) -> float:
    """IoU of two time intervals ``[start, end)``; 0 when both are empty."""
    for start, end in (a, b):
        if end < start:
            raise ValueError(f"interval ({start}, {end}) ends before it starts")
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def _paired_mean(scores: npt.NDArray[np.float64]) -> Mean:
    """One instance's score: Hungarian-matched scores over max(rows, cols) pairs, the rest padded with 0."""
    n = max(scores.shape)
    return Mean(_assignment_total(scores) / n, 1) if n else Mean()


def score_iseg(gold: Sequence[Region], pred: Sequence[Region]) -> Mean:
    """I-Seg of one instance: mean IoU of Hungarian-paired regions, the shorter list padded with empty ones.

    Returns a one-instance ``Mean`` (an instance with no region on either side returns ``Mean()`` and does
    not count), so that the suite score, the mean over instances, is the sum of these.
    """
    g, p = [_prepare(r) for r in gold], [_prepare(r) for r in pred]
    return _paired_mean(
        np.array([[_iou(a, b) for b in p] for a in g], dtype=np.float64).reshape(len(g), len(p))
    )


def score_aseg(gold: Sequence[Interval], pred: Sequence[Interval]) -> Mean:
    """A-Seg of one instance: ``score_iseg`` with time intervals."""
    scores = np.array([[interval_iou(a, b) for b in pred] for a in gold], dtype=np.float64)
    return _paired_mean(scores.reshape(len(gold), len(pred)))


_PreparedTrack = dict[int, _Prepared]


def _prepare_track(track: Track) -> _PreparedTrack:
    """A track's non-empty frames, decoded."""
    prepared = {int(f): _prepare(r) for f, r in track.items()}
    return {f: r for f, r in prepared.items() if not _is_empty(r)}


def _jaccard(gold: _PreparedTrack, pred: _PreparedTrack, frames: Sequence[int] | None) -> float:
    scored = sorted(gold.keys() | pred.keys()) if frames is None else frames
    if not scored:
        return 0.0
    total = 0.0
    for f in scored:
        a, b = gold.get(f), pred.get(f)
        if a is None or b is None:
            total += 1.0 if a is None and b is None else 0.0
        else:
            total += _iou(a, b)
    return total / len(scored)


def track_jaccard(gold: Track, pred: Track, frames: Iterable[int] | None = None) -> float:
    """Mean per-frame Jaccard of two tracks over ``frames`` (default: where either has something).

    A frame where one track is empty and the other not scores 0, both empty scores 1; with no frame to
    score (two empty tracks, no ``frames``) the result is 0, as for two empty masks.
    """
    return _jaccard(_prepare_track(gold), _prepare_track(pred), None if frames is None else list(frames))


def score_vtrck(gold: Sequence[Track], pred: Sequence[Track], frames: Iterable[int] | None = None) -> Mean:
    """V-Trck J of one instance: tracks paired by the Hungarian algorithm on ``track_jaccard``.

    Returns the sum of J over pairs and the number of pairs, ``max(len(gold), len(pred))``: a track left
    unpaired (missed or spurious) is a pair scoring 0, as I-Seg pads with empty masks. Summed over a
    suite this is the benchmark's J, the mean over all pairs (not over instances).
    """
    scored = None if frames is None else list(frames)
    g, p = [_prepare_track(t) for t in gold], [_prepare_track(t) for t in pred]
    scores = np.array([[_jaccard(a, b, scored) for b in p] for a in g], dtype=np.float64)
    return Mean(_assignment_total(scores.reshape(len(g), len(p))), max(len(g), len(p)))
