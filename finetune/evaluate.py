"""Scoring planner answers against the tuning data's gold answers: typed entity, relation and event
F1, JSON validity, and the rate of correctly targeted calls (module, medium and concept)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reamo.agent.parsing import ParseError, parse_answer


@dataclass(frozen=True)
class Counts:
    tp: int = 0
    pred: int = 0
    gold: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.pred + other.pred, self.gold + other.gold)

    @property
    def f1(self) -> float:
        return 2 * self.tp / (self.pred + self.gold) if self.pred + self.gold else 0.0


def _count(gold: set[tuple[Any, ...]], pred: set[tuple[Any, ...]]) -> Counts:
    return Counts(len(gold & pred), len(pred), len(gold))


def _records(answer: dict[str, Any]) -> dict[str, set[tuple[Any, ...]]]:
    def items(key: str) -> list[dict[str, Any]]:
        value = answer.get(key)
        return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []

    return {
        "entities": {(str(e.get("text")), str(e.get("label"))) for e in items("entities")},
        "relations": {
            (str(r.get("head")), str(r.get("label")), str(r.get("tail"))) for r in items("relations")
        },
        "events": {(str(v.get("trigger")), str(v.get("type"))) for v in items("events")},
        "calls": {
            (str(c.get("module")), str(c.get("target")), str(c.get("concept") or c.get("instruction")))
            for c in items("calls")
        },
    }


def score_answers(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Micro F1 per record kind (×100), the share of answers that parse, and of calls exactly right."""
    totals = {k: Counts() for k in ("entities", "relations", "events", "calls")}
    parsed = 0
    for g, p in zip(gold, predicted, strict=True):
        gold_records = _records(json.loads(g))
        try:
            pred_records = _records(parse_answer(p)[0])
            parsed += 1
        except ParseError:
            pred_records = {k: set() for k in totals}
        for key in totals:
            totals[key] += _count(gold_records[key], pred_records[key])
    scores = {f"{k}_f1": round(100 * c.f1, 1) for k, c in totals.items() if c.gold or c.pred}
    scores["parsed"] = round(100 * parsed / len(gold), 1) if gold else 0.0
    calls = totals["calls"]
    if calls.gold:
        scores["calls_correct"] = round(100 * calls.tp / max(calls.pred, calls.gold), 1)
    return scores


def generate_answers(
    model: Any,
    tokenizer: Any,
    examples: Sequence[dict[str, Any]],
    *,
    max_new_tokens: int = 256,
    device: str = "cpu",
) -> list[str]:
    """Greedy answers of ``model`` to each example's prompt (unconstrained: this measures the model)."""
    import torch

    answers = []
    model.eval()
    for example in examples:
        prompt = tokenizer.apply_chat_template(
            example["messages"], add_generation_prompt=True, tokenize=False
        )
        ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"].to(device)
        with torch.no_grad():
            out = model.generate(
                ids,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
        answers.append(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True))
    return answers
