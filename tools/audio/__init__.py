"""Speech: decoding any audio to 16 kHz mono, the speech perceiver (faster-whisper + Silero VAD +
pocketsphinx alignment), the ``AudioSegmentation`` tool and the SHAS-style ``AudioUtterances`` tool.

Heavy libraries (faster-whisper, pocketsphinx, PyAV, transformers) load on first use only.

- perception: ``Reamo(perception={"audio": {"model": "tiny.en"}})`` (``base`` by default; also
  ``beam_size``, ``language``, ``align``, ``vad``, ``window_s``, ``threads``);
- ``transcribe(item, resources, settings)``: the transcript of any file with a sound track (None without);
- ``audio.segment.v1`` is built in; ``audio.utterances.v1`` is registered on request, since a pipeline
  planner sends every entity to every module::

      reamo = Reamo(tools={"audio.utterances.v1": {"backend": "wav2vec2", "checkpoint": "shas/"}})
      reamo.registry.register(split_utterances)
"""

from __future__ import annotations

from reamo.tools.audio.asr import SpeechSettings
from reamo.tools.audio.decode import SAMPLE_RATE, AudioInfo, iter_blocks, iter_windows, load_audio, probe
from reamo.tools.audio.models import speech_assets
from reamo.tools.audio.pdac import pdac
from reamo.tools.audio.perceiver import SpeechPerceiver, transcribe
from reamo.tools.audio.segment import AudioSegmentArgs, segment_audio
from reamo.tools.audio.utterances import UtteranceArgs, split_utterances

__all__ = [
    "SAMPLE_RATE",
    "AudioInfo",
    "AudioSegmentArgs",
    "SpeechPerceiver",
    "SpeechSettings",
    "UtteranceArgs",
    "iter_blocks",
    "iter_windows",
    "load_audio",
    "pdac",
    "probe",
    "segment_audio",
    "speech_assets",
    "split_utterances",
    "transcribe",
]
