"""Showing results in the terminal: tables of records with their groundings, backends, diagnostics."""

from __future__ import annotations

import os
from collections.abc import Iterable

from rich.console import Console, Group, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from reamo import masks
from reamo.schemas import (
    AudioSpan,
    BackendInfo,
    Entity,
    ExtractionResult,
    Grounding,
    GroundingFailure,
    ImageRegion,
    ProgressEvent,
    ResultEvent,
    TextSpan,
    VideoTrack,
)

PIPE_WIDTH = 200
"""The width of what is printed to a pipe or a file, which has no width of its own: Rich's 80 columns
would cut long names and paths short (``$COLUMNS`` still sets it)."""


def output_console(*, stderr: bool = False) -> Console:
    """A console for tables: the terminal's width on a terminal, else ``PIPE_WIDTH``. Table columns
    fold what still does not fit (``overflow="fold"``) instead of cutting it."""
    console = Console(stderr=stderr)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, width=PIPE_WIDTH)
    return console


def describe_grounding(g: Grounding) -> str:
    """One short line per grounding, e.g. ``image:0 box [2,2,30,40] mask 812 px 0.90``."""
    if isinstance(g, TextSpan):
        return f"text [{g.start}:{g.end}]"
    if isinstance(g, ImageRegion):
        box = ",".join(f"{v:.0f}" for v in g.box)
        mask = f" mask {masks.area(g.mask.model_dump())} px" if g.mask else ""
        return f"{g.media} box [{box}]{mask} {g.score:.2f}"
    if isinstance(g, AudioSpan):
        return f"{g.media} {g.start:.2f}-{g.end:.2f} s {g.score:.2f}"
    if isinstance(g, VideoTrack):
        return (
            f"{g.media} track {len(g.frames)} frames ({g.frames[0].frame}-{g.frames[-1].frame}) {g.score:.2f}"
        )
    raise TypeError(f"unknown grounding {g!r}")


def _cell(groundings: list[Grounding], failures: list[GroundingFailure]) -> Text:
    text = Text("\n".join(describe_grounding(g) for g in groundings))
    for f in failures:
        text.append(("\n" if text.plain else "") + f"{f.media}: {f.kind.replace('_', ' ')}", style="yellow")
    return text


def entity_table(entities: Iterable[Entity]) -> Table:
    table = Table(title="Entities", expand=False)
    for column in ("id", "label", "text", "concept", "groundings"):
        table.add_column(column, overflow="fold")
    for e in entities:
        table.add_row(e.id, e.label, e.text, "yes" if e.concept else "", _cell(e.groundings, e.failures))
    return table


def backends_line(backends: Iterable[BackendInfo]) -> Text:
    parts = [f"{b.role}={b.name}" for b in backends]
    return Text("Backends: " + ", ".join(parts), style="dim")


def result_view(result: ExtractionResult) -> RenderableType:
    """Tables for the records, then the backends and any diagnostics."""
    parts: list[RenderableType] = []
    if result.entities:
        parts.append(entity_table(result.entities))
    if result.relations:
        table = Table(title="Relations")
        for column in ("head", "relation", "tail"):
            table.add_column(column, overflow="fold")
        for r in result.relations:
            head, tail = result.entity(r.head), result.entity(r.tail)
            table.add_row(f"{head.text} ({head.id})", r.label, f"{tail.text} ({tail.id})")
        parts.append(table)
    if result.events:
        table = Table(title="Events")
        for column in ("id", "type", "trigger", "arguments", "groundings"):
            table.add_column(column, overflow="fold")
        for v in result.events:
            args = "\n".join(f"{a.role}: {result.entity(a.entity).text}" for a in v.arguments)
            table.add_row(v.id, v.type, v.trigger.text, args, _cell(v.trigger.groundings, v.trigger.failures))
        parts.append(table)
    if not (result.entities or result.relations or result.events):
        parts.append(Text("No records found.", style="bold"))
    parts.append(backends_line(result.backends))
    total = result.timings.get("total")
    if total is not None:
        parts.append(
            Text(
                f"{total:.2f} s, {len(result.calls)} tool call(s), "
                f"{result.planner_attempts} planner attempt(s)",
                style="dim",
            )
        )
    for d in result.diagnostics:
        style = {"error": "red", "warning": "yellow", "info": "dim"}[d.level]
        parts.append(Text(f"{d.level}: [{d.code}] {d.message}", style=style))
    if not result.complete:
        parts.append(
            Text("Partial result: part of the planner's answer was invalid and dropped.", style="yellow")
        )
    return Group(*parts)


def print_result(result: ExtractionResult, console: Console) -> None:
    console.print(result_view(result))


def follow(events: Iterable[ProgressEvent | ResultEvent], console: Console) -> ExtractionResult:
    """Show a run's progress (the stage it is in; a bar over the windows of a long input) and return
    its result."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    result = None
    # off where nobody watches (a pipe, a file): it would only leave a blank line there
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        step = progress.add_task("starting...", total=None)
        windows = None
        for event in events:
            if isinstance(event, ResultEvent):
                result = event.result
            elif event.stage == "window":
                if windows is None:
                    windows = progress.add_task("windows", total=event.total)
                done = (event.current or 1) - 1
                progress.update(windows, completed=done, total=event.total, description=event.message)
            else:
                count = f" ({event.current}/{event.total})" if event.total else ""
                progress.update(step, description=f"[bold]{event.stage}[/]{count}: {event.message}")
    if result is None:
        raise RuntimeError("an extraction stream ended without a result")
    return result
