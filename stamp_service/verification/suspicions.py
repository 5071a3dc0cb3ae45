"""Copy suspicions: the evidence the rules read, and the suspicions they raise, kept for inspectors.

Once raised, a suspicion keeps the stamp's public verdict at suspected-copy (later buyers of copies see it too,
not only the one whose scan crossed a threshold) until an inspector dismisses it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ..registry.records import Row
from ..storage import Storage
from . import scans
from .copy_detection import Evidence, Rules, Signals


def _evidence(row: Row) -> Evidence:
    return Evidence(scans.parse_iso(row["at"]), row["serial"], row["household"] or f"scan:{row['id']}",
                    row["net_hash"], row["province_code"])


def recent_scans(storage: Storage, serial: int, rules: Rules, now: dt.datetime) -> list[Row]:
    """The stamp's scans (every source) of the last history_days, newest first."""
    since = scans.iso(now - dt.timedelta(days=rules.history_days))
    return storage.find_since("scans", "at", since, serial=serial)


def evidence_of(rows: list[Row]) -> list[Evidence]:
    """The evidence among scan rows (a signed QR on the page, a token client's look-up)."""
    return [_evidence(r) for r in rows if r["evidence"]]


def history(storage: Storage, serial: int, rules: Rules, now: dt.datetime) -> list[Evidence]:
    """The stamp's own evidence scans of the last history_days."""
    return evidence_of(recent_scans(storage, serial, rules, now))


def neighbours(storage: Storage, run_id: int, serial: int, rules: Rules, now: dt.datetime) -> list[Evidence]:
    """Evidence scans of the serials within sheet_window of this one, same run, of the last sheet_days."""
    since = scans.iso(now - dt.timedelta(days=rules.sheet_days))
    rows = storage.evidence_near(run_id, serial - rules.sheet_window, serial + rules.sheet_window, since)
    return [_evidence(r) for r in rows if r["serial"] != serial]


def claimants(storage: Storage, serial: int, rules: Rules, now: dt.datetime) -> set[str]:
    """Households that tried the stamp's hidden code (right or wrong) in the last history_days."""
    since = scans.iso(now - dt.timedelta(days=rules.history_days))
    rows = storage.find_since("claim_attempts", "at", since, limit=200, serial=serial)
    return {r["household"] for r in rows if r["household"] and r["result"] != "limited"}


def open_for(storage: Storage, serial: int) -> Row | None:
    """The stamp's open suspicion, if one was raised and not dismissed."""
    return storage.find_one("suspicions", serial=serial, status="open")


def raise_for(storage: Storage, run: Row, serial: int, signals: Signals, now: dt.datetime) -> Row:
    """Store a suspicion the rules raised, with its evidence."""
    evidence: dict[str, Any] = {**signals.evidence, "reasons": [r.code for r in signals.suspicions]}
    return storage.insert("suspicions", {
        "serial": serial, "run_id": run["id"], "batch_id": run["batch_id"], "at": scans.iso(now),
        "rule": signals.suspicions[0].code, "evidence": json.dumps(evidence, ensure_ascii=False),
        "households": max(evidence.get("households_48h", 0), evidence.get("households_7d", 0)),
        "networks": evidence.get("networks", 0),
    })


def for_serial(storage: Storage, serial: int) -> list[Row]:
    """Every suspicion raised on a stamp, newest first, with its evidence decoded (for inspectors)."""
    rows = storage.find("suspicions", serial=serial, order_by="id DESC")
    return [{**r, "evidence": json.loads(r["evidence"])} for r in rows]


def dismiss(storage: Storage, suspicion_id: int, user_id: int | None, now: dt.datetime | None = None) -> Row | None:
    """An inspector found no copy behind a suspicion: the stamp reads from its evidence again."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return storage.update("suspicions", suspicion_id, {"status": "dismissed", "dismissed_by": user_id,
                                                       "dismissed_at": scans.iso(now)})
