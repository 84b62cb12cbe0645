"""Long inputs end to end: a news article of thousands of words and a recording of half an hour.

The article is CoNLL-2003 prose in file order (sentences of six tokens or more that end with a full
stop, joined with spaces) up to ``--words`` words. It is extracted whole (read in windows of
``--window-chars``) and sentence by sentence; both are scored the same way, per sentence: the set of
(normalised text, label) of the entities whose text spans fall in the sentence, against the sentence's
gold. So the F1 of the whole document against one-by-one says what the windowing loses. Each run is a
fresh process: wall time and its own peak RSS (``os.wait4``). ``--sizes`` runs the document at several
lengths to show that memory stays flat as the input grows.

The recording is the same kind of article spoken by piper (the ``tts`` extra; built once into
``--cache``), up to ``--minutes``; it is extracted with ``--audio``; wall time, peak RSS, windows, words
heard and document-level NER F1 (unique normalised text and label) are reported.

    python benchmarks/long_inputs.py text --data ../shared/data --split dev --window-chars 600 1200
    python benchmarks/long_inputs.py text --data ../shared/data --split test --sizes 1250 2500 5000
    python benchmarks/long_inputs.py speech --data ../shared/data --minutes 30
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from reamo.agent.spans import normalise
from reamo.evaluation.builders.text import FOUR_TYPES, chunks, read_conll
from reamo.schemas.labels import DEFAULT_ENTITY_TYPES

LABELS = list(DEFAULT_ENTITY_TYPES)
Key = tuple[int, str, str]


def article(data: Path, split: str, words: int) -> tuple[list[str], list[set[tuple[str, str]]]]:
    """Sentences of CoNLL-2003 prose in file order, up to ``words`` words, and each one's gold set."""
    name = {"dev": "dev.txt", "test": "test.txt", "train": "train.txt"}[split]
    sentences, gold, count = [], [], 0
    for sentence in read_conll(data / "text/conll2003" / name):
        if len(sentence.tokens) < 6 or sentence.tokens[-1] != ".":
            continue
        text = sentence.text
        offsets = [(0, 0)] * len(sentence.tokens)
        pos = 0
        for i, token in enumerate(sentence.tokens):
            offsets[i] = (pos, pos + len(token))
            pos += len(token) + 1
        found = {
            (normalise(text[offsets[a][0] : offsets[b - 1][1]]), FOUR_TYPES[kind])
            for a, b, kind in chunks(sentence.tags)
        }
        sentences.append(text)
        gold.append(found)
        count += len(sentence.tokens)
        if count >= words:
            break
    return sentences, gold


def score(gold: list[set[tuple[str, str]]], pred: list[set[tuple[str, str]]]) -> dict[str, float]:
    tp = sum(len(g & p) for g, p in zip(gold, pred, strict=True))
    n_pred, n_gold = sum(map(len, pred)), sum(map(len, gold))
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": 100 * p, "r": 100 * r, "f1": 100 * f, "gold": n_gold, "pred": n_pred}


def per_sentence(result: dict[str, Any], starts: list[int]) -> list[set[tuple[str, str]]]:
    """The predicted (text, label) of each sentence, from the document's entities and their spans."""
    import bisect

    out: list[set[tuple[str, str]]] = [set() for _ in starts]
    for entity in result["entities"]:
        for g in entity["groundings"]:
            if g["kind"] == "text":
                k = bisect.bisect_right(starts, g["start"]) - 1
                out[k].add((normalise(g["text"]), entity["label"]))
    return out


# --------------------------------------------------------------------------
# the child processes: one measured run each
# --------------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    from reamo import Reamo

    settings: dict[str, Any] = {}
    if args.window_chars:
        settings["window_chars"] = args.window_chars
    reamo = Reamo(planner=args.planner, **settings)
    payload = json.loads(Path(args.job).read_text(encoding="utf-8"))
    started = time.perf_counter()
    if payload["mode"] == "sentences":
        results = [
            reamo.extract("ner", text, labels=LABELS).model_dump(mode="json") for text in payload["texts"]
        ]
        out: dict[str, Any] = {"results": results}
    else:
        result = reamo.extract(
            "ner", text_file=payload.get("text_file"), audio=payload.get("audio"), labels=LABELS
        )
        out = {"result": result.model_dump(mode="json", exclude={"perception", "calls"})}
        if payload.get("audio"):
            transcript = result.perception.audio["audio:0"].transcript
            out["heard_words"] = len(transcript.words) if transcript else 0
    out["seconds"] = time.perf_counter() - started
    Path(args.out).write_text(json.dumps(out), encoding="utf-8")


def measured(job: dict[str, Any], planner: str, window_chars: int | None) -> dict[str, Any]:
    """Run one job in a fresh process: its output, wall time and own peak RSS (MB)."""
    with tempfile.TemporaryDirectory() as tmp:
        job_path, out_path = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        command = [sys.executable, __file__, "_child", str(job_path), str(out_path), "--planner", planner]
        if window_chars:
            command += ["--window-chars", str(window_chars)]
        started = time.perf_counter()
        process = subprocess.Popen(command)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if status != 0:
            raise SystemExit(f"the run failed ({status}): {' '.join(command)}")
        out: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
    out["wall"] = wall
    out["rss_mb"] = usage.ru_maxrss / 1024
    return out


# --------------------------------------------------------------------------
# text
# --------------------------------------------------------------------------


def run_text(args: argparse.Namespace) -> dict[str, Any]:
    console = Console()
    rows: list[dict[str, Any]] = []
    sizes = args.sizes or [args.words]
    with tempfile.TemporaryDirectory() as tmp:
        for words in sizes:
            sentences, gold = article(Path(args.data), args.split, words)
            text = " ".join(sentences)
            starts, pos = [], 0
            for sentence in sentences:
                starts.append(pos)
                pos += len(sentence) + 1
            doc = Path(tmp) / f"article-{words}.txt"
            doc.write_text(text, encoding="utf-8")
            base = {"split": args.split, "words": len(text.split()), "chars": len(text)}
            for chars in args.window_chars:
                run = measured({"mode": "document", "text_file": str(doc)}, args.planner, chars)
                pred = per_sentence(run["result"], starts)
                spans = [g for e in run["result"]["entities"] for g in e["groundings"] if g["kind"] == "text"]
                rows.append(
                    {
                        **base,
                        "spans": len(spans),
                        "spans_cut_their_text": all(text[g["start"] : g["end"]] == g["text"] for g in spans),
                        "last_span_end": max((g["end"] for g in spans), default=0),
                        "mode": f"document, windows of {chars}",
                        "windows": len(run["result"]["windows"]),
                        "failed": sum(w["status"] == "failed" for w in run["result"]["windows"]),
                        "wall_s": run["wall"],
                        "extract_s": run["seconds"],
                        "rss_mb": run["rss_mb"],
                        **score(gold, pred),
                    }
                )
                console.print(rows[-1])
            if not args.no_sentences:
                run = measured({"mode": "sentences", "texts": sentences}, args.planner, None)
                pred = [
                    {
                        (normalise(e["text"]), e["label"])
                        for e in result["entities"]
                        if any(g["kind"] == "text" for g in e["groundings"])
                    }
                    for result in run["results"]
                ]
                rows.append(
                    {
                        **base,
                        "mode": "sentence by sentence",
                        "windows": len(sentences),
                        "failed": 0,
                        "wall_s": run["wall"],
                        "extract_s": run["seconds"],
                        "rss_mb": run["rss_mb"],
                        **score(gold, pred),
                    }
                )
                console.print(rows[-1])
    table = Table(title=f"Long text: CoNLL-2003 {args.split} prose, planner {args.planner}")
    for column in ("words", "mode", "windows", "wall s", "peak RSS MB", "P", "R", "F1"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["words"]),
            row["mode"],
            str(row["windows"]),
            f"{row['wall_s']:.1f}",
            f"{row['rss_mb']:.0f}",
            f"{row['p']:.1f}",
            f"{row['r']:.1f}",
            f"{row['f1']:.1f}",
        )
    console.print(table)
    return {"kind": "text", "planner": args.planner, "rows": rows}


# --------------------------------------------------------------------------
# speech
# --------------------------------------------------------------------------


def recording(data: Path, minutes: float, cache: Path) -> tuple[Path, set[tuple[str, str]]]:
    """A spoken article of ``minutes`` (piper, built once), and the gold (text, label) of what it says."""
    import numpy as np
    import soundfile

    from reamo.evaluation.tts import synthesize

    sentences, gold = article(data, "test", 10**9)
    target = cache / f"article-{minutes:g}min.wav"
    spoken = cache / f"article-{minutes:g}min.json"
    if target.exists() and spoken.exists():
        count = json.loads(spoken.read_text(encoding="utf-8"))["sentences"]
        return target, set().union(*gold[:count])
    cache.mkdir(parents=True, exist_ok=True)
    pieces, seconds, rate = [], 0.0, 22050
    with tempfile.TemporaryDirectory() as tmp:
        for n, sentence in enumerate(sentences):
            clip = Path(tmp) / f"{n}.wav"
            synthesize(sentence, clip, noise=False)
            audio, rate = soundfile.read(clip, dtype="float32")
            pieces += [audio, np.zeros(int(0.4 * rate), dtype="float32")]
            seconds += len(audio) / rate + 0.4
            if seconds >= minutes * 60:
                break
    soundfile.write(target, np.concatenate(pieces), rate)
    spoken.write_text(json.dumps({"sentences": n + 1, "seconds": seconds}), encoding="utf-8")
    return target, set().union(*gold[: n + 1])


def run_speech(args: argparse.Namespace) -> dict[str, Any]:
    console = Console()
    started = time.perf_counter()
    wav, gold = recording(Path(args.data), args.minutes, Path(args.cache).expanduser())
    console.print(f"recording {wav} ready in {time.perf_counter() - started:.0f} s")
    import soundfile

    duration = soundfile.info(str(wav)).duration
    run = measured({"mode": "document", "audio": str(wav)}, args.planner, args.window_chars[0])
    result = run["result"]
    pred = {(normalise(e["text"]), e["label"]) for e in result["entities"]}
    row = {
        "minutes": duration / 60,
        "windows": len(result["windows"]),
        "failed": sum(w["status"] == "failed" for w in result["windows"]),
        "heard_words": run["heard_words"],
        "wall_s": run["wall"],
        "rss_mb": run["rss_mb"],
        **score([gold], [pred]),
        "timings": result["timings"],
    }
    table = Table(title=f"Long recording: spoken CoNLL-2003 test prose, planner {args.planner}")
    for column in ("minutes", "windows", "words heard", "wall s", "peak RSS MB", "P", "R", "F1"):
        table.add_column(column, overflow="fold")
    table.add_row(
        f"{row['minutes']:.1f}",
        str(row["windows"]),
        str(row["heard_words"]),
        f"{row['wall_s']:.0f}",
        f"{row['rss_mb']:.0f}",
        f"{row['p']:.1f}",
        f"{row['r']:.1f}",
        f"{row['f1']:.1f}",
    )
    console.print(table)
    console.print({k: round(v, 1) for k, v in result["timings"].items()})
    return {"kind": "speech", "planner": args.planner, "rows": [row]}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        parser = argparse.ArgumentParser()
        parser.add_argument("job")
        parser.add_argument("out")
        parser.add_argument("--planner", default="embedded")
        parser.add_argument("--window-chars", type=int)
        child(parser.parse_args(sys.argv[2:]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("kind", choices=["text", "speech"])
    parser.add_argument("--data", required=True, help="the benchmark sources folder (../shared/data)")
    parser.add_argument("--split", default="dev", choices=["dev", "test", "train"])
    parser.add_argument("--words", type=int, default=5000)
    parser.add_argument("--sizes", type=int, nargs="*", help="several document lengths, in words")
    parser.add_argument("--window-chars", type=int, nargs="*", default=[300])
    parser.add_argument("--no-sentences", action="store_true", help="skip the sentence-by-sentence run")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--cache", default="~/.cache/reamo/long")
    parser.add_argument("--planner", default="embedded")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    report = run_text(args) if args.kind == "text" else run_speech(args)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
