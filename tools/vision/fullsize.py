"""Full-size open-vocabulary backends: OWLv2 or Grounding DINO boxes with SAM masks (transformers), and
SEEM when its package and weights are installed. Chosen by config, e.g.::

    tools = {"image.segment.v1": {"backend": "owlv2-sam", "detector": "/models/owlv2-base",
                                  "segmenter": "/models/sam-vit-base", "device": "cuda"}}

Model paths are local folders or hub ids; loading never downloads unless the user's own transformers
settings allow it (``local_files_only`` follows ``HF_HUB_OFFLINE``).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from reamo.errors import BackendUnavailableError, ConfigError
from reamo.schemas import BackendInfo
from reamo.tools.vision.backends import Image, Instance, Mask, SegmentBackend
from reamo.tools.vision.phrases import Query, split_phrase

BOX_THRESHOLD = 0.2


def _noun(phrase: str) -> Query:
    """Spatial words and plurals as the embedded parser reads them; the label is the phrase's content."""
    parts = split_phrase(phrase)
    plural = parts.plural or any(w.endswith("s") and not w.endswith("ss") for w in parts.content[-1:])
    return Query(phrase, " ".join(parts.content) or None, parts.spatial, plural, "open vocabulary")


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise BackendUnavailableError("The full-size vision backends need torch and transformers") from exc
    return torch


class TransformersBackend:
    """An open-vocabulary detector (OWLv2 or Grounding DINO) for boxes, SAM for the masks inside them."""

    def __init__(self, kind: str, settings: Mapping[str, Any]) -> None:
        import transformers

        from reamo.quiet import quiet_transformers

        quiet_transformers()
        detector, segmenter = settings.get("detector"), settings.get("segmenter")
        if not detector or not segmenter:
            raise ConfigError(
                f"The {kind} backend needs 'detector' and 'segmenter' model paths (or hub ids) in "
                "config.tools['image.segment.v1'], e.g. detector=google/owlv2-base-patch16-ensemble, "
                "segmenter=facebook/sam-vit-base."
            )
        self.kind = kind
        self.torch = _torch()
        self.device = str(settings.get("device", "cpu"))
        self.threshold = float(settings.get("min_score", BOX_THRESHOLD))
        local = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        classes: dict[str, tuple[Any, Any]] = {
            "owlv2-sam": (transformers.Owlv2Processor, transformers.Owlv2ForObjectDetection),
            "grounding-dino-sam": (transformers.AutoProcessor, transformers.GroundingDinoForObjectDetection),
        }
        processor_cls, model_cls = classes[kind]
        try:
            self.det_processor: Any = processor_cls.from_pretrained(str(detector), local_files_only=local)
            detector_model: Any = model_cls.from_pretrained(str(detector), local_files_only=local)
            self.detector: Any = detector_model.to(self.device).eval()
            self.sam_processor: Any = transformers.SamProcessor.from_pretrained(
                str(segmenter), local_files_only=local
            )
            sam: Any = transformers.SamModel.from_pretrained(str(segmenter), local_files_only=local)
            self.sam: Any = sam.to(self.device).eval()
        except (OSError, ValueError) as exc:
            raise BackendUnavailableError(
                f"Could not load the {kind} models ({detector!r}, {segmenter!r}): {exc}. Give local folders "
                "saved with save_pretrained, or allow downloads."
            ) from exc
        self._lock = threading.Lock()

    def describe(self) -> BackendInfo:
        return BackendInfo(
            role="tool:image.segment.v1",
            name=self.kind,
            detail=f"{type(self.detector).__name__} boxes + {type(self.sam).__name__} masks on {self.device}",
        )

    def parse(self, phrase: str) -> Query:
        return _noun(phrase)

    def find(self, image: Image, query: Query, *, key: str | None = None) -> list[Instance]:
        if query.label is None:
            return []
        from PIL import Image as PILImage

        pil = PILImage.fromarray(image)
        size = self.torch.tensor([[image.shape[0], image.shape[1]]])
        with self._lock, self.torch.no_grad():
            if self.kind == "owlv2-sam":
                inputs = self.det_processor(text=[[query.label]], images=pil, return_tensors="pt").to(
                    self.device
                )
                out = self.detector(**inputs)
                side = max(image.shape[:2])  # OWLv2 pads the image to a square
                result = self.det_processor.post_process_grounded_object_detection(
                    out, threshold=self.threshold, target_sizes=self.torch.tensor([[side, side]])
                )[0]
            else:
                text = query.label.lower().rstrip(".") + "."
                inputs = self.det_processor(images=pil, text=text, return_tensors="pt").to(self.device)
                out = self.detector(**inputs)
                result = self.det_processor.post_process_grounded_object_detection(
                    out,
                    inputs["input_ids"],
                    threshold=self.threshold,
                    text_threshold=self.threshold,
                    target_sizes=size,
                )[0]
        h, w = image.shape[:2]
        found = []
        for box, score in zip(result["boxes"].tolist(), result["scores"].tolist(), strict=True):
            x0, y0 = max(0.0, box[0]), max(0.0, box[1])
            x1, y1 = min(float(w), box[2]), min(float(h), box[3])
            if x1 > x0 and y1 > y0:
                found.append(Instance(query.label, (x0, y0, x1, y1), float(min(1.0, max(0.0, score)))))
        return found

    def masks(self, image: Image, instances: Sequence[Instance]) -> list[Mask]:
        if not instances:
            return []
        from PIL import Image as PILImage

        boxes = [[list(i.box) for i in instances]]
        with self._lock, self.torch.no_grad():
            inputs = self.sam_processor(PILImage.fromarray(image), input_boxes=boxes, return_tensors="pt").to(
                self.device
            )
            out = self.sam(**inputs, multimask_output=False)
            found = self.sam_processor.image_processor.post_process_masks(
                out.pred_masks.cpu(), inputs["original_sizes"].cpu(), inputs["reshaped_input_sizes"].cpu()
            )[0]
        return [np.asarray(found[n, 0].numpy(), dtype=bool) for n in range(len(instances))]


SEEM_PACKAGE = "modeling"
"""SEEM's code (the X-Decoder repository, ``pip install -e .`` of Segment-Everything-Everywhere-All-At-Once)
installs the ``modeling`` package; its weights are a checkpoint file (``seem_focall_v1.pt``)."""


class SeemBackend:
    """SEEM (the paper's segmenter) through its own package: text-prompted referring segmentation."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        checkpoint, config = settings.get("checkpoint"), settings.get("config")
        if importlib.util.find_spec(SEEM_PACKAGE) is None:
            raise BackendUnavailableError(
                "The seem backend needs SEEM's code: clone Segment-Everything-Everywhere-All-At-Once and "
                "`pip install -e .` it (it provides the 'modeling' package), then set checkpoint= and "
                "config= in config.tools['image.segment.v1']."
            )
        if not checkpoint or not os.path.isfile(str(checkpoint)) or not config:
            raise BackendUnavailableError(
                f"The seem backend needs its weights: checkpoint={checkpoint!r} is not a file. Download "
                "seem_focall_v1.pt and give its path and the matching config yaml (config=...)."
            )
        from modeling import build_model  # type: ignore[import-not-found]
        from modeling.BaseModel import BaseModel  # type: ignore[import-not-found]
        from utils.arguments import load_opt_from_config_files  # type: ignore[import-not-found]

        torch = _torch()
        self.torch = torch
        opt = load_opt_from_config_files([str(config)])
        self.device = str(settings.get("device", "cuda" if torch.cuda.is_available() else "cpu"))
        self.model: Any = (
            BaseModel(opt, build_model(opt)).from_pretrained(str(checkpoint)).eval().to(self.device)
        )
        with torch.no_grad():
            self.model.model.sem_seg_head.predictor.lang_encoder.get_text_embeddings(
                ["background"], is_eval=True
            )
        self._lock = threading.Lock()

    def describe(self) -> BackendInfo:
        return BackendInfo(
            role="tool:image.segment.v1", name="seem", detail=f"SEEM referring segmentation on {self.device}"
        )

    def parse(self, phrase: str) -> Query:
        return _noun(phrase)

    def _mask(self, image: Image, text: str) -> Mask:
        torch = self.torch
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).to(self.device)
        batch = [{"image": tensor, "height": image.shape[0], "width": image.shape[1], "text": [text]}]
        with self._lock, torch.no_grad():
            self.model.model.task_switch["grounding"] = True
            out = self.model.model.evaluate_grounding(batch, "grounding")
        return np.asarray(out[0]["grounding_mask"][0].cpu().numpy() > 0, dtype=bool)

    def find(self, image: Image, query: Query, *, key: str | None = None) -> list[Instance]:
        if query.label is None:
            return []
        mask = self._mask(image, query.label)
        if not mask.any():
            return []
        ys, xs = np.nonzero(mask)
        box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
        self._last = (box, mask)
        return [Instance(query.label, box, 1.0)]

    def masks(self, image: Image, instances: Sequence[Instance]) -> list[Mask]:
        last = getattr(self, "_last", None)
        return [
            last[1] if last is not None and last[0] == i.box else self._mask(image, i.label)
            for i in instances
        ]


def load(name: str, settings: Mapping[str, Any]) -> SegmentBackend:
    """Build a full-size backend by its config name."""
    if name == "seem":
        return SeemBackend(settings)
    if importlib.util.find_spec("transformers") is None:
        raise BackendUnavailableError(
            f"The {name} backend needs transformers: pip install transformers torch"
        )
    return TransformersBackend(name, settings)
