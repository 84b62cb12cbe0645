"""``image.segment.v1`` (ImageSegmentation): an instruction phrase -> COCO RLE masks, boxes and scores.

Not grounded (an empty list, which the runner reports as not found) when the phrase names nothing the
backend can detect or nothing of it is in the image; never a made-up mask.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from reamo import masks, media
from reamo.schemas import RLE, ImageRegion, Modality
from reamo.tools.protocol import ToolArgs, ToolContext
from reamo.tools.vision.backends import Image, Instance, Mask, get_backend
from reamo.tools.vision.phrases import Query, pick

log = logging.getLogger(__name__)

Count = Literal["auto", "one", "all"]
RELATED_WEIGHT = 0.5


class SegmentArgs(ToolArgs):
    """Arguments of ImageSegmentation."""

    instances: Count = Field(
        default="auto",
        description="auto: every instance for a plural phrase ('the dogs'), else the one meant; one; all",
    )


def choose(found: Sequence[Instance], query: Query, count: Count) -> list[Instance]:
    """The instances an instruction means: spatial words pick one, plurals or ``all`` keep all, else the
    best."""
    exact = [i for i in found if not i.related]
    # a sibling class (a cat called "dog") stands in, at half its score, only when the class itself is absent
    pool = exact or [Instance(i.label, i.box, i.score * RELATED_WEIGHT, related=True) for i in found]
    ranked = sorted(pool, key=lambda i: -i.score)
    if not ranked:
        return []
    if query.spatial and count != "all":
        return [ranked[pick([i.box for i in ranked], query.spatial)]]
    if count == "all" or (count == "auto" and query.plural):
        return ranked
    return ranked[:1]


def to_rle(mask: Mask) -> RLE:
    rle = masks.encode(mask)
    size = rle["size"]
    return RLE(size=(int(size[0]), int(size[1])), counts=str(rle["counts"]))  # type: ignore[index]


def regions(
    media_id: str, image: Image, chosen: Sequence[Instance], found_masks: Sequence[Mask]
) -> list[ImageRegion]:
    out = []
    for inst, mask in zip(chosen, found_masks, strict=True):
        box = inst.box
        if mask.any():  # the mask's own extent, so that box and mask agree
            ys, xs = np.nonzero(mask)
            box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
        out.append(
            ImageRegion(
                media=media_id, box=box, mask=to_rle(mask), score=round(inst.score, 4), label=inst.label
            )
        )
    return out


class ImageSegmentation:
    """The image grounding tool; its backend comes from ``config.tools['image.segment.v1']``."""

    name = "image.segment.v1"
    module = "ImageSegmentation"
    modality: Modality = "image"
    description = (
        "Segment the object an instruction names in an image (e.g. 'the man on the left', 'dog'); "
        "returns masks, boxes and scores, or nothing when it is not there"
    )
    args_model: type[ToolArgs] = SegmentArgs
    result_model: type[BaseModel] = ImageRegion

    def run(self, args: SegmentArgs, ctx: ToolContext) -> list[ImageRegion]:
        item = ctx.media(args.target)
        pixels = int(ctx.settings.get("max_image_pixels", media.MAX_IMAGE_PIXELS))
        image = np.asarray(media.open_image(item.path, max_pixels=pixels))
        backend = get_backend(ctx.settings, ctx.resources)
        query = backend.parse(args.instruction)
        if query.label is None:
            log.info("%r names nothing the detector knows (%s): not grounded", args.instruction, query.how)
            return []
        chosen = choose(backend.find(image, query, key=media.fingerprint(item)), query, args.instances)
        return regions(args.target, image, chosen, backend.masks(image, chosen))
