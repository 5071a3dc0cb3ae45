"""A small PDF writer that streams: each page is compressed and written as soon as it is finished.

reportlab's canvas keeps every page in memory until ``save()``; a 100,000-stamp run would hold gigabytes.
Here only byte offsets (8 bytes per object) are kept. Fonts go out at the end: Source Sans Pro, subset
and embedded as TrueType with reportlab's font machinery (``TTFontFace.makeSubset``), and a Type 3 "QR
font" whose 256 glyphs are the vector paths of every run of eight modules (one filled path per glyph),
so a QR row is one short string. That keeps a QR at ~0.5 KB in the file instead of ~2.5 KB of
rectangle operators, with the same vector shapes on paper.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from reportlab.pdfbase.ttfonts import TTFontFace

PT_PER_MM = 72 / 25.4
PAGES_PER_NODE = 256  # pages per intermediate /Pages node (keeps every /Kids array short)
IMAGE_MAX_PIXELS = 4096 * 4096  # a logo or mark bigger than this is no label artwork
BLEED = 0.05  # module fraction by which QR glyphs overlap their neighbours (see _write_qr_font)


def num(value: float) -> bytes:
    """A PDF number with at most 3 decimals and no trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return (text if text not in ("-0", "") else "0").encode()


def pdf_text(value: str) -> bytes:
    """A PDF text string (UTF-16BE with BOM when not ASCII), e.g. for /Title."""
    if value.isascii():
        return b"(" + value.encode().replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"
    return b"<feff" + value.encode("utf-16-be").hex().encode() + b">"


def rounded_rect(x: float, y: float, w: float, h: float, r: float) -> bytes:
    """Path of a rectangle with rounded corners; (x, y) is the bottom-left corner."""
    if r <= 0:
        return b"%s %s %s %s re " % (num(x), num(y), num(w), num(h))
    k = 0.5523 * r
    p = [b"%s %s m" % (num(x + r), num(y)), b"%s %s l" % (num(x + w - r), num(y)),
         b"%s %s %s %s %s %s c" % (num(x + w - r + k), num(y), num(x + w), num(y + r - k), num(x + w), num(y + r)),
         b"%s %s l" % (num(x + w), num(y + h - r)),
         b"%s %s %s %s %s %s c" % (num(x + w), num(y + h - r + k), num(x + w - r + k), num(y + h), num(x + w - r),
                                   num(y + h)),
         b"%s %s l" % (num(x + r), num(y + h)),
         b"%s %s %s %s %s %s c" % (num(x + r - k), num(y + h), num(x), num(y + h - r + k), num(x), num(y + h - r)),
         b"%s %s l" % (num(x), num(y + r)),
         b"%s %s %s %s %s %s c h " % (num(x), num(y + r - k), num(x + r - k), num(y), num(x + r), num(y))]
    return b" ".join(p)


_SUBSET_LOCK = threading.Lock()  # a TTFontFace reads through a shared file position: one subset at a time


@lru_cache(maxsize=None)
def _face(path: str) -> TTFontFace:
    return TTFontFace(path)


def font_path(style: str) -> Path:
    """The Source Sans Pro file of a style ("Regular", "Semibold", "Bold") from the font-source-sans-pro package."""
    import font_source_sans_pro

    return Path(font_source_sans_pro.font_directory) / f"SourceSansPro-{style}.ttf"


class Font:
    """One TrueType face as used in one document: measures text and encodes it into 256-character subsets."""

    def __init__(self, writer: "PdfWriter", key: str, path: Path) -> None:
        self.writer = writer
        self.key = key
        self.face = _face(str(path))
        self.widths = self.face.charWidths
        self.default_width = self.face.defaultWidth
        self.ascent = self.face.ascent / 1000
        self.cap_height = self.face.capHeight / 1000
        self.descent = self.face.descent / 1000
        self._assign: dict[str, tuple[int, int]] = {}
        self.subsets: list[list[int]] = []
        self.names: list[bytes] = []
        self._encoded: dict[str, list[tuple[bytes, bytes]]] = {}

    def clean(self, text: str) -> str:
        """The text in NFC with characters the font lacks replaced by '?'."""
        text = unicodedata.normalize("NFC", text).replace("\u00a0", " ")
        glyphs = self.face.charToGlyph
        return "".join(c if ord(c) in glyphs else "?" for c in text if c >= " ")

    def width(self, text: str, size: float) -> float:
        """Width in points of (clean) text at this size."""
        widths, default = self.widths, self.default_width
        return sum(widths.get(ord(c), default) for c in text) * size / 1000

    def _code(self, char: str) -> tuple[int, int]:
        found = self._assign.get(char)
        if found is None:
            if not self.subsets or len(self.subsets[-1]) >= 256:
                self.subsets.append([0] if self.subsets else [0] * 32 + list(range(32, 127)))
                self.names.append(self.writer.font_resource_name())
                if len(self.subsets) == 1:
                    for i in range(32, 127):
                        self._assign[chr(i)] = (0, i)
                    found = self._assign.get(char)
            if found is None:
                subset = self.subsets[-1]
                found = (len(self.subsets) - 1, len(subset))
                subset.append(ord(char))
                self._assign[char] = found
        return found

    def encode(self, text: str) -> list[tuple[bytes, bytes]]:
        """(resource name, hex string operand) runs for clean text; cached."""
        runs = self._encoded.get(text)
        if runs is None:
            runs = []
            for char in text:
                subset, code = self._code(char)
                name = self.names[subset]
                if runs and runs[-1][0] == name:
                    runs[-1] = (name, runs[-1][1] + b"%02x" % code)
                else:
                    runs.append((name, b"%02x" % code))
            runs = [(name, b"<" + hexcodes + b">") for name, hexcodes in runs]
            if len(self._encoded) < 4096:
                self._encoded[text] = runs
        return runs

    def show(self, text: str, size: float, x: float, y: float) -> bytes:
        """Content-stream operators drawing clean text with its baseline start at (x, y) points."""
        parts = [b"BT ", num(x), b" ", num(y), b" Td"]
        for name, operand in self.encode(text):
            parts += [b" /", name, b" ", num(size), b" Tf ", operand, b" Tj"]
        parts.append(b" ET\n")
        return b"".join(parts)


@dataclass
class _Counter:
    out: BinaryIO
    written: int = 0

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.written += len(data)


@dataclass
class PdfWriter:
    """Writes a PDF to a binary stream page by page; call close() once at the end."""

    out: BinaryIO
    title: str = ""
    lang: str = "vi"
    compress_level: int = 6
    _sink: _Counter = field(init=False)
    _offsets: array = field(init=False)
    _pages: array = field(init=False)
    _nodes: list[int] = field(init=False)
    _fonts: dict[str, Font] = field(init=False)
    _qr_font: int | None = field(init=False)
    _font_names: int = field(init=False)
    _forms: list[tuple[bytes, int]] = field(init=False)
    _images: dict[bytes, tuple[bytes, int, int]] = field(init=False)

    def __post_init__(self) -> None:
        self._sink = _Counter(self.out)
        self._offsets = array("q", [0, 0, 0])  # object 0 (free), 1 = catalog, 2 = resources; filled as written
        self._pages = array("q")
        self._nodes = []
        self._fonts = {}
        self._qr_font = None
        self._font_names = 0
        self._forms = []
        self._images = {}
        self._sink.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    # -- objects ---------------------------------------------------------------

    def reserve(self) -> int:
        """A new object number, to be written later."""
        self._offsets.append(0)
        return len(self._offsets) - 1

    def write_object(self, number: int, body: bytes) -> None:
        """Write object `number` now."""
        self._offsets[number] = self._sink.written
        self._sink.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    def write_stream(self, number: int, data: bytes, extra: bytes = b"", compress: bool = True) -> None:
        """Write a stream object, deflated unless told otherwise."""
        if compress:
            data = zlib.compress(data, self.compress_level)
            extra += b" /Filter /FlateDecode"
        self.write_object(number, b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream")

    @property
    def bytes_written(self) -> int:
        """Bytes written so far."""
        return self._sink.written

    # -- fonts -----------------------------------------------------------------

    def font_resource_name(self) -> bytes:
        """A fresh /Font resource name."""
        self._font_names += 1
        return b"F%d" % self._font_names

    def font(self, style: str) -> Font:
        """The document's Source Sans Pro font of this style."""
        found = self._fonts.get(style)
        if found is None:
            found = self._fonts[style] = Font(self, style, font_path(style))
        return found

    def qr_font(self) -> bytes:
        """The resource name of the Type 3 QR font (glyph g = eight modules, bit 7 leftmost, one module high)."""
        if self._qr_font is None:
            self._qr_font = self.reserve()
        return b"QR"

    def image(self, data: bytes) -> tuple[bytes, int, int]:
        """Write an image (JPEG, PNG, WebP bytes) once as an Image XObject; returns its resource name and its
        size in pixels. JPEGs in grey or RGB go in as they are; anything else is flattened onto white (labels
        are white) and re-encoded as JPEG. ValueError when the bytes are no image."""
        key = hashlib.sha256(data).digest()
        found = self._images.get(key)
        if found is not None:
            return found
        jpeg, width, height, space = _jpeg(data)
        number = self.reserve()
        name = b"I%d" % (len(self._images) + 1)
        self.write_stream(number, jpeg, b" /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /%s"
                          b" /BitsPerComponent 8 /Filter /DCTDecode" % (width, height, space), compress=False)
        self._forms.append((name, number))
        found = self._images[key] = (name, width, height)
        return found

    def form(self, content: bytes, bbox: tuple[float, float, float, float]) -> bytes:
        """Write a Form XObject now (content shared by many labels); returns the operator that draws it."""
        number = self.reserve()
        name = b"L%d" % (len(self._forms) + 1)
        self.write_stream(number, content, b" /Type /XObject /Subtype /Form /BBox [%s] /Resources 2 0 R"
                          % b" ".join(num(v) for v in bbox))
        self._forms.append((name, number))
        return b"/%s Do\n" % name

    # -- pages -----------------------------------------------------------------

    def add_page(self, width_pt: float, height_pt: float, content: bytes) -> None:
        """Compress and write one page now."""
        if len(self._pages) % PAGES_PER_NODE == 0:
            self._nodes.append(self.reserve())
        stream_number = self.reserve()
        page_number = self.reserve()
        self.write_stream(stream_number, content)
        self.write_object(page_number, b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources 2 0 R "
                          b"/Contents %d 0 R >>" % (self._nodes[-1], num(width_pt), num(height_pt), stream_number))
        self._pages.append(page_number)

    @property
    def page_count(self) -> int:
        """Pages written so far."""
        return len(self._pages)

    def close(self) -> int:
        """Write fonts, page tree, catalog and cross-reference table; returns the file size."""
        font_refs = []
        for font in self._fonts.values():
            font_refs += self._write_font(font)
        if self._qr_font is not None:
            self._write_qr_font(self._qr_font)
            font_refs.append((b"QR", self._qr_font))
        fonts = b" ".join(b"/%s %d 0 R" % ref for ref in font_refs)
        forms = b" ".join(b"/%s %d 0 R" % ref for ref in self._forms)
        self.write_object(2, b"<< /Font << %s >> /XObject << %s >> /ProcSet [/PDF /Text] >>" % (fonts, forms))
        root = self.reserve()
        for i, node in enumerate(self._nodes):
            kids = self._pages[i * PAGES_PER_NODE:(i + 1) * PAGES_PER_NODE]
            self.write_object(node, b"<< /Type /Pages /Parent %d 0 R /Kids [%s] /Count %d >>" % (
                root, b" ".join(b"%d 0 R" % k for k in kids), len(kids)))
        self.write_object(root, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
            b" ".join(b"%d 0 R" % n for n in self._nodes), len(self._pages)))
        self.write_object(1, b"<< /Type /Catalog /Pages %d 0 R /Lang %s /ViewerPreferences << /PrintScaling /None "
                          b"/DisplayDocTitle true >> >>" % (root, pdf_text(self.lang)))
        info = self.reserve()
        stamp = datetime.now(timezone.utc).strftime("D:%Y%m%d%H%M%SZ").encode()
        self.write_object(info, b"<< /Title %s /Producer (ocop-stamp print_layouts) /CreationDate (%s) >>" % (
            pdf_text(self.title), stamp))
        xref = self._sink.written
        self._sink.write(b"xref\n0 %d\n0000000000 65535 f \n" % len(self._offsets))
        for start in range(1, len(self._offsets), 4096):  # in slices: a long roll run has 300,000 objects
            self._sink.write(b"".join(b"%010d 00000 n \n" % o for o in self._offsets[start:start + 4096]))
        self._sink.write(b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(self._offsets), info, xref))
        return self._sink.written

    def _write_font(self, font: Font) -> list[tuple[bytes, int]]:
        face = font.face
        refs = []
        for index, subset in enumerate(font.subsets):
            digest = zlib.crc32(repr((font.key, subset)).encode())
            tag = "".join(chr(65 + (digest >> (5 * i)) % 26) for i in range(6))  # deterministic subset tag
            base = f"{tag}+".encode() + face.name
            with _SUBSET_LOCK:
                program = face.makeSubset(subset)
            file_number, descriptor, cmap, number = self.reserve(), self.reserve(), self.reserve(), self.reserve()
            self.write_stream(file_number, program, b" /Length1 %d" % len(program))
            flags = (face.flags & ~32) | 4  # symbolic: codes are subset indices, not a standard encoding
            self.write_object(descriptor, b"<< /Type /FontDescriptor /FontName /%s /Flags %d /FontBBox [%s] "
                              b"/ItalicAngle %s /Ascent %d /Descent %d /CapHeight %d /StemV %d /MissingWidth %d "
                              b"/FontFile2 %d 0 R >>" % (
                                  base, flags, b" ".join(num(v) for v in face.bbox), num(face.italicAngle),
                                  face.ascent, face.descent, face.capHeight, face.stemV, face.defaultWidth,
                                  file_number))
            self.write_stream(cmap, _to_unicode(base, subset))
            widths = b" ".join(b"%d" % face.getCharWidth(code) for code in subset)
            self.write_object(number, b"<< /Type /Font /Subtype /TrueType /BaseFont /%s /FirstChar 0 /LastChar %d "
                              b"/Widths [%s] /FontDescriptor %d 0 R /ToUnicode %d 0 R >>" % (
                                  base, len(subset) - 1, widths, descriptor, cmap))
            refs.append((font.names[index], number))
        return refs

    def _write_qr_font(self, number: int) -> None:
        # Each glyph reaches BLEED of a module into the row below and, where its last run touches the
        # glyph's right edge, into the next glyph: abutting fills then leave no hairline seams in
        # anti-aliasing viewers. d0 glyphs are drawn as paths (not cached as pixel-snapped bitmaps).
        procs = []
        for glyph in range(256):
            runs, col = [], 0
            while col < 8:
                if glyph >> (7 - col) & 1:
                    start = col
                    while col < 8 and glyph >> (7 - col) & 1:
                        col += 1
                    width = num(col - start + (BLEED if col == 8 else 0))
                    runs.append(b"%d -%s %s %s re" % (start, num(BLEED), width, num(1 + BLEED)))
                else:
                    col += 1
            proc = self.reserve()
            self.write_stream(proc, b"8 0 d0\n" + (b" ".join(runs) + b" f" if runs else b""))
            procs.append(proc)
        charprocs = self.reserve()
        self.write_object(charprocs, b"<< " + b" ".join(b"/g%d %d 0 R" % (g, p) for g, p in enumerate(procs)) + b" >>")
        names = b" ".join(b"/g%d" % g for g in range(256))
        # Every glyph reads as a space, for viewers that ignore the QR's ActualText (older PDFium, Chrome's too):
        # copying a label's text must not bring the modules' codes along.
        cmap = self.reserve()
        self.write_stream(cmap, _to_unicode(b"QR", [0x20] * 256))
        self.write_object(number, b"<< /Type /Font /Subtype /Type3 /Name /QR /FontBBox [0 -1 9 2] "
                          b"/FontMatrix [1 0 0 1 0 0] /CharProcs %d 0 R /Encoding << /Type /Encoding /Differences "
                          b"[0 %s] >> /FirstChar 0 /LastChar 255 /Widths [%s] /Resources << >> /ToUnicode %d 0 R >>" % (
                              charprocs, names, b" ".join([b"8"] * 256), cmap))


def _jpeg(data: bytes) -> tuple[bytes, int, int, bytes]:
    """The image as baseline JPEG bytes, its size and its PDF colour space (see PdfWriter.image)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "WEBP"]) as img:
            if img.width * img.height > IMAGE_MAX_PIXELS:
                raise ValueError("the image is too large for a label")
            if img.format == "JPEG" and img.mode in ("L", "RGB") and not img.info.get("progressive"):
                return data, img.width, img.height, b"DeviceGray" if img.mode == "L" else b"DeviceRGB"
            img.load()
            rgba = img.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"not an image: {exc}") from None
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    flat.save(out, "JPEG", quality=92)
    return out.getvalue(), flat.width, flat.height, b"DeviceRGB"


def _to_unicode(name: bytes, subset: Iterable[int]) -> bytes:
    pairs = [(i, c) for i, c in enumerate(subset) if c]
    lines = [b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
             b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
             b"/CMapName /%s-UCS def /CMapType 2 def" % name.replace(b"+", b"-"),
             b"1 begincodespacerange <00> <ff> endcodespacerange"]
    for start in range(0, len(pairs), 100):
        chunk = pairs[start:start + 100]
        lines.append(b"%d beginbfchar" % len(chunk))
        lines += [b"<%02x> <%s>" % (i, chr(c).encode("utf-16-be").hex().encode()) for i, c in chunk]
        lines.append(b"endbfchar")
    lines.append(b"endcmap CMapName currentdict /CMap defineresource pop end end")
    return b"\n".join(lines)
