"""Planner quality and speed on dev splits, and the decoding speed of the engines that can run the
embedded model. Prints tables.

    python benchmarks/planner.py quality --data ../shared/data/text [--limit 50] \
        [--planner spacy --planner embedded] [--options '{"threads": 2}']
    python benchmarks/planner.py engines [--tokens 128] [--threads 1 --threads 2]

quality: each planner runs in its own process (so its peak RSS is its own) over the first ``--limit``
instances of Twitter-2017 valid (NER, every tweet), MNRE val (RE, the first sentences with at least one
relation; the gold triples of a sentence are all its non-None records) and the M2E2 text-only
sentences that are not in the multimedia file (EE, the first sentences with at least one event).
Typed F1 with exact text match: NER (text, type); RE (head, relation, tail); EE triggers (text, type)
and arguments (event type, text, role). Latency is per instance through ``Reamo.extract`` (text only,
no perception); tokens/s is the embedded engine's own count over generated tokens (forced ones too).

engines: greedy decoding of ``--tokens`` tokens after the real NER prompt, unconstrained and under the
answer grammar, for onnxruntime-genai int4 and int8, transformers float32 and CTranslate2 int8 (CTranslate2
exposes no logits hook in its decoding loop, so it can't be constrained token by token).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reamo.evaluation.metrics import PRF, score_keys
from reamo.evaluation.runner import peak_rss_mb
from reamo.finetune.corpora import read_bio, read_m2e2_text
from reamo.schemas import LabelSchema, Task

OBAMA = "Barack Obama met Angela Merkel in Berlin."


@dataclass
class Instance:
    task: Task
    text: str
    entities: list[tuple[str, str]] = field(default_factory=list)
    relations: list[tuple[str, str, str]] = field(default_factory=list)
    events: list[tuple[str, str, list[tuple[str, str]]]] = field(default_factory=list)


def twitter(data: Path, limit: int) -> list[Instance]:
    out = []
    for s in read_bio(data / "twitter2017" / "valid.txt", "twitter2017"):
        out.append(Instance("ner", s.text, [(m.text, m.label) for m in s.entities]))
        if len(out) == limit:
            break
    return out


def mnre(data: Path, limit: int) -> list[Instance]:
    by_text: dict[str, Instance] = {}
    for line in (data / "mnre_v2" / "mnre_val.txt").read_text(encoding="utf-8").splitlines():
        row = ast.literal_eval(line)
        text = " ".join(row["token"])
        inst = by_text.setdefault(text, Instance("re", text))
        if row["relation"] != "None":
            inst.relations.append((row["h"]["name"], row["relation"], row["t"]["name"]))
    return [i for i in by_text.values() if i.relations][:limit]


def m2e2(data: Path, limit: int) -> list[Instance]:
    folder = data / "m2e2" / "m2e2_annotations"
    out = []
    sentences = read_m2e2_text(
        folder / "text_only_event.compact.json", exclude=folder / "text_multimedia_event.json"
    )
    for s in sentences:
        if s.events:
            events = [(e.trigger, e.type, list(e.arguments)) for e in s.events]
            out.append(Instance("ee", s.text, [(m.text, m.label) for m in s.entities], events=events))
        if len(out) == limit:
            break
    return out


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def score(instances: list[Instance], results: list[dict[str, Any]]) -> dict[str, PRF]:
    scores: dict[str, PRF] = {}

    def add(name: str, gold: list[Any], pred: list[Any]) -> None:
        scores[name] = scores.get(name, PRF()) + score_keys(gold, pred)

    for inst, res in zip(instances, results, strict=True):
        ents = {e["id"]: e for e in res["entities"]}
        if inst.task == "ner":
            add(
                "NER",
                [(_norm(t), lab) for t, lab in inst.entities],
                [(_norm(e["text"]), e["label"]) for e in res["entities"]],
            )
        elif inst.task == "re":
            gold = [(_norm(h), r, _norm(t)) for h, r, t in inst.relations]
            pred = [
                (_norm(ents[r["head"]]["text"]), r["label"], _norm(ents[r["tail"]]["text"]))
                for r in res["relations"]
            ]
            add("RE", gold, pred)
        else:
            add(
                "ET",
                [(_norm(t), k) for t, k, _ in inst.events],
                [(_norm(v["trigger"]["text"]), v["type"]) for v in res["events"]],
            )
            gold_args = [(k, _norm(a), role) for _, k, args in inst.events for a, role in args]
            pred_args = [
                (v["type"], _norm(ents[a["entity"]]["text"]), a["role"])
                for v in res["events"]
                for a in v["arguments"]
            ]
            add("EA", gold_args, pred_args)
    return scores


def run_planner(spec: str, data: Path, limit: int, options: dict[str, Any]) -> dict[str, Any]:
    """One planner over the three subsets (in this process); returns scores, timings and peak RSS."""
    from reamo import Reamo

    reamo = Reamo(planner=spec, plugins=False, perceive=False, planner_options=options)
    report: dict[str, Any] = {"planner": spec, "scores": {}, "latency": {}, "tok_s": [], "failures": 0}
    for task, loader in (("ner", twitter), ("re", mnre), ("ee", m2e2)):
        instances = loader(data, limit)
        labels = LabelSchema.default(task)
        results, latencies = [], []
        for inst in instances:
            started = time.perf_counter()
            result = reamo.extract(task=task, text=inst.text, labels=labels)
            latencies.append(time.perf_counter() - started)
            results.append(result.model_dump(mode="json"))
            report["failures"] += int(not result.complete)
            last = getattr(reamo.planner, "last", None)
            if last is not None and last.decode_s > 0:
                report["tok_s"].append(last.tokens_per_s)
        report["latency"][task] = statistics.median(latencies) if latencies else 0.0
        for name, prf in score(instances, results).items():
            report["scores"][name] = {**prf.scaled(), "tp": prf.tp, "pred": prf.n_pred, "gold": prf.n_gold}
        report.setdefault("counts", {})[task] = len(instances)
    report["peak_rss_mb"] = peak_rss_mb()
    report["describe"] = reamo.planner.describe().detail
    return report


def quality(args: argparse.Namespace) -> None:
    reports = []
    for spec in args.planner or ["spacy", "embedded"]:
        command = [
            sys.executable,
            __file__,
            "_one",
            spec,
            "--data",
            str(args.data),
            "--limit",
            str(args.limit),
        ]
        command += ["--options", json.dumps(args.options)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{spec}: failed\n{done.stderr[-3000:]}", file=sys.stderr)
            continue
        reports.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"load average: {os.getloadavg()} (2-core machine, shared)")
    print(f"subsets: first {args.limit} (see the module docstring)")
    head = f"{'planner':<10} {'NER F1':>7} {'RE F1':>6} {'ET F1':>6} {'EA F1':>6} {'med s NER/RE/EE':>17}"
    head += f" {'tok/s':>6} {'RSS MB':>7} {'incomplete':>10}"
    print(head)
    for r in reports:
        s = r["scores"]
        lat = "/".join(f"{r['latency'][t]:.2f}" for t in ("ner", "re", "ee"))
        tok = f"{statistics.median(r['tok_s']):.0f}" if r["tok_s"] else "-"
        print(
            f"{r['planner']:<10} {s['NER']['f1']:>7.1f} {s['RE']['f1']:>6.1f} {s['ET']['f1']:>6.1f} "
            f"{s['EA']['f1']:>6.1f} {lat:>17} {tok:>6} {r['peak_rss_mb']:>7.0f} {r['failures']:>10}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2))


# --- engines -----------------------------------------------------------------------------------------


def _prompt() -> tuple[list[Any], dict[str, Any], Any]:
    from reamo.agent.planners.prompting import PromptStyle, planner_messages
    from reamo.agent.planners.protocol import PlanRequest
    from reamo.agent.validation import answer_schema
    from reamo.prompts import render_messages
    from reamo.schemas import Inputs, Perception
    from reamo.tools import build_registry

    registry = build_registry(plugins=False)
    inputs, labels = Inputs(text=OBAMA), LabelSchema.default("ner")
    messages = render_messages("ner", inputs, labels, Perception(), registry)
    schema = answer_schema("ner", labels, inputs, registry)
    request = PlanRequest("ner", inputs, labels, Perception(), tuple(messages), schema)
    return planner_messages(request, PromptStyle(candidates=False)), schema, request


def _timed_loop(model: Any, ids: list[int], tokens: int) -> float:
    import numpy as np

    logits = model.start(ids)
    started = time.perf_counter()
    for _ in range(tokens):
        logits = model.extend([int(np.argmax(logits))])
    return tokens / (time.perf_counter() - started)


def engines(args: argparse.Namespace) -> None:
    from transformers import AutoTokenizer

    from reamo.agent.planners.constrained import Grammar, generate, guidance_tokenizer, tighten_schema
    from reamo.agent.planners.embedded import HF_ASSET, OrtModel, onnx_asset
    from reamo.agent.planners.hf import load_transformers
    from reamo.agent.planners.llm import prompt_ids
    from reamo.assets import prepare

    messages, schema, request = _prompt()
    hf_folder = prepare(HF_ASSET).path
    onnx_folder = prepare(onnx_asset()).path
    onnx8_folder = prepare(onnx_asset(None, "int8")).path  # the precision a merged adapter runs at
    tokenizer = AutoTokenizer.from_pretrained(hf_folder)
    ids = prompt_ids(tokenizer, messages)
    grammar = Grammar(guidance_tokenizer(tokenizer, 49152), tighten_schema(schema, request))
    rows = []
    for threads in args.threads:
        candidates: list[tuple[str, Any]] = [
            ("onnxruntime-genai int4", lambda t=threads: OrtModel(onnx_folder, threads=t)),
            ("onnxruntime-genai int8", lambda t=threads: OrtModel(onnx8_folder, threads=t)),
            ("transformers fp32", lambda t=threads: load_transformers(str(hf_folder), None, threads=t).model),
        ]
        for name, make in candidates:
            model = make()
            free = max(_timed_loop(model, ids, args.tokens) for _ in range(2))
            out = generate(model, grammar, ids, max_new_tokens=256, decode=tokenizer.decode)
            rows.append((name, threads, free, out.tokens_per_s, len(ids), out.text[:60]))
        ct2 = _ctranslate2(hf_folder, tokenizer, ids, args.tokens, threads)
        if ct2 is not None:
            rows.append(
                ("ctranslate2 int8", threads, ct2, None, len(ids), "(no logits hook: unconstrained only)")
            )
    print(f"load average: {os.getloadavg()} (2-core machine, shared)")
    print(f"prompt: few-shot NER prompt of {len(ids)} tokens; {args.tokens} greedy tokens; best of 2")
    print(f"{'engine':<24} {'threads':>7} {'free tok/s':>10} {'constrained tok/s':>17}  answer")
    for name, threads, free, constrained, _, text in rows:
        c = f"{constrained:.1f}" if constrained is not None else "-"
        print(f"{name:<24} {threads:>7} {free:>10.1f} {c:>17}  {text}")


def _ctranslate2(hf_folder: Path, tokenizer: Any, ids: list[int], tokens: int, threads: int) -> float | None:
    try:
        import ctranslate2
    except ImportError:
        return None
    out = Path(os.environ.get("REAMO_CACHE", Path.home() / ".cache" / "reamo")) / "bench-smollm2-ct2-int8"
    if not (out / "model.bin").is_file():
        converter = ctranslate2.converters.TransformersConverter(str(hf_folder))
        converter.convert(str(out), quantization="int8", force=True)
    generator = ctranslate2.Generator(str(out), device="cpu", compute_type="int8", intra_threads=threads)
    prompt = tokenizer.convert_ids_to_tokens(ids)
    best = 0.0
    for _ in range(2):
        first, n = 0.0, 0
        for _step in generator.generate_tokens(prompt, max_length=tokens, end_token=[], sampling_topk=1):
            if n == 0:
                first = time.perf_counter()
            n += 1
        best = max(best, (n - 1) / (time.perf_counter() - first))
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality")
    q.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "text"
    )
    q.add_argument("--limit", type=int, default=50)
    q.add_argument("--planner", action="append")
    q.add_argument("--options", type=json.loads, default={}, help="planner_options as JSON")
    q.add_argument("--json")
    e = sub.add_parser("engines")
    e.add_argument("--tokens", type=int, default=128)
    e.add_argument("--threads", type=int, action="append")
    one = sub.add_parser("_one")
    one.add_argument("spec")
    one.add_argument("--data", type=Path)
    one.add_argument("--limit", type=int)
    one.add_argument("--options", type=json.loads, default={})
    args = parser.parse_args(argv)
    if args.command == "quality":
        quality(args)
    elif args.command == "engines":
        args.threads = args.threads or [1, 2]
        engines(args)
    else:
        options = args.options if args.spec != "spacy" else {}
        print(json.dumps(run_planner(args.spec, args.data, args.limit, options)))


if __name__ == "__main__":
    main()
