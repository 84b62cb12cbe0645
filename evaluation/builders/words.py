"""The words the mixed-label suites write (``reamo.evaluation.builders.mixed``): a benchmark artefact.

Hand-written, fixed, and separate from the system's own object lexicon (``tools/vision/classes.py``), so
the benchmark never borrows what it measures. The names of people are made up; places and organisations
are real and well known, as named entities in news and tweets are.
"""

from __future__ import annotations

PEOPLE = (
    "Maria Lopez",
    "Tom Becker",
    "Aisha Khan",
    "Kenji Sato",
    "Olga Petrova",
    "David Mensah",
    "Lucia Rossi",
    "Sam Carter",
    "Priya Nair",
    "Jonas Berg",
    "Fatima Haddad",
    "Leo Martin",
)
PLACES = (
    "Lisbon",
    "Nairobi",
    "Toronto",
    "Kyoto",
    "Valencia",
    "Oslo",
    "Melbourne",
    "Cairo",
    "Chicago",
    "Hamburg",
    "Lima",
    "Seoul",
)
ORGANISATIONS = (
    "Reuters",
    "UNESCO",
    "Greenpeace",
    "Oxfam",
    "NASA",
    "FIFA",
    "UNICEF",
    "Interpol",
    "Airbus",
    "Amnesty International",
)
NAMED = {"person": PEOPLE, "location": PLACES, "organization": ORGANISATIONS}
"""Named entities by type: the mixed suites' text-only entities."""

_IRREGULAR: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # class: (singular words, plural words); the first singular word is the plainest
    "person": (("person",), ("people",)),
    "bicycle": (("bicycle", "bike"), ("bicycles", "bikes")),
    "motorcycle": (("motorcycle", "motorbike"), ("motorcycles", "motorbikes")),
    "airplane": (("airplane", "plane"), ("airplanes", "planes")),
    "bus": (("bus",), ("buses",)),
    "truck": (("truck", "lorry"), ("trucks", "lorries")),
    "fire hydrant": (("fire hydrant", "hydrant"), ("fire hydrants", "hydrants")),
    "bench": (("bench",), ("benches",)),
    "sheep": (("sheep",), ("sheep",)),
    "cow": (("cow",), ("cows", "cattle")),
    "dog": (("dog", "puppy"), ("dogs", "puppies")),
    "cat": (("cat", "kitten"), ("cats", "kittens")),
    "backpack": (("backpack", "rucksack"), ("backpacks", "rucksacks")),
    "handbag": (("handbag", "purse"), ("handbags", "purses")),
    "skis": (("skis",), ("skis",)),
    "sports ball": (("ball",), ("balls",)),
    "baseball glove": (("baseball glove", "mitt"), ("baseball gloves", "mitts")),
    "tennis racket": (("tennis racket", "racket"), ("tennis rackets", "rackets")),
    "wine glass": (("wine glass",), ("wine glasses",)),
    "cup": (("cup", "mug"), ("cups", "mugs")),
    "knife": (("knife",), ("knives",)),
    "sandwich": (("sandwich",), ("sandwiches",)),
    "broccoli": (("broccoli",), ("broccoli",)),
    "donut": (("donut", "doughnut"), ("donuts", "doughnuts")),
    "couch": (("couch", "sofa"), ("couches", "sofas")),
    "potted plant": (("potted plant", "houseplant"), ("potted plants", "houseplants")),
    "dining table": (("dining table", "table"), ("dining tables", "tables")),
    "tv": (("television", "TV"), ("televisions", "TVs")),
    "mouse": (("computer mouse",), ("computer mice",)),
    "remote": (("remote control", "remote"), ("remote controls", "remotes")),
    "cell phone": (("cell phone", "phone"), ("cell phones", "phones")),
    "refrigerator": (("refrigerator", "fridge"), ("refrigerators", "fridges")),
    "scissors": (("scissors",), ("scissors",)),
    "hair drier": (("hair dryer",), ("hair dryers",)),
    "toothbrush": (("toothbrush",), ("toothbrushes",)),
}


def object_words(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The words that may write a COCO class: singular ones and plural ones (``dog``: dog, puppy; dogs,
    puppies); a class not listed is its own name and the name with an ``s``."""
    return _IRREGULAR.get(name, ((name,), (name + "s",)))


NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def article(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" else "a"


# Sentences of the mixed suites. {P}, {L}, {O}: a person, place, organisation; {W}: the objects written
# (a list: "a dog, two cats and a frisbee"). The person is the one who took the picture or film, never
# one in it, so the named entities are text-only. With nothing written the template has no {W}.
IMAGE_TEMPLATES = (
    "{P} shared a photo from {L} showing {W}.",
    "Photo by {P} for {O}: {W} in {L}.",
    "In {L}, {P} of {O} photographed {W}.",
    "{P} sent {O} a picture of {W}, taken near {L}.",
)
IMAGE_TEMPLATES_BARE = (
    "{P} shared a photo taken in {L}.",
    "Photo by {P} for {O}, taken in {L}.",
)
VIDEO_TEMPLATES = (
    "{P} filmed {W} in {L}.",
    "A clip for {O}: {W} near {L}, filmed by {P}.",
    "In {L}, {P} of {O} recorded {W}.",
)
VIDEO_TEMPLATES_BARE = (
    "{P} filmed this clip in {L}.",
    "A clip {P} recorded for {O} in {L}.",
)
# A sentence after the first that writes an object the media do not show ({A}: "a giraffe").
ABSENT_TEMPLATES = (
    " Sadly, {A} never turned up.",
    " {P2} had hoped to see {A}.",
    " There was no sign of {A}.",
)

DAVIS_WORDS: dict[str, tuple[tuple[str, ...], bool]] = {
    # sequence: (words that may write its one foreground, whether they are plural); from the data
    # README's suggested nouns, which are not gold (DAVIS has no categories)
    "blackswan": (("black swan", "swan"), False),
    "bmx-trees": (("BMX rider", "cyclist"), False),
    "camel": (("camel",), False),
    "car-roundabout": (("car",), False),
    "car-shadow": (("car",), False),
    "cows": (("cows", "cattle"), True),
    "dog": (("dog",), False),
    "horsejump-high": (("horse",), False),
    "kite-surf": (("kite surfer", "kitesurfer"), False),
    "libby": (("dog",), False),
}
DAVIS_ABSENT = ("elephant", "giraffe", "zebra", "bear")
"""COCO classes that none of the DAVIS videos shows: the objects a davis-mixed sentence writes but the
video lacks (the videos' backgrounds are not annotated, so only classes sure to be absent are used)."""
