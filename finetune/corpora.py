"""Readers of the public IE corpora used for tuning (training splits only), into one typed form.

Each reader returns ``Sentence`` records: the text, entities with character spans, relations between
entity texts and events with triggers and arguments. Offsets are character offsets into ``text``.
Scored splits (Twitter-2017 test, MNRE test, the M2E2 multimedia sentences, coco128, DAVIS) are never
read here; the training splits of the scored corpora (Twitter-2017 train, MNRE train) are.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Corpus tags -> the project's generic NER labels (the Twitter/CoNLL convention).
TAG_LABELS = {
    "PER": "person",
    "PERSON": "person",
    "person": "person",
    "LOC": "location",
    "location": "location",
    "GPE": "location",
    "FAC": "location",
    "ORG": "organization",
    "organization": "organization",
    "corporation": "organization",
    "group": "organization",
    "MISC": "miscellaneous",
    "OTHER": "miscellaneous",
    "creative-work": "miscellaneous",
    "product": "miscellaneous",
    "VEH": "miscellaneous",
    "WEA": "miscellaneous",
}


@dataclass(frozen=True)
class Mention:
    text: str
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class Triple:
    head: str
    label: str
    tail: str


@dataclass(frozen=True)
class EventMention:
    trigger: str
    type: str
    arguments: tuple[tuple[str, str], ...]  # (argument text, role)


@dataclass
class Sentence:
    """One training sentence of some corpus."""

    corpus: str
    id: str
    text: str
    entities: list[Mention] = field(default_factory=list)
    relations: list[Triple] = field(default_factory=list)
    events: list[EventMention] = field(default_factory=list)


def _detokenise(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join tokens with single spaces; return the text and each token's character span."""
    spans, pos = [], 0
    for tok in tokens:
        spans.append((pos, pos + len(tok)))
        pos += len(tok) + 1
    return " ".join(tokens), spans


def read_bio(path: Path, corpus: str, *, label_map: dict[str, str] | None = None) -> Iterator[Sentence]:
    """CoNLL-style files: a token and a tag per line (space or tab), blank lines between sentences.

    Accepts BIO and IOB1 (an ``I-`` after ``O`` or another type starts an entity); lines such as
    ``IMGID:123`` (Twitter) and ``-DOCSTART-`` are skipped. Tags map to labels through ``label_map``.
    """
    label_map = TAG_LABELS if label_map is None else label_map
    tokens: list[str] = []
    tags: list[str] = []
    n = 0

    def flush() -> Sentence | None:
        nonlocal n
        if not tokens:
            return None
        text, spans = _detokenise(tokens)
        entities, current = [], None
        for i, tag in enumerate([*tags, "O"]):
            prefix, _, kind = tag.partition("-")
            starts = prefix == "B" or (prefix == "I" and (current is None or current[1] != kind))
            if current is not None and (prefix == "O" or starts):
                first, label_tag, last = current
                label = label_map.get(label_tag)
                if label:
                    start, end = spans[first][0], spans[last][1]
                    entities.append(Mention(text[start:end], label, start, end))
                current = None
            if starts:
                current = (i, kind, i)
            elif prefix == "I" and current is not None:
                current = (current[0], current[1], i)
        n += 1
        return Sentence(corpus=corpus, id=f"{corpus}-{n}", text=text, entities=entities)

    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if not parts or line.startswith(("-DOCSTART-", "IMGID:")):
            if not parts and (s := flush()):
                yield s
                tokens, tags = [], []
            continue
        tokens.append(parts[0])
        tags.append(parts[-1] if len(parts) > 1 else "O")
    if s := flush():
        yield s


def read_casrel(path: Path, corpus: str) -> Iterator[Sentence]:
    """CasRel JSON (WebNLG, NYT): ``[{"text", "triple_list": [[head, relation, tail], ...]}]``.

    These corpora give no entity types: heads and tails become entities labelled ``entity``.
    """
    for n, row in enumerate(json.loads(path.read_text(encoding="utf-8")), 1):
        text = row["text"]
        triples = [Triple(h, r, t) for h, r, t in row["triple_list"] if h in text and t in text]
        names = dict.fromkeys(x for t in triples for x in (t.head, t.tail))
        entities = [Mention(name, "entity", text.index(name), text.index(name) + len(name)) for name in names]
        yield Sentence(corpus=corpus, id=f"{corpus}-{n}", text=text, entities=entities, relations=triples)


MNRE_TYPES = {"per": "person", "org": "organization", "loc": "location", "misc": "miscellaneous"}
"""MNRE relation labels encode their entity types: ``/per/org/member_of`` is person -> organization."""


def mnre_groups(path: Path) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """MNRE's entity-pair records (Python dict literals, one a line) grouped by tweet: (text, image)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = ast.literal_eval(line)
            groups.setdefault((" ".join(record["token"]), record["img_id"]), []).append(record)
    return groups


def mnre_types(relation: str) -> tuple[str | None, str | None]:
    """The head and tail entity types a relation label names; none for ``None``."""
    if relation == "None":
        return None, None
    parts = relation.strip("/").split("/")
    return MNRE_TYPES[parts[0]], MNRE_TYPES[parts[1]]


def read_mnre(path: Path, corpus: str = "mnre") -> Iterator[Sentence]:
    """MNRE grouped into one sentence per tweet as the benchmark's MNRE suite does: entity types from
    the relation label, an entity in ``None`` pairs only is ``miscellaneous``, ``None`` pairs are no
    relation."""
    for n, ((text, _), records) in enumerate(mnre_groups(path).items(), 1):
        _, spans = _detokenise(records[0]["token"])
        seen: dict[tuple[int, int], str | None] = {}
        triples = []
        for record in records:
            ends = []
            for side, kind in zip(("h", "t"), mnre_types(record["relation"]), strict=True):
                first, end = record[side]["pos"]
                span = (spans[first][0], spans[end - 1][1])
                if seen.get(span) is None:
                    seen[span] = kind
                ends.append(text[span[0] : span[1]])
            if record["relation"] != "None":
                triples.append(Triple(ends[0], record["relation"], ends[1]))
        entities = [Mention(text[a:b], label or "miscellaneous", a, b) for (a, b), label in seen.items()]
        yield Sentence(corpus=corpus, id=f"{corpus}-{n}", text=text, entities=entities, relations=triples)


def read_m2e2_text(path: Path, *, exclude: Path | None = None) -> Iterator[Sentence]:
    """M2E2 text events (ACE types), without the sentences of ``exclude`` (the multimedia file, which
    the benchmark scores)."""
    scored = {s["sentence_id"] for s in json.loads(exclude.read_text())} if exclude else set()
    for row in json.loads(path.read_text(encoding="utf-8")):
        if row["sentence_id"] in scored:
            continue
        text, spans = _detokenise(row["words"])

        def cut(start: int, end: int, _spans: list[tuple[int, int]] = spans, _text: str = text) -> str:
            return _text[_spans[start][0] : _spans[end - 1][1]]

        entities = [
            Mention(
                cut(e["start"], e["end"]),
                TAG_LABELS.get(e["entity-type"], "miscellaneous"),
                spans[e["start"]][0],
                spans[e["end"] - 1][1],
            )
            for e in row["golden-entity-mentions"]
            if e["entity-type"] in TAG_LABELS
        ]
        events = [
            EventMention(
                cut(ev["trigger"]["start"], ev["trigger"]["end"]),
                ev["event_type"],
                tuple((cut(a["start"], a["end"]), a["role"]) for a in ev["arguments"]),
            )
            for ev in row["golden-event-mentions"]
        ]
        yield Sentence(corpus="m2e2", id=row["sentence_id"], text=text, entities=entities, events=events)


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def read_casie(folder: Path) -> Iterator[Sentence]:
    """CASIE cyber events, split into sentences; events whose trigger and arguments fall in one
    sentence are kept (arguments outside it are dropped). Arguments become typed entities."""
    for path in sorted(folder.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        content = doc["content"]
        bounds, start = [], 0
        for m in SENTENCE_END.finditer(content):
            bounds.append((start, m.start()))
            start = m.end()
        bounds.append((start, len(content)))
        events_by_sentence: dict[int, list[dict[str, Any]]] = {}
        for hopper in doc.get("cyberevent", {}).get("hopper", []):
            for ev in hopper["events"]:
                nugget = ev["nugget"]
                if content[nugget["startOffset"] : nugget["endOffset"]] != nugget["text"]:
                    continue
                for i, (a, b) in enumerate(bounds):
                    if a <= nugget["startOffset"] and nugget["endOffset"] <= b:
                        events_by_sentence.setdefault(i, []).append(ev)
        for i, evs in sorted(events_by_sentence.items()):
            a, b = bounds[i]
            text = content[a:b]
            entities: dict[str, Mention] = {}
            events = []
            for ev in evs:
                args = []
                for arg in ev.get("argument", []):
                    s, e = arg["startOffset"] - a, arg["endOffset"] - a
                    if 0 <= s < e <= len(text) and text[s:e] == arg["text"]:
                        entities.setdefault(arg["text"], Mention(arg["text"], arg["type"], s, e))
                        args.append((arg["text"], arg["role"]["type"]))
                nugget = ev["nugget"]
                events.append(EventMention(nugget["text"], str(ev["subtype"]), tuple(args)))
            yield Sentence(
                corpus="casie",
                id=f"casie-{path.stem}-{i}",
                text=text,
                entities=list(entities.values()),
                events=events,
            )
