"""The full-size backends' real loading and inference code, offline, on tiny models with random weights:
OWLv2 and Grounding DINO for boxes, SAM for masks (transformers); SEEM's clear unavailability."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

transformers = pytest.importorskip("transformers")
pytest.importorskip("torch")

from reamo import masks  # noqa: E402
from reamo.errors import BackendUnavailableError, ConfigError  # noqa: E402
from reamo.schemas import Inputs  # noqa: E402
from reamo.tools import Resources, ToolContext  # noqa: E402
from reamo.tools.vision import ImageSegmentation, SegmentArgs  # noqa: E402


def _byte_vocab() -> dict[str, int]:
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": i + len(chars) for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny OWLv2, Grounding DINO and SAM folders saved with save_pretrained (random weights)."""
    root = tmp_path_factory.mktemp("tiny")
    t = transformers
    vocab = _byte_vocab()
    owl = root / "owlv2"
    tok = t.CLIPTokenizer(vocab=vocab, merges=[], pad_token="!")
    t.Owlv2Processor(
        image_processor=t.Owlv2ImageProcessor(size={"height": 32, "width": 32}), tokenizer=tok
    ).save_pretrained(owl)
    t.Owlv2ForObjectDetection(
        t.Owlv2Config(
            text_config={
                "vocab_size": len(vocab),
                "hidden_size": 16,
                "intermediate_size": 32,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "max_position_embeddings": 16,
            },
            vision_config={
                "hidden_size": 16,
                "intermediate_size": 32,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "image_size": 32,
                "patch_size": 8,
            },
            projection_dim=16,
        )
    ).save_pretrained(owl)
    gd = root / "grounding-dino"
    gd.mkdir()
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "a", "dog", "cat", "the"]
    (gd / "vocab.txt").write_text("\n".join(words))
    t.GroundingDinoProcessor(
        image_processor=t.GroundingDinoImageProcessor(size={"shortest_edge": 32, "longest_edge": 48}),
        tokenizer=t.BertTokenizer(str(gd / "vocab.txt")),
    ).save_pretrained(gd)
    t.GroundingDinoForObjectDetection(
        t.GroundingDinoConfig(
            backbone_config=t.SwinConfig(
                image_size=32,
                patch_size=4,
                embed_dim=8,
                depths=[1, 1, 1, 1],
                num_heads=[1, 1, 1, 1],
                window_size=2,
                out_indices=[2, 3, 4],
            ),
            text_config=t.BertConfig(
                vocab_size=len(words),
                hidden_size=32,
                num_hidden_layers=1,
                num_attention_heads=2,
                intermediate_size=32,
                max_position_embeddings=64,
            ),
            d_model=32,
            encoder_layers=1,
            decoder_layers=2,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=32,
            decoder_ffn_dim=32,
            num_queries=10,
            num_feature_levels=3,
            encoder_n_points=2,
            decoder_n_points=2,
            max_text_len=16,
            use_timm_backbone=False,
            backbone=None,
            use_pretrained_backbone=False,
        )
    ).save_pretrained(gd)
    sam = root / "sam"
    t.SamModel(
        t.SamConfig(
            vision_config={
                "hidden_size": 16,
                "intermediate_size": 32,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "output_channels": 16,
                "image_size": 64,
                "patch_size": 16,
                "global_attn_indexes": [0],
                "window_size": 2,
                "mlp_dim": 32,
                "num_pos_feats": 8,
            },
            prompt_encoder_config={"hidden_size": 16, "image_size": 64, "patch_size": 16},
            mask_decoder_config={
                "hidden_size": 16,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "mlp_dim": 32,
                "iou_head_hidden_dim": 16,
            },
        )
    ).save_pretrained(sam)
    t.SamProcessor(
        t.SamImageProcessor(size={"longest_edge": 64}, pad_size={"height": 64, "width": 64})
    ).save_pretrained(sam)
    return {"owlv2-sam": owl, "grounding-dino-sam": gd, "sam": sam}


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(tmp_path / "photo.png")
    return tmp_path / "photo.png"


@pytest.mark.parametrize("backend", ["owlv2-sam", "grounding-dino-sam"])
def test_open_vocabulary_backends_return_sam_masks(tiny: dict[str, Path], photo: Path, backend: str) -> None:
    settings = {
        "backend": backend,
        "detector": str(tiny[backend]),
        "segmenter": str(tiny["sam"]),
        "min_score": 0.0,
    }
    ctx = ToolContext(inputs=Inputs.build(image=photo), settings=settings, resources=Resources())
    tool = ImageSegmentation()
    every = tool.run(SegmentArgs(instruction="the dog", target="image:0", instances="all"), ctx)
    assert len(every) >= 2  # a random model scores every query box above 0
    for region in every:
        assert region.mask is not None
        assert tuple(region.mask.size) == (40, 60)
        assert 0.0 <= region.score <= 1.0
        assert 0 <= region.box[0] <= region.box[2] <= 60
        assert 0 <= region.box[1] <= region.box[3] <= 40
        if masks.area(region.mask.model_dump()):  # the box follows the mask
            assert masks.to_box(region.mask.model_dump()) == region.box
    left = tool.run(SegmentArgs(instruction="the dog on the left", target="image:0"), ctx)
    assert len(left) == 1
    assert left[0].score in {r.score for r in every}


def test_full_size_backends_explain_what_is_missing(
    tiny: dict[str, Path], photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a missing folder must not turn into a download
    tool = ImageSegmentation()
    cases: list[tuple[dict[str, object], type[Exception], str]] = [
        ({"backend": "owlv2-sam"}, ConfigError, "needs 'detector' and 'segmenter'"),
        (
            {
                "backend": "owlv2-sam",
                "detector": str(photo.parent / "nowhere"),
                "segmenter": str(tiny["sam"]),
            },
            BackendUnavailableError,
            "Could not load",
        ),
        ({"backend": "seem", "checkpoint": "seem_focall_v1.pt"}, BackendUnavailableError, "SEEM"),
    ]
    for settings, error, message in cases:
        ctx = ToolContext(inputs=Inputs.build(image=photo), settings=settings, resources=Resources())
        with pytest.raises(error, match=message):
            tool.run(SegmentArgs(instruction="dog", target="image:0"), ctx)
