"""Product images and photos: checked from the header, decoded once (JPEGs already scaled down), stored small."""

from __future__ import annotations

import hashlib
import io
import math
import os
from pathlib import Path
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from .registry.fields import Invalid

MAX_SIDE = 800  # enough for a phone screen; the verification page must stay light
ACCEPTED = {"JPEG", "PNG", "WEBP"}
try:  # HEIC (iPhones' default) only where its plugin is installed
    from pillow_heif import register_heif_opener  # type: ignore[import-not-found]
except ImportError:
    pass
else:
    register_heif_opener()
    ACCEPTED.add("HEIF")

# Pillow's own bomb check is a process-wide global: setting it per call raced between threads, so it is set once
# here as a backstop above every configured limit, and each upload's own limit is checked from its header.
PILLOW_CEILING = 100_000_000
Image.MAX_IMAGE_PIXELS = PILLOW_CEILING
# Only these formats are ever opened: Pillow's other parsers (EPS, TGA, ...) are attack surface we do not need.
PILLOW_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")


def open_image(data: bytes, *, max_pixels: int, max_side: int | None = None, mode: str = "RGB") -> Image.Image:
    """An uploaded image (JPEG, PNG, WebP, HEIC) checked from its header, decoded once and turned upright;
    JPEGs larger than max_side are decoded already scaled down. Raises Invalid."""
    if not data:
        raise Invalid("error.image_empty")
    try:
        img = Image.open(io.BytesIO(data), formats=[f for f in PILLOW_FORMATS if f in ACCEPTED])
        # Image.open reads only the header: the pixel count is known before any memory is spent on pixels.
        if img.format not in ACCEPTED or img.width * img.height > min(max_pixels, PILLOW_CEILING):
            raise Invalid("error.image_format")
        if img.format == "JPEG" and max_side is not None and max(img.size) > max_side:
            # Asked with the photo's own aspect ratio: JPEG decodes at 1/2, 1/4 or 1/8, never below the request.
            ratio = max_side / max(img.size)
            img.draft(mode, (math.ceil(img.width * ratio), math.ceil(img.height * ratio)))
        img.load()
        upright = ImageOps.exif_transpose(img)
        return upright.convert(mode) if upright.mode != mode else upright
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError,
            EOFError):
        raise Invalid("error.image_format") from None


def save_image(img: Image.Image, folder: Path, *, max_side: int = MAX_SIDE) -> str:
    """Re-encode a decoded image as a small JPEG (no metadata) in folder; return its stored file name."""
    img = img.convert("RGB")
    img.thumbnail((max_side, max_side))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=82, optimize=True, progressive=True)
    encoded = out.getvalue()
    name = hashlib.sha256(encoded).hexdigest()[:32] + ".jpg"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if not target.exists():
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        tmp.write_bytes(encoded)
        os.replace(tmp, target)
    return name


def store_image(stream: IO[bytes], folder: Path, *, max_pixels: int, max_side: int = MAX_SIDE) -> str:
    """Validate an uploaded image, re-encode it as JPEG (at most max_side pixels a side) and return its stored
    file name."""
    return save_image(open_image(stream.read(), max_pixels=max_pixels, max_side=max_side), folder, max_side=max_side)


THUMB_SIDE = 192


def thumbnail(folder: Path, name: str) -> str:
    """The small copy of a stored image (made once, beside it), for light pages."""
    small = name.replace(".jpg", f"-{THUMB_SIDE}.jpg")
    target = folder / small
    if not target.exists():
        with Image.open(folder / name) as img:
            img = ImageOps.fit(img.convert("RGB"), (THUMB_SIDE, THUMB_SIDE))
            tmp = folder / f".{small}.{os.getpid()}.tmp"
            img.save(tmp, "JPEG", quality=70, optimize=True)
            os.replace(tmp, target)
    return small
