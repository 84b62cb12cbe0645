"""Every error REAMO raises, in one small hierarchy.

Developer and user mistakes (a bad file, a misregistered tool, an unknown task) raise at once with a
message that says what to do. Model mistakes (an unparseable planner answer, a bad tool argument) never
raise: they go back to the planner through the repair loop, or end up as diagnostics in the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


def validation_problems(exc: ValidationError, *, prefix: str = "", whole: str = "") -> str:
    """A pydantic error as one line for a message: ``loc.path: msg; ...``, each place after ``prefix``;
    ``whole`` names the place of an error about the whole object (an empty location)."""
    return "; ".join(
        f"{prefix}{'.'.join(map(str, e['loc'])) or whole}: {e['msg']}" for e in exc.errors(include_url=False)
    )


class ReamoError(Exception):
    """Base class of every error REAMO raises on purpose."""


class InputError(ReamoError, ValueError):
    """The request itself is wrong: fix the input and call again."""


class EmptyInputError(InputError):
    """No text and no media were given."""


class MediaNotFoundError(InputError, FileNotFoundError):
    """A media path does not exist."""


class UnreadableMediaError(InputError):
    """A media file exists but cannot be read or decoded."""


class UnsupportedMediaError(InputError):
    """A media file has a format REAMO does not read."""


class UnknownTaskError(InputError):
    """The task is not one of ner, re, ee."""


class LabelSchemaError(InputError):
    """The label set is empty, duplicated or does not fit the task."""


class ConfigError(ReamoError, ValueError):
    """The configuration (argument, file or environment variable) is invalid."""


class BackendUnavailableError(ReamoError, RuntimeError):
    """A configured backend cannot run here (missing package, weights or server)."""


class RegistrationError(ReamoError, TypeError):
    """A grounding tool or a refiner is defined wrongly; the message shows the definition and the fix."""


class ToolNotFoundError(ReamoError, KeyError):
    """No registered tool has the requested name or module."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ""


class RefinerNotFoundError(ConfigError, KeyError):
    """The configuration names a refiner that no one registered; the message lists those that are."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ""


class ToolRunError(ReamoError):
    """Raised by a tool to report a clean failure for one concept (the others still run)."""


class ConformanceError(ReamoError, AssertionError):
    """A tool failed `reamo.tools.testing.check_tool`."""


class SuiteError(ReamoError, ValueError):
    """A benchmark suite file is malformed."""


class PlannerError(ReamoError, RuntimeError):
    """The planner backend failed to answer at all (a crashed model, an unreachable server)."""


class PromptTooLongError(PlannerError):
    """The prompt does not fit the planner's context; a long input is read in smaller windows."""


class ServiceError(ReamoError, RuntimeError):
    """A REAMO service (``reamo serve``) refused or failed a request, or could not be reached.

    ``status`` is the HTTP status (None when no answer came) and ``kind`` the service's error type
    (ServiceBusy, RequestTimeout, PayloadTooLarge, MediaPathForbidden, ...); the message says what to do.
    """

    def __init__(self, message: str, *, status: int | None = None, kind: str = "ServiceError") -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
