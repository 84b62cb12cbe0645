"""Text suites from ``../shared/data/text``: Twitter-2017, WNUT-17 and CoNLL-2003 test (NER), MNRE test
(RE) and the M2E2 multimedia sentences (EE). Formats are described in each folder's SOURCE.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reamo.errors import SuiteError
from reamo.evaluation.builders.common import BuildStats, sample
from reamo.evaluation.suite import (
    Gold,
    GoldArgument,
    GoldEntity,
    GoldEvent,
    GoldRelation,
    GoldTrigger,
    SuiteInputs,
    SuiteInstance,
)
from reamo.finetune.corpora import mnre_groups, mnre_types
from reamo.schemas import LabelSchema
from reamo.schemas.labels import (
    DEFAULT_ARGUMENT_ROLES,
    DEFAULT_ENTITY_TYPES,
    DEFAULT_EVENT_TYPES,
    DEFAULT_RELATION_TYPES,
)

FOUR_TYPES = {"PER": "person", "LOC": "location", "ORG": "organization", "MISC": "miscellaneous"}
WNUT_TYPES = ("person", "location", "group", "corporation", "creative-work", "product")
# M2E2 (ACE) entity types onto the four benchmark types, as the spaCy planner maps OntoNotes.
ACE_TYPES = {
    "PER": "person",
    "ORG": "organization",
    "GPE": "location",
    "LOC": "location",
    "FAC": "location",
    "VEH": "miscellaneous",
    "WEA": "miscellaneous",
    "VALUE": "miscellaneous",
}


@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str]
    image_id: str | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    def offsets(self) -> list[tuple[int, int]]:
        """Character ``[start, end)`` of each token in ``text``."""
        out, pos = [], 0
        for token in self.tokens:
            out.append((pos, pos + len(token)))
            pos += len(token) + 1
        return out


def _need(path: Path) -> Path:
    if not path.is_file():
        raise SuiteError(
            f"{str(path)!r} is missing: --data must be the benchmark sources folder (../shared/data) "
            "with the layout its README.md describes."
        )
    return path


def read_conll(path: Path) -> Iterator[Sentence]:
    """Token-per-line BIO files: tab- or space-separated, blank (or whitespace-only) lines between
    sentences, ``IMGID:`` headers (Twitter) and ``-DOCSTART-`` lines (CoNLL) skipped."""
    sentence = Sentence([], [])
    for line in _need(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if sentence.tokens:
                yield sentence
            sentence = Sentence([], [], sentence.image_id if not sentence.tokens else None)
            continue
        if line.startswith("IMGID:"):
            sentence.image_id = line[len("IMGID:") :].strip()
            continue
        parts = line.split("\t") if "\t" in line else line.split(" ")
        if parts[0] == "-DOCSTART-":
            continue
        sentence.tokens.append(parts[0])
        sentence.tags.append(parts[-1].strip())
    if sentence.tokens:
        yield sentence


def chunks(tags: list[str]) -> list[tuple[int, int, str]]:
    """Entity chunks ``(first token, end token, type)`` conlleval-style: an I- tag after O or another type
    starts a chunk (CoNLL-2003's IOB1 leftovers)."""
    out: list[tuple[int, int, str]] = []
    start, kind = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, label = tag.partition("-")
        begins = prefix == "B" or (prefix == "I" and label != kind)
        if kind and (prefix == "O" or begins):
            out.append((start, i, kind))
            kind = ""
        if begins:
            start, kind = i, label
    return out


def ner_instances(
    sentences: list[Sentence], prefix: str, types: dict[str, str] | None, schema: LabelSchema
) -> Iterator[tuple[int, SuiteInstance]]:
    for n, sentence in enumerate(sentences):
        offsets, text = sentence.offsets(), sentence.text
        entities = []
        for k, (first, end, kind) in enumerate(chunks(sentence.tags), 1):
            span = (offsets[first][0], offsets[end - 1][1])
            label = types[kind] if types is not None else kind
            entities.append(GoldEntity(id=f"e{k}", text=text[span[0] : span[1]], label=label, text_span=span))
        yield (
            n,
            SuiteInstance(
                id=f"{prefix}-{n:04d}",
                task="ner",
                inputs=SuiteInputs(text=text),
                labels=schema,
                gold=Gold(entities=entities),
            ),
        )


def _ner_suite(
    path: Path, prefix: str, types: dict[str, str] | None, schema: LabelSchema, limit: int | None
) -> tuple[list[SuiteInstance], BuildStats]:
    sentences = list(read_conll(path))
    chosen = sample(len(sentences), limit)
    instances = [inst for n, inst in ner_instances(sentences, prefix, types, schema) if n in chosen]
    return instances, BuildStats(source=str(path), available=len(sentences), written=len(instances))


def build_twitter2017(data: Path, out: Path, limit: int | None) -> tuple[list[SuiteInstance], BuildStats]:
    schema = LabelSchema(entity_types=list(DEFAULT_ENTITY_TYPES))
    return _ner_suite(data / "text/twitter2017/test.txt", "twitter2017-test", FOUR_TYPES, schema, limit)


def build_wnut17(data: Path, out: Path, limit: int | None) -> tuple[list[SuiteInstance], BuildStats]:
    schema = LabelSchema(entity_types=list(WNUT_TYPES))
    return _ner_suite(data / "text/wnut17/emerging.test.annotated", "wnut17-test", None, schema, limit)


def build_conll2003(data: Path, out: Path, limit: int | None) -> tuple[list[SuiteInstance], BuildStats]:
    schema = LabelSchema(entity_types=list(DEFAULT_ENTITY_TYPES))
    return _ner_suite(data / "text/conll2003/test.txt", "conll2003-test", FOUR_TYPES, schema, limit)


# --------------------------------------------------------------------------
# MNRE: entity-pair records grouped into one instance per tweet
# --------------------------------------------------------------------------


def build_mnre(data: Path, out: Path, limit: int | None) -> tuple[list[SuiteInstance], BuildStats]:
    """One instance per tweet: its head and tail entities are the gold entities, its non-``None``
    relations the gold relations. Entity types come from the relation label (``/per/org/...``); an
    entity that is only in ``None`` pairs is ``miscellaneous`` (it takes part in no gold triple)."""
    path = _need(data / "text/mnre_v2/mnre_test.txt")
    groups = mnre_groups(path)
    stats = BuildStats(source=str(path), available=len(groups))
    schema = LabelSchema(entity_types=list(DEFAULT_ENTITY_TYPES), relation_types=list(DEFAULT_RELATION_TYPES))
    chosen = sample(len(groups), limit)
    instances = []
    for n, ((text, _), records) in enumerate(groups.items()):
        if n not in chosen:
            continue
        offsets = Sentence(records[0]["token"], []).offsets()
        ids: dict[tuple[int, int], str] = {}
        labels: dict[tuple[int, int], str] = {}
        relations = []
        for record in records:
            ends = []
            for side, kind in zip(("h", "t"), mnre_types(record["relation"]), strict=True):
                first, end = record[side]["pos"]
                span = (offsets[first][0], offsets[end - 1][1])
                ids.setdefault(span, f"e{len(ids) + 1}")
                if kind is not None:
                    if labels.get(span, kind) != kind:
                        stats.notes.append(f"{text[span[0] : span[1]]!r} typed {labels[span]} and {kind}")
                    labels.setdefault(span, kind)
                ends.append(ids[span])
            if record["relation"] != "None":
                relations.append(GoldRelation(head=ends[0], tail=ends[1], label=record["relation"]))
        entities = [
            GoldEntity(id=i, text=text[s[0] : s[1]], label=labels.get(s, "miscellaneous"), text_span=s)
            for s, i in ids.items()
        ]
        instances.append(
            SuiteInstance(
                id=f"mnre-test-{n:04d}",
                task="re",
                inputs=SuiteInputs(text=text),
                labels=schema,
                gold=Gold(entities=entities, relations=relations),
            )
        )
    stats.written = len(instances)
    return instances, stats


# --------------------------------------------------------------------------
# M2E2: the multimedia sentences' text events
# --------------------------------------------------------------------------


def _m2e2_offsets(sentence: dict[str, Any]) -> tuple[str, list[tuple[int, int]]] | None:
    """The sentence text and each token's ``[start, end)``, from the document offsets in ``index``.

    The stored sentence often lacks its final punctuation token: it is appended. Returns None when a
    token cannot be placed."""
    text, base = sentence["sentence"], int(sentence["sentence_start"])
    offsets: list[tuple[int, int]] = []
    for word, (a, _) in zip(sentence["words"], sentence["index"], strict=True):
        start = int(a) - base
        if start >= len(text):
            text = text + " " * (start - len(text)) + word
        if text[start : start + len(word)] != word:
            found = text.find(word, offsets[-1][1] if offsets else 0)
            if found < 0:
                return None
            start = found
        offsets.append((start, start + len(word)))
    return text, offsets


def _m2e2_records(
    sentence: dict[str, Any], text: str, offsets: list[tuple[int, int]]
) -> tuple[list[GoldEntity], list[GoldEvent]]:
    """Gold entities (every entity mention, and any argument that is not one) and events."""
    entities: dict[tuple[int, int], GoldEntity] = {}

    def entity(first: int, end: int, label: str) -> str:
        s = (offsets[first][0], offsets[end - 1][1])
        if s not in entities:
            entities[s] = GoldEntity(
                id=f"e{len(entities) + 1}", text=text[s[0] : s[1]], label=label, text_span=s
            )
        return entities[s].id

    for mention in sentence["golden-entity-mentions"]:
        entity(mention["start"], mention["end"], ACE_TYPES.get(mention["entity-type"], "miscellaneous"))
    events = []
    for mention in sentence["golden-event-mentions"]:
        trigger = (offsets[mention["trigger"]["start"]][0], offsets[mention["trigger"]["end"] - 1][1])
        arguments = [
            GoldArgument(entity=entity(a["start"], a["end"], "miscellaneous"), role=a["role"])
            for a in mention["arguments"]
        ]
        events.append(
            GoldEvent(
                type=mention["event_type"],
                trigger=GoldTrigger(text=text[trigger[0] : trigger[1]], text_span=trigger),
                arguments=arguments,
            )
        )
    return list(entities.values()), events


def build_m2e2(data: Path, out: Path, limit: int | None) -> tuple[list[SuiteInstance], BuildStats]:
    path = _need(data / "text/m2e2/m2e2_annotations/text_multimedia_event.json")
    sentences = json.loads(path.read_text(encoding="utf-8"))
    stats = BuildStats(source=str(path), available=len(sentences))
    schema = LabelSchema(
        entity_types=list(DEFAULT_ENTITY_TYPES),
        event_types=list(DEFAULT_EVENT_TYPES),
        argument_roles=list(DEFAULT_ARGUMENT_ROLES),
    )
    chosen = sample(len(sentences), limit)
    instances = []
    for n, sentence in enumerate(sentences):
        if n not in chosen:
            continue
        placed = _m2e2_offsets(sentence)
        if placed is None:
            stats.notes.append(f"{sentence['sentence_id']}: tokens do not match the sentence; skipped")
            continue
        text, offsets = placed

        entities, events = _m2e2_records(sentence, text, offsets)
        instances.append(
            SuiteInstance(
                id=f"m2e2-{sentence['sentence_id']}",
                task="ee",
                inputs=SuiteInputs(text=text),
                labels=schema,
                gold=Gold(entities=entities, events=events),
            )
        )
    stats.written = len(instances)
    return instances, stats
