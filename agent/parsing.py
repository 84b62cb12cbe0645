"""Reading a planner answer: JSON (optionally in a code fence, with chatter around it) or the paper's
tag syntax. Both come out as the same plain dict, which the validator then checks against the schema.

Tag syntax::

    (Obama<concept>, person) (Berlin, location)          entities
    (Obama, /per/per/peer, Merkel)                       relations
    [met<concept>, Contact:Meet, (Obama, Entity)]        events with arguments
    <Module>ImageSegmentation</Module><Instruction>Obama</Instruction><Target>image:0</Target>
"""

from __future__ import annotations

import json
import re
from typing import Any

from reamo.schemas import LabelSchema

ANSWER_KEYS = ("entities", "relations", "events", "calls")
CONCEPT_MARK = re.compile(r"\s*<\s*concept\s*>\s*", re.IGNORECASE)
CALL = re.compile(
    r"<Module>\s*(?P<module>.*?)\s*</Module>\s*<Instruction>\s*(?P<instruction>.*?)\s*</Instruction>"
    r"(?:\s*<Target>\s*(?P<target>.*?)\s*</Target>)?(?:\s*<Concept>\s*(?P<concept>.*?)\s*</Concept>)?",
    re.DOTALL,
)
EVENT = re.compile(r"\[(?P<body>[^\[\]]*)\]")
TUPLE = re.compile(r"\((?P<body>[^()]*)\)")
FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


class ParseError(ValueError):
    """The answer is neither a JSON object nor tag syntax; the message goes back to the planner."""


def parse_answer(raw: str, labels: LabelSchema | None = None) -> tuple[dict[str, Any], str]:
    """Parse ``raw`` into ``({"entities": [...], ...}, syntax)`` where syntax is ``json`` or ``tags``."""
    text = raw.strip()
    if not text:
        raise ParseError("the answer is empty; answer with one JSON object")
    obj = _first_json_object(text)
    if obj is not None:  # the tag syntax's shape: every list present, unknown keys kept for the validator
        return {**{k: [] for k in ANSWER_KEYS}, **obj}, "json"
    if "{" in text and not (CALL.search(text) or TUPLE.search(text)):
        if _outer_object_is_complete(text):
            raise ParseError(
                f"the JSON object has none of the keys {', '.join(ANSWER_KEYS)}; "
                'answer like {"entities": [...], "calls": [...]}'
            )
        raise ParseError(
            "the answer is not complete JSON (truncated or malformed); answer with one complete JSON object"
        )
    tags = parse_tags(text, labels)
    if any(tags[k] for k in ANSWER_KEYS):
        return tags, "tags"
    if text.lower().strip(" .") in ("none", "no entities", "[]", "nothing"):
        return {k: [] for k in ANSWER_KEYS}, "tags"
    raise ParseError(
        "the answer has neither a JSON object nor (text, label) records; "
        'answer with one JSON object like {"entities": [...], "calls": [...]}'
    )


def _outer_object_is_complete(text: str) -> bool:
    """Whether the first ``{`` opens a complete JSON object (so the answer is whole but has wrong keys)."""
    try:
        json.JSONDecoder().raw_decode(text, text.index("{"))
    except (json.JSONDecodeError, RecursionError):
        return False
    return True


def _first_json_object(text: str) -> dict[str, Any] | None:
    candidates = [m.group(1) for m in FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        for start in (i for i, ch in enumerate(candidate) if ch == "{"):
            try:
                obj, _ = decoder.raw_decode(candidate, start)
            except (json.JSONDecodeError, RecursionError):  # RecursionError: "[[[[..." from a looping model
                continue
            if isinstance(obj, dict) and (not obj or any(k in obj for k in ANSWER_KEYS)):
                return obj
    return None


def _concept(text: str) -> tuple[str, bool]:
    marked = bool(CONCEPT_MARK.search(text))
    return CONCEPT_MARK.sub(" ", text).strip().strip("\"'"), marked


def _split(body: str) -> list[str]:
    return body.split(",")


def _join(pieces: list[str]) -> str:
    """Glue split pieces back as written, so a text with a comma ("Washington, D.C.") keeps its spacing."""
    return ",".join(pieces).strip()


def parse_tags(text: str, labels: LabelSchema | None = None) -> dict[str, Any]:
    """Parse the paper's tag syntax into the JSON answer shape. Unparseable pieces are skipped."""
    answer: dict[str, Any] = {k: [] for k in ANSWER_KEYS}
    for m in CALL.finditer(text):
        call = {"module": m["module"], "instruction": _concept(m["instruction"])[0]}
        if m["target"]:
            call["target"] = m["target"]
        if m["concept"]:
            call["concept"] = _concept(m["concept"])[0]
        answer["calls"].append(call)
    rest = CALL.sub(" ", text)
    for m in EVENT.finditer(rest):
        event = _parse_event(m["body"])
        if event:
            answer["events"].append(event)
    rest = EVENT.sub(" ", rest)
    entity_types = set(labels.entity_types) if labels else set()
    relation_types = set(labels.relation_types) if labels else set()
    for m in TUPLE.finditer(rest):
        pieces = _split(m["body"])
        parts = [p.strip() for p in pieces]
        if len(parts) < 2:
            continue
        if len(parts) == 2 or parts[-1] in entity_types:
            name, concept = _concept(_join(pieces[:-1]))
            answer["entities"].append({"text": name, "label": parts[-1], "concept": concept})
            continue
        middle = next((i for i in range(1, len(parts) - 1) if parts[i] in relation_types), 1)
        head_text = _concept(_join(pieces[:middle]))[0]
        tail_text = _concept(_join(pieces[middle + 1 :]))[0]
        answer["relations"].append({"head": head_text, "label": parts[middle], "tail": tail_text})
    return answer


def _parse_event(body: str) -> dict[str, Any] | None:
    head, _, args = body.partition("(")
    parts = [p for p in _split(head) if p.strip()]
    if len(parts) < 2:
        return None
    trigger, concept = _concept(_join(parts[:-1]))
    arguments = []
    for m in TUPLE.finditer("(" + args):
        arg = _split(m["body"])
        if len(arg) >= 2:
            arguments.append({"text": _concept(_join(arg[:-1]))[0], "role": arg[-1].strip()})
    return {"trigger": trigger, "type": parts[-1].strip(), "concept": concept, "arguments": arguments}
