"""Long inputs: windows of sentences, joined back with document offsets (scripted planner, fake tools)."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from reamo.agent import PlanRequest, ScriptedPlanner
from reamo.agent.windows import pack, plan_windows, sentences, spoken_sentences
from reamo.cli import main
from reamo.errors import (
    InputError,
    MediaNotFoundError,
    PlannerError,
    PromptTooLongError,
    UnreadableMediaError,
)
from reamo.schemas import (
    AudioPerception,
    BackendInfo,
    DetectedObject,
    FramePerception,
    ImageRegion,
    LabelSchema,
    MediaInput,
    Perception,
    ProgressEvent,
    TextSpan,
    Transcript,
    VideoPerception,
    Word,
)
from reamo.sdk import Reamo
from reamo.tools import ToolArgs, ToolContext, ToolRegistry, tool
from reamo.tools.perception import metadata_perceivers
from reamo.tools.protocol import Resources

PEOPLE = ["Angela Merkel", "Barack Obama", "Emmanuel Macron", "Justin Trudeau"]
PLACES = ["Berlin", "Paris", "Ottawa", "Lisbon"]


def article(sentences_count: int) -> str:
    """A long text: each sentence names a person and a place, in a rotating order."""
    out = []
    for i in range(sentences_count):
        person, place = PEOPLE[i % len(PEOPLE)], PLACES[(i // 2) % len(PLACES)]
        out.append(f"On day {i + 1}, {person} spoke to reporters in {place} about the budget.")
    return " ".join(out)


def gazetteer_answer(request: PlanRequest) -> dict[str, Any]:
    """Answers NER for whatever the window holds: every known name in its text and transcripts."""
    read = request.inputs.text or ""
    read += " ".join(a.transcript.text for a in request.perception.audio.values() if a.transcript)
    entities = [{"text": n, "label": "person"} for n in PEOPLE if n in read]
    entities += [{"text": n, "label": "location"} for n in PLACES if n in read]
    return {"entities": entities}


def text_reamo(answer: Callable[[PlanRequest], Any], registry: ToolRegistry, **settings: Any) -> Reamo:
    """A Reamo over the fake tools whose planner answers with ``answer``, refined by no refiner."""
    return Reamo(
        planner=ScriptedPlanner([answer], repeat_last=True),
        registry=registry,
        perceivers=metadata_perceivers(),
        plugins=False,
        **{"refiners": [], **settings},
    )


# --------------------------------------------------------------------------
# Cutting
# --------------------------------------------------------------------------


def test_sentences_keep_abbreviations_and_offsets() -> None:
    text = 'Mr. Smith went to Washington.  He met Dr. Jones on Jan. 5. "Hello," he said!\n\nU.S. aid came'
    cut = [text[a:b] for a, b in sentences(text)]
    assert cut == [
        "Mr. Smith went to Washington.",
        "He met Dr. Jones on Jan. 5.",
        '"Hello," he said!',
        "U.S. aid came",
    ]


def test_pack_covers_every_unit_and_overlaps_by_one() -> None:
    sizes = [40] * 30
    windows = pack(sizes, budget=130, overlap=1)
    covered = sorted({i for a, b in windows for i in range(a, b)})
    assert covered == list(range(30))
    for (a1, b1), (a2, _b2) in itertools.pairwise(windows):
        assert a2 == b1 - 1  # the next window starts with the last sentence of this one
        assert a2 > a1
    assert all(sum(sizes[a:b]) + (b - a) <= 130 for a, b in windows)


def test_pack_makes_progress_with_sentences_longer_than_the_budget() -> None:
    assert pack([500, 500, 10], budget=100, overlap=1) == [(0, 1), (1, 2), (2, 3)]


def test_a_short_input_is_one_window_and_a_long_one_is_cut_whole_sentences() -> None:
    assert len(plan_windows("Obama met Merkel.", Perception(), budget=200, overlap=1)) == 1
    text = article(40)
    windows = plan_windows(text, Perception(), budget=300, overlap=1)
    assert len(windows) > 5
    assert windows[0].text is not None
    assert windows[0].text[0] == 0
    assert windows[-1].text is not None
    assert windows[-1].text[1] == len(text)
    for window in windows:
        assert window.text is not None
        a, b = window.text
        assert b - a <= 300
        assert text[a:b].startswith("On day")
        assert text[a:b].endswith("budget.")


def test_a_sentence_longer_than_a_window_is_read_whole_unless_it_is_huge() -> None:
    long_sentence = "The minister said " + ", ".join(f"item {i}" for i in range(60)) + "."
    text = f"{long_sentence} Obama met Merkel."
    windows = plan_windows(text, Perception(), budget=100, overlap=0)
    assert [w.text for w in windows] == [(0, len(long_sentence)), (len(long_sentence) + 1, len(text))]
    unpunctuated = " ".join(["word"] * 1000)  # 4,999 characters with no full stop
    pieces = plan_windows(unpunctuated, Perception(), budget=100, overlap=0)
    assert all(w.text is not None and w.text[1] - w.text[0] <= 800 for w in pieces)
    assert " ".join(unpunctuated[w.text[0] : w.text[1]] for w in pieces if w.text) == unpunctuated


def spoken(count: int) -> Transcript:
    words = []
    t = 0.0
    for i in range(count):
        text = f"word{i}" + ("." if i % 10 == 9 else "")
        words.append(Word(text=text, start=t, end=t + 0.3))
        t += 0.4
    return Transcript(text=" ".join(w.text for w in words), words=words)


def test_spoken_sentences_end_at_full_stops_and_pauses() -> None:
    words = [Word(text=w, start=i, end=i + 0.5) for i, w in enumerate(["a", "b.", "c", "d"])]
    words[3] = Word(text="d", start=10.0, end=10.5)  # a long pause before d
    assert spoken_sentences(words) == [(0, 2), (2, 3), (3, 4)]


def test_a_long_transcript_is_cut_into_windows_with_their_times() -> None:
    transcript = spoken(300)
    perception = Perception(
        audio={"audio:0": AudioPerception(media="audio:0", duration=130.0, transcript=transcript)}
    )
    windows = plan_windows(None, perception, budget=200, overlap=1)
    assert len(windows) > 5
    assert windows[0].words["audio:0"][0] == 0
    assert windows[-1].words["audio:0"][1] == 300
    starts = [w.times(perception)["audio:0"][0] for w in windows]
    assert starts == sorted(starts)
    assert starts[0] == 0.0


# --------------------------------------------------------------------------
# End to end
# --------------------------------------------------------------------------


def test_a_long_text_gives_document_offsets_to_its_end(registry: ToolRegistry) -> None:
    text = article(60)
    reamo = text_reamo(gazetteer_answer, registry, window_chars=400)
    events = list(reamo.stream("ner", text, labels=["person", "location"]))
    result = events[-1].result  # type: ignore[union-attr]
    assert len(result.windows) > 5
    assert all(w.status == "ok" for w in result.windows)
    assert result.complete
    windows = [e for e in events if isinstance(e, ProgressEvent) and e.stage == "window"]
    assert [e.current for e in windows] == list(range(1, len(result.windows) + 1))
    # one entity per name, with every mention of it in the document, offsets cutting the name
    names = sorted(e.text for e in result.entities)
    assert names == sorted(PEOPLE + PLACES)
    for entity in result.entities:
        spans = [g for g in entity.groundings if isinstance(g, TextSpan)]
        assert [(s.start, s.end) for s in spans] == [
            (i, i + len(entity.text)) for i in _occurrences(text, entity.text)
        ]
        assert all(text[s.start : s.end] == entity.text for s in spans)
    last = max(g.end for e in result.entities for g in e.groundings if isinstance(g, TextSpan))
    assert last > len(text) - 30
    records = {r for w in result.windows for r in w.records}
    assert records == {e.id for e in result.entities}


def _occurrences(text: str, phrase: str) -> list[int]:
    out, i = [], text.find(phrase)
    while i >= 0:
        out.append(i)
        i = text.find(phrase, i + 1)
    return out


def test_a_failing_window_is_reported_and_the_others_come_back(registry: ToolRegistry) -> None:
    text = article(30) + " The planner breaks here. " + article(30)

    def answer(request: PlanRequest) -> dict[str, Any]:
        if "breaks" in (request.inputs.text or ""):
            raise RuntimeError("model crashed")
        return gazetteer_answer(request)

    result = text_reamo(answer, registry, window_chars=400).extract(
        "ner", text, labels=["person", "location"]
    )
    failed = [w for w in result.windows if w.status == "failed"]
    assert failed
    assert all("model crashed" in (w.error or "") for w in failed)
    assert not result.complete
    codes = [d for d in result.diagnostics if d.code == "window.failed"]
    assert {d.window for d in codes} == {w.index for w in failed}
    assert sorted(e.text for e in result.entities) == sorted(PEOPLE + PLACES)


def test_a_window_too_long_for_the_planner_is_halved(registry: ToolRegistry) -> None:
    def answer(request: PlanRequest) -> dict[str, Any]:
        if len(request.inputs.text or "") > 250:
            raise PromptTooLongError("The prompt has 5000 tokens; the planner takes at most 4096.")
        return gazetteer_answer(request)

    text = article(20)
    result = text_reamo(answer, registry, window_chars=600).extract(
        "ner", text, labels=["person", "location"]
    )
    assert all(w.status == "ok" for w in result.windows)
    assert all(w.text is not None and w.text[1] - w.text[0] <= 250 for w in result.windows)
    assert [w.index for w in result.windows] == list(range(len(result.windows)))
    assert sorted(e.text for e in result.entities) == sorted(PEOPLE + PLACES)


def test_relations_and_events_keep_their_arguments_across_windows(registry: ToolRegistry) -> None:
    text = article(24)

    def answer(request: PlanRequest) -> dict[str, Any]:
        window = request.inputs.text or ""
        found = gazetteer_answer(request)
        if request.task == "re":
            found["relations"] = [
                {"head": p, "label": "located_in", "tail": q}
                for p in PEOPLE
                for q in PLACES
                if f"{p} spoke to reporters in {q}" in window
            ]
        else:
            found["entities"] = [e for e in found["entities"] if e["label"] == "person"]
            found["events"] = [
                {"trigger": "spoke", "type": "Contact:Meet", "arguments": [{"text": p, "role": "Entity"}]}
                for p in PEOPLE
                if f"{p} spoke" in window
            ]
        return found

    reamo = text_reamo(answer, registry, window_chars=300)
    re_result = reamo.extract("re", text, labels=["located_in"])
    pairs = {
        (re_result.entity(r.head).text, r.label, re_result.entity(r.tail).text) for r in re_result.relations
    }
    expected = {(PEOPLE[i % 4], "located_in", PLACES[(i // 2) % 4]) for i in range(24)}
    assert pairs == expected
    assert len(re_result.relations) == len(expected)  # the overlap's repeats are kept once

    ee = reamo.extract(
        "ee",
        text,
        labels=LabelSchema(event_types=["Contact:Meet"], argument_roles=["Entity"], entity_types=["person"]),
    )
    spoke = _occurrences(text, "spoke")
    # every "spoke" of the document is an event (the windows' overlap counted once), spans in the document
    starts = sorted(g.start for v in ee.events for g in v.trigger.groundings if isinstance(g, TextSpan))
    assert set(starts) == set(spoke)
    people = {ee.entity(a.entity).text for v in ee.events for a in v.arguments}
    assert people == set(PEOPLE)
    assert all(ee.entity(a.entity).label == "person" for v in ee.events for a in v.arguments)


class LongSpeech:
    """A fake speech perceiver: a long transcript with word times, naming people and places."""

    modality = "audio"

    def describe(self) -> BackendInfo:
        return BackendInfo(role="perception:audio", name="fake-speech")

    def perceive(self, item: MediaInput, resources: Resources) -> BaseModel:
        words = []
        for i, w in enumerate(article(30).split()):
            words.append(Word(text=w, start=i * 0.5, end=i * 0.5 + 0.4))
        text = " ".join(w.text for w in words)
        return AudioPerception(
            media=item.id, duration=words[-1].end + 1, transcript=Transcript(text=text, words=words)
        )


def perceiving(planner: ScriptedPlanner, registry: ToolRegistry, perceiver: Any, **settings: Any) -> Reamo:
    """A Reamo over the fake tools whose perceiver of one modality is ``perceiver``."""
    return Reamo(
        planner=planner,
        registry=registry,
        perceivers={**metadata_perceivers(), perceiver.modality: perceiver},
        plugins=False,
        **{"window_chars": 300, "refiners": [], **settings},
    )


class LongVideo:
    """A fake video perceiver: sampled frames with a person on them, and a long spoken transcript."""

    modality = "video"

    def describe(self) -> BackendInfo:
        return BackendInfo(role="perception:video", name="fake-video")

    def perceive(self, item: MediaInput, resources: Resources) -> BaseModel:
        speech = LongSpeech().perceive(item, resources)
        assert isinstance(speech, AudioPerception)
        frames = [
            FramePerception(frame=i, objects=[DetectedObject(label="person", box=(1, 1, 20, 20), score=0.9)])
            for i in range(5)
        ]
        return VideoPerception(
            media=item.id, width=64, height=48, frame_count=5, frames=frames, transcript=speech.transcript
        )


def test_a_long_videos_transcript_is_windowed_and_its_frames_kept(
    registry: ToolRegistry, media_dir: Path
) -> None:
    planner = ScriptedPlanner([gazetteer_answer], repeat_last=True)
    reamo = perceiving(planner, registry, LongVideo())
    result = reamo.extract("ner", video=media_dir / "clip", labels=["person", "location"])
    assert len(result.windows) > 3
    assert all("video:0" in w.times for w in result.windows)
    seen = [r.perception.videos["video:0"] for r in planner.requests]
    assert all(len(v.frames) == 5 for v in seen)  # every window sees the sampled frames
    assert all(v.transcript is not None and len(v.transcript.text) <= 300 for v in seen)


def test_a_long_recording_is_read_in_windows_of_its_transcript(
    registry: ToolRegistry, media_dir: Path
) -> None:
    planner = ScriptedPlanner([gazetteer_answer], repeat_last=True)
    reamo = perceiving(planner, registry, LongSpeech())
    result = reamo.extract("ner", audio=media_dir / "speech.wav", labels=["person", "location"])
    assert len(result.windows) > 3
    assert all("audio:0" in w.times and w.text is None for w in result.windows)
    # each planner call read only its window's words, with their own times
    heard = [r.perception.audio["audio:0"].transcript for r in planner.requests]
    assert all(t is not None and len(t.text) <= 300 for t in heard)
    assert {t.words[0].start for t in heard if t} == {w.times["audio:0"][0] for w in result.windows}
    assert sorted(e.text for e in result.entities) == sorted(PEOPLE + PLACES)
    assert result.perception.audio["audio:0"].transcript is not None
    assert len(result.perception.audio["audio:0"].transcript.words) == len(article(30).split())
    assert result.timings["perceive"] > 0.0  # the one perception, not only the windows' reuse of it
    assert result.timings["total"] >= result.timings["perceive"] + result.timings["plan"]


def test_image_calls_run_once_for_all_windows(media_dir: Path) -> None:
    runs: list[str] = []

    @tool("counting.image.segment.v1", module="ImageSegmentation", modality="image")
    def counting(args: ToolArgs, ctx: ToolContext) -> list[ImageRegion]:
        """Count the calls (finds nothing)."""
        runs.append(args.instruction)
        return []

    def answer(request: PlanRequest) -> dict[str, Any]:
        found = gazetteer_answer(request)
        found["entities"] = [{**e, "concept": True} for e in found["entities"] if e["text"] == "Barack Obama"]
        found["calls"] = (
            [{"module": "ImageSegmentation", "instruction": "Barack Obama", "target": "image:0"}]
            if found["entities"]
            else []
        )
        return found

    reamo = text_reamo(answer, ToolRegistry([counting]), window_chars=300)
    result = reamo.extract("ner", article(30), image=media_dir / "photo.png", labels=["person"])
    assert len(result.windows) > 3
    assert runs == ["Barack Obama"]
    assert len(result.calls) > 1
    assert {c.call.concept for c in result.calls} == {result.entities[0].id}


def test_window_threads_are_dropped_so_memory_stays_flat(registry: ToolRegistry) -> None:
    reamo = text_reamo(gazetteer_answer, registry, window_chars=300)
    reamo.extract("ner", article(30), labels=["person", "location"], thread_id="mine")
    threads = {key[0] if isinstance(key, tuple) else key for key in reamo._graph.checkpointer.storage}
    assert threads == {"mine"}


def test_a_session_keeps_a_long_inputs_perception(registry: ToolRegistry, media_dir: Path) -> None:
    speech = LongSpeech()
    calls: list[str] = []
    original = speech.perceive

    def counted(item: MediaInput, resources: Resources) -> BaseModel:
        calls.append(item.id)
        return original(item, resources)

    speech.perceive = counted  # type: ignore[method-assign]
    reamo = perceiving(ScriptedPlanner([gazetteer_answer], repeat_last=True), registry, speech)
    chat = reamo.session()
    chat.attach(audio=media_dir / "speech.wav")
    first = chat.extract("ner", ["person", "location"])
    second = chat.extract("ner", ["person"])
    assert calls == ["audio:0"]
    assert len(first.windows) == len(second.windows) > 1
    assert {e.label for e in second.entities} == {"person"}


# --------------------------------------------------------------------------
# Text from a file or standard input
# --------------------------------------------------------------------------


def test_text_file_is_read_and_bad_files_say_what_to_do(registry: ToolRegistry, tmp_path: Path) -> None:
    reamo = text_reamo(gazetteer_answer, registry)
    path = tmp_path / "doc.txt"
    path.write_text("Angela Merkel visited Paris.", encoding="utf-8")
    result = reamo.extract("ner", text_file=path, labels=["person", "location"])
    assert result.inputs.text == "Angela Merkel visited Paris."
    assert {e.text for e in result.entities} == {"Angela Merkel", "Paris"}
    with pytest.raises(MediaNotFoundError, match="does not exist"):
        reamo.extract("ner", text_file=tmp_path / "missing.txt")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 in Paris".encode("latin-1"))
    with pytest.raises(UnreadableMediaError, match="save it as UTF-8"):
        reamo.extract("ner", text_file=tmp_path / "latin1.txt")
    with pytest.raises(InputError, match="not both"):
        reamo.extract("ner", "text", text_file=path)


def test_cli_reads_text_from_a_file_and_from_standard_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([{"entities": [{"text": "Lisbon", "label": "location"}]}]))
    doc = tmp_path / "doc.txt"
    doc.write_text(article(3) + " Then to Lisbon.", encoding="utf-8")
    base = ["extract", "--task", "ner", "--planner", f"scripted:{answers}", "--json"]
    assert main([*base, "--text-file", str(doc)]) == 0
    from_file = json.loads(capsys.readouterr().out)
    monkeypatch.setattr("sys.stdin", io.StringIO(doc.read_text(encoding="utf-8")))
    assert main([*base, "--text", "-"]) == 0
    from_stdin = json.loads(capsys.readouterr().out)
    for result in (from_file, from_stdin):
        assert result["inputs"]["text"] == doc.read_text(encoding="utf-8")
        (span,) = result["entities"][0]["groundings"]
        assert result["inputs"]["text"][span["start"] : span["end"]] == "Lisbon"
    assert main([*base, "--text-file", str(tmp_path / "nope.txt")]) == 2
    assert "does not exist" in " ".join(capsys.readouterr().err.split())


def test_a_planner_error_in_a_short_input_still_raises(registry: ToolRegistry) -> None:
    def broken(request: PlanRequest) -> dict[str, Any]:
        raise PlannerError("server down")

    with pytest.raises(PlannerError, match="server down"):
        text_reamo(broken, registry).extract("ner", "Obama met Merkel.")


def test_the_overlap_is_context_each_sentence_answered_by_one_window(registry: ToolRegistry) -> None:
    text = article(30)

    def answer(request: PlanRequest) -> dict[str, Any]:
        """Right labels, except in the sentence a window (other than the first) starts with: the
        context-less guess of a small planner, which the window before answers instead."""
        window = request.inputs.text or ""
        found = gazetteer_answer(request)
        if not text.startswith(window):
            first = window[: window.index(".") + 1]
            for entity in found["entities"]:
                if entity["text"] in first and entity["text"] not in window[len(first) :]:
                    entity["label"] = "organization"
        return found

    result = text_reamo(answer, registry, window_chars=300, window_overlap=1).extract(
        "ner", text, labels=["person", "location", "organization"]
    )
    assert len(result.windows) > 5
    assert all(w.text is not None for w in result.windows)
    starts = [w.text[0] for w in result.windows if w.text]
    ends = [w.text[1] for w in result.windows if w.text]
    assert all(s < e for s, e in zip(starts[1:], ends, strict=False))  # the windows do overlap
    assert {e.label for e in result.entities} == {"person", "location"}
    assert sorted(e.text for e in result.entities) == sorted(PEOPLE + PLACES)
