"""Dev scores of a universal scorer (``agent/universal.py``) on the tuning corpora's dev material, each
task under several ways of writing its labels: the dataset's strings, bare names, codes and the
paraphrases of ``finetune/verbalise.py`` (those it was tuned with) and, the telling one, names it never
saw in tuning (``HELD_OUT``: written for this check, kept out of ``verbalise``). The decision thresholds
of ``scorer.json`` are chosen here, on dev only.

    python -m reamo.finetune.universal_eval FOLDER [--data ../shared/data] [--limit 400]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reamo.agent.universal import UniversalScorer
from reamo.finetune.pairs import mention_f1, prf
from reamo.finetune.universal import PairItem, Pool, TagItem, pools
from reamo.finetune.verbalise import PARAPHRASES, bare_name, code

HELD_OUT = {
    "person": "human being",
    "location": "geographical place",
    "organization": "institution or company",
    "miscellaneous": "other proper noun",
    "couple": "husband or wife",
    "member of": "works for or plays for",
    "peer": "friend or co-worker",
    "contain": "has within it",
    "present in": "takes part in",
    "locate at": "situated in",
    "nationality": "nation of",
    "attack": "hostile assault",
    "meet": "summit or talks",
    "die": "passing away",
    "transport": "travel or shipment",
    "arrest jail": "taken into custody",
    "attacker": "the assailant",
    "victim": "the injured or killed",
    "target": "the thing hit",
    "place": "the location",
}
Writer = Callable[[str], str]
WRITERS: dict[str, Writer] = {
    "raw": lambda label: label,
    "names": bare_name,
    "codes": code,
    "paraphrases": lambda label: (PARAPHRASES.get(bare_name(label)) or (bare_name(label),))[0],
    "held-out": lambda label: HELD_OUT.get(bare_name(label), bare_name(label)),
}


def pair_scores(scorer: UniversalScorer, pool: Pool, write: Writer, limit: int) -> dict[str, float]:
    """Pair F1 of a relations or arguments pool's dev items (gold entities), its labels written by
    ``write``."""
    items: list[PairItem] = pool.dev[:limit]
    texts = [write(label) for label in pool.labels]
    tp = n_pred = n_gold = 0
    for item in items:
        prefix = "" if item.context is None else f"{write(item.context)} : "
        row = scorer.pair_probabilities(item.text, [(item.head, item.tail)], texts, prefix)[0]
        chosen = scorer.choose(row, pool.labels)
        predicted = chosen[0] if chosen else None
        n_pred += predicted is not None
        n_gold += item.label is not None
        tp += predicted is not None and predicted == item.label
    return prf(tp, n_pred, n_gold)


def tag_scores(scorer: UniversalScorer, pool: Pool, write: Writer, limit: int) -> dict[str, float]:
    """Mention F1 of an entities or triggers pool's dev sentences, its labels written by ``write``."""
    items: list[TagItem] = pool.dev[:limit]
    texts = [write(label) for label in pool.labels]
    back = dict(zip(texts, pool.labels, strict=True))
    gold, found = [], []
    for item in items:
        view = scorer.tag(item.text, texts)
        found.append({(m.span, back[m.label]) for m in view.mentions()})
        gold.append({(_words(item.text, span), label) for span, label in item.mentions})
    return mention_f1(gold, found)


def _words(text: str, span: tuple[int, int]) -> tuple[int, int]:
    start, end = span
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return start, end


def report(folder: Path, data: Path, limit: int, tasks: Sequence[str] | None = None) -> dict[str, Any]:
    """Every dev pool's F1 under every way of writing its labels."""
    scorer = UniversalScorer(folder, threads=2)
    out: dict[str, Any] = {}
    for pool in pools(data):
        if (tasks and pool.task not in tasks) or not pool.dev:
            continue
        random.Random(0).shuffle(pool.dev)
        score = pair_scores if pool.task in ("relations", "arguments") else tag_scores
        started = time.perf_counter()
        row = {name: score(scorer, pool, write, limit)["f1"] for name, write in WRITERS.items()}
        row["seconds"] = round(time.perf_counter() - started, 1)
        out[f"{pool.task}:{pool.corpus}"] = row
        print(f"{pool.task}:{pool.corpus}", json.dumps(row), flush=True)
    names = [bare_name(label) for label in HELD_OUT] + ["zebra", "drug dosage", "founded in year"]
    for head in ("pair", "tag"):
        out[f"unseen:{head}"] = [(u.label, u.nearest, u.similarity) for u in scorer.unseen(head, names)]
    similar = [scorer.unseen(head, list(HELD_OUT.values())) for head in ("pair",)]
    out["held_out_flagged"] = len(similar[0])
    return out


MARGINS = (-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3)
CONFIDENCES = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def thresholds(scorer: UniversalScorer, data: Path, limit: int) -> dict[str, Any]:
    """What the thresholds would give on dev, labels as bare names: pair F1 of each pool at each
    ``none_margin``, and the precision and share of the tagger's mentions at each confidence (what a
    refiner adding mentions it is that sure of would add)."""
    out: dict[str, Any] = {}
    for pool in pools(data):
        if not pool.dev:
            continue
        random.Random(0).shuffle(pool.dev)
        key = f"{pool.task}:{pool.corpus}"
        row: dict[float, Any] = {}
        if pool.task in ("relations", "arguments"):
            for margin in MARGINS:
                object.__setattr__(scorer.config, "none_margin", margin)
                row[margin] = pair_scores(scorer, pool, bare_name, limit)["f1"]
            object.__setattr__(scorer.config, "none_margin", 0.0)
        else:
            texts = [bare_name(label) for label in pool.labels]
            back = dict(zip(texts, pool.labels, strict=True))
            scored = []
            for item in pool.dev[:limit]:
                gold = {(_words(item.text, span), label) for span, label in item.mentions}
                for m in scorer.tag(item.text, texts).mentions():
                    scored.append((m.score, (m.span, back[m.label]) in gold))
            row = {
                t: (
                    round(
                        100 * sum(ok for s, ok in scored if s >= t) / max(1, sum(s >= t for s, _ in scored)),
                        1,
                    ),
                    sum(s >= t for s, _ in scored),
                )
                for t in CONFIDENCES
            }
        out[key] = row
        print(key, json.dumps(row), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("--tasks", nargs="*")
    parser.add_argument("--thresholds", action="store_true", help="sweep the decision thresholds instead")
    args = parser.parse_args()
    np.seterr(all="ignore")
    if args.thresholds:
        print(
            json.dumps(thresholds(UniversalScorer(args.folder, threads=2), args.data, args.limit), indent=1)
        )
        return
    print(json.dumps(report(args.folder, args.data, args.limit, args.tasks), indent=1))


if __name__ == "__main__":
    main()
