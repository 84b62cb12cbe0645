"""Reading an extraction request for ``reamo serve``: JSON (ExtractRequest, media as paths under the
media root) or multipart/form-data (media uploaded into the request's own folder)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from reamo.errors import ConfigError, InputError, LabelSchemaError, validation_problems
from reamo.label_sets import check_labels
from reamo.schemas import LabelItem, LabelSet
from reamo.serve_limits import HTTPError

MEDIA_FIELDS = ("image", "audio", "video")
MAX_FORM_FIELDS = 64
"""Form fields (uploads included) one request may have."""


class ExtractRequest(BaseModel):
    """The arguments of ``Reamo.extract``. Media are paths under the service's media root; upload
    files instead with multipart/form-data."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    task: str = Field(description="ner, re or ee", examples=["ner"])
    text: str | None = None
    labels: list[LabelItem] | str | None = Field(
        default=None,
        description='the task\'s candidate labels: a list of names or {"name", "description"}, or a '
        'comma-separated string ("person, couple: two people in a romantic relationship")',
    )
    label_schema: LabelSet | None = Field(
        default=None,
        alias="schema",
        description="a whole label set (`reamo schema label_set`), instead of labels",
    )
    image: list[str] | str | None = Field(default=None, description="image path(s) under the media root")
    audio: list[str] | str | None = Field(default=None, description="audio path(s) under the media root")
    video: list[str] | str | None = Field(
        default=None, description="video file(s) or frame folder(s) under the media root"
    )
    text_file: str | None = Field(default=None, description="a UTF-8 text file under the media root")
    request: str | None = Field(default=None, description="the request in words, as a chat turn gives it")

    @field_validator("labels", "label_schema", mode="before")
    @classmethod
    def _checked_labels(cls, value: object) -> object:
        """Labels are checked as Reamo.extract checks them, with the same messages."""
        return check_labels(value) if isinstance(value, list | dict) else value


class MediaRoot:
    """The folder whose files requests may name; without one, a request may only upload its media."""

    def __init__(self, root: Path | None) -> None:
        self.root = root.expanduser().resolve() if root is not None else None
        if self.root is not None and not self.root.is_dir():
            raise ConfigError(
                f"--media-root {str(root)!r} is not a folder; give an existing folder of media."
            )

    def path(self, value: str, field: str) -> Path:
        """A request's path, resolved (symlinks, ``..``), and refused with 403 unless under the root."""
        if self.root is None:
            raise HTTPError(
                403,
                "MediaPathForbidden",
                f"{field}: this service reads no paths ({value!r}); upload the file (multipart/form-data), "
                "or start the service with --media-root DIR to serve the files in DIR.",
            )
        try:
            path = (self.root / value).resolve()
        except (OSError, ValueError) as exc:
            raise InputError(f"{field}: {value!r} is not a usable path ({exc}).") from exc
        if not path.is_relative_to(self.root):
            raise HTTPError(
                403,
                "MediaPathForbidden",
                f"{field}: {value!r} is outside the service's media root; give a path relative to it "
                "(symlinks and '..' that lead out of it are refused).",
            )
        return path


async def read_arguments(http: Request, folder: Path, root: MediaRoot, max_bytes: int) -> dict[str, Any]:
    """``Reamo.stream``'s keyword arguments from a JSON body or a multipart form (uploads into ``folder``)."""
    kind = http.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await http.form(max_files=MAX_FORM_FIELDS, max_fields=MAX_FORM_FIELDS, max_part_size=max_bytes)
        try:
            return await _form_arguments(form, folder, root)
        finally:
            await form.close()
    if kind != "application/json":
        raise HTTPError(
            415,
            "UnsupportedMediaType",
            f"The body is {kind}; send JSON (application/json) or a form (multipart/form-data for uploads).",
        )
    try:
        body = ExtractRequest.model_validate_json(await http.body())
    except ValidationError as exc:
        raise _error(exc)(f"The request body is not valid ExtractRequest JSON: {_problems(exc)}.") from exc
    return _call_arguments(body, {}, root)


async def _form_arguments(form: FormData, folder: Path, root: MediaRoot) -> dict[str, Any]:
    """Form fields are ExtractRequest's, or ``arguments``, all of them as one JSON object; media and
    ``text_file`` may be uploads."""
    known = {*ExtractRequest.model_fields, "schema", "arguments"} - {"label_schema"}
    unknown = sorted(set(form.keys()) - known)
    if unknown:
        raise InputError(f"Unknown form field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
    fields = _json_object(form["arguments"], "arguments") if "arguments" in form else {}
    uploads: dict[str, list[Path]] = {}
    for name in form:
        if name == "arguments":
            continue
        if name in fields:
            raise InputError(f"{name!r} is both a form field and in 'arguments'; give it once.")
        values = form.getlist(name)
        files = [v for v in values if isinstance(v, UploadFile)]
        texts = [v for v in values if isinstance(v, str)]
        if files and texts:
            raise InputError(f"{name!r}: give uploads or paths under the media root, not both.")
        if files:
            if name not in (*MEDIA_FIELDS, "text_file") or (name == "text_file" and len(files) > 1):
                raise InputError(
                    f"{name!r} takes no upload; upload only image, audio, video or one text_file."
                )
            uploads[name] = [await _save(upload, folder, f"{name}-{i}") for i, upload in enumerate(files)]
        elif name == "schema":
            fields["schema"] = _json_object(texts[-1], "schema")
        elif name in ("labels", *MEDIA_FIELDS):
            fields[name] = texts if len(texts) > 1 else texts[0]
        else:
            fields[name] = texts[-1]
    try:
        body = ExtractRequest.model_validate(fields)
    except ValidationError as exc:
        raise _error(exc)(f"The form's fields are not a valid ExtractRequest: {_problems(exc)}.") from exc
    return _call_arguments(body, uploads, root)


def _call_arguments(body: ExtractRequest, uploads: dict[str, list[Path]], root: MediaRoot) -> dict[str, Any]:
    if body.labels is not None and body.label_schema is not None:
        raise InputError("Give labels or schema, not both.")

    def paths(name: str, value: list[str] | str | None) -> list[Path] | None:
        given = [value] if isinstance(value, str) else value or []
        return [root.path(v, name) for v in given] + uploads.get(name, []) or None

    text_file = paths("text_file", body.text_file)
    return {
        "task": body.task,
        "text": body.text,
        "labels": body.label_schema if body.label_schema is not None else body.labels,
        "image": paths("image", body.image),
        "audio": paths("audio", body.audio),
        "video": paths("video", body.video),
        "text_file": text_file[0] if text_file else None,
        "request": body.request,
    }


async def _save(upload: UploadFile, folder: Path, stem: str) -> Path:
    """An upload under ``folder``, named by us and by the client's file name reduced to safe characters
    (the suffix says the format; the name is never used as a path)."""
    original = re.sub(r"[^A-Za-z0-9._-]", "_", Path(upload.filename or "").name)[-80:].lstrip(".")
    path = folder / (f"{stem}-{original}" if original else stem)

    def copy() -> None:
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out)

    await run_in_threadpool(copy)
    return path


def _json_object(raw: str | UploadFile, field: str) -> dict[str, Any]:
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError as exc:
        raise InputError(f"Form field {field!r} is not valid JSON: {exc}.") from exc
    if not isinstance(value, dict):
        raise InputError(f"Form field {field!r} must be a JSON object.")
    return value


def _error(exc: ValidationError) -> type[InputError]:
    """LabelSchemaError when only the labels are wrong (as a local Reamo raises), else InputError."""
    places = {e["loc"][0] if e["loc"] else None for e in exc.errors()}
    return LabelSchemaError if places <= {"labels", "schema", "label_schema"} else InputError


def _problems(exc: ValidationError) -> str:
    return validation_problems(exc, whole="body")


FORM_FIELDS: dict[str, Any] = {
    "arguments": {"type": "string", "description": "all of ExtractRequest's fields as one JSON object"},
    "task": {"type": "string"},
    "text": {"type": "string"},
    "labels": {
        "type": "string",
        "description": "comma-separated (an item may be 'name: description'), or the field repeated",
    },
    "schema": {"type": "string", "description": "a label set as JSON (`reamo schema label_set`)"},
    "request": {"type": "string"},
    **{m: {"type": "array", "items": {"type": "string", "format": "binary"}} for m in MEDIA_FIELDS},
    "text_file": {"type": "string", "format": "binary"},
}
"""The multipart form, for the OpenAPI page (media may also be paths under the media root)."""
