"""Everything the system knows about one stamp, for inspectors: claims, key, certificates, run, state, scans,
copy signals, shoppers' reports and cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ..i18n import current_language
from ..keystore import PublicKeyRecord
from ..registry import places, recognitions
from ..stamps import issuing
from ..stamps.serials import format_serial
from ..storage import Storage
from ..verification import copy_detection, suspicions, tallies
from ..verification.copy_detection import Rules
from . import cases


def stamp_history(storage: Storage, keys: Mapping[bytes, PublicKeyRecord], serial: int, rules: Rules,
                  now: dt.datetime | None = None) -> dict[str, Any] | None:
    """The full picture of the stamp with this serial, or None if no run holds it."""
    run = issuing.run_for_serial(storage, serial)
    if run is None:
        return None
    now = now or dt.datetime.now(dt.timezone.utc)
    claims = issuing.run_claims(run, serial)
    batch = storage.get("batches", run["batch_id"])
    product = storage.get("products", run["product_id"])
    producer = storage.get("producers", product["producer_id"]) if product else None
    record = keys.get(bytes.fromhex(run["kid"]))
    chain = [{**r, "standing": recognitions.standing(r).status}
             for r in recognitions.list_all(storage, product_id=run["product_id"])]
    all_scans = storage.find("scans", serial=serial, order_by="at DESC", limit=500)
    # What the rules read from the evidence now (an inspector's look is not evidence), and what they raised.
    signals = copy_detection.evaluate(rules, None, suspicions.history(storage, serial, rules, now),
                                      suspicions.neighbours(storage, run["id"], serial, rules, now), now)
    commune = places.commune(claims.origin_commune)
    return {
        "serial": serial, "serial_text": format_serial(serial), "claims": claims.as_dict(),
        "origin": commune.display(current_language()) if commune else claims.origin_commune,
        "key": None if record is None else {"kid": record.info.kid_hex, "alg": record.info.alg,
                                            "status": record.info.status,
                                            "not_before": record.info.not_before.isoformat(),
                                            "not_after": record.info.not_after.isoformat() if record.info.not_after else None},
        "run": run, "state": issuing.serial_state(storage, run, serial), "batch": batch, "product": product,
        "producer": producer, "recognitions": chain,
        "scans": [{k: r[k] for k in ("id", "at", "verdict", "source", "device", "ua_family", "province_code",
                                     "household", "evidence")}
                  for r in all_scans],
        "scan_count": storage.count("scans", serial=serial),
        "signals": {"suspicions": [s.as_dict() for s in signals.suspicions],
                    "warnings": [w.as_dict() for w in signals.warnings],
                    "raised": suspicions.for_serial(storage, serial)},
        "reports": storage.find("reports", serial=serial, order_by="id DESC"),
        "cases": cases.for_serial(storage, run["batch_id"], serial),
    }


def batch_summary(storage: Storage, batch_id: int) -> dict[str, Any]:
    """A batch's runs, scans per day and verdict mix, and its most-scanned stamps."""
    runs = issuing.list_runs(storage, batch_id=batch_id)
    top = tallies.top_serials(storage, batch_id, 10)
    return {"runs": runs, "scans_per_day": tallies.per_day(storage, batch_id=batch_id),
            "verdicts": tallies.per_verdict(storage, batch_id=batch_id),
            "top_serials": [{"serial": s, "serial_text": format_serial(s), "scans": n} for n, s in top],
            "cases": storage.find("cases", batch_id=batch_id, order_by="id DESC")}
