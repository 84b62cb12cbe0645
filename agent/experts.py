"""Per-dataset scorers reached through label text: retrieval, not label ids (ROC, arXiv 2509.21151).

The universal scorer reads any label set but is weaker than a head tuned on one dataset's classes (MNRE
val pairs 23.2 against 47.9). An *expert* is such a per-dataset pair scorer (``reamo-re-minilm``,
``reamo-ea-minilm``) whose classes are matched to the request's labels **by what they say**: each
request label, read as text (its name, and ``name: description`` where it has one), and each of the
expert's classes,
written the ways tuning wrote it (``finetune/verbalise.py``: the dataset's string, its bare name, code,
casing, paraphrases, description), are embedded by the universal scorer; the cosines of the best forms
pair request labels and classes one to one (the Hungarian algorithm), and a pair at least
``MATCH_FLOOR`` alike is a match. ``couple``, ``PER_COUPLE`` and ``couple: two people in a romantic
relationship`` all reach ``/per/per/couple``; a label matched to nothing is scored by the universal
scorer alone, so a label set the experts never saw loses nothing.

A pair's decision then takes the expert's choice among the matched labels (its own rule against its
``None``), else the universal scorer's among the unmatched ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reamo.agent.planners.pairs import (
    CONFIG_FILE,
    NONE,
    OUTSIDE,
    PairScorer,
    context_prefix,
    find_scorers,
    load_scorer,
    scorer_folder,
)

DEFAULT_EXPERTS = {"re": ("reamo-re-minilm",), "ee": ("reamo-ea-minilm",), "ner": ("reamo-entities",)}
"""The shipped experts of each task (``refiner_options.<refiner>.experts`` names others, or ``"none"``)."""
MATCH_FLOOR = 0.7
"""A request label and an expert's class match when their best forms are at least this alike (cosine in
the universal scorer's pair space for relation types and roles, its tag space for entity types). Chosen
on the dev suites' label sets (MNRE val's original, names, codes, paraphrases and described relation
types): the lowest similarity of a wrong first choice there was 0.68, and every name, code and described
label matched its own class at 0.7. Entity types: every variant of the four types matches at 0.91 or
more, novel types (``benchmarks/expert_matching.py``) reach 0.64, and a narrower type takes its broader
class's tagger (``company`` 0.87 as organization, ``city`` 0.88 as location)."""
EVENT_MATCH_FLOOR = 0.9
"""The floor for event types (an event tagger's types, an argument scorer's event-type contexts): in the
tag space distinct events lie close (``Concert`` is 0.86 from Contact:Meet, ``Acquisition`` 0.76 from
Contact:Phone-Write), and a wrong match lets an expert drop the planner's events of a type it never saw.
Chosen on the dev label sets with ``benchmarks/expert_matching.py``: every name, code and described M2E2
type and all paraphrases but one match their own at 0.95 or more (``moving people or goods``: 0.84), and
24 novel event types reach at most 0.86."""
PAIR_SPACE, TAG_SPACE = 1, 2
"""Which of ``UniversalScorer.label_vectors``' projections a match compares in: relation types and roles
are pair labels, event types are tag labels (the trigger tagger's)."""
Array = npt.NDArray[np.float32]


def class_forms(label: str) -> list[str]:
    """The ways tuning wrote an expert's class ``label``: as the dataset writes it, its bare name, title
    and upper case, its code, its paraphrases and ``name: description``."""
    from reamo.finetune.verbalise import DESCRIPTIONS, PARAPHRASES, bare_name, written

    name = bare_name(label)
    styles = ("raw", "name", "title", "upper", "code")
    forms = [*(written(label, style) for style in styles), *PARAPHRASES.get(name, ())]
    if name in DESCRIPTIONS:
        forms.append(f"{name}: {DESCRIPTIONS[name]}")
    return list(dict.fromkeys(forms))


@dataclass(frozen=True)
class Match:
    """A request label matched to an expert's class, and how alike they are."""

    name: str
    label: str
    similarity: float


def match_labels(
    universal: Any,
    names: Sequence[str],
    texts: Sequence[Sequence[str]],
    classes: Sequence[str],
    space: int,
    floor: float = MATCH_FLOOR,
) -> dict[str, Match]:
    """The request ``names`` (each read as its ``texts``: the name, and ``name: description``) matched one
    to one to ``classes``, keyed by name: the assignment of the highest total similarity of their best
    forms, each pair kept when at least ``floor``."""
    from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

    if not names or not classes:
        return {}
    best = form_similarities(universal, texts, classes, space)
    rows, cols = linear_sum_assignment(best, maximize=True)
    return {
        names[i]: Match(names[i], classes[k], round(float(best[i, k]), 3))
        for i, k in zip(rows.tolist(), cols.tolist(), strict=True)
        if best[i, k] >= floor
    }


def form_similarities(
    universal: Any, texts: Sequence[Sequence[str]], classes: Sequence[str], space: int
) -> Array:
    """(labels, classes) similarities: for each label (read as its ``texts``) and class, the highest cosine
    of any of the label's texts to any of the class's forms (``class_forms``), in the universal scorer's
    ``space``."""
    forms = [(k, form) for k, label in enumerate(classes) for form in class_forms(label)]
    read = [(i, text) for i, written in enumerate(texts) for text in dict.fromkeys(written)]
    asked = unit(universal.label_vectors([text for _, text in read])[space])
    known = unit(universal.label_vectors([form for _, form in forms])[space])
    similar = asked @ known.T
    by_class = np.full((len(read), len(classes)), -1.0, np.float32)
    for j, (k, _) in enumerate(forms):
        by_class[:, k] = np.maximum(by_class[:, k], similar[:, j])
    best = np.full((len(texts), len(classes)), -1.0, np.float32)
    for r, (i, _) in enumerate(read):
        best[i] = np.maximum(best[i], by_class[r])
    return best


def unit(x: Array) -> Array:
    """Each row of ``x`` scaled to length 1 (a zero row stays zero)."""
    out: Array = (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)
    return out


class Expert:
    """One per-dataset pair scorer (``relations`` or ``arguments``), loaded on first use, with the
    matches of the label sets it was asked about (cached)."""

    def __init__(self, folder: Path, resources: Any, *, threads: int | None = None) -> None:
        from reamo.agent.planners.pairs import ScorerConfig

        self.folder = folder
        self.config = ScorerConfig.read(folder)
        self.kind = self.config.kind
        if self.kind == "mentions":  # a tagger's classes are the types of its B- and I- tags
            tagged = [label.partition("-")[2] for label in self.config.labels if label != OUTSIDE]
            self.classes = list(dict.fromkeys(tagged))
        else:
            self.classes = [label for label in self.config.labels if label != NONE]
        self.resources = resources
        self.threads = threads
        self._matches: dict[
            tuple[tuple[str, ...], tuple[tuple[str, ...], ...], int, float], dict[str, Match]
        ] = {}
        self._types: dict[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]], dict[str, Match]] = {}

    @property
    def name(self) -> str:
        return self.folder.name

    def scorer(self) -> PairScorer:
        return load_scorer(self.folder, self.resources, threads=self.threads)

    def matches(
        self,
        universal: Any,
        names: Sequence[str],
        texts: Sequence[Sequence[str]],
        *,
        contexts: bool = False,
        floor: float = MATCH_FLOOR,
    ) -> dict[str, Match]:
        """The request labels ``names`` (each read as its ``texts``) matched to the expert's classes, or to
        the event types it was tuned on (``contexts``, at ``EVENT_MATCH_FLOOR``), at least ``floor``
        alike."""
        classes = self.config.contexts if contexts else self.classes
        space = TAG_SPACE if contexts or self.kind == "mentions" else PAIR_SPACE
        floor = EVENT_MATCH_FLOOR if contexts else floor
        key = (tuple(names), tuple(map(tuple, texts)), space, floor)
        if key not in self._matches:
            self._matches[key] = match_labels(universal, names, texts, classes, space, floor)
        return self._matches[key]

    def end_types(
        self, universal: Any, names: Sequence[str], texts: Sequence[Sequence[str]]
    ) -> dict[str, tuple[str, str]]:
        """Each class's end types (``ScorerConfig.ends``) as the request's entity types ``names`` (each read
        as its ``texts``), matched to the expert's own types by their text; a class with an end type no
        request type matches is left out."""
        key = (tuple(names), tuple(map(tuple, texts)))
        if key not in self._types:
            own = sorted({t for ends in self.config.ends.values() for t in ends})
            self._types[key] = match_labels(universal, names, texts, own, TAG_SPACE)
        typed = {m.label: m.name for m in self._types[key].values()}
        return {
            label: (typed[ends[0]], typed[ends[1]])
            for label, ends in self.config.ends.items()
            if len(ends) == 2 and ends[0] in typed and ends[1] in typed
        }

    def tag_probabilities(self, text: str) -> tuple[list[tuple[int, int]], Array]:
        """A tagger expert's tokens of ``text`` and their tag probabilities, in the order of its labels."""
        return self.scorer().tag_probabilities(text)

    def probabilities(
        self, text: str, pairs: Sequence[tuple[tuple[int, int], tuple[int, int]]], context: str | None = None
    ) -> Array:
        """(pairs, classes with ``None``) probabilities, in the order of the expert's own labels."""
        prefixes = [context_prefix(context)] * len(pairs) if context is not None else None
        out: Array = self.scorer().probabilities(text, pairs, prefixes)
        return out

    def choose(self, row: Array, matched: dict[str, Match]) -> tuple[str, float] | None:
        """The request label the expert's probability row picks among the ``matched`` ones (its own rule
        against ``None``), and its probability; None when ``None`` wins."""
        scorer = self.scorer()
        wanted = {m.label: m.name for m in matched.values()}
        picked = scorer.choose_among(row, list(wanted))
        return (wanted[picked[0]], picked[1]) if picked is not None else None


def find_experts(task: str, choice: Any, *, option: str) -> list[Path]:
    """The expert folders ``choice`` names (a scorer's name or folder, a list of them, ``"none"``), the
    shipped ones of ``task`` that are installed when ``choice`` is None (``find_scorers``)."""
    return find_scorers(task, choice, option=option, shipped=DEFAULT_EXPERTS)


def linked_taggers(folders: Sequence[Path]) -> list[Path]:
    """The expert ``folders`` and, after each, the taggers its ``scorer.json`` names (``candidates``, the
    mentions it scores beside the planner's entities; ``events``, its trigger tagger): a per-dataset
    scorer was tuned and checked with them, so they come with it. Each folder once."""
    from reamo.agent.planners.pairs import ScorerConfig

    out: list[Path] = []
    for folder in folders:
        config = ScorerConfig.read(folder)
        linked = [name for name in (config.candidates, config.events) if name]
        found = [
            scorer_folder(name, f"or remove it from {folder / CONFIG_FILE}", beside=folder.parent)
            for name in linked
        ]
        out += [path for path in (folder, *found) if path.resolve() not in {p.resolve() for p in out}]
    return out
