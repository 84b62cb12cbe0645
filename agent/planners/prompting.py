"""What an LLM planner adds to the rendered conversation: few-shot turns and candidate mentions.

A planner tuned on REAMO's own format (an adapter) gets the conversation exactly as rendered, as in
its training data. An untuned model gets a few worked examples after the system message and, in the
task turn, the mentions spaCy's NER found, typed with the request's labels (``PromptStyle``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reamo.agent.planners.protocol import Message, PlanRequest
from reamo.agent.planners.spacy import SpacyPlanner, map_label
from reamo.errors import ConfigError
from reamo.prompts import candidate_paragraph, template
from reamo.prompts.examples import few_shot_messages
from reamo.tools.protocol import Resources


@dataclass(frozen=True)
class PromptStyle:
    """``examples``: few-shot turns; ``candidates``: spaCy's typed mentions in the task turn."""

    examples: bool = True
    candidates: bool = True

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, tuned: bool) -> PromptStyle:
        """``prompt = "few-shot" | "plain"`` and ``candidates = true | false`` in ``planner_options``;
        the default is plain for a tuned model (its training format) and few-shot otherwise."""
        prompt = options.get("prompt", "plain" if tuned else "few-shot")
        if prompt not in ("few-shot", "plain"):
            raise ConfigError(f"planner_options.prompt is {prompt!r}; use 'few-shot' or 'plain'.")
        candidates = options.get("candidates", not tuned)
        if not isinstance(candidates, bool):
            raise ConfigError(f"planner_options.candidates is {candidates!r}; use true or false.")
        return cls(examples=prompt == "few-shot", candidates=candidates)


class Candidates:
    """Typed mentions from spaCy's NER over the text and the transcripts (loaded on first use, into
    ``resources``)."""

    def __init__(self, resources: Resources | None = None) -> None:
        self._spacy = SpacyPlanner(resources=resources)
        self._last: tuple[tuple[str, ...], tuple[str, ...], list[tuple[str, str]]] | None = None

    def find(self, request: PlanRequest) -> list[tuple[str, str]]:
        """The typed mentions of a request; the last request's are kept, as the prompt's candidate
        paragraph and the second look both ask for them."""
        sources = [request.inputs.text] if request.inputs.text else []
        sources += [a.transcript.text for a in request.perception.audio.values() if a.transcript]
        sources += [v.transcript.text for v in request.perception.videos.values() if v.transcript]
        labels = tuple(request.labels.entity_types)
        if self._last is not None and self._last[:2] == (tuple(sources), labels):
            return list(self._last[2])
        found: dict[tuple[str, str], None] = {}
        for doc in self._spacy._load().pipe(sources):
            for ent in doc.ents:
                label = map_label(ent.label_, request.labels.entity_types)
                if label:
                    found.setdefault((ent.text, label), None)
        self._last = (tuple(sources), labels, list(found))
        return list(found)


def _image_call(schema: dict[str, Any]) -> tuple[str, str] | None:
    for item in schema["properties"]["calls"].get("items", {}).get("anyOf", []):
        targets = [t for t in item["properties"]["target"].get("enum", []) if t.startswith("image:")]
        if targets:
            return str(item["properties"]["module"]["const"]), str(targets[0])
    return None


def _is_repair(message: Message) -> bool:
    head = template("repair").template.split("\n", 1)[0]
    return message.role == "user" and message.content.startswith(head)


def planner_messages(
    request: PlanRequest, style: PromptStyle, candidates: Candidates | None = None
) -> list[Message]:
    """The request's conversation with the few-shot turns and the candidate paragraph of ``style``."""
    messages = list(request.messages)
    if style.candidates and candidates is not None:
        task_turn = max(
            (i for i, m in enumerate(messages) if m.role == "user" and not _is_repair(m)), default=None
        )
        if task_turn is not None:
            paragraph = candidate_paragraph(candidates.find(request))
            messages[task_turn] = Message("user", f"{messages[task_turn].content}\n\n{paragraph}")
    if style.examples and messages and messages[0].role == "system":
        shots = few_shot_messages(request.task, request.labels, map_label, _image_call(request.answer_schema))
        if not style.candidates:
            shots = [_without_candidates(m) for m in shots]
        messages[1:1] = shots
    return messages


def _without_candidates(message: Message) -> Message:
    if message.role != "user":
        return message
    head = candidate_paragraph([]).split(":", 1)[0]
    kept = [p for p in message.content.split("\n\n") if not p.startswith(head)]
    return Message("user", "\n\n".join(kept))
