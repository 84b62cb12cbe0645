"""Suite builders over a tiny copy of the ``../shared/data`` layout that the tests write: every built
suite loads, and its gold says what the source says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from PIL import Image

from reamo.cli import main
from reamo.errors import SuiteError
from reamo.evaluation import build_suites, load_suite
from reamo.evaluation.builders import BUILDERS, sample
from reamo.evaluation.builders import spoken as spoken_module
from reamo.evaluation.builders.spoken import _spoken_suite, align, speakable
from reamo.evaluation.builders.text import build_twitter2017, chunks
from reamo.schemas import Word

TWITTER = "IMGID:1\nRT\tO\n@Obama\tB-PER\nvisits\tO\nNew\tB-LOC\nYork\tI-LOC\n\nIMGID:2\nhi\tO\n"
CONLL = "-DOCSTART- O\n\nfellow O\nQueenslander I-MISC\nAlan B-PER\nBorder I-PER\n\nEU B-ORG\n"
WNUT = "the\tO\nAvalanche\tB-group\nRescue\tI-group\n\t\nok\tO\n"
MNRE = [
    {
        "token": ["Obama", "meets", "Merkel"],
        "h": {"name": "Obama", "pos": [0, 1]},
        "t": {"name": "Merkel", "pos": [2, 3]},
        "img_id": "a.jpg",
        "relation": "/per/per/peer",
    },
    {
        "token": ["Obama", "meets", "Merkel"],
        "h": {"name": "Merkel", "pos": [2, 3]},
        "t": {"name": "meets", "pos": [1, 2]},
        "img_id": "a.jpg",
        "relation": "None",
    },
]
M2E2 = [
    {
        "sentence_id": "doc_1",
        "sentence_start": 10,
        "sentence": "Police arrest a man",
        "words": ["Police", "arrest", "a", "man", "."],
        "index": [["10", "15"], ["17", "22"], ["24", "24"], ["26", "28"], ["29", "29"]],
        "golden-entity-mentions": [{"entity-type": "PER", "text": "man", "start": 3, "end": 4}],
        "golden-event-mentions": [
            {
                "trigger": {"start": 1, "end": 2, "text": "arrest"},
                "event_type": "Justice:Arrest-Jail",
                "arguments": [
                    {"role": "Person", "start": 3, "end": 4, "text": "man"},
                    {"role": "Agent", "start": 0, "end": 1, "text": "Police"},
                ],
            }
        ],
    }
]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"

    def put(rel: str, content: str) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)

    put("text/twitter2017/test.txt", TWITTER)
    put("text/conll2003/test.txt", CONLL)
    put("text/wnut17/emerging.test.annotated", WNUT)
    put("text/mnre_v2/mnre_test.txt", "\n".join(repr(r) for r in MNRE) + "\n")
    put("text/m2e2/m2e2_annotations/text_multimedia_event.json", json.dumps(M2E2))
    coco = root / "images/coco128_seg"
    put("images/coco128_seg/classes.txt", "0\tperson\n1\tdog\n")
    put("images/coco128_seg/labels/train2017/000000000001.txt", "1 0.25 0.25 0.75 0.25 0.75 0.75\n")
    (coco / "images/train2017").mkdir(parents=True)
    Image.new("RGB", (40, 20)).save(coco / "images/train2017/000000000001.jpg")
    Image.new("RGB", (40, 20)).save(coco / "images/train2017/000000000002.jpg")  # background
    davis = root / "video/davis2016_val"
    for sub in ("JPEGImages/480p/dog", "Annotations/480p/dog"):
        (davis / sub).mkdir(parents=True)
    for i in range(2):
        Image.new("RGB", (8, 6)).save(davis / f"JPEGImages/480p/dog/{i:05d}.jpg")
        mask = np.zeros((6, 8), np.uint8)
        mask[1:3, 2:5] = 255
        Image.fromarray(mask).save(davis / f"Annotations/480p/dog/{i:05d}.png")
    return root


def entities(instance: Any) -> list[tuple[str | None, str, tuple[int, int] | None]]:
    return [(e.text, e.label, e.text_span) for e in instance.gold.entities]


def test_chunks_read_bio_and_iob1_leftovers() -> None:
    assert chunks(["B-PER", "I-PER", "O", "B-LOC"]) == [(0, 2, "PER"), (3, 4, "LOC")]
    assert chunks(["O", "I-MISC", "I-ORG", "B-ORG", "B-ORG"]) == [
        (1, 2, "MISC"),
        (2, 3, "ORG"),
        (3, 4, "ORG"),
        (4, 5, "ORG"),
    ]


def test_sample_is_fixed_and_documented() -> None:
    assert sample(5, None) == set(range(5))
    assert sample(5, 9) == set(range(5))
    assert sample(100, 10) == sample(100, 10)
    assert len(sample(100, 10)) == 10


def test_every_text_and_media_suite_builds_and_loads(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "suites"
    names = [n for n in BUILDERS if "_a" not in n and "_ta_" not in n]
    built = build_suites(data, out, only=names)
    suites = {name: load_suite(path) for name, (path, _) in built.items()}

    (tweet, greeting) = suites["twitter2017_t_ner"].instances
    assert tweet.inputs.text == "RT @Obama visits New York"
    assert entities(tweet) == [("@Obama", "person", (3, 9)), ("New York", "location", (17, 25))]
    assert greeting.gold.entities == []

    conll = suites["conll2003_t_ner"].instances
    assert [i.inputs.text for i in conll] == ["fellow Queenslander Alan Border", "EU"]  # -DOCSTART- skipped
    assert [e.label for e in conll[0].gold.entities] == ["miscellaneous", "person"]  # IOB1 I- starts one

    wnut = suites["wnut17_t_ner"].instances  # a TAB-only line separates sentences
    assert entities(wnut[0]) == [("Avalanche Rescue", "group", (4, 20))]
    assert wnut[1].inputs.text == "ok"

    (mnre,) = suites["mnre_t_re"].instances  # two records of one tweet: one instance
    assert entities(mnre) == [
        ("Obama", "person", (0, 5)),
        ("Merkel", "person", (12, 18)),
        ("meets", "miscellaneous", (6, 11)),  # only in a None pair: no type to read
    ]
    assert [(r.head, r.tail, r.label) for r in mnre.gold.relations] == [("e1", "e2", "/per/per/peer")]

    (m2e2,) = suites["m2e2_t_ee"].instances
    assert m2e2.inputs.text == "Police arrest a man."  # the final token the stored sentence lacks
    assert entities(m2e2) == [("man", "person", (16, 19)), ("Police", "miscellaneous", (0, 6))]
    (event,) = m2e2.gold.events
    assert (event.type, event.trigger.text, event.trigger.text_span) == (
        "Justice:Arrest-Jail",
        "arrest",
        (7, 13),
    )
    assert [(a.entity, a.role) for a in event.arguments] == [("e1", "Person"), ("e2", "Agent")]

    dog_image, background = suites["coco128_i_ner"].instances
    assert dog_image.inputs.text is None
    assert entities(dog_image) == [("dog", "dog", None)]
    assert dog_image.gold.entities[0].image.polygons == [[10.0, 5.0, 30.0, 5.0, 30.0, 15.0]]  # type: ignore[union-attr]
    assert background.gold.entities == []
    assert Path(str(dog_image.inputs.image)).is_file()  # copied next to the suite
    assert "dog" in dog_image.labels.entity_types

    (video,) = suites["davis2016_v_ner"].instances
    assert video.id == "davis2016-dog"
    assert entities(video) == [("dog", "dog", None)]
    assert video.inputs.video == str(out.resolve() / "davis2016/frames/dog")
    assert len(list((out / "davis2016/masks/dog").iterdir())) == 2


def test_build_errors(data: Path, tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="Unknown suite"):
        build_suites(data, tmp_path, only=["nope"])
    with pytest.raises(SuiteError, match="is not a folder"):
        build_suites(tmp_path / "none", tmp_path)
    (data / "text/wnut17/emerging.test.annotated").unlink()
    with pytest.raises(SuiteError, match="is missing: --data must be the benchmark sources folder"):
        build_suites(data, tmp_path, only=["wnut17_t_ner"])


def test_cli_bench_build(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "suites"
    assert main(["bench", "build", "--data", str(data), "--out", str(out), "--only", "wnut17_t_ner"]) == 0
    assert (out / "wnut17_t_ner.jsonl").is_file()
    assert main(["bench", "build", "--out", str(out)]) == 2
    assert "Give --data" in capsys.readouterr().err


def test_speakable_and_align() -> None:
    speech, where = speakable(["RT", "@Obama", ":", "I", "'m", "in", "#Paris", "http://t.co/x"])
    assert speech == "Obama I'm in Paris"
    assert where == {1: 0, 3: 1, 4: 1, 5: 2, 6: 3}
    words = [("Obama", 0.0, 0.4), ("I'm", 0.5, 0.6), ("in", 0.7, 0.8), ("Paris", 0.9, 1.3)]
    assert align(speech.split(" "), words) == {0: 0, 1: 1, 2: 2, 3: 3}
    # a number said as two words shifts what follows; matching blocks keep the words that agree
    spoken = [("Obama", 0.0, 0.4), ("twenty", 0.5, 0.6), ("one", 0.6, 0.7), ("Paris", 0.8, 1.2)]
    assert align(["Obama", "21", "Paris"], spoken) == {0: 0, 2: 3}


def test_spoken_suite_with_a_fake_voice(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []

    def synthesize(text: str, out_path: Path) -> list[Word]:
        """Half a second a word, written to a real wav file."""
        said.append(text)
        words = text.split(" ")
        soundfile.write(out_path, np.zeros(8000 * len(words), np.float32), 16000)
        return [Word(text=w, start=0.5 * i, end=0.5 * i + 0.4) for i, w in enumerate(words)]

    monkeypatch.setattr(spoken_module, "_synthesizer", lambda: synthesize)
    out = tmp_path / "suites"
    both = _spoken_suite(build_twitter2017, "spoken/t", keep_text=True)(data, out, None)[0]
    alone = _spoken_suite(build_twitter2017, "spoken/t", keep_text=False)(data, out, None)[0]
    assert said == ["Obama visits New York", "hi"]  # spoken once, cached for the second suite
    tweet = both[0]
    assert tweet.inputs.text == "RT @Obama visits New York"
    assert [(e.text, e.text_span, e.audio) for e in tweet.gold.entities] == [
        ("@Obama", (3, 9), (0.0, 0.4)),
        ("New York", (17, 25), (1.0, 1.9)),
    ]
    heard = alone[0]
    assert heard.inputs.text is None
    assert heard.inputs.audio == "spoken/t/0000.wav"
    assert [(e.text, e.text_span, e.audio) for e in heard.gold.entities] == [
        ("@Obama", None, (0.0, 0.4)),
        ("New York", None, (1.0, 1.9)),
    ]
