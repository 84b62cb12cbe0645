"""Few-shot examples for planners that have not been tuned on REAMO's format (the embedded model
without an adapter, a generic server model). Each example is a task turn rendered like the real one
(``task_body``) and the compact JSON answer that constrained decoding emits.

Entity kinds are written as OntoNotes types and mapped onto the request's label set with the same
table as the spaCy candidates (``map_label``); records whose labels the request lacks are left out,
so the examples never show a label the answer may not use. The sentences are made up for this file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reamo.agent.planners.protocol import Message
from reamo.prompts import task_body
from reamo.schemas import LabelSchema, Task

Mention = tuple[str, str]  # (text, OntoNotes type)


@dataclass(frozen=True)
class Example:
    text: str
    candidates: tuple[Mention, ...]
    entities: tuple[Mention, ...]
    relations: tuple[tuple[str, str, str], ...] = ()
    events: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = ()  # trigger, type, (text, role)
    objects: tuple[str, ...] = field(default=())  # detected in image:0 when the request has an image


EXAMPLES: dict[Task, tuple[Example, ...]] = {
    "ner": (
        Example("so tired , can't wait for the weekend", (), ()),
        Example(
            "Tim Cook opened the new Apple store in Shanghai on Friday .",
            (("Tim Cook", "PERSON"), ("Apple", "ORG"), ("Shanghai", "GPE"), ("Friday", "DATE")),
            (("Tim Cook", "PERSON"), ("Apple", "ORG"), ("Shanghai", "GPE")),
            objects=("person [212, 40, 470, 478] 0.91",),
        ),
        Example(
            "Taylor Swift and Ed Sheeran performed together at Wembley Stadium in London",
            (
                ("Taylor Swift", "PERSON"),
                ("Ed Sheeran", "PERSON"),
                ("Wembley Stadium", "FAC"),
                ("London", "GPE"),
            ),
            (
                ("Taylor Swift", "PERSON"),
                ("Ed Sheeran", "PERSON"),
                ("Wembley Stadium", "FAC"),
                ("London", "GPE"),
            ),
        ),
        Example(
            "RT @ESPN : Messi scores twice as Barcelona beat Real Madrid at Camp Nou",
            (("Messi", "PERSON"), ("Barcelona", "GPE"), ("Real Madrid", "ORG")),
            (("Messi", "PERSON"), ("Barcelona", "ORG"), ("Real Madrid", "ORG"), ("Camp Nou", "FAC")),
        ),
    ),
    "re": (
        Example(
            "Barack Obama and his wife Michelle arrive in Nairobi",
            (("Barack Obama", "PERSON"), ("Michelle", "PERSON"), ("Nairobi", "GPE")),
            (("Barack Obama", "PERSON"), ("Michelle", "PERSON"), ("Nairobi", "GPE")),
            relations=(("Barack Obama", "/per/per/couple", "Michelle"),),
        ),
        Example(
            "Google opens its largest research office outside the US in Zurich",
            (("Google", "ORG"), ("US", "GPE"), ("Zurich", "GPE")),
            (("Google", "ORG"), ("US", "GPE"), ("Zurich", "GPE")),
            relations=(("Google", "/org/loc/locate_at", "Zurich"),),
        ),
        Example(
            "Lionel Messi trains with his Barcelona teammates",
            (("Lionel Messi", "PERSON"), ("Barcelona", "GPE")),
            (("Lionel Messi", "PERSON"), ("Barcelona", "ORG")),
            relations=(("Lionel Messi", "/per/org/member_of", "Barcelona"),),
        ),
    ),
    "ee": (
        Example(
            "Police arrested two protesters outside the embassy in Cairo on Sunday .",
            (("Cairo", "GPE"), ("Sunday", "DATE")),
            (("Police", "ORG"), ("protesters", "PERSON"), ("Cairo", "GPE")),
            events=(
                (
                    "arrested",
                    "Justice:Arrest-Jail",
                    (("Police", "Agent"), ("protesters", "Person"), ("Cairo", "Place")),
                ),
            ),
        ),
        Example(
            "A suicide bomber killed 12 people at a market in Baghdad .",
            (("12", "CARDINAL"), ("Baghdad", "GPE")),
            (("bomber", "PERSON"), ("people", "PERSON"), ("market", "FAC"), ("Baghdad", "GPE")),
            events=(
                ("killed", "Life:Die", (("bomber", "Agent"), ("people", "Victim"), ("Baghdad", "Place"))),
            ),
        ),
        Example(
            "The president flew to Paris for talks with Merkel .",
            (("Paris", "GPE"), ("Merkel", "PERSON")),
            (("president", "PERSON"), ("Paris", "GPE"), ("Merkel", "PERSON")),
            events=(
                ("flew", "Movement:Transport", (("president", "Artifact"), ("Paris", "Destination"))),
                (
                    "talks",
                    "Contact:Meet",
                    (("president", "Entity"), ("Merkel", "Entity"), ("Paris", "Place")),
                ),
            ),
        ),
    ),
}


def few_shot_messages(
    task: Task,
    labels: LabelSchema,
    map_label: Callable[[str, list[str]], str | None],
    image_call: tuple[str, str] | None = None,
) -> list[Message]:
    """User/assistant turns showing the answer format on this request's labels. ``image_call`` is
    (module, target) of an image grounding module the request may call: one example then shows a
    concept and its call."""
    turns: list[Message] = []
    for example in EXAMPLES[task]:
        typed = {t: map_label(kind, labels.entity_types) for t, kind in example.entities}
        candidates = [(t, lab) for t, k in example.candidates if (lab := map_label(k, labels.entity_types))]
        entities: list[dict[str, Any]] = [{"text": t, "label": lab} for t, lab in typed.items() if lab]
        relations = [
            {"head": h, "label": r, "tail": t}
            for h, r, t in example.relations
            if r in labels.relation_types and typed.get(h) and typed.get(t)
        ]
        events = [
            {
                "trigger": trigger,
                "type": kind,
                "arguments": [
                    {"text": t, "role": role}
                    for t, role in args
                    if role in labels.argument_roles and typed.get(t)
                ],
            }
            for trigger, kind, args in example.events
            if kind in labels.event_types
        ]
        media, calls = [], []
        if image_call and example.objects:
            module, target = image_call
            media.append(f"Image {target} (640x480 px). Detected objects: {'; '.join(example.objects)}.")
            for entity in entities:
                if typed.get(entity["text"]) and dict(example.entities)[entity["text"]] == "PERSON":
                    entity["concept"] = True
                    calls.append(
                        {
                            "module": module,
                            "instruction": entity["text"],
                            "target": target,
                            "concept": entity["text"],
                        }
                    )
        answer = {"entities": entities, "relations": relations, "events": events, "calls": calls}
        turns.append(Message("user", task_body(task, labels, example.text, media, candidates=candidates)))
        turns.append(Message("assistant", json.dumps(answer, ensure_ascii=False, separators=(",", ":"))))
    return turns
