"""Benchmark metrics: hand-computed cases (arithmetic in the comments) and hypothesis properties."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reamo import masks
from reamo.evaluation.metrics import (
    PRF,
    IEKeys,
    IEScores,
    KeyedEntity,
    Mean,
    box_iou,
    gold_entity,
    gold_keys,
    interval_iou,
    predicted_keys,
    predicted_mentions,
    region_iou,
    score_aseg,
    score_choices,
    score_ie,
    score_iseg,
    score_keys,
    score_vtrck,
    seen_regions,
    track_jaccard,
)
from reamo.schemas import (
    RLE,
    Argument,
    AudioSpan,
    Entity,
    Event,
    ImageRegion,
    Relation,
    TextSpan,
    TrackFrame,
    Trigger,
    VideoTrack,
)

FAST = settings(max_examples=40, deadline=None)


def grid(rows: slice, cols: slice, shape: tuple[int, int] = (4, 4)) -> np.ndarray:
    m = np.zeros(shape, dtype=bool)
    m[rows, cols] = True
    return m


def spans(text: str, *pairs: tuple[int, int]) -> list[TextSpan]:
    return [TextSpan(start=s, end=e, text=text[s:e]) for s, e in pairs]


# --------------------------------------------------------------------------
# PRF and Mean
# --------------------------------------------------------------------------


def test_prf_arithmetic_and_scaling() -> None:
    # P = 1/2 = 50.0, R = 1/3 = 33.3, F1 = 2*1/(2+3) = 0.4 = 40.0
    prf = PRF(tp=1, n_pred=2, n_gold=3)
    assert prf.scaled() == {"precision": 50.0, "recall": 33.3, "f1": 40.0}
    assert str(prf) == "P 50.0 R 33.3 F1 40.0 (tp 1, pred 2, gold 3)"


def test_prf_micro_pools_counts() -> None:
    # instance 1: 1/1 correct, instance 2: 0/3 with 1 gold -> pooled tp 1, pred 4, gold 2
    # P = 1/4 = 25.0, R = 1/2 = 50.0, F1 = 2/6 = 33.3 (a macro mean of F1s would be (100 + 0)/2 = 50)
    total = sum([PRF(1, 1, 1), PRF(0, 3, 1)], PRF())
    assert total == PRF(1, 4, 2)
    assert total.scaled() == {"precision": 25.0, "recall": 50.0, "f1": 33.3}


def test_prf_empty_conventions() -> None:
    assert PRF().scaled() == {"precision": 0.0, "recall": 0.0, "f1": 0.0}  # nothing at all: 0, counts say why
    assert PRF(0, 0, 3).precision == 0.0  # no predictions: precision 0
    assert PRF(0, 2, 0).recall == 0.0  # no gold: recall 0


def test_impossible_counts_raise() -> None:
    with pytest.raises(ValueError, match="tp <= min"):
        PRF(tp=2, n_pred=1, n_gold=5)
    with pytest.raises(ValueError, match="total <= count"):
        Mean(total=2.0, count=1)


def test_mean_pools_and_scales() -> None:
    # (1 + 0 + 2/3) / 3 = 0.5556 -> 55.6
    assert (Mean(1.0, 1) + Mean(0.0, 1) + Mean(2 / 3, 1)).scaled() == 55.6
    assert Mean().scaled() == 0.0
    assert str(Mean(1.0, 3)) == "33.3 (n 3)"


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------

TEXT = "Obama meets Obama and Merkel"  # Obama [0, 5), meets [6, 11), Obama [12, 17), Merkel [22, 28)


def test_entity_key_uses_span_only_with_text_input() -> None:
    e = KeyedEntity(label="person", text="The  Dog!", span=(4, 11))
    assert e.key(has_text=True) == ("person", (4, 11))
    assert e.key(has_text=False) == ("person", "the dog")  # normalised: lower, no punctuation, one space
    assert KeyedEntity("person", "The Dog!").key(has_text=True) == ("person", "the dog")


def test_gold_entity_from_suite_dict() -> None:
    e = gold_entity({"id": "e1", "text": "Obama", "label": "person", "text_span": [0, 5], "image": None})
    assert e == KeyedEntity("person", "Obama", (0, 5))
    with pytest.raises(ValueError, match="no 'label'"):
        gold_entity({"id": "e1", "text": "Obama"})
    with pytest.raises(ValueError, match="start <= end"):
        gold_entity({"id": "e1", "text": "Obama", "label": "person", "text_span": [5, 0]})


def test_predicted_entity_expands_to_one_mention_per_text_span() -> None:
    obama = Entity(id="e1", text="Obama", label="person", groundings=spans(TEXT, (0, 5), (12, 17)))
    assert [m.span for m in predicted_mentions(obama)] == [(0, 5), (12, 17)]
    dog = Entity(id="e2", text="a Dog", label="animal")  # seen, not written: keyed by its text
    assert predicted_mentions(dog) == [KeyedEntity("animal", "a Dog")]
    trigger = Trigger(id="t1", text="meets", groundings=spans(TEXT, (6, 11)))
    assert predicted_mentions(trigger, label="Meet") == [KeyedEntity("Meet", "meets", (6, 11))]
    with pytest.raises(TypeError, match="event type"):
        predicted_mentions(trigger)


def test_ner_hand_computed() -> None:
    gold = gold_keys(
        {
            "entities": [
                {"id": "e1", "text": "Obama", "label": "person", "text_span": [0, 5]},
                {"id": "e2", "text": "Obama", "label": "person", "text_span": [12, 17]},
                {"id": "e3", "text": "Merkel", "label": "person", "text_span": [22, 28]},
            ]
        },
        has_text=True,
    )
    pred = predicted_keys(
        [
            Entity(id="e1", text="Obama", label="person", groundings=spans(TEXT, (0, 5), (12, 17))),
            Entity(id="e2", text="Merkel", label="location", groundings=spans(TEXT, (22, 28))),
        ],
        has_text=True,
    )
    # pred keys: (person,[0,5)), (person,[12,17)), (location,[22,28)); the last has the wrong label
    # tp 2, pred 3, gold 3 -> P = R = F1 = 2/3 = 66.7
    assert score_ie(gold, pred).ner == PRF(2, 3, 3)
    assert score_ie(gold, pred).scaled()["ner"] == {"precision": 66.7, "recall": 66.7, "f1": 66.7}


def test_ner_without_text_input_collapses_mentions() -> None:
    # without text input the two spans give the same key (person, "obama"): one prediction, not two
    pred = predicted_keys(
        [Entity(id="e1", text="Obama", label="person", groundings=spans(TEXT, (0, 5), (12, 17)))],
        has_text=False,
    )
    gold = gold_keys({"entities": [{"id": "e1", "text": "OBAMA.", "label": "person"}]}, has_text=False)
    assert score_ie(gold, pred).ner == PRF(1, 1, 1)


def region(x: float) -> ImageRegion:
    return ImageRegion(media="image:0", box=(x, 0.0, x + 5.0, 5.0), score=0.9)


TRACK = VideoTrack(
    media="video:0", frames=[TrackFrame(frame=0, box=(0.0, 0.0, 5.0, 5.0), score=0.9)], score=0.9
)


def test_a_seen_only_entity_counts_once_per_region_in_gold_and_prediction() -> None:
    """Three dogs seen, one gold record grounded on the three; two of them found as one record: two
    mentions predicted, three gold, both right. A written or heard entity counts by its mentions."""
    boxes = [{"box": [x, 0, x + 5, 5]} for x in (0, 10, 20)]
    gold = gold_keys(
        {"entities": [{"id": "e1", "text": "dog", "label": "dog", "image": boxes}]}, has_text=False
    )
    assert gold.entities == (frozenset([("dog", "dog")]),) * 3
    found = Entity(id="e1", text="Dog", label="dog", groundings=[region(0), region(10)])
    # tp 2, pred 2, gold 3 -> P 100.0, R 66.7
    assert score_ie(gold, predicted_keys([found], has_text=False)).ner == PRF(2, 2, 3)
    # the same with text input: a seen-only entity has no span, so it is keyed by its words there too
    assert predicted_keys([found], has_text=True).entities == (frozenset([("dog", "dog")]),) * 2

    assert seen_regions(found) == 2
    assert seen_regions(Entity(id="e2", text="dog", label="dog")) == 0  # grounded nowhere: counts once
    written = Entity(
        id="e3", text="dogs", label="dog", groundings=[*spans("dogs", (0, 4)), region(0), region(9)]
    )
    heard = Entity(
        id="e4",
        text="dog",
        label="dog",
        groundings=[AudioSpan(media="audio:0", start=0, end=1, score=1), region(0)],
    )
    assert [seen_regions(e) for e in (written, heard)] == [0, 0]
    assert len(predicted_keys([written, heard], has_text=True).entities) == 2  # one each
    assert seen_regions(Entity(id="e5", text="dog", label="dog", groundings=[region(0), TRACK])) == 2

    one_box = {"box": [0, 0, 5, 5]}
    assert seen_regions({"label": "dog", "image": one_box}) == 1
    assert seen_regions({"label": "dog", "image": one_box, "video": [{"masks": "m"}, {"masks": "n"}]}) == 3
    assert seen_regions({"label": "dog", "text_span": [0, 4], "image": boxes}) == 0  # written: once
    assert seen_regions({"label": "dog", "audio": [0.0, 1.0], "image": boxes}) == 0  # heard: once
    assert gold_keys(
        {"entities": [{"id": "e1", "text": "dog", "label": "dog"}]}, has_text=False
    ).entities == (frozenset([("dog", "dog")]),)


def test_a_seen_only_entity_in_a_relation_is_one_end() -> None:
    """Counting per region is NER's; a relation names the entity once, whatever its regions."""
    dogs = Entity(id="e1", text="dog", label="animal", groundings=[region(0), region(10)])
    owner = Entity(id="e2", text="Ann", label="person", groundings=spans("Ann", (0, 3)))
    pred = predicted_keys([dogs, owner], [Relation(head="e2", tail="e1", label="owns")], has_text=True)
    assert len(pred.entities) == 3
    assert pred.relations == (frozenset([(("person", (0, 3)), ("animal", "dog"), "owns")]),)


def test_re_prediction_counts_once_and_matches_through_any_mention() -> None:
    gold = gold_keys(
        {
            "entities": [
                {"id": "e1", "text": "Obama", "label": "person", "text_span": [12, 17]},
                {"id": "e2", "text": "Merkel", "label": "person", "text_span": [22, 28]},
            ],
            "relations": [{"head": "e1", "tail": "e2", "label": "peer"}],
        },
        has_text=True,
    )
    entities = [
        Entity(id="e1", text="Obama", label="person", groundings=spans(TEXT, (0, 5), (12, 17))),
        Entity(id="e2", text="Merkel", label="person", groundings=spans(TEXT, (22, 28))),
    ]
    relations = [Relation(head="e1", tail="e2", label="peer"), Relation(head="e2", tail="e1", label="peer")]
    pred = predicted_keys(entities, relations, has_text=True)
    # relation 1 may be ((0,5) or (12,17)) -> (22,28): matches the gold triple; relation 2 is reversed
    # tp 1, pred 2, gold 1 -> P 50.0, R 100.0, F1 2/3 = 66.7
    assert score_ie(gold, pred).re == PRF(1, 2, 1)


def test_ee_hand_computed() -> None:
    gold = gold_keys(
        {
            "entities": [
                {"id": "e1", "text": "Obama", "label": "person", "text_span": [0, 5]},
                {"id": "e2", "text": "Merkel", "label": "person", "text_span": [22, 28]},
            ],
            "events": [
                {
                    "type": "Meet",
                    "trigger": {"text": "meets", "text_span": [6, 11], "audio": None},
                    "arguments": [{"entity": "e1", "role": "Entity"}, {"entity": "e2", "role": "Entity"}],
                }
            ],
        },
        has_text=True,
    )
    entities = [
        Entity(id="e1", text="Obama", label="person", groundings=spans(TEXT, (0, 5))),
        Entity(id="e2", text="Merkel", label="person", groundings=spans(TEXT, (22, 28))),
    ]
    events = [
        Event(
            id="v1",
            type="Meet",
            trigger=Trigger(id="t1", text="meets", groundings=spans(TEXT, (6, 11))),
            arguments=[Argument(entity="e1", role="Entity"), Argument(entity="e2", role="Place")],
        ),
        Event(
            id="v2", type="Attack", trigger=Trigger(id="t2", text="meets", groundings=spans(TEXT, (6, 11)))
        ),
    ]
    scores = score_ie(gold, predicted_keys(entities, events=events, has_text=True))
    # ET: (Meet,[6,11)) right, (Attack,[6,11)) wrong type -> tp 1, pred 2, gold 1
    assert scores.et == PRF(1, 2, 1)
    # EA: (Meet, Entity, Obama) right, (Meet, Place, Merkel) wrong role -> tp 1, pred 2, gold 2 -> 50.0 each
    assert scores.ea == PRF(1, 2, 2)
    assert scores.scaled()["ea"] == {"precision": 50.0, "recall": 50.0, "f1": 50.0}


def test_dangling_references_raise_with_the_ids_that_exist() -> None:
    with pytest.raises(ValueError, match=r"'e9'.*\['e1'\]"):
        gold_keys(
            {
                "entities": [{"id": "e1", "text": "a", "label": "x"}],
                "relations": [{"head": "e1", "tail": "e9", "label": "r"}],
            },
            has_text=False,
        )
    with pytest.raises(ValueError, match="predicted ids"):
        predicted_keys([], [Relation(head="e1", tail="e2", label="r")], has_text=False)


def test_score_choices_finds_the_largest_matching() -> None:
    # a greedy pass giving pred 1 to gold "a" would leave pred 2 ({"a"}) unmatched; the best matching is 2
    assert score_choices(["a", "b"], [{"a", "b"}, {"a"}]) == PRF(2, 2, 2)
    assert score_keys(["a", "a", "b"], ["a", "c"]) == PRF(1, 2, 3)  # multiset: one "a" matched


# --------------------------------------------------------------------------
# I-Seg, A-Seg, V-Trck
# --------------------------------------------------------------------------


def test_box_and_interval_iou() -> None:
    # boxes (0,0,2,2) and (1,1,3,3): intersection 1, union 4 + 4 - 1 = 7 -> 1/7
    assert box_iou((0, 0, 2, 2), (1, 1, 3, 3)) == pytest.approx(1 / 7)
    # [0, 1) and [0.5, 1.5): intersection 0.5, union 1.5 -> 1/3
    assert interval_iou((0.0, 1.0), (0.5, 1.5)) == pytest.approx(1 / 3)
    assert interval_iou((1.0, 1.0), (1.0, 1.0)) == 0.0  # both empty


def test_region_iou_accepts_arrays_rle_and_boxes() -> None:
    a = grid(slice(0, 4), slice(0, 2))  # left half, 8 px
    rle = masks.encode(a)
    assert region_iou(a, rle) == 1.0
    assert region_iou(RLE(size=(4, 4), counts=str(rle["counts"])), a) == 1.0
    # box (0,0,1,4) rasterised on 4x4 is column 0, 4 px, inside a: 4/8
    assert region_iou(rle, (0.0, 0.0, 1.0, 4.0)) == 0.5
    with pytest.raises(ValueError, match="different sizes"):
        region_iou(a, np.zeros((3, 3), dtype=bool))


def test_iseg_hand_computed() -> None:
    a = grid(slice(0, 4), slice(0, 2))  # left half, 8 px
    b = grid(slice(0, 2), slice(2, 4))  # top-right quadrant, 4 px
    q = grid(slice(0, 3), slice(2, 4))  # rows 0-2, cols 2-3: 6 px, contains b
    r = grid(slice(3, 4), slice(3, 4))  # one px, matches nothing
    # pairs: a-a IoU 1, b-q IoU 4/6, r unpaired (padding, IoU 0): (1 + 2/3) / 3 = 0.5556 -> 55.6
    assert score_iseg([a, masks.encode(b)], [r, q, a]).scaled() == 55.6
    assert score_iseg([], []) == Mean()  # an instance with no mask does not count


def test_iseg_suite_is_mean_over_instances() -> None:
    a = grid(slice(0, 4), slice(0, 2))
    # instance 1 scores 1, instance 2 (gold only) 0, instance 3 (nothing) skipped: (1 + 0) / 2 = 50.0
    suite = score_iseg([a], [a]) + score_iseg([a], []) + score_iseg([], [])
    assert suite == Mean(1.0, 2)
    assert suite.scaled() == 50.0


def test_iseg_with_gold_boxes() -> None:
    # gold boxes only: predicted boxes compared by area, (0,0,2,2) vs (1,1,3,3) = 1/7; one gold missed
    # (1/7 + 0) / 2 = 0.0714 -> 7.1
    assert score_iseg([(0, 0, 2, 2), (5, 5, 6, 6)], [(1, 1, 3, 3)]).scaled() == 7.1


def test_aseg_hand_computed() -> None:
    # [0.5,1.5) pairs with [0,1) (IoU 1/3); [2,4) is unpaired: (1/3 + 0) / 2 = 0.1667 -> 16.7
    assert score_aseg([(0.0, 1.0), (2.0, 4.0)], [(0.5, 1.5)]).scaled() == 16.7


def test_track_jaccard_hand_computed() -> None:
    a = grid(slice(0, 2), slice(0, 2))
    b = grid(slice(2, 4), slice(2, 4))  # disjoint from a
    gold = {0: a, 1: a, 2: a}
    pred = {0: a, 1: b, 3: a, 4: np.zeros((4, 4), dtype=bool)}  # frame 4 is empty: nothing there
    # frames where either has something: 0 (IoU 1), 1 (IoU 0), 2 (pred empty: 0), 3 (gold empty: 0) -> 1/4
    assert track_jaccard(gold, pred) == 0.25
    # explicit frames 0..4 add frame 4, empty on both sides: 1 -> (1 + 0 + 0 + 0 + 1) / 5 = 0.4
    assert track_jaccard(gold, pred, frames=range(5)) == 0.4
    # boxes stand in for masks: (0,0,2,2) on both frames -> 1
    assert track_jaccard({0: (0, 0, 2, 2), 1: (0, 0, 2, 2)}, {0: (0, 0, 2, 2), 1: (0, 0, 2, 2)}) == 1.0


def test_vtrck_suite_is_mean_over_pairs() -> None:
    a = grid(slice(0, 2), slice(0, 2))
    b = grid(slice(2, 4), slice(2, 4))
    t1, t2 = {0: a, 1: a}, {0: b, 1: b}
    # instance 1: gold [t1, t2], pred [t2] -> t2-t2 J 1, t1 unpaired 0: total 1 over 2 pairs
    # instance 2: gold [t1], pred [t1] -> total 1 over 1 pair
    # suite J = (1 + 0 + 1) / 3 = 66.7 (a mean over instances would give (0.5 + 1) / 2 = 75.0)
    suite = score_vtrck([t1, t2], [t2]) + score_vtrck([t1], [t1])
    assert suite == Mean(2.0, 3)
    assert suite.scaled() == 66.7


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------

entity_keys = st.tuples(
    st.sampled_from(["person", "location"]), st.sampled_from(["a", "b", "c", (0, 1), (2, 3)])
)
key_lists = st.lists(entity_keys, max_size=8)


@st.composite
def masks_4x4(draw: st.DrawFn, *, nonempty: bool = False) -> np.ndarray:
    bits = draw(st.lists(st.booleans(), min_size=16, max_size=16))
    mask = np.array(bits, dtype=bool).reshape(4, 4)
    if nonempty and not mask.any():
        mask[draw(st.integers(0, 3)), draw(st.integers(0, 3))] = True
    return mask


@st.composite
def intervals(draw: st.DrawFn) -> tuple[float, float]:
    start = draw(st.floats(0, 10, allow_nan=False))
    return (start, start + draw(st.floats(0, 5, allow_nan=False)))


tracks = st.dictionaries(st.integers(0, 4), masks_4x4(), max_size=5)


def shuffled(items: list[Any], seed: int) -> list[Any]:
    out = list(items)
    random.Random(seed).shuffle(out)
    return out


@FAST
@given(gold=key_lists, pred=key_lists, seed=st.integers())
def test_prf_properties(gold: list[Any], pred: list[Any], seed: int) -> None:
    prf = score_keys(gold, pred)
    assert score_keys(shuffled(gold, seed), shuffled(pred, seed + 1)) == prf
    assert all(0.0 <= v <= 100.0 for v in prf.scaled().values())
    if gold:
        assert score_keys(gold, gold).scaled() == {"precision": 100.0, "recall": 100.0, "f1": 100.0}
        assert score_keys(gold, []).scaled()["f1"] == 0.0


@FAST
@given(
    gold=key_lists,
    pred=st.lists(st.sets(entity_keys, min_size=1, max_size=3), max_size=6),
    seed=st.integers(),
)
def test_choices_properties(gold: list[Any], pred: list[set[Any]], seed: int) -> None:
    prf = score_choices(gold, pred)
    assert score_choices(shuffled(gold, seed), shuffled(pred, seed + 1)) == prf
    assert prf.tp <= min(len(gold), len(pred))
    # widening every prediction's choices never loses a match
    assert score_choices(gold, [p | {("person", "a")} for p in pred]).tp >= prf.tp


@FAST
@given(entities=st.lists(entity_keys, min_size=1, max_size=6))
def test_ie_perfect_and_empty(entities: list[Any]) -> None:
    gold = IEKeys(entities=tuple(frozenset([k]) for k in entities))
    assert score_ie(gold, gold).ner.scaled()["f1"] == 100.0
    assert score_ie(gold, IEKeys()) == IEScores(ner=PRF(0, 0, len(entities)))


@FAST
@given(gold=st.lists(masks_4x4(), max_size=4), pred=st.lists(masks_4x4(), max_size=4), seed=st.integers())
def test_iseg_properties(gold: list[np.ndarray], pred: list[np.ndarray], seed: int) -> None:
    score = score_iseg(gold, pred)
    assert score_iseg(shuffled(gold, seed), shuffled(pred, seed + 1)).value == pytest.approx(score.value)
    assert 0.0 <= score.scaled() <= 100.0
    assert score.count == (1 if gold or pred else 0)
    if gold:
        assert score_iseg(gold, []).scaled() == 0.0


@FAST
@given(gold=st.lists(masks_4x4(nonempty=True), min_size=1, max_size=4), seed=st.integers())
def test_iseg_identical_lists_score_100(gold: list[np.ndarray], seed: int) -> None:
    assert score_iseg(gold, shuffled(gold, seed)).scaled() == 100.0
    assert score_iseg(gold, [masks.encode(m) for m in gold]).scaled() == 100.0


@FAST
@given(gold=st.lists(intervals(), max_size=5), pred=st.lists(intervals(), max_size=5), seed=st.integers())
def test_aseg_properties(gold: list[Any], pred: list[Any], seed: int) -> None:
    score = score_aseg(gold, pred)
    assert score_aseg(pred, gold).value == pytest.approx(score.value)  # symmetric in gold and prediction
    assert score_aseg(shuffled(gold, seed), shuffled(pred, seed + 1)).value == pytest.approx(score.value)
    assert 0.0 <= score.scaled() <= 100.0


@FAST
@given(gold=st.lists(tracks, max_size=3), pred=st.lists(tracks, max_size=3), seed=st.integers())
def test_vtrck_properties(gold: list[Any], pred: list[Any], seed: int) -> None:
    score = score_vtrck(gold, pred)
    assert score_vtrck(shuffled(gold, seed), shuffled(pred, seed + 1)).total == pytest.approx(score.total)
    assert score.count == max(len(gold), len(pred))
    assert 0.0 <= score.scaled() <= 100.0
    nonempty = [t for t in gold if any(m.any() for m in t.values())]
    if nonempty:
        assert score_vtrck(nonempty, nonempty).scaled() == 100.0
        assert score_vtrck(nonempty, []).scaled() == 0.0
