"""Meta-response data for label sets that mix named-entity types with object classes (``person, location,
organization, miscellaneous, dog, giraffe, car, ...``), on text with an image or a video, and on an image
or a video alone, with synthetic perception. The answers follow the rules the ``objects`` refiner applies
(``agent/refiners/objects.py``):

- an object word of a requested class that is written and seen is one entity of that class, a concept,
  with one call to the medium's grounding tool (ImageSegmentation, VideoTracking);
- seen and not written, it is an entity of the medium (its class name as text, one call there: in an
  image on every instance);
- written and not seen, it is a text-only entity, as is a requested object the detector cannot see
  (``lion``, ``flag``);
- an object word is never a person, location or organization; a person word written ("a cyclist") is a
  ``person`` entity, grounded when a person is seen; a person seen is a ``person`` entity unless a person
  word is written or the text names someone and people are a subject of the medium, who is then the
  person grounded.

Texts are training sentences only: templates filled with names from the training corpora's gold
(CoNLL-2003 and Twitter-2015 train) and object words from the class lexicon, or training sentences that
write an object word (after a determiner). Deterministic per seed and example key.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

from reamo.finetune.corpora import TAG_LABELS, Sentence
from reamo.finetune.corpora import Mention as GoldMention
from reamo.finetune.data import SYNONYMS, Builder, TuningExample, _answer, _box
from reamo.schemas import (
    DetectedObject,
    FramePerception,
    ImagePerception,
    Inputs,
    LabelSchema,
    Perception,
    VideoPerception,
)
from reamo.tools.vision.classes import CLASS_WORDS, coco_lexicon, normalise_words, plural
from reamo.tools.vision.detector import COCO_LABELS, CONFUSABLE


def _w(words: str) -> frozenset[str]:
    return frozenset(words.split())


VARIANTS = ("text+image", "text+video", "image", "video")
NE_TYPES = ("person", "location", "organization", "miscellaneous")
SHOWABLE = tuple(c for c in COCO_LABELS if c != "person")
UNSEEABLE = (
    "lion", "tiger", "monkey", "camel", "deer", "fox", "wolf", "goat", "pig", "rabbit", "flag", "statue",
    "tree", "tent", "lamp", "guitar", "piano", "drum", "helmet", "hat", "balloon", "tractor", "helicopter",
    "ladder", "basket", "candle", "fountain", "bridge",
)  # fmt: skip
"""Object nouns the COCO detector cannot see: requested, they are text types (written, never seen)."""
AMBIGUOUS = _w(
    "bat glass glove ball table plant screen monitor mobile phone cab jet pickup bull hen stool "
    "cooker stove tie remote book mouse cattle crowd luggage"
)
"""Words of a class that name other things as often (a league table, a cup tie): not written for it."""
CORPUS_CLASSES = _w(
    "bicycle car motorcycle airplane bus train truck boat bench bird cat dog horse sheep cow "
    "elephant bear zebra giraffe backpack umbrella handbag suitcase frisbee skis snowboard kite "
    "skateboard surfboard bottle cup fork knife spoon bowl banana sandwich broccoli carrot pizza "
    "donut cake chair couch bed toilet laptop keyboard microwave oven toaster sink refrigerator "
    "clock vase scissors toothbrush"
)
"""Classes whose own name (or plural) in a corpus sentence is taken as the object, after a determiner."""
ADJECTIVES = ("black", "white", "small", "big", "old", "red", "brown", "golden", "young", "grey", "wet")
DETERMINERS = _w("a an the this that these those some two three four his her their our my")
NUMBERS = {2: "two", 3: "three", 4: "four"}
TEMPLATES = (
    "{P} was seen with {W} outside the {O} offices in {L}.",
    "Residents of {L} reported {W} near the station.",
    "{O} volunteers found {W} by the road.",
    "{W} blocked traffic in {L} for an hour.",
    "During the {O} event, {W} wandered onto the stage.",
    "{P} said {W} had been left at the market in {L}.",
    "Police in {L} are looking for {W}.",
    "A report by {O} mentions {W} near {L}.",
    "{P} bought {W} in {L}.",
    "Nobody in {L} expected {W}.",
    "{W} arrived in {L} late on Friday, {P} said.",
    "{P} of {O} brought {W} to {L}.",
)
BARE_TEMPLATES = (
    "{P} spoke to {O} in {L}.",
    "{O} opened a new office in {L}, {P} said.",
    "{P} arrived in {L} on Monday.",
)


def names_from(sentences: Sequence[Sentence]) -> dict[str, list[str]]:
    """Named entities of the training corpora's gold by type, without object words (``Chicago Bulls``)."""
    lexicon = coco_lexicon()
    out: dict[str, list[str]] = {t: [] for t in NE_TYPES}
    for s in sentences:
        for m in s.entities:
            name = re.fullmatch(r"[A-Z][\w.'&-]*(?: [A-Z][\w.'&-]*)*", m.text)
            if m.label in out and name and len(m.text.split()) <= 3 and not lexicon.mentions(m.text):
                out[m.label].append(m.text)
    return {t: sorted(set(v)) for t, v in out.items()}


@dataclass(frozen=True)
class Written:
    """An object word in a text: where, its words and its class."""

    start: int
    end: int
    text: str
    cls: str


def object_sentences(sentences: Sequence[Sentence]) -> list[tuple[Sentence, list[Written]]]:
    """Training sentences that write an object of ``CORPUS_CLASSES`` by its name, after a determiner,
    outside every gold entity and not before another object word ("train car": the car)."""
    forms = {normalise_words(f): c for c in CORPUS_CLASSES for f in (c, plural(c))}
    lexicon = coco_lexicon()
    out = []
    for s in sentences:
        every = lexicon.mentions(s.text)
        found = []
        for m, after in zip_longest(every, every[1:]):
            cls = forms.get(normalise_words(m.text))
            if cls is None or (m.text[:1].isupper() and not m.text.isupper() and m.start > 0):
                continue
            if after is not None and not s.text[m.end : after.start].strip():
                continue
            if any(e.start < m.end and m.start < e.end for e in s.entities):
                continue
            before = re.findall(r"[A-Za-z']+", s.text[: m.start])[-2:]
            if any(w.lower() in DETERMINERS for w in before):
                found.append(Written(m.start, m.end, m.text, cls))
        if found:
            out.append((s, found))
    return out


@dataclass
class Plan:
    """One example's content before it is rendered."""

    text: str | None
    named: list[tuple[str, str, int]] = field(default_factory=list)  # (text, NE type, position)
    written: list[Written] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    unseeable: list[str] = field(default_factory=list)
    person_seen: bool = False


class ObjectExamples:
    """Builds the mixed-label examples with a ``Builder`` (its registry, modules and seed)."""

    def __init__(self, builder: Builder, names: dict[str, list[str]]) -> None:
        self.builder = builder
        self.names = names

    def _word(self, rng: random.Random, cls: str) -> str:
        words = [
            w for w in CLASS_WORDS.get(cls, ()) if w not in AMBIGUOUS and coco_lexicon().class_of(w) == cls
        ]
        return rng.choice(words) if words and rng.random() < 0.4 else cls

    def _phrase(self, rng: random.Random, cls: str) -> tuple[str, str]:
        """An object phrase for a class ("two small puppies") and its object word ("puppies")."""
        word = self._word(rng, cls)
        many = rng.random() < 0.4 and plural(word) != word
        noun = plural(word) if many else word
        adjective = f"{rng.choice(ADJECTIVES)} " if rng.random() < 0.3 else ""
        if many:
            det = rng.choice([*NUMBERS.values(), "some", "several", "the"])
        else:
            det = rng.choice(["the", "an" if (adjective or noun)[0] in "aeiou" else "a"])
        return f"{det} {adjective}{noun}", noun

    def _template(self, rng: random.Random, plan: Plan, written: list[str], absent: list[str]) -> None:
        phrases = [(*self._phrase(rng, c), c) for c in written + absent]
        template = rng.choice(TEMPLATES if phrases else BARE_TEMPLATES)
        fill = {
            "P": rng.choice(self.names["person"]),
            "L": rng.choice(self.names["location"]),
            "O": rng.choice(self.names["organization"]),
        }
        kinds = {"P": "person", "L": "location", "O": "organization"}
        text = ""
        for piece in re.split(r"(\{[PLOW]\})", template):
            key = piece[1:-1] if re.fullmatch(r"\{[PLOW]\}", piece) else None
            if key is None:
                text += piece
            elif key != "W":
                plan.named.append((fill[key], kinds[key], len(text)))
                text += fill[key]
            else:
                for i, (phrase, noun, cls) in enumerate(phrases):
                    if i:
                        text += " and " if i == len(phrases) - 1 else ", "
                    if not text.strip():
                        phrase = phrase[:1].upper() + phrase[1:]
                    start = len(text) + len(phrase) - len(noun)
                    plan.written.append(Written(start, start + len(noun), noun, cls))
                    text += phrase
        plan.text = text

    def _plan(self, rng: random.Random, variant: str, source: tuple[Sentence, list[Written]] | None) -> Plan:
        plan = Plan(text=None, person_seen=rng.random() < 0.35)
        if not variant.startswith("text+"):
            plan.shown = rng.sample(SHOWABLE, rng.randint(1, 3))
            return plan
        if source is not None:
            s, found = source
            plan.text = s.text
            plan.named = [
                (m.text, TAG_LABELS.get(m.label, m.label), m.start)
                for m in _distinct(s.entities)
                if TAG_LABELS.get(m.label, m.label) in NE_TYPES
            ]
            plan.written = found
            written_classes = list(dict.fromkeys(w.cls for w in found))
            plan.shown = [c for c in written_classes if rng.random() < 0.6]
            others = [c for c in SHOWABLE if c not in written_classes]
            plan.shown += rng.sample(others, rng.randint(0, 2))
        else:
            shown = rng.sample(SHOWABLE, rng.randint(1, 3))
            written = [c for c in shown if rng.random() < 0.6]
            absent = rng.sample([c for c in SHOWABLE if c not in shown], 1) if rng.random() < 0.35 else []
            plan.shown = shown
            if rng.random() < 0.3:
                plan.unseeable = [rng.choice(UNSEEABLE)]
            self._template(rng, plan, written, absent + plan.unseeable)
        return plan

    def example(
        self, key: str, variant: str, source: tuple[Sentence, list[Written]] | None = None
    ) -> TuningExample | None:
        """One example of ``variant`` (``VARIANTS``); None when the registry lacks the medium's tool."""
        made = self.make(key, variant, source)
        return made[0] if made is not None else None

    def make(
        self, key: str, variant: str, source: tuple[Sentence, list[Written]] | None = None
    ) -> tuple[TuningExample, Perception] | None:
        """``example`` with the synthetic perception its prompt describes."""
        rng = self.builder._rng(f"{key}:objects:{variant}")
        modality = "video" if variant.endswith("video") else "image"
        module = self.builder.modules.get(modality)
        if module is None:
            return None
        plan = self._plan(rng, variant, source)
        target = f"{modality}:0"
        # the label set: the named-entity types (sometimes renamed) and the object classes
        ne = {t: rng.choice(SYNONYMS[t]) if rng.random() < 0.2 else t for t in NE_TYPES}
        involved = [
            c for c in dict.fromkeys([*(w.cls for w in plan.written), *plan.shown]) if c in CLASS_WORDS
        ]
        labels = {cls: _label_for(rng, cls) for cls in involved}
        for u in plan.unseeable:
            labels[u] = u
        if plan.text:  # every object word of a requested class (and person word), as the refiner finds them
            named = [(at, at + len(t)) for t, _, at in plan.named]
            plan.written = [
                Written(m.start, m.end, m.text, m.cls)
                for m in coco_lexicon().object_mentions(plan.text, [*involved, "person"])
                if not any(s < m.end and m.start < e for s, e in named)
            ] + [w for w in plan.written if w.cls not in CLASS_WORDS]
        written_classes = [w.cls for w in plan.written]
        unwritten = [
            c for c in SHOWABLE if c not in labels and not coco_lexicon().mentions(plan.text or "", [c])
        ]
        distractors = rng.sample(unwritten, rng.randint(0, 3))
        labels.update({c: c for c in distractors})
        if rng.random() < 0.3:
            u = rng.choice([u for u in UNSEEABLE if u not in labels])
            labels[u] = u
        label_set = [*ne.values(), *labels.values()]
        rng.shuffle(label_set)
        # perception: the shown classes, a person maybe, and classes nobody asked for
        siblings = {s for c in written_classes for s in CONFUSABLE.get(c, ())}
        unasked = [c for c in SHOWABLE if c not in labels and c not in siblings]  # a sibling would stand in
        objects = [(c, rng.randint(1, 3) if modality == "image" else 1) for c in plan.shown]
        objects += [("person", 1)] if plan.person_seen else []
        objects += [(c, 1) for c in rng.sample(unasked, rng.randint(0, 2))]
        perception, seen_only, subjects = _perceive(rng, modality, target, objects)
        # the answer: a person word written is the person seen; else a named person, where people are a
        # subject (the objects refiner's rules)
        people = [n for n, t, _ in plan.named if t == "person"]
        person_written = "person" in written_classes
        grounded_person = plan.person_seen and bool(people) and not person_written and "person" in subjects
        records: list[tuple[int, dict[str, Any], dict[str, Any] | None]] = []
        listed: set[tuple[str, str]] = set()
        for text, kind, at in plan.named:
            call = grounded_person and kind == "person"
            if (text, ne[kind]) not in listed:
                listed.add((text, ne[kind]))
                records.append(
                    (at, _entity(text, ne[kind], call), _call(module, text, target) if call else None)
                )
        for w in plan.written:
            label = ne["person"] if w.cls == "person" else labels[w.cls]
            if (w.text, label) in listed:
                continue
            listed.add((w.text, label))
            seen = plan.person_seen if w.cls == "person" else w.cls in plan.shown
            records.append(
                (w.start, _entity(w.text, label, seen), _call(module, w.text, target) if seen else None)
            )
        records.sort(key=lambda r: r[0])
        covered = set(written_classes) | ({"person"} if grounded_person else set())
        for cls in seen_only:
            if cls in covered or (cls != "person" and cls not in labels):
                continue
            label = ne["person"] if cls == "person" else labels[cls]
            text = cls  # its class name, as the validator names what it sees
            every = modality == "image"
            records.append((10**6, _entity(text, label, True), _call(module, text, target, every=every)))
        entities = [e for _, e, _ in records]
        calls = [c for _, _, c in records if c is not None]
        inputs = (
            Inputs.build(
                text=plan.text, **{modality: f"{modality}.{'jpg' if modality == 'image' else 'mp4'}"}
            )
            if plan.text
            else Inputs.build(**{modality: f"{modality}.{'jpg' if modality == 'image' else 'mp4'}"})
        )
        corpus = source[0].corpus if source is not None else "objects"
        s = Sentence(corpus=corpus, id=key, text=plan.text or "")
        labelled = LabelSchema(entity_types=label_set)
        answer = _answer(entities, calls=calls)
        example = self.builder._example(s, "ner", f"objects:{variant}", inputs, labelled, perception, answer)
        return example, perception


def _distinct(mentions: Sequence[GoldMention]) -> list[GoldMention]:
    return list({(m.text, m.label): m for m in mentions}.values())


def _label_for(rng: random.Random, cls: str) -> str:
    """How a user names a class: its name mostly, sometimes its plural or a synonym."""
    roll = rng.random()
    if roll < 0.1 and plural(cls) != cls:
        return plural(cls)
    synonyms = [
        w
        for w in CLASS_WORDS[cls]
        if w not in AMBIGUOUS and " " not in w and coco_lexicon().class_of(w) == cls
    ]
    if roll < 0.2 and synonyms:
        return rng.choice(synonyms)
    return cls


def _entity(text: str, label: str, concept: bool) -> dict[str, Any]:
    return {"text": text, "label": label, "concept": concept}


def _call(module: str, text: str, target: str, *, every: bool = False) -> dict[str, Any]:
    call: dict[str, Any] = {"module": module, "instruction": text, "target": target, "concept": text}
    if every:
        call["instances"] = "all"
    return call


def _perceive(
    rng: random.Random, modality: str, target: str, objects: Sequence[tuple[str, int]]
) -> tuple[Perception, list[str], set[str]]:
    """Synthetic detections, the classes seen enough for an entity of their own, first seen first
    (every class in an image; a video's subjects), and the medium's subjects (``subjects``)."""
    from reamo.agent.planners.spacy import image_subjects, video_subjects

    found = [
        DetectedObject(label=cls, box=_box(rng), score=round(rng.uniform(0.35, 0.95), 2))
        for cls, n in objects
        for _ in range(n)
    ]
    rng.shuffle(found)
    perception = Perception()
    if modality == "image":
        image = ImagePerception(media=target, width=640, height=480, objects=found)
        perception.images[target] = image
        return perception, list(dict.fromkeys(o.label for o in found)), image_subjects(image)
    frames = [
        FramePerception(
            frame=i * 10,
            objects=[o.model_copy(update={"box": _shifted(o.box, i * rng.randint(0, 12))}) for o in found],
        )
        for i in range(3)
    ]
    video = VideoPerception(media=target, width=640, height=480, frame_count=30, fps=10.0, frames=frames)
    perception.videos[target] = video
    subjects = video_subjects(video)
    return perception, [c for c in dict.fromkeys(o.label for o in found) if c in subjects], subjects


def _shifted(box: tuple[float, float, float, float], dx: int) -> tuple[float, float, float, float]:
    return (box[0] + dx, box[1], box[2] + dx, box[3])


def object_examples(
    builder: Builder, corpora: dict[str, list[Sentence]], per_variant: int, seed: int
) -> Iterator[TuningExample]:
    """``per_variant`` examples of each of ``VARIANTS``: with text, half from training sentences that
    write an object (as many as there are), the rest from templates."""
    sentences = corpora.get("conll2003", []) + corpora.get("twitter2015", [])
    maker = ObjectExamples(builder, names_from(sentences))
    rng = random.Random(f"{seed}:objects")
    sources = object_sentences(sentences + corpora.get("wnut17", []))
    for variant in VARIANTS:
        taken = (
            rng.sample(sources, min(len(sources), per_variant // 2)) if variant.startswith("text+") else []
        )
        for i in range(per_variant):
            source = taken[i] if i < len(taken) else None
            key = source[0].id if source is not None else f"objects-{i}"
            example = maker.example(key, variant, source)
            if example is not None:
                yield example
