"""Image and video suites: coco128 (image NER and I-Seg) and DAVIS-2016 (V-Trck).

The media are copied next to the suite file (``OUT/coco128/``, ``OUT/davis2016/``) so that a built suite
folder is self-contained and its paths stay relative, as BENCHMARK.md asks.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from reamo.errors import SuiteError
from reamo.evaluation.builders.common import BuildStats, sample
from reamo.evaluation.suite import Gold, GoldEntity, GoldImage, GoldVideo, SuiteInputs, SuiteInstance
from reamo.schemas import LabelSchema

# DAVIS-2016 has no categories. The nouns are the data README's suggestions (explicitly not gold); the
# labels are ours, COCO names where one fits. V-Trck ignores both: tracks are paired by overlap alone.
DAVIS_OBJECTS: dict[str, tuple[str, str]] = {
    "blackswan": ("black swan", "bird"),
    "bmx-trees": ("BMX rider with bicycle", "person"),
    "camel": ("camel", "camel"),
    "car-roundabout": ("car", "car"),
    "car-shadow": ("car", "car"),
    "cows": ("cow", "cow"),
    "dog": ("dog", "dog"),
    "horsejump-high": ("horse with rider", "horse"),
    "kite-surf": ("kite surfer", "person"),
    "libby": ("dog", "dog"),
}


def _folder(path: Path) -> Path:
    if not path.is_dir():
        raise SuiteError(
            f"{str(path)!r} is missing: --data must be the benchmark sources folder (../shared/data)."
        )
    return path


def _copy(src: Path, dst: Path) -> None:
    if not dst.exists() or dst.stat().st_size != src.stat().st_size:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


@dataclass(frozen=True)
class CocoImage:
    """One coco128 image, copied next to the suite: its path there and its objects (class name and
    polygon in pixels, in the source's order)."""

    stem: str
    rel: Path
    objects: list[tuple[str, list[float]]]


def coco128(data: Path, out: Path, limit: int | None) -> tuple[list[str], list[CocoImage], BuildStats]:
    """The 80 class names, the chosen images (copied to ``OUT/coco128/images``) with their objects, and
    the build statistics. Polygons are YOLO-normalised in the source, pixels here."""
    root = _folder(data / "images/coco128_seg")
    names = dict(
        line.split("\t", 1)
        for line in (root / "classes.txt").read_text(encoding="utf-8").splitlines()
        if line
    )
    images = sorted((root / "images/train2017").glob("*.jpg"))
    stats = BuildStats(source=str(root), available=len(images))
    chosen = sample(len(images), limit)
    out_images = []
    for n, image in enumerate(images):
        if n not in chosen:
            continue
        rel = Path("coco128/images") / image.name
        _copy(image, out / rel)
        with Image.open(image) as im:
            width, height = im.size
        labels = root / "labels/train2017" / f"{image.stem}.txt"
        objects = []
        for line in labels.read_text(encoding="utf-8").splitlines() if labels.is_file() else []:
            values = line.split()
            if len(values) < 7:
                continue
            xy = [float(v) * (width if i % 2 == 0 else height) for i, v in enumerate(values[1:])]
            objects.append((names[values[0]], xy))
        out_images.append(CocoImage(image.stem, rel, objects))
    return list(dict.fromkeys(names.values())), out_images, stats


def build_coco128(data: Path, out: Path, limit: int | None) -> tuple[list[SuiteInstance], BuildStats]:
    """Image NER: each annotated object an entity (its COCO class name as text and label), its polygon
    as the mask. No text input, so entities are keyed by ``(label, name)``. The two background images
    are kept: predicting nothing there is right."""
    names, images, stats = coco128(data, out, limit)
    schema = LabelSchema(entity_types=names)
    instances = []
    for image in images:
        entities = [
            GoldEntity(id=f"e{k}", text=name, label=name, image=GoldImage(polygons=[xy]))
            for k, (name, xy) in enumerate(image.objects, 1)
        ]
        instances.append(
            SuiteInstance(
                id=f"coco128-{image.stem}",
                task="ner",
                inputs=SuiteInputs(image=str(image.rel)),
                labels=schema,
                gold=Gold(entities=entities),
            )
        )
    stats.written = len(instances)
    return instances, stats


@dataclass(frozen=True)
class DavisVideo:
    """One DAVIS-2016 sequence, copied next to the suite: its frames and masks folders there, and the
    made-up noun and label of its one foreground."""

    sequence: str
    frames: Path
    masks: Path
    noun: str
    label: str


def davis2016(data: Path, out: Path, limit: int | None) -> tuple[list[str], list[DavisVideo], BuildStats]:
    """The labels, the chosen sequences (frames and masks copied to ``OUT/davis2016``), the statistics."""
    root = _folder(data / "video/davis2016_val")
    sequences = sorted(p.name for p in (root / "JPEGImages/480p").iterdir() if p.is_dir())
    stats = BuildStats(source=str(root), available=len(sequences))
    labels = sorted({label for _, label in DAVIS_OBJECTS.values()})
    chosen = sample(len(sequences), limit)
    videos = []
    for n, seq in enumerate(sequences):
        if n not in chosen:
            continue
        noun, label = DAVIS_OBJECTS.get(seq, (seq, labels[0]))
        if seq not in DAVIS_OBJECTS:
            stats.notes.append(f"{seq}: no noun known; labelled {label!r}")
        frames, masks = Path("davis2016/frames") / seq, Path("davis2016/masks") / seq
        for src in sorted((root / "JPEGImages/480p" / seq).glob("*.jpg")):
            _copy(src, out / frames / src.name)
        for src in sorted((root / "Annotations/480p" / seq).glob("*.png")):
            _copy(src, out / masks / src.name)
        videos.append(DavisVideo(seq, frames, masks, noun, label))
    return labels, videos, stats


def build_davis2016(data: Path, out: Path, limit: int | None) -> tuple[list[SuiteInstance], BuildStats]:
    """V-Trck: one video (a folder of frames) per instance, its one foreground as one track of
    per-frame masks. The entity's noun and label are made up (DAVIS has no categories)."""
    labels, videos, stats = davis2016(data, out, limit)
    schema = LabelSchema(entity_types=labels)
    instances = []
    for video in videos:
        seq, frames = video.sequence, video.frames
        entity = GoldEntity(
            id="e1", text=video.noun, label=video.label, video=GoldVideo(masks=str(video.masks))
        )
        instances.append(
            SuiteInstance(
                id=f"davis2016-{seq}",
                task="ner",
                inputs=SuiteInputs(video=str(frames)),
                labels=schema,
                gold=Gold(entities=[entity]),
            )
        )
    stats.written = len(instances)
    return instances, stats
