"""Finding every QR code in a photo: a shelf photo may hold several stamps, rotated, blurred or small."""

from __future__ import annotations

from pathlib import Path

import zxingcpp
from PIL import Image, ImageFilter

from ..media import open_image, save_image

MAX_SIDE = 4000  # larger photos are scaled down first: phones send 12-50 megapixels


def decode_image(data: bytes, *, max_pixels: int) -> list[str]:
    """The texts of all QR codes found in an image (JPEG, PNG, WebP), each once, in reading order."""
    return find_codes(open_image(data, max_pixels=max_pixels, max_side=MAX_SIDE, mode="L"))


def read_photo(data: bytes, folder: Path, *, max_pixels: int) -> tuple[list[str], str]:
    """An inspector's shelf photo decoded once: the QR texts in it, and the name it is stored under in folder."""
    img = open_image(data, max_pixels=max_pixels, max_side=MAX_SIDE, mode="L")
    texts = find_codes(img)
    return texts, save_image(img, folder)


def find_codes(img: Image.Image) -> list[str]:
    """The texts of all QR codes in a decoded image, each once, in reading order."""
    img = img.convert("L") if img.mode != "L" else img
    if max(img.size) > MAX_SIDE:
        img = img.copy()
        img.thumbnail((MAX_SIDE, MAX_SIDE))
    found: dict[str, tuple[int, int]] = {}
    # The plain image first; then the retries a phone camera would make: sharper, and larger for small codes.
    attempts = (img, lambda: img.filter(ImageFilter.UnsharpMask(radius=2, percent=160)),
                (lambda: img.resize((img.width * 2, img.height * 2), Image.Resampling.BICUBIC))
                if max(img.size) <= 2000 else None)
    for attempt in attempts:
        if attempt is None:
            continue
        # Made one at a time and dropped after use, so at most two copies of the photo are alive at once.
        for result in zxingcpp.read_barcodes(attempt if isinstance(attempt, Image.Image) else attempt(),
                                             formats=zxingcpp.BarcodeFormat.QRCode):
            if result.valid and result.text and result.text not in found:
                pos = result.position.top_left
                found[result.text] = (pos.y, pos.x)
    band = max(1, img.height // 20)  # codes whose tops are within 5 % of the height count as one row
    return [text for text, _ in sorted(found.items(), key=lambda item: (item[1][0] // band, item[1][1]))]
