"""The speech perceiver (``perception:audio``): a transcript with word times for the planner, and
``transcribe`` for any medium with a sound track (the video perceiver calls it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reamo.config import ReamoConfig
from reamo.schemas import AudioPerception, BackendInfo, MediaInput, Modality, Transcript
from reamo.tools.audio.asr import SpeechSettings, transcribe_file
from reamo.tools.audio.decode import probe
from reamo.tools.protocol import Resources


def transcribe(
    item: MediaInput, resources: Resources, settings: Mapping[str, Any] | SpeechSettings | None = None
) -> Transcript | None:
    """The transcript of an audio file or a video's sound track; None when the file has no audio track.

    Silence, music or noise give an empty transcript. Raises UnreadableMediaError or
    UnsupportedMediaError for a file that cannot be decoded.
    """
    parsed = SpeechSettings.parse(settings)
    if not probe(item.path).has_audio:
        return None
    return transcribe_file(item.path, resources, parsed)


class SpeechPerceiver:
    """Whisper (base or tiny.en, int8) over VAD speech, word times aligned by pocketsphinx."""

    modality: Modality = "audio"

    def __init__(self, settings: Mapping[str, Any] | SpeechSettings | None = None) -> None:
        self.settings = SpeechSettings.parse(settings)

    @classmethod
    def from_config(cls, config: ReamoConfig) -> SpeechPerceiver:
        return cls(config.perception.get("audio", {}))

    def describe(self) -> BackendInfo:
        s = self.settings
        return BackendInfo(
            role="perception:audio",
            name=f"faster-whisper {s.model}",
            detail=(
                f"int8, beam {s.beam_size}, language {s.language or 'detected'}"
                f"{', Silero VAD' if s.vad else ''}{', pocketsphinx-aligned word times' if s.align else ''}"
            ),
        )

    def perceive(self, item: MediaInput, resources: Resources) -> AudioPerception:
        info = probe(item.path)
        transcript = transcribe_file(item.path, resources, self.settings) if info.has_audio else None
        return AudioPerception(
            media=item.id,
            duration=info.duration,
            sample_rate=info.sample_rate,
            channels=info.channels,
            transcript=transcript,
        )
