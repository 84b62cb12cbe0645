"""The terminal chat: attach media, ask in plain words, see records, groundings and progress."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from reamo.errors import ReamoError
from reamo.label_sets import Labels, read_label_set, resolve_labels, split_labels
from reamo.render import backends_line, follow, print_result
from reamo.schemas import TASK_LABELS, LabelSet, Task
from reamo.sdk import Reamo

HELP = """[bold]Attach media[/]: /image PATH, /audio PATH, /video PATH (file or folder of frames), /text TEXT
[bold]Ask[/] in plain words: "entities: Obama met Merkel in Berlin", "now the relations", "find the events"
[bold]Labels[/]: /labels shows them; /labels person, couple: two people in love (the current task's labels,
each may say what it means); /labels FILE.json (a label set: reamo schema label_set); /labels defaults
[bold]Other[/]: /json (last result as JSON), /save DIR (overlays and result.json), /backends, /clear,
/help, /quit"""

TASK_WORDS: list[tuple[Task, re.Pattern[str]]] = [
    ("re", re.compile(r"(?i:\brelation|\brelated\b)|\bRE\b")),
    ("ee", re.compile(r"(?i:\bevent|\bhappen)|\bEE\b")),
    ("ner", re.compile(r"(?i:\bentit|\bnames?\b|\bwho\b|\bpeople\b|\bplaces?\b)|\bNER\b")),
]


def parse_request(message: str) -> tuple[Task | None, str | None]:
    """The task a plain-words message asks for, and the text it gives (after a colon or in quotes).

    A message with no task word and no colon is taken as the text itself.
    """
    task = next((t for t, pattern in TASK_WORDS if pattern.search(message)), None)
    quoted = re.search(r"\"([^\"]+)\"|“([^”]+)”", message)
    _, colon, tail = message.partition(":")
    if colon and tail.strip() and not re.match(r"^\s*//", tail):
        return task, tail.strip()
    if quoted:
        return task, (quoted.group(1) or quoted.group(2)).strip()
    if task is None:
        return None, message.strip()
    return task, None


class Chat:
    """A chat over one Session. ``run`` reads lines until /quit or end of input."""

    def __init__(
        self, reamo: Reamo, console: Console | None = None, read: Callable[[str], str] | None = None
    ) -> None:
        self.reamo = reamo
        self.session = reamo.session()
        self.console = console or Console()
        self.read = read or self.console.input
        self.task: Task = "ner"
        self.labels: Labels = None
        self.labels_from: str | None = None  # the label-set file they came from

    def _lines(self) -> Iterator[str]:
        while True:
            try:
                yield self.read("[bold cyan]you>[/] ")
            except EOFError:
                return

    def run(self, lines: Iterable[str] | None = None) -> int:
        self.console.print(
            Panel.fit(
                "REAMO chat: grounded entities, relations and events from text, images, "
                "speech and video. /help lists the commands.",
                border_style="cyan",
            )
        )
        self.console.print(backends_line(self.reamo.backends))
        for line in lines if lines is not None else self._lines():
            try:
                if not self.handle(line.strip()):
                    break
            except ReamoError as exc:
                self.console.print(f"[red]{type(exc).__name__}:[/] {exc}", highlight=False)
            except KeyboardInterrupt:
                self.console.print("[yellow]interrupted[/]")
        return 0

    def handle(self, line: str) -> bool:
        """Handle one line; False ends the chat."""
        if not line:
            return True
        if line.startswith("/"):
            return self.command(line)
        task, text = parse_request(line)
        if text is not None:
            self.session.attach(text=text)
        if task is not None and task != self.task:
            self.task = task
            if not isinstance(self.labels, LabelSet):  # a label set has labels for every task
                self.labels, self.labels_from = None, None
        if not self.session.text and not any(self.session.media.values()):
            self.console.print('Give some text ("entities: Obama met Merkel") or attach media first (/help).')
            return True
        self.ask(line)
        return True

    def ask(self, request: str) -> None:
        result = follow(self.session.stream(self.task, self.labels, request=request), self.console)
        if result is not None:
            self.console.print(f"[bold]{self.task.upper()}[/] on {', '.join(result.inputs.media_ids())}")
            print_result(result, self.console)

    def command(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in ("/quit", "/exit", "/q"):
            return False
        if name == "/help":
            self.console.print(HELP)
        elif name in ("/image", "/audio", "/video"):
            if not arg:
                self.console.print(f"usage: {name} PATH")
            else:
                path = Path(arg).expanduser()
                if name == "/image":
                    self.session.attach(image=path)
                elif name == "/audio":
                    self.session.attach(audio=path)
                else:
                    self.session.attach(video=path)
                self.console.print(f"attached {name[1:]} {arg}")
        elif name == "/text":
            self.session.attach(text=arg)
            self.console.print("text set" if arg else "text cleared")
        elif name == "/labels":
            if arg:
                self.set_labels(arg)
            self.show_labels()
        elif name == "/clear":
            self.session.clear()
            self.console.print("cleared text and media")
        elif name == "/json":
            last = self.session.last
            self.console.print_json(last.model_dump_json()) if last else self.console.print("no result yet")
        elif name == "/save":
            self.save(arg)
        elif name == "/backends":
            self.console.print(backends_line(self.reamo.backends))
        else:
            self.console.print(f"unknown command {name}; /help lists the commands")
        return True

    def set_labels(self, arg: str) -> None:
        """``defaults``, a label-set file (``.json``) or the current task's labels, comma-separated, each
        a name or ``name: description``; checked at once, so a bad set is refused here."""
        labels: Labels
        source = None
        if arg.lower() in ("defaults", "default"):
            labels = None
        elif arg.lower().endswith(".json"):
            labels, source = read_label_set(arg), arg
        else:
            labels = [v for v in split_labels(arg) if not isinstance(v, str) or v.strip()] or None
        resolve_labels(self.task, labels)
        self.labels, self.labels_from = labels, source

    def show_labels(self) -> None:
        """The current task's label lists, each described label with what it means."""
        schema = resolve_labels(self.task, self.labels)
        origin = self.labels_from or ("defaults" if self.labels is None else "yours")
        self.console.print(f"labels for {self.task.upper()} ({escape(origin)}):")
        for field in TASK_LABELS[self.task]:
            names = getattr(schema, field)
            self.console.print(f"  [bold]{field.replace('_', ' ')}[/]: {escape(', '.join(names))}")
            for name in names:
                if schema.description(name):
                    self.console.print(f"    {escape(schema.described(name))}")

    def save(self, folder: str) -> None:
        from reamo.overlays import save_overlays

        if self.session.last is None:
            self.console.print("no result yet")
            return
        for path in save_overlays(self.session.last, folder or "reamo-out"):
            self.console.print(f"wrote {path}")
