"""Product images: checked with Pillow, re-encoded small (strips metadata, keeps pages light), stored by hash."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from .registry.fields import Invalid

MAX_SIDE = 800  # enough for a phone screen; the verification page must stay light
ACCEPTED = {"JPEG", "PNG", "WEBP"}


def open_image(data: bytes, *, max_pixels: int, formats: set[str] | None = ACCEPTED) -> Image.Image:
    """An uploaded image checked (format, size, not a decompression bomb) and turned upright; raises Invalid."""
    if not data:
        raise Invalid("error.image_empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = max_pixels
            with Image.open(io.BytesIO(data)) as probe:
                if formats is not None and probe.format not in formats:
                    raise Invalid("error.image_format")
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                return ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError,
            SyntaxError, ValueError):
        raise Invalid("error.image_format") from None


def store_image(stream: IO[bytes], folder: Path, *, max_pixels: int) -> str:
    """Validate an uploaded image, re-encode it as JPEG and return its stored file name."""
    img = open_image(stream.read(), max_pixels=max_pixels).convert("RGB")
    img.thumbnail((MAX_SIDE, MAX_SIDE))
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
