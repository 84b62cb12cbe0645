"""Constrained decoding: every token the local planners emit is allowed by the answer's JSON Schema.

llguidance (a small Rust wheel, the engine inside onnxruntime-genai's guidance mode) compiles the
schema to a token mask; any engine that hands out the next-token logits can be driven through it
(``TokenModel``). Greedy decoding with forced tokens appended in one step (jump-forward).

The request's schema is tightened first (``tighten_schema``): entity, trigger and argument texts may
only be spans of the input when nothing is seen, and every list is bounded, so a looping small model
still closes its JSON.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from reamo.agent.planners.protocol import PlanRequest
from reamo.errors import BackendUnavailableError, PlannerError
from reamo.schemas.calls import CONCEPT_ID_PATTERN

Logits = npt.NDArray[np.float32]

MAX_SPAN_TOKENS = 8
LIST_LIMITS = {"entities": 24, "relations": 16, "events": 8, "calls": 24}
MAX_ARGUMENTS = 8
WORD = re.compile(r"\w+(?:[-'’.&]\w+)*|[^\w\s]")


class TokenModel(Protocol):
    """An engine that returns the logits of the next token; it may keep a cache between calls."""

    def start(self, prompt_ids: Sequence[int]) -> Logits:
        """Logits after exactly ``prompt_ids`` (the engine may reuse a cached common prefix)."""
        ...

    def extend(self, ids: Sequence[int]) -> Logits:
        """Append ``ids`` to the current sequence and return the logits after the last of them."""
        ...


@dataclass(frozen=True)
class Generation:
    """What one constrained generation produced and what it cost."""

    text: str
    ids: tuple[int, ...]
    prompt_tokens: int
    prefill_s: float
    decode_s: float
    forced_tokens: int
    steps: int
    truncated: bool

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second of decoding (forced tokens count: they are generated too)."""
        return len(self.ids) / self.decode_s if self.decode_s > 0 else 0.0


def input_spans(request: PlanRequest) -> list[str]:
    """Every contiguous run of up to ``MAX_SPAN_TOKENS`` words of the text and transcripts (OCR too)."""
    sources = [request.inputs.text] if request.inputs.text else []
    perception = request.perception
    sources += [a.transcript.text for a in perception.audio.values() if a.transcript]
    sources += [v.transcript.text for v in perception.videos.values() if v.transcript]
    sources += [" ".join(o.text for o in i.ocr) for i in perception.images.values() if i.ocr]
    spans: dict[str, None] = {}
    for source in sources:
        words = [(m.start(), m.end()) for m in WORD.finditer(source)]
        for i, (start, _) in enumerate(words):
            for _, end in words[i : i + MAX_SPAN_TOKENS]:
                spans.setdefault(source[start:end].strip(), None)
    spans.pop("", None)
    return list(spans)


def tighten_schema(schema: dict[str, Any], request: PlanRequest) -> dict[str, Any]:
    """A stricter copy of the answer schema: bounded lists and, when the input has nothing to see
    (an entity can't be only seen), texts that are spans of the input. Every answer it allows, the
    request's schema allows too."""
    tight = copy.deepcopy(schema)
    props = tight["properties"]
    for key, limit in LIST_LIMITS.items():
        if key in props and props[key].get("maxItems", limit) > 0:
            props[key]["maxItems"] = limit
    event_items = props.get("events", {}).get("items")
    if isinstance(event_items, dict) and "arguments" in event_items.get("properties", {}):
        event_items["properties"]["arguments"]["maxItems"] = MAX_ARGUMENTS
    visual = bool(request.inputs.images or request.inputs.videos)
    spans = input_spans(request)
    if visual or not spans:
        return tight

    def restrict(node: dict[str, Any], field: str) -> None:
        if field in node.get("properties", {}):
            node["properties"][field] = {"enum": spans}

    for key, fields in (("entities", ("text",)), ("relations", ("head", "tail")), ("events", ("trigger",))):
        items = props.get(key, {}).get("items")
        if isinstance(items, dict):
            for field in fields:
                restrict(items, field)
            if key == "events":
                arguments = items.get("properties", {}).get("arguments", {}).get("items")
                if isinstance(arguments, dict):
                    restrict(arguments, "text")
    # a call's concept is an entity's or trigger's text (or its id): never a relation or event label,
    # which a model tuned mostly on relations wrote for spoken MNRE tweets; and it is always written, as
    # the tuning data writes it, so an unrestricted instruction never stands in for it
    calls = props.get("calls", {}).get("items", {})
    for variant in calls.get("anyOf", [calls]):
        if "concept" in variant.get("properties", {}):
            variant["properties"]["concept"] = {
                "anyOf": [{"enum": spans}, {"type": "string", "pattern": CONCEPT_ID_PATTERN}]
            }
            variant["required"] = list(dict.fromkeys([*variant.get("required", []), "concept"]))
    return tight


class Grammar:
    """A compiled answer grammar for one tokenizer; ``matcher()`` starts a fresh parse."""

    def __init__(self, tokenizer: Any, schema: dict[str, Any]) -> None:
        llguidance = _llguidance()
        self._tokenizer = tokenizer
        self._grammar = llguidance.LLMatcher.grammar_from_json_schema(
            json.dumps(schema), defaults={"whitespace_flexible": False}
        )
        failed, messages = llguidance.LLMatcher.validate_grammar_with_warnings(self._grammar, tokenizer)
        if failed:
            raise PlannerError(f"The answer schema does not compile to a grammar: {'; '.join(messages)}")

    def matcher(self) -> Any:
        return _llguidance().LLMatcher(self._tokenizer, self._grammar, log_level=0)


def _llguidance() -> Any:
    try:
        import llguidance
    except ImportError as exc:
        raise BackendUnavailableError(
            "Constrained decoding needs llguidance: pip install 'llguidance>=1.0'"
        ) from exc
    return llguidance


def guidance_tokenizer(hf_tokenizer: Any, vocab_size: int) -> Any:
    """The llguidance view of a transformers tokenizer, sized to the model's logits."""
    _llguidance()
    from llguidance.hf import from_tokenizer

    return from_tokenizer(hf_tokenizer, n_vocab=vocab_size)


def _allowed(matcher: Any, vocab: int) -> npt.NDArray[np.bool_]:
    bits = np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8)
    mask = np.unpackbits(bits, bitorder="little").astype(bool)
    if mask.shape[0] < vocab:
        mask = np.concatenate([mask, np.zeros(vocab - mask.shape[0], dtype=bool)])
    return mask[:vocab]


@dataclass(frozen=True)
class SecondLook:
    """Before the entity list is closed, look one entity further: write it greedily and keep it when it
    is new (its text is not in the list yet), a second model found the same mention (``mentions``: the
    texts spaCy's NER found) and the model is sure of it (the geometric mean of the probabilities of
    its chosen tokens is at least ``threshold``). A small tuned planner closes its lists early: it
    stops after two names where a sentence has three. Left to itself, it goes on with numbers and
    dates as readily (Twitter-2017 and CoNLL-2003 dev: precision 63 -> 40), hence the second model.

    ``close`` and ``go_on`` are the tokens that end and continue the list (``}]`` and ``},``);
    ``after`` is a token that shows the entity list is done (the ``relations`` key)."""

    close: int
    go_on: int
    after: int
    threshold: float
    mentions: frozenset[str] = frozenset()
    max_tokens: int = 48


ENTITY_TEXT = re.compile(r'"text":"((?:[^"\\]|\\.)*)"')


def _look_further(
    model: TokenModel,
    matcher: Any,
    prompt_ids: Sequence[int],
    out: list[int],
    look: SecondLook,
    decode: Any,
) -> tuple[list[int], Logits] | None:
    """The tokens of one more entity and the logits after them, when it is new and the model is sure
    of it; else None, with the engine back where it was."""
    probe = matcher.deep_copy()
    ids: list[int] = []
    pending = [look.go_on]
    log_p: list[float] = []
    while len(ids) + len(pending) <= look.max_tokens and probe.consume_tokens(pending):
        forced = list(probe.compute_ff_tokens())
        if forced and not probe.consume_tokens(forced):
            break
        ids += pending + forced
        logits = model.extend(pending + forced)
        allowed = _allowed(probe, logits.shape[-1])
        if allowed[look.close]:  # the entity is written: the list may close here
            seen = set(ENTITY_TEXT.findall(decode(out)))
            texts = ENTITY_TEXT.findall(decode(ids))
            sure = float(np.exp(np.mean(log_p))) if log_p else 0.0
            if texts and texts[0] not in seen and texts[0] in look.mentions and sure >= look.threshold:
                return ids, logits
            break
        if not allowed.any():
            break
        masked = np.where(allowed, logits, -np.inf)
        token = int(np.argmax(masked))
        log_p.append(-float(np.log(np.sum(np.exp(masked - masked[token])))))
        pending = [token]
    if ids:
        model.start([*prompt_ids, *out])  # back to the closing point
    return None


def generate(
    model: TokenModel,
    grammar: Grammar,
    prompt_ids: Sequence[int],
    *,
    max_new_tokens: int,
    decode: Any,
    second_look: SecondLook | None = None,
) -> Generation:
    """Greedy decoding under ``grammar``; ``decode(ids) -> str`` turns the tokens into the answer text
    (dropping the end-of-turn token). ``second_look`` looks past the end of the entity list."""
    matcher = grammar.matcher()
    started = time.perf_counter()
    logits = model.start(prompt_ids)
    prefilled = time.perf_counter()
    out: list[int] = []
    forced = steps = 0
    while len(out) < max_new_tokens and not matcher.is_stopped():
        ff = matcher.compute_ff_tokens()[: max_new_tokens - len(out)]
        ahead: Logits | None = None  # the logits after `chosen`, when a second look already has them
        if ff:
            chosen = list(ff)
            forced += len(chosen)
        else:
            allowed = _allowed(matcher, logits.shape[-1])
            if not allowed.any():
                raise PlannerError(f"Constrained decoding reached a dead end: {matcher.get_error()}")
            chosen = [int(np.argmax(np.where(allowed, logits, -np.inf)))]
            look = second_look
            if (
                look
                and look.mentions
                and chosen == [look.close]
                and look.after not in out
                and allowed[look.go_on]
            ):
                further = _look_further(model, matcher, prompt_ids, out, look, decode)
                if further is not None:
                    chosen, ahead = further
        if not matcher.consume_tokens(chosen):
            raise PlannerError(f"Constrained decoding rejected its own token: {matcher.get_error()}")
        out += chosen
        if matcher.is_stopped():
            break
        logits = ahead if ahead is not None else model.extend(chosen)
        steps += 1
    done = time.perf_counter()
    return Generation(
        text=decode(out),
        ids=tuple(out),
        prompt_tokens=len(prompt_ids),
        prefill_s=prefilled - started,
        decode_s=done - prefilled,
        forced_tokens=forced,
        steps=steps,
        truncated=not matcher.is_stopped() and not matcher.is_accepting(),
    )
