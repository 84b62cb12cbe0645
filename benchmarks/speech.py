"""Speech quality and speed on clips synthesised by piper with exact word times (needs the ``tts`` extra).

Per Whisper model (base, tiny.en): word error rate, entity survival (entities whose words are heard
exactly), word-time error before and after pocketsphinx alignment, A-Seg mIoU of the entities
(text+audio: audio.segment.v1 grounds each written entity, given the text; audio alone: the spaCy
pipeline finds the entities in the transcript), audio-only NER F1, real-time factor; then the
end-to-end time of `reamo extract --task ner --audio` on 10 s of speech and the peak RSS. The sentences
are written here (no benchmark test data).

    python benchmarks/speech.py [--models base,tiny.en] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import soundfile
from rich.console import Console
from rich.table import Table

from reamo import AudioSpan, Reamo
from reamo.evaluation.metrics import score_aseg
from reamo.evaluation.runner import peak_rss_mb
from reamo.evaluation.tts import Speech, Synthesizer
from reamo.schemas import AudioPerception, Inputs, MediaInput, MetaResponse, Perception, Word
from reamo.tools import Resources, ToolContext, run_call
from reamo.tools.audio import segment_audio, transcribe
from reamo.tools.audio.match import normalise
from reamo.tools.audio.quality import timing_error, word_error_rate

# (sentence, [(entity, label)]): news-style English written for this benchmark
CLIPS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Barack Obama met Angela Merkel in Berlin on a cold morning.",
        [("Barack Obama", "person"), ("Angela Merkel", "person"), ("Berlin", "location")],
    ),
    (
        "Microsoft opened a new office in Dublin, said Satya Nadella.",
        [("Microsoft", "organization"), ("Dublin", "location"), ("Satya Nadella", "person")],
    ),
    (
        "The Red Cross sent doctors to Haiti after the storm.",
        [("The Red Cross", "organization"), ("Haiti", "location")],
    ),
    (
        "Serena Williams won the final in London against a young Spanish player.",
        [("Serena Williams", "person"), ("London", "location")],
    ),
    (
        "Emmanuel Macron and Olaf Scholz spoke to reporters in Brussels.",
        [("Emmanuel Macron", "person"), ("Olaf Scholz", "person"), ("Brussels", "location")],
    ),
    (
        "Engineers at Toyota tested the car near Nagoya for three weeks.",
        [("Toyota", "organization"), ("Nagoya", "location")],
    ),
    (
        "Greenpeace activists protested outside the Shell offices in Amsterdam.",
        [("Greenpeace", "organization"), ("Shell", "organization"), ("Amsterdam", "location")],
    ),
    (
        "Taylor Swift will play two concerts in Chicago next summer, the United Nations report said nothing.",
        [("Taylor Swift", "person"), ("Chicago", "location"), ("the United Nations", "organization")],
    ),
]
TEN_SECONDS = (
    "Barack Obama met Angela Merkel in Berlin. Then they flew to Paris with Emmanuel Macron, "
    "and the three leaders talked about Russia and China until late in the evening."
)
LABELS = ["person", "location", "organization", "miscellaneous"]


def spoken(tts: Synthesizer, text: str, path: Path) -> Speech:
    """The clip of ``text`` at ``path``, synthesised once (piper varies between runs: a kept folder
    makes runs comparable), its word times beside it as JSON."""
    times = path.with_suffix(".words.json")
    if path.is_file() and times.is_file():
        data = json.loads(times.read_text())
        if data["text"] == text:
            info = soundfile.info(str(path))
            words = [Word.model_validate(w) for w in data["words"]]
            return Speech(path, float(info.duration), int(info.samplerate), words)
    speech = tts.speak(text, path)
    times.write_text(json.dumps({"text": text, "words": [w.model_dump() for w in speech.words]}))
    return speech


def gold_interval(words: list[Word], entity: str) -> tuple[float, float]:
    want = [normalise(t) for t in entity.split()]
    have = [normalise(w.text) for w in words]
    for i in range(len(have) - len(want) + 1):
        if have[i : i + len(want)] == want:
            return words[i].start, words[i + len(want) - 1].end
    raise ValueError(f"{entity!r} is not in the synthesised words")


def survives(entity: str, heard: list[Word]) -> bool:
    want = [normalise(t) for t in entity.split()]
    have = [normalise(w.text) for w in heard]
    return any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1))


def prf(gold: Counter[tuple[str, str]], pred: Counter[tuple[str, str]]) -> float:
    hit = sum((gold & pred).values())
    p = hit / max(1, sum(pred.values()))
    r = hit / max(1, sum(gold.values()))
    return 2 * p * r / (p + r) if p + r else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default="base,tiny.en")
    parser.add_argument("--keep", help="write the clips here (default: a temporary folder)")
    args = parser.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="reamo-speech-"))
    folder.mkdir(parents=True, exist_ok=True)
    console = Console(width=200)

    tts = Synthesizer()
    clips = []
    for n, (text, entities) in enumerate(CLIPS):
        clips.append((spoken(tts, text, folder / f"clip{n}.wav"), text, entities))
    ten = spoken(tts, TEN_SECONDS, folder / "ten.wav")
    total_s = sum(s.duration for s, _, _ in clips)
    console.print(
        f"{len(clips)} clips, {total_s:.1f} s of speech; 10 s clip: {ten.duration:.1f} s; in {folder}"
    )

    table = Table(title="Speech on piper clips (CPU, int8)")
    for col in (
        "model",
        "WER",
        "entity survival",
        "word-time err Whisper (s)",
        "aligned (s)",
        "A-Seg text+audio",
        "A-Seg audio",
        "audio NER F1",
        "RTF (aligned)",
        "CPU s per audio s",
        f"extract {ten.duration:.1f} s, cold (s)",
        "warm (s)",
    ):
        table.add_column(col, justify="right")
    for model in args.models.split(","):
        resources = Resources()
        settings = {"model": model}
        transcribe(MediaInput(id="audio:0", path=clips[0][0].path), resources, settings)  # load once
        wers, raw_err, ali_err, seconds, cpu = [], [], [], 0.0, 0.0
        alive = total = 0
        aseg_ta, aseg_a = [], []
        gold_ner: Counter[tuple[str, str]] = Counter()
        pred_ner: Counter[tuple[str, str]] = Counter()
        reamo = Reamo(planner="spacy", plugins=False, perception={"audio": settings})
        started = time.perf_counter()
        reamo.extract(task="ner", audio=ten.path, labels=LABELS)  # loads Whisper, pocketsphinx, spaCy
        cold = time.perf_counter() - started
        for speech, text, entities in clips:
            item = MediaInput(id="audio:0", path=speech.path)
            raw = transcribe(item, resources, {**settings, "align": False})
            started, used = time.perf_counter(), time.process_time()
            heard = transcribe(item, resources, settings)
            seconds += time.perf_counter() - started
            cpu += time.process_time() - used
            if raw is None or heard is None:
                raise SystemExit(f"{speech.path} has no sound track")
            wers.append(word_error_rate(text, heard.text))
            raw_err.append(timing_error(speech.words, raw.words).mean)
            ali_err.append(timing_error(speech.words, heard.words).mean)
            alive += sum(survives(e, heard.words) for e, _ in entities)
            total += len(entities)
            gold = [gold_interval(speech.words, e) for e, _ in entities]
            # text+audio: the tool grounds each written entity (best span), given the text and the transcript
            inputs = Inputs.build(text=text, audio=speech.path)
            perceived = Perception(
                audio={"audio:0": AudioPerception(media="audio:0", duration=0, transcript=heard)}
            )
            ctx = ToolContext(inputs=inputs, perception=perceived, resources=resources, settings=settings)
            found = [
                run_call(
                    segment_audio,
                    MetaResponse(
                        module="AudioSegmentation",
                        instruction=e,
                        target="audio:0",
                        concept="e1",
                        options={"max_spans": 1},
                    ),
                    ctx,
                ).groundings
                for e, _ in entities
            ]
            aseg_ta.append(score_aseg(gold, [(g[0].start, g[0].end) for g in found if g]).value)
            result = reamo.extract(task="ner", audio=speech.path, labels=LABELS)
            spans = [
                (g.start, g.end) for e in result.entities for g in e.groundings if isinstance(g, AudioSpan)
            ]
            aseg_a.append(score_aseg(gold, spans).value)
            gold_ner.update((label, normalise(e)) for e, label in entities)
            pred_ner.update((e.label, normalise(e.text)) for e in result.entities)
        started = time.perf_counter()
        reamo.extract(task="ner", audio=ten.path, labels=LABELS)
        e2e = time.perf_counter() - started
        table.add_row(
            model,
            f"{statistics.mean(wers):.3f}",
            f"{alive}/{total}",
            f"{statistics.mean(raw_err):.3f}",
            f"{statistics.mean(ali_err):.3f}",
            f"{100 * statistics.mean(aseg_ta):.1f}",
            f"{100 * statistics.mean(aseg_a):.1f}",
            f"{100 * prf(gold_ner, pred_ner):.1f}",
            f"{seconds / total_s:.3f}",
            f"{cpu / total_s:.3f}",
            f"{cold:.2f}",
            f"{e2e:.2f}",
        )
    console.print(table)
    rss = peak_rss_mb()
    console.print(f"peak RSS of this process (all models above, spaCy, piper): {rss:.0f} MB")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    console.print(f"load average: {load}; {os.cpu_count()} CPUs (the machine is shared)")
    console.print(f"clips: {', '.join(f'{soundfile.info(str(s.path)).duration:.1f}' for s, _, _ in clips)} s")


if __name__ == "__main__":
    main()
