"""Tuning data in the planner's own format: the rendered prompt (``reamo.prompts.render_messages``)
and the JSON answer the validator accepts, built from training corpora only.

Two stages, as in the paper: UIE instruction data (NER, RE, EE with varied label sets and label
names, so the model learns to follow the schema it is given), and meta-response data (the same
sentences with synthetic perception of an image, audio or video, where the answer marks the
groundable entities as concepts and calls the right module on the right medium, or calls nothing
when nothing is groundable).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reamo.errors import ConfigError
from reamo.finetune import verbalise
from reamo.finetune.corpora import (
    Sentence,
    read_bio,
    read_casie,
    read_casrel,
    read_m2e2_text,
    read_mnre,
)
from reamo.prompts import render_messages
from reamo.schemas import (
    AudioPerception,
    DetectedObject,
    FramePerception,
    ImagePerception,
    Inputs,
    LabelSchema,
    Perception,
    Task,
    Transcript,
    VideoPerception,
    Word,
)
from reamo.schemas.labels import DEFAULT_ENTITY_TYPES, DEFAULT_RELATION_TYPES
from reamo.tools import ToolRegistry

WNUT_LABELS = {t: t for t in ("person", "location", "corporation", "group", "product", "creative-work")}
SYNONYMS = {
    "person": ("person", "PER", "people", "human"),
    "location": ("location", "LOC", "place", "geographic location"),
    "organization": ("organization", "ORG", "organisation", "company or institution"),
    "miscellaneous": ("miscellaneous", "MISC", "other"),
}
GROUNDING_MODULES = {"image": "ImageSegmentation", "audio": "AudioSegmentation", "video": "VideoTracking"}
"""The paper's grounding module of each medium, the one the meta-response data teaches."""
WORD_SECONDS = 0.36
GROUNDABLE_IN_IMAGE = {"person", "PER", "people", "human", "Person"}
DISTRACTORS = ("car", "chair", "cup", "dog", "bottle", "tv", "bench")


@dataclass(frozen=True)
class TuningExample:
    """One supervised example: the planner prompt and the answer it should give."""

    id: str
    corpus: str
    task: Task
    stage: str  # "uie" or "meta:<modalities>"
    messages: tuple[tuple[str, str], ...]
    answer: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "corpus": self.corpus,
            "task": self.task,
            "stage": self.stage,
            "messages": [{"role": r, "content": c} for r, c in self.messages],
            "answer": self.answer,
        }


def training_sentences(data: Path) -> dict[str, list[Sentence]]:
    """Every training sentence by corpus, from ``../shared/data`` laid out as its SOURCE.md files say."""
    text = data / "text"
    m2e2 = text / "m2e2" / "m2e2_annotations"
    return {
        "conll2003": list(read_bio(text / "conll2003" / "train.txt", "conll2003")),
        "wnut17": list(read_bio(text / "wnut17" / "wnut17train.conll", "wnut17", label_map=WNUT_LABELS)),
        "twitter2015": list(read_bio(text / "twitter2015" / "train.txt", "twitter2015")),
        "webnlg": list(read_casrel(text / "webnlg" / "train_triples.json", "webnlg")),
        "nyt": list(read_casrel(text / "nyt" / "dev_triples.json", "nyt")),
        "m2e2": list(
            read_m2e2_text(m2e2 / "text_only_event.compact.json", exclude=m2e2 / "text_multimedia_event.json")
        ),
        "casie": list(read_casie(text / "casie" / "annotation")),
        # training splits of scored corpora (their test splits are the suites): DataPlan.in_domain
        "twitter2017": list(read_bio(text / "twitter2017" / "train.txt", "twitter2017")),
        "mnre": list(read_mnre(text / "mnre_v2" / "mnre_train.txt")),
    }


def _answer(
    entities: list[dict[str, Any]],
    relations: Sequence[dict[str, Any]] = (),
    events: Sequence[dict[str, Any]] = (),
    calls: Sequence[dict[str, Any]] = (),
) -> str:
    """Compact JSON with every list present, in the schema's key order (as constrained decoding emits)."""
    answer = {
        "entities": entities,
        "relations": list(relations),
        "events": list(events),
        "calls": list(calls),
    }
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":"))


def _dedupe(entities: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(entities))


def _argument_texts(s: Sentence) -> set[str]:
    return {a for ev in s.events for a, _ in ev.arguments}


def _events(s: Sentence, listed: set[str]) -> list[dict[str, Any]]:
    """The sentence's events in the answer's form, with the arguments among the ``listed`` entities."""
    return [
        {
            "trigger": ev.trigger,
            "type": ev.type,
            "concept": False,
            "arguments": [{"text": a, "role": r} for a, r in ev.arguments if a in listed],
        }
        for ev in s.events
    ]


class Builder:
    """Turns sentences into examples with a seeded generator (deterministic per seed and sentence id)."""

    def __init__(self, registry: ToolRegistry, seed: int = 0, verbalised: float = 0.0) -> None:
        self.registry = registry
        self.seed = seed
        self.verbalised = verbalised
        present = set(registry.modules())
        self.modules = {m: name for m, name in GROUNDING_MODULES.items() if name in present}

    def _rng(self, key: str) -> random.Random:
        return random.Random(f"{self.seed}:{key}")

    def _example(
        self,
        s: Sentence,
        task: Task,
        stage: str,
        inputs: Inputs,
        labels: LabelSchema,
        perception: Perception,
        answer: str,
    ) -> TuningExample:
        key = f"{s.id}:{task}:{stage}"
        if self.verbalised and self._rng(key + ":verbalised").random() < self.verbalised:
            labels, answer = relabelled(labels, answer, self._rng(key + ":style"))
        messages = render_messages(task, inputs, labels, perception, self.registry)
        return TuningExample(
            id=key,
            corpus=s.corpus,
            task=task,
            stage=stage,
            messages=tuple((m.role, m.content) for m in messages),
            answer=answer,
        )

    def ner(self, s: Sentence, label_set: list[str]) -> TuningExample:
        """NER with a renamed, shuffled and sometimes reduced label set; the answer follows it."""
        rng = self._rng(s.id + ":ner")
        names = {
            label: rng.choice(SYNONYMS.get(label, (label,))) if rng.random() < 0.4 else label
            for label in label_set
        }
        kept = [label for label in label_set if rng.random() > 0.15] or label_set
        rng.shuffle(kept)
        entities = [
            {"text": t, "label": names[label], "concept": False}
            for t, label in _dedupe((m.text, m.label) for m in s.entities)
            if label in kept
        ]
        labels = LabelSchema(entity_types=[names[label] for label in kept])
        return self._example(s, "ner", "uie", Inputs(text=s.text), labels, Perception(), _answer(entities))

    def re(
        self,
        s: Sentence,
        relation_set: list[str],
        max_labels: int | None = 12,
        entity_types: list[str] | None = None,
    ) -> TuningExample:
        """RE with the sentence's relations among sampled distractor relation types, or with the whole
        ``relation_set`` in its order when ``max_labels`` is None (a benchmark's fixed schema)."""
        rng = self._rng(s.id + ":re")
        if max_labels is None:
            candidates = list(relation_set)
        else:
            gold = list(dict.fromkeys(t.label for t in s.relations))
            others = [r for r in relation_set if r not in gold]
            candidates = gold + rng.sample(others, min(len(others), max(0, max_labels - len(gold))))
            rng.shuffle(candidates)
        entity_types = entity_types or sorted({m.label for m in s.entities}) or ["entity"]
        entities = [
            {"text": t, "label": label, "concept": False}
            for t, label in _dedupe((m.text, m.label) for m in s.entities)
        ]
        relations = [{"head": t.head, "label": t.label, "tail": t.tail} for t in s.relations]
        labels = LabelSchema(entity_types=entity_types, relation_types=candidates)
        return self._example(
            s, "re", "uie", Inputs(text=s.text), labels, Perception(), _answer(entities, relations)
        )

    def ee(
        self, s: Sentence, event_types: list[str], roles: list[str], entity_types: list[str]
    ) -> TuningExample:
        arg_texts = _argument_texts(s)
        pairs = [(t, label) for t, label in _dedupe((m.text, m.label) for m in s.entities) if t in arg_texts]
        entities = [{"text": t, "label": label, "concept": False} for t, label in pairs]
        events = _events(s, {t for t, _ in pairs})
        labels = LabelSchema(entity_types=entity_types, event_types=event_types, argument_roles=roles)
        return self._example(
            s, "ee", "uie", Inputs(text=s.text), labels, Perception(), _answer(entities, events=events)
        )

    def meta(
        self,
        s: Sentence,
        label_set: list[str],
        variant: str,
        relation_set: list[str] | None = None,
        event_set: tuple[list[str], list[str]] | None = None,
    ) -> TuningExample | None:
        """NER with synthetic perception of one medium; ``variant`` is image, audio, text+audio or video.

        Image and video: people named in the text are seen (a detected person box each) and become
        concepts with one call each; other entities are not groundable. Audio: every entity is heard,
        so each is a concept with an AudioSegmentation call; audio alone has no text (heard, not written).
        With ``relation_set`` it is RE with that schema instead: the same concepts and calls, and the
        sentence's relations (a call's concept is always an entity, never a relation label). With
        ``event_set`` (event types, argument roles) it is EE: the entities are the events' arguments,
        with the same concepts and calls, and the sentence's events.
        """
        rng = self._rng(s.id + ":meta:" + variant)
        modality = "video" if variant == "video" else "audio" if "audio" in variant else "image"
        module = self.modules.get(modality)
        if module is None:
            return None
        arguments = _argument_texts(s) if event_set else None
        pairs = [
            (t, label)
            for t, label in _dedupe((m.text, m.label) for m in s.entities)
            if label in label_set and (arguments is None or t in arguments)
        ]
        people = [t for t, label in pairs if label in GROUNDABLE_IN_IMAGE]
        target = f"{modality}:0"
        perception = Perception()
        if modality == "audio":
            grounded = {t for t, _ in pairs}
            words, clock = [], 0.4
            for token in s.text.split():
                words.append(
                    Word(text=token, start=round(clock, 2), end=round(clock + WORD_SECONDS * 0.9, 2))
                )
                clock += WORD_SECONDS
            transcript = Transcript(text=s.text, words=words)
            perception.audio[target] = AudioPerception(
                media=target, duration=round(clock + 0.4, 2), transcript=transcript
            )
            inputs = Inputs.build(text=s.text if variant == "text+audio" else None, audio="audio.wav")
        else:
            grounded = set(people)
            objects = [
                DetectedObject(label="person", box=_box(rng), score=round(rng.uniform(0.4, 0.95), 2))
                for _ in people
            ]
            objects += [
                DetectedObject(
                    label=rng.choice(DISTRACTORS), box=_box(rng), score=round(rng.uniform(0.3, 0.8), 2)
                )
                for _ in range(rng.randint(0, 2))
            ]
            rng.shuffle(objects)
            if modality == "image":
                perception.images[target] = ImagePerception(
                    media=target, width=640, height=480, objects=objects
                )
                inputs = Inputs.build(text=s.text, image="image.jpg")
            else:
                frames = [FramePerception(frame=i * 10, objects=objects) for i in range(3)]
                perception.videos[target] = VideoPerception(
                    media=target, width=640, height=480, frame_count=30, fps=10.0, frames=frames
                )
                inputs = Inputs.build(text=s.text, video="video.mp4")
        entities = [{"text": t, "label": label, "concept": t in grounded} for t, label in pairs]
        calls = [
            {"module": module, "instruction": t, "target": target, "concept": t}
            for t, _ in pairs
            if t in grounded
        ]
        listed = {t for t, _ in pairs}
        if event_set is not None:
            event_types, roles = event_set
            labels = LabelSchema(entity_types=label_set, event_types=event_types, argument_roles=roles)
            answer = _answer(entities, events=_events(s, listed), calls=calls)
            return self._example(s, "ee", f"meta:{variant}", inputs, labels, perception, answer)
        if relation_set is None:
            return self._example(
                s,
                "ner",
                f"meta:{variant}",
                inputs,
                LabelSchema(entity_types=label_set),
                perception,
                _answer(entities, calls=calls),
            )
        relations = [
            {"head": t.head, "label": t.label, "tail": t.tail}
            for t in s.relations
            if t.head in listed and t.tail in listed
        ]
        labels = LabelSchema(entity_types=label_set, relation_types=relation_set)
        return self._example(
            s, "re", f"meta:{variant}", inputs, labels, perception, _answer(entities, relations, calls=calls)
        )


LABEL_STYLES = ("name", "title", "upper", "code", "paraphrase", "described", "mixed")
LABEL_STYLE_WEIGHTS = (0.15, 0.1, 0.1, 0.15, 0.25, 0.15, 0.1)


def relabelled(labels: LabelSchema, answer: str, rng: random.Random) -> tuple[LabelSchema, str]:
    """The same example under a user's own wording of its schema: every label written in one style drawn
    at random (bare names, title or upper case, codes, paraphrases, bare names with descriptions, or a
    mix of them per label; ``finetune/verbalise.py``), the answer's labels, types and roles renamed the
    same way. A label whose new name would clash with another's keeps its own name."""
    style = rng.choices(LABEL_STYLES, LABEL_STYLE_WEIGHTS)[0]
    kinds = ("entity_types", "relation_types", "event_types", "argument_roles")
    names: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    for kind in kinds:
        for label in getattr(labels, kind):
            if label in names:
                continue
            chosen = rng.choice(LABEL_STYLES[:-1]) if style == "mixed" else style
            bare = verbalise.bare_name(label)
            paraphrase = rng.choice(verbalise.PARAPHRASES.get(bare, (bare,)))  # drawn for every label
            new = paraphrase if chosen == "paraphrase" else verbalise.written(label, chosen)
            taken = {n.casefold() for n in names.values()}
            names[label] = label if not new.strip() or new.casefold() in taken else new
            described = labels.description(label) or verbalise.DESCRIPTIONS.get(bare)
            if described and (chosen == "described" or labels.description(label)):
                descriptions[names[label]] = described
    renamed = {kind: [names[label] for label in getattr(labels, kind)] for kind in kinds}
    data = json.loads(answer)
    for entity in data["entities"]:
        entity["label"] = names.get(entity["label"], entity["label"])
    for relation in data["relations"]:
        relation["label"] = names.get(relation["label"], relation["label"])
    for event in data["events"]:
        event["type"] = names.get(event["type"], event["type"])
        for argument in event["arguments"]:
            argument["role"] = names.get(argument["role"], argument["role"])
    new_answer = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return LabelSchema(**renamed, descriptions=descriptions), new_answer


def _box(rng: random.Random) -> tuple[float, float, float, float]:
    x0, y0 = rng.uniform(0, 480), rng.uniform(0, 320)
    return (round(x0), round(y0), round(x0 + rng.uniform(40, 160)), round(y0 + rng.uniform(60, 160)))


CORPORA = ("conll2003", "twitter2015", "wnut17", "twitter2017", "webnlg", "nyt", "mnre", "m2e2", "casie")
"""The training corpora a plan draws from (``twitter2017`` and ``mnre`` only with ``in_domain``)."""


@dataclass(frozen=True)
class DataPlan:
    """How many examples of each kind to build (a cap per corpus and task)."""

    ner_per_corpus: int = 1200
    re_per_corpus: int = 1200
    ee_per_corpus: int = 1000
    meta_per_variant: int = 400
    seed: int = 0
    in_domain: bool = False
    """Also the training splits of the scored corpora (Twitter-2017 train for NER, MNRE train for RE,
    with the suites' own label schemas); their test splits stay unseen."""
    re_negatives: float = 0.0
    """The share of the MNRE examples taken from tweets whose entity pairs are all ``None`` (answer: the
    entities and no relation); at 0 a tuned model learns that every MNRE tweet has a relation."""
    re_meta_per_variant: int = 0
    """With ``in_domain``: MNRE tweets with a relation as RE requests with an image, audio alone or text
    and audio (synthetic perception, as the NER meta-responses), this many for each medium."""
    ee_meta_per_variant: int = 0
    """M2E2 and CASIE sentences with an event as EE requests with an image, audio alone or text and
    audio, this many for each corpus and medium."""
    objects_per_variant: int = 0
    """Label sets that mix named-entity types with object classes, on text with an image or a video and
    on an image or a video alone (``finetune/objects.py``): this many examples of each."""
    verbalised: float = 0.0
    """The share of examples whose whole schema is written another way (``relabelled``: bare names, codes,
    paraphrases, casing, descriptions), the answer following it, so that the planner reads the request's
    labels rather than a corpus's strings."""
    exclude: list[str] = field(default_factory=list)
    """Corpora left out entirely, e.g. the scored ones for a zero-shot planner: ``["twitter2017", "mnre",
    "m2e2"]``."""
    per_corpus: dict[str, int] = field(default_factory=dict)
    """Caps for named corpora that replace their task's cap, e.g. ``{"mnre": 600, "webnlg": 0}`` for a
    plan that tunes a shipped adapter further on one weakness; MNRE's negatives come on top."""

    def __post_init__(self) -> None:
        if not 0 <= self.re_negatives < 1:
            raise ConfigError(f"data_plan.re_negatives is {self.re_negatives}; use a share in [0, 1).")
        if not 0 <= self.verbalised <= 1:
            raise ConfigError(f"data_plan.verbalised is {self.verbalised}; use a share in [0, 1].")
        unknown = sorted((set(self.per_corpus) | set(self.exclude)) - set(CORPORA))
        if unknown:
            raise ConfigError(
                f"data_plan.per_corpus or exclude names unknown corpora {', '.join(unknown)}; "
                f"known: {', '.join(CORPORA)}."
            )
        negative = sorted(name for name, n in self.per_corpus.items() if n < 0)
        if negative:
            raise ConfigError(f"data_plan.per_corpus caps must be 0 or more; {', '.join(negative)} is not.")

    def cap(self, corpus: str, default: int) -> int:
        """How many sentences of ``corpus`` to draw: its own cap when the plan names one."""
        return self.per_corpus.get(corpus, default)


def build_examples(
    data: Path, registry: ToolRegistry, plan: DataPlan = DataPlan()
) -> Iterator[TuningExample]:
    """All tuning examples, in a fixed order; sentences are sampled with the plan's seed."""
    corpora = {
        name: [] if name in plan.exclude else sentences
        for name, sentences in training_sentences(data).items()
    }
    builder = Builder(registry, plan.seed, plan.verbalised)
    rng = random.Random(plan.seed)

    def sample(items: list[Sentence], n: int) -> list[Sentence]:
        with_records = [s for s in items if s.entities or s.events]
        return rng.sample(with_records, min(n, len(with_records)))

    generic = ["person", "location", "organization", "miscellaneous"]
    for name in ("conll2003", "twitter2015", "wnut17"):
        label_set = list(WNUT_LABELS) if name == "wnut17" else generic
        for s in sample(corpora[name], plan.cap(name, plan.ner_per_corpus)):
            yield builder.ner(s, label_set)
    if plan.in_domain:
        for s in sample(corpora["twitter2017"], plan.cap("twitter2017", plan.ner_per_corpus)):
            yield builder.ner(s, generic)
    for name in ("webnlg", "nyt"):
        relation_set = sorted({t.label for s in corpora[name] for t in s.relations})
        for s in sample(corpora[name], plan.cap(name, plan.re_per_corpus)):
            yield builder.re(s, relation_set)
    mnre = [s for s in corpora["mnre"] if s.relations]
    if plan.in_domain:
        chosen = rng.sample(mnre, min(plan.cap("mnre", plan.re_per_corpus), len(mnre)))
        if plan.re_negatives > 0:
            negatives = [s for s in corpora["mnre"] if not s.relations]
            n = min(len(negatives), round(len(chosen) * plan.re_negatives / (1 - plan.re_negatives)))
            chosen += rng.sample(negatives, n)
        for s in chosen:
            yield builder.re(
                s, list(DEFAULT_RELATION_TYPES), max_labels=None, entity_types=list(DEFAULT_ENTITY_TYPES)
            )
    event_schemas = {}
    for name in ("m2e2", "casie"):
        sentences = [s for s in corpora[name] if s.events]
        event_types = sorted({e.type for s in sentences for e in s.events})
        roles = sorted({r for s in sentences for e in s.events for _, r in e.arguments})
        entity_types = sorted({m.label for s in sentences for m in s.entities})
        event_schemas[name] = (sentences, event_types, roles, entity_types)
        for s in sample(sentences, plan.cap(name, plan.ee_per_corpus)):
            yield builder.ee(s, event_types, roles, entity_types)

    def with_media(
        sentences: list[Sentence],
        n: int,
        label_set: list[str],
        variants: tuple[str, ...] = ("image", "audio", "text+audio"),
        relation_set: list[str] | None = None,
        event_set: tuple[list[str], list[str]] | None = None,
    ) -> Iterator[TuningExample]:
        """``n`` meta-response examples of ``sentences`` for each variant (``Builder.meta``)."""
        for variant in variants:
            for s in rng.sample(sentences, min(n, len(sentences))):
                example = builder.meta(s, label_set, variant, relation_set, event_set)
                if example is not None:
                    yield example

    people_first = [s for s in corpora["conll2003"] + corpora["twitter2015"] if s.entities]
    yield from with_media(
        people_first, plan.meta_per_variant, generic, ("image", "video", "audio", "text+audio")
    )
    if plan.in_domain and plan.re_meta_per_variant:
        entity_types, relation_types = list(DEFAULT_ENTITY_TYPES), list(DEFAULT_RELATION_TYPES)
        yield from with_media(mnre, plan.re_meta_per_variant, entity_types, relation_set=relation_types)
    if plan.ee_meta_per_variant:
        for sentences, event_types, roles, entity_types in event_schemas.values():
            event_set = (event_types, roles)
            yield from with_media(sentences, plan.ee_meta_per_variant, entity_types, event_set=event_set)
    if plan.objects_per_variant:
        from reamo.finetune.objects import object_examples

        yield from object_examples(builder, corpora, plan.objects_per_variant, plan.seed)


def write_dataset(examples: Iterable[TuningExample], out: Path) -> dict[str, Any]:
    """Write ``examples`` as JSON Lines and a data card (counts per task, stage and corpus, sha256)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    digest = hashlib.sha256()
    with out.open("w", encoding="utf-8") as f:
        for example in examples:
            line = json.dumps(example.to_json(), ensure_ascii=False, sort_keys=True) + "\n"
            f.write(line)
            digest.update(line.encode())
            counts[f"{example.task}/{example.stage}/{example.corpus}"] += 1
    card = {
        "file": out.name,
        "examples": sum(counts.values()),
        "sha256": digest.hexdigest(),
        "counts": dict(sorted(counts.items())),
    }
    out.with_suffix(".card.json").write_text(json.dumps(card, indent=2))
    return card
