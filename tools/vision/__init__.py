"""Vision: the ImageSegmentation and VideoTracking tools and image/video perception.

Embedded: a COCO-80 CenterNet detector (npm ``@vladmandic/human``, converted to ONNX by ``tfjs``), MiniLM
phrase->class mapping, MediaPipe person masks and GrabCut, OpenCV CSRT/KCF tracking, PP-OCRv4 text.
Full-size (``fullsize``): OWLv2 or Grounding DINO with SAM through transformers, and SEEM. Heavy
libraries load on first use only.
"""

from __future__ import annotations

from reamo.assets import Asset
from reamo.quiet import quiet_native_logs
from reamo.tools.vision.detector import CENTERNET, COCO_LABELS, CenterNetDetector, Detection
from reamo.tools.vision.perceivers import ImagePerceiver, VideoPerceiver
from reamo.tools.vision.phrases import LABEL_VECTORS
from reamo.tools.vision.segment import ImageSegmentation, SegmentArgs
from reamo.tools.vision.track import TrackArgs, VideoTracking
from reamo.tools.vision.video import VideoSource

quiet_native_logs()  # the vision modules load cv2 on first use, after this: OpenCV reads its log levels then

__all__ = [
    "CENTERNET",
    "COCO_LABELS",
    "CenterNetDetector",
    "Detection",
    "ImagePerceiver",
    "ImageSegmentation",
    "SegmentArgs",
    "TrackArgs",
    "VideoPerceiver",
    "VideoSource",
    "VideoTracking",
    "vision_assets",
]


def vision_assets() -> list[Asset]:
    """The model files the vision backends prepare at set-up."""
    return [CENTERNET, LABEL_VECTORS]
