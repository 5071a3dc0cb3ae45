"""A shelf photo's results for the inspector: most serious first, counted, and marked on the photo by number."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ..media import save_image
from ..verification.checker import Outcome
from ..verification.verdicts import VERDICTS
from .decode import FoundCode

# Most serious first: a forged or unknown signature is a counterfeit, a copy or a recall must leave the shelf,
# a certificate or activation problem is the producer's to fix, a QR that is no stamp may be the maker's own.
SEVERITY = ("invalid-signature", "unknown-key", "key-revoked", "suspected-copy", "recalled", "certificate-revoked",
            "certificate-expired", "not-activated", "malformed", "mistyped", "warning", "genuine")
assert sorted(SEVERITY) == sorted(VERDICTS), "every verdict needs a place in SEVERITY"
# Box colours by the verdict's tone (verdicts.TONE): the badges' green, amber and red.
TONE_COLOURS = {"ok": (27, 127, 59), "caution": (178, 106, 0), "bad": (192, 38, 45)}


@dataclass(frozen=True)
class ShelfResult:
    """One code of the photo: its number on the page and on the marked photo, its text, verdict and place."""

    number: int
    code: str
    outcome: Outcome
    place: FoundCode | None = None


def by_severity(found: list[tuple[str, Outcome, FoundCode | None]]) -> list[ShelfResult]:
    """The results numbered from the most serious verdict down (reading order within one verdict)."""
    rank = {name: i for i, name in enumerate(SEVERITY)}
    ordered = sorted(enumerate(found), key=lambda item: (rank[item[1][1].verdict.name], item[0]))
    return [ShelfResult(n, code, outcome, place) for n, (_, (code, outcome, place)) in enumerate(ordered, start=1)]


def summary(results: list[ShelfResult]) -> list[tuple[str, int]]:
    """(verdict, how many) for each verdict found, most serious first."""
    counts = Counter(r.outcome.verdict.name for r in results)
    return [(name, counts[name]) for name in SEVERITY if counts[name]]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The labels' bold face (Source Sans Pro, shipped with print_layouts) at this pixel size."""
    from print_layouts.pdf import font_path

    try:
        return ImageFont.truetype(str(font_path("Bold")), size)
    except OSError:  # the font package is a dependency; a broken install still gets readable numbers
        return ImageFont.load_default()


def mark_up(photo: Path, results: list[ShelfResult], folder: Path) -> str | None:
    """A copy of the stored photo with a numbered box, in its verdict's colour, around each code found; returns
    its stored name in folder (None when no result has a place)."""
    placed = [r for r in results if r.place is not None]
    if not placed:
        return None
    with Image.open(photo) as source:
        img = source.convert("RGB")
    draw = ImageDraw.Draw(img)
    side = max(img.size)  # the photo is shown as wide as the phone: marks scale with its long side
    line = max(3, side // 200)
    font = _font(max(16, side // 26))
    for result in placed:
        colour = TONE_COLOURS[result.outcome.verdict.tone]
        points = [(x * img.width, y * img.height) for x, y in result.place.corners]  # type: ignore[union-attr]
        cx, cy = sum(x for x, _ in points) / 4, sum(y for _, y in points) / 4
        # a little outside the symbol (into its quiet zone), so the line does not hide its edge modules
        points = [(cx + (x - cx) * 1.1, cy + (y - cy) * 1.1) for x, y in points]
        draw.polygon(points, outline=colour, width=line)
        label = str(result.number)
        left, top = min(x for x, _ in points), min(y for _, y in points)
        box = draw.textbbox((0, 0), label, font=font)
        pad = line * 2
        w, h = box[2] - box[0] + 2 * pad, box[3] - box[1] + 2 * pad
        x0 = min(max(0, left - line), img.width - w)  # the number's tag sits on the box's top-left corner
        y0 = min(max(0, top - h), img.height - h)
        draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
        draw.text((x0 + pad - box[0], y0 + pad - box[1]), label, fill=(255, 255, 255), font=font)
    return save_image(img, folder)
