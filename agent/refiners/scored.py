"""What the scorer-backed refiners share: their settings, and the views of a text they score in.

A refiner gets its scorer from one method (``model_for``); it uses only the scorer's ``relate``,
``arguments``, ``mentions``, ``tag_probabilities``, ``labels``, ``tagger()``, ``event_tagger()`` and
``config`` floors, so another scorer with those (a label-text-conditioned one) drops in there.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from typing import Any

from reamo.agent.experts import find_experts
from reamo.agent.planners.pairs import (
    PairScorer,
    Scorers,
    Span,
    find_scorers,
    overlaps,
    tag_confidence,
    tagged_spans,
)
from reamo.agent.refiners.edits import Draft
from reamo.agent.refiners.protocol import RefinerSetup
from reamo.agent.spans import find_spans
from reamo.agent.universal import Bound, UniversalScorers, is_universal
from reamo.errors import ConfigError
from reamo.schemas import BackendInfo, Entity, LabelSchema

DEFAULT_THREADS = min(2, os.cpu_count() or 1)
"""The scorers' threads unless ``threads`` or ``planner_options.threads`` says otherwise (the embedded
planner's rule: two where there are two cores)."""


def check_options(setup: RefinerSetup, allowed: Collection[str]) -> None:
    unknown = sorted(set(setup.options) - set(allowed))
    if unknown:
        raise ConfigError(
            f"refiner_options.{setup.name} has unknown setting(s) {', '.join(unknown)}; "
            f"the {setup.name} refiner takes {', '.join(sorted(allowed))}."
        )


def threshold(setup: RefinerSetup, key: str) -> float | None:
    """A probability setting (0 to 1) of the refiner's options; None when not set."""
    value = setup.options.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"refiner_options.{setup.name}.{key} is {value!r}; use a probability from 0 to 1.")
    return float(value)


Scorer = PairScorer | Bound
"""What a refiner scores with: a per-dataset scorer, or the universal one bound to the request's labels."""
TaskScorers = Scorers | UniversalScorers


def scorers_of(setup: RefinerSetup, task: str) -> TaskScorers | None:
    """The scorers ``refiner_options.<name>.scorer`` names (a shipped scorer's name, a folder, a list of
    them: a request gets the first that knows its labels; ``"none"``: none), the shipped ones for
    ``task`` by default. A universal scorer (``agent/universal.py``) knows every label set: it serves
    every request. Only their configs are read here; each loads on first use."""
    planner_threads = setup.config.planner_options.get("threads")
    default = planner_threads if isinstance(planner_threads, int) and planner_threads > 0 else DEFAULT_THREADS
    threads = setup.options.get("threads", default)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"refiner_options.{setup.name}.threads is {threads!r}; use a positive integer.")
    folders = find_scorers(task, setup.options.get("scorer"), option=f"refiner_options.{setup.name}.scorer")
    universal = [folder for folder in folders if is_universal(folder)]
    if universal and len(folders) > 1:
        raise ConfigError(
            f"refiner_options.{setup.name}.scorer names the universal scorer {universal[0].name!r} in a "
            "list; it scores every label set, so name it alone (or list only per-dataset scorers)."
        )
    experts = setup.options.get("experts")
    if universal:
        found = find_experts(task, experts, option=f"refiner_options.{setup.name}.experts")
        return UniversalScorers(universal[0], task, threads=threads, resources=setup.resources, experts=found)
    if experts not in (None, "none", []):
        raise ConfigError(
            f"refiner_options.{setup.name}.experts is set, but its scorer is not the universal one: "
            "experts are matched to a request's labels through the universal scorer. Remove the setting."
        )
    return Scorers(folders, threads=threads, resources=setup.resources) if folders else None


def describe(name: str, scorers: TaskScorers | None, what: str) -> BackendInfo:
    folders = ", ".join(folder.name for folder, _ in scorers.configs) if scorers else "none"
    experts = scorers.experts if isinstance(scorers, UniversalScorers) else []
    beside = f"; experts: {', '.join(e.name for e in experts)}" if experts else ""
    return BackendInfo(role="refiner", name=name, detail=f"{what} (MiniLM: {folders}{beside})")


def report_unseen(
    draft: Draft,
    scorer: Scorer,
    names: Sequence[str],
    what: str,
    *,
    scored: bool = True,
    quiet: Collection[str] = (),
) -> frozenset[str]:
    """The ``names`` (of ``what``) far from every label the universal scorer was tuned on, named in an
    ``info`` effect: a scorer that writes records of them (``scored``) still scores them, less surely; a
    checker leaves the planner's records of them as they are (a doubt it cannot judge is no reason to
    drop one). Those of ``quiet`` (what another stage handles) are returned and not named."""
    far = scorer.unseen(names) if isinstance(scorer, Bound) else []
    told = [u for u in far if u.label not in quiet]
    if told:
        listed = ", ".join(f"{u.label!r} (nearest tuned: {u.nearest!r}, {u.similarity:.2f})" for u in told)
        done = "scored all the same" if scored else "left as the planner gave them"
        draft.effect(
            "unseen_labels",
            f"{what} far from every label the scorer was tuned on, {done}: {listed}; "
            "a description of each (name: what it means) helps",
        )
    return frozenset(u.label for u in far)


def report_experts(
    draft: Draft, scorer: Scorer, names: Sequence[str], what: str, event_types: Sequence[str] = ()
) -> None:
    """Names in an ``info`` effect the ``names`` (of ``what``) an expert scores as one of its own classes
    (``agent/experts.py``): for relations once, for arguments under each of ``event_types``."""
    if not isinstance(scorer, Bound):
        return
    under_types: list[str | None] = list(event_types) or [None]
    for event_type in under_types:
        consulted = scorer.expert_matches(names, event_type)
        if consulted is None:
            continue
        listed = ", ".join(
            f"{m.name!r} as {m.label!r} ({m.similarity:.2f})" for m in consulted.matched.values()
        )
        under = f" of {event_type!r} events (as {consulted.context!r})" if event_type is not None else ""
        draft.effect(
            "experts",
            f"{what}{under} scored by the per-dataset scorer {consulted.expert.name!r}, matched by their "
            f"text to its classes: {listed}",
        )


def far_labels(scorer: Scorer, names: Sequence[str]) -> frozenset[str]:
    """The ``names`` a universal scorer reports far from every label it was tuned on (none for a
    per-dataset scorer, which knows its labels exactly)."""
    return frozenset(u.label for u in scorer.unseen(names)) if isinstance(scorer, Bound) else frozenset()


def placed(text: str, entities: Sequence[Entity]) -> list[tuple[str, Span]]:
    """The entities that can be found in ``text``, by their text, with their first span."""
    found = [(e.text, find_spans(text, e.text)) for e in entities]
    return [(name, spans[0]) for name, spans in found if spans]


def more_mentions(
    tagger: Scorer | None, text: str, entities: Sequence[tuple[str, Span]], labels: LabelSchema
) -> list[tuple[str, Span, str]]:
    """The tagger's mentions of a requested entity type that ``entities`` lack: none overlaps one of them
    or has the text of one (entities are named by their text), each text once."""
    if tagger is None:
        return []
    names = {name for name, _ in entities}
    extra = []
    for name, label, span in tagger.mentions(text):
        if (
            label in labels.entity_types
            and name not in names
            and not any(overlaps(span, s) for _, s in entities)
        ):
            names.add(name)
            extra.append((name, span, label))
    return extra


class TagCheck:
    """A tagger's view of one text, against which records are checked."""

    def __init__(self, tagger: Any, text: str) -> None:
        self.labels: list[str] = list(tagger.labels)
        self.text = text
        self.offsets, self.probs = tagger.tag_probabilities(text)

    def tags(self, label: str) -> bool:
        return f"B-{label}" in self.labels

    def sure(self, span: Span, label: str) -> float:
        """How sure the tagger is that ``span`` is a mention of ``label`` (``tag_confidence``)."""
        return tag_confidence(self.labels, self.offsets, self.probs, span, label)

    def sure_mentions(self, wanted: Sequence[str], add: float, taken: list[Span]) -> list[tuple[Span, str]]:
        """The tagger's mentions (its likeliest tags) of a ``wanted`` label on no ``taken`` span that it
        is at least ``add`` sure of; each one found is taken."""
        tags = [self.labels[k] for k in self.probs.argmax(-1).tolist()]
        found = []
        for span, label in tagged_spans(self.text, self.offsets, tags):
            if (
                label in wanted
                and not any(overlaps(span, o) for o in taken)
                and self.sure(span, label) >= add
            ):
                taken.append(span)
                found.append((span, label))
        return found
