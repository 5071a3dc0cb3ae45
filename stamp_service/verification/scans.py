"""Scan records: who scanned is a signed random device id, its household and a keyed hash of the network, never
an IP address (identity.py makes them)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from ..i18n import gettext
from ..storage import Storage
from . import tallies

ISO = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class ScanContext:
    """Where a scan came from, already made anonymous."""

    device: str | None
    net_hash: str | None
    ua_family: str | None
    province_code: str | None = None
    fresh: bool = False  # the device cookie was minted by this request: nothing vouches for this visitor yet
    household: str | None = None  # who the scan counts for in copy detection (filled in by the checker)


def iso(moment: dt.datetime) -> str:
    """A UTC time as stored."""
    return moment.astimezone(dt.timezone.utc).strftime(ISO)


def parse_iso(text: str) -> dt.datetime:
    """A stored time back to a datetime (fromisoformat: many times faster than strptime)."""
    return dt.datetime.fromisoformat(text)


_FAMILIES = (("Zalo", "zalo"), ("Facebook", "fban|fbav"), ("Samsung", "samsungbrowser"), ("Edge", "edg/"),
             ("Firefox", "firefox|fxios"), ("Chrome", "chrome|crios"), ("Safari", "safari"))


def ua_family(user_agent: str | None) -> str | None:
    """A coarse browser/OS family ('Chrome/Android'), enough to tell devices apart without fingerprinting."""
    if not user_agent:
        return None
    ua = user_agent.lower()
    browser = next((name for name, pattern in _FAMILIES if re.search(pattern, ua)), "Other")
    system = ("Android" if "android" in ua else "iOS" if re.search("iphone|ipad|ios", ua) else
              "Windows" if "windows" in ua else "macOS" if "mac os" in ua else "Linux" if "linux" in ua else "Other")
    return f"{browser}/{system}"


def ua_family_text(family: str | None) -> str:
    """A stored family in the reader's words: 'Other' (stored in English) is translated, names stay as they are."""
    if not family:
        return ""
    return "/".join(gettext(f"device.{part}") if part == "Other" else part for part in family.split("/"))


def record(storage: Storage, *, at: dt.datetime, serial: int | None, run_id: int | None, batch_id: int | None,
           verdict: str, source: str, context: ScanContext, evidence: bool) -> dict[str, Any]:
    """Store one scan; its id is made here, never taken from the client."""
    return store(storage, {
        "at": iso(at), "serial": serial, "run_id": run_id, "batch_id": batch_id, "verdict": verdict,
        "source": source, "device": context.device, "net_hash": context.net_hash, "ua_family": context.ua_family,
        "province_code": context.province_code, "household": context.household, "fresh": int(context.fresh),
        "evidence": int(evidence),
    })


def store(storage: Storage, values: dict[str, Any]) -> dict[str, Any]:
    """Insert a scan row and add it to the tallies, all or nothing."""
    with storage.transaction():
        row = storage.insert("scans", values)
        tallies.count(storage, row)
    return row


def share_province(storage: Storage, scan: dict[str, Any], province_code: str) -> None:
    """The shopper said which province they scanned in: kept on their scan, and counted there."""
    with storage.transaction():
        storage.update("scans", scan["id"], {"province_code": province_code})
        tallies.move_province(storage, scan, province_code)


def first_of(storage: Storage, serial: int) -> dict[str, Any] | None:
    """The first recorded check of a stamp (when and, if that shopper said, in which province)."""
    rows = storage.find("scans", serial=serial, order_by=("at", "id"), limit=1)
    return rows[0] if rows else None
