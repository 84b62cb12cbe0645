"""Object classes in words: which words name each class a detector knows, and which of a user's labels
are object classes.

The embedded detector knows COCO's 80 classes; each has the words that name it in text (synonyms and
plurals: ``dog`` is also "dogs", "puppy", "puppies", "hound"). A user's label is matched to a class by
its normalised text (case, spacing, hyphens and plurals aside): ``Dogs`` and ``puppy`` are the dog class,
``giraffe`` the giraffe class, ``lion`` no class (a text type: the detector cannot see it). An
open-vocabulary detector (OWLv2, Grounding DINO, SEEM) takes the label's own words instead, so every
label is something it can look for. Nothing here is keyed to a data set's label strings: only to the
user's labels and the detector's vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise, zip_longest

from reamo.tools.vision.detector import COCO_LABELS


def _words(words: str) -> frozenset[str]:
    return frozenset(words.split())


def _w(words: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in words.split(",") if w.strip())


CLASS_WORDS: dict[str, tuple[str, ...]] = {
    "person": _w(
        "people, persons, man, woman, child, kid, boy, girl, baby, toddler, adult, teenager, lady, guy, "
        "gentleman, human, pedestrian, player, rider, surfer, skier, skateboarder, snowboarder, dancer, "
        "athlete, driver, officer, soldier, worker, student, teacher, crowd, cyclist, bicyclist, biker, "
        "motorcyclist, runner, jogger, swimmer, hiker, climber, passenger, tourist, spectator, "
        "kitesurfer, kite surfer, windsurfer, police officer, firefighter, farmer, shopper, customer"
    ),
    "bicycle": _w("bike, push bike, mountain bike"),
    "car": _w("automobile, sedan, suv, taxi, cab, jeep, hatchback, minivan, racing car"),
    "motorcycle": _w("motorbike, scooter, moped, dirt bike"),
    "airplane": _w("aeroplane, plane, jet, airliner, aircraft, jetliner"),
    "bus": _w("minibus, trolleybus, school bus, double decker"),
    "train": _w("locomotive, tram, streetcar"),
    "truck": _w("lorry, pickup, pickup truck, fire truck, firetruck, dump truck"),
    "boat": _w("ship, yacht, canoe, kayak, sailboat, ferry, rowboat, speedboat"),
    "traffic light": _w("traffic signal, stoplight, stop light"),
    "fire hydrant": _w("hydrant"),
    "stop sign": (),
    "parking meter": (),
    "bench": (),
    "bird": _w(
        "swan, duck, goose, pigeon, seagull, gull, parrot, eagle, owl, sparrow, penguin, flamingo, hen"
    ),
    "cat": _w("kitten, kitty, tomcat"),
    "dog": _w(
        "puppy, pup, hound, doggy, retriever, golden retriever, terrier, poodle, labrador, spaniel, "
        "bulldog, sheepdog, german shepherd"
    ),
    "horse": _w("pony, foal, stallion, mare"),
    "sheep": _w("lamb, ewe"),
    "cow": _w("cattle, calf, bull, ox, heifer"),
    "elephant": (),
    "bear": _w("grizzly"),
    "zebra": (),
    "giraffe": (),
    "backpack": _w("rucksack, knapsack"),
    "umbrella": _w("parasol"),
    "handbag": _w("purse"),
    "tie": _w("necktie, bow tie"),
    "suitcase": _w("luggage"),
    "frisbee": _w("flying disc"),
    "skis": _w("ski"),
    "snowboard": (),
    "sports ball": _w("ball, football, soccer ball, basketball, tennis ball, volleyball"),
    "kite": (),
    "baseball bat": _w("bat"),
    "baseball glove": _w("glove, mitt"),
    "skateboard": (),
    "surfboard": _w("surf board"),
    "tennis racket": _w("racket, racquet"),
    "bottle": (),
    "wine glass": _w("wineglass, glass"),
    "cup": _w("mug, teacup"),
    "fork": (),
    "knife": (),
    "spoon": (),
    "bowl": (),
    "banana": (),
    "apple": (),
    "sandwich": _w("burger, hamburger"),
    "orange": (),
    "broccoli": (),
    "carrot": (),
    "hot dog": _w("hotdog"),
    "pizza": (),
    "donut": _w("doughnut"),
    "cake": _w("cupcake"),
    "chair": _w("armchair, stool"),
    "couch": _w("sofa, settee"),
    "potted plant": _w("plant, houseplant, pot plant"),
    "bed": (),
    "dining table": _w("table, kitchen table"),
    "toilet": (),
    "tv": _w("television, tv set, monitor, screen"),
    "laptop": _w("laptop computer"),
    "mouse": _w("computer mouse"),
    "remote": _w("remote control"),
    "keyboard": (),
    "cell phone": _w("phone, cellphone, mobile, mobile phone, smartphone"),
    "microwave": _w("microwave oven"),
    "oven": _w("stove, cooker"),
    "toaster": (),
    "sink": _w("washbasin"),
    "refrigerator": _w("fridge"),
    "book": (),
    "clock": _w("alarm clock, wall clock"),
    "vase": (),
    "scissors": _w("shears"),
    "teddy bear": _w("teddy, stuffed animal"),
    "hair drier": _w("hair dryer, hairdryer, blow dryer"),
    "toothbrush": (),
}
"""Each COCO class and the other words (singular) that name it in text; plurals are made by ``plural``."""

IRREGULAR_PLURALS: dict[str, str] = {
    "person": "people",
    "man": "men",
    "woman": "women",
    "child": "children",
    "gentleman": "gentlemen",
    "mouse": "mice",
    "knife": "knives",
    "calf": "calves",
    "goose": "geese",
    "ox": "oxen",
    "foot": "feet",
    "shelf": "shelves",
}
UNCOUNTED = frozenset(
    _w("sheep, cattle, aircraft, luggage, broccoli, skis, scissors, shears, crowd, people, persons, tv set")
)
"""Words whose plural is themselves (or that are plural already)."""

NAMED_ENTITY_TYPES = frozenset(
    _w(
        "person, per, people, human, location, loc, place, gpe, geographic location, geo-political entity, "
        "facility, organization, organisation, org, corporation, company, company or institution, group, "
        "miscellaneous, misc, other, product, creative-work, creative work, event, nationality, norp, "
        "date, time, money, value, percent, quantity, ordinal, cardinal, law, language, work of art, "
        "title, url, email, hashtag"
    )
)
"""Label names that are named-entity types, never object classes, even where a detector class shares
the word (``person``: a named person is typed so; the people a photo shows are not written names)."""

NE_PERSON_LOCATION_ORGANIZATION = frozenset(
    _w(
        "person, per, people, human, location, loc, place, gpe, geographic location, facility, "
        "organization, organisation, org, corporation, company, company or institution"
    )
)
"""The named-entity types an object word must never be typed as when the label set has a class for it."""
VERB_CUES = _words(
    "to will would can could should must may might cannot can't won't don't doesn't didn't not never"
)
VERBS = _words(
    "bear train book sink tie bat fork bowl ski ship plane duck hound ferry monitor screen table "
    "plant phone clock mug jet cab bus truck boat bike kite mouse"
)
"""Object words that are verbs too: after a word of ``VERB_CUES`` ("can't bear", "to train") they are
verbs, not objects."""


def plural(word: str) -> str:
    """The plural of a noun or noun phrase (its last word made plural): "hot dog" -> "hot dogs"."""
    head, _, last = word.rpartition(" ")
    if word in UNCOUNTED or last in UNCOUNTED:
        return word
    if last in IRREGULAR_PLURALS:
        many = IRREGULAR_PLURALS[last]
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        many = last + "es"
    elif last.endswith("y") and last[-2:-1] not in tuple("aeiou"):
        many = last[:-1] + "ies"
    else:
        many = last + "s"
    return f"{head} {many}" if head else many


def forms(words: str) -> tuple[str, str]:
    """A noun's normalised singular and plural: ``Dog`` -> (dog, dogs)."""
    w = normalise_words(words)
    return w, plural(w)


def sentence_start(text: str, start: int) -> bool:
    """Whether ``start`` begins a sentence (or a tweet's word after a mark)."""
    before = text[:start].rstrip()
    return not before or before[-1] in ".!?:;\"'(\n#@"


def normalise_words(text: str) -> str:
    """Lower case, hyphens and underscores as spaces, other punctuation dropped, spaces collapsed."""
    return " ".join(re.sub(r"[^a-z0-9 ]", "", re.sub(r"[-_/]", " ", text.lower())).split())


@dataclass(frozen=True)
class Mention:
    """A whole-word mention of an object class in a text: its offsets, the slice and the class."""

    start: int
    end: int
    text: str
    cls: str


class Lexicon:
    """The words of every class (names, synonyms, plurals) and the matching of words to classes."""

    def __init__(self, classes: Mapping[str, Sequence[str]]) -> None:
        self.classes = tuple(classes)
        self.forms: dict[str, str] = {}
        for cls in classes:  # the class's own name wins over another class's synonym
            for form in (cls, plural(cls)):
                self.forms[normalise_words(form)] = cls
        for cls, words in classes.items():
            for word in words:
                for form in (word, plural(word)):
                    self.forms.setdefault(normalise_words(form), cls)
        self.longest = max(len(form.split()) for form in self.forms)

    def synonyms(self) -> dict[str, str]:
        """The forms that are not a class's own name (``puppies`` -> dog, ``people`` -> person)."""
        return {form: cls for form, cls in self.forms.items() if form not in self.classes}

    def words_of(self, cls: str) -> list[str]:
        """Every form that names ``cls``, longest first."""
        return sorted((f for f, c in self.forms.items() if c == cls), key=lambda f: (-len(f), f))

    def class_of(self, words: str) -> str | None:
        """The class ``words`` name as a whole (``"Puppies"`` -> dog), or None."""
        return self.forms.get(normalise_words(words))

    def mentions(self, text: str, classes: Iterable[str] | None = None) -> list[Mention]:
        """Whole-word mentions of ``classes`` (all by default) in ``text``, longest match first, in order.
        ``golden`` or ``A`` never match; ``hot dogs`` is one mention of the hot dog class."""
        wanted = set(self.classes if classes is None else classes)
        tokens = [(m.start(), m.end(), m.group().lower()) for m in re.finditer(r"[A-Za-z0-9]+", text)]
        out: list[Mention] = []
        i = 0
        while i < len(tokens):
            for size in range(min(self.longest, len(tokens) - i), 0, -1):
                span = tokens[i : i + size]
                if any(re.search(r"[^\s\-]", text[a[1] : b[0]]) for a, b in pairwise(span)):
                    continue  # the words of a form are joined by spaces or hyphens only
                cls = self.forms.get(" ".join(t[2] for t in span))
                if cls is not None and cls in wanted:
                    start, end = span[0][0], span[-1][1]
                    out.append(Mention(start, end, text[start:end], cls))
                    i += size
                    break
            else:
                i += 1
        return out

    def object_mentions(self, text: str, classes: Iterable[str] | None = None) -> list[Mention]:
        """The ``mentions`` that are object words: not part of a name (``Apple``, ``Chicago Bulls``:
        capitalised inside a sentence), not a verb (``to train``), not a word before another object word
        (the "dog" of "dog bed", the "orange" of "orange car")."""
        every = self.mentions(text)
        wanted = set(self.classes if classes is None else classes)
        return [
            m
            for m, after in zip_longest(every, every[1:])
            if m.cls in wanted
            and _common_noun(text, m)
            and not (after is not None and not text[m.end : after.start].strip())
        ]


def _common_noun(text: str, mention: Mention) -> bool:
    words = re.findall(r"[A-Za-z']+", text[: mention.start])
    if words and words[-1].lower() in VERB_CUES and normalise_words(mention.text) in VERBS:
        return False
    if not mention.text[:1].isupper() or mention.text.isupper() or sentence_start(text, mention.start):
        return True  # lower case, an acronym ("TV"), or a sentence's first word
    letters = [ch for ch in text if ch.isalpha()]
    return sum(ch.isupper() for ch in letters) > 0.5 * len(letters)  # a text in capitals: any word is


@cache
def coco_lexicon() -> Lexicon:
    """The lexicon of the embedded detector's COCO-80 classes."""
    return Lexicon(CLASS_WORDS)


@dataclass(frozen=True)
class Vocabulary:
    """What a detector can be asked for: a closed set of class names (COCO-80 for the embedded
    CenterNet), or any phrase (``classes`` None: an open-vocabulary detector takes the label's words)."""

    classes: tuple[str, ...] | None

    @property
    def open(self) -> bool:
        return self.classes is None

    def detector_class(self, label: str) -> str | None:
        """What the detector looks for when asked for ``label``: the class the label names (through
        the lexicon: plurals and synonyms), the label's own words for an open vocabulary when the
        lexicon knows none, or None when the detector cannot see it (a text type)."""
        if is_named_entity_type(label):
            return None
        cls = coco_lexicon().class_of(label)
        if self.classes is None:
            return cls or normalise_words(label) or None
        return cls if cls in self.classes else None


COCO_VOCABULARY = Vocabulary(tuple(COCO_LABELS))
OPEN_VOCABULARY = Vocabulary(None)


def is_named_entity_type(label: str) -> bool:
    """Whether ``label`` is a named-entity type (person, location, ...) rather than an object class."""
    return normalise_words(label) in {normalise_words(t) for t in NAMED_ENTITY_TYPES}


def object_labels(labels: Sequence[str], vocabulary: Vocabulary = COCO_VOCABULARY) -> dict[str, str]:
    """The requested labels that are object classes the detector can see, each with its class
    (``["person", "dogs", "lion"]`` -> ``{"dogs": "dog"}``: person is a named-entity type, lion a
    text type the COCO detector cannot see)."""
    out: dict[str, str] = {}
    for label in labels:
        cls = vocabulary.detector_class(label)
        if cls is not None:
            out[label] = cls
    return out


def label_for_class(cls: str, labels: Sequence[str]) -> str | None:
    """The requested label a detector class stands for: the label that names the class itself first
    (``dog`` before ``puppy``), then one that names it through a synonym; None when no label does."""
    named = [
        label for label in labels if not is_named_entity_type(label) and coco_lexicon().class_of(label) == cls
    ]
    exact = [label for label in named if normalise_words(label) in (cls, plural(cls))]
    chosen = exact or named
    return chosen[0] if chosen else None
