"""The speech tools without the big models: transcript matching, pDAC, ``audio.segment.v1`` through
``Reamo.extract`` with a scripted planner, ``audio.utterances.v1`` over scripted frame probabilities and a
tiny random wav2vec2 frame classifier, settings and the Whisper asset."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _audio import tone, write_av, write_sndfile

from reamo import Reamo
from reamo.agent import ScriptedPlanner
from reamo.errors import BackendUnavailableError, ConfigError
from reamo.schemas import (
    AudioPerception,
    AudioSpan,
    BackendInfo,
    Inputs,
    MediaInput,
    MetaResponse,
    Perception,
    Transcript,
    Word,
)
from reamo.tools import Resources, ToolContext, ToolRegistry, build_registry, run_call
from reamo.tools.audio import (
    SpeechPerceiver,
    SpeechSettings,
    pdac,
    segment_audio,
    split_utterances,
    transcribe,
)
from reamo.tools.audio import models as speech_models
from reamo.tools.audio.align import Aligner, Segment, token
from reamo.tools.audio.match import find, normalise, similarity
from reamo.tools.audio.utterances import SILERO_WINDOW
from reamo.tools.perception import default_perceivers, model_perceivers
from reamo.tools.testing import check_tool

# "Barack Obama met Angela Merkel and Berlin, then they flew to Paris with a manual macaron." as Whisper
# heard a TTS clip of "... in Berlin. Then they flew to Paris, with Emmanuel Macron."
HEARD = [
    ("Barack", 0.0, 0.35),
    ("Obama", 0.35, 0.73),
    ("met", 0.73, 1.0),
    ("Angela", 1.0, 1.43),
    ("Merkel", 1.43, 1.93),
    ("and", 1.93, 2.05),
    ("Berlin,", 2.05, 2.5),
    ("then", 2.6, 2.78),
    ("they", 2.78, 2.9),
    ("flew", 2.9, 3.18),
    ("to", 3.18, 3.3),
    ("Paris", 3.3, 3.81),
    ("with", 4.09, 4.24),
    ("a", 4.24, 4.27),
    ("manual", 4.27, 4.61),
    ("macaron.", 4.61, 5.17),
    ("Obama", 5.5, 5.9),
]
WORDS = [Word(text=t, start=a, end=b, score=0.9) for t, a, b in HEARD]
TRANSCRIPT = Transcript(text=" ".join(t for t, _, _ in HEARD), words=WORDS, language="en")


# --------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------


def test_normalise_and_similarity() -> None:
    assert normalise("Berlin,") == "berlin"
    assert normalise("O'Brien!") == "o'brien"
    assert similarity("macron", "macaron") > 0.9
    assert similarity("berlin", "paris") < 0.5
    assert similarity("met", "mat") < 0.8  # short words must match by spelling
    assert similarity("", "x") == 0.0


def test_find_exact_phrase_with_its_times() -> None:
    [merkel] = find("Angela Merkel", WORDS)
    assert (merkel.first, merkel.last, merkel.start, merkel.end) == (3, 4, 1.0, 1.93)
    assert merkel.score == 1.0
    assert merkel.text == "Angela Merkel"


def test_find_tolerates_misheard_names() -> None:
    [macron] = find("Macron", WORDS)
    assert macron.text == "macaron"
    assert 0.8 <= macron.score < 1.0
    assert (macron.start, macron.end) == (4.61, 5.17)
    [full] = find("Emmanuel Macron", WORDS)  # heard as "a manual macaron": three words for two
    assert (full.start, full.end, full.text) == (4.27, 5.17, "manual macaron")


def test_find_every_mention_in_time_order() -> None:
    spans = find("Obama", WORDS)
    assert [(s.start, s.end) for s in spans] == [(0.35, 0.73), (5.5, 5.9)]
    assert find("Obama", WORDS, limit=1)[0].score == 1.0


@pytest.mark.parametrize("phrase", ["Vladimir Putin", "Tokyo", "Microsoft", "!!!", "in"])
def test_find_never_invents_a_span(phrase: str) -> None:
    assert find(phrase, WORDS) == []


def test_find_threshold_is_a_setting() -> None:
    assert find("Merlin", WORDS) == []  # 0.83 against "Berlin": below the default 0.85
    assert [m.text for m in find("Merlin", WORDS, min_score=0.8)] == ["Berlin"]
    assert [m.text for m in find("Berlinn", WORDS, min_score=0.9)] == ["Berlin"]


# --------------------------------------------------------------------------
# pDAC
# --------------------------------------------------------------------------


def test_pdac_splits_at_the_least_speech_like_frame_and_trims() -> None:
    probs = np.array([0, 0.9, 0.9, 0.8, 0.2, 0.9, 0.9, 0.9, 0.1, 0.1, 0.9, 0.95, 0.9, 0.7, 0.9, 0.3, 0])
    assert pdac(probs, max_frames=20) == [(1, 15)]
    assert pdac(probs, max_frames=8) == [(1, 8), (10, 15)]
    assert pdac(probs, max_frames=5) == [(1, 4), (5, 8), (10, 15)]
    assert pdac(np.zeros(50), max_frames=10) == []
    with pytest.raises(ValueError, match="max_frames"):
        pdac(probs, max_frames=0)


def test_pdac_keeps_every_segment_under_the_maximum() -> None:
    rng = np.random.default_rng(1)
    probs = np.clip(rng.normal(0.7, 0.25, 3000), 0, 1)
    segments = pdac(probs, max_frames=150, min_frames=10)
    assert segments
    assert all(0 < b - a <= 150 for a, b in segments)
    assert all(probs[a] >= 0.5 and probs[b - 1] >= 0.5 for a, b in segments)  # trimmed
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(segments))


# --------------------------------------------------------------------------
# audio.segment.v1 through the agent
# --------------------------------------------------------------------------


class HeardSpeech:
    """A perceiver that 'hears' TRANSCRIPT in any audio (the real one is tested under -m models)."""

    modality = "audio"

    def describe(self) -> BackendInfo:
        return BackendInfo(role="perception:audio", name="heard", detail="fixed transcript")

    def perceive(self, item: MediaInput, resources: Resources) -> AudioPerception:
        return AudioPerception(media=item.id, duration=6.0, transcript=TRANSCRIPT)


def _reamo(*answers: dict[str, Any], tools: list[Any] | None = None) -> Reamo:
    return Reamo(
        planner=ScriptedPlanner(list(answers)),
        registry=ToolRegistry(tools or [segment_audio]),
        perceivers={"audio": HeardSpeech()},
        plugins=False,
    )


def _call(instruction: str, concept: str, module: str = "AudioSegmentation") -> dict[str, str]:
    return {"module": module, "instruction": instruction, "target": "audio:0", "concept": concept}


def test_audio_segmentation_grounds_entities_heard_in_the_audio(media_dir: Path) -> None:
    answer = {
        "entities": [
            {"text": "Angela Merkel", "label": "person", "concept": True},
            {"text": "Macron", "label": "person", "concept": True},
            {"text": "Obama", "label": "person", "concept": True},
        ],
        "calls": [
            _call("Angela Merkel", "Angela Merkel"),
            _call("Macron", "Macron"),
            _call("Obama", "Obama"),
        ],
    }
    text = "Angela Merkel told Macron that Obama called."  # the speech has "macaron" for Macron
    result = _reamo(answer).extract("ner", text=text, audio=media_dir / "speech.wav")
    assert [(r.tool, r.status) for r in result.calls] == [("audio.segment.v1", "ok")] * 3
    spans = {e.text: [g for g in e.groundings if isinstance(g, AudioSpan)] for e in result.entities}
    assert [(s.start, s.end, s.score, s.text) for s in spans["Angela Merkel"]] == [
        (1.0, 1.93, 1.0, "Angela Merkel")
    ]
    [macron] = spans["Macron"]
    assert (macron.start, macron.end, macron.text) == (4.61, 5.17, "macaron")
    assert macron.score < 1.0
    assert [(s.start, s.end) for s in spans["Obama"]] == [(0.35, 0.73), (5.5, 5.9)]
    assert all(s.media == "audio:0" for g in spans.values() for s in g)


def test_audio_segmentation_reports_not_found_instead_of_inventing(media_dir: Path) -> None:
    answer = {
        "entities": [{"text": "Putin", "label": "person", "concept": True}],
        "calls": [_call("Vladimir Putin", "Putin")],
    }
    result = _reamo(answer).extract("ner", text="Putin was not there.", audio=media_dir / "speech.wav")
    [run] = result.calls
    assert run.status == "not_found"
    assert run.groundings == []
    assert "'Vladimir Putin' was not found in audio:0" in (run.error or "")


def test_audio_segmentation_conforms_to_the_tool_protocol(media_dir: Path) -> None:
    inputs = Inputs.build(audio=media_dir / "speech.wav")
    perception = Perception(
        audio={"audio:0": AudioPerception(media="audio:0", duration=6, transcript=TRANSCRIPT)}
    )
    runs = check_tool(
        segment_audio, inputs=inputs, perception=perception, instruction="Paris", absent_instruction="Kyiv"
    )
    assert [r.status for r in runs] == ["ok", "not_found"]


def test_audio_segmentation_settings_and_limits(media_dir: Path) -> None:
    inputs = Inputs.build(audio=media_dir / "speech.wav")
    perception = Perception(
        audio={"audio:0": AudioPerception(media="audio:0", duration=6, transcript=TRANSCRIPT)}
    )

    def run(instruction: str, settings: dict[str, Any], **extra: Any) -> Any:
        call = MetaResponse(
            module="AudioSegmentation", instruction=instruction, target="audio:0", concept="e1", options=extra
        )
        ctx = ToolContext(inputs=inputs, perception=perception, settings=settings)
        return run_call(segment_audio, call, ctx)

    assert run("Macron", {"min_score": 0.99}).status == "not_found"
    bad = run("Macron", {"min_score": 3})
    assert bad.status == "error"
    assert "min_score" in (bad.error or "")
    assert len(run("Obama", {}, max_spans=1).groundings) == 1
    assert run("Obama", {}, max_spans=0).status == "invalid_arguments"


def test_segment_tool_says_a_silent_video_has_nothing_spoken(tmp_path: Path) -> None:
    mute = write_av(tmp_path / "mute.mp4", None, 48000, video_frames=10)
    inputs = Inputs.build(audio=mute)
    call = MetaResponse(module="AudioSegmentation", instruction="Obama", target="audio:0", concept="e1")
    result = run_call(segment_audio, call, ToolContext(inputs=inputs))
    assert result.status == "error"
    assert "no sound track" in (result.error or "")
    assert transcribe(inputs.audio[0], Resources()) is None


def test_builtin_registry_and_perceivers_include_speech() -> None:
    registry = build_registry(plugins=False)
    assert registry.by_module("AudioSegmentation").name == "audio.segment.v1"
    assert "audio" in model_perceivers()
    perceiver = default_perceivers()["audio"]
    assert isinstance(perceiver, SpeechPerceiver)
    assert perceiver.describe().name == "faster-whisper base"
    tiny = default_perceivers(
        Reamo.__init__.__globals__["ReamoConfig"](perception={"audio": {"model": "tiny.en"}})
    )
    assert tiny["audio"].describe().name == "faster-whisper tiny.en"


# --------------------------------------------------------------------------
# audio.utterances.v1
# --------------------------------------------------------------------------


class ScriptedScorer:
    """Frame probabilities from a function of time (Silero's 32 ms frame grid)."""

    fps = 16000 / SILERO_WINDOW

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        n = -(-len(samples) // SILERO_WINDOW)
        t = np.arange(n) / self.fps
        # speech 0.5-3.0 s and 3.4-9.0 s (with a dip at 6.0 s), silence elsewhere
        speech = ((t > 0.5) & (t < 3.0)) | ((t > 3.4) & (t < 9.0))
        probs = np.where(speech, 0.9, 0.05)
        probs[np.abs(t - 6.0) < 0.05] = 0.3
        return probs


def _utterances(path: Path, instruction: str, perception: Perception | None = None, **args: Any) -> Any:
    resources = Resources()
    resources.get("audio.silero", ScriptedScorer)
    ctx = ToolContext(
        inputs=Inputs.build(audio=path), perception=perception or Perception(), resources=resources
    )
    call = MetaResponse(
        module="AudioUtterances", instruction=instruction, target="audio:0", concept="e1", options=args
    )
    return run_call(split_utterances, call, ctx)


def test_utterances_split_long_speech_at_the_dip(tmp_path: Path) -> None:
    path = write_sndfile(tmp_path / "ten.wav", tone(10.0, 16000), 16000)
    run = _utterances(path, "*", max_segment_s=4.0)
    assert run.status == "ok"
    spans = [(round(g.start, 1), round(g.end, 1)) for g in run.groundings]
    assert spans == [(0.5, 3.0), (3.4, 6.0), (6.1, 9.0)]  # the dip frame itself belongs to neither
    assert all(g.end - g.start <= 4.0 for g in run.groundings)
    whole = _utterances(path, "all", max_segment_s=8.0)
    assert [(round(g.start, 1), round(g.end, 1)) for g in whole.groundings] == [(0.5, 3.0), (3.4, 9.0)]


def test_utterances_filter_by_a_phrase_in_the_transcript(tmp_path: Path) -> None:
    path = write_sndfile(tmp_path / "ten.wav", tone(10.0, 16000), 16000)
    words = [Word(text="hello", start=1.0, end=1.4), Word(text="Merkel", start=7.0, end=7.5)]
    perception = Perception(
        audio={
            "audio:0": AudioPerception(
                media="audio:0", duration=10, transcript=Transcript(text="", words=words)
            )
        }
    )
    run = _utterances(path, "Merkel", perception, max_segment_s=4.0)
    assert [(round(g.start, 1), round(g.end, 1), g.text) for g in run.groundings] == [(6.1, 9.0, "Merkel")]
    assert _utterances(path, "Putin", perception).status == "not_found"


def test_utterances_of_silence_with_real_silero_are_none(tmp_path: Path) -> None:
    path = write_sndfile(tmp_path / "quiet.wav", np.zeros((5 * 16000, 1), np.float32), 16000)
    ctx = ToolContext(inputs=Inputs.build(audio=path))
    call = MetaResponse(module="AudioUtterances", instruction="*", target="audio:0", concept="e1")
    run = run_call(split_utterances, call, ctx)
    assert run.status == "not_found"


def test_utterances_wav2vec2_backend_runs_a_tiny_random_checkpoint(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.Wav2Vec2Config(
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8, 8),
        conv_stride=(5, 4),
        conv_kernel=(10, 8),
        num_feat_extract_layers=2,
        num_conv_pos_embeddings=4,
        num_conv_pos_embedding_groups=2,
        num_labels=1,
        vocab_size=8,
    )
    model = transformers.Wav2Vec2ForAudioFrameClassification(config)
    with torch.no_grad():  # a bias that makes every frame speech: the random net must still run end to end
        model.classifier.bias.fill_(10.0)
    model.save_pretrained(tmp_path / "shas")
    path = write_sndfile(tmp_path / "a.wav", tone(3.0, 16000), 16000)
    settings = {"backend": "wav2vec2", "checkpoint": str(tmp_path / "shas")}
    ctx = ToolContext(inputs=Inputs.build(audio=path), settings=settings)
    call = MetaResponse(
        module="AudioUtterances",
        instruction="*",
        target="audio:0",
        concept="e1",
        options={"max_segment_s": 1.0},
    )
    run = run_call(split_utterances, call, ctx)
    assert run.status == "ok", run.error
    assert len(run.groundings) >= 3
    assert all(g.end - g.start <= 1.0 + 1e-9 for g in run.groundings)
    assert run.groundings[-1].end == pytest.approx(3.0, abs=0.01)
    missing = ToolContext(inputs=Inputs.build(audio=path), settings={"backend": "wav2vec2"})
    assert "needs a checkpoint" in (run_call(split_utterances, call, missing).error or "")
    wrong = ToolContext(
        inputs=Inputs.build(audio=path), settings={"backend": "wav2vec2", "checkpoint": str(tmp_path)}
    )
    assert "no config.json" in (run_call(split_utterances, call, wrong).error or "")


# --------------------------------------------------------------------------
# Settings, assets, alignment helpers
# --------------------------------------------------------------------------


def test_speech_settings_are_checked() -> None:
    assert SpeechSettings.parse({"model": "tiny.en", "beam_size": 1}).beam_size == 1
    with pytest.raises(ConfigError, match="beam_size"):
        SpeechSettings.parse({"beam_size": 0})
    with pytest.raises(ConfigError, match="Unknown speech model 'large'"):
        speech_models.whisper_folder("large")
    with pytest.raises(ConfigError, match="unknown speech model 'large'"):
        SpeechPerceiver({"model": "large"})


def test_whisper_base_asset_joins_parts_and_checks_the_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    packages = {}
    for n, name in enumerate(speech_models.WHISPER_BASE_PARTS, 1):
        data = tmp_path / name / "data"
        data.mkdir(parents=True)
        (data / f"model.bin.part{n}").write_bytes(bytes([n]) * 1000)
        packages[name] = tmp_path / name
    second = packages[speech_models.WHISPER_BASE_PARTS[1]] / "data"
    for extra in ("config.json", "tokenizer.json", "vocabulary.json"):
        (second / extra).write_text("{}")
    monkeypatch.setattr(speech_models, "_package_dir", lambda name: packages[name])
    monkeypatch.setenv("REAMO_CACHE", str(tmp_path / "cache"))
    joined = bytes([1]) * 1000 + bytes([2]) * 1000
    monkeypatch.setattr(speech_models, "WHISPER_BASE_SHA256", hashlib.sha256(joined).hexdigest())
    folder = speech_models.whisper_folder("base")
    assert (folder / "model.bin").read_bytes() == joined
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.json",
    ]
    monkeypatch.setenv("REAMO_CACHE", str(tmp_path / "other"))
    monkeypatch.setattr(speech_models, "WHISPER_BASE_SHA256", "0" * 64)
    with pytest.raises(BackendUnavailableError, match="not the expected version"):
        speech_models.whisper_folder("base")
    assert not (tmp_path / "other" / "whisper-base-ct2" / "whisper-base").exists()


def test_token_and_pronunciation_guess() -> None:
    pytest.importorskip("pocketsphinx")
    assert token("Berlin,") == "berlin"
    assert token("1990") == ""
    aligner = Aligner()
    assert aligner.pronounce("obama") == "OW B AA M AH"
    assert aligner.pronounce("macron") is None
    assert aligner.guess("macron").split()[:3] == ["M", "AE", "K"]
    assert aligner.guess("zzx")  # never empty
    # digits cannot be aligned: the segment keeps Whisper's times
    words = [Word(text="in", start=0.1, end=0.2), Word(text="1990", start=0.2, end=0.9)]
    samples = np.zeros(16000, np.float32)
    aligned, kept = aligner.align(samples, [Segment(0.1, 0.9, words)])
    assert (aligned, kept) == (words, 2)


def test_quality_measures() -> None:
    from reamo.tools.audio.quality import timing_error, word_error_rate

    assert word_error_rate("Barack Obama met Merkel.", "barack obama met merkel") == 0.0
    assert word_error_rate("Barack Obama met Merkel", "Barack Obama Merkel today") == 0.5
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("", "hello") == 1.0
    gold = [Word(text="Obama", start=0.4, end=0.8), Word(text="met", start=0.8, end=1.0)]
    heard = [Word(text="uh", start=0.0, end=0.3), Word(text="Obama,", start=0.5, end=0.8)]
    error = timing_error(gold, heard)
    assert (error.matched, error.start, error.end) == (1, pytest.approx(0.1), pytest.approx(0.0))
    assert timing_error(gold, []).matched == 0


def test_pdac_smoothing_prefers_a_pause_to_a_brief_dip() -> None:
    probs = np.full(100, 0.9)
    probs[30] = 0.05  # one-frame dip inside a word
    probs[60:66] = 0.15  # a pause of six frames
    assert pdac(probs, max_frames=80) == [(0, 30), (31, 100)]
    assert pdac(probs, max_frames=80, smooth_frames=5) == [(0, 60), (66, 100)]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("corrupt.mp3", b"\xff\xfb" + bytes(range(256)) * 20),
        ("text.m4a", b"hello world" * 100),
        ("empty.flac", b""),
    ],
)
def test_extract_with_the_speech_perceiver_raises_typed_errors_for_bad_audio(
    name: str, data: bytes, tmp_path: Path
) -> None:
    from reamo.errors import UnreadableMediaError

    (tmp_path / name).write_bytes(data)
    reamo = Reamo(
        planner=ScriptedPlanner([{"entities": []}]),
        registry=ToolRegistry([segment_audio]),
        perceivers={"audio": SpeechPerceiver()},
        plugins=False,
    )
    with pytest.raises(UnreadableMediaError, match=r"empty|not readable audio"):
        reamo.extract("ner", audio=tmp_path / name)


def test_extract_with_the_speech_perceiver_refuses_an_unknown_codec(tmp_path: Path) -> None:
    from _audio import unknown_codec_wav

    from reamo.errors import UnsupportedMediaError

    reamo = Reamo(
        planner=ScriptedPlanner([{"entities": []}]),
        registry=ToolRegistry([segment_audio]),
        perceivers={"audio": SpeechPerceiver()},
        plugins=False,
    )
    with pytest.raises(UnsupportedMediaError, match="codec"):
        reamo.extract("ner", audio=unknown_codec_wav(tmp_path / "odd.wav"))


def test_utterances_tool_registered_on_request_runs_through_extract(tmp_path: Path) -> None:
    path = write_sndfile(tmp_path / "ten.wav", tone(10.0, 16000), 16000)
    answer = {
        "entities": [{"text": "Merkel", "label": "person", "concept": True}],
        "calls": [_call("Merkel", "Merkel", module="AudioUtterances")],
    }
    reamo = _reamo(answer)
    reamo.registry.register(split_utterances)
    reamo.context.resources.get("audio.silero", ScriptedScorer)
    result = reamo.extract("ner", text="Merkel spoke.", audio=path)
    [run] = result.calls
    assert (run.tool, run.status) == ("audio.utterances.v1", "ok")
    # TRANSCRIPT has "Merkel" at 1.43-1.93 s: the utterance 0.5-3.0 s holds it
    assert [(round(g.start, 1), round(g.end, 1)) for g in run.groundings] == [(0.5, 3.0)]


def test_text_prompted_second_pass_fixes_misheard_names_and_is_verified(media_dir: Path) -> None:
    from reamo import media
    from reamo.tools.audio.segment import transcript_of

    def words(*items: tuple[str, float, float]) -> list[Word]:
        return [Word(text=t, start=a, end=b) for t, a, b in items]

    text = "Wayne Rooney and Vladimir Putin"
    plain = words(
        ("Wayne", 1.76, 2.0), ("Ruining", 2.0, 2.4), ("and", 2.5, 2.7), ("the", 3.0, 3.2), ("money", 3.2, 3.6)
    )
    # what Whisper wrote with the text as its prompt: right for Rooney, planted for Putin
    prompted = words(
        ("Wayne", 1.76, 2.0),
        ("Rooney", 2.0, 2.36),
        ("and", 2.5, 2.7),
        ("Vladimir", 3.0, 3.2),
        ("Putin", 3.2, 3.6),
    )
    inputs = Inputs.build(text=text, audio=media_dir / "speech.wav")
    perceived = AudioPerception(media="audio:0", duration=4, transcript=Transcript(text="", words=plain))
    resources = Resources()
    key = f"{media.fingerprint(inputs.audio[0])}:{SpeechSettings.parse({'prompt': text}).model_dump_json()}"
    resources.get("audio.transcripts", dict)[key] = Transcript(text=text, words=prompted)

    def run(instruction: str, **settings: Any) -> Any:
        ctx = ToolContext(
            inputs=inputs,
            perception=Perception(audio={"audio:0": perceived}),
            resources=resources,
            settings=settings,
        )
        assert transcript_of("audio:0", ctx, prompt=text).words == prompted
        call = MetaResponse(
            module="AudioSegmentation", instruction=instruction, target="audio:0", concept="e1"
        )
        return run_call(segment_audio, call, ctx)

    rooney = run("Wayne Rooney")
    assert rooney.status == "ok"
    [span] = rooney.groundings
    assert (span.start, span.end, span.text) == (1.76, 2.36, "Wayne Rooney")
    assert 0.5 < span.score < 1.0  # lower than a direct match: the plain transcript heard it differently
    assert run("Vladimir Putin").status == "not_found"  # "the money" is nothing like it: not invented
    assert run("Wayne Rooney", prompt_with_text=False).status == "not_found"
