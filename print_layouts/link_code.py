"""The GS1 Digital Link code: a second, smaller QR holding the lot's Digital Link URI (https://host/01/gtin/10/lot)
for retail and supply-chain scanners. The stamp's own QR stays the authenticity check; this one is the same on
every label of a run (it names the lot, not the stamp), so it is drawn once, in the label's fixed content.

It sits at the bottom of the text column, right-aligned beside the stamp's QR (centred under a stacked one),
above a hidden-code box if the label has one, with its own quiet zone inside the column: it takes room from the
text, never from the stamp's QR. A label with no room for it at MIN_MODULE_MM modules, or with too little text
room left above it, is refused (NoRoomForLinkCode) rather than printed with a code no scanner reads.
Coordinates are those of layout: points from the label's top-left corner, x to the right and y up (y <= 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import qrmatrix
from .layout import QUIET, QRPlace, is_stacked, text_column
from .pdf import PT_PER_MM
from .templates import Template, TemplateError

LEVEL = "M"  # a short URI printed flat on a label: M keeps the symbol small (version 3-4)
MIN_MODULE_MM = 0.25  # retail scanners' floor (GS1 General Specifications: 0.25 mm X-dimension for QR)
MAX_MODULE_MM = 0.33  # the second code stays clearly smaller than the stamp's QR, whose modules are >= 0.35 mm
STEP_MM = 0.005
TEXT_ROOM_MM = 12.0  # what stays above the code at least: the call to action, product name, stars, serial and host


class NoRoomForLinkCode(TemplateError):
    """A label too small for the Digital Link code beside its stamp QR (and its hidden-code box, if any)."""

    key = "run.dl_no_room"

    def __init__(self, template: Template) -> None:
        self.width_mm, self.height_mm = template.label_width_mm, template.label_height_mm
        super().__init__(f"labels of {self.width_mm:g} x {self.height_mm:g} mm have no room for a GS1 Digital Link "
                         f"code beside the stamp's QR (modules of at least {MIN_MODULE_MM} mm with a quiet zone and "
                         f"{TEXT_ROOM_MM:g} mm of text above it): choose a larger label stock or print without it",
                         width=self.width_mm, height=self.height_mm)


@dataclass(frozen=True)
class LinkCode:
    """The Digital Link QR on a label: its symbol's place (as a QRPlace) and the room it takes from the bottom of
    the text column, its quiet zone included."""

    place: QRPlace
    reserve: float

    @property
    def rect_mm(self) -> tuple[float, float, float, float]:
        """(x, y, width, height) of the symbol in mm from the label's top-left corner, y down (no quiet zone)."""
        side = self.place.module * self.place.size / PT_PER_MM
        return self.place.x / PT_PER_MM, -self.place.y / PT_PER_MM, side, side


def symbol(uri: str) -> qrmatrix.Symbol:
    """The Digital Link's QR symbol."""
    return qrmatrix.encode(uri, LEVEL)


def place_link_code(template: Template, qr: QRPlace, size: int, below: float = 0.0) -> LinkCode:
    """Where an n-module Digital Link symbol goes: the largest module (up to the stamp QR's and MAX_MODULE_MM) that
    keeps its quiet zone in the text column above the bottom `below` points (a hidden-code box) and leaves
    TEXT_ROOM_MM above it; NoRoomForLinkCode when even MIN_MODULE_MM does not fit."""
    left, right, top, bottom = text_column(template, qr)
    width_pt, height_pt = template.label_width_mm * PT_PER_MM, template.label_height_mm * PT_PER_MM
    module_mm = min(MAX_MODULE_MM, qr.module_mm * 0.95)
    while module_mm >= MIN_MODULE_MM - 1e-9:
        m = module_mm * PT_PER_MM
        quiet, side = QUIET * m, size * m
        # the quiet zone may use the label's own blank insets, never the paper outside the label
        low = max(bottom + below + (quiet if below else 0.0), -height_pt + quiet)
        high = min(right, width_pt - quiet)
        x = (left + right - side) / 2 if is_stacked(template) else high - side
        reserve = low + side + quiet - bottom
        if x - quiet >= left - 1e-6 and x + side <= high + 1e-6 and top - bottom - reserve >= TEXT_ROOM_MM * PT_PER_MM:
            return LinkCode(QRPlace(LEVEL, size, m, x, low + side), reserve)
        module_mm -= STEP_MM
    raise NoRoomForLinkCode(template)
