"""Tasks and label schemas: the entity, relation and event types an extraction may use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Task = Literal["ner", "re", "ee"]
TASKS: tuple[Task, ...] = get_args(Task)

TASK_NAMES: dict[Task, str] = {
    "ner": "named entity recognition",
    "re": "relation extraction",
    "ee": "event extraction",
}

TASK_LABELS: dict[Task, tuple[str, ...]] = {
    "ner": ("entity_types",),
    "re": ("entity_types", "relation_types"),
    "ee": ("event_types", "argument_roles", "entity_types"),
}
"""The label lists a task's prompt names, in the order it names them."""

DEFAULT_ENTITY_TYPES = ("person", "location", "organization", "miscellaneous")
# MNRE's relation set (without its "None" class), the paper's RE benchmark.
DEFAULT_RELATION_TYPES = (
    "/per/per/peer", "/per/org/member_of", "/loc/loc/contain", "/per/misc/present_in",
    "/org/loc/locate_at", "/per/loc/place_of_residence", "/misc/loc/held_on", "/org/org/subsidiary",
    "/per/per/alternate_names", "/per/per/couple", "/per/misc/nationality", "/misc/misc/part_of",
    "/org/org/alternate_names", "/per/loc/place_of_birth", "/per/misc/awarded", "/per/per/charges",
    "/per/per/siblings", "/per/per/parent", "/per/per/alumi", "/per/per/neighbor",
    "/per/misc/religion", "/per/misc/race",
)  # fmt: skip
# M2E2's eight ACE event types and its argument roles, the paper's EE benchmark.
DEFAULT_EVENT_TYPES = (
    "Conflict:Attack", "Conflict:Demonstrate", "Contact:Meet", "Contact:Phone-Write",
    "Justice:Arrest-Jail", "Life:Die", "Movement:Transport", "Transaction:Transfer-Money",
)  # fmt: skip
DEFAULT_ARGUMENT_ROLES = (
    "Agent", "Artifact", "Attacker", "Destination", "Entity", "Giver", "Instrument", "Money",
    "Origin", "Person", "Place", "Police", "Recipient", "Target", "Vehicle", "Victim",
)  # fmt: skip


def _unique_nonempty(values: list[str]) -> list[str]:
    cleaned = [v.strip() for v in values]
    if any(not v for v in cleaned):
        raise ValueError("labels must be non-empty strings")
    duplicates = sorted({v for v in cleaned if cleaned.count(v) > 1})
    if duplicates:
        raise ValueError(f"duplicate labels: {', '.join(duplicates)}")
    return cleaned


def _clean_descriptions(values: Mapping[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for label, text in values.items():
        name, description = label.strip(), text.strip()
        if not name:
            raise ValueError("a description's label must be a non-empty string")
        if not description:
            raise ValueError(f"the description of {name!r} is empty; describe it in words or leave it out")
        if name in cleaned:
            raise ValueError(f"{name!r} is described twice")
        cleaned[name] = description
    return cleaned


class LabelSchema(BaseModel):
    """The candidate labels of the prompt; the planner's records must use these and no others.

    Descriptions say in words what a label means (couple: two people in a romantic relationship); the
    prompt and the refiners read them beside the names. A name in two lists has one description.
    """

    model_config = ConfigDict(frozen=True)

    entity_types: list[str] = Field(default_factory=list)
    relation_types: list[str] = Field(default_factory=list)
    event_types: list[str] = Field(default_factory=list)
    argument_roles: list[str] = Field(default_factory=list)
    descriptions: dict[str, str] = Field(
        default_factory=dict, description="label name -> what it means, for the labels that are described"
    )

    @field_validator("entity_types", "relation_types", "event_types", "argument_roles")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        return _unique_nonempty(values)

    @field_validator("descriptions")
    @classmethod
    def _trimmed(cls, values: dict[str, str]) -> dict[str, str]:
        return _clean_descriptions(values)

    @model_validator(mode="after")
    def _described_labels_exist(self) -> LabelSchema:
        names = self.names()
        unknown = [label for label in self.descriptions if label not in names]
        if unknown:
            listed = ", ".join(names) if names else "none"
            raise ValueError(
                f"description of unknown label(s) {', '.join(map(repr, unknown))}: describe only the "
                f"schema's labels ({listed})"
            )
        return self

    @classmethod
    def default(cls, task: Task) -> LabelSchema:
        """The benchmark label sets: Twitter NER types, MNRE relations, M2E2 events."""
        return cls(
            entity_types=list(DEFAULT_ENTITY_TYPES),
            relation_types=list(DEFAULT_RELATION_TYPES) if task == "re" else [],
            event_types=list(DEFAULT_EVENT_TYPES) if task == "ee" else [],
            argument_roles=list(DEFAULT_ARGUMENT_ROLES) if task == "ee" else [],
        )

    @classmethod
    def for_task(
        cls, task: Task, labels: list[str] | None = None, descriptions: Mapping[str, str] | None = None
    ) -> LabelSchema:
        """The default schema of ``task`` with its task-specific labels replaced by ``labels``, and
        ``descriptions`` of any of the schema's labels.

        ``labels`` are entity types for NER, relation types for RE and event types for EE.
        """
        base = cls.default(task)
        if not labels and not descriptions:
            return base
        field = {"ner": "entity_types", "re": "relation_types", "ee": "event_types"}[task]
        update: dict[str, object] = {"descriptions": dict(descriptions or {})}
        if labels:
            update[field] = _unique_nonempty(labels)
        return cls.model_validate({**base.model_dump(), **update})

    def names(self) -> list[str]:
        """Every label of the schema, once each: entity types, relation types, event types, roles."""
        every = [*self.entity_types, *self.relation_types, *self.event_types, *self.argument_roles]
        return list(dict.fromkeys(every))

    def description(self, label: str) -> str | None:
        """What ``label`` means, in the user's words, or None when it is not described."""
        return self.descriptions.get(label)

    def described(self, label: str) -> str:
        """``"name: description"`` for a described label, else the name: the text a prompt line or a
        scorer reading labels as text shows for it."""
        text = self.descriptions.get(label)
        return f"{label}: {text}" if text else label

    def signature(self, relation_type: str) -> tuple[str, str] | None:
        """The head and tail entity types a relation type names in the ``/head/tail/name`` convention of
        MNRE and Freebase-style sets (``/per/org/member_of``: person, organization), when each of its
        first two parts is an entity type or begins exactly one; else None."""
        parts = relation_type.strip("/").split("/")
        if not relation_type.startswith("/") or len(parts) < 3:
            return None
        types = []
        for part in parts[:2]:
            matches = [t for t in self.entity_types if t.lower() == part.lower()] or [
                t for t in self.entity_types if part and t.lower().startswith(part.lower())
            ]
            if len(matches) != 1:
                return None
            types.append(matches[0])
        return types[0], types[1]

    def primary(self, task: Task) -> list[str]:
        """The labels the task is about: entity, relation or event types."""
        return {"ner": self.entity_types, "re": self.relation_types, "ee": self.event_types}[task]


LABEL_LISTS = ("entity_types", "relation_types", "event_types", "argument_roles")
"""The label lists of a schema, in the order of its fields."""


class Label(BaseModel):
    """One label as a user writes it: its name and, optionally, what it means in words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="the label, as records will carry it", examples=["couple"])
    description: str | None = Field(
        default=None,
        min_length=1,
        description="what the label means, for the planner and the refiners",
        examples=["two people in a romantic relationship"],
    )

    @field_validator("name", "description", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


LabelItem = str | Label
"""A label in a list: its name, or a Label with a description."""


class LabelSet(BaseModel):
    """A label set as users write it (reamo extract --schema FILE, labels={...} in Python): each list
    holds names or {"name", "description"} objects; a list left out keeps the task's default labels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity_types: list[LabelItem] | None = Field(default=None, description="entity types (every task)")
    relation_types: list[LabelItem] | None = Field(default=None, description="relation types (RE)")
    event_types: list[LabelItem] | None = Field(default=None, description="event types (EE)")
    argument_roles: list[LabelItem] | None = Field(default=None, description="event argument roles (EE)")
    descriptions: dict[str, str] = Field(
        default_factory=dict,
        description="label name -> what it means, as a LabelSchema (a result's labels) writes them",
    )

    def for_task(self, task: Task) -> LabelSchema:
        """The schema of ``task``: its default labels with the lists given here in their place."""
        data = LabelSchema.default(task).model_dump()
        descriptions = dict(self.descriptions)
        for field in LABEL_LISTS:
            items: list[LabelItem] | None = getattr(self, field)
            if items is None:
                continue
            data[field] = [item if isinstance(item, str) else item.name for item in items]
            for item in items:
                if isinstance(item, Label) and item.description is not None:
                    _describe(descriptions, item.name.strip(), item.description)
        data["descriptions"] = descriptions
        return LabelSchema.model_validate(data)


def _describe(descriptions: dict[str, str], name: str, text: str) -> None:
    given = descriptions.setdefault(name, text)
    if given.strip() != text.strip():
        raise ValueError(f"{name!r} is described twice ({given!r} and {text!r}); give it one description")
