"""Where things go on one label: the QR's size and error-correction level, and the text lines that fit.

Everything here is computed once per template and distinct label text (a run's labels share product,
producer, lot and dates), so the per-stamp work is only the QR and the serial.
Coordinates are points with the origin at the label's top-left corner, x to the right and y up
(so everything on the label has y <= 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from . import qrmatrix
from .pdf import PT_PER_MM, Font, num
from .templates import Template, TemplateError

MIN_MODULE_MM = 0.25  # below this no level is used: the template is refused
EC_UP_MODULE_MM = 0.35  # a higher level (H, then Q) is used only while its modules stay at least this big
MAX_MODULE_MM = 0.5  # bigger QRs scan no better; the room goes to text
QUIET = 4  # modules of quiet zone, all inside the label
MIN_TEXT_PT = 4.5
MIN_NAME_COLUMN_MM = 11.0  # a narrower text column shows only stars, serial and host
LEADING = 1.18

WORDS = {
    "vi": {"stars": "{n} sao OCOP", "lot": "Lô: {lot}", "made": "NSX: {d}", "expires": "HSD: {d}",
           "verify": "Kiểm tra: {host}", "calibration": "Hiệu chỉnh", "test": "Trang căn chỉnh",
           "scratch": "Cào lớp bạc, nhập mã để xác thực", "scan": "Quét để xác thực",
           "margin": "Lề {mm} mm: hầu hết máy in văn phòng không in được ra ngoài đường này",
           "hint": "In ở tỉ lệ 100 % (kích thước thật). So khung với nhãn; "
                   "đo lệch bằng thước mm ở mép giấy."},
    "en": {"stars": "{n}-star OCOP", "lot": "Lot: {lot}", "made": "MFD: {d}", "expires": "EXP: {d}",
           "verify": "Verify: {host}", "calibration": "Calibration", "test": "Alignment test page",
           "scratch": "Scratch off the silver layer, enter the code to verify", "scan": "Scan to verify",
           "margin": "{mm} mm margin: most office printers cannot print outside this line",
           "hint": "Print at 100 % (actual size). Compare the outlines with the labels; measure any shift "
                   "with the mm rulers on the page edges."},
}


@dataclass(frozen=True)
class QRPlace:
    """The QR on a label: level, symbol size in modules, module size and the symbol's top-left corner."""

    level: str
    size: int
    module: float  # points
    x: float
    y: float  # top edge (<= 0)

    @property
    def module_mm(self) -> float:
        """The module size in millimetres."""
        return self.module / PT_PER_MM


def _max_module(template: Template, n: int, stacked: bool, room_mm: float = 0.0) -> float:
    """Largest module (mm) for an n-module symbol that keeps the quiet zone in the label, the symbol inside the
    label's insets and room for text (at least room_mm beside the QR, or under it on a stacked label)."""
    w, h = template.label_width_mm, template.label_height_mm
    left, top, right, bottom = template.insets_mm
    if stacked:
        inner_h = h - top - bottom
        return min((w - left - right) / n, w / (n + 2 * QUIET), (w - left) / (n + QUIET), (w - right) / (n + QUIET),
                   min(inner_h * 0.7, inner_h - room_mm) / (n + QUIET), (h - bottom) / (n + QUIET + 2),
                   MAX_MODULE_MM)
    text_min = max(0.3 * (w - left - right), room_mm)
    return min((h - top - bottom) / n, h / (n + 2 * QUIET), (h - top) / (n + QUIET), (h - bottom) / (n + QUIET),
               (w - left - right - text_min) / (n + QUIET), (w - right - text_min) / (n + 2 * QUIET), MAX_MODULE_MM)


def is_stacked(template: Template) -> bool:
    """Whether text goes under the QR (narrow labels) rather than beside it."""
    return template.label_width_mm < 1.25 * template.label_height_mm


def _centred(length: float, side: float, low: float, high: float) -> float:
    """Where a symbol of this side starts on an edge of this length: centred, but at least low from its start
    and high from its end."""
    return min(max((length - side) / 2, low), length - high - side)


def place_qr(template: Template, sizes: dict[str, int], *, room_mm: float = 0.0,
             min_module_mm: float = MIN_MODULE_MM) -> QRPlace:
    """The QR level and geometry for symbols of these sizes (modules per side, per level), keeping room_mm for
    the text beside (or under) it; TemplateError when its modules would be smaller than min_module_mm."""
    stacked = is_stacked(template)
    chosen = None
    for level in ("H", "Q", "M"):
        module = _max_module(template, sizes[level], stacked, room_mm)
        if module >= EC_UP_MODULE_MM or level == "M":
            chosen = level, module
            break
    level, module = chosen  # type: ignore[misc]
    if module < min_module_mm:
        raise TemplateError(f"labels of {template.label_width_mm:g} x {template.label_height_mm:g} mm are too small "
                            f"for a stamp QR: its modules would be {module:.2f} mm (at least {min_module_mm} mm)")
    n = sizes[level]
    side = module * n
    w, h = template.label_width_mm, template.label_height_mm
    left, top, right, bottom = (max(inset, QUIET * module) for inset in template.insets_mm)
    if stacked:
        x, y = _centred(w, side, left, right), top
    else:
        x, y = left, _centred(h, side, top, bottom)
    return QRPlace(level, n, module * PT_PER_MM, x * PT_PER_MM, -y * PT_PER_MM)


def qr_sizes(text: str) -> dict[str, int]:
    """Modules per side of this text's QR at each level."""
    segments = qrmatrix.segment(text)
    return {level: 17 + 4 * qrmatrix.version_for(segments, level) for level in ("M", "Q", "H")}


# ----------------------------------------------------------------------------- text


@dataclass(frozen=True)
class Line:
    """One line of text: style, size and its text (already fitted)."""

    style: str
    size: float
    text: str
    stars: int = 0  # star shapes drawn before the text


@dataclass
class _Item:
    key: str
    style: str
    rel: float
    text: str
    alt: str | None  # a shorter form tried when the text does not fit at the minimum size
    max_lines: int
    priority: int  # lower is more important; 1 and 2 are never dropped
    stars: int = 0
    ellipsis: bool = True


def _ddmmyyyy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _wrap(font: Font, text: str, size: float, width: float, max_lines: int) -> list[str] | None:
    """Word wrap (two lines balanced); None if it needs more lines or a word is wider than the width.
    Words are split at ASCII spaces only, so a no-break space holds a phrase together."""
    words = [w for w in text.split(" ") if w]
    lines: list[str] = []
    current = ""
    for word in words:
        trial = f"{current} {word}" if current else word
        if font.width(trial, size) <= width:
            current = trial
            continue
        if not current or font.width(word, size) > width:
            return None
        lines.append(current)
        current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        return None
    if len(lines) == 2:  # balance: the split whose longer line is shortest
        best = min(range(1, len(words)), key=lambda k: max(font.width(" ".join(words[:k]), size),
                                                           font.width(" ".join(words[k:]), size)))
        lines = [" ".join(words[:best]), " ".join(words[best:])]
    return lines


def _ellipsize(font: Font, text: str, size: float, width: float) -> str:
    if font.width(text, size) <= width:
        return text
    words = text
    while words and font.width(words.rstrip(" ,.-") + "…", size) > width:
        words = words[:-1]
    return words.rstrip(" ,.-") + "…" if words else ""


def _star_width(size: float, count: int) -> float:
    return count * size * 0.95 + (size * 0.3 if count else 0)


def _lines(item: _Item, size: float, texts: list[str]) -> list[Line]:
    return [Line(item.style, size, t.replace("\u00a0", " "), item.stars if i == 0 else 0) for i, t in enumerate(texts)]


def _fit(fonts: dict[str, Font], item: _Item, size: float, width: float, allow_cut: bool = True) -> list[Line] | None:
    """The item's lines at this size, shrunk down to a floor and then cut if needed; None if it cannot show."""
    font = fonts[item.style]
    floor = min(size, MIN_TEXT_PT if not item.ellipsis else max(MIN_TEXT_PT, size * 0.8))
    for text in (item.text, item.alt):
        if text is None:
            continue
        for max_lines in ((1, item.max_lines) if item.key == "serial" else (item.max_lines,)):
            s = size
            # a serial goes on two big lines rather than one tiny one
            low = min(size, max(MIN_TEXT_PT, size * 0.8)) if max_lines < item.max_lines else floor
            while True:
                room = width - _star_width(s, item.stars)
                if not text and item.stars and room >= 0:
                    return _lines(item, s, [""])
                lines = _wrap(font, text, s, room, max_lines) if room > 0 else None
                if lines:
                    return _lines(item, s, lines)
                if s <= low:
                    break
                s = max(low, s - 0.25)
    if not item.ellipsis or not allow_cut:
        return None
    s = floor
    room = width - _star_width(s, item.stars)
    if room <= font.width("M…", s):
        return None
    rest = [w for w in item.text.split(" ") if w]
    lines: list[str] = []
    while rest and len(lines) < item.max_lines - 1:
        current = rest.pop(0)
        while rest and font.width(f"{current} {rest[0]}", s) <= room:
            current += " " + rest.pop(0)
        if font.width(current, s) > room:
            rest.insert(0, current)
            break
        lines.append(current)
    if rest:
        lines.append(_ellipsize(font, " ".join(rest), s, room))
    return _lines(item, s, lines)


@dataclass(frozen=True)
class Plan:
    """A label's fixed content: QR place, the static text block, and where the serial goes."""

    qr: QRPlace | None  # None on a hidden-code-only label
    static: bytes  # content-stream operators for text and stars, label coordinates
    text_x: float  # left edge of the text column
    serial_top: float  # top of the serial's lines
    serial_size: float
    serial_lines: int
    serial_width: float  # the text column's width: the room the serial may take
    centered: bool
    lines: tuple[Line, ...]  # the static lines, for tests


def text_column(template: Template, qr: QRPlace) -> tuple[float, float, float, float]:
    """The label's room for text (left, right, top, bottom in points): beside the QR, or under it when stacked."""
    w_mm, h_mm = template.label_width_mm, template.label_height_mm
    left, top, right, bottom = (inset * PT_PER_MM for inset in template.insets_mm)
    side = qr.module * qr.size
    if is_stacked(template):
        return left, w_mm * PT_PER_MM - right, qr.y - side - QUIET * qr.module, -h_mm * PT_PER_MM + bottom
    return qr.x + side + QUIET * qr.module, w_mm * PT_PER_MM - right, -top, -h_mm * PT_PER_MM + bottom


def plan_label(template: Template, fonts: dict[str, Font], qr: QRPlace, *, product: str, producer: str, stars: int,
               lot: str | None, production_date: date | None, expiry_date: date | None, host: str,
               serial_sample: str, lang: str, reserve_bottom: float = 0.0) -> Plan:
    """Fit the label's text around the QR, above the bottom reserve_bottom points of the text column (kept for
    a hidden-code box)."""
    words = WORDS[lang]
    stacked = is_stacked(template)
    left, right, top, bottom = text_column(template, qr)
    bottom += reserve_bottom
    width, height = right - left, top - bottom
    clean = {style: font.clean for style, font in fonts.items()}
    dates = []
    if production_date:
        dates.append(words["made"].format(d=_ddmmyyyy(production_date)))
    if expiry_date:
        dates.append(words["expires"].format(d=_ddmmyyyy(expiry_date)))
    roomy = width >= MIN_NAME_COLUMN_MM * PT_PER_MM  # names, lot and dates only where they can be read
    # the call to action stays while anything but the serial and the host fits
    items = [_Item("scan", "Semibold", 0.9, clean["Semibold"](words["scan"]), None, 2, 2, ellipsis=False),
             _Item("stars", "Semibold", 0.9, clean["Semibold"](words["stars"].format(n=stars)), "", 1, 4,
                   stars=stars)]
    if roomy:
        items.insert(1, _Item("product", "Bold", 1.15, clean["Bold"](product), None, 2, 3))
        items.insert(2, _Item("producer", "Regular", 0.9, clean["Regular"](producer), None, 2, 5))
        if lot:
            items.append(_Item("lot", "Regular", 0.85, clean["Regular"](words["lot"].format(lot=lot)), None, 1, 6))
        if dates:  # each date phrase stays on one line
            phrases = [clean["Regular"](d).replace(" ", "\u00a0") for d in dates]
            items.append(_Item("dates", "Regular", 0.85, "   ".join(phrases), None, 2, 7, ellipsis=False))
    serial = _Item("serial", "Semibold", 1.1, clean["Semibold"](serial_sample), None, 2, 1, ellipsis=False)
    host_item = _Item("host", "Regular", 0.85, clean["Regular"](words["verify"].format(host=host)),
                      clean["Regular"](host), 1, 2, ellipsis=False)
    top_items = items
    max_base = min(11.0, max(6.0, height / PT_PER_MM * 0.42))

    def search(items: list[_Item], allow_cut: bool) -> tuple[float, dict[str, list[Line]]] | None:
        """The largest base size at which the items fit the column."""
        base = max_base
        while base >= 5.0 - 1e-9:
            fitted = {}
            for item in [*items, serial, host_item]:
                lines = _fit(fonts, item, base * item.rel, width, allow_cut)
                if lines is None:
                    break
                fitted[item.key] = lines
            else:
                used = sum(line.size * LEADING for lines in fitted.values() for line in lines)
                if used + (base * 0.5 if items else 0) <= height or base <= 5.0 + 1e-9 and not items:
                    return base, fitted
            base -= 0.25
        return None

    best = None
    while True:
        whole, cut = search(top_items, False), search(top_items, True)
        # Whole texts win unless they need much smaller type than cut ones.
        found = whole if whole and (not cut or whole[0] >= 0.8 * cut[0]) else cut
        if found is not None:
            best = found[1]
            break
        if not top_items:
            break
        top_items = [i for i in top_items if i.priority != max(t.priority for t in top_items)]
    if best is None:  # only the serial and the host, at the smallest size: draw them anyway
        best = {item.key: _fit(fonts, item, 5.0 * item.rel, width) or [] for item in (serial, host_item)}

    out: list[bytes] = [b"0 g\n"]
    placed: list[Line] = []

    def draw(line: Line, y_top: float) -> float:
        font = fonts[line.style]
        baseline = y_top - line.size * 0.93
        star_w = _star_width(line.size, line.stars)
        text_w = font.width(line.text, line.size) + star_w
        x = left + (width - text_w) / 2 if stacked else left
        if line.stars:
            out.append(_stars(x, baseline, line.size, line.stars))
        if line.text:
            out.append(font.show(line.text, line.size, x + star_w, baseline))
        placed.append(line)
        return y_top - line.size * LEADING

    # One block, vertically centred, with a gap (up to 1.2 lines) between the names and the serial.
    top_lines = [line for item in top_items for line in best.get(item.key, [])]
    serial_lines = best.get("serial", [])
    host_lines = best.get("host", [])
    used = sum(line.size * LEADING for line in [*top_lines, *serial_lines, *host_lines])
    base_size = serial_lines[0].size / 1.1 if serial_lines else 5.0
    gap = max(0.0, min(height - used, base_size * 1.2)) if top_lines else 0.0
    y = top - max(0.0, (height - used - gap) / 2)
    for line in top_lines:
        y = draw(line, y)
    y -= gap
    serial_size = serial_lines[0].size if serial_lines else 5.0
    serial_top = y
    y -= sum(line.size * LEADING for line in serial_lines)
    for line in host_lines:
        y = draw(line, y)
    return Plan(qr, b"".join(out), left, serial_top, serial_size, len(serial_lines) or 1, width, stacked,
                tuple(placed))


def draw_serial(plan: Plan, font: Font, serial_text: str) -> bytes:
    """The serial's operators for one stamp, in the room the plan keeps for it."""
    text = font.clean(serial_text)
    size = plan.serial_size
    lines = [text]
    if plan.serial_lines > 1 or font.width(text, size) > plan.serial_width:
        lines = _wrap(font, text, size, plan.serial_width, plan.serial_lines) or [text]
    out = []
    y = plan.serial_top
    for line in lines:
        s = size
        wide = font.width(line, s)
        if wide > plan.serial_width:
            s = max(MIN_TEXT_PT, s * plan.serial_width / wide)
            wide = font.width(line, s)
        x = plan.text_x + (plan.serial_width - wide) / 2 if plan.centered else plan.text_x
        out.append(font.show(line, s, x, y - size * 0.93))
        y -= size * LEADING
    return b"".join(out)


def _stars(x: float, baseline: float, size: float, count: int) -> bytes:
    """Filled five-pointed stars sitting on the baseline, as one path."""
    radius = size * 0.42
    inner = radius * 0.382
    cy = baseline + radius * 0.85
    parts = []
    for k in range(count):
        cx = x + radius + k * size * 0.95
        for i in range(10):
            angle = math.pi / 2 + i * math.pi / 5
            r = radius if i % 2 == 0 else inner
            point = num(cx + r * math.cos(angle)) + b" " + num(cy + r * math.sin(angle))
            parts.append(point + (b" m " if i == 0 else b" l "))
        parts.append(b"h ")
    return b"".join(parts) + b"f\n"
