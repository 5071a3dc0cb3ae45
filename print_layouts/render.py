"""Stamps onto label stock as a print-ready PDF, streamed page by page."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from . import qrmatrix
from .artwork import place_artwork
from .hidden_box import (Box, NoRoomForBox, box_beside_qr, draw_box, draw_code, place_qr_beside_box,
                         plan_hidden_only)
from .layout import QUIET, WORDS, Plan, QRPlace, draw_serial, place_qr, plan_label, qr_sizes
from .link_code import NoRoomForLinkCode, place_link_code, symbol as link_symbol
from .pdf import PT_PER_MM, Font, PdfWriter, num, rounded_rect
from .templates import Calibration, Template, TemplateError

STYLES = ("Regular", "Semibold", "Bold")
_RUNS = re.compile("1+")


@dataclass(frozen=True)
class LabelStamp:
    """One label's content, already formatted by the caller."""

    qr_text: str  # the signed stamp URL, e.g. "HTTPS://TEM.OCOP.VN/S/2709..."
    serial_text: str  # human-readable serial with its check digit, e.g. "1 234 567-1"
    product_name: str
    producer_name: str
    stars: int  # 3..5
    lot: str | None
    production_date: date | None
    expiry_date: date | None
    host: str  # verification host printed on the label, e.g. "tem.ocop.vn"
    # A two-layer stamp's scratch-off code as printed, e.g. "1234 5678": the label gets a hidden-code box.
    # Never part of qr_text. (On a hidden-code-only sheet qr_text is not used and may be empty.)
    hidden_code: str | None = None
    # The producer's artwork (JPEG, PNG or WebP bytes), printed in a row under the text where the label has room:
    # the OCOP mark only when the caller has checked that the product's current recognition grants these stars.
    ocop_mark: bytes | None = None
    logo: bytes | None = None
    # The lot's GS1 Digital Link URI (https://host/01/gtin14/10/lot): printed as a second, smaller QR in the text
    # column (NoRoomForLinkCode on a label too small for it). Information for retail scanners, never authenticity.
    link_text: str | None = None


@dataclass(frozen=True)
class RenderStats:
    """What a render wrote."""

    count: int
    pages: int
    bytes: int


class _Output:
    """A binary stream for a Path or an open stream."""

    def __init__(self, out: BinaryIO | Path | str) -> None:
        self.owned = isinstance(out, (str, Path))
        self.stream: BinaryIO = open(out, "wb") if self.owned else out  # type: ignore[arg-type, assignment]

    def close(self, ok: bool) -> None:
        if self.owned:
            self.stream.close()
            if not ok:
                Path(self.stream.name).unlink(missing_ok=True)


def _check(template: Template, start: int, lang: str) -> None:
    if not isinstance(template, Template):
        raise TypeError("template must be a Template")
    if lang not in WORDS:
        raise ValueError(f"lang must be one of {', '.join(WORDS)}")
    if not isinstance(start, int) or isinstance(start, bool) or not 1 <= start <= template.per_page:
        raise ValueError(f"start must be between 1 and {template.per_page} (the labels on one page)")


def _page_transform(template: Template, calibration: Calibration) -> bytes:
    """The calibration as one cm operator: scale about the page's top-left corner, then offset (y down)."""
    if calibration.is_identity:
        return b""
    height = template.page_height_mm * PT_PER_MM
    sx, sy = calibration.scale_x, calibration.scale_y
    tx = calibration.offset_x_mm * PT_PER_MM
    ty = height * (1 - sy) - calibration.offset_y_mm * PT_PER_MM
    return b"%s 0 0 %s %s %s cm\n" % (num(sx), num(sy), num(tx), num(ty))


def _label_origin(template: Template, index: int) -> tuple[float, float]:
    """Top-left corner of label position `index` in PDF points (y up from the page bottom)."""
    x, y = template.cell_origin_mm(index)
    return x * PT_PER_MM, (template.page_height_mm - y) * PT_PER_MM


def _cut_marks(template: Template, index: int) -> bytes:
    """Thin grey label outlines for sheets; corner crop marks for rolls."""
    x, top = _label_origin(template, index)
    w, h = template.label_width_mm * PT_PER_MM, template.label_height_mm * PT_PER_MM
    if template.kind == "sheet":
        r = template.corner_radius_mm * PT_PER_MM
        return b"q 0.6 G 0.25 w " + rounded_rect(x, top - h, w, h, r) + b"S Q\n"
    tick = 2.5 * PT_PER_MM
    parts = []
    for cx, dx in ((x, 1), (x + w, -1)):
        for cy, dy in ((top, -1), (top - h, 1)):
            parts.append(b"%s %s m %s %s l %s %s m %s %s l" % (
                num(cx), num(cy), num(cx + dx * tick), num(cy), num(cx), num(cy), num(cx), num(cy + dy * tick)))
    return b"q 0.5 G 0.5 w " + b" ".join(parts) + b" S Q\n"


def qr_glyphs(symbol: qrmatrix.Symbol, place: QRPlace, font_name: bytes) -> bytes:
    """The QR drawn with the Type 3 QR font: one hex string of 8-module glyphs per row."""
    n = symbol.size
    chunks = (n + 7) // 8
    pad = chunks * 8 - n
    fmt = f"0{2 * chunks}x"
    rows = ">'<".join([format(row << pad, fmt) for row in symbol.rows]).encode()
    m = num(place.module)
    # The QR's glyph codes are not text: an ActualText of one space keeps text extraction clean.
    return (b"/Span <</ActualText ( )>> BDC BT /%s 1 Tf 1 TL %s 0 0 %s %s %s Tm <%s>' ET EMC\n"
            % (font_name, m, m, num(place.x), num(place.y), rows))


def qr_paths(symbol: qrmatrix.Symbol, place: QRPlace) -> bytes:
    """The QR as one filled path of rectangles (runs of dark modules, merged down identical rows)."""
    n = symbol.size
    open_runs: dict[tuple[int, int], list[int]] = {}
    done: list[tuple[int, int, int, int]] = []
    for y, row in enumerate(symbol.rows):
        seen = set()
        for match in _RUNS.finditer(format(row, f"0{n}b")):
            key = (match.start(), match.end() - match.start())
            seen.add(key)
            run = open_runs.get(key)
            if run is not None and run[0] + run[1] == y:
                run[1] += 1
            else:
                if run is not None:
                    done.append((key[0], run[0], key[1], run[1]))
                open_runs[key] = [y, 1]
    done += [(key[0], y, key[1], h) for key, (y, h) in open_runs.items()]
    m = num(place.module)
    ops = b" ".join(b"%d %d %d %d re" % rect for rect in sorted(done, key=lambda r: (r[1], r[0])))
    return b"q %s 0 0 -%s %s %s cm %s f Q\n" % (m, m, num(place.x), num(place.y), ops)


class _Renderer:
    """Per-document state: fonts, the QR geometry and the fitted text of each distinct label."""

    def __init__(self, writer: PdfWriter, template: Template, lang: str, qr_drawing: str,
                 hidden_only: bool = False) -> None:
        if qr_drawing not in ("glyphs", "paths"):
            raise ValueError("qr_drawing must be 'glyphs' or 'paths'")
        self.writer = writer
        self.template = template
        self.lang = lang
        self.hidden_only = hidden_only
        self.fonts = {style: writer.font(style) for style in STYLES}
        self.glyphs = qr_drawing == "glyphs"
        self.qr_font = writer.qr_font() if self.glyphs and not hidden_only else b""
        self._places: dict[tuple[int, int, bool], QRPlace] = {}
        self._plans: dict[tuple, tuple[Plan, Box | None, bytes]] = {}

    def place(self, text: str, boxed: bool = False) -> QRPlace:
        head, _, digits = text.rpartition("/")
        key = (len(head), len(digits) if digits.isdigit() else -len(text), boxed)
        found = self._places.get(key)
        if found is None:
            place = place_qr_beside_box if boxed else place_qr
            found = self._places[key] = place(self.template, qr_sizes(text))
        return found

    def _form(self, static: bytes) -> bytes:
        w, h = self.template.label_width_mm * PT_PER_MM, self.template.label_height_mm * PT_PER_MM
        return self.writer.form(static, (0, -h, w, 0))

    def plan(self, stamp: LabelStamp) -> tuple[Plan, Box | None, bytes]:
        """The label's plan, its hidden-code box if any, and the operator drawing its fixed text (a Form XObject
        shared by every label)."""
        boxed = stamp.hidden_code is not None
        qr = self.place(stamp.qr_text, boxed)
        key = (qr, stamp.product_name, stamp.producer_name, stamp.stars, stamp.lot, stamp.production_date,
               stamp.expiry_date, stamp.host, len(stamp.serial_text), boxed, stamp.ocop_mark, stamp.logo,
               stamp.link_text)
        found = self._plans.get(key)
        if found is None:
            if len(self._plans) > 256:
                self._plans.clear()
            box = box_beside_qr(self.template, self.fonts, qr, self.lang) if boxed else None
            below = box.reserve if box else 0.0
            link = None
            if stamp.link_text:
                code = link_symbol(stamp.link_text)
                link = place_link_code(self.template, qr, code.size, below)
                below += link.reserve
            pictures = [self.writer.image(data) for data in (stamp.ocop_mark, stamp.logo) if data]
            art = place_artwork(self.template, qr, pictures, below)
            plan = plan_label(
                self.template, self.fonts, qr, product=stamp.product_name, producer=stamp.producer_name,
                stars=stamp.stars, lot=stamp.lot, production_date=stamp.production_date,
                expiry_date=stamp.expiry_date, host=stamp.host, serial_sample=stamp.serial_text, lang=self.lang,
                reserve_bottom=below + (art.reserve if art else 0.0))
            static = plan.static + draw_box(box, self.fonts) if box else plan.static
            if art:
                static += art.ops
            if link:  # paths, not the QR font: the form is drawn with its own resources
                static += b"0 g\n" + qr_paths(code, link.place)
            found = self._plans[key] = (plan, box, self._form(static))
        return found

    def hidden_plan(self, stamp: LabelStamp) -> tuple[Plan, Box, bytes]:
        """The plan of a hidden-code-only label (no QR), its box and its fixed text's operator."""
        key = ("hidden-only", stamp.host, len(stamp.serial_text))
        found = self._plans.get(key)
        if found is None:
            plan, box = plan_hidden_only(self.template, self.fonts, host=stamp.host,
                                         serial_sample=stamp.serial_text, lang=self.lang)
            found = self._plans[key] = (plan, box, self._form(plan.static))
        return found  # type: ignore[return-value]

    def label(self, stamp: LabelStamp, index: int) -> bytes:
        x, y = _label_origin(self.template, index)
        move = b"q 1 0 0 1 %s %s cm\n" % (num(x), num(y))
        serial = self.fonts["Semibold"]
        if self.hidden_only:
            if stamp.hidden_code is None:
                raise ValueError(f"stamp {stamp.serial_text} has no hidden code to print")
            plan, box, static = self.hidden_plan(stamp)
            return b"".join((move, static, draw_serial(plan, serial, stamp.serial_text),
                             draw_code(box, self.fonts["Bold"], stamp.hidden_code), b"Q\n"))
        plan, box, static = self.plan(stamp)
        assert plan.qr is not None
        symbol = qrmatrix.encode(stamp.qr_text, plan.qr.level)
        if symbol.size != plan.qr.size:  # cannot happen for texts of one shape; guard against a silent misfit
            raise ValueError("QR size differs from the planned one")
        qr = qr_glyphs(symbol, plan.qr, self.qr_font) if self.glyphs else qr_paths(symbol, plan.qr)
        code = draw_code(box, self.fonts["Bold"], stamp.hidden_code) if box and stamp.hidden_code else b""
        return b"".join((move, static, qr, draw_serial(plan, serial, stamp.serial_text), code, b"Q\n"))


def render_pdf(stamps: Iterable[LabelStamp], template: Template, out: BinaryIO | Path, *,
               calibration: Calibration = Calibration(), start: int = 1, cut_lines: bool = False, lang: str = "vi",
               progress: Callable[[int], None] | None = None, title: str = "OCOP stamps",
               qr_drawing: str = "glyphs", hidden_only: bool = False) -> RenderStats:
    """Write the stamps onto the template's labels as a PDF, page by page; returns counts and size. A stamp
    with a hidden code gets a hidden-code box beside its QR (NoRoomForBox on a label too small for one); with
    hidden_only, each label has the serial and the boxed hidden code but no QR (scratch-label stock). A stamp
    with a link_text also gets the GS1 Digital Link QR (NoRoomForLinkCode on a label too small for it)."""
    _check(template, start, lang)
    if not isinstance(calibration, Calibration):
        raise TypeError("calibration must be a Calibration")
    target = _Output(out)
    ok = False
    try:
        writer = PdfWriter(target.stream, title=title, lang=lang)
        renderer = _Renderer(writer, template, lang, qr_drawing, hidden_only)
        width, height = template.page_width_mm * PT_PER_MM, template.page_height_mm * PT_PER_MM
        head = _page_transform(template, calibration)
        head = b"q " + head if head else b"q\n"
        per_page, count, slot = template.per_page, 0, start - 1
        parts: list[bytes] = [head]
        for stamp in stamps:
            parts.append(renderer.label(stamp, slot))
            if cut_lines:
                parts.append(_cut_marks(template, slot))
            count += 1
            slot += 1
            if slot == per_page:
                parts.append(b"Q\n")
                writer.add_page(width, height, b"".join(parts))
                parts, slot = [head], 0
                if progress is not None:
                    progress(count)
        if count == 0:
            raise ValueError("there are no stamps to print")
        if len(parts) > 1:
            parts.append(b"Q\n")
            writer.add_page(width, height, b"".join(parts))
            if progress is not None:
                progress(count)
        size = writer.close()
        ok = True
        return RenderStats(count=count, pages=writer.page_count, bytes=size)
    finally:
        target.close(ok)


def render_test_page(template: Template, out: BinaryIO | Path, *, calibration: Calibration = Calibration(),
                     lang: str = "vi") -> None:
    """An alignment page: label outlines, crosshairs, mm rulers on the page edges, template and calibration."""
    _check(template, 1, lang)
    words = WORDS[lang]
    target = _Output(out)
    ok = False
    try:
        writer = PdfWriter(target.stream, title=f"{words['test']}: {template.name}", lang=lang)
        regular, bold = writer.font("Regular"), writer.font("Bold")
        pw, ph = template.page_width_mm * PT_PER_MM, template.page_height_mm * PT_PER_MM
        parts = [b"q ", _page_transform(template, calibration) or b"\n"]
        edge = template.paper_margin_mm * PT_PER_MM
        # label outlines, centre crosshairs and position numbers
        parts.append(b"q 0.3 w 0 G ")
        for index in range(template.per_page):
            x, top = _label_origin(template, index)
            w, h = template.label_width_mm * PT_PER_MM, template.label_height_mm * PT_PER_MM
            parts.append(rounded_rect(x, top - h, w, h, template.corner_radius_mm * PT_PER_MM))
            cx, cy, arm = x + w / 2, top - h / 2, min(w, h) * 0.2
            parts.append(b"%s %s m %s %s l %s %s m %s %s l " % (
                num(cx - arm), num(cy), num(cx + arm), num(cy), num(cx), num(cy - arm), num(cx), num(cy + arm)))
        parts.append(b"S Q\n")
        small = 5.0 if template.kind == "sheet" else 4.5
        clear = 3.5 if edge else 0.0  # past the rulers' ticks
        inset_left, inset_top = (inset + clear for inset in template.insets_mm[:2])
        for index in range(template.per_page):
            x, top = _label_origin(template, index)
            parts.append(regular.show(str(index + 1), small, x + inset_left * PT_PER_MM,
                                      top - inset_top * PT_PER_MM - small))
        # the printer's unprintable margin: a light band, its inner edge a line; the rulers hang from that line
        # (ticks in the band would not print), numbered in mm from the paper's edge
        if edge:
            parts.append(b"q 0.9 g " + rounded_rect(0, 0, pw, ph, 0) + rounded_rect(edge, edge, pw - 2 * edge,
                                                                                    ph - 2 * edge, 0)
                         + b"f* 0 G 0.4 w " + rounded_rect(edge, edge, pw - 2 * edge, ph - 2 * edge, 0) + b"S Q\n")
            note = regular.clean(words["margin"].format(mm=f"{template.paper_margin_mm:g}"))
            parts.append(regular.show(note, 6.0, edge + 12 * PT_PER_MM, ph - edge - 10 * PT_PER_MM))
        tick = b"q 0.2 w 0 G "
        labels = []
        for mm in range(math.ceil(template.paper_margin_mm), int(template.page_width_mm - template.paper_margin_mm)
                        + 1):
            length = (3 if mm % 10 == 0 else 2 if mm % 5 == 0 else 1) * PT_PER_MM
            x = mm * PT_PER_MM
            tick += b"%s %s m %s %s l " % (num(x), num(ph - edge), num(x), num(ph - edge - length))
            if mm % 10 == 0 and 0 < mm < template.page_width_mm - 3 - template.paper_margin_mm:
                labels.append(regular.show(str(mm), 4.0, x + 0.5, ph - edge - 3 * PT_PER_MM - 3.5))
        for mm in range(math.ceil(template.paper_margin_mm), int(template.page_height_mm - template.paper_margin_mm)
                        + 1):
            length = (3 if mm % 10 == 0 else 2 if mm % 5 == 0 else 1) * PT_PER_MM
            y = ph - mm * PT_PER_MM
            tick += b"%s %s m %s %s l " % (num(edge), num(y), num(edge + length), num(y))
            if mm % 10 == 0 and 0 < mm < template.page_height_mm - 3 - template.paper_margin_mm:
                labels.append(regular.show(str(mm), 4.0, edge + 3.2 * PT_PER_MM, y - 3.5))
        parts += [tick, b"S Q\n", *labels]
        # what this page is, in the middle of the page
        c = calibration
        info = [
            (bold, f"{words['test']}: {template.name}"),
            (regular, template.title),
            (regular, f"{words['calibration']}: x {c.offset_x_mm:+.1f} mm, y {c.offset_y_mm:+.1f} mm, "
                      f"scale {c.scale_x:.3f} × {c.scale_y:.3f}"),
            (regular, words["hint"]),
        ]
        size = 9.0 if template.kind == "sheet" else 4.0
        fitted = []
        for font, text in info:
            text = font.clean(text)
            s = size
            while font.width(text, s) > pw * 0.8 and s > 3:
                s -= 0.25
            fitted.append((font, text, s))
        box_w = max(font.width(text, s) for font, text, s in fitted) + 2 * size
        box_h = sum(s * 1.5 for _, _, s in fitted) + size
        y = ph / 2 + box_h / 2
        parts.append(b"q 1 g 0 G 0.3 w " + rounded_rect((pw - box_w) / 2, y - box_h, box_w, box_h, size / 2)
                     + b"B Q\n")
        y -= size * 0.5
        for font, text, s in fitted:
            y -= s * 1.5
            parts.append(font.show(text, s, (pw - font.width(text, s)) / 2, y + s * 0.35))
        parts.append(b"Q\n")
        writer.add_page(pw, ph, b"".join(parts))
        writer.close()
        ok = True
    finally:
        target.close(ok)


def preview_png(stamps: Iterable[LabelStamp], template: Template, *, calibration: Calibration = Calibration(),
                start: int = 1, dpi: int = 100, lang: str = "vi", hidden_only: bool = False) -> bytes:
    """A PNG of the first page (its stamps rendered to PDF in memory, rasterised with pypdfium2)."""
    _check(template, start, lang)
    if not 10 <= dpi <= 600:
        raise ValueError("dpi must be between 10 and 600")
    import pypdfium2

    buffer = io.BytesIO()
    render_pdf(islice(stamps, template.per_page - start + 1), template, buffer, calibration=calibration,
               start=start, cut_lines=True, lang=lang, hidden_only=hidden_only)
    document = pypdfium2.PdfDocument(buffer.getvalue())
    try:
        image = document[0].render(scale=dpi / 72).to_pil()
        png = io.BytesIO()
        image.save(png, "PNG", optimize=False)
        return png.getvalue()
    finally:
        document.close()


def describe(template: Template, sample_text: str, link_sample: str | None = None) -> dict[str, object]:
    """The QR level and module size this template gives a stamp text, whether a hidden-code box fits beside it,
    and (given a Digital Link sample) whether the GS1 Digital Link code fits (for listings and docs)."""
    place = place_qr(template, qr_sizes(sample_text))
    try:
        box_beside_qr(template, _measuring_fonts(), place_qr_beside_box(template, qr_sizes(sample_text)), "vi")
        boxed = True
    except NoRoomForBox:
        boxed = False
    found: dict[str, object] = {
        "level": place.level, "modules": place.size, "module_mm": round(place.module_mm, 3),
        "qr_mm": round(place.module_mm * (place.size + 2 * QUIET), 1), "hidden_box": boxed}
    if link_sample is not None:
        try:
            place_link_code(template, place, link_symbol(link_sample).size)
            found["digital_link"] = True
        except NoRoomForLinkCode:
            found["digital_link"] = False
    return found


def _measuring_fonts() -> dict[str, Font]:
    """The label fonts, for measuring outside a document."""
    writer = PdfWriter(io.BytesIO())
    return {style: writer.font(style) for style in STYLES}


def hidden_box_rect(template: Template, stamp: LabelStamp, *, hidden_only: bool = False,
                    lang: str = "vi") -> tuple[float, float, float, float]:
    """Where the hidden-code box of this stamp's label goes, as (x, y, width, height) mm from the label's top-left
    corner (y down): exactly where render_pdf draws it. NoRoomForBox if the label has no room for one."""
    _check(template, 1, lang)
    fonts = _measuring_fonts()
    if hidden_only:
        return plan_hidden_only(template, fonts, host=stamp.host, serial_sample=stamp.serial_text,
                                lang=lang)[1].rect_mm
    return box_beside_qr(template, fonts, place_qr_beside_box(template, qr_sizes(stamp.qr_text)), lang).rect_mm


def link_code_rect(template: Template, stamp: LabelStamp, *, lang: str = "vi") -> tuple[float, float, float, float]:
    """Where the Digital Link QR of this stamp's label goes, as (x, y, width, height) mm from the label's top-left
    corner (y down, quiet zone excluded): exactly where render_pdf draws it, above the hidden-code box of a
    two-layer stamp. NoRoomForLinkCode (or NoRoomForBox) if the label has no room for it."""
    _check(template, 1, lang)
    if not stamp.link_text:
        raise ValueError("the stamp has no Digital Link to print")
    sizes = qr_sizes(stamp.qr_text)
    if stamp.hidden_code is not None:
        qr = place_qr_beside_box(template, sizes)
        below = box_beside_qr(template, _measuring_fonts(), qr, lang).reserve
    else:
        qr, below = place_qr(template, sizes), 0.0
    return place_link_code(template, qr, link_symbol(stamp.link_text).size, below).rect_mm


__all__ = ["LabelStamp", "RenderStats", "render_pdf", "render_test_page", "preview_png", "describe", "TemplateError",
           "NoRoomForBox", "NoRoomForLinkCode", "hidden_box_rect", "link_code_rect"]
