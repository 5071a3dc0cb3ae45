"""The hidden-code box of two-layer stamps: where it goes on a label, and the operators that draw it.

A two-layer stamp carries, besides its QR, an 8-digit code that the producer covers with a scratch-off foil
sticker. The box is the sticker's target: a bordered rectangle with the code centred in it, and under it the call
to action. Its place depends only on the template and the QR's size, never on the product's text (it sits at the
bottom of the text column), so a sticker goes on the same spot of every label of a stock, by hand or applicator.
The box takes room from the label's text, never from the QR: a label whose QR would have to drop below
EC_UP_MODULE_MM modules to make room is refused (NoRoomForBox), and its codes go on a separate sheet of
hidden-code-only labels (plan_hidden_only).
Coordinates are those of layout: points from the label's top-left corner, x to the right and y up (y <= 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from .layout import (EC_UP_MODULE_MM, LEADING, MIN_TEXT_PT, WORDS, Line, Plan, QRPlace, _wrap, is_stacked,
                     place_qr, text_column)
from .pdf import PT_PER_MM, Font, num, rounded_rect
from .templates import Template, TemplateError

BOX_MIN_MM = (20.0, 7.0)  # width, height: a common 18 x 6 mm scratch-off sticker with 1 mm to spare around it
BOX_MAX_MM = (32.0, 9.0)  # bigger foil only costs more; the code does not get easier to read
BOX_ASPECT = 0.3  # height / width, within those limits
GAP_MM = 0.8  # between the box and the text above it, and between the box and its call to action
BORDER_PT = 0.8  # clearly visible, and still visible around a sticker placed a little off-centre
RADIUS_MM = 0.8
CODE_MAX_PT = 12.0
CODE_SHARE = 0.7  # the code spans at most this share of the box's width: the foil needs a margin around it
CTA_MAX_PT = 6.0
CTA_ROOM_MM = 4.5  # two call-to-action lines at 5 pt, with their leading
TEXT_ROOM_MM = 4.5  # what stays above the box at least: the serial and the host line at the smallest type
SERIAL_MAX_PT = 9.0
SAMPLE_CODE = "0000 0000"  # the widest a code gets: Source Sans digits share one width


class NoRoomForBox(TemplateError):
    """A label too small for a hidden-code box (beside its QR): its codes go on a separate hidden-code sheet."""

    def __init__(self, template: Template, beside_qr: bool = True) -> None:
        self.width_mm, self.height_mm = template.label_width_mm, template.label_height_mm
        self.key = "run.hidden_box_no_room" if beside_qr else "run.hidden_box_too_small"
        where = " beside the QR code" if beside_qr else ""
        advice = (": print the QR codes without the box and the hidden codes on a separate hidden-code sheet"
                  if beside_qr else "")
        super().__init__(f"labels of {self.width_mm:g} x {self.height_mm:g} mm have no room for a hidden-code box "
                         f"({BOX_MIN_MM[0]:g} x {BOX_MIN_MM[1]:g} mm){where}{advice}",
                         width=self.width_mm, height=self.height_mm)


@dataclass(frozen=True)
class Box:
    """A hidden-code box on a label: its rectangle, the code's type size and the call to action under it."""

    x: float
    y: float  # top edge (<= 0)
    width: float
    height: float
    code_size: float
    cta: tuple[Line, ...]
    cta_top: float  # top of the first call-to-action line
    centered: bool  # the call to action centred under the box (else left-aligned with it)
    reserve: float  # what the box takes from the bottom of the text column, the gap above it included

    @property
    def rect_mm(self) -> tuple[float, float, float, float]:
        """(x, y, width, height) in mm from the label's top-left corner, y down: where the foil goes."""
        return self.x / PT_PER_MM, -self.y / PT_PER_MM, self.width / PT_PER_MM, self.height / PT_PER_MM


def _size(room: float) -> tuple[float, float]:
    """The box's width and height (points) for this much width."""
    width = min(room, BOX_MAX_MM[0] * PT_PER_MM)
    height = min(max(width * BOX_ASPECT, BOX_MIN_MM[1] * PT_PER_MM), BOX_MAX_MM[1] * PT_PER_MM)
    return width, height


def _cta(font: Font, lang: str, width: float) -> tuple[Line, ...]:
    """The call to action at the largest size that fits the box's width in two lines."""
    text = font.clean(WORDS[lang]["scratch"])
    size = CTA_MAX_PT
    while True:
        lines = _wrap(font, text, size, width, 2)
        if lines or size <= MIN_TEXT_PT:
            break
        size = max(MIN_TEXT_PT, size - 0.25)
    return tuple(Line("Regular", size, line) for line in lines or _wrap(font, text, size, width, 3) or [text])


def _height(lines: tuple[Line, ...]) -> float:
    return sum(line.size * LEADING for line in lines)


def _code_size(font: Font, width: float, height: float) -> float:
    return min(CODE_MAX_PT, CODE_SHARE * width / font.width(SAMPLE_CODE, 1.0), 0.45 * height / font.cap_height)


def place_qr_beside_box(template: Template, sizes: dict[str, int]) -> QRPlace:
    """The QR of a label that also carries a hidden-code box; NoRoomForBox when the QR would get too small."""
    place_qr(template, sizes)  # a label too small for any stamp QR says so first
    room = BOX_MIN_MM[0] if not is_stacked(template) else BOX_MIN_MM[1] + 2 * GAP_MM + CTA_ROOM_MM + TEXT_ROOM_MM
    try:
        return place_qr(template, sizes, room_mm=room, min_module_mm=EC_UP_MODULE_MM)
    except TemplateError:
        raise NoRoomForBox(template) from None


def box_beside_qr(template: Template, fonts: dict[str, Font], qr: QRPlace, lang: str) -> Box:
    """The box at the bottom of the text column (left-aligned beside the QR, centred under a stacked one)."""
    left, right, top, bottom = text_column(template, qr)
    room = right - left
    if room < BOX_MIN_MM[0] * PT_PER_MM - 1e-6:
        raise NoRoomForBox(template)
    width, height = _size(room)
    centered = is_stacked(template)
    x = left + (room - width) / 2 if centered else left
    cta = _cta(fonts["Regular"], lang, width)
    cta_top = bottom + _height(cta)
    y = cta_top + GAP_MM * PT_PER_MM + height
    reserve = y - bottom + GAP_MM * PT_PER_MM
    if top - bottom - reserve < TEXT_ROOM_MM * PT_PER_MM:
        raise NoRoomForBox(template)
    return Box(x, y, width, height, _code_size(fonts["Bold"], width, height), cta, cta_top, centered, reserve)


def draw_box(box: Box, fonts: dict[str, Font]) -> bytes:
    """The box's border and its call to action: the same on every label of a run."""
    half = BORDER_PT / 2  # the stroke runs inside the box's rectangle, so no ink leaves the text column
    out = [b"q 0 G %s w " % num(BORDER_PT)
           + rounded_rect(box.x + half, box.y - box.height + half, box.width - BORDER_PT, box.height - BORDER_PT,
                          RADIUS_MM * PT_PER_MM - half) + b"S Q\n"]
    y = box.cta_top
    for line in box.cta:
        font = fonts[line.style]
        x = box.x + (box.width - font.width(line.text, line.size)) / 2 if box.centered else box.x
        out.append(font.show(line.text, line.size, x, y - line.size * 0.93))
        y -= line.size * LEADING
    return b"".join(out)


def draw_code(box: Box, font: Font, code: str) -> bytes:
    """One stamp's hidden code, centred in its box (code as printed: "1234 5678")."""
    text = font.clean(code)
    size = box.code_size
    x = box.x + (box.width - font.width(text, size)) / 2
    return font.show(text, size, x, box.y - box.height / 2 - font.cap_height * size / 2)


def plan_hidden_only(template: Template, fonts: dict[str, Font], *, host: str, serial_sample: str,
                     lang: str) -> tuple[Plan, Box]:
    """A hidden-code-only label (scratch-label stock, no QR): the serial, the boxed code, the call to action and
    the verification host, centred; the plan's static operators draw all but the serial and the code."""
    inset_left, inset_top, inset_right, inset_bottom = (inset * PT_PER_MM for inset in template.insets_mm)
    left, right = inset_left, template.label_width_mm * PT_PER_MM - inset_right
    top, bottom = -inset_top, -template.label_height_mm * PT_PER_MM + inset_bottom
    room, tall = right - left, top - bottom
    if room < BOX_MIN_MM[0] * PT_PER_MM - 1e-6:
        raise NoRoomForBox(template, beside_qr=False)
    width, height = _size(room)
    serial_font, regular = fonts["Semibold"], fonts["Regular"]
    serial = serial_font.clean(serial_sample)
    serial_size = min(SERIAL_MAX_PT, max(MIN_TEXT_PT, room / max(serial_font.width(serial, 1.0), 1e-6)))
    cta = _cta(regular, lang, width)
    host_line = [Line("Regular", cta[0].size, regular.clean(WORDS[lang]["verify"].format(host=host)))]
    if regular.width(host_line[0].text, host_line[0].size) > room:
        host_line = [Line("Regular", cta[0].size, regular.clean(host))]
    gap = GAP_MM * PT_PER_MM

    def needed() -> float:
        return serial_size * LEADING + gap + height + gap + _height(cta) + _height(tuple(host_line))

    # Too tall: a lower box (down to the minimum), then no host line, then a smaller serial.
    height = max(BOX_MIN_MM[1] * PT_PER_MM, height - max(0.0, needed() - tall))
    if needed() > tall:
        host_line = []
    if needed() > tall:
        serial_size = max(MIN_TEXT_PT, serial_size - (needed() - tall) / LEADING)
    if needed() > tall + 1e-6:
        raise NoRoomForBox(template, beside_qr=False)
    serial_top = top - (tall - needed()) / 2
    box_top = serial_top - serial_size * LEADING - gap
    cta_top = box_top - height - gap
    box = Box(left + (room - width) / 2, box_top, width, height, _code_size(fonts["Bold"], width, height), cta,
              cta_top, True, 0.0)
    static = [b"0 g\n", draw_box(box, fonts)]
    y = cta_top - _height(cta)
    for line in host_line:
        static.append(regular.show(line.text, line.size, left + (room - regular.width(line.text, line.size)) / 2,
                                   y - line.size * 0.93))
    plan = Plan(None, b"".join(static), left, serial_top, serial_size, 1, room, True, (*cta, *host_line))
    return plan, box
