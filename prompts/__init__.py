"""Prompt templates (the paper's appendix-A style, shipped as package data) and their rendering."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from string import Template

from reamo.agent.planners.protocol import Message
from reamo.schemas import TASK_LABELS, Inputs, LabelSchema, Perception, Task
from reamo.tools.protocol import ToolArgs
from reamo.tools.registry import ToolRegistry

__all__ = [
    "candidate_paragraph",
    "describe_media",
    "describe_tools",
    "label_meanings",
    "render_messages",
    "repair_message",
    "task_body",
    "task_instruction",
]

MAX_OBJECTS = 25
MAX_WORDS = 200


@cache
def template(name: str) -> Template:
    """A template file from ``reamo/prompts/templates``."""
    return Template(resources.files(__package__).joinpath("templates", f"{name}.txt").read_text("utf-8"))


def _labels(values: Iterable[str]) -> str:
    return "[" + ", ".join(values) + "]"


def label_meanings(task: Task, labels: LabelSchema) -> str | None:
    """A paragraph with each described label the task's template lists and what it means (the user's
    descriptions), or None when none is described."""
    names = dict.fromkeys(name for field in TASK_LABELS[task] for name in getattr(labels, field))
    lines = [f"- {labels.described(name)}" for name in names if labels.description(name)]
    return "What the candidate labels mean:\n" + "\n".join(lines) if lines else None


def task_instruction(task: Task, labels: LabelSchema) -> str:
    """The task's instruction with its candidate labels, then what the described ones mean (nothing
    more when none is described: the prompt the tuned planner was trained on)."""
    instruction = (
        template(task)
        .substitute(
            entity_types=_labels(labels.entity_types),
            relation_types=_labels(labels.relation_types),
            event_types=_labels(labels.event_types),
            argument_roles=_labels(labels.argument_roles),
        )
        .strip()
    )
    meanings = label_meanings(task, labels)
    return f"{instruction}\n\n{meanings}" if meanings else instruction


def describe_tools(registry: ToolRegistry, inputs: Inputs) -> str:
    """The grounding modules usable on these inputs, with their arguments (derived from the tools)."""
    lines = []
    for t in registry:
        targets = inputs.media_ids(t.modality)
        if not targets or t.modality == "text":
            continue
        options = [
            f"{name} ({json.dumps(field.default)} by default"
            + (f": {field.description})" if field.description else ")")
            for name, field in t.args_model.model_fields.items()
            if name not in ToolArgs.model_fields
        ]
        extra = f"; options: {', '.join(options)}" if options else ""
        arguments = f"instruction, target (one of {', '.join(targets)})"
        lines.append(f"- {t.module}: {t.description} Arguments: {arguments}{extra}.")
    if not lines:
        return 'No grounding module applies to this input: leave "calls" empty and mark no concepts.'
    return "Grounding modules you can call:\n" + "\n".join(lines)


def _box(box: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:.0f}" for v in box) + "]"


def describe_media(inputs: Inputs, perception: Perception) -> list[str]:
    """One paragraph per medium: what perception found, compact enough for a small planner."""
    parts = []
    for item in inputs.images:
        img = perception.images.get(item.id)
        if img is None:
            parts.append(f"Image {item.id}.")
            continue
        line = f"Image {item.id} ({img.width}x{img.height} px)."
        if img.objects:
            objs = "; ".join(f"{o.label} {_box(o.box)} {o.score:.2f}" for o in img.objects[:MAX_OBJECTS])
            line += f" Detected objects: {objs}."
        if img.ocr:
            line += " Text in the image: " + json.dumps(" ".join(o.text for o in img.ocr)) + "."
        parts.append(line)
    for item in inputs.audio:
        aud = perception.audio.get(item.id)
        line = f"Audio {item.id}" + (f" ({aud.duration:.1f} s)." if aud else ".")
        if aud and aud.transcript:
            line += " Transcript: " + json.dumps(aud.transcript.text) + "."
            if aud.transcript.words:
                words = " ".join(f"{w.text}@{w.start:.2f}" for w in aud.transcript.words[:MAX_WORDS])
                line += f" Word start times: {words}."
        parts.append(line)
    for item in inputs.videos:
        vid = perception.videos.get(item.id)
        line = f"Video {item.id}"
        if vid and vid.frame_count:
            line += f" ({vid.frame_count} frames" + (f", {vid.fps:g} fps)" if vid.fps else ")")
        line += "."
        if vid and vid.frames:
            seen = "; ".join(
                f"frame {f.frame}: " + ", ".join(f"{o.label} {_box(o.box)}" for o in f.objects[:5])
                for f in vid.frames[:10]
                if f.objects
            )
            if seen:
                line += f" Objects on sampled frames: {seen}."
        if vid and vid.transcript:
            line += " Speech: " + json.dumps(vid.transcript.text) + "."
        parts.append(line)
    return parts


def candidate_paragraph(candidates: Sequence[tuple[str, str]]) -> str:
    """Mentions a text NER model found, typed with the task's labels, for the planner to check."""
    found = [{"text": text, "label": label} for text, label in candidates]
    listed = json.dumps(found, ensure_ascii=False, separators=(",", ":"))
    return f"Candidate mentions from a text NER model (they may be wrong or incomplete): {listed}"


def task_body(
    task: Task,
    labels: LabelSchema,
    text: str | None,
    media: Sequence[str] = (),
    *,
    request: str | None = None,
    candidates: Sequence[tuple[str, str]] | None = None,
) -> str:
    """The task turn: the instruction, the user's request, the text, the media, the candidates."""
    body = [task_instruction(task, labels)]
    if request:
        body.append(f"The user asked: {json.dumps(request)}")
    if text:
        body.append("Text: " + json.dumps(text))
    body += media
    if candidates is not None:
        body.append(candidate_paragraph(candidates))
    return "\n\n".join(body)


def render_messages(
    task: Task,
    inputs: Inputs,
    labels: LabelSchema,
    perception: Perception,
    registry: ToolRegistry,
    *,
    history: Sequence[Message] = (),
    request: str | None = None,
    candidates: Sequence[tuple[str, str]] | None = None,
) -> list[Message]:
    """The planner's conversation: system rules and tools, earlier turns, then the task and the input.
    ``candidates`` (text, label) add a paragraph of mentions found by a text NER model."""
    system = template("system").substitute(tools=describe_tools(registry, inputs)).strip()
    body = task_body(
        task,
        labels,
        inputs.text,
        describe_media(inputs, perception),
        request=request,
        candidates=candidates,
    )
    return [Message("system", system), *history, Message("user", body)]


def repair_message(errors: Sequence[str]) -> Message:
    return Message("user", template("repair").substitute(errors="\n".join(f"- {e}" for e in errors)).strip())
