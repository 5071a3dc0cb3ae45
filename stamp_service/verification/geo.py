"""Distances between provinces, from the seats of their People's Committees (approximate, after 07/2025)."""

from __future__ import annotations

import csv
import functools
import math
from importlib import resources


@functools.lru_cache(maxsize=1)
def _centres() -> dict[str, tuple[float, float]]:
    source = resources.files("stamp_service").joinpath("data", "province_centres.csv")
    with source.open("r", encoding="utf-8", newline="") as fh:
        return {row["province_code"]: (float(row["lat"]), float(row["lon"])) for row in csv.DictReader(fh)}


def province_distance_km(a: str, b: str) -> float | None:
    """Great-circle distance between two provinces' seats, or None if either is unknown."""
    centres = _centres()
    if a not in centres or b not in centres:
        return None
    (lat1, lon1), (lat2, lon2) = centres[a], centres[b]
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))
