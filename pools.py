"""Worker pools that build their state once a worker: this process alone, N spawned processes on this
machine, or Ray actors on a cluster. ``reamo extract --manifest`` (``reamo.batch``) and ``reamo bench
--workers`` run their rows and instances through them; each worker builds its ``Reamo`` (or bench's
systems) from plain data, so a spawned process or a Ray actor on another node can build the same.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Generic, Protocol, TypeVar

from reamo.errors import BackendUnavailableError, InputError

__all__ = ["Pool", "ProcessPool", "RayOptions", "RayPool", "SerialPool", "import_ray", "open_pool"]

S = TypeVar("S")
S_co = TypeVar("S_co", covariant=True)
T = TypeVar("T")
R = TypeVar("R")


class _Holder(Generic[S]):
    """One worker's state, built at its first task: a failure to build (a bad planner file, a missing
    model) comes back as that task's error, with its type, instead of a dead worker."""

    def __init__(self, build: Callable[[], S]) -> None:
        self._build = build
        self._state: list[S] = []

    def run(self, fn: Callable[[S, T], R], item: T) -> R:
        if not self._state:
            self._state.append(self._build())
        return fn(self._state[0], item)


class Pool(Protocol[S_co]):
    """Runs ``fn(state, item)`` over items, where each worker builds its state (a Reamo, bench's systems)
    once. ``imap`` yields ``(index, result)`` as results complete, so the caller orders them."""

    def imap(self, fn: Callable[[S_co, T], R], items: Sequence[T]) -> Iterator[tuple[int, R]]: ...

    def close(self) -> None: ...


class SerialPool(Generic[S]):
    """Everything in this process, in order."""

    def __init__(self, build: Callable[[], S]) -> None:
        self._holder = _Holder(build)

    def imap(self, fn: Callable[[S, T], R], items: Sequence[T]) -> Iterator[tuple[int, R]]:
        for i, item in enumerate(items):
            yield i, self._holder.run(fn, item)

    def close(self) -> None:
        pass


_WORKER: list[_Holder[Any]] = []  # the holder of a ProcessPool worker process


def _start_worker(build: Callable[[], Any]) -> None:
    _WORKER[:] = [_Holder(build)]


def _run_in_worker(fn: Callable[[Any, T], R], item: T) -> R:
    return _WORKER[0].run(fn, item)


class ProcessPool(Generic[S]):
    """N spawned processes on this machine; at most ``in_flight`` items queued per process."""

    def __init__(self, build: Callable[[], S], workers: int, *, in_flight: int = 2) -> None:
        self._executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(build,),
        )
        self._cap = workers * in_flight

    def imap(self, fn: Callable[[S, T], R], items: Sequence[T]) -> Iterator[tuple[int, R]]:
        queue = iter(enumerate(items))
        pending: dict[Future[R], int] = {}

        def fill() -> None:
            while len(pending) < self._cap and (nxt := next(queue, None)) is not None:
                pending[self._executor.submit(_run_in_worker, fn, nxt[1])] = nxt[0]

        fill()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future.result()
            fill()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class RayOptions:
    """Where and how to run on Ray: the cluster's address (None: $RAY_ADDRESS, else the cluster that
    ``ray start`` started on this machine, else a new local one), CPUs reserved per actor, and tasks queued
    per actor (back-pressure)."""

    address: str | None = None
    cpus: float = 1.0
    in_flight: int = 2


def import_ray() -> ModuleType:
    """The ray package, or a BackendUnavailableError that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise BackendUnavailableError(
            "Running on Ray needs the ray package: pip install 'reamo[ray]' (on every node of the cluster)."
        ) from exc
    return ray


class RayPool(Generic[S]):
    """Ray actors that each hold their state; at most ``in_flight`` tasks queued per actor. Connects to
    the cluster at ``address`` (or starts a local one) unless Ray is already initialised here."""

    def __init__(self, build: Callable[[], S], actors: int, options: RayOptions | None = None) -> None:
        options = options or RayOptions()
        if options.cpus <= 0 or options.in_flight < 1:
            raise InputError(f"Ray needs cpus > 0 and in_flight >= 1 per actor, got {options}.")
        self._ray = ray = import_ray()
        self._started = not ray.is_initialized()
        if self._started:
            try:
                ray.init(address=options.address or None, include_dashboard=False)
            except ConnectionError as exc:
                where = options.address or "$RAY_ADDRESS"
                raise BackendUnavailableError(
                    f"Can't reach the Ray cluster at {where}: {str(exc).rstrip('.')}. Start its head node "
                    "with `ray start --head` and give its address: --ray HEAD:6379."
                ) from exc
        self._actors: list[Any] = []
        self._in_flight = options.in_flight
        cpus = float(ray.cluster_resources().get("CPU", 0.0))
        if actors * options.cpus > cpus:
            self.close()
            raise InputError(
                f"{actors} Ray actor(s) of {options.cpus:g} CPU(s) need {actors * options.cpus:g} CPUs; the "
                f"cluster has {cpus:g}. Lower --workers or --ray-cpus, or add nodes (ray start --address)."
            )
        actor = ray.remote(num_cpus=options.cpus)(_Holder)
        self._actors = [actor.remote(build) for _ in range(actors)]

    def imap(self, fn: Callable[[S, T], R], items: Sequence[T]) -> Iterator[tuple[int, R]]:
        ray = self._ray
        queue = iter(enumerate(items))
        pending: dict[Any, tuple[int, Any]] = {}  # object ref -> (index, actor)

        def submit(actor: Any) -> None:
            if (nxt := next(queue, None)) is not None:
                pending[actor.run.remote(fn, nxt[1])] = (nxt[0], actor)

        for actor in self._actors:
            for _ in range(self._in_flight):
                submit(actor)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                i, actor = pending.pop(ref)
                yield i, ray.get(ref)
                submit(actor)

    def close(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
        if self._started:
            self._ray.shutdown()


def open_pool(build: Callable[[], S], *, workers: int = 1, ray: RayOptions | None = None) -> Pool[S]:
    """Ray actors when ``ray`` is given (``workers`` of them), else ``workers`` local processes, else
    this process alone."""
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}.")
    if ray is not None:
        return RayPool(build, workers, ray)
    if workers > 1:
        return ProcessPool(build, workers)
    return SerialPool(build)
