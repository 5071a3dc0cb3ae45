"""One producer's own stamps at a glance, for its home page: runs, stamps issued and active, scans per Vietnam
day, suspected copies and shoppers' reports on its products (no Flask here)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .. import vn_time
from ..registry import batches
from ..storage import Storage
from ..verification import tallies
from . import issuing

DAYS = 14  # the scans chart: two weeks fit a phone's width
RECENT_RUNS = 5
RECENT_SUSPICIONS = 5


def state_counts(storage: Storage, run: dict[str, Any]) -> dict[str, int]:
    """How many of a run's stamps are active, inactive and void now: the newest change covering a serial wins."""
    segments = [(run["first_serial"], run["last_serial"], run["initial_state"])]
    for change in storage.find("range_states", run_id=run["id"], order_by="id"):
        lo, hi = change["first_serial"], change["last_serial"]
        kept = []
        for a, b, state in segments:  # cut the change's range out of every segment, then lay it on top
            if b < lo or a > hi:
                kept.append((a, b, state))
                continue
            if a < lo:
                kept.append((a, lo - 1, state))
            if b > hi:
                kept.append((hi + 1, b, state))
        segments = kept + [(lo, hi, change["state"])]
    counts = {state: 0 for state in issuing.STATES}
    for a, b, state in segments:
        counts[state] += b - a + 1
    return counts


def summary(storage: Storage, producer_id: int, *, today: dt.date | None = None, days: int = DAYS) -> dict[str, Any]:
    """The producer's runs and stamps, scans per Vietnam day for `days` days ending today, open copy
    suspicions and reports by status (its products only)."""
    today = today or vn_time.today()
    period = [today - dt.timedelta(days=days - 1 - i) for i in range(days)]
    batch_ids = [b["id"] for b in batches.list_all(storage, producer_id=producer_id)]
    runs = issuing.list_runs(storage, producer_id=producer_id)
    states = {r["id"]: state_counts(storage, r) for r in runs}
    per_day = tallies.per_day(storage, period[0], batch_id=batch_ids)
    scans_per_day = [(d.isoformat(), per_day.get(d.isoformat(), 0)) for d in period]
    product_ids = [p["id"] for p in storage.find("products", producer_id=producer_id)]
    reports = storage.count_by("reports", "status", product_id=product_ids)
    return {
        "runs": len(runs),
        "recent_runs": [{**r, "states": states[r["id"]]} for r in runs[:RECENT_RUNS]],
        "stamps_issued": sum(r["count"] for r in runs),
        "stamps_active": sum(s["active"] for s in states.values()),
        "scans_per_day": scans_per_day,
        "scans_total": sum(n for _, n in scans_per_day),
        "suspicions_open": storage.count("suspicions", batch_id=batch_ids, status="open"),
        "suspicions": storage.find("suspicions", batch_id=batch_ids, status="open", order_by="at DESC",
                                   limit=RECENT_SUSPICIONS),
        "reports": reports,
        "reports_open": sum(n for status, n in reports.items() if status in ("new", "in_progress")),
    }
