"""The Python SDK: ``Reamo(...).extract(...)``, ``.stream(...)`` and ``.session()``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from reamo import media
from reamo.agent import AgentContext, Planner, build_graph, make_planner, memory_checkpointer, start_turn
from reamo.agent.refiners.registry import RefinerRegistry, build_refiner_registry
from reamo.agent.runner import Runner
from reamo.config import ReamoConfig
from reamo.errors import (
    InputError,
    MediaNotFoundError,
    UnknownTaskError,
    UnreadableMediaError,
)
from reamo.label_sets import LabelsArg, resolve_labels
from reamo.schemas import (
    TASKS,
    BackendInfo,
    ExtractionResult,
    Inputs,
    Modality,
    ProgressEvent,
    ResultEvent,
    Task,
)
from reamo.tools import Resources, ToolRegistry, build_registry
from reamo.tools.perception import Perceiver, default_perceivers

MediaArg = str | Path | Sequence[str | Path] | None


def resolve_task(task: str) -> Task:
    value = task.strip().lower()
    if value not in TASKS:
        raise UnknownTaskError(
            f"Unknown task {task!r}: use one of {', '.join(TASKS)} (named entities, relations, events)."
        )
    return value


def _result_of(events: Iterable[ProgressEvent | ResultEvent]) -> ExtractionResult:
    """Run a stream to its end and return its result (a stream always ends with one ResultEvent)."""
    results = [e.result for e in events if isinstance(e, ResultEvent)]
    if len(results) != 1:
        raise RuntimeError(f"an extraction stream ended with {len(results)} results instead of one")
    return results[0]


def read_text_file(path: str | Path) -> str:
    """The text of a UTF-8 file (``-``: standard input), for inputs too long to pass as an argument."""
    if str(path) == "-":
        import sys

        return sys.stdin.read()
    file = Path(path).expanduser()
    if not file.is_file():
        raise MediaNotFoundError(
            f"Text file {str(file)!r} does not exist; give the path of a UTF-8 text file."
        )
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableMediaError(
            f"Text file {str(file)!r} is not UTF-8 ({exc.reason} at byte {exc.start}); save it as UTF-8."
        ) from exc


def _text_of(text: str | None, text_file: str | Path | None) -> str | None:
    if text_file is None:
        return text
    if text is not None:
        raise InputError("Give the text or a text file, not both.")
    return read_text_file(text_file)


def _as_paths(value: MediaArg) -> list[str | Path] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str | Path) else list(value)


class Reamo:
    """Grounded multimodal IE. Backends come from one config (argument, file or environment)::

    reamo = Reamo(planner="scripted:answers.jsonl")
    result = reamo.extract(task="ner", text="Obama met Merkel in Berlin.", image="photo.jpg")

    Refiners are named by the ``refiners`` setting and found in ``refiner_registry`` (by default the
    built-in ones and those installed under the ``reamo.refiners`` entry point).

    ``Reamo(url="http://host:8765")`` is instead a client of a ``reamo serve`` service: a
    ``reamo.remote.RemoteReamo`` with the same ``extract`` and ``stream`` (type checkers see a Reamo;
    construct RemoteReamo directly where they should know).
    """

    def __new__(cls, *args: Any, url: str | None = None, **kwargs: Any) -> Reamo:
        if url is None:
            return super().__new__(cls)
        from reamo.remote import RemoteReamo

        return RemoteReamo.connect(url, *args, **kwargs)  # type: ignore[return-value]

    def __init__(
        self,
        config: ReamoConfig | Mapping[str, Any] | str | Path | None = None,
        *,
        planner: str | Planner | None = None,
        registry: ToolRegistry | None = None,
        perceivers: Mapping[Modality, Perceiver] | None = None,
        refiner_registry: RefinerRegistry | None = None,
        **settings: Any,
    ) -> None:
        spec = planner if isinstance(planner, str) else None
        self.config = ReamoConfig.load(config, planner=spec, **settings)
        resources = Resources()  # models load here on first use, shared by the planner and the tools
        self.planner: Planner = (
            planner
            if planner is not None and not isinstance(planner, str)
            else make_planner(self.config.planner, self.config, resources)
        )
        self.registry = registry if registry is not None else build_registry(plugins=self.config.plugins)
        self.perceivers = dict(perceivers) if perceivers is not None else default_perceivers(self.config)
        self.refiner_registry = (
            refiner_registry
            if refiner_registry is not None
            else build_refiner_registry(plugins=self.config.plugins)
        )
        self.refiners = self.refiner_registry.build(self.config.refiners, self.config, resources)
        self.context = AgentContext(
            planner=self.planner,
            registry=self.registry,
            perceivers=self.perceivers,
            config=self.config,
            resources=resources,
            refiners=self.refiners,
        )
        self._graph = build_graph(memory_checkpointer())
        self._runner = Runner(self._graph, self.context)

    @property
    def backends(self) -> list[BackendInfo]:
        """The planner, refiners, perception backends and grounding tools this instance runs."""
        tools = [
            BackendInfo(role=f"tool:{t.name}", name=t.module, detail=t.description) for t in self.registry
        ]
        return [
            self.planner.describe(),
            *(r.describe() for r in self.refiners),
            *(p.describe() for p in self.perceivers.values()),
            *tools,
        ]

    def _turn(
        self,
        task: str,
        text: str | None,
        image: MediaArg,
        audio: MediaArg,
        video: MediaArg,
        labels: LabelsArg,
        request: str | None,
        text_file: str | Path | None = None,
    ) -> dict[str, Any]:
        resolved = resolve_task(task)
        inputs = Inputs.build(
            text=_text_of(text, text_file),
            image=_as_paths(image),
            audio=_as_paths(audio),
            video=_as_paths(video),
        )
        media.check_inputs(inputs)
        return start_turn(resolved, inputs, resolve_labels(resolved, labels), request)

    def _run(self, update: dict[str, Any], thread_id: str) -> Iterator[ProgressEvent | ResultEvent]:
        return self._runner.run(update, thread_id)

    def stream(
        self,
        task: str,
        text: str | None = None,
        image: MediaArg = None,
        audio: MediaArg = None,
        video: MediaArg = None,
        labels: LabelsArg = None,
        *,
        thread_id: str | None = None,
        request: str | None = None,
        text_file: str | Path | None = None,
    ) -> Iterator[ProgressEvent | ResultEvent]:
        """Like ``extract``, yielding ProgressEvents as the run goes and a ResultEvent at the end.

        Input errors are raised when the stream is created, before any work starts.
        """
        update = self._turn(task, text, image, audio, video, labels, request, text_file)
        return self._run(update, thread_id or uuid.uuid4().hex)

    def extract(
        self,
        task: str,
        text: str | None = None,
        image: MediaArg = None,
        audio: MediaArg = None,
        video: MediaArg = None,
        labels: LabelsArg = None,
        *,
        thread_id: str | None = None,
        request: str | None = None,
        text_file: str | Path | None = None,
    ) -> ExtractionResult:
        """Extract and ground NER, RE or EE records from any mix of text, images, audio and video.

        Text of any length: a long one (or a long transcript) is read in windows of sentences whose
        results are joined with document offsets (``result.windows``); ``text_file`` reads it from a
        UTF-8 file.
        """
        return _result_of(
            self.stream(
                task,
                text,
                image,
                audio,
                video,
                labels,
                thread_id=thread_id,
                request=request,
                text_file=text_file,
            )
        )

    def session(self) -> Session:
        """A multi-turn conversation: media attached once, perception and earlier records reused."""
        return Session(self)

    def forget(self, thread_id: str) -> None:
        """Drop a finished thread's saved state (a service forgets each request once it has answered)."""
        self._graph.checkpointer.delete_thread(thread_id)


class Session:
    """One conversation thread. Attached media stay attached; each turn may change the task or labels."""

    def __init__(self, reamo: Reamo) -> None:
        self.reamo = reamo
        self.thread_id = uuid.uuid4().hex
        self.text: str | None = None
        self.media: dict[Modality, list[str | Path]] = {"image": [], "audio": [], "video": []}
        self.results: list[ExtractionResult] = []

    def attach(
        self,
        *,
        image: str | Path | None = None,
        audio: str | Path | None = None,
        video: str | Path | None = None,
        text: str | None = None,
    ) -> None:
        """Attach media (checked at once) or set the text for the following turns."""
        attached: tuple[tuple[Modality, str | Path | None], ...] = (
            ("image", image),
            ("audio", audio),
            ("video", video),
        )
        for modality, value in attached:
            if value is not None:
                probe = Inputs.build(**{modality: [*self.media[modality], value]})  # type: ignore[arg-type]
                media.check_media(probe.media[-1])
                self.media[modality].append(value)
        if text is not None:
            self.text = text or None

    def clear(self) -> None:
        self.text = None
        self.media = {"image": [], "audio": [], "video": []}

    def stream(
        self, task: str, labels: LabelsArg = None, *, text: str | None = None, request: str | None = None
    ) -> Iterator[ProgressEvent | ResultEvent]:
        if text is not None:
            self.text = text
        events = self.reamo.stream(
            task,
            self.text,
            self.media["image"] or None,
            self.media["audio"] or None,
            self.media["video"] or None,
            labels,
            thread_id=self.thread_id,
            request=request,
        )
        for event in events:
            if isinstance(event, ResultEvent):
                self.results.append(event.result)
            yield event

    def extract(
        self, task: str, labels: LabelsArg = None, *, text: str | None = None, request: str | None = None
    ) -> ExtractionResult:
        return _result_of(self.stream(task, labels, text=text, request=request))

    @property
    def last(self) -> ExtractionResult | None:
        return self.results[-1] if self.results else None
