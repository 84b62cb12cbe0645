"""How request labels match the experts' classes (``reamo.agent.experts``): the floors measured.

    python benchmarks/expert_matching.py [--json F]

An expert (a per-dataset scorer or tagger) serves a request label when the label's text is at least a
floor alike to one of its classes. Two kinds of label set measure a floor:

- **the same types renamed**, which should match: every label of the default schemas in each
  schema-shift variant (``reamo.evaluation.variants``: names, codes, paraphrases, described), each read
  as the refiners read it (its name, and ``name: description``), against its own class;
- **novel types**, which should not: labels a user might bring that name none of the experts' classes
  (the lists below, written for this measurement, not from any suite), against the nearest class.

For each expert and label kind it prints the lowest similarities of the renamed types (and whether their
own class was the nearest) and the highest of the novel ones, beside the floor the refiners use. Only
label text is read: no suite instance and no gold.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from reamo.agent.experts import (
    EVENT_MATCH_FLOOR,
    MATCH_FLOOR,
    PAIR_SPACE,
    TAG_SPACE,
    Expert,
    find_experts,
    form_similarities,
    linked_taggers,
)
from reamo.agent.planners.pairs import find_scorers
from reamo.agent.universal import UniversalScorer
from reamo.evaluation.variants import VARIANTS, renaming
from reamo.schemas import LabelSchema
from reamo.tools.protocol import Resources

NOVEL = {
    "entity_types": (
        "disease", "drug", "date", "gene", "protein", "chemical compound", "time", "percent",
        "software", "job title", "quantity", "medical symptom", "currency", "email address", "dish",
        "programming language",
    ),
    "event_types": (
        "Acquisition", "Resignation", "Election", "Hiring", "Product launch", "Earthquake", "Flood",
        "Vaccination", "Merger", "Bankruptcy", "Data breach", "Phishing", "Software patch", "Birth",
        "Marriage", "Divorce", "Lawsuit", "Sports match", "Concert", "Stock split", "Promotion",
        "Graduation", "Layoff", "Product recall",
    ),
    "relation_types": (
        "founded by", "capital of", "author of", "directed by", "treats", "side effect of", "price of",
        "produced by", "educated at", "owner of", "developer of", "genre of", "causes", "instance of",
    ),
    "argument_roles": (
        "seller", "price", "person resigning", "acquired company", "winner", "candidate", "voter",
        "employer", "employee", "magnitude", "damage", "investor", "author", "symptom", "judge",
    ),
}  # fmt: skip
"""Novel labels, one per line of thought a user might have; none names a class of the shipped experts."""

CHECKS = (
    ("reamo-entities", "ner", "entity_types", False),
    ("reamo-mnre-mentions", "ner", "entity_types", False),
    ("reamo-m2e2-events", "ee", "event_types", False),
    ("reamo-ea-minilm", "ee", "event_types", True),
    ("reamo-re-minilm", "re", "relation_types", False),
    ("reamo-ea-minilm", "ee", "argument_roles", False),
)
"""(expert, task of the default schema, label kind, matched to the expert's event-type contexts)."""


@dataclass
class Row:
    expert: str
    kind: str
    floor: float
    renamed: list[
        tuple[float, bool, str, str]
    ]  # similarity to its own class, own class nearest, variant, label
    novel: list[tuple[float, str, str]]  # similarity to the nearest class, label, that class


def measure(universal: UniversalScorer, expert: Expert, task: str, kind: str, contexts: bool) -> Row:
    classes = list(expert.config.contexts if contexts else expert.classes)
    space = TAG_SPACE if contexts or expert.kind == "mentions" else PAIR_SPACE
    schema = LabelSchema.default(task)
    asked = []  # (variant, name, its texts, its own class)
    for variant in VARIANTS:
        rename = renaming(schema, variant)
        for label in getattr(schema, kind):
            name = rename(kind, label)
            described = rename.descriptions.get(name)
            if label in classes:
                asked.append((variant, name, [name, f"{name}: {described}"] if described else [name], label))
    best = form_similarities(universal, [texts for _, _, texts, _ in asked], classes, space)
    renamed = [
        (round(float(row[classes.index(own)]), 3), int(np.argmax(row)) == classes.index(own), variant, name)
        for (variant, name, _, own), row in zip(asked, best, strict=True)
    ]
    far = form_similarities(universal, [[name] for name in NOVEL[kind]], classes, space)
    novel = [
        (round(float(row.max()), 3), name, classes[int(np.argmax(row))])
        for name, row in zip(NOVEL[kind], far, strict=True)
    ]
    floor = EVENT_MATCH_FLOOR if kind == "event_types" else MATCH_FLOOR
    return Row(
        expert.name, kind + (" (contexts)" if contexts else ""), floor, sorted(renamed), sorted(novel)[::-1]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="write every similarity here")
    args = parser.parse_args()
    universal = UniversalScorer(find_scorers("re", None, option="scorer")[0], threads=2)
    folders = [
        folder for task in ("re", "ee", "ner") for folder in find_experts(task, None, option="experts")
    ]
    experts = {
        expert.folder.name: expert for expert in (Expert(f, Resources()) for f in linked_taggers(folders))
    }
    rows = [measure(universal, experts[name], task, kind, ctx) for name, task, kind, ctx in CHECKS]
    for row in rows:
        print(f"{row.expert} · {row.kind} · floor {row.floor}")
        wrong = [f"{s:.2f} {name!r} ({variant})" for s, own, variant, name in row.renamed if not own]
        print("  renamed, lowest:", ", ".join(f"{s:.2f} {n!r} ({v})" for s, _, v, n in row.renamed[:5]))
        print("  renamed, another class nearer:", ", ".join(wrong) or "none")
        print("  novel, highest:", ", ".join(f"{s:.2f} {n!r} ~ {c!r}" for s, n, c in row.novel[:5]))
    if args.json:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
