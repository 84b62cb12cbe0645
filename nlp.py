"""spaCy without torch. When spaCy is first imported, thinc (its layer library) imports torch only to
offer PyTorch layers, which en_core_web_sm does not use: 0.8 s and 180 MB of a text request. So thinc is
refused torch while spaCy is imported, unless torch is loaded already; other threads, and every later
import, get torch as usual.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any


class _NoTorchForThinc(importlib.abc.MetaPathFinder):
    """Refuses ``import torch`` to thinc's modules on the thread that imports it."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:
        if fullname.partition(".")[0] != "torch":
            return
        frame = sys._getframe(1)
        while frame is not None:
            if str(frame.f_globals.get("__name__", "")).partition(".")[0] == "thinc":
                raise ModuleNotFoundError("torch is not offered to thinc (see reamo.nlp)", name=fullname)
            frame = frame.f_back  # type: ignore[assignment]


@contextmanager
def _thinc_without_torch() -> Iterator[None]:
    finder = _NoTorchForThinc()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def import_spacy() -> Any:
    """The spaCy module, imported without torch when neither is loaded yet (ImportError without spaCy)."""
    if "spacy" in sys.modules or "torch" in sys.modules:
        import spacy
    else:
        with _thinc_without_torch():
            import spacy
    return spacy


def load_spacy(model: str, **options: Any) -> Any:
    """``spacy.load(model, **options)`` with spaCy imported by ``import_spacy`` (ImportError, OSError)."""
    return import_spacy().load(model, **options)
