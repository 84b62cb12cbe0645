"""Golden files: compare with ``tests/golden/...``; ``REAMO_UPDATE_GOLDEN=1`` rewrites them instead.

A missing golden file fails the test (it is never regenerated silently): create it once with
``REAMO_UPDATE_GOLDEN=1 pytest tests``, review it, and commit it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE_ENV = "REAMO_UPDATE_GOLDEN"


def check_golden_text(name: str, actual: str) -> None:
    """Assert ``actual`` equals the golden file ``name`` (relative to tests/golden)."""
    path = GOLDEN_DIR / name
    if _updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"golden file {path} is missing; create it with {UPDATE_ENV}=1 and review it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"{path} differs from the current output; if the change is intended, rerun with {UPDATE_ENV}=1 "
        "and review the diff"
    )


def check_golden_json(name: str, actual: Any) -> None:
    """Assert the JSON value ``actual`` equals the golden JSON file ``name`` (compared as data)."""
    path = GOLDEN_DIR / name
    text = json.dumps(actual, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if _updating():
        check_golden_text(name, text)
        return
    assert path.exists(), f"golden file {path} is missing; create it with {UPDATE_ENV}=1 and review it"
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert json.loads(text) == expected, (
        f"{path} differs from the current output; if the change is intended, rerun with {UPDATE_ENV}=1 "
        "and review the diff"
    )


def _updating() -> bool:
    return os.environ.get(UPDATE_ENV) == "1"
