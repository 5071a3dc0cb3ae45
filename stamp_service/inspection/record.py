"""An inspection visit exported as a record (biên bản kiểm tra): a CSV of its checks and a printable A4 PDF.

Vietnamese first, English on request. Times are stored in UTC and shown in Vietnam time (UTC+7, no daylight
saving). The PDF uses Source Sans Pro embedded as TrueType (Helvetica has no Vietnamese glyphs); verdict colours
always come with the verdict words and a distinct marker shape (circle / triangle / square), so a black-and-white
copy still reads right.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from PIL import Image as PILImage
from PIL import ImageOps
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm, mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (CondPageBreak, Flowable, Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer,
                                Table, TableStyle)

from ..i18n import catalogs, current_language, formats, gettext
from ..registry import places
from ..stamps.serials import format_serial
from ..verification.verdicts import TONE, VERDICTS

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets may read as a formula (OWASP CSV injection)
DASH = "—"

CSV_COLUMNS = ("col.time", "col.code", "col.serial", "col.verdict", "col.reasons", "col.note", "col.photo")

# Marker colours as in the verification page's banners (verify.css), amber a little lighter so it reads as amber.
TONE_COLOURS = {"ok": colors.HexColor("#0b6b3a"), "caution": colors.HexColor("#d08c00"),
                "bad": colors.HexColor("#b3261e")}
INK = colors.HexColor("#1d2a1f")
MUTED = colors.HexColor("#5b6b5e")
LINE = colors.HexColor("#c9d3ca")
HEAD_BG = colors.HexColor("#e8efe9")

FONT = "OcopRecord-Regular"
FONT_SEMIBOLD = "OcopRecord-Semibold"
FONT_BOLD = "OcopRecord-Bold"
MARGIN = 15 * mm  # text, tables, header and footer all start and end this far from the paper's edge
FRAME_PADDING = 6  # reportlab's default frame padding (pt), taken off the document margins
PHOTO_WIDTH, PHOTO_HEIGHT = 5.6 * cm, 4.5 * cm  # thumbnails are scaled to fit this box
PHOTO_PIXELS = 700  # enough for 6 cm at ~300 dpi; keeps the PDF small whatever the stored photo's size
PHOTOS_PER_ROW = 3
CELL_CHARS = 600  # longer notes or reasons are cut short in the table and printed in full after it

_fonts_lock = threading.Lock()
_fonts_ready = False


def _language(lang: str | None) -> str:
    """'vi' for Vietnamese, 'en' for anything else."""
    return "vi" if lang in (None, "vi") else "en"


def _t(key: str, lang: str, **params: Any) -> str:
    """The record's words for key, from the interface catalog (entries "record.*")."""
    return gettext(f"record.{key}", _language(lang), **params)


def format_time(value: str | None, lang: str = "vi") -> str:
    """A stored UTC timestamp in Vietnam time, the record's language's way (formats.datetime)."""
    return formats.datetime(value, _language(lang))


def verdict_words(name: str, lang: str = "vi") -> str:
    """The banner words of a verdict, e.g. 'Chính hãng'; the machine name itself if unknown."""
    return gettext(f"verdict.{name}", _language(lang)) if name in VERDICTS else str(name)


def _tone(name: str) -> str:
    """ok, caution or bad (an unknown verdict counts as bad)."""
    return TONE.get(name, "bad")


def _reason_list(reasons: Any) -> list[dict[str, Any]]:
    """The check's reasons as a list of {code, message} (accepts the stored JSON text too)."""
    if isinstance(reasons, str):
        try:
            reasons = json.loads(reasons or "[]")
        except ValueError:
            return [{"code": "", "message": reasons}]
    return [r if isinstance(r, Mapping) else {"code": "", "message": str(r)} for r in (reasons or [])]


def reason_text(item: Mapping[str, Any], lang: str | None = None) -> str:
    """A stored reason in lang (default: the current language): its stored English text, else (a check stored
    before both were kept) the catalog's when the reason has no values in it, else the Vietnamese as stored."""
    message = str(item.get("message") or item.get("code") or "")
    if (lang or current_language()) != "en":
        return message
    if item.get("message_en"):
        return str(item["message_en"])
    english = catalogs.text(f"reason.{item.get('code')}", "en")
    return english if isinstance(english, str) and "{" not in english else message


def reason_texts(reasons: Any, lang: str = "vi") -> list[str]:
    """The reasons' messages in the record's language (reason_text)."""
    return [reason_text(item, _language(lang)) for item in _reason_list(reasons)]


def _serial_text(serial: Any) -> str:
    """The serial in its printed form, or '' when the check had none."""
    if serial in (None, ""):
        return ""
    try:
        return format_serial(int(serial))
    except (TypeError, ValueError):
        return str(serial)


def _safe_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula: a leading apostrophe before = + - @."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def visit_csv(visit: dict, checks: list[dict], inspector: dict, *, lang: str = "vi") -> bytes:
    """The visit's checks as CSV (UTF-8 with BOM for Excel), one row per check."""
    lang = _language(lang)
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([_t(column, lang) for column in CSV_COLUMNS])
    for check in checks:
        writer.writerow([_safe_cell(cell) for cell in (
            format_time(check.get("at"), lang),
            check.get("code") or "",
            _serial_text(check.get("serial")),
            verdict_words(str(check.get("verdict") or ""), lang),
            "; ".join(reason_texts(check.get("reasons"), lang)),
            check.get("note") or "",
            check.get("photo") or "",
        )])
    return out.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------- PDF


def register_fonts() -> None:
    """Register Source Sans Pro Regular, Semibold and Bold with reportlab (once per process)."""
    global _fonts_ready
    if _fonts_ready:
        return
    with _fonts_lock:
        if _fonts_ready:
            return
        import font_source_sans_pro

        folder = Path(font_source_sans_pro.font_directory)
        for name, style in ((FONT, "Regular"), (FONT_SEMIBOLD, "Semibold"), (FONT_BOLD, "Bold")):
            pdfmetrics.registerFont(TTFont(name, str(folder / f"SourceSansPro-{style}.ttf")))
        # <b> and <i> in paragraphs stay in the family (never a fallback to Helvetica).
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
        _fonts_ready = True


def _clean(value: Any) -> str:
    """Text for the PDF: NFC (precomposed Vietnamese), no control characters."""
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return "".join(c for c in text if c == "\n" or c >= " ")


def _markup(value: Any) -> str:
    """Paragraph markup for plain text: escaped, line breaks kept."""
    return escape(_clean(value)).replace("\n", "<br/>")


def _styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles of the record (all Source Sans Pro)."""
    base = ParagraphStyle("base", fontName=FONT, fontSize=9.5, leading=12.5, textColor=INK)
    return {
        "title": ParagraphStyle("title", base, fontName=FONT_BOLD, fontSize=15, leading=19, alignment=1,
                                spaceAfter=2),
        "subtitle": ParagraphStyle("subtitle", base, fontSize=10.5, leading=14, alignment=1, textColor=MUTED),
        "h2": ParagraphStyle("h2", base, fontName=FONT_BOLD, fontSize=11.5, leading=15, spaceBefore=10,
                             spaceAfter=4),
        "body": base,
        "label": ParagraphStyle("label", base, fontName=FONT_SEMIBOLD, textColor=MUTED),
        "small": ParagraphStyle("small", base, fontSize=8.5, leading=11, textColor=MUTED),
        "cell": ParagraphStyle("cell", base, fontSize=8.5, leading=10.5),
        "cell_head": ParagraphStyle("cell_head", base, fontName=FONT_SEMIBOLD, fontSize=8.5, leading=10.5),
        "caption": ParagraphStyle("caption", base, fontSize=8, leading=10, textColor=MUTED, alignment=1),
        "sign": ParagraphStyle("sign", base, fontName=FONT_BOLD, alignment=1),
        "sign_note": ParagraphStyle("sign_note", base, fontSize=8.5, leading=11, textColor=MUTED, alignment=1),
    }


class Marker(Flowable):
    """A verdict's colour marker; the shape differs per tone too: circle ok, triangle caution, square bad."""

    def __init__(self, tone: str, size: float = 7.5) -> None:
        super().__init__()
        self.tone = tone
        self.size = size
        self.width = self.height = size

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        """Its fixed size."""
        return self.size, self.size

    def draw(self) -> None:
        """Draw the shape with its lower left corner at the origin."""
        canv, s = self.canv, self.size
        canv.saveState()
        canv.setFillColor(TONE_COLOURS.get(self.tone, TONE_COLOURS["bad"]))
        canv.setStrokeColor(TONE_COLOURS.get(self.tone, TONE_COLOURS["bad"]))
        if self.tone == "ok":
            canv.circle(s / 2, s / 2, s / 2, stroke=0, fill=1)
        elif self.tone == "caution":
            path = canv.beginPath()
            path.moveTo(0, 0)
            path.lineTo(s, 0)
            path.lineTo(s / 2, s)
            path.close()
            canv.drawPath(path, stroke=0, fill=1)
        else:
            canv.rect(0.5, 0.5, s - 1, s - 1, stroke=0, fill=1)
        canv.restoreState()


class Marked(Flowable):
    """A marker beside a paragraph, centred on the paragraph's first line."""

    GAP = 4.0

    def __init__(self, tone: str, paragraph: Paragraph) -> None:
        super().__init__()
        self.marker = Marker(tone)
        self.paragraph = paragraph
        self._para_height = 0.0

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        """The paragraph's size, indented by the marker."""
        indent = self.marker.size + self.GAP
        _, self._para_height = self.paragraph.wrap(max(availWidth - indent, 10), availHeight)
        self.width, self.height = availWidth, max(self._para_height, self.marker.size)
        return self.width, self.height

    def draw(self) -> None:
        """Marker, then paragraph."""
        style = self.paragraph.style
        first_line_middle = self.height - style.leading / 2 - (style.leading - style.fontSize) / 4
        self.marker.drawOn(self.canv, 0, first_line_middle - self.marker.size / 2)
        self.paragraph.drawOn(self.canv, self.marker.size + self.GAP, self.height - self._para_height)


def _numbered_canvas(decorate: Callable[[Canvas, int, int], None]) -> type[Canvas]:
    """A canvas class that holds pages back until the end so every page can say 'Trang X/Y'."""

    class NumberedCanvas(Canvas):
        """Pages are decorated once the page count is known."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            """Keep the page for later."""
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            """Decorate and emit every page, then the file."""
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                decorate(self, number, total)
                super().showPage()
            super().save()

    return NumberedCanvas


def _province_text(code: Any, lang: str) -> str:
    """The province's full name (in English followed by its English name), the code if unknown."""
    if not code:
        return ""
    province = places.province(str(code))
    if province is None:
        return str(code)
    return province.full_name if lang == "vi" else f"{province.full_name} ({province.name_en})"


def _inspector_text(inspector: Mapping[str, Any]) -> str:
    """Name and e-mail, e.g. 'Nguyễn Văn An <an@example.vn>'."""
    name, email = _clean(inspector.get("name") or "").strip(), _clean(inspector.get("email") or "").strip()
    if name and email:
        return f"{name} <{email}>"
    return name or email


def _facts_table(visit: Mapping[str, Any], inspector: Mapping[str, Any], lang: str,
                 st: dict[str, ParagraphStyle], width: float) -> Table:
    """Shop, address, province, inspector and times as a two-column table."""
    closed = format_time(visit.get("closed_at"), lang) if visit.get("closed_at") else _t("still_open", lang)
    rows = [
        ("shop", visit.get("shop")),
        ("address", visit.get("address")),
        ("province", _province_text(visit.get("province_code"), lang)),
        ("inspector", _inspector_text(inspector)),
        ("started", format_time(visit.get("started_at"), lang)),
        ("closed", closed),
    ]
    data = [[Paragraph(_markup(_t(key, lang)), st["label"]), Paragraph(_markup(value or DASH), st["body"])]
            for key, value in rows]
    table = Table(data, colWidths=[38 * mm, width - 38 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 9.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    return table


def _stamp_key(check: Mapping[str, Any]) -> tuple[str, str]:
    """What identifies the stamp a check was about: its serial, else (a code that is no stamp) the code read."""
    serial = check.get("serial")
    return ("serial", str(serial)) if serial not in (None, "") else ("code", str(check.get("code") or ""))


def stamp_verdicts(checks: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """Each stamp checked during the visit, once, with the verdict of its last check (a shelf photo and a typed
    serial of the same stamp are one stamp)."""
    verdicts: dict[tuple[str, str], str] = {}
    for check in checks:  # in check order: a later check of the same stamp replaces the earlier verdict
        verdicts[_stamp_key(check)] = str(check.get("verdict") or "")
    return verdicts


def _summary_table(checks: Sequence[Mapping[str, Any]], lang: str, st: dict[str, ParagraphStyle]) -> Table | None:
    """How many stamps got each verdict (green, amber, then red ones), or None without checks."""
    counts = Counter(stamp_verdicts(checks).values())
    if not counts:
        return None
    rank = {"ok": 0, "caution": 1, "bad": 2}
    order = sorted(counts, key=lambda v: (rank[_tone(v)], VERDICTS.index(v) if v in VERDICTS else len(VERDICTS), v))
    data: list[list[Any]] = [[Paragraph(_markup(_t("col.verdict", lang)), st["cell_head"]),
                              Paragraph(_markup(_t("count", lang)), ParagraphStyle("nh", st["cell_head"], alignment=2))]]
    for name in order:
        data.append([Marked(_tone(name), Paragraph(_markup(verdict_words(name, lang)), st["cell"])),
                     Paragraph(str(counts[name]), ParagraphStyle("n", st["cell"], alignment=2))])
    table = Table(data, colWidths=[95 * mm, 22 * mm], hAlign="LEFT", repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, LINE),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _cell_text(text: str, number: int, lang: str) -> tuple[str, bool]:
    """Markup for a table cell, cut short (with a pointer to the full text) when too long; and whether it was."""
    text = _clean(text)
    if len(text) <= CELL_CHARS:
        return _markup(text), False
    cut = text[:CELL_CHARS].rsplit(" ", 1)[0] if " " in text[CELL_CHARS // 2:CELL_CHARS] else text[:CELL_CHARS]
    return _markup(cut + "…") + "<br/>" + _markup(_t("see_below", lang, no=number)), True


def _checks_table(checks: Sequence[Mapping[str, Any]], lang: str, st: dict[str, ParagraphStyle],
                  width: float) -> tuple[Table, list[Flowable]]:
    """One row per check (header repeated on every page), and the full text of cells cut short to fit a page."""
    # No row may be taller than a page: reportlab's in-row splitting repeats the header mid-page, so cells are cut.
    columns = ("col.no", "col.time", "col.serial", "col.verdict", "col.reasons", "col.note")
    fixed = [8 * mm, 24 * mm, 23 * mm, 40 * mm, 47 * mm]
    widths = fixed + [width - sum(fixed)]
    data: list[list[Any]] = [[Paragraph(_markup(_t(c, lang)), st["cell_head"]) for c in columns]]
    in_full: list[Flowable] = []
    for number, check in enumerate(checks, start=1):
        name = str(check.get("verdict") or "")
        reasons = "\n".join(reason_texts(check.get("reasons"), lang))
        note = str(check.get("note") or "")
        reasons_cell, reasons_cut = _cell_text(reasons, number, lang)
        note_cell, note_cut = _cell_text(note, number, lang)
        for cut, key, text in ((reasons_cut, "col.reasons", reasons), (note_cut, "col.note", note)):
            if cut:
                in_full.append(Paragraph(f"<b>{number} · {_markup(_t(key, lang))}:</b> {_markup(text)}", st["body"]))
                in_full.append(Spacer(1, 4))
        data.append([
            Paragraph(str(number), st["cell"]),
            Paragraph(_markup(format_time(check.get("at"), lang)), st["cell"]),
            Paragraph(_markup(_serial_text(check.get("serial")) or DASH), st["cell"]),
            Marked(_tone(name), Paragraph(_markup(verdict_words(name, lang) or DASH), st["cell"])),
            Paragraph(reasons_cell or DASH, st["cell"]),
            Paragraph(note_cell, st["cell"]),
        ])
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ("LINEABOVE", (0, 0), (-1, 0), 0.8, INK),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.4, LINE),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
    ]
    table.setStyle(TableStyle(style))
    return table, in_full


def _photo_file(photos_dir: Path, name: Any) -> Path | None:
    """The photo's file inside photos_dir, or None (missing, or a name that is not a plain file name)."""
    if not name or not isinstance(name, str) or Path(name).name != name or name in (".", ".."):
        return None
    path = photos_dir / name
    return path if path.is_file() else None


def _thumbnail(path: Path) -> Image | None:
    """The photo upright, re-encoded small, scaled to fit the thumbnail box; None if it cannot be read."""
    try:
        with PILImage.open(path) as img:
            img = ImageOps.exif_transpose(img).convert("RGB")
            img.thumbnail((PHOTO_PIXELS, PHOTO_PIXELS))
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=80)
            px_w, px_h = img.size
    except (OSError, ValueError, PILImage.DecompressionBombError):
        return None
    scale = min(PHOTO_WIDTH / px_w, PHOTO_HEIGHT / px_h)
    buf.seek(0)
    return Image(buf, width=px_w * scale, height=px_h * scale)


def _photos_table(checks: Sequence[Mapping[str, Any]], photos_dir: Path, lang: str,
                  st: dict[str, ParagraphStyle], width: float) -> Table | None:
    """Thumbnails of the checks' photos, each photo once (a shelf photo holds several stamps), three to a row,
    captioned with the numbers of the checks it shows; None if none."""
    shown: dict[str, list[int]] = {}  # photo name -> check numbers, in order of first appearance
    for number, check in enumerate(checks, start=1):
        if check.get("photo"):
            shown.setdefault(str(check["photo"]), []).append(number)
    taken = {str(c.get("photo")): c.get("at") for c in reversed(checks) if c.get("photo")}  # first check's time
    cells: list[list[Any]] = []
    for name, numbers in shown.items():
        path = _photo_file(photos_dir, name)
        image = _thumbnail(path) if path else None
        if image is None:
            continue
        if len(numbers) == 1:
            serial = _serial_text(checks[numbers[0] - 1].get("serial"))
            label = " · ".join(p for p in (f"#{numbers[0]}", serial) if p)
        else:
            label = ", ".join(f"#{n}" for n in numbers)
        caption = " · ".join(p for p in (label, format_time(taken.get(name), lang)) if p)
        cells.append([image, Spacer(1, 2), Paragraph(_markup(caption), st["caption"])])
    if not cells:
        return None
    rows = [cells[i:i + PHOTOS_PER_ROW] for i in range(0, len(cells), PHOTOS_PER_ROW)]
    rows[-1] += [""] * (PHOTOS_PER_ROW - len(rows[-1]))
    table = Table(rows, colWidths=[width / PHOTOS_PER_ROW] * PHOTOS_PER_ROW, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
    ]))
    return table


def _signatures(inspector: Mapping[str, Any], lang: str, st: dict[str, ParagraphStyle], width: float) -> Table:
    """Signature blocks: the shop's representative and the inspector."""
    name = _clean(inspector.get("name") or "")
    data = [
        [Paragraph(_markup(_t("for_shop", lang)), st["sign"]), Paragraph(_markup(_t("for_inspector", lang)), st["sign"])],
        [Paragraph(_markup(_t("sign_here", lang)), st["sign_note"]),
         Paragraph(_markup(_t("sign_here", lang)), st["sign_note"])],
        ["", ""],
        ["", Paragraph(_markup(name), st["sign"])],
    ]
    table = Table(data, colWidths=[width / 2] * 2, rowHeights=[None, None, 18 * mm, None])
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 9.5), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _trace_tables(trace: Sequence[Mapping[str, Any]], lang: str, st: dict[str, ParagraphStyle],
                  width: float) -> list[Flowable]:
    """Each checked batch's traceability record: every stage, corrections and who entered each (TT 02/2024)."""
    story: list[Flowable] = []
    columns = ("col.time", "col.stage", "col.place", "col.stage_note", "col.entered_by")
    fixed = [24 * mm, 24 * mm, 38 * mm]
    widths = fixed + [width - sum(fixed) - 32 * mm, 32 * mm]
    for batch in trace:
        story += [CondPageBreak(30 * mm), Paragraph(_markup(_t("trace_title", lang, product=batch["product"],
                                                                 lot=batch["lot"])), st["h2"])]
        data: list[list[Any]] = [[Paragraph(_markup(_t(c, lang)), st["cell_head"]) for c in columns]]
        for e in batch["stages"]:
            lines = [e["description"]] if e["description"] else []
            lines += [gettext("stage.input_line", lang, material=i["material"], supplier=i.get("supplier") or DASH,
                              lot=i.get("lot") or DASH) for i in e["inputs"]]
            if e["ship_to"]:
                lines.append(gettext("stage.ship_line", lang, distributor=e["ship_to"]["distributor"],
                                     quantity=e["ship_to"].get("quantity") or DASH))
            if e["corrects"]:
                lines.append(gettext("stage.corrects", lang, id=e["corrects"], reason=e["reason"] or ""))
            if e["corrected_by"]:
                lines.append(gettext("stage.corrected_by", lang, id=e["corrected_by"]))
            text = _markup("\n".join(lines))  # at most 500 characters and 20 inputs: never taller than a page
            data.append([Paragraph(_markup(format_time(e["event_time"], lang)), st["cell"]),
                         Paragraph(_markup(f"#{e['id']} " + gettext(f"stage.{e['stage']}", lang)), st["cell"]),
                         Paragraph(_markup(e["place"]), st["cell"]), Paragraph(text or DASH, st["cell"]),
                         Paragraph(_markup(e.get("author") or DASH), st["cell"])])
        table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), FONT, 8.5), ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG), ("LINEBELOW", (0, 0), (-1, -1), 0.4, LINE),
            ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]))
        story.append(table)
    return story


def visit_pdf(visit: dict, checks: list[dict], inspector: dict, out: BinaryIO, *, lang: str = "vi",
              photos_dir: Path | None = None, trace: Sequence[Mapping[str, Any]] = ()) -> None:
    """Write the visit's record (biên bản kiểm tra) as an A4 PDF to out."""
    register_fonts()
    lang = _language(lang)
    st = _styles()
    width = A4[0] - 2 * MARGIN
    shop = _clean(visit.get("shop") or "")
    title = _t("title", lang)

    story: list[Flowable] = [Paragraph(_markup(title), st["title"])]
    if visit.get("id") is not None:
        story.append(Paragraph(_markup(_t("visit_no", lang, id=visit["id"])), st["subtitle"]))
    story += [Spacer(1, 6), Paragraph(_markup(_t("facts", lang)), st["h2"]),
              _facts_table(visit, inspector, lang, st, width)]
    if visit.get("notes"):
        story += [Spacer(1, 4), Paragraph(_markup(_t("notes", lang)), st["label"]),
                  Paragraph(_markup(visit["notes"]), st["body"])]
    story += [Spacer(1, 3), Paragraph(_markup(_t("vietnam_time", lang)), st["small"])]

    stamps = len(stamp_verdicts(checks))
    checked = _t("checked", lang, count=stamps)
    if len(checks) > stamps:  # some stamp was checked more than once: say so, count it once
        checked += " " + _t("checked_times", lang, count=len(checks))
    story += [Paragraph(_markup(_t("summary", lang)), st["h2"]),
              Paragraph(_markup(checked), st["body"]), Spacer(1, 4)]
    summary = _summary_table(checks, lang, st)
    if summary is not None:
        story.append(summary)

    story += [CondPageBreak(40 * mm), Paragraph(_markup(_t("checks", lang)), st["h2"])]
    if checks:
        table, in_full = _checks_table(checks, lang, st, width)
        story.append(table)
        if in_full:
            story += [Paragraph(_markup(_t("in_full", lang)), st["h2"]), *in_full]
    else:
        story.append(Paragraph(_markup(_t("no_checks", lang)), st["body"]))
    if photos_dir is not None:
        photos = _photos_table(checks, Path(photos_dir), lang, st, width)
        if photos is not None:
            story += [CondPageBreak(PHOTO_HEIGHT + 20 * mm), Paragraph(_markup(_t("photos", lang)), st["h2"]), photos]
    story += _trace_tables(trace, lang, st, width)
    story += [Spacer(1, 10 * mm), KeepTogether([_signatures(inspector, lang, st, width)])]

    footer_left = _t("footer", lang, shop=shop)

    def decorate(canv: Canvas, page: int, pages: int) -> None:
        """Footer (record, shop, 'Trang X/Y') on every page; the title as a running header after the first."""
        canv.saveState()
        canv.setStrokeColor(LINE)
        canv.setLineWidth(0.5)
        canv.line(MARGIN, 12 * mm, A4[0] - MARGIN, 12 * mm)
        canv.setFillColor(MUTED)
        canv.setFont(FONT, 8)
        page_text = _t("page", lang, page=page, pages=pages)
        right = A4[0] - MARGIN
        room = right - MARGIN - pdfmetrics.stringWidth(page_text, FONT, 8) - 6 * mm
        left = footer_left
        while left and pdfmetrics.stringWidth(left, FONT, 8) > room:
            left = left[:-2] + "…"
        canv.drawString(MARGIN, 8 * mm, left)
        canv.drawRightString(right, 8 * mm, page_text)
        if page > 1:
            canv.drawString(MARGIN, A4[1] - 9 * mm, title)
        canv.restoreState()

    doc = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=MARGIN - FRAME_PADDING, rightMargin=MARGIN - FRAME_PADDING,
        topMargin=MARGIN - FRAME_PADDING, bottomMargin=18 * mm - FRAME_PADDING,
        title=f"{title} · {shop}" if shop else title, author=_clean(inspector.get("name") or ""),
        subject=_t("visit_no", lang, id=visit.get("id", "")), creator="ocop-stamp", lang=lang,
        initialFontName=FONT, invariant=1,
    )
    doc.build(story, canvasmaker=_numbered_canvas(decorate))
