"""What a producer puts on its labels besides the stamp: its logo and the OCOP mark of its star level."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..storage import Storage
from . import recognitions
from .fields import ValidationError
from .records import Row

STARS = (3, 4, 5)  # only these levels are certified, so only these have a mark


def set_logo(storage: Storage, producer_id: int, image: str | None) -> None:
    """Point the producer at a stored logo image (or none)."""
    storage.update("producers", producer_id, {"logo": image})


def set_mark(storage: Storage, producer_id: int, stars: int, image: str) -> None:
    """Keep the producer's OCOP mark image for a star level, replacing an earlier one."""
    if stars not in STARS:
        raise ValidationError.single("stars", "error.choice")
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with storage.transaction():
        if storage.update_where("ocop_marks", {"image": image, "uploaded_at": now},
                                producer_id=producer_id, stars=stars) == 0:
            storage.insert("ocop_marks", {"producer_id": producer_id, "stars": stars, "image": image})


def marks(storage: Storage, producer_id: int) -> dict[int, str]:
    """The producer's mark images by star level."""
    return {row["stars"]: row["image"] for row in storage.find("ocop_marks", producer_id=producer_id)}


def entitled_mark(storage: Storage, producer: Row, product_id: int, stars: int,
                  today: dt.date | None = None) -> str | None:
    """The mark image a label of this product may carry: the producer's mark for `stars`, only while the
    product's current recognition is valid and grants exactly those stars; else None."""
    rec = recognitions.current(storage, product_id)
    if rec is None or rec["stars"] != stars or not recognitions.standing(rec, today).certified:
        return None
    return marks(storage, producer["id"]).get(stars)


def image_bytes(folder: Path, name: str | None) -> bytes | None:
    """A stored image's bytes, or None when there is none (or its file went missing)."""
    if not name or Path(name).name != name:
        return None
    path = folder / name
    return path.read_bytes() if path.is_file() else None
