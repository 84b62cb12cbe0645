"""Model files that REAMO prepares once and caches: located in installed packages, joined, converted,
verified by hash. ``reamo models`` lists and prepares them; backends call ``prepare`` on first use.

Each backend module declares its assets with ``Asset`` and lists them in ``builtin_assets``; preparing
is idempotent and guarded by a file lock, so parallel processes never build the same files twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from reamo.errors import BackendUnavailableError

CACHE_ENV = "REAMO_CACHE"
MANIFEST = "asset.json"


def cache_dir() -> Path:
    """Where prepared files live: ``$REAMO_CACHE`` or ``~/.cache/reamo``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "reamo")


@dataclass(frozen=True)
class Asset:
    """A model file set. ``build(folder)`` fills ``folder`` (empty, writable) and returns the main file or
    folder inside it; it raises BackendUnavailableError when its source package is not installed."""

    name: str
    role: str
    description: str
    build: Callable[[Path], Path]
    source: str = ""

    @property
    def folder(self) -> Path:
        return cache_dir() / self.name


@dataclass(frozen=True)
class PreparedAsset:
    name: str
    path: Path
    size: int
    sha256: str


def _digest(path: Path) -> tuple[int, str]:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    size = 0
    for file in files:
        with file.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
                size += len(block)
    return size, h.hexdigest()


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def status(asset: Asset) -> PreparedAsset | None:
    """The prepared asset as recorded in its manifest, or None when it is not prepared."""
    manifest = asset.folder / MANIFEST
    if not manifest.is_file():
        return None
    data = json.loads(manifest.read_text())
    path = Path(data["path"])
    if not path.exists():
        return None
    return PreparedAsset(name=asset.name, path=path, size=int(data["size"]), sha256=str(data["sha256"]))


def prepare(asset: Asset, *, verify: bool = False) -> PreparedAsset:
    """Build ``asset`` into the cache once; later calls return the recorded files (``verify`` re-hashes)."""
    with _locked(asset.folder):
        done = status(asset)
        if done is not None:
            if verify and _digest(done.path) != (done.size, done.sha256):
                raise BackendUnavailableError(
                    f"The cached files of {asset.name!r} in {asset.folder} changed since they were prepared; "
                    f"delete that folder and run `reamo models --prepare {asset.name}`."
                )
            return done
        asset.folder.mkdir(parents=True, exist_ok=True)
        path = asset.build(asset.folder)
        size, sha256 = _digest(path)
        record = {"path": str(path), "size": size, "sha256": sha256, "source": asset.source}
        (asset.folder / MANIFEST).write_text(json.dumps(record, indent=2))
        return PreparedAsset(name=asset.name, path=path, size=size, sha256=sha256)


def builtin_assets() -> list[Asset]:
    """Every asset the built-in backends use (each backend module adds its own here)."""
    from reamo.agent.planners.embedded import planner_assets
    from reamo.tools.audio.models import speech_assets
    from reamo.tools.vision import vision_assets

    assets: list[Asset] = [*speech_assets(), *vision_assets(), *planner_assets()]
    return assets


def get_asset(name: str) -> Asset:
    assets = {a.name: a for a in builtin_assets()}
    if name not in assets:
        raise BackendUnavailableError(
            f"No model asset {name!r}. Known: {', '.join(sorted(assets)) or 'none'}."
        )
    return assets[name]
