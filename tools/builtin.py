"""The built-in grounding tools, registered by ``build_registry``.

The modality tools arrive with their issues: image segmentation and video tracking (SEEM-shaped),
audio segmentation (SHAS-shaped). Each adds its factory to ``builtin_tools``.
"""

from __future__ import annotations

from reamo.tools.protocol import Tool


def builtin_tools() -> list[Tool]:
    """The tools REAMO ships, in registration order."""
    return []
