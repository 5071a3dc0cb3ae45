"""Finding every QR code in a photo: a shelf photo may hold several stamps, rotated, blurred or small."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import zxingcpp
from PIL import Image, ImageFilter

from ..media import open_image, save_image

MAX_SIDE = 4000  # larger photos are scaled down first: phones send 12-50 megapixels


def decode_image(data: bytes, *, max_pixels: int) -> list[str]:
    """The texts of all QR codes found in an image (JPEG, PNG, WebP), each once, in reading order."""
    return find_codes(open_image(data, max_pixels=max_pixels, max_side=MAX_SIDE, mode="L"))


@dataclass(frozen=True)
class FoundCode:
    """A QR code found in a photo: its text and its four corners as fractions of the photo's width and height
    (so they hold for any re-encoded or scaled copy of the photo)."""

    text: str
    corners: tuple[tuple[float, float], ...]

    @property
    def top_left(self) -> tuple[float, float]:
        """The corner that orders codes in reading order (x, y)."""
        return self.corners[0]


def read_photo(data: bytes, folder: Path, *, max_pixels: int) -> tuple[list[str], str]:
    """An inspector's shelf photo decoded once: the QR texts in it, and the name it is stored under in folder."""
    codes, name = read_photo_codes(data, folder, max_pixels=max_pixels)
    return [code.text for code in codes], name


def read_photo_codes(data: bytes, folder: Path, *, max_pixels: int) -> tuple[list[FoundCode], str]:
    """An inspector's shelf photo decoded once: each QR code in it with its place, and its stored name."""
    img = open_image(data, max_pixels=max_pixels, max_side=MAX_SIDE, mode="L")
    codes = locate_codes(img)
    return codes, save_image(img, folder)


def find_codes(img: Image.Image) -> list[str]:
    """The texts of all QR codes in a decoded image, each once, in reading order."""
    return [code.text for code in locate_codes(img)]


def locate_codes(img: Image.Image) -> list[FoundCode]:
    """All QR codes in a decoded image with their places, each once, in reading order."""
    img = img.convert("L") if img.mode != "L" else img
    if max(img.size) > MAX_SIDE:
        img = img.copy()
        img.thumbnail((MAX_SIDE, MAX_SIDE))
    width, height = img.size
    found: dict[str, FoundCode] = {}
    # The plain image first; then the retries a phone camera would make: sharper, and larger for small codes.
    attempts = ((1, img), (1, lambda: img.filter(ImageFilter.UnsharpMask(radius=2, percent=160))),
                (2, lambda: img.resize((img.width * 2, img.height * 2), Image.Resampling.BICUBIC))
                if max(img.size) <= 2000 else (2, None))
    for scale, attempt in attempts:
        if attempt is None:
            continue
        # Made one at a time and dropped after use, so at most two copies of the photo are alive at once.
        for result in zxingcpp.read_barcodes(attempt if isinstance(attempt, Image.Image) else attempt(),
                                             formats=zxingcpp.BarcodeFormat.QRCode):
            if result.valid and result.text and result.text not in found:
                p = result.position
                corners = tuple((c.x / scale / width, c.y / scale / height)
                                for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left))
                found[result.text] = FoundCode(result.text, corners)
    band = 1 / 20  # codes whose tops are within 5 % of the height count as one row
    return sorted(found.values(), key=lambda code: (int(code.top_left[1] // band), code.top_left[0]))
