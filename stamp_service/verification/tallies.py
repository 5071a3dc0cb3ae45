"""Scan tallies: the counts staff pages read, added to in the transaction that stores each scan, so the
dashboard and a batch's summary cost the same at ten million scans as at ten thousand. One tally per question,
each keyed by Vietnam day where the pages ask for a period: scans by verdict; located scans (a product's, naming
a province) by product and province; a batch's scans by verdict; scans of each stamp of a batch; bad verdicts
by stamp.

Migration 0015 filled the tallies from the scans stored before it; `recount` says what they should hold, from
the scans.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, Mapping

from ..storage import Storage
from ..vn_time import local
from .verdicts import TONE, VERDICTS

BAD_TONE = tuple(v for v in VERDICTS if TONE[v] == "bad")  # red banners: suspected-copy, never mistyped
KEYS = {"scan_days": ("day", "verdict"), "product_province_days": ("day", "product_id", "province_code"),
        "batch_scan_days": ("batch_id", "day", "verdict"), "serial_scans": ("batch_id", "serial"),
        "bad_serial_days": ("day", "serial", "verdict")}  # tally: its key


def vn_day(stored_at: str) -> str:
    """The Vietnam day (ISO date) of a stored UTC time."""
    return local(stored_at).date().isoformat()


def _keys(scan: Mapping[str, Any], product_id: int | None) -> list[tuple[str, dict[str, Any]]]:
    """Each tally row one scan adds 1 to."""
    day = vn_day(scan["at"])
    keys = [("scan_days", {"day": day, "verdict": scan["verdict"]})]
    if product_id is not None and scan["province_code"]:
        keys.append(("product_province_days", {"day": day, "product_id": product_id,
                                               "province_code": scan["province_code"]}))
    if scan["batch_id"] is not None:
        keys.append(("batch_scan_days", {"batch_id": scan["batch_id"], "day": day, "verdict": scan["verdict"]}))
        if scan["serial"] is not None:
            keys.append(("serial_scans", {"batch_id": scan["batch_id"], "serial": scan["serial"]}))
    if scan["serial"] is not None and scan["verdict"] in BAD_TONE:
        keys.append(("bad_serial_days", {"day": day, "serial": scan["serial"], "verdict": scan["verdict"]}))
    return keys


def _product_of(storage: Storage, batch_id: int | None) -> int | None:
    batch = storage.get("batches", batch_id) if batch_id is not None else None
    return batch["product_id"] if batch else None


def count(storage: Storage, scan: Mapping[str, Any]) -> None:
    """Add a just-stored scan row to every tally (call inside the transaction that stored it)."""
    product_id = _product_of(storage, scan["batch_id"])
    for table, key in _keys(scan, product_id):
        storage.add_counts(table, key)


def move_province(storage: Storage, scan: Mapping[str, Any], province_code: str) -> None:
    """A scan row (as it was) now names this province (the shopper shared it): count it there, and no longer
    where it was, if it named one."""
    product_id = _product_of(storage, scan["batch_id"])
    if product_id is None:
        return
    key = {"day": vn_day(scan["at"]), "product_id": product_id}
    with storage.transaction():
        if scan["province_code"]:
            storage.add_counts("product_province_days", {**key, "province_code": scan["province_code"]}, -1)
        storage.add_counts("product_province_days", {**key, "province_code": province_code}, 1)


def recount(storage: Storage) -> dict[str, dict[tuple[Any, ...], int]]:
    """What each tally should hold, counted again from every scan (for checks and tests: it reads them all)."""
    products = {b["id"]: b["product_id"] for b in storage.find("batches")}
    expected: dict[str, Counter[tuple[Any, ...]]] = {t: Counter() for t in KEYS}
    for scan in storage.find("scans"):
        for table, key in _keys(scan, products.get(scan["batch_id"])):
            expected[table][tuple(key.values())] += 1
    return {t: dict(c) for t, c in expected.items()}


def stored(storage: Storage) -> dict[str, dict[tuple[Any, ...], int]]:
    """What each tally holds now (rows counting zero left out), keyed as recount keys them."""
    result: dict[str, dict[tuple[Any, ...], int]] = {}
    for table, columns in KEYS.items():
        rows = storage.find(table, order_by=columns)
        result[table] = {tuple(r[c] for c in columns): r["n"] for r in rows if r["n"]}
    return result


# -- what staff pages read ------------------------------------------------------------------------------------


def _sum(storage: Storage, column: str, since_day: dt.date | None, where: dict[str, Any]) -> dict[Any, int]:
    table = "batch_scan_days" if "batch_id" in where else "scan_days"
    since = since_day.isoformat() if since_day else None
    rows = storage.sum_by(table, [column], since_column="day" if since else None, since=since, **where)
    return {k: n for k, n in rows.items() if n}


def per_day(storage: Storage, since_day: dt.date | None = None, **where: Any) -> dict[str, int]:
    """Scans per Vietnam day (from since_day on, or ever; of every scan or of some batches: batch_id=...)."""
    return _sum(storage, "day", since_day, where)


def per_verdict(storage: Storage, since_day: dt.date | None = None, **where: Any) -> dict[str, int]:
    """Scans per verdict (from since_day on, or ever; of every scan or of some batches: batch_id=...)."""
    return _sum(storage, "verdict", since_day, where)


def per_product_province(storage: Storage, since_day: dt.date) -> dict[int, dict[str, int]]:
    """Scans that name a province, per product and province, from since_day on."""
    rows = storage.sum_by("product_province_days", ["product_id", "province_code"], since_column="day",
                          since=since_day.isoformat())
    result: dict[int, dict[str, int]] = {}
    for (product_id, province), n in rows.items():
        if n:
            result.setdefault(product_id, {})[province] = n
    return result


def bad_per_serial(storage: Storage, since_day: dt.date) -> dict[int, dict[str, int]]:
    """Bad verdicts per stamp and verdict from since_day on."""
    rows = storage.sum_by("bad_serial_days", ["serial", "verdict"], since_column="day", since=since_day.isoformat())
    result: dict[int, dict[str, int]] = {}
    for (serial, verdict), n in rows.items():
        if n:
            result.setdefault(serial, {})[verdict] = n
    return result


def top_serials(storage: Storage, batch_id: int, limit: int = 10) -> list[tuple[int, int]]:
    """A batch's most-scanned stamps as (scans, serial), most first (ties: the higher serial first)."""
    rows = storage.find("serial_scans", order_by=("n DESC", "serial DESC"), limit=limit, batch_id=batch_id)
    return [(r["n"], r["serial"]) for r in rows]
