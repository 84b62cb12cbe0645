"""Mixed-label suites: a sentence beside each image (``coco128-mixed``) or video (``davis-mixed``), written
by rule from the gold, so that one label set mixes named-entity types with object classes.

For each instance, seeded by its id (the same on every machine):

- each gold object class is either **written and seen** (a word for it in the sentence, "a puppy",
  "two dogs": a gold entity typed with its class, its text span, grounded on every object of the class)
  or **seen only** (not in the sentence: an image- or video-only gold entity of its class, its class name
  as its text, grounded where seen; NER counts it once per region, ``metrics.seen_regions``);
- sometimes a class the media do not show is **written only** ("there was no sign of a giraffe": a
  text-only gold entity of its class);
- people, places and organisations from a fixed list (``words.py``) are the **named entities**, text-only
  gold entities of ``person``, ``location``, ``organization``: the person took the picture, never is in it.

The label set is ``person, location, organization, miscellaneous`` and the object classes (all 80 COCO
names; the DAVIS suite's classes and the absent ones). COCO's ``person`` is the named-entity type
``person``: one label, so a person seen is a ``person`` entity grounded in the image (a concept), and a
person named is a ``person`` entity of the text alone. Scored with the usual metrics: NER over every gold
entity (written ones by span, seen-only ones by class name, once per region), I-Seg or V-Trck J over the
groundings.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reamo.evaluation.builders.common import SEED, BuildStats
from reamo.evaluation.builders.media import coco128, davis2016
from reamo.evaluation.builders.words import (
    ABSENT_TEMPLATES,
    DAVIS_ABSENT,
    DAVIS_WORDS,
    IMAGE_TEMPLATES,
    IMAGE_TEMPLATES_BARE,
    NAMED,
    NUMBERS,
    PEOPLE,
    VIDEO_TEMPLATES,
    VIDEO_TEMPLATES_BARE,
    article,
    object_words,
)
from reamo.evaluation.suite import Gold, GoldEntity, GoldImage, GoldVideo, SuiteInputs, SuiteInstance
from reamo.schemas import LabelSchema
from reamo.schemas.labels import DEFAULT_ENTITY_TYPES

__all__ = ["ABSENT_SHARE", "MAX_WRITTEN", "WRITTEN_SHARE", "build_coco128_mixed", "build_davis_mixed"]

WRITTEN_SHARE = 0.5
"""The chance that a class the media show is written in the sentence (else it is seen only)."""
ABSENT_SHARE = 0.5
"""The chance that the sentence also writes a class the media do not show."""
MAX_WRITTEN = 4
"""At most this many classes are written in one sentence; the others are seen only."""


@dataclass
class Written:
    """An object class to write: its class, how many there are (0: several, not counted) and the words
    for one and for several."""

    label: str
    count: int
    singular: Sequence[str]
    plural: Sequence[str]


@dataclass
class Sentence:
    """A sentence written piece by piece, with each marked piece: (kind, label, span, its text)."""

    text: str = ""
    marks: list[tuple[str, str, tuple[int, int], str]] = field(default_factory=list)

    def put(self, piece: str) -> None:
        self.text += piece

    def mark(self, kind: str, label: str, piece: str) -> None:
        start = len(self.text)
        self.text += piece
        self.marks.append((kind, label, (start, len(self.text)), piece))


def write(
    rng: random.Random,
    templates: Sequence[str],
    bare: Sequence[str],
    written: Sequence[Written],
    absent: Written | None,
) -> Sentence:
    """The sentence: a template with named entities and the written objects ("a dog, two cats and
    skis"), then perhaps a sentence writing an absent object."""
    sentence = Sentence()
    person, other = rng.sample(PEOPLE, 2)
    named = {
        "{P}": ("person", person),
        "{P2}": ("person", other),
        "{L}": ("location", rng.choice(NAMED["location"])),
        "{O}": ("organization", rng.choice(NAMED["organization"])),
    }

    def fill(template: str) -> None:
        for piece in re.split(r"(\{\w+\})", template):
            if piece in named:
                sentence.mark("named", *named[piece])
            elif piece == "{W}":
                for n, thing in enumerate(written):
                    if n:
                        sentence.put(" and " if n == len(written) - 1 else ", ")
                    _write_object(sentence, rng, thing, "written")
            elif piece == "{A}" and absent is not None:
                _write_object(sentence, rng, absent, "absent")
            else:
                sentence.put(piece)

    fill(rng.choice(templates if written else bare))
    if absent is not None:
        fill(rng.choice(ABSENT_TEMPLATES))
    return sentence


def _write_object(sentence: Sentence, rng: random.Random, thing: Written, kind: str) -> None:
    if thing.count == 1:
        word = rng.choice(thing.singular)
        sentence.put(article(word) + " ")
    else:
        word = rng.choice(thing.plural)
        if thing.count in NUMBERS and rng.random() < 0.5:
            sentence.put(NUMBERS[thing.count] + " ")
    sentence.mark(kind, thing.label, word)


def _grounded(value: Any) -> dict[str, Any]:
    """A gold entity's ``image`` or ``video`` keyword for a grounding (a region or track, or a list)."""
    first = value[0] if isinstance(value, list) else value
    return {"video" if isinstance(first, GoldVideo) else "image": value}


def _entities(sentence: Sentence, seen: dict[str, Any], seen_only: Sequence[str]) -> list[GoldEntity]:
    """Gold entities: the sentence's marks in text order (a written object grounded where its class is
    seen, ``seen[label]``), then the seen-only classes, their class name as their text."""
    out: list[GoldEntity] = []
    for kind, label, span, text in sentence.marks:
        where = _grounded(seen[label]) if kind == "written" else {}
        out.append(GoldEntity(id=f"e{len(out) + 1}", text=text, label=label, text_span=span, **where))
    for label in seen_only:
        out.append(GoldEntity(id=f"e{len(out) + 1}", text=label, label=label, **_grounded(seen[label])))
    return out


def _tally(stats: BuildStats, counts: dict[str, int]) -> None:
    stats.notes.append(
        f"gold entities: {counts['written']} written and seen, {counts['seen']} seen only, "
        f"{counts['absent']} written only (not in the media), {counts['named']} named (text only)"
    )


def _count(counts: dict[str, int], sentence: Sentence, seen_only: Sequence[str]) -> None:
    for kind, *_ in sentence.marks:
        counts[kind] += 1
    counts["seen"] += len(seen_only)


def _split(rng: random.Random, labels: Sequence[str]) -> tuple[list[str], list[str]]:
    """Which classes are written (at most ``MAX_WRITTEN``) and which are seen only."""
    written = [label for label in labels if rng.random() < WRITTEN_SHARE][:MAX_WRITTEN]
    return written, [label for label in labels if label not in written]


def build_coco128_mixed(data: Path, out: Path, limit: int | None) -> tuple[list[SuiteInstance], BuildStats]:
    """``coco128-mixed``: each coco128 image with a sentence written from its gold objects (text + image)."""
    names, images, stats = coco128(data, out, limit)
    schema = LabelSchema(
        entity_types=[*DEFAULT_ENTITY_TYPES, *(n for n in names if n not in DEFAULT_ENTITY_TYPES)]
    )
    counts = dict.fromkeys(("written", "seen", "absent", "named"), 0)
    instances = []
    for image in images:
        instance_id = f"coco128-mixed-{image.stem}"
        rng = random.Random(f"{SEED}:{instance_id}")
        regions: dict[str, list[GoldImage]] = {}
        for name, xy in image.objects:
            regions.setdefault(name, []).append(GoldImage(polygons=[xy]))
        written, seen_only = _split(rng, list(regions))
        things = [Written(n, len(regions[n]), *object_words(n)) for n in written]
        missing = sorted(set(names) - set(regions) - {"person"})
        absent = None
        if rng.random() < ABSENT_SHARE:
            name = rng.choice(missing)
            absent = Written(name, 1, *object_words(name))
        sentence = write(rng, IMAGE_TEMPLATES, IMAGE_TEMPLATES_BARE, things, absent)
        seen = {n: r if len(r) > 1 else r[0] for n, r in regions.items()}
        _count(counts, sentence, seen_only)
        instances.append(
            SuiteInstance(
                id=instance_id,
                task="ner",
                inputs=SuiteInputs(text=sentence.text, image=str(image.rel)),
                labels=schema,
                gold=Gold(entities=_entities(sentence, seen, seen_only)),
            )
        )
    stats.written = len(instances)
    _tally(stats, counts)
    return instances, stats


def build_davis_mixed(data: Path, out: Path, limit: int | None) -> tuple[list[SuiteInstance], BuildStats]:
    """``davis-mixed``: each DAVIS-2016 video with a sentence written from its one foreground (text +
    video). The foreground's words are the data README's nouns (not gold; ``words.DAVIS_WORDS``)."""
    labels, videos, stats = davis2016(data, out, limit)
    objects = [label for label in labels if label not in DEFAULT_ENTITY_TYPES]
    schema = LabelSchema(entity_types=[*DEFAULT_ENTITY_TYPES, *objects, *DAVIS_ABSENT])
    counts = dict.fromkeys(("written", "seen", "absent", "named"), 0)
    instances = []
    for video in videos:
        instance_id = f"davis-mixed-{video.sequence}"
        rng = random.Random(f"{SEED}:{instance_id}")
        words, plural = DAVIS_WORDS.get(video.sequence, ((video.noun,), False))
        written, seen_only = _split(rng, [video.label])
        things = [Written(video.label, 0 if plural else 1, words, words) for _ in written]
        absent = None
        if rng.random() < ABSENT_SHARE:
            name = rng.choice(DAVIS_ABSENT)
            absent = Written(name, 1, *object_words(name))
        sentence = write(rng, VIDEO_TEMPLATES, VIDEO_TEMPLATES_BARE, things, absent)
        seen = {video.label: GoldVideo(masks=str(video.masks))}
        _count(counts, sentence, seen_only)
        instances.append(
            SuiteInstance(
                id=instance_id,
                task="ner",
                inputs=SuiteInputs(text=sentence.text, video=str(video.frames)),
                labels=schema,
                gold=Gold(entities=_entities(sentence, seen, seen_only)),
            )
        )
    stats.written = len(instances)
    _tally(stats, counts)
    return instances, stats
