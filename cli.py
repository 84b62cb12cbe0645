"""The ``reamo`` command: extract, chat, tools, schema."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reamo import __version__
from reamo.errors import ConfigError, InputError, ReamoError
from reamo.schemas import TASKS, json_schemas

err = Console(stderr=True)


def _reamo(args: argparse.Namespace) -> Any:
    from reamo.sdk import Reamo

    return Reamo(args.config, planner=args.planner)


def _labels(args: argparse.Namespace) -> Any:
    """--labels (comma-separated, ``name: description`` items) or the label set of --schema FILE."""
    if args.schema is None:
        return args.labels
    if args.labels is not None:
        raise InputError(
            "Give --labels or --schema, not both: --labels sets the task's labels, --schema FILE a whole "
            "label set (put the labels of --labels in the file's list for the task)."
        )
    from reamo.label_sets import read_label_set

    return read_label_set(args.schema)


def cmd_extract(args: argparse.Namespace) -> int:
    labels = _labels(args)
    if args.manifest:
        return _extract_manifest(args, labels)
    if args.workers != 1 or args.ray is not None:
        raise InputError("--workers and --ray run a --manifest of many inputs; one input runs alone.")
    if not args.task:
        raise InputError("Give --task ner|re|ee (or --manifest FILE for many inputs).")
    if args.text == "-" and args.text_file:
        raise InputError("Give --text - (standard input) or --text-file PATH, not both.")
    from reamo.render import follow, output_console

    reamo = _reamo(args)
    out = output_console()
    text, text_file = (None, "-") if args.text == "-" else (args.text, args.text_file)
    stream = reamo.stream(args.task, text, args.image, args.audio, args.video, labels, text_file=text_file)
    result = follow(stream, err)
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        from reamo.render import print_result

        print_result(result, out)
    if args.save:
        from reamo.overlays import save_overlays

        for path in save_overlays(result, args.save):
            err.print(f"wrote {path}")
    return 0


def _extract_manifest(args: argparse.Namespace, labels: Any) -> int:
    """One extraction per manifest line ({"id", "task", "inputs": {...}, "labels"|"schema"}), in this
    process, ``--workers`` processes or on Ray (reamo.batch); a bad line gets an error record in the
    output, the others go on; a rerun with the same --out does only the ids not written yet."""
    from reamo.batch import RayOptions, run_manifest
    from reamo.config import ReamoConfig

    config = ReamoConfig.load(args.config, planner=args.planner)
    ray = RayOptions(address=args.ray or None, cpus=args.ray_cpus) if args.ray is not None else None
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    progress = Progress(*columns, console=err)
    bar = progress.add_task("extracting", total=None)

    def show(done: int, total: int) -> None:
        progress.update(bar, completed=done, total=total)
        progress.start()  # at the first report: a manifest that fails its checks shows no bar

    try:
        summary = run_manifest(
            args.manifest,
            args.out,
            config=config,
            task=args.task,
            labels=labels,
            workers=args.workers,
            ray=ray,
            on_progress=show,
        )
    finally:
        progress.stop()
    if summary.dropped_cut_line:
        err.print(f"dropped the last line of {summary.out}: cut short by an earlier run, done again")
    already = f" ({summary.skipped} already there)" if summary.skipped else ""
    failed = f", {summary.failed} failed" if summary.failed else ""
    err.print(f"wrote {summary.written} result(s) to {summary.out}{already}{failed}")
    return 1 if summary.written and summary.failed == summary.written else 0


def cmd_tools(args: argparse.Namespace) -> int:
    from reamo.tools import build_registry, call_schema, tool_catalogue

    registry = build_registry()
    if args.json:
        print(json.dumps(tool_catalogue(registry), indent=2))
        return 0
    from reamo.render import output_console

    console = output_console()
    if not len(registry):
        console.print("No grounding tools are registered (none built in yet, no plugins installed).")
        return 0
    table = Table(title="Grounding tools")
    for column in ("name", "module", "modality", "arguments", "description"):
        table.add_column(column, overflow="fold", no_wrap=column in ("name", "module"))
    for t in registry:
        props = call_schema(t)["properties"]
        arguments = ", ".join(k for k in props if k not in ("module", "concept"))
        table.add_row(t.name, t.module, t.modality, arguments, t.description)
    console.print(table)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from reamo.serve import ServeSettings, serve

    serve(
        ServeSettings.checked(
            host=args.host,
            port=args.port,
            workers=args.workers,
            config=args.config,
            planner=args.planner,
            media_root=args.media_root,
            queue=args.queue,
            timeout_s=args.timeout,
            max_body_mb=args.max_upload_mb,
            warmup=not args.no_warmup,
        )
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    schemas = json_schemas()
    if args.answer:
        from reamo.agent import answer_schema
        from reamo.schemas import Inputs, LabelSchema
        from reamo.tools import build_registry

        task = args.answer
        inputs = Inputs.build(
            text="-",
            image=["x"] if "image" in args.media else None,
            audio=["x"] if "audio" in args.media else None,
            video=["x"] if "video" in args.media else None,
        )
        print(json.dumps(answer_schema(task, LabelSchema.for_task(task), inputs, build_registry()), indent=2))
        return 0
    if args.name:
        if args.name not in schemas:
            raise InputError(f"No schema {args.name!r}; known: {', '.join(schemas)}.")
        print(json.dumps(schemas[args.name], indent=2))
    else:
        print(json.dumps(schemas, indent=2))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from reamo.assets import builtin_assets, prepare, status
    from reamo.render import output_console

    console = output_console()
    assets = builtin_assets()
    wanted = set(args.names or [a.name for a in assets])
    unknown = wanted - {a.name for a in assets}
    if unknown:
        raise InputError(
            f"Unknown model(s) {', '.join(sorted(unknown))}; known: {', '.join(a.name for a in assets)}."
        )
    table = Table(title="Models")
    for column in ("name", "role", "state", "size", "sha256", "path"):
        table.add_column(column, overflow="fold", no_wrap=column != "state")
    failed = 0
    for asset in (a for a in assets if a.name in wanted):
        try:
            done = prepare(asset, verify=args.verify) if args.prepare else status(asset)
        except ReamoError as exc:
            failed += 1
            table.add_row(asset.name, asset.role, f"[red]unavailable[/]: {exc}", "", "", "")
            continue
        if done is None:
            table.add_row(asset.name, asset.role, "not prepared", "", "", "")
        else:
            size = f"{done.size / 1e6:.1f} MB"
            table.add_row(asset.name, asset.role, "ready", size, done.sha256[:12], str(done.path))
    console.print(table if assets else "No model assets are declared by the installed backends.")
    return 1 if failed else 0


def cmd_bench(args: argparse.Namespace) -> int:
    """``reamo bench SUITE.jsonl ...`` scores suites; ``reamo bench build --data DIR`` builds them."""
    if args.suites and args.suites[0] == "build":
        return _bench_build(args)
    from reamo.evaluation import run_bench
    from reamo.sdk import Reamo

    results = run_bench(
        args.suites,
        _reamo(args),
        limit=args.limit,
        baseline=args.baseline,
        json_out=args.json,
        command=["reamo", *sys.argv[1:]],
        workers=args.workers,
        compare=Reamo(args.compare) if args.compare else None,
        compare_name=args.compare_name,
    )
    instances = sum(len(r.instances) for _, runs in results for r in runs)
    failed = sum(r.failed for _, runs in results for r in runs)
    return 1 if instances and failed == instances else 0


def _bench_build(args: argparse.Namespace) -> int:
    from reamo.evaluation import BUILDERS, build_suites

    if args.suites[1:]:
        raise InputError(
            f"`reamo bench build` takes no suite files; use --only NAME (known: {', '.join(BUILDERS)})."
        )
    if not args.data:
        raise InputError("Give --data, the benchmark sources folder: reamo bench build --data ../shared/data")
    out = Path(args.out).expanduser()
    only = args.only.split(",") if args.only else None
    table = Table(title=f"Suites in {out}")
    for column in ("suite", "source items", "instances", "file", "notes"):
        table.add_column(column, overflow="fold", no_wrap=column in ("suite", "file"))
    with err.status("building suites..."):
        built = build_suites(Path(args.data), out, only=only, limit=args.limit)
    for name, (path, stats) in built.items():
        notes = f"{len(stats.notes)}: {stats.notes[0]}" if stats.notes else ""
        table.add_row(name, str(stats.available), str(stats.written), str(path), notes)
    from reamo.render import output_console

    output_console().print(table)
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from reamo.finetune.data import DataPlan, build_examples, write_dataset
    from reamo.finetune.pairs import ScorerTrainConfig, is_scorer_config, train_scorer
    from reamo.finetune.train import TrainConfig, train
    from reamo.finetune.universal import UniversalTrainConfig, is_universal_config, train_universal
    from reamo.tools import build_registry

    if is_scorer_config(args.config):
        scorer = ScorerTrainConfig.load(args.config, data=args.build_data, output=args.output)
        summary = train_scorer(scorer, resume=not args.no_resume, steps=args.steps)
        print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
        return 0
    if is_universal_config(args.config):
        universal = UniversalTrainConfig.load(args.config, data=args.build_data, output=args.output)
        summary = train_universal(universal, resume=not args.no_resume, steps=args.steps)
        print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
        return 0
    config = TrainConfig.load(args.config, steps=args.steps, output=args.output)
    if args.data_only and not args.build_data:
        raise ConfigError("--data-only builds the planner's tuning data: give --build-data DATA_DIR as well.")
    if args.build_data:
        plan = DataPlan(**config.data_plan)
        card = write_dataset(
            build_examples(Path(args.build_data), build_registry(plugins=False), plan), Path(config.data)
        )
        err.print(f"built {card['examples']} examples (sha256 {card['sha256'][:12]}) into {config.data}")
    if args.data_only:
        return 0
    summary = train(config, resume=not args.no_resume)
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from reamo.chat import Chat

    return Chat(_reamo(args)).run()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reamo", description="Grounded multimodal information extraction.")
    parser.add_argument("--version", action="version", version=f"reamo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def backend_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--planner", help="embedded | scripted:FILE | hf:PATH[+ADAPTER] | openai:URL#MODEL")
        p.add_argument("--config", help="TOML config file (default: $REAMO_CONFIG)")

    p = sub.add_parser("extract", help="extract and ground records from one input or a JSONL manifest")
    p.add_argument("--task", choices=TASKS)
    p.add_argument("--text", help="the text; - reads it from standard input")
    p.add_argument("--text-file", metavar="PATH", help="read the text from a UTF-8 file (any length)")
    p.add_argument("--image", action="append", help="image file (repeat for several)")
    p.add_argument("--audio", action="append", help="audio file (repeat for several)")
    p.add_argument("--video", action="append", help="video file or folder of frames (repeat for several)")
    p.add_argument(
        "--labels",
        help="comma-separated candidate labels of the task (entity, relation or event types); an item may "
        "say what it means: 'person, couple: two people in a romantic relationship'",
    )
    p.add_argument(
        "--schema",
        metavar="FILE",
        help="a JSON label set: {entity_types, relation_types, event_types, argument_roles}, each label a "
        "name or {name, description} (reamo schema label_set); lists left out keep the task's defaults",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--save", metavar="DIR", help="write result.json and overlay PNGs to DIR")
    p.add_argument("--manifest", help="JSONL file, one input a line: {id, task, inputs: {text, image, ...}}")
    p.add_argument(
        "--out", help="output JSONL for --manifest (default: MANIFEST.out.jsonl); a rerun skips its ids"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="--manifest: N processes, each loading the models once (with --ray: N actors)",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="--manifest: run on the Ray cluster at ADDRESS (HEAD:6379), or a local one without it",
    )
    p.add_argument("--ray-cpus", type=float, default=1.0, metavar="N", help="CPUs per Ray actor (default 1)")
    backend_options(p)
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser(
        "bench",
        help="score suites (BENCHMARK.md) and print the paper's tables; `bench build` makes the suites",
        description="reamo bench SUITE.jsonl ... [--limit N] [--json OUT] [--baseline] "
        "[--compare CONFIG]  |  "
        "reamo bench build --data ../shared/data [--out DIR] [--only NAME,...] [--limit N]",
    )
    p.add_argument(
        "suites", nargs="+", metavar="SUITE", help="suite files (JSONL) or folders of them, or `build`"
    )
    p.add_argument("--limit", type=int, help="first N instances of each suite (build: subset size, 0 = all)")
    p.add_argument("--json", metavar="OUT", help="write scores, per-instance predictions and timings here")
    p.add_argument("--baseline", action="store_true", help="also run the pipeline and spaCy baselines")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="run instances in N processes (models load once each)",
    )
    p.add_argument(
        "--compare",
        metavar="CONFIG",
        help="also score the suites under this TOML config, side by side (e.g. the zero-shot models)",
    )
    p.add_argument("--compare-name", default="zero-shot", help="the --compare column's name (zero-shot)")
    p.add_argument("--data", help="build: the benchmark sources folder (../shared/data)")
    p.add_argument("--out", default="~/.cache/reamo/suites", help="build: where suites are written")
    p.add_argument("--only", help="build: comma-separated suite names (default: all)")
    backend_options(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("chat", help="interactive terminal chat")
    backend_options(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("models", help="list the model files, their size and hash; --prepare builds them")
    p.add_argument("names", nargs="*", help="only these assets")
    p.add_argument("--prepare", action="store_true", help="locate, join or convert the files into the cache")
    p.add_argument("--verify", action="store_true", help="re-hash prepared files")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("finetune", help="tune the planner with LoRA (see finetune/configs/*.toml)")
    p.add_argument(
        "--config",
        required=True,
        help="TOML with a [finetune] table, [pair_scorer] for a pair scorer, or [universal] for the "
        "universal scorer",
    )
    p.add_argument(
        "--build-data",
        metavar="DATA_DIR",
        help="first build the tuning data from ../shared/data (a pair or universal scorer reads its corpora "
        "there)",
    )
    p.add_argument("--steps", type=int, help="override the number of steps")
    p.add_argument("--output", help="override the output folder")
    p.add_argument(
        "--data-only",
        action="store_true",
        help="with --build-data: write the planner's tuning data and its card, then stop (to tune elsewhere)",
    )
    p.add_argument(
        "--no-resume", action="store_true", help="start over instead of resuming the last checkpoint"
    )
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser(
        "serve",
        help="an HTTP service: POST /v1/extract (JSON or uploads, ?stream=true), GET /v1/tools, /health",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--workers", type=int, default=1, help="worker processes, each loads the models once")
    p.add_argument("--media-root", help="requests may name files under this folder (default: uploads only)")
    p.add_argument("--queue", type=int, default=8, help="extractions that may wait per worker; more get 503")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds a request may take, queue included")
    p.add_argument("--max-upload-mb", type=float, default=100.0, help="request body limit (uploads included)")
    p.add_argument("--no-warmup", action="store_true", help="load the planner on the first request instead")
    backend_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("tools", help="list the registered grounding tools and their schemas")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tools)

    p = sub.add_parser("schema", help="print the JSON Schemas of REAMO's contracts")
    p.add_argument("name", nargs="?", help=f"one of: {', '.join(json_schemas())}")
    p.add_argument("--answer", choices=TASKS, help="print the planner-answer schema for a task instead")
    p.add_argument("--media", default="image,audio,video", help="media present, for --answer")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ReamoError as exc:
        err.print(f"[red]error:[/] {type(exc).__name__}: {exc}", highlight=False)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
