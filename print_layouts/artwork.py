"""The producer's artwork on a label: the OCOP mark of its stars and its own logo, side by side in one row at the
bottom of the text column (above a hidden-code box, if any). The row takes room from the text, never from the QR;
a label whose text column is too small for it goes without (the stamp itself is what must print).
Coordinates are those of layout: points from the label's top-left corner, x to the right and y up (y <= 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from .layout import MIN_NAME_COLUMN_MM, QRPlace, is_stacked, text_column
from .pdf import PT_PER_MM, num
from .templates import Template

ROW_MM = (6.0, 10.0)  # the row's height: at least readable, at most what a mark needs
ROW_SHARE = 0.25  # of the text column's height
GAP_MM = 1.5  # between the pictures, and between the row and the text above it
TEXT_ROOM_MM = 9.0  # what stays above the row at least: the call to action, serial and host at small type


@dataclass(frozen=True)
class Artwork:
    """The row's drawing operators and the room it takes from the bottom of the text column."""

    ops: bytes
    reserve: float


def place_artwork(template: Template, qr: QRPlace, pictures: list[tuple[bytes, int, int]],
                  below: float = 0.0) -> Artwork | None:
    """The pictures (resource name, width and height in pixels), in order, scaled to one row above the bottom
    `below` points of the text column; None without pictures or room."""
    if not pictures:
        return None
    left, right, top, bottom = text_column(template, qr)
    bottom += below
    width, height = right - left, top - bottom
    gap = GAP_MM * PT_PER_MM
    if width < MIN_NAME_COLUMN_MM * PT_PER_MM:
        return None
    row = min(ROW_MM[1] * PT_PER_MM, max(ROW_MM[0] * PT_PER_MM, height * ROW_SHARE))
    if height - row - gap < TEXT_ROOM_MM * PT_PER_MM:
        return None
    cap = (width - gap * (len(pictures) - 1)) / len(pictures)
    sizes = []
    for _, px_w, px_h in pictures:
        w = min(row * px_w / px_h, cap)
        sizes.append((w, w * px_h / px_w))
    used = sum(w for w, _ in sizes) + gap * (len(sizes) - 1)
    x = left + (width - used) / 2 if is_stacked(template) else left
    ops = []
    for (name, _, _), (w, h) in zip(pictures, sizes):
        y = bottom + (row - h) / 2
        ops.append(b"q %s 0 0 %s %s %s cm /%s Do Q\n" % (num(w), num(h), num(x), num(y), name))
        x += w + gap
    return Artwork(b"".join(ops), row + gap)
