"""Helpers for the print tests: real signed stamps, and reading a PDF back as a scanner would."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import pypdfium2
import zxingcpp
from PIL import Image, ImageFilter

from print_layouts import LabelStamp, Template
from stamp_service.keystore import KeyStore
from stamp_service.stamps.claims import StampClaims
from stamp_service.stamps.serials import format_serial
from stamp_service.stamps.signing import sign_stamp

PRODUCT = "Trà hoa vàng Ba Chẽ"
PRODUCER = "Hợp tác xã Trà hoa vàng Ba Chẽ"
HOST = "tem.ocop.vn"
MM_PER_PT = 25.4 / 72


class Signer:
    """Signs stamps with a throw-away key store, like issuing does."""

    def __init__(self, directory) -> None:
        self.store = KeyStore(directory, "print-test passphrase", scrypt_n=2**10)
        self.store.generate()
        self.info, self.key = self.store.signing_key()
        self.issued_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def text(self, serial: int) -> str:
        claims = StampClaims(issuer="VN-QN", issued_at=self.issued_at, product_id=12, batch_id=345, serial=serial,
                             stars=4, origin_commune="06978", production_date=dt.date(2026, 11, 1),
                             expiry_date=dt.date(2027, 11, 1), certificate_valid_until=dt.date(2028, 6, 30))
        return sign_stamp(claims, self.key, self.info, HOST)

    def stamp(self, serial: int, **changes) -> LabelStamp:
        fields = dict(qr_text=self.text(serial), serial_text=format_serial(serial), product_name=PRODUCT,
                      producer_name=PRODUCER, stars=4, lot="L2026-11", production_date=dt.date(2026, 11, 1),
                      expiry_date=dt.date(2027, 11, 1), host=HOST)
        fields.update(changes)
        return LabelStamp(**fields)


@dataclass(frozen=True)
class Found:
    """A decoded QR: its text, centre in mm from the page's top-left, and the label position it lies in."""

    text: str
    x_mm: float
    y_mm: float
    cell: int | None


def cell_at(template: Template, x_mm: float, y_mm: float) -> int | None:
    """The label position whose rectangle holds the point, or None."""
    for index in range(template.per_page):
        left, top = template.cell_origin_mm(index)
        if left <= x_mm <= left + template.label_width_mm and top <= y_mm <= top + template.label_height_mm:
            return index
    return None


def rasterise(pdf: bytes, page: int, dpi: float) -> Image.Image:
    """One page as a greyscale image."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        return document[page].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        document.close()


def _read(image: Image.Image) -> list:
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


def decode(image: Image.Image, dpi: float, template: Template, *, sharpen: bool = False) -> list[Found]:
    """Every QR in the image. With sharpen, a second pass reads a 2x bicubic, unsharp-masked copy, as a phone's
    camera pipeline would, and adds what the first pass missed.

    sharpen is for deliberately degraded images (150 dpi, blurred): on those the decoder now and then "finds" a
    tiny phantom QR in the noise (seen: "7152", "007004", about one run in forty), so only stamp-shaped reads
    count there. Every printed stamp must still be found in its cell, and clean renders stay strict."""
    results = [(r, 1) for r in _read(image)]
    if sharpen:
        big = image.resize((image.width * 2, image.height * 2), Image.BICUBIC).filter(
            ImageFilter.UnsharpMask(radius=4, percent=200, threshold=0))
        seen = {r.text for r, _ in results}
        results += [(r, 2) for r in _read(big) if r.text not in seen]
        results = [(r, f) for r, f in results if r.text.startswith("HTTPS://")]
    found = []
    for result, factor in results:
        p = result.position
        xs = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x]
        ys = [p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y]
        x_mm = sum(xs) / 4 / factor / dpi * 25.4
        y_mm = sum(ys) / 4 / factor / dpi * 25.4
        found.append(Found(result.text, x_mm, y_mm, cell_at(template, x_mm, y_mm)))
    return found


def page_text(pdf: bytes, page: int = 0) -> str:
    """The page's extracted text."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        return document[page].get_textpage().get_text_range()
    finally:
        document.close()


def char_boxes(pdf: bytes, page: int = 0) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(character, (left, top, right, bottom) in mm from the page's top-left) for each visible character."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        pg = document[page]
        height = pg.get_height()
        text = pg.get_textpage()
        out = []
        for i in range(text.count_chars()):
            # one code point straight from PDFium: get_text_range(i, 1) loses characters on pypdfium2 4.30
            char = chr(pypdfium2.raw.FPDFText_GetUnicode(text.raw, i))
            if not char.strip():
                continue
            left, bottom, right, top = text.get_charbox(i)
            out.append((char, (left * MM_PER_PT, (height - top) * MM_PER_PT, right * MM_PER_PT,
                               (height - bottom) * MM_PER_PT)))
        return out
    finally:
        document.close()


def render_bytes(render, *args, **kwargs) -> tuple[bytes, object]:
    """Run a render function into memory; (PDF bytes, its return value)."""
    buffer = io.BytesIO()
    result = render(*args, buffer, **kwargs)
    return buffer.getvalue(), result
