"""The client of a REAMO service (``reamo serve``): ``Reamo(url="http://host:8765")`` or ``RemoteReamo``,
with Reamo's ``extract`` and ``stream``. Local media files are uploaded; the service's errors come back as
the same typed errors a local Reamo raises, or as ``ServiceError``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from reamo import errors, media
from reamo.errors import ConfigError, InputError, ReamoError, ServiceError
from reamo.label_sets import LabelsArg, check_labels
from reamo.schemas import (
    ExtractionResult,
    Inputs,
    LabelSchema,
    LabelSet,
    MediaInput,
    ProgressEvent,
    ResultEvent,
)
from reamo.sdk import MediaArg, _as_paths, _text_of

CLIENT_OPTIONS = ("timeout", "upload", "client", "transport")
"""What ``Reamo(url=...)`` takes besides the url: the backends are the service's own."""


class RemoteReamo:
    """Sends ``extract`` and ``stream`` calls to a REAMO service::

    reamo = Reamo(url="http://127.0.0.1:8765")  # or RemoteReamo("http://127.0.0.1:8765")
    result = reamo.extract(task="ner", text="Obama met Merkel in Berlin.", image="photo.jpg")

    ``upload=False`` sends media as paths under the service's ``--media-root`` instead of uploading them.
    ``client`` or ``transport`` (httpx) replace the connection, e.g. with a test client.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float | None = 600.0,
        upload: bool = True,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.upload = upload
        self._owned = client is None
        self._client = client or httpx.Client(timeout=timeout, transport=transport)

    @classmethod
    def connect(cls, url: str, *args: Any, **options: Any) -> RemoteReamo:
        """What ``Reamo(url=...)`` returns. Backend settings belong to the service, so they are refused."""
        local = (["config"] if args else []) + [k for k in options if k not in CLIENT_OPTIONS]
        if local:
            raise ConfigError(
                f"Reamo(url=...) is a client of a `reamo serve` service, which runs its own backends: "
                f"{', '.join(local)} can't be given here. Start the service with them "
                f"(reamo serve --config F --planner P) and give the client only {', '.join(CLIENT_OPTIONS)}."
            )
        return cls(url, **options)

    def close(self) -> None:
        if self._owned:
            self._client.close()

    def __enter__(self) -> RemoteReamo:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

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
        """Like ``Reamo.stream``: the service's ProgressEvents, then its ResultEvent. Errors it finds in
        the inputs are raised here, before any event."""
        call = self._call(task, text, image, audio, video, labels, thread_id, request, text_file)
        response, uploaded = self._post(call, stream=True)
        return _events(response, uploaded)

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
        """Like ``Reamo.extract``, run by the service. Uploaded media keep their local paths in the result."""
        call = self._call(task, text, image, audio, video, labels, thread_id, request, text_file)
        response, uploaded = self._post(call, stream=False)
        return _localised(ExtractionResult.model_validate_json(response.content), uploaded)

    def _call(
        self,
        task: str,
        text: str | None,
        image: MediaArg,
        audio: MediaArg,
        video: MediaArg,
        labels: LabelsArg,
        thread_id: str | None,
        request: str | None,
        text_file: str | Path | None,
    ) -> tuple[dict[str, Any], Inputs]:
        """The JSON arguments (ExtractRequest's fields), and the media as the service will number them."""
        if thread_id is not None:
            raise InputError(
                "A service answers each call on its own: thread_id (a session's thread) works only with a "
                "local Reamo; leave it out."
            )
        arguments: dict[str, Any] = {"task": task, "text": _text_of(text, text_file), "request": request}
        checked = check_labels(labels)  # a bad label is refused here, before any upload
        if isinstance(checked, LabelSchema | LabelSet):
            arguments["schema"] = checked.model_dump(mode="json", exclude_none=True)
        elif isinstance(checked, list):
            arguments["labels"] = [
                v if isinstance(v, str) else v.model_dump(exclude_none=True) for v in checked
            ]
        elif checked is not None:
            arguments["labels"] = checked
        inputs = Inputs.build(image=_as_paths(image), audio=_as_paths(audio), video=_as_paths(video))
        return {k: v for k, v in arguments.items() if v is not None}, inputs

    def _post(
        self, call: tuple[dict[str, Any], Inputs], *, stream: bool
    ) -> tuple[httpx.Response, dict[str, Path]]:
        """Send the call: JSON with media paths, or a form with the media uploaded (checked here first)."""
        arguments, inputs = call
        url = f"{self.url}/v1/extract" + ("?stream=true" if stream else "")
        if not self.upload or not inputs.media:
            for item in inputs.media:
                arguments.setdefault(item.modality, []).append(str(item.path))
            return self._send(self._client.build_request("POST", url, json=arguments), stream), {}
        for item in inputs.media:
            _check_upload(item)
        with contextlib.ExitStack() as files:
            parts = [
                (item.modality, (item.path.name, files.enter_context(item.path.open("rb"))))
                for item in inputs.media
            ]
            built = self._client.build_request(
                "POST", url, data={"arguments": json.dumps(arguments)}, files=parts
            )
            response = self._send(built, stream)
        return response, {item.id: item.path for item in inputs.media}

    def _send(self, request: httpx.Request, stream: bool) -> httpx.Response:
        try:
            response = self._client.send(request, stream=stream)
        except httpx.TransportError as exc:
            raise _unreachable(self.url, self.timeout, exc) from exc
        if response.is_error:
            response.read()
            response.close()
            raise service_error(response.content, response.status_code)
        return response


def _check_upload(item: MediaInput) -> None:
    media.check_media(item)
    if item.path.is_dir():
        raise InputError(
            f"{item.id}: {str(item.path)!r} is a folder of frames, which can't be uploaded; give a video "
            "file, or put the folder under the service's --media-root and call with upload=False."
        )


def _unreachable(url: str, timeout: float | None, exc: httpx.TransportError) -> ServiceError:
    if isinstance(exc, httpx.TimeoutException):
        return ServiceError(
            f"The REAMO service at {url} did not answer within {timeout} s; give the client a longer "
            "timeout (Reamo(url=..., timeout=S)).",
            kind="ClientTimeout",
        )
    return ServiceError(
        f"Can't reach the REAMO service at {url} ({exc}); start it with `reamo serve`, or check the url.",
        kind="Unreachable",
    )


def service_error(body: bytes | str, status: int | None) -> ReamoError:
    """The typed error a service's error body names (InputError, UnknownTaskError, ...), or a
    ServiceError for the service's own refusals (ServiceBusy, RequestTimeout, ...) and unknown types."""
    try:
        detail = json.loads(body)["error"]
        kind, message = str(detail["type"]), str(detail["message"])
    except (ValueError, KeyError, TypeError):
        text = body.decode(errors="replace") if isinstance(body, bytes) else body
        kind, message = "HTTPError", text.strip()[:300] or "no message"
    error = getattr(errors, kind, None)
    if isinstance(error, type) and issubclass(error, ReamoError) and error is not ServiceError:
        return error(message)
    where = f"HTTP {status} " if status is not None else ""
    return ServiceError(f"{message} ({where}{kind} from the REAMO service)", status=status, kind=kind)


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """The (event, data) of each server-sent event in a stream of lines."""
    event, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
    if data:
        yield event, "\n".join(data)


def _events(response: httpx.Response, uploaded: dict[str, Path]) -> Iterator[ProgressEvent | ResultEvent]:
    try:
        for event, data in sse_events(response.iter_lines()):
            if event == "progress":
                yield ProgressEvent.model_validate_json(data)
            elif event == "result":
                result = ResultEvent.model_validate_json(data).result
                yield ResultEvent(result=_localised(result, uploaded))
                return
            elif event == "error":
                raise service_error(data, None)
    except httpx.TransportError as exc:
        raise ServiceError(f"The event stream from the REAMO service broke off ({exc}).") from exc
    finally:
        response.close()
    raise ServiceError("The REAMO service's event stream ended before its result; its log may say why.")


def _localised(result: ExtractionResult, uploaded: dict[str, Path]) -> ExtractionResult:
    """The result with each uploaded media item's local path (the service's copy is gone)."""
    if not uploaded:
        return result

    def local(items: tuple[MediaInput, ...]) -> tuple[MediaInput, ...]:
        return tuple(MediaInput(id=i.id, path=uploaded.get(i.id, i.path)) for i in items)

    inputs = result.inputs
    update = {"images": local(inputs.images), "audio": local(inputs.audio), "videos": local(inputs.videos)}
    return result.model_copy(update={"inputs": inputs.model_copy(update=update)})
