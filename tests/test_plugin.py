"""A third-party tool found through the ``reamo.tools`` entry-point group of an installed distribution.

Each distribution is written to a temporary folder and pip-installed with ``--target`` into another one,
so the virtual environment is left untouched; the test puts that folder on ``sys.path``.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from reamo.errors import RegistrationError
from reamo.tools import ENTRY_POINT_GROUP, ToolRegistry, build_registry
from reamo.tools.testing import check_tool

pytestmark = pytest.mark.slow

DEMO_MODULE = '''\
"""A demo REAMO plugin: one image tool."""

import reamo.tools
from reamo.schemas import ImageRegion
from reamo.tools import ToolArgs, ToolContext


class DemoArgs(ToolArgs):
    min_score: float = 0.5


@reamo.tools.tool("demo.image.box.v1", module="DemoBox", modality="image")
def demo_tool(args: DemoArgs, ctx: ToolContext) -> list[ImageRegion]:
    """Box the whole image when asked for 'everything'."""
    if args.instruction != "everything":
        return []
    return [ImageRegion(media=args.target, box=(0.0, 0.0, 1.0, 1.0), score=1.0)]
'''

BROKEN_MODULE = '''\
"""A plugin whose import fails: it needs a package that is not installed."""

import reamo_no_such_dependency  # noqa: F401

tool = None
'''


def _install(root: Path, dist_name: str, module: str, source: str, entry_point: str) -> Path:
    """Write a one-module distribution declaring ``entry_point`` and pip-install it into a target folder."""
    dist_dir, target_dir = root / "dist", root / "site"
    dist_dir.mkdir()
    (dist_dir / f"{module}.py").write_text(source)
    (dist_dir / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{dist_name}"
            version = "0.1.0"

            [project.entry-points."{ENTRY_POINT_GROUP}"]
            {entry_point}

            [tool.setuptools]
            py-modules = ["{module}"]
            """
        )
    )
    done = subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
            "--no-deps", "--no-build-isolation", "--target", str(target_dir), str(dist_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    assert list(target_dir.glob(f"{dist_name.replace('-', '_')}-0.1.0.dist-info"))
    return target_dir


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _install(
        tmp_path_factory.mktemp("demo_plugin"),
        "reamo-demo-plugin",
        "reamo_demo_plugin",
        DEMO_MODULE,
        'demo = "reamo_demo_plugin:demo_tool"',
    )


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _install(
        tmp_path_factory.mktemp("broken_plugin"),
        "reamo-broken-plugin",
        "reamo_broken_plugin",
        BROKEN_MODULE,
        'broken = "reamo_broken_plugin:tool"',
    )


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo the plugin imports after the test, as monkeypatch undoes the sys.path change."""
    yield
    for name in ("reamo_demo_plugin", "reamo_broken_plugin"):
        sys.modules.pop(name, None)
    importlib.invalidate_caches()


def _activate(monkeypatch: pytest.MonkeyPatch, site: Path) -> None:
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()


def test_entry_point_tool_is_found(demo_site: Path, monkeypatch: pytest.MonkeyPatch, on_path: None) -> None:
    assert "demo.image.box.v1" not in build_registry(builtins=False)  # not on the path yet
    _activate(monkeypatch, demo_site)

    registry = ToolRegistry()
    loaded = {t.name: t for t in registry.load_entry_points()}
    demo = loaded["demo.image.box.v1"]
    assert registry.by_module("DemoBox") is demo
    assert demo.modality == "image"
    assert demo.args_model.__name__ == "DemoArgs"
    assert demo.description == "Box the whole image when asked for 'everything'."
    check_tool(demo)  # the plugin passes the same conformance check tool authors run

    assert "demo.image.box.v1" in build_registry(builtins=False)
    assert "demo.image.box.v1" in build_registry(builtins=True)
    assert "demo.image.box.v1" not in build_registry(builtins=False, plugins=False)


def test_entry_point_that_fails_to_import(
    broken_site: Path, monkeypatch: pytest.MonkeyPatch, on_path: None
) -> None:
    _activate(monkeypatch, broken_site)
    with pytest.raises(RegistrationError) as info:
        ToolRegistry().load_entry_points()
    message = str(info.value)
    assert "entry point 'broken'" in message
    assert "reamo_broken_plugin:tool" in message
    assert "reamo_no_such_dependency" in message
    assert "fix:" in message
