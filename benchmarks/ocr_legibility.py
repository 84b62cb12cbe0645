"""Which OCR lines are legible words: the rules of ``reamo.tools.vision.perceivers.legible`` measured on
text rendered onto photos that no benchmark suite scores.

    python benchmarks/ocr_legibility.py [--images 240] [--seed 0] [--json F]

Each image is one of the photos shipped inside installed packages (matplotlib's Grace Hopper portrait,
scikit-learn's china and flower photos) or labelme's three example photos (``--labelme``), with one to
three lines of text drawn on it: dictionary words, names, numbers, codes (``EBY-584``) and made-up words
(``Vorlax``), in DejaVu fonts of 8 to 48 pixels, in a random colour, sometimes on a plate, tilted up to
8 degrees, saved as JPEG of quality 50 to 95. PP-OCR reads it. A line it reads is *right* when its
letters and digits are those of whole words of a drawn line, in order, else a *misreading* (a word cut
short, a wrong letter, a texture read as text). Each rule is scored by the right lines it keeps and the
misreadings it keeps.
The photos themselves, without text drawn, are read as well: every line read there is a misreading
unless the photo shows text (the bus).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from reamo.schemas import OcrLine
from reamo.tools.vision.ocr import RapidOcr, english_words, words_of
from reamo.tools.vision.perceivers import LEGIBLE_MIN_SCORE, OCR_MIN_SCORE, SPELLED_MIN_SCORE, legible


def photos(labelme: Path | None) -> list[Path]:
    import matplotlib
    import sklearn

    found = [Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"]
    found += sorted((Path(sklearn.__file__).parent / "datasets" / "images").glob("*.jpg"))
    if labelme is not None:
        found += sorted(labelme.glob("*.jpg"))
    return found


def fonts() -> list[Path]:
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return sorted(folder.glob("DejaVu*.ttf"))


def made_up(rng: random.Random) -> str:
    consonants, vowels = "bcdfghklmnprstvwxz", "aeiou"
    word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 3)))
    return word + rng.choice(consonants)


def a_line(rng: random.Random, dictionary: list[str]) -> str:
    kind = rng.choice(["words", "words", "name", "number", "code", "made-up"])
    if kind == "number":
        return str(rng.randint(10, 99999))
    if kind == "code":
        letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(3))
        return f"{letters}-{rng.randint(100, 999)}"
    if kind == "made-up":
        return made_up(rng).capitalize()
    words = [rng.choice(dictionary) for _ in range(rng.randint(1, 3) if kind == "words" else 2)]
    case = rng.choice([str.upper, str.capitalize, str.lower])
    return " ".join(case(w) for w in words)


def key(text: str) -> str:
    return re.sub(r"[\W_]", "", text).lower()


@dataclass
class Drawn:
    text: str
    box: tuple[float, float, float, float]


def render(
    photo: Image.Image, rng: random.Random, dictionary: list[str], faces: list[Path]
) -> tuple[Any, list[Drawn]]:
    image = photo.convert("RGB").copy()
    drawn: list[Drawn] = []
    for _ in range(rng.randint(1, 3)):
        text = a_line(rng, dictionary)
        size = rng.choice([8, 10, 12, 14, 16, 20, 24, 32, 40, 48])
        font = ImageFont.truetype(str(rng.choice(faces)), size)
        left, top, right, bottom = font.getbbox(text)
        w, h = right - left + 8, bottom - top + 8
        layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        if rng.random() < 0.4:  # a plate behind the text, as a sign or a label
            plate = tuple(255 - c for c in colour)
            draw.rectangle((0, 0, w, h), fill=(*plate, 255))
        draw.text((4 - left, 4 - top), text, font=font, fill=(*colour, 255))
        layer = layer.rotate(rng.uniform(-8, 8), expand=True, resample=Image.Resampling.BICUBIC)
        if layer.width >= image.width or layer.height >= image.height:
            continue
        x = rng.randint(0, image.width - layer.width)
        y = rng.randint(0, image.height - layer.height)
        if any(
            x < d.box[2] and d.box[0] < x + layer.width and y < d.box[3] and d.box[1] < y + layer.height
            for d in drawn
        ):
            continue
        image.paste(layer, (x, y), layer)
        drawn.append(Drawn(text, (x, y, x + layer.width, y + layer.height)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=rng.randint(50, 95))
    return np.asarray(Image.open(buffer).convert("RGB")), drawn


PHOTO_TEXT = {"2011_000025.jpg": ("LEYLAND", "2676", "EBY-584"), "grace_hopper.jpg": ("COMO HOPPER",)}
"""The text the photos show, read by eye: the bus's maker, number and plate, the name tag's name."""


def right(line: OcrLine, drawn: list[str]) -> bool:
    """Whether the line is whole words of a drawn line, in order (a line the OCR split in two is read
    right; a word cut short, "676" for "2676", is not)."""
    read = key(line.text)
    for text in drawn:
        words = [key(w) for w in words_of(text)]
        runs = {"".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
        if read in runs:
            return True
    return False


RULES: dict[str, Callable[[OcrLine], bool]] = {
    "score >= 0.5 (the OCR's own floor)": lambda line: True,
    f"score >= {OCR_MIN_SCORE} (before)": lambda line: line.score >= OCR_MIN_SCORE,
    "score >= 0.9": lambda line: line.score >= 0.9,
    "score >= 0.95": lambda line: line.score >= 0.95,
    f"legible (>= {SPELLED_MIN_SCORE} spelled, >= {LEGIBLE_MIN_SCORE} otherwise)": legible,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=240)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labelme", type=Path, default=None, help="labelme's data_annotated folder")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    dictionary = sorted(w for w in english_words() if w.isalpha() and 3 <= len(w) <= 9)
    faces = fonts()
    ocr = RapidOcr()
    sources = photos(args.labelme)
    rows: list[dict[str, Any]] = []
    for path in sources:  # the photos as they are
        shown = list(PHOTO_TEXT.get(path.name, ()))
        for line in ocr.read(np.asarray(Image.open(path).convert("RGB"))):
            rows.append(
                {"image": path.name, "drawn": shown, "line": line.model_dump(), "right": right(line, shown)}
            )
    for i in range(args.images):
        path = sources[i % len(sources)]
        image, drawn = render(Image.open(path), rng, dictionary, faces)
        shown = [d.text for d in drawn] + list(PHOTO_TEXT.get(path.name, ()))
        for line in ocr.read(image):
            rows.append(
                {
                    "image": f"{i}:{path.name}",
                    "drawn": shown,
                    "line": line.model_dump(),
                    "right": right(line, shown),
                }
            )
    print(f"{len(sources)} photos, {args.images} with text drawn; {len(rows)} lines read")
    print("\nlines read on the photos without text drawn:")
    for row in rows[: sum(":" not in r["image"] for r in rows)]:
        line = OcrLine(**row["line"])
        verdict = f"right {row['right']}, legible {legible(line)}"
        print(f"  {row['image']}: {line.text!r} score {line.score:.3f}, {verdict}")
    drawn_rows = [(OcrLine(**r["line"]), bool(r["right"]), r["drawn"]) for r in rows if ":" in r["image"]]
    n_right = sum(ok for _, ok, _ in drawn_rows)
    n_wrong = len(drawn_rows) - n_right
    print(f"\non the drawn images: {n_right} right lines, {n_wrong} misreadings")
    print(f"{'rule':55} {'right kept':>12} {'misread kept':>14} {'precision':>10}")
    summary = {}
    for name, rule in RULES.items():
        kept_right = sum(ok and rule(line) for line, ok, _ in drawn_rows)
        kept_wrong = sum((not ok) and rule(line) for line, ok, _ in drawn_rows)
        precision = kept_right / max(1, kept_right + kept_wrong)
        summary[name] = {"right_kept": kept_right, "misread_kept": kept_wrong, "precision": precision}
        print(f"{name:55} {kept_right:>5}/{n_right:<6} {kept_wrong:>6}/{n_wrong:<7} {precision:>10.3f}")
    print("\nmisreadings kept by the legible rule:")
    for line, ok, shown in drawn_rows:
        if not ok and legible(line):
            print(f"  {line.text!r} {line.score:.3f} (drawn: {shown})")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
