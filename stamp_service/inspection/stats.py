"""The provincial dashboard's numbers: scans per day, verdict mix, where products are scanned, the stamps that
read as fakes most often, shoppers' reports, certificates due for renewal and cases (no Flask here).

Days are Vietnam's days (Asia/Ho_Chi_Minh, UTC+7, as every page shows times), though scans are stored in UTC:
a scan at 23:30 UTC on the 2nd counts on the 3rd. The window is the `days` days ending with `today` (a day in
Vietnam), both included; counts other than the per-day series run from the window's first midnight in Vietnam on
(no scan is stored with a time in the future). A mistyped serial is not a bad verdict: typos are no counterfeits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..registry import places, recognitions
from ..stamps import issuing
from ..stamps.serials import format_serial
from ..storage import Storage
from ..verification import tallies
from ..verification.scans import iso
from ..verification.verdicts import VERDICTS
from ..vn_time import VIETNAM
from .cases import STATUSES as CASE_STATUSES

SUSPECT = "suspected-copy"
BAD = tallies.BAD_TONE  # includes suspected-copy, never mistyped (amber)
TOP_STAMPS = 10  # rows of the "most suspicious stamps" table
TOP_PRODUCTS = 10  # products whose provinces are shown
RECENT_REPORTS = 10
OPEN_CASE_STATUSES = ("suspected", "pending", "confirmed")  # a dismissed case is closed


def window(today: dt.date, days: int) -> list[dt.date]:
    """The days of the period, oldest first, ending with today."""
    if days < 1:
        raise ValueError("days must be at least 1")
    return [today - dt.timedelta(days=days - 1 - i) for i in range(days)]


def dashboard(storage: Storage, *, today: dt.date, days: int = 30) -> dict[str, Any]:
    """Everything the dashboard shows, for the `days` days ending with today (and renewals due within `days`)."""
    period = window(today, days)
    since = iso(dt.datetime.combine(period[0], dt.time(), tzinfo=VIETNAM))  # the first day's midnight in Vietnam

    # From the tallies kept at scan time: the same cost at ten million scans as at ten thousand.
    per_day = tallies.per_day(storage, period[0])
    scans_per_day = [(d.isoformat(), per_day.get(d.isoformat(), 0)) for d in period]

    by_verdict = tallies.per_verdict(storage, period[0])
    verdicts = [(v, by_verdict.get(v, 0)) for v in VERDICTS]

    return {
        "today": today.isoformat(),
        "days": days,
        "since": period[0].isoformat(),
        "scans_per_day": scans_per_day,
        "total_scans": sum(n for _, n in scans_per_day),
        "verdicts": verdicts,
        "bad_scans": sum(n for v, n in verdicts if v in BAD),
        "provinces": _provinces_by_product(storage, period[0]),
        "suspicious": _suspicious_stamps(storage, period[0], since),
        "reports": _recent_reports(storage),
        "new_reports": storage.count("reports", status="new"),
        "expiring": _expiring(storage, today, days),
        "cases": _cases(storage),
    }


def _products(storage: Storage, ids: set[int]) -> dict[int, dict[str, Any]]:
    return {p["id"]: p for p in storage.find("products", id=sorted(ids))} if ids else {}


def _provinces_by_product(storage: Storage, first_day: dt.date) -> list[dict[str, Any]]:
    """Per product (most located scans first): scans per province, counting only scans that name a province."""
    counts = tallies.per_product_province(storage, first_day)
    names = _products(storage, set(counts))
    result = []
    for product_id, by_province in counts.items():
        located = sorted(by_province.items(), key=lambda item: (-item[1], item[0]))
        rows = []
        for code, n in located:
            province = places.province(code)
            rows.append({"code": code, "name": province.name if province else code,
                         "name_en": province.name_en if province else code, "scans": n})
        result.append({"product_id": product_id, "product": names.get(product_id, {}).get("name", str(product_id)),
                       "located_scans": sum(n for _, n in located), "provinces": rows})
    result.sort(key=lambda p: (-p["located_scans"], p["product"], p["product_id"]))
    return result[:TOP_PRODUCTS]


def _suspicious_stamps(storage: Storage, first_day: dt.date, since: str) -> list[dict[str, Any]]:
    """Serials with the most suspected-copy verdicts, then the most bad ones, in the period."""
    per_serial = tallies.bad_per_serial(storage, first_day)
    bad = {s: sum(v.values()) for s, v in per_serial.items()}
    suspected = {s: v.get(SUSPECT, 0) for s, v in per_serial.items()}
    ranked = sorted(bad, key=lambda s: (-suspected[s], -bad[s], s))[:TOP_STAMPS]
    if not ranked:
        return []
    scans = storage.count_by("scans", "serial", since_column="at", since=since, serial=ranked)
    runs = {s: issuing.run_for_serial(storage, s) for s in ranked}
    names = _products(storage, {r["product_id"] for r in runs.values() if r})
    rows = []
    for serial in ranked:
        run = runs[serial]
        product = names.get(run["product_id"]) if run else None
        rows.append({"serial": serial, "serial_text": format_serial(serial),
                     "product_id": product["id"] if product else None,
                     "product": product["name"] if product else None,
                     "suspected": suspected[serial], "bad": bad[serial], "scans": scans.get(serial, 0)})
    return rows


def _recent_reports(storage: Storage) -> list[dict[str, Any]]:
    """The newest shoppers' reports, with the printed serial when the report names one."""
    rows = storage.find("reports", order_by=("at DESC", "id DESC"), limit=RECENT_REPORTS)
    return [{k: r[k] for k in ("id", "at", "serial", "code", "what", "where_bought", "status")}
            | {"serial_text": format_serial(r["serial"]) if r["serial"] is not None else None} for r in rows]


def _expiring(storage: Storage, today: dt.date, days: int) -> list[dict[str, Any]]:
    """Current recognitions still valid but ending within `days` days: the renewal reminder, soonest first."""
    products = storage.find("products")
    current = recognitions.current_for(storage, [p["id"] for p in products])
    producers = {p["id"]: p for p in storage.find("producers", id=sorted({p["producer_id"] for p in products}))}
    rows = []
    for product in products:
        rec = current.get(product["id"])
        if rec is None:
            continue
        standing = recognitions.standing(rec, today, warning_days=days)
        if standing.status != "valid" or not standing.expiring:
            continue
        producer = producers.get(product["producer_id"])
        rows.append({"product_id": product["id"], "product": product["name"],
                     "producer_id": product["producer_id"], "producer": producer["name"] if producer else None,
                     "recognition_id": rec["id"], "stars": rec["stars"], "valid_until": rec["valid_until"],
                     "days_left": standing.days_left})
    rows.sort(key=lambda r: (r["days_left"], r["product"], r["product_id"]))
    return rows


def _cases(storage: Storage) -> dict[str, Any]:
    """Cases by status (every status, zero-filled) and how many are open (not dismissed)."""
    counts = storage.count_by("cases", "status")
    by_status = {s: counts.get(s, 0) for s in CASE_STATUSES}
    return {"by_status": by_status, "open": sum(by_status[s] for s in OPEN_CASE_STATUSES)}
