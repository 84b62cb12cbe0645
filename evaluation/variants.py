"""Schema-shift variants of a suite: the same instances, every label renamed and the gold renamed with it.

A system that reads labels as text should score about the same whatever the labels are called; one keyed
to a dataset's label strings drops. ``reamo bench build`` writes, beside each suite in ``VARIANT_SUITES``,
``NAME.VARIANT.jsonl`` for each variant (instance ids kept), and ``reamo bench`` prints the variants beside
their original:

- ``names``: bare names, by rule (``/per/per/couple`` -> ``couple``, ``Conflict:Attack`` -> ``attack``;
  a label that is already bare stays: ``person``, ``Agent``);
- ``codes``: short upper-case codes, by rule (``PER``, ``LOC``, ``ORG``, ``MISC``, ``PER_COUPLE``,
  ``ATTACK``, ``AGENT``);
- ``paraphrases``: natural-language names from the hand-written table (``people``, ``romantic partner of``);
- ``described``: the bare names, each with a one-line description from that table in the schema.

Renamings come from these rules and ``reamo.evaluation.label_table`` only, never from a model's output.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from reamo.errors import SuiteError
from reamo.evaluation.label_table import DESCRIPTIONS, PARAPHRASES
from reamo.evaluation.suite import SuiteInstance
from reamo.schemas import LabelSchema

__all__ = [
    "ORIGINAL",
    "VARIANTS",
    "VARIANT_SUITES",
    "Renaming",
    "Variant",
    "bare_name",
    "code",
    "renaming",
    "split_variant",
    "variant_instances",
    "variant_name",
]

Variant = Literal["names", "codes", "paraphrases", "described"]
VARIANTS: tuple[Variant, ...] = get_args(Variant)
ORIGINAL = "original"
"""What ``split_variant`` calls a suite that is no variant."""

VARIANT_SUITES = (
    "twitter2017_t_ner",
    "mnre_t_re",
    "m2e2_t_ee",
    "twitter2017_ta_ner",
    "twitter2017_a_ner",
    "mnre_a_re",
)
"""The built suites that get schema-shift variants: the scored text and speech suites."""

ENTITY_CODES = {"person": "PER", "location": "LOC", "organization": "ORG", "miscellaneous": "MISC"}
"""The CoNLL tags of the four benchmark entity types; other labels' codes are their words upper-cased."""

_KINDS = ("entity_types", "relation_types", "event_types", "argument_roles")
_PARTS = re.compile(r"[/:]")


def variant_name(suite: str, variant: str) -> str:
    """The file stem of a suite's variant: ``twitter2017_t_ner.codes``."""
    return f"{suite}.{variant}"


def split_variant(name: str) -> tuple[str, str]:
    """A suite name's original and its variant (``ORIGINAL`` for a suite that is no variant)."""
    base, _, variant = name.rpartition(".")
    return (base, variant) if base and variant in VARIANTS else (name, ORIGINAL)


def _parts(label: str) -> list[str]:
    return [p for p in _PARTS.split(label) if p]


def bare_name(label: str) -> str:
    """The last part of a hierarchical label, lower-cased (``/per/per/couple`` -> ``couple``,
    ``Conflict:Attack`` -> ``attack``); a label already bare stays as it is (``person``, ``Agent``)."""
    parts = _parts(label)
    return parts[-1].lower() if len(parts) > 1 else label


def _snake(words: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", words).strip("_").upper()


def code(label: str, kind: str) -> str:
    """A short code: the CoNLL tag of an entity type, a relation's head type and name
    (``/per/per/couple`` -> ``PER_COUPLE``), an event's or role's bare name (``ATTACK``, ``AGENT``)."""
    if kind == "entity_types" and label in ENTITY_CODES:
        return ENTITY_CODES[label]
    parts = _parts(label)
    if kind == "relation_types" and len(parts) > 2:
        return _snake(f"{parts[0]} {parts[-1]}")
    return _snake(parts[-1] if parts else label)


def _qualified(label: str) -> str:
    """A bare name that two labels share, told apart by the first part (``per_alternate_names``)."""
    parts = _parts(label)
    return f"{parts[0]}_{parts[-1]}".lower() if len(parts) > 1 else label


def _from_table(table: Mapping[str, str], what: str) -> Callable[[str], str]:
    def look_up(label: str) -> str:
        if label not in table:
            raise SuiteError(
                f"No {what} for label {label!r}: add it to reamo/evaluation/label_table.py "
                "(the hand-written table of the schema-shift variants)."
            )
        return table[label]

    return look_up


@dataclass(frozen=True)
class Renaming:
    """One variant's renaming of one schema: per label kind, original -> new; the new names'
    descriptions."""

    labels: dict[str, dict[str, str]]
    descriptions: dict[str, str]

    def __call__(self, kind: str, label: str) -> str:
        return self.labels[kind][label]

    def schema(self, schema: LabelSchema) -> LabelSchema:
        renamed = {kind: [self(kind, label) for label in getattr(schema, kind)] for kind in _KINDS}
        return LabelSchema(**renamed, descriptions=self.descriptions)


def _names(labels: list[str]) -> dict[str, str]:
    """Bare names; two labels whose bare names agree keep their first part (``per_alternate_names``)."""
    bare = {label: bare_name(label) for label in labels}
    shared = {name for name in bare.values() if list(bare.values()).count(name) > 1}
    return {label: _qualified(label) if name in shared else name for label, name in bare.items()}


def renaming(schema: LabelSchema, variant: Variant) -> Renaming:
    """How ``variant`` renames every label of ``schema``; raises ``SuiteError`` if two labels of one kind
    would get one name, or the table lacks a label."""
    paraphrase = _from_table(PARAPHRASES, "paraphrase")
    describe = _from_table(DESCRIPTIONS, "description")
    labels: dict[str, dict[str, str]] = {}
    for kind in _KINDS:
        originals = list(getattr(schema, kind))
        if variant in ("names", "described"):
            labels[kind] = _names(originals)
        elif variant == "codes":
            labels[kind] = {label: code(label, kind) for label in originals}
        else:
            labels[kind] = {label: paraphrase(label) for label in originals}
        names = list(labels[kind].values())
        clashes = sorted({n for n in names if names.count(n) > 1})
        if clashes:
            raise SuiteError(
                f"The {variant} variant gives two {kind} one name ({', '.join(clashes)}); "
                "change the rule in reamo/evaluation/variants.py or the table in label_table.py."
            )
    descriptions: dict[str, str] = {}
    for kind in _KINDS:  # a schema's own descriptions follow their labels' new names
        for original, new in labels[kind].items():
            if original in schema.descriptions:
                descriptions[new] = schema.descriptions[original]
            if variant == "described":
                descriptions[new] = describe(original)
    return Renaming(labels, descriptions)


def _renamed(instance: SuiteInstance, rename: Renaming) -> SuiteInstance:
    gold = instance.gold
    entities = [e.model_copy(update={"label": rename("entity_types", e.label)}) for e in gold.entities]
    relations = [r.model_copy(update={"label": rename("relation_types", r.label)}) for r in gold.relations]
    events = [
        ev.model_copy(
            update={
                "type": rename("event_types", ev.type),
                "arguments": [
                    a.model_copy(update={"role": rename("argument_roles", a.role)}) for a in ev.arguments
                ],
            }
        )
        for ev in gold.events
    ]
    return instance.model_copy(
        update={
            "labels": rename.schema(instance.labels),
            "gold": gold.model_copy(update={"entities": entities, "relations": relations, "events": events}),
        }
    )


def variant_instances(instances: Iterable[SuiteInstance], variant: Variant) -> list[SuiteInstance]:
    """The instances with every label renamed as ``variant`` says, the gold renamed consistently; ids,
    inputs and groundings unchanged."""
    cache: dict[str, Renaming] = {}
    out = []
    for instance in instances:
        key = instance.labels.model_dump_json()
        if key not in cache:
            cache[key] = renaming(instance.labels, variant)
        out.append(_renamed(instance, cache[key]))
    return out
