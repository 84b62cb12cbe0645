"""The speech pipeline on the real models (Whisper base and tiny.en, Silero VAD, pocketsphinx) over clips
piper synthesises with exact word times (marked ``models``; piper comes with the ``tts`` extra)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from _audio import music, speak, write_av, write_sndfile

from reamo import AudioSpan, Reamo
from reamo.evaluation.metrics import interval_iou
from reamo.schemas import Inputs, MediaInput, MetaResponse, Word
from reamo.tools import Resources, ToolContext, run_call
from reamo.tools.audio import SpeechPerceiver, segment_audio, split_utterances, transcribe
from reamo.tools.audio.quality import timing_error, word_error_rate

pytestmark = pytest.mark.models
pytest.importorskip("faster_whisper")
pytest.importorskip("piper")

SENTENCES = (
    "Barack Obama met Angela Merkel in Berlin.",
    "Then they flew to Paris with the president of France.",
    "The meeting ended on a quiet Sunday evening.",
)
TEXT = " ".join(SENTENCES)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Word]]:
    path = tmp_path_factory.mktemp("speech") / "clip.wav"
    return path, speak(path, TEXT)


@pytest.fixture(scope="module")
def resources() -> Resources:
    return Resources()


def _gold(words: list[Word], phrase: str) -> tuple[float, float]:
    parts = phrase.split()
    texts = [w.text for w in words]
    for i in range(len(texts) - len(parts) + 1):
        if texts[i : i + len(parts)] == parts:
            return words[i].start, words[i + len(parts) - 1].end
    raise AssertionError(f"{phrase!r} not in {texts}")


def test_perceiver_transcribes_with_aligned_word_times(
    clip: tuple[Path, list[Word]], resources: Resources
) -> None:
    path, gold = clip
    perception = SpeechPerceiver().perceive(MediaInput(id="audio:0", path=path), resources)
    transcript = perception.transcript
    assert transcript is not None
    assert perception.sample_rate == 22050
    assert perception.duration == pytest.approx(soundfile.info(str(path)).duration)
    assert word_error_rate(TEXT, transcript.text) <= 0.15
    assert all(w.end >= w.start for w in transcript.words)
    assert [w.start for w in transcript.words] == sorted(w.start for w in transcript.words)
    error = timing_error(gold, transcript.words)
    assert error.matched >= len(gold) - 3
    assert error.mean < 0.08  # pocketsphinx-aligned; Whisper's own times are off by ~0.1 s


def test_alignment_sharpens_whisper_word_times(clip: tuple[Path, list[Word]], resources: Resources) -> None:
    path, gold = clip
    item = MediaInput(id="audio:0", path=path)
    raw = transcribe(item, resources, {"align": False})
    aligned = transcribe(item, resources, {"align": True})
    assert raw is not None
    assert aligned is not None
    assert timing_error(gold, aligned.words).mean < timing_error(gold, raw.words).mean


def test_tiny_en_is_the_fast_option(clip: tuple[Path, list[Word]], resources: Resources) -> None:
    path, _ = clip
    perceiver = SpeechPerceiver({"model": "tiny.en"})
    assert perceiver.describe().name == "faster-whisper tiny.en"
    transcript = perceiver.perceive(MediaInput(id="audio:0", path=path), resources).transcript
    assert transcript is not None
    assert word_error_rate(TEXT, transcript.text) <= 0.25


@pytest.mark.parametrize("kind", ["silence", "music", "noise"])
def test_no_speech_gives_an_empty_transcript(kind: str, tmp_path: Path, resources: Resources) -> None:
    rng = np.random.default_rng(0)
    signal = {
        "silence": np.zeros((8 * 16000, 1), np.float32),
        "music": music(8.0),
        "noise": (0.1 * rng.standard_normal((8 * 16000, 1))).astype(np.float32),
    }[kind]
    path = write_sndfile(tmp_path / f"{kind}.wav", signal, 16000)
    transcript = transcribe(MediaInput(id="audio:0", path=path), resources)
    assert transcript is not None
    assert transcript.words == []
    assert transcript.text == ""


def test_speech_in_a_video_and_an_m4a(
    clip: tuple[Path, list[Word]], tmp_path: Path, resources: Resources
) -> None:
    path, _ = clip
    samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    for item in (
        MediaInput(id="video:0", path=write_av(tmp_path / "talk.mp4", samples, rate, video_frames=20)),
        MediaInput(id="audio:0", path=write_av(tmp_path / "talk.m4a", np.repeat(samples, 2, axis=1), rate)),
    ):
        transcript = transcribe(item, resources, {"model": "tiny.en"})
        assert transcript is not None
        assert "merkel" in transcript.text.lower()


def test_long_recording_is_transcribed_window_by_window(tmp_path: Path, resources: Resources) -> None:
    first = speak(tmp_path / "a.wav", "Angela Merkel spoke first.")
    last = speak(tmp_path / "b.wav", "The second speaker answered from London.")
    a, rate = soundfile.read(str(tmp_path / "a.wav"), dtype="float32")
    b, _ = soundfile.read(str(tmp_path / "b.wav"), dtype="float32")
    gap = np.zeros(int(35 * rate), np.float32)
    write_sndfile(tmp_path / "long.flac", np.concatenate([a, gap, b])[:, None], rate)
    offset = (len(a) + len(gap)) / rate
    settings = {"model": "tiny.en", "window_s": 30.0}
    transcript = transcribe(MediaInput(id="audio:0", path=tmp_path / "long.flac"), resources, settings)
    assert transcript is not None
    heard = {w.text.strip(".,").lower(): w for w in transcript.words}
    assert heard["merkel"].start == pytest.approx(_gold(first, "Merkel")[0], abs=0.15)
    assert heard["london"].start == pytest.approx(offset + _gold(last, "London")[0], abs=0.15)


def test_segment_tool_finds_spoken_entities_without_perception(
    clip: tuple[Path, list[Word]], resources: Resources
) -> None:
    path, gold = clip
    ctx = ToolContext(inputs=Inputs.build(audio=path), resources=resources)
    for phrase in ("Angela Merkel", "Berlin", "Paris"):
        call = MetaResponse(module="AudioSegmentation", instruction=phrase, target="audio:0", concept="e1")
        run = run_call(segment_audio, call, ctx)
        assert run.status == "ok", run.error
        span = run.groundings[0]
        assert interval_iou((span.start, span.end), _gold(gold, phrase)) > 0.6
    absent = MetaResponse(
        module="AudioSegmentation", instruction="Vladimir Putin", target="audio:0", concept="e1"
    )
    assert run_call(segment_audio, absent, ctx).status == "not_found"


def test_utterances_are_the_three_sentences(clip: tuple[Path, list[Word]], resources: Resources) -> None:
    path, gold = clip
    ctx = ToolContext(inputs=Inputs.build(audio=path), resources=resources)
    call = MetaResponse(
        module="AudioUtterances",
        instruction="*",
        target="audio:0",
        concept="e1",
        options={"max_segment_s": 4.0},
    )
    run = run_call(split_utterances, call, ctx)
    assert run.status == "ok", run.error
    firsts = np.cumsum([0] + [len(sentence.split()) for sentence in SENTENCES[:-1]])
    spans = run.groundings
    assert 3 <= len(spans) <= 5
    assert all(g.end - g.start <= 4.0 + 1e-6 for g in spans)
    for i in firsts:  # every sentence starts an utterance (a long one may be split once more)
        assert min(abs(g.start - gold[i].start) for g in spans) < 0.25
    spoken = sum(w.end - w.start for w in gold)
    covered = sum(max(0.0, min(w.end, g.end) - max(w.start, g.start)) for w in gold for g in spans)
    assert covered / spoken > 0.9


def test_extract_ner_from_audio_alone_grounds_entities_in_time(clip: tuple[Path, list[Word]]) -> None:
    path, gold = clip
    result = Reamo(planner="spacy", plugins=False).extract(task="ner", audio=path)
    found = {e.text: e for e in result.entities}
    assert {"Barack Obama", "Angela Merkel", "Berlin", "Paris"} <= set(found)
    for name in ("Barack Obama", "Angela Merkel", "Berlin", "Paris"):
        spans = [g for g in found[name].groundings if isinstance(g, AudioSpan)]
        assert len(spans) == 1
        assert interval_iou((spans[0].start, spans[0].end), _gold(gold, name)) > 0.6
    assert result.perception.audio["audio:0"].transcript is not None


def test_cli_extract_with_text_and_audio(clip: tuple[Path, list[Word]], tmp_path: Path) -> None:
    path, _ = clip
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reamo.cli",
            "extract",
            "--task",
            "ner",
            "--json",
            "--text",
            SENTENCES[0],
            "--audio",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    merkel = next(e for e in result["entities"] if e["text"] == "Angela Merkel")
    kinds = sorted(g["kind"] for g in merkel["groundings"])
    assert kinds == ["audio", "text"]


def test_text_prompt_never_plants_unspoken_names(clip: tuple[Path, list[Word]], resources: Resources) -> None:
    path, gold = clip
    inputs = Inputs.build(text="Barack Obama met Vladimir Putin in Moscow.", audio=path)
    ctx = ToolContext(inputs=inputs, resources=resources)

    def run(phrase: str) -> Any:
        call = MetaResponse(module="AudioSegmentation", instruction=phrase, target="audio:0", concept="e1")
        return run_call(segment_audio, call, ctx)

    assert run("Vladimir Putin").status == "not_found"
    assert run("Moscow").status == "not_found"
    [obama] = run("Barack Obama").groundings
    assert interval_iou((obama.start, obama.end), _gold(gold, "Barack Obama")) > 0.6
