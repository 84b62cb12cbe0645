"""The embedded vision stack on coco128 (image NER, I-Seg) and DAVIS-2016 (V-Trck J), with speed and
peak RSS, scored with ``reamo.evaluation.metrics``. Prints a table and per-class failures.

    python benchmarks/vision.py --data ../shared/data [--images 128] [--videos 10] [--bounds] [--json F]

Image NER: the perceived objects as entities (COCO name as label and text), matched as multisets.
I-Seg (pipeline): a mask for every perceived object, Hungarian-paired with the gold masks per image.
I-Seg (tool): ImageSegmentation called with each gold class name present (``instances=all``), as a
planner that named the right concepts would call it. J: VideoTracking with the sequence's noun.
``--bounds`` adds what limits I-Seg: the masks made from the gold boxes (the masking's ceiling), and
the detections down to a 0.05 score that an oracle would keep (one per gold object it overlaps with box
IoU >= 0.5: the detector's ceiling), with the detector's recall at 0.05 and at the default floor.
Thresholds are the defaults the code ships with; some were chosen on these sets (the detector floor on
the first 50 coco128 images, the tracker's settings on DAVIS): the issue notes say which.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from reamo import masks, media
from reamo.evaluation.metrics import PRF, Mean, score_iseg, score_keys, track_jaccard
from reamo.evaluation.runner import peak_rss_mb
from reamo.masks import box_iou
from reamo.schemas import Inputs
from reamo.tools import Resources, ToolContext
from reamo.tools.vision import ImagePerceiver, ImageSegmentation, SegmentArgs, TrackArgs, VideoTracking
from reamo.tools.vision.backends import EmbeddedBackend, get_backend

DAVIS_NOUNS = {  # made up from the sequence names by the data's README, not gold; used as the instruction
    "blackswan": "black swan",
    "bmx-trees": "BMX rider with bicycle",
    "camel": "camel",
    "car-roundabout": "car",
    "car-shadow": "car",
    "cows": "cow",
    "dog": "dog",
    "horsejump-high": "horse with rider",
    "kite-surf": "kite surfer",
    "libby": "dog",
}


def load_coco(root: Path, limit: int) -> list[tuple[Path, list[tuple[str, dict[str, object]]]]]:
    names = [
        line.split("\t")[-1].strip()
        for line in (root / "classes.txt").read_text().splitlines()
        if line.strip()
    ]
    out = []
    for image in sorted((root / "images" / "train2017").glob("*.jpg"))[:limit]:
        w, h = Image.open(image).size
        label_file = root / "labels" / "train2017" / f"{image.stem}.txt"
        objects = []
        if label_file.exists():
            for line in label_file.read_text().splitlines():
                parts = line.split()
                if len(parts) < 7:
                    continue
                xy = np.array(parts[1:], dtype=np.float64).reshape(-1, 2) * (w, h)
                objects.append((names[int(parts[0])], masks.from_polygons([xy.ravel().tolist()], h, w)))
        out.append((image, objects))
    return out


ORACLE_FLOOR = 0.05
CONFUSION_FLOOR = 0.1


def oracle_kept(found: list[Any], gold_boxes: list[Any]) -> list[Any]:
    """The detections an oracle would keep: each the best remaining match (box IoU >= 0.5) of a gold box."""
    kept, used = [], set()
    for d in found:
        best = max(
            ((box_iou(d.box, g), n) for n, g in enumerate(gold_boxes) if g is not None and n not in used),
            default=(0.0, -1),
        )
        if best[0] >= 0.5:
            used.add(best[1])
            kept.append(d)
    return kept


def bench_images(root: Path, limit: int, ocr: bool, bounds: bool = False) -> dict[str, Any]:
    resources = Resources()
    perceiver = ImagePerceiver({"ocr": ocr})
    tool = ImageSegmentation()
    backend = get_backend({}, resources)
    assert isinstance(backend, EmbeddedBackend)
    data = load_coco(root, limit)
    ner, iseg_pipe, iseg_tool = PRF(), Mean(), Mean()
    iseg_gold_boxes, iseg_oracle = Mean(), Mean()
    recall: Counter[str] = Counter()
    per_class: dict[str, Counter[str]] = {}
    confusions: Counter[tuple[str, str]] = Counter()
    perceive_s, mask_s, tool_s = [], [], []
    for path, gold in data:
        item = Inputs.build(image=path).images[0]
        started = time.perf_counter()
        seen = perceiver.perceive(item, resources)
        perceive_s.append(time.perf_counter() - started)
        gold_keys = [(label, label) for label, _ in gold]
        pred_keys = [(o.label, o.label) for o in seen.objects]
        ner = ner + score_keys(gold_keys, pred_keys)
        for label in {*(g for g, _ in gold_keys), *(p for p, _ in pred_keys)}:
            c = per_class.setdefault(label, Counter())
            g, p = Counter(gold_keys)[(label, label)], Counter(pred_keys)[(label, label)]
            c.update(gold=g, pred=p, tp=min(g, p))
        image = np.asarray(media.open_image(path))
        from reamo.tools.vision.backends import Instance

        started = time.perf_counter()
        pred_masks = backend.masks(image, [Instance(o.label, o.box, o.score) for o in seen.objects])
        mask_s.append(time.perf_counter() - started)
        iseg_pipe = iseg_pipe + score_iseg([m for _, m in gold], pred_masks)
        # what the detector saw on each gold object: the best-overlapping raw candidate (score >= 0.1);
        # one detection at the lowest floor serves every floor (NMS keeps a box for its betters only)
        boxes = [masks.to_box(m) for _, m in gold]
        low = backend.detector.detect(image, min_score=min(CONFUSION_FLOOR, ORACLE_FLOOR))
        raw = [d for d in low if d.score >= CONFUSION_FLOOR]
        for (label, _), gbox in zip(gold, boxes, strict=True):
            best = max(((box_iou(gbox, d.box), d) for d in raw), default=(0.0, None), key=lambda x: x[0])
            if gbox is None or best[1] is None or best[0] < 0.5:
                confusions[(label, "(nothing)")] += 1
            elif best[1].label != label:
                confusions[(label, best[1].label)] += 1
            elif best[1].score < perceiver.min_score:
                confusions[(label, f"(same class, score < {perceiver.min_score:g})")] += 1
        if bounds:
            at_gold = [(label, b) for (label, _), b in zip(gold, boxes, strict=True) if b is not None]
            made = backend.masks(image, [Instance(label, b, 1.0) for label, b in at_gold])
            iseg_gold_boxes = iseg_gold_boxes + score_iseg([m for _, m in gold], made)
            kept = oracle_kept([d for d in low if d.score >= ORACLE_FLOOR], boxes)
            iseg_oracle = iseg_oracle + score_iseg(
                [m for _, m in gold], backend.masks(image, [Instance(d.label, d.box, d.score) for d in kept])
            )
            recall.update(
                gold=len(boxes),
                at_low=len(kept),
                at_floor=len(oracle_kept([d for d in low if d.score >= perceiver.min_score], boxes)),
            )
        ctx = ToolContext(inputs=Inputs.build(image=path), resources=resources)
        started = time.perf_counter()
        tool_masks = []
        for label in sorted({g for g, _ in gold}):
            found = tool.run(SegmentArgs(instruction=label, target="image:0", instances="all"), ctx)
            tool_masks += [r.mask.model_dump() for r in found if r.mask is not None]
        tool_s.append(time.perf_counter() - started)
        if gold or tool_masks:
            iseg_tool = iseg_tool + score_iseg([m for _, m in gold], tool_masks)
    return {
        "images": len(data),
        "ner": ner,
        "iseg_pipeline": iseg_pipe,
        "iseg_tool": iseg_tool,
        "bounds": {"iseg_gold_boxes": iseg_gold_boxes, "iseg_oracle": iseg_oracle, "recall": recall}
        if bounds
        else None,
        "per_class": per_class,
        "confusions": confusions,
        "perceive_s": perceive_s,
        "mask_s": mask_s,
        "tool_s": tool_s,
    }


def bench_videos(root: Path, limit: int, settings: dict[str, Any]) -> dict[str, Any]:
    resources = Resources()
    tool = VideoTracking()
    rows = []
    for seq, noun in list(DAVIS_NOUNS.items())[:limit]:
        frames = root / "JPEGImages" / "480p" / seq
        if not frames.is_dir():
            continue
        gold_files = sorted((root / "Annotations" / "480p" / seq).glob("*.png"))
        gold = {i: np.asarray(Image.open(p)) > 0 for i, p in enumerate(gold_files)}
        ctx = ToolContext(inputs=Inputs.build(video=frames), resources=resources, settings=settings)
        started = time.perf_counter()
        tracks = tool.run(TrackArgs(instruction=noun, target="video:0", instances="one"), ctx)
        seconds = time.perf_counter() - started
        pred = {f.frame: f.mask.model_dump() for f in tracks[0].frames if f.mask} if tracks else {}
        j = track_jaccard(gold, pred, frames=range(len(gold_files)))
        rows.append({"seq": seq, "noun": noun, "frames": len(gold_files), "J": j, "seconds": seconds,
                     "tracked_frames": len(pred), "per_50": seconds * 50 / len(gold_files)})  # fmt: skip
    return {"rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--videos", type=int, default=10)
    parser.add_argument("--no-ocr", action="store_true", help="objects only (OCR timed apart)")
    parser.add_argument("--bounds", action="store_true", help="what limits I-Seg (masking, detector)")
    parser.add_argument("--stride", type=int, default=5)
    parser.add_argument("--tracker", default="kcf")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    load_before = os.getloadavg()
    report: dict[str, Any] = {"loadavg_before": load_before}
    if args.images:
        img = bench_images(args.data / "images" / "coco128_seg", args.images, not args.no_ocr, args.bounds)
        report["images"] = img
    if args.videos:
        vid = bench_videos(
            args.data / "video" / "davis2016_val",
            args.videos,
            {"stride": args.stride, "tracker": args.tracker},
        )
        report["videos"] = vid
    report["loadavg_after"] = os.getloadavg()
    report["peak_rss_mb"] = peak_rss_mb()
    print_report(report)
    if args.json:
        images = report.get("images", {})
        for key in ("per_class", "confusions"):  # tuple keys are not JSON: flatten them first
            if key in images:
                images[key] = (
                    _plain(images[key])
                    if key == "confusions"
                    else {k: dict(v) for k, v in images[key].items()}
                )
        args.json.write_text(json.dumps(report, default=_plain, indent=2))


def _plain(o: Any) -> Any:
    if isinstance(o, PRF):
        return {"tp": o.tp, "n_pred": o.n_pred, "n_gold": o.n_gold, **o.scaled()}
    if isinstance(o, Mean):
        return {"total": o.total, "count": o.count, "mean": o.total / o.count if o.count else 0.0}
    if isinstance(o, Counter):
        return {" -> ".join(k) if isinstance(k, tuple) else str(k): v for k, v in o.items()}
    return str(o)


def _mean(m: Mean) -> float:
    return 100 * m.total / m.count if m.count else 0.0


def print_report(r: dict[str, Any]) -> None:
    print(f"load average before {r['loadavg_before']}, after {r['loadavg_after']} (2 shared cores)")
    if "images" in r:
        i = r["images"]
        med = statistics.median
        print(f"\ncoco128, {i['images']} images")
        print(f"{'metric':<38}{'value':>10}")
        print(f"{'image NER F1 (P / R)':<38}{i['ner'].f1 * 100:>10.1f}   ({i['ner']})")
        print(f"{'I-Seg mIoU, mask per perceived object':<38}{_mean(i['iseg_pipeline']):>10.1f}")
        print(f"{'I-Seg mIoU, tool with gold class names':<38}{_mean(i['iseg_tool']):>10.1f}")
        if i.get("bounds"):
            b = i["bounds"]
            rec = b["recall"]
            print(f"{'I-Seg bound: masks from gold boxes':<38}{_mean(b['iseg_gold_boxes']):>10.1f}")
            print(f"{'I-Seg bound: oracle-kept detections':<38}{_mean(b['iseg_oracle']):>10.1f}")
            share = {k: 100 * rec[k] / max(1, rec["gold"]) for k in ("at_floor", "at_low")}
            print(
                f"{'detector recall (box IoU >= 0.5)':<38}{share['at_floor']:>10.1f}"
                f"   at score >= {ORACLE_FLOOR}: {share['at_low']:.1f}"
            )
        print(
            f"{'perceive s/image (median, p90)':<38}{med(i['perceive_s']):>10.2f}"
            f"   p90 {np.percentile(i['perceive_s'], 90):.2f}"
        )
        print(f"{'masks for all objects s/image (median)':<38}{med(i['mask_s']):>10.2f}")
        print(f"{'tool calls s/image (median)':<38}{med(i['tool_s']):>10.2f}")
        print("\nper class (gold >= 3): recall, precision")
        rows = sorted(i["per_class"].items(), key=lambda kv: -kv[1]["gold"])
        for label, c in rows:
            if c["gold"] >= 3:
                rec = c["tp"] / c["gold"] if c["gold"] else 0
                prec = c["tp"] / c["pred"] if c["pred"] else 0
                print(f"  {label:<16} gold {c['gold']:>4} pred {c['pred']:>4}  R {rec:.2f}  P {prec:.2f}")
        print("\ngold objects not detected as themselves: the best raw candidate there (IoU >= 0.5), top 20")
        for (gold, seen), n in i["confusions"].most_common(20):
            print(f"  {gold:<16} -> {seen:<16} {n}")
    if "videos" in r:
        rows = r["videos"]["rows"]
        print("\nDAVIS-2016 val: VideoTracking with the sequence noun")
        print(f"  {'sequence':<16}{'noun':<24}{'frames':>7}{'tracked':>8}{'J':>7}{'s':>7}{'s/50f':>7}")
        for row in rows:
            print(f"  {row['seq']:<16}{row['noun']:<24}{row['frames']:>7}{row['tracked_frames']:>8}"
                  f"{100 * row['J']:>7.1f}{row['seconds']:>7.1f}{row['per_50']:>7.1f}")  # fmt: skip
        if rows:
            print(f"  mean J {100 * statistics.mean(row['J'] for row in rows):.1f}; "
                  f"median s/50 frames {statistics.median(row['per_50'] for row in rows):.1f}")  # fmt: skip
    print(f"\npeak RSS {r['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
