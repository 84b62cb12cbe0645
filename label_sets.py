"""Labels as users give them (names, ``{"name", "description"}``, label sets and files, ``name:
description`` strings), checked with messages that say what to do, and resolved into a task's LabelSchema."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reamo.errors import LabelSchemaError, validation_problems
from reamo.schemas import LABEL_LISTS, Label, LabelItem, LabelSchema, LabelSet, Task

LabelsArg = (
    LabelSchema | LabelSet | Mapping[str, Any] | Sequence[str | Label | Mapping[str, Any]] | str | None
)
"""Labels as a caller gives them: a LabelSchema or LabelSet; a mapping of lists (entity_types, ...);
a list of the task's labels, each a name or ``{"name", "description"}``; a comma-separated string whose
items may say ``name: description``; None for the task's defaults."""

Labels = LabelSchema | LabelSet | list[LabelItem] | str | None
"""Labels checked but not yet resolved for a task (what a manifest row or a service request carries)."""

ITEM_FORM = '{"name": "couple", "description": "two people in a romantic relationship"}'
_DESCRIBED = re.compile(r":\s+")


def split_labels(text: str) -> list[LabelItem]:
    """Comma-separated labels, each a name or ``name: description`` (a colon and a space: an event type
    such as ``Conflict:Attack`` stays a name). A description here can't hold a comma; give one that
    does in a label-set file or as ``{"name", "description"}``."""
    items: list[LabelItem] = []
    for part in text.split(","):
        name, *rest = _DESCRIBED.split(part, maxsplit=1)
        described = bool(rest) and bool(name.strip()) and bool(rest[0].strip())
        items.append(Label(name=name, description=rest[0]) if described else part)
    return items


def _label_item(value: object, where: str) -> LabelItem:
    """One label of a list, checked: a name, a Label, or a ``{"name", "description"}`` mapping."""
    if isinstance(value, str | Label):
        return value
    if not isinstance(value, Mapping):
        raise LabelSchemaError(f"{where} is {value!r}: give a label's name or {ITEM_FORM}.")
    unknown = sorted(str(k) for k in value if k not in ("name", "description"))
    if unknown:
        raise LabelSchemaError(
            f"{where} has unknown key(s) {', '.join(map(repr, unknown))}: a label has only a name and a "
            f"description, {ITEM_FORM}."
        )
    name, description = value.get("name"), value.get("description")
    if not isinstance(name, str) or not name.strip():
        shown = "no 'name'" if name is None else f"the name {name!r}"
        raise LabelSchemaError(f"{where} has {shown}: give its name as a non-empty string, {ITEM_FORM}.")
    if description is not None and (not isinstance(description, str) or not description.strip()):
        raise LabelSchemaError(
            f"{where} ({name.strip()!r}) has the description {description!r}: describe it in words (a "
            "non-empty string) or leave 'description' out."
        )
    return Label(name=name, description=description)


def _label_set(value: Mapping[Any, Any]) -> LabelSet:
    """A label-set mapping, checked list by list so that a bad item is named where it is."""
    known = (*LABEL_LISTS, "descriptions")
    if "name" in value:
        raise LabelSchemaError(
            f"{dict(value)!r} is one label: put it in a list, [{ITEM_FORM}], or give a label set "
            '{"entity_types": [...], "relation_types": [...], ...}.'
        )
    unknown = sorted(str(k) for k in value if k not in known)
    if unknown:
        raise LabelSchemaError(
            f"Unknown key(s) {', '.join(map(repr, unknown))} in the label set; its keys are "
            f"{', '.join(known)}."
        )
    checked: dict[str, Any] = dict(value)
    for field in LABEL_LISTS:
        items = value.get(field)
        if items is None:
            continue
        if isinstance(items, str) or not isinstance(items, Sequence):
            raise LabelSchemaError(
                f"{field} is {items!r}: give a list of labels, each a name or {ITEM_FORM}."
            )
        checked[field] = [_label_item(v, f"{field}[{i}]") for i, v in enumerate(items)]
    try:
        return LabelSet.model_validate(checked)
    except ValidationError as exc:
        raise LabelSchemaError(f"Bad label set: {validation_problems(exc)}.") from exc


def check_labels(labels: object) -> Labels:
    """Labels in one of their typed forms, checked before the task is known (a manifest row, a service
    request); a LabelSchemaError says what to do with a bad item."""
    if labels is None or isinstance(labels, LabelSchema | LabelSet | str):
        return labels
    if isinstance(labels, Mapping):
        return _label_set(labels)
    if isinstance(labels, Sequence):
        return [_label_item(v, f"label {i + 1}") for i, v in enumerate(labels)]
    raise LabelSchemaError(
        f"labels is {labels!r}: give a list of labels (names or {ITEM_FORM}), a comma-separated string, "
        'or a label set {"entity_types": [...], "relation_types": [...], ...}.'
    )


def resolve_labels(task: Task, labels: LabelsArg) -> LabelSchema:
    """The label schema of a request: the task's defaults with the given labels (and descriptions) in
    their place, or a given LabelSchema as it is."""
    checked = check_labels(labels)
    if isinstance(checked, LabelSchema):
        schema = checked
    else:
        try:
            schema = _schema_of(task, checked)
        except ValidationError as exc:
            raise LabelSchemaError(f"Bad label set: {validation_problems(exc)}.") from exc
        except ValueError as exc:
            if not isinstance(checked, list | str):
                raise LabelSchemaError(f"Bad label set: {exc}.") from exc
            given = checked if isinstance(checked, str) else [_name(v) for v in checked]
            raise LabelSchemaError(
                f"Bad label set {given!r}: {exc}. Give distinct, non-empty labels, e.g. "
                "--labels person,location,organization."
            ) from exc
    if not schema.primary(task):
        raise LabelSchemaError(
            f"The label set has no {'entity' if task == 'ner' else task.upper()} types "
            f"for task {task!r}; give them with labels=[...]."
        )
    if task == "ee" and not schema.argument_roles:
        raise LabelSchemaError(
            "Event extraction needs argument roles in the label set: give them with "
            "labels=LabelSchema(event_types=[...], argument_roles=[...]), or leave labels "
            "out for the default roles."
        )
    return schema


def _name(item: LabelItem) -> str:
    return item if isinstance(item, str) else item.name


def _schema_of(task: Task, labels: LabelSet | list[LabelItem] | str | None) -> LabelSchema:
    if isinstance(labels, LabelSet):
        return labels.for_task(task)
    items = split_labels(labels) if isinstance(labels, str) else labels or []
    described = {i.name: i.description for i in items if isinstance(i, Label) and i.description}
    return LabelSchema.for_task(task, [_name(i) for i in items] or None, described)


def read_label_set(path: str | Path) -> LabelSet:
    """A label-set file: one JSON object, ``{"entity_types": [...], ...}``, its labels names or
    ``{"name", "description"}`` (its JSON Schema: ``reamo schema label_set``)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise LabelSchemaError(f"Label-set file {str(file)!r} does not exist; give the path of a JSON file.")
    try:
        value = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabelSchemaError(f"Label-set file {str(file)!r} is not UTF-8 JSON: {exc}.") from exc
    if not isinstance(value, dict):
        raise LabelSchemaError(
            f"Label-set file {str(file)!r} holds a JSON {type(value).__name__}; it must hold one object, "
            '{"entity_types": [...], "relation_types": [...], "event_types": [...], "argument_roles": [...]}.'
        )
    try:
        return _label_set(value)
    except LabelSchemaError as exc:
        raise LabelSchemaError(f"{file}: {exc}") from exc
