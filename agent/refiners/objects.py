"""``objects``: object classes beside named-entity types in one label set (``person, location, ...,
dog, giraffe, car``). A label is an object class when it names a class the detector knows
(``tools/vision/classes``: ``dog``, ``Dogs``, ``puppy``; ``person`` stays a named-entity type). Then:

- an object word of a requested class written in the text (whole words: ``puppies``, never ``A`` or
  ``golden``; not a verb, not part of a name: ``Lexicon.object_mentions``) is one entity of that class,
  retyped if the planner gave a lower-case object word another type (``cow`` as a person), and a planner
  entity of that class that names no such word (``A`` of "A dog") is dropped;
- written and seen (the class detected in an image or a video) it is a concept with one call to that
  medium's grounding tool; written and not seen it is a text-only entity;
- seen and not written, it is an entity of the medium where it was seen, its class name as text, with
  one call there (in an image for every instance: merge makes one entity a region; in a video for the
  subjects only, as the validator does). In a label set with object classes a
  person seen is such an entity too, unless a written person is grounded there;
- the person type is then COCO's person as well: a person word written ("a cyclist", "people") is an
  entity of it, grounded where people are seen, and a named person keeps an image or video call only
  where people are a subject there and no person word is grounded (``_ground_names``);
- under a closed vocabulary a place or an organisation is never grounded in an image or a video: no
  class of the detector is one (``_keep_text_types_in_text``).

Relations and event arguments keep pointing at the entities they named (a retyped entity keeps its id).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from reamo.agent.planners.spacy import image_subjects, map_label, video_subjects
from reamo.agent.refiners.edits import Draft
from reamo.agent.refiners.protocol import Refinement, RefineRequest, RefinerSetup
from reamo.agent.spans import find_spans, normalise
from reamo.schemas import BackendInfo, Entity, MetaResponse, Perception
from reamo.tools.vision.classes import (
    COCO_VOCABULARY,
    OPEN_VOCABULARY,
    Lexicon,
    Mention,
    Vocabulary,
    coco_lexicon,
    forms,
    is_named_entity_type,
    normalise_words,
    sentence_start,
)
from reamo.tools.vision.detector import CONFUSABLE

VISUAL = ("image", "video")


def _w(words: str) -> frozenset[str]:
    return frozenset(words.split())


DETERMINERS = _w(
    "a an the this that these those some any another two three four five several many my your his her "
    "its our their one"
)
OPTIONS = ("vocabulary",)


@dataclass(frozen=True)
class ObjectLabels:
    """The request's object labels: each with the class it names, and the words that name it."""

    classes: dict[str, str]
    """label -> detector class (or the label's own words for an open vocabulary)."""
    lexicon: Lexicon
    seen: dict[str, str]
    """The labels a detected object is an entity of when nothing written covers it: ``classes`` and, in a
    label set with object classes, the person type (a person seen is a person)."""
    person: str | None = None
    """The person type, in a label set with object classes: a person word written ("a cyclist",
    "people") is then an entity of it, as an object word is of its class."""

    def class_of(self, label: str) -> str | None:
        """The detector class an entity of ``label`` is an object of (the person type's is person)."""
        return self.classes.get(label) or ("person" if label == self.person else None)

    def seen_label(self, cls: str) -> str | None:
        """The one label a class seen but not written is typed with (the label that names it itself)."""
        named = [label for label, c in self.seen.items() if c == cls]
        itself = [label for label in named if normalise_words(label) in forms(cls)]
        chosen = itself or named
        return chosen[0] if chosen else None

    def label_of(self, mention: Mention) -> str:
        """The label a mention is typed with: the label its words are (``puppy`` for "puppies" when
        ``puppy`` is asked), else the label that names its class itself, else any of its class."""
        words = normalise_words(mention.text)
        named = [label for label, cls in self.classes.items() if cls == mention.cls]
        same = [label for label in named if words in forms(label)]
        itself = [label for label in named if normalise_words(label) in forms(mention.cls)]
        chosen = same or itself or named or ([self.person] if self.person else [])
        return chosen[0]

    def mentions(self, text: str) -> list[Mention]:
        """Mentions of the requested classes that are object words (``Lexicon.object_mentions``), and
        the person words when the person type stands beside object classes."""
        wanted = set(self.classes.values()) | ({"person"} if self.person else set())
        return self.lexicon.object_mentions(text, wanted)


def _labels(request: RefineRequest, vocabulary: Vocabulary) -> ObjectLabels:
    lexicon = coco_lexicon()
    classes: dict[str, str] = {}
    extra: dict[str, tuple[str, ...]] = {}
    for label in request.labels.entity_types:
        cls = vocabulary.detector_class(label)
        if cls is None:
            continue
        classes[label] = cls
        if cls not in lexicon.classes:  # an open vocabulary's own words: the label and its plural
            extra[cls] = (cls,)
    if extra:
        lexicon = Lexicon({**{c: lexicon.words_of(c) for c in lexicon.classes}, **extra})
    seen = dict(classes)
    person = map_label("PERSON", request.labels.entity_types) if classes else None
    if person is not None:
        seen[person] = "person"
    return ObjectLabels(classes, lexicon, seen, person)


def _media_modules(call_schemas: Mapping[str, dict[str, object]]) -> dict[str, str]:
    """The grounding module of each image and video the request can ground in."""
    out: dict[str, str] = {}
    for module, schema in call_schemas.items():
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            continue
        for target in properties.get("target", {}).get("enum", []):
            if str(target).split(":")[0] in VISUAL:
                out.setdefault(str(target), module)
    return out


def _detected(perception: Perception) -> dict[str, set[str]]:
    """Every class detected in each image, and on any sampled frame of each video."""
    seen = {mid: {o.label for o in img.objects} for mid, img in perception.images.items()}
    for mid, video in perception.videos.items():
        seen[mid] = {o.label for frame in video.frames for o in frame.objects}
    return seen


def _prominent(perception: Perception) -> dict[str, set[str]]:
    """The subjects of each image and video (``subjects``: not the far pedestrians behind a car)."""
    found = {mid: image_subjects(img) for mid, img in perception.images.items()}
    found.update({mid: video_subjects(video) for mid, video in perception.videos.items()})
    return found


def _subjects(perception: Perception, prominent: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """The classes seen and worth an entity of their own: all in an image, a video's subjects only."""
    seen = {mid: {o.label for o in img.objects} for mid, img in perception.images.items()}
    seen.update({mid: prominent[mid] for mid in perception.videos})
    return seen


class ObjectRefiner:
    """Types, grounds and completes the mentions of object classes a request's labels name."""

    name = "objects"

    def __init__(self, vocabulary: Vocabulary = COCO_VOCABULARY) -> None:
        self.vocabulary = vocabulary

    @classmethod
    def from_setup(cls, setup: RefinerSetup) -> ObjectRefiner:
        """``refiner_options.objects.vocabulary``: ``auto`` (the default: the image segmentation backend's,
        COCO-80 for the embedded one, any phrase for an open-vocabulary one), ``coco`` or ``open`` (the
        labels' own words count as classes too)."""
        from reamo.errors import ConfigError
        from reamo.tools.vision.backends import vocabulary

        unknown = sorted(set(setup.options) - set(OPTIONS))
        if unknown:
            raise ConfigError(
                f"refiner_options.objects has unknown setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(OPTIONS)}."
            )
        choice = str(setup.options.get("vocabulary", "auto"))
        if choice not in ("auto", "coco", "open"):
            raise ConfigError(
                f"refiner_options.objects.vocabulary is {choice!r}; use 'auto', 'coco' or 'open'."
            )
        if choice == "auto":
            return cls(vocabulary(setup.config.tools.get("image.segment.v1", {})))
        return cls(OPEN_VOCABULARY if choice == "open" else COCO_VOCABULARY)

    def describe(self) -> BackendInfo:
        vocabulary = "open vocabulary" if self.vocabulary.open else "COCO-80 classes"
        return BackendInfo(
            role="refiner",
            name=self.name,
            detail=f"object classes among the labels ({vocabulary}, synonyms, plurals): typed, grounded "
            "where seen, added where only seen",
        )

    def applies(self, request: RefineRequest) -> bool:
        return request.task in ("ner", "re", "ee") and bool(_labels(request, self.vocabulary).classes)

    def replaces(self, request: RefineRequest) -> frozenset[str]:
        return frozenset()

    def refine(self, request: RefineRequest) -> Refinement:
        draft = Draft(request, self.name)
        labels = _labels(request, self.vocabulary)
        modules = _media_modules(request.call_schemas)
        detected = _detected(request.perception)
        text = request.text or ""
        mentions = labels.mentions(text)
        written = {m.cls for m in mentions}
        _drop_non_words(draft, labels, mentions, text)
        stand_ins: set[tuple[str, str]] = set()  # (class, medium) a written sibling class was grounded on
        typed: set[str] = set()
        for mention in mentions:
            label = labels.label_of(mention)
            entity = _entity_for(draft, labels, mention, label, text)
            if entity is None or entity.id in typed:
                continue
            typed.add(entity.id)
            seen_in = []
            cls = labels.class_of(label)
            for mid, classes in detected.items():
                found = _seen_as(cls, classes, written) if mid in modules and cls else None
                if found is not None:
                    seen_in.append(mid)
                    stand_ins.add((found, mid))
            _ground(draft, entity, seen_in, modules, unchecked=cls != "person" and self._unchecked(label))
        prominent = _prominent(request.perception)
        if labels.person is not None:
            _ground_names(draft, labels.person, typed, prominent, text)
        if not self.vocabulary.open:
            _keep_text_types_in_text(draft, labels)
        seen = _subjects(request.perception, prominent)
        _add_seen_only(draft, labels, seen, modules, request.call_schemas, stand_ins)
        return draft.finish()

    def _unchecked(self, label: str) -> bool:
        """A label perception cannot check (an open vocabulary's class outside COCO-80): its written
        mentions are sent to the tools, which say whether it is there."""
        return self.vocabulary.open and COCO_VOCABULARY.detector_class(label) is None


def _seen_as(cls: str, classes: set[str], written: set[str]) -> str | None:
    """The class detected there that stands for ``cls``: itself, or a class the detector confuses it
    with and that is not written too (a cat called "dog": ImageSegmentation takes the sibling when the
    class itself is not found); None when neither was detected."""
    if cls in classes:
        return cls
    return next((s for s in sorted(CONFUSABLE.get(cls, ())) if s in classes and s not in written), None)


def _entity_for(draft: Draft, labels: ObjectLabels, mention: Mention, label: str, text: str) -> Entity | None:
    """The entity of a written mention, typed ``label``: the planner's entity of these words (retyped if
    it had another type), or one whose words hold the mention ("the black dog"), or a new one. None
    when the mention is part of a name the planner found ("Hot Dog Heaven", organization), or is
    capitalised and the planner typed it as a name ("Apple" at a sentence's start, organization)."""
    key = normalise(mention.text)
    capitalised = mention.text[:1].isupper() and not mention.text.isupper()
    for entity in draft.entities:
        if _bare(entity.text) == key:
            if capitalised and entity.label not in labels.classes and entity.label != label:
                return None  # "Apple" the planner typed organization: a name it saw, left as it is
            draft.retype(entity, label)
            return entity
    for entity in draft.entities:
        holds = len(normalise(entity.text)) > len(key) and any(
            s <= mention.start and mention.end <= e for s, e in find_spans(text, entity.text)
        )
        if not holds:
            continue
        if mention.cls == "person" and _is_name(entity.text, text):
            return None  # "Rider Strong", "the Kite Surfers Club": a name that holds a person word
        if labels.class_of(entity.label) is not None:
            return entity if entity.label == label else None
        if _is_name(entity.text, text):
            return None
        draft.retype(entity, label)
        return entity
    return draft.add_entity(mention.text, label, why=f"{mention.text!r} names the {label} class")


def _bare(words: str) -> str:
    """Words without the determiners before them: "the cow" -> "cow"."""
    parts = normalise(words).split()
    while len(parts) > 1 and parts[0] in DETERMINERS:
        parts = parts[1:]
    return " ".join(parts)


def _is_name(words: str, text: str) -> bool:
    """Capitalised words beyond the determiners, other than a first word that starts a sentence."""
    content = [(i, w) for i, w in enumerate(words.split()) if w.lower() not in DETERMINERS]
    capitals = [i for i, w in content if w[:1].isupper()]
    if not capitals:
        return False
    spans = find_spans(text, words)
    return capitals != [0] or not spans or not all(sentence_start(text, s) for s, _ in spans)


def _drop_non_words(draft: Draft, labels: ObjectLabels, mentions: Sequence[Mention], text: str) -> None:
    """Drops the planner's entities typed with an object label whose words name no object of it: a
    determiner or a lower-case word (``A``, ``golden`` of "A golden retriever"), or words that sit
    beside a mention of the class. A capitalised name stays (``Rex`` the dog)."""
    lexicon = labels.lexicon
    drop: list[str] = []
    for entity in draft.entities:
        cls = labels.classes.get(entity.label)
        if cls is None or lexicon.mentions(entity.text, [cls]):
            continue
        spans = find_spans(text, entity.text)
        beside = any(
            m.cls == cls and (abs(m.start - e) <= 1 or abs(s - m.end) <= 1 or (s < m.end and m.start < e))
            for m in mentions
            for s, e in spans
        )
        words = normalise(entity.text).split()
        common = not any(ch.isupper() for ch in entity.text) or all(w in DETERMINERS for w in words)
        if spans and (beside or common or len(entity.text.strip()) < 2):
            drop.append(entity.id)
    draft.drop_entities(drop, "its words name no object of its class")


def _ground(
    draft: Draft,
    entity: Entity,
    seen_in: Sequence[str],
    modules: Mapping[str, str],
    *,
    unchecked: bool = False,
) -> None:
    """One call on each medium where the entity's class was seen (the planner's own, when it made one
    with the right module), none on an image or a video where it was not; a concept while any call is
    left (speech keeps its own)."""
    targets = list(modules) if unchecked else list(seen_in)
    kept: list[MetaResponse] = []
    for target in targets:
        mine = [c for c in draft.calls if c.concept == entity.id and c.target == target]
        call = next((c for c in mine if c.module == modules[target]), None)
        kept.append(
            call
            or MetaResponse(module=modules[target], instruction=entity.text, target=target, concept=entity.id)
        )
    dropped = [
        c
        for c in draft.calls
        if c.concept == entity.id and c.target.split(":")[0] in VISUAL and c not in kept
    ]
    draft.calls = [c for c in draft.calls if c.concept != entity.id or c.target.split(":")[0] not in VISUAL]
    draft.calls += kept
    others = any(c.concept == entity.id for c in draft.calls if c not in kept)
    was = entity.concept
    entity.concept = bool(kept) or others
    if kept and not was:
        where = ", ".join(c.target for c in kept)
        draft.effect(
            "grounded", f"{entity.text!r} ({entity.label}) is written and seen in {where}", entity.id
        )
    elif dropped or (was and not entity.concept):
        gone = ", ".join(sorted({c.target for c in dropped})) or "the media"
        draft.effect(
            "not_seen", f"{entity.text!r} ({entity.label}) is written but not seen in {gone}", entity.id
        )


def _ground_names(
    draft: Draft, person: str, words: set[str], prominent: Mapping[str, set[str]], text: str
) -> None:
    """A named person (an entity of the person type written in ``text`` that no person word of ``words``
    is) keeps an image or a video call only where people are among its ``prominent`` classes and no
    person word written is grounded (in "Leo Martin filmed a cyclist" the cyclist is the one seen).
    Elsewhere the name is text only, and the people seen are entities of their own."""
    people = {e.id for e in draft.entities if e.id in words and e.label == person}
    described = {c.target for c in draft.calls if c.concept in people}

    def why(target: str) -> str | None:
        if target in described:
            return "a person word written is grounded there"
        return None if "person" in prominent.get(target, ()) else "no person is a subject there"

    for entity in draft.entities:
        if entity.label == person and entity.id not in words and find_spans(text, entity.text):
            _drop_visual_calls(draft, entity, "name_not_grounded", why)


def _keep_text_types_in_text(draft: Draft, labels: ObjectLabels) -> None:
    """Drops the image and video calls of entities of a named-entity type other than the person type
    (a place, an organisation: ``is_named_entity_type``): no class of a closed vocabulary is one, so a
    COCO-80 detector could only ground them on some other class ("Valencia" read as a person's name)."""
    for entity in draft.entities:
        if labels.class_of(entity.label) is None and is_named_entity_type(entity.label):
            reason = f"no class the detector sees is a {entity.label}"
            _drop_visual_calls(draft, entity, "text_type_not_grounded", lambda _: reason)  # noqa: B023


def _drop_visual_calls(draft: Draft, entity: Entity, what: str, why: Callable[[str], str | None]) -> None:
    """Drops the entity's image and video calls on the targets ``why`` gives a reason for, one ``what``
    effect each; the entity stays a concept while any call is left."""
    dropped = False
    for call in [c for c in draft.calls if c.concept == entity.id and c.target.split(":")[0] in VISUAL]:
        reason = why(call.target)
        if reason is None:
            continue
        draft.calls.remove(call)
        dropped = True
        draft.effect(
            what, f"{entity.text!r} ({entity.label}) is not grounded in {call.target}: {reason}", entity.id
        )
    if dropped:
        entity.concept = any(c.concept == entity.id for c in draft.calls)


def _add_seen_only(
    draft: Draft,
    labels: ObjectLabels,
    seen: Mapping[str, set[str]],
    modules: Mapping[str, str],
    call_schemas: Mapping[str, dict[str, object]],
    stand_ins: set[tuple[str, str]],
) -> None:
    """An entity for each requested class seen in a medium where no entity of it has a call (and that
    no written sibling class was grounded on): grounded there, on every instance in an image (merge
    makes each its own entity)."""
    for label, cls in labels.seen.items():
        media = [
            mid
            for mid, classes in seen.items()
            if cls in classes and mid in modules and (cls, mid) not in stand_ins
        ]
        covered = {
            c.target
            for c in draft.calls
            for e in draft.entities
            if c.concept == e.id and labels.seen.get(e.label) == cls
        }
        where = [mid for mid in media if mid not in covered]
        if not where or labels.seen_label(cls) != label:
            continue
        text = cls  # its class name, as the validator names what it sees
        entity = draft.add_entity(text, label, why=f"a {cls} is seen in {', '.join(where)} and not written")
        entity.concept = True
        for mid in where:
            properties = call_schemas[modules[mid]].get("properties")
            every = isinstance(properties, dict) and "instances" in properties and mid.startswith("image")
            draft.calls.append(
                MetaResponse(
                    module=modules[mid],
                    instruction=text,
                    target=mid,
                    concept=entity.id,
                    options={"instances": "all"} if every else {},
                )
            )


def objects_refiner(setup: RefinerSetup) -> ObjectRefiner:
    """The built-in ``objects`` refiner's factory (``refiner_options.objects``: ``vocabulary``)."""
    return ObjectRefiner.from_setup(setup)
