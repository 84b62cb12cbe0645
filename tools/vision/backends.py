"""Segmentation backends behind one small protocol, chosen by ``config.tools[...]["backend"]``.

A backend parses the instruction, finds the instances it names (boxes) and makes their masks; the tools
pick among instances (spatial words, plurals). ``embedded`` runs offline from packages; ``owlv2-sam``,
``grounding-dino-sam`` and ``seem`` are the full-size open-vocabulary backends (``fullsize``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from reamo.errors import ConfigError
from reamo.schemas import BackendInfo, Box
from reamo.tools.protocol import Resources
from reamo.tools.vision.classes import COCO_VOCABULARY, OPEN_VOCABULARY, Vocabulary
from reamo.tools.vision.detector import MIN_SCORE
from reamo.tools.vision.phrases import SIMILARITY_FLOOR, PhraseMapper, Query

Image = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Instance:
    """One object a backend found for a query: what it is, where, how sure."""

    label: str
    box: Box
    score: float
    related: bool = False
    """A sibling class in the query's supercategory (a possible detector confusion), not the class asked."""


class SegmentBackend(Protocol):
    """Finds the instances a phrase names in an image and segments them."""

    def describe(self) -> BackendInfo: ...

    def parse(self, phrase: str) -> Query: ...

    def find(self, image: Image, query: Query, *, key: str | None = None) -> list[Instance]: ...

    def masks(self, image: Image, instances: Sequence[Instance]) -> list[Mask]: ...


class EmbeddedBackend:
    """Phrase -> COCO class (MiniLM, overrides) -> CenterNet boxes -> MediaPipe person mask or GrabCut."""

    def __init__(
        self,
        settings: Mapping[str, Any] | None = None,
        *,
        detector: Any = None,
        mapper: Any = None,
        detector_factory: Callable[[], Any] | None = None,
    ) -> None:
        settings = settings or {}
        self.min_score = float(settings.get("min_score", MIN_SCORE))
        self._detector = detector
        self._detector_factory = detector_factory
        self.mapper = mapper or PhraseMapper(floor=float(settings.get("similarity_floor", SIMILARITY_FLOOR)))
        self._person: Any = None
        self._person_loaded = False
        self._cache: OrderedDict[str, list[Any]] = OrderedDict()
        self._lock = threading.Lock()

    def describe(self) -> BackendInfo:
        return BackendInfo(
            role="tool:image.segment.v1",
            name="embedded",
            detail="MiniLM phrase->COCO class, CenterNet COCO-80 boxes, MediaPipe person mask / GrabCut",
        )

    @property
    def detector(self) -> Any:
        with self._lock:
            if self._detector is None and self._detector_factory is not None:
                self._detector = self._detector_factory()
            if self._detector is None:
                from reamo.tools.vision.detector import CenterNetDetector

                self._detector = CenterNetDetector(min_score=self.min_score)
            return self._detector

    def parse(self, phrase: str) -> Query:
        return self.mapper.parse(phrase)

    def detections(self, image: Image, key: str | None = None) -> list[Any]:
        """All detections of an image, remembered for the last few keys (one image, many concepts)."""
        if key is not None and key in self._cache:
            return self._cache[key]
        found: list[Any] = list(self.detector.detect(image, min_score=self.min_score))
        if key is not None:
            self._cache[key] = found
            while len(self._cache) > 8:
                self._cache.popitem(last=False)
        return found

    def find(self, image: Image, query: Query, *, key: str | None = None) -> list[Instance]:
        from reamo.tools.vision.detector import CONFUSABLE

        if query.label is None:
            return []
        siblings = CONFUSABLE.get(query.label, frozenset())
        return [
            Instance(d.label, d.box, d.score, related=d.label != query.label)
            for d in self.detections(image, key)
            if d.label == query.label or d.label in siblings
        ]

    def masks(self, image: Image, instances: Sequence[Instance]) -> list[Mask]:
        from reamo.tools.vision.masking import load_person_segmenter, segment_box

        if not self._person_loaded and any(i.label == "person" for i in instances):
            self._person = load_person_segmenter()
            self._person_loaded = True
        return [segment_box(image, i.box, i.label, self._person)[0] for i in instances]


BackendFactory = Callable[[Mapping[str, Any]], SegmentBackend]


def _fullsize(name: str) -> BackendFactory:
    def make(settings: Mapping[str, Any]) -> SegmentBackend:
        from reamo.tools.vision import fullsize

        return fullsize.load(name, settings)

    return make


BACKENDS: dict[str, BackendFactory] = {
    "embedded": EmbeddedBackend,
    "owlv2-sam": _fullsize("owlv2-sam"),
    "grounding-dino-sam": _fullsize("grounding-dino-sam"),
    "seem": _fullsize("seem"),
}


def vocabulary(settings: Mapping[str, Any]) -> Vocabulary:
    """What the backend a tool's settings choose can be asked for: the embedded CenterNet's COCO-80
    classes, or any phrase for the open-vocabulary ones (OWLv2, Grounding DINO, SEEM)."""
    return COCO_VOCABULARY if str(settings.get("backend", "embedded")) == "embedded" else OPEN_VOCABULARY


def get_backend(settings: Mapping[str, Any], resources: Resources) -> SegmentBackend:
    """The backend a tool's settings choose, built once per settings and shared through ``resources``."""
    name = str(settings.get("backend", "embedded"))
    if name not in BACKENDS:
        raise ConfigError(
            f"Unknown image segmentation backend {name!r}; choose one of {', '.join(BACKENDS)} "
            "(config: tools = {'image.segment.v1': {'backend': ...}})."
        )
    key = "vision.backend:" + repr(sorted((k, repr(v)) for k, v in settings.items() if k in BACKEND_KEYS))
    if name == "embedded":  # one detector and one phrase mapper for every tool and the perceivers
        floor = float(settings.get("similarity_floor", SIMILARITY_FLOOR))
        # looked up before the backend: Resources' lock is not re-entrant (factories must not call get)
        mapper = resources.get(f"vision.phrases:{floor}", lambda: PhraseMapper(floor=floor))
        factory: Callable[[], SegmentBackend] = lambda: EmbeddedBackend(  # noqa: E731
            settings, detector_factory=lambda: shared_detector(resources), mapper=mapper
        )
    else:
        factory = lambda: BACKENDS[name](settings)  # noqa: E731
    backend: SegmentBackend = resources.get(key, factory)
    return backend


BACKEND_KEYS = frozenset(
    {"backend", "min_score", "similarity_floor", "detector", "segmenter", "device", "checkpoint"}
)
"""The settings that make a different backend (others, such as a video stride, share one)."""


def shared_detector(resources: Resources) -> Any:
    """The CenterNet detector, loaded once per ``Resources`` (tools and perceivers share it)."""
    from reamo.tools.vision.detector import CenterNetDetector

    return resources.get("vision.centernet", lambda: CenterNetDetector(min_score=0.0))
