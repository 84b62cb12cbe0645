"""The mixed-label suites (``coco128-mixed``, ``davis-mixed``) built from a tiny coco128 and DAVIS layout
that the test writes: what each gold entity is (written and seen, seen only, written only, named), that
the sentence says it, determinism, and that a perfect answer scores 100 under the usual metrics."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from reamo import masks
from reamo.evaluation import build_suites, load_suite, score_instance
from reamo.evaluation.builders.mixed import Sentence, Written, write
from reamo.evaluation.builders.words import DAVIS_ABSENT, NAMED, object_words
from reamo.evaluation.suite import SuiteInstance
from reamo.schemas import RLE, Entity, ExtractionResult, ImageRegion, Inputs, TextSpan

CLASSES = ["person", "dog", "cat", "frisbee", "giraffe", "sheep"]
# image 1: a person, two dogs, a frisbee; image 2: a cat; image 3: nothing (a background image)
OBJECTS = {
    "000000000001": [(0, 0.1), (1, 0.3), (1, 0.5), (3, 0.7)],
    "000000000002": [(2, 0.2)],
    "000000000003": [],
}


def polygon(x: float) -> str:
    """A YOLO-normalised square 0.1 wide at x."""
    return " ".join(f"{v:.2f}" for v in (x, 0.1, x + 0.1, 0.1, x + 0.1, 0.3, x, 0.3))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    coco = root / "images/coco128_seg"
    (coco / "images/train2017").mkdir(parents=True)
    (coco / "labels/train2017").mkdir(parents=True)
    (coco / "classes.txt").write_text("".join(f"{i}\t{n}\n" for i, n in enumerate(CLASSES)))
    for stem, objects in OBJECTS.items():
        Image.new("RGB", (100, 50)).save(coco / f"images/train2017/{stem}.jpg")
        if objects:
            lines = [f"{cls} {polygon(x)}" for cls, x in objects]
            (coco / f"labels/train2017/{stem}.txt").write_text("\n".join(lines) + "\n")
    davis = root / "video/davis2016_val"
    for seq in ("cows", "dog", "mystery"):
        for sub in (f"JPEGImages/480p/{seq}", f"Annotations/480p/{seq}"):
            (davis / sub).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 6)).save(davis / f"JPEGImages/480p/{seq}/{i:05d}.jpg")
            mask = np.zeros((6, 8), np.uint8)
            mask[1:3, 2:5] = 255
            Image.fromarray(mask).save(davis / f"Annotations/480p/{seq}/{i:05d}.png")
    return root


def kinds(instance: SuiteInstance) -> dict[str, list[tuple[str, str]]]:
    """Gold entities by what they are: (text, label) of each."""
    out: dict[str, list[tuple[str, str]]] = {"named": [], "written": [], "seen": [], "absent": []}
    for e in instance.gold.entities:
        grounded = bool(e.image_regions() or e.video_tracks())
        if e.text_span is None:
            kind = "seen"
        elif grounded:
            kind = "written"  # a person written and seen too: grounded in the media
        else:
            kind = "named" if e.label in NAMED else "absent"
        out[kind].append((str(e.text), e.label))
    return out


def test_coco128_mixed(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "suites"
    (path, stats) = build_suites(data, out, only=["coco128-mixed"])["coco128-mixed"]
    suite = load_suite(path)  # every span cuts its text, every label is in the schema
    assert [i.id for i in suite.instances] == [f"coco128-mixed-{s}" for s in OBJECTS]
    labels = suite.instances[0].labels.entity_types
    assert labels[:4] == ["person", "location", "organization", "miscellaneous"]
    assert labels[4:] == CLASSES[1:]  # the COCO person is the named-entity person: one label
    assert "written and seen" in stats.notes[0]
    shown = {stem: {CLASSES[c] for c, _ in objects} for stem, objects in OBJECTS.items()}
    for instance, stem in zip(suite.instances, OBJECTS, strict=True):
        assert instance.inputs.text
        assert instance.inputs.image
        found = kinds(instance)
        # every class shown is written and seen or seen only, once; nothing else is grounded
        classes = [label for _, label in found["written"] + found["seen"]]
        assert sorted(classes) == sorted(shown[stem])
        assert all(label not in shown[stem] and label != "person" for _, label in found["absent"])
        assert all(text == label for text, label in found["seen"])  # seen only: the class name
        assert {label for _, label in found["named"]} <= {"person", "location", "organization"}
        assert found["named"]  # the photographer at least
        for e in instance.gold.entities:
            if e.text_span is not None:
                assert instance.inputs.text[e.text_span[0] : e.text_span[1]] == e.text
            if e.label == "dog" and e.image is not None:
                assert len(e.image_regions()) == 2  # both dogs: "dogs" or the seen-only dog twice
            if e.text_span is not None and e.label != "person" and e.label not in NAMED:
                singular, plural = object_words(e.label)
                assert e.text in (*singular, *plural)
    again = tmp_path / "again"
    build_suites(data, again, only=["coco128-mixed"])
    assert (again / "coco128-mixed.jsonl").read_text() == path.read_text()  # seeded: the same


def test_davis_mixed(data: Path, tmp_path: Path) -> None:
    (path, _) = build_suites(data, tmp_path / "suites", only=["davis-mixed"])["davis-mixed"]
    suite = load_suite(path)
    assert [i.id for i in suite.instances] == ["davis-mixed-cows", "davis-mixed-dog", "davis-mixed-mystery"]
    labels = suite.instances[0].labels.entity_types
    assert labels[:4] == ["person", "location", "organization", "miscellaneous"]
    assert {"cow", "dog", *DAVIS_ABSENT} <= set(labels)
    for instance in suite.instances:
        assert instance.inputs.text
        assert instance.inputs.video
        tracks = [e for e in instance.gold.entities if e.video is not None]
        assert len(tracks) == 1  # the one foreground, written or seen only
        assert all(label in DAVIS_ABSENT for _, label in kinds(instance)["absent"])
    cows = suite.instances[0].gold.entities
    assert any(e.text in ("cows", "cattle", "cow") and e.label == "cow" for e in cows)


def test_sentences_say_what_the_gold_says() -> None:
    rng = random.Random(3)
    dogs = Written("dog", 2, *object_words("dog"))
    cat = Written("cat", 1, *object_words("cat"))
    absent = Written("giraffe", 1, *object_words("giraffe"))
    sentence = write(rng, ["{P} saw {W} in {L}."], ["{P} was in {L}."], [dogs, cat], absent)
    assert isinstance(sentence, Sentence)
    for _, _, (start, end), text in sentence.marks:
        assert sentence.text[start:end] == text
    kinds_ = [(kind, label) for kind, label, *_ in sentence.marks]
    assert kinds_[:4] == [("named", "person"), ("written", "dog"), ("written", "cat"), ("named", "location")]
    assert ("absent", "giraffe") in kinds_
    words = {text for *_, text in sentence.marks}
    assert words & {"dogs", "puppies"}  # two dogs: a plural
    assert " and a " in sentence.text or " and an " in sentence.text  # "... dogs and a cat"
    bare = write(rng, ["{P} saw {W}."], ["{P} was in {L}."], [], None)
    assert [kind for kind, *_ in bare.marks] == ["named", "named"]


def test_a_perfect_answer_scores_100(data: Path, tmp_path: Path) -> None:
    """The gold turned into a result: written entities by their spans, a seen-only class as one record
    grounded on all its regions (it counts once per region, as its gold does)."""
    (path, _) = build_suites(data, tmp_path / "suites", only=["coco128-mixed"])["coco128-mixed"]
    instance = load_suite(path).instances[0]
    text = str(instance.inputs.text)
    with Image.open(str(instance.inputs.image)) as im:
        width, height = im.size
    entities = []
    for n, e in enumerate(instance.gold.entities, 1):
        groundings: list[Any] = []
        if e.text_span is not None:
            start, end = e.text_span
            groundings.append(TextSpan(start=start, end=end, text=text[start:end]))
        for region in e.image_regions():
            rle = masks.from_polygons(region.polygons or [], height, width)
            groundings.append(ImageRegion(media="image:0", box=(0, 0, 1, 1), mask=RLE(**rle), score=1.0))  # type: ignore[arg-type]
        entities.append(Entity(id=f"e{n}", text=str(e.text), label=e.label, groundings=groundings))
    inputs = Inputs.build(text=text, image=instance.inputs.image)
    result = ExtractionResult(task="ner", inputs=inputs, labels=instance.labels, entities=entities)
    scores = score_instance(instance, result)
    gold_count = sum(
        max(1, len(e.image_regions())) if e.text_span is None else 1 for e in instance.gold.entities
    )
    assert scores.ie.ner.tp == scores.ie.ner.n_pred == scores.ie.ner.n_gold == gold_count
    assert scores.iseg.total == pytest.approx(1.0)
