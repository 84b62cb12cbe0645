"""The built-in grounding tools, registered by ``build_registry``.

The modality tools arrive with their issues: image segmentation and video tracking (SEEM-shaped),
audio segmentation (SHAS-shaped). Each adds its factory to ``builtin_tools``.
"""

from __future__ import annotations

from reamo.tools.protocol import Tool


def builtin_tools() -> list[Tool]:
    """The tools REAMO ships, in registration order."""
    # audio.utterances.v1 (AudioUtterances) is registered on request only: a pipeline planner that sends
    # every entity to every module would attach a whole utterance to each entity beside its own span
    from typing import cast

    from reamo.tools.audio import segment_audio
    from reamo.tools.vision import ImageSegmentation, VideoTracking

    # cast: mypy reads a frozen dataclass's fields as read-only, and Tool's members as settable
    tools: list[Tool] = [cast(Tool, segment_audio), ImageSegmentation(), VideoTracking()]
    return tools
