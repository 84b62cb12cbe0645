"""Batch extraction over a JSONL manifest: in this process, in N local processes or on a Ray cluster.

One function turns a manifest row into its output record (``row_record``), so every runner writes the
same records. Records are written in the manifest's order, a line at a time and flushed; a rerun with the
same output file extracts only the ids not in it yet, so a crash loses nothing but the rows in flight.
Each worker process or Ray actor (``reamo.pools``) builds its ``Reamo`` once, from a ``ReamoConfig`` (plain
data, so the planner is named by its spec string, e.g. ``scripted:answers.jsonl``, never as an object).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from reamo.config import ReamoConfig
from reamo.errors import InputError, ReamoError, validation_problems
from reamo.label_sets import Labels, check_labels
from reamo.pools import RayOptions, open_pool
from reamo.sdk import Reamo

__all__ = [
    "BatchSummary",
    "ManifestRow",
    "RayOptions",
    "Record",
    "RowRequest",
    "read_manifest",
    "row_record",
    "run_manifest",
    "without_timings",
    "written_ids",
]

RowId = str | int
TIMING_KEYS = frozenset({"timings", "seconds"})
"""Keys of a result whose values are wall-clock times: the only part of a record that differs run to run."""


# --- manifest rows and their records ---------------------------------------------------------------


class _Inputs(BaseModel):
    """A row's ``inputs``: media paths relative to the manifest's folder (or absolute)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = None
    text_file: str | None = None
    image: str | list[str] | None = None
    audio: str | list[str] | None = None
    video: str | list[str] | None = None


@dataclass(frozen=True)
class RowRequest:
    """What one row asks for, checked, with its media paths resolved."""

    task: str
    text: str | None
    text_file: str | None
    image: list[str] | None
    audio: list[str] | None
    video: list[str] | None
    labels: Labels


@dataclass(frozen=True)
class ManifestRow:
    """One manifest line: its id (its line number when it has none) and either its checked request or
    the input error that the row's record will carry (a bad row fails alone, the others go on)."""

    id: RowId
    line: int
    request: RowRequest | None
    error: InputError | None = None

    @property
    def key(self) -> str:
        """The id as JSON, so 1 and "1" stay two ids."""
        return json.dumps(self.id)

    def checked(self) -> RowRequest:
        if self.request is None:
            raise self.error or InputError(f"line {self.line}: no request")
        return self.request


@dataclass(frozen=True)
class Record:
    """One output line (JSON, no newline) of a row, and whether it is an error record."""

    id: RowId
    line: str
    failed: bool


def _resolve(folder: Path, value: str | list[str] | None) -> list[str] | None:
    if value is None:
        return None
    paths = [value] if isinstance(value, str) else value
    return [str(p if Path(p).is_absolute() else folder / p) for p in paths]


def _problems(exc: ValidationError, prefix: str = "") -> str:
    return validation_problems(exc, prefix=prefix)


def _request(data: dict[str, Any], folder: Path, task: str | None, labels: Labels) -> RowRequest:
    """The checked request of a row; raises the InputError its record will carry."""
    raw_inputs = data.get("inputs") or {}
    if not isinstance(raw_inputs, dict):
        raise InputError('inputs must be an object: {"text": ..., "image": ..., "audio": ..., "video": ...}.')
    try:
        inputs = _Inputs.model_validate(raw_inputs)
    except ValidationError as exc:
        raise InputError(f"bad inputs: {_problems(exc, 'inputs.')}.") from exc
    schema = check_labels(data.get("labels") or data.get("schema") or labels)
    row_task = data.get("task") or task or "ner"
    if not isinstance(row_task, str):
        raise InputError(f"task must be one of ner, re, ee, not {row_task!r}.")
    return RowRequest(
        task=row_task,
        text=inputs.text,
        text_file=inputs.text_file and str(folder / inputs.text_file),
        image=_resolve(folder, inputs.image),
        audio=_resolve(folder, inputs.audio),
        video=_resolve(folder, inputs.video),
        labels=schema,
    )


def _row_id(where: str, line: int, value: Any) -> RowId:
    if value is None:
        return line
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(
            f"{where}: id {value!r} must be a string or an integer (or left out: the line number)."
        )
    return value


def read_manifest(path: str | Path, *, task: str | None = None, labels: Labels = None) -> list[ManifestRow]:
    """Read a manifest, one ``{"id", "task", "inputs": {...}, "labels"|"schema"}`` object a line; ``task``
    and ``labels`` are the defaults of rows without them. A line that is not a JSON object, a bad id or an
    id used twice raises InputError before any work; any other problem becomes that row's error record."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Manifest {str(path)!r} does not exist.")
    folder = path.absolute().parent
    rows: list[ManifestRow] = []
    lines_of: dict[str, list[int]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}:{n}: not valid JSON ({exc}); each line must be one JSON object."
            ) from exc
        if not isinstance(data, dict):
            raise InputError(f"{path}:{n}: each line must be a JSON object with task and inputs.")
        row_id = _row_id(f"{path}:{n}", n, data.get("id"))
        try:
            row = ManifestRow(row_id, n, _request(data, folder, task, labels))
        except InputError as exc:
            row = ManifestRow(row_id, n, None, type(exc)(f"{path}:{n}: {exc}"))
        lines_of.setdefault(row.key, []).append(n)
        rows.append(row)
    twice = {key: lines for key, lines in lines_of.items() if len(lines) > 1}
    if twice:
        listed = ", ".join(f"{key} on lines {', '.join(map(str, lines))}" for key, lines in twice.items())
        raise InputError(
            f"{path}: ids must be unique in a manifest (a rerun skips the ids already written): {listed}. "
            "Give those rows distinct ids (a row without an id gets its line number)."
        )
    return rows


def row_record(reamo: Reamo, row: ManifestRow) -> Record:
    """Extract one row: ``{"id", "result"}``, or ``{"id", "error": {"type", "message"}}`` for a ReamoError.
    Every runner calls this, so a row's record is the same whichever ran it (timings aside)."""
    out: dict[str, Any] = {"id": row.id}
    try:
        request = row.checked()
        result = reamo.extract(
            request.task,
            text=request.text,
            text_file=request.text_file,
            image=request.image,
            audio=request.audio,
            video=request.video,
            labels=request.labels,
        )
        out["result"] = result.model_dump(mode="json")
    except ReamoError as exc:
        out["error"] = {"type": type(exc).__name__, "message": str(exc)}
    return Record(row.id, json.dumps(out), "error" in out)


def without_timings(value: Any) -> Any:
    """A record (or any JSON value) without its wall-clock fields (``timings``, every ``seconds``), for
    comparing the records of two runs."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


# --- resume ----------------------------------------------------------------------------------------


def _record_key(raw: bytes) -> str | None:
    try:
        record = json.loads(raw)
        return json.dumps(record["id"]) if isinstance(record, dict) and "id" in record else None
    except ValueError:
        return None


def written_ids(out: Path, rows: Sequence[ManifestRow]) -> tuple[set[str], int]:
    """The ids (as JSON) an earlier run wrote to ``out``, and the length of its complete records: a last
    line that a crash cut short is not counted (and is to be cut off). Raises InputError when ``out`` is
    not an output of this manifest."""
    if not out.exists():
        return set(), 0
    data = out.read_bytes()
    pieces = data.split(b"\n")  # the last piece follows the last newline: empty, or a line cut short
    done: set[str] = set()
    good = 0
    for n, piece in enumerate(pieces[:-1], 1):
        if piece.strip():
            key = _record_key(piece)
            if key is None:
                if n == len(pieces) - 1 and not pieces[-1]:
                    break  # an unreadable last line: redone like a cut one
                raise InputError(
                    f"{out}:{n} is not a record of `reamo extract --manifest`; give another --out, "
                    "or delete the file to start over."
                )
            done.add(key)
        good += len(piece) + 1
    unknown = done - {row.key for row in rows}
    if unknown:
        shown = ", ".join(sorted(unknown)[:5])
        raise InputError(
            f"{out} holds {len(unknown)} record(s) whose ids are not in the manifest ({shown}): it is the "
            "output of another manifest. Give another --out, or delete it to start over."
        )
    return done, good


# --- a manifest run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSummary:
    """What a manifest run did: rows in the manifest, those an earlier run had written (skipped), those
    written now and how many of them are error records."""

    out: Path
    total: int
    skipped: int
    written: int
    failed: int
    seconds: float
    dropped_cut_line: bool


def run_manifest(
    manifest: str | Path,
    out: str | Path | None = None,
    *,
    config: ReamoConfig | None = None,
    task: str | None = None,
    labels: Labels = None,
    workers: int = 1,
    ray: RayOptions | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> BatchSummary:
    """Extract every row of ``manifest`` into ``out`` (default ``MANIFEST.out.jsonl``), one record a line
    in the manifest's order, with ``workers`` processes (Ray actors when ``ray`` is given). Rows already
    in ``out`` are skipped. ``on_progress(done, total)`` is called as rows complete."""
    start = time.perf_counter()
    rows = read_manifest(manifest, task=task, labels=labels)
    out_path = Path(out) if out else Path(manifest).with_suffix(".out.jsonl")
    done, good = written_ids(out_path, rows)
    cut = out_path.exists() and good < out_path.stat().st_size
    if cut:
        with out_path.open("r+b") as f:
            f.truncate(good)
    todo = [row for row in rows if row.key not in done]
    skipped = len(rows) - len(todo)
    if on_progress is not None:
        on_progress(skipped, len(rows))
    written = failed = 0
    if todo:
        pool = open_pool(partial(Reamo, config or ReamoConfig.load()), workers=workers, ray=ray)
        try:
            with out_path.open("a", encoding="utf-8") as f:
                waiting: dict[int, Record] = {}
                for completed, (i, record) in enumerate(pool.imap(row_record, todo), 1):
                    waiting[i] = record
                    while written in waiting:  # in manifest order: later rows wait for earlier ones
                        ready = waiting.pop(written)
                        f.write(ready.line + "\n")
                        f.flush()
                        written += 1
                        failed += ready.failed
                    if on_progress is not None:
                        on_progress(skipped + completed, len(rows))
        finally:
            pool.close()
    return BatchSummary(out_path, len(rows), skipped, written, failed, time.perf_counter() - start, cut)
