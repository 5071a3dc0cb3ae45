"""How many stamps a batch and a producer may still get: the batch's quantity plus an overprint margin, and a
daily quota per producer, so that no account can use up the serial space shared by every producer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from ..i18n import Message
from ..registry.fields import ValidationError
from ..registry.records import Row
from ..storage import Storage

DEFAULT_MARGIN = 0.10  # spoilage, test prints and misfeeds: a tenth more labels than packs is generous
DEFAULT_DAILY_QUOTA = 200_000  # a large cooperative's busiest day is a few tens of thousands of packs
MAX_DAILY_QUOTA = 100_000_000
WINDOW = dt.timedelta(hours=24)  # a rolling day: no time zone decides when the quota resets


@dataclass(frozen=True)
class Limits:
    """The limits issuing applies: the overprint margin (a fraction of the batch quantity) and the daily quota."""

    overprint_margin: float = DEFAULT_MARGIN
    daily_quota: int = DEFAULT_DAILY_QUOTA


def limits_from(config: Mapping[str, Any]) -> Limits:
    """The limits an app's config sets (OVERPRINT_MARGIN, DAILY_STAMP_QUOTA), defaults for the rest."""
    margin = config.get("OVERPRINT_MARGIN", DEFAULT_MARGIN)
    quota = config.get("DAILY_STAMP_QUOTA", DEFAULT_DAILY_QUOTA)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin <= 10:
        raise ValueError("OVERPRINT_MARGIN must be a number from 0 to 10 (a fraction: 0.1 is 10%)")
    if isinstance(quota, bool) or not isinstance(quota, int) or not 0 <= quota <= MAX_DAILY_QUOTA:
        raise ValueError(f"DAILY_STAMP_QUOTA must be a whole number from 0 to {MAX_DAILY_QUOTA}")
    return Limits(float(margin), quota)


def batch_allowance(batch: Row, margin: float) -> int:
    """The most stamps all runs of this batch may hold together: its quantity plus the overprint margin."""
    return batch["quantity"] + int(batch["quantity"] * margin)


def check_batch(storage: Storage, batch: Row, count: int, margin: float) -> None:
    """Refuse a run that would take the batch's runs past its allowance."""
    allowed = batch_allowance(batch, margin)
    issued = storage.sum_span("runs", "first_serial", "last_serial", batch_id=batch["id"])
    if issued + count > allowed:
        raise ValidationError.single("count", "issue.over_batch_quantity", quantity=batch["quantity"],
                                     allowed=allowed, margin=round(margin * 100), issued=issued,
                                     left=max(allowed - issued, 0))


def producer_quota(storage: Storage, producer_id: int, default: int) -> int:
    """The producer's daily quota: the admin's override on the producer, else the configured default."""
    producer = storage.get("producers", producer_id)
    override = producer["daily_quota"] if producer else None
    return default if override is None else override


def issued_today(storage: Storage, producer_id: int, now: dt.datetime) -> int:
    """Stamps issued for this producer's batches in the 24 hours before now."""
    batch_ids = [b["id"] for b in storage.find("batches", product_id=[
        p["id"] for p in storage.find("products", producer_id=producer_id)])]
    since = (now - WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ")
    return storage.sum_span("runs", "first_serial", "last_serial", since_column="issued_at", since=since,
                            batch_id=batch_ids)


def check_daily(storage: Storage, producer_id: int, count: int, default: int, now: dt.datetime) -> None:
    """Refuse a run that would take the producer past its daily quota."""
    quota = producer_quota(storage, producer_id, default)
    issued = issued_today(storage, producer_id, now)
    if issued + count > quota:
        raise ValidationError.single("count", "issue.daily_quota", quota=quota, issued=issued,
                                     left=max(quota - issued, 0))


def set_quota(storage: Storage, producer_id: int, quota: int | None) -> Row:
    """An admin sets (or with None, clears) a producer's daily quota."""
    if quota is not None and (isinstance(quota, bool) or not isinstance(quota, int)
                              or not 0 <= quota <= MAX_DAILY_QUOTA):
        raise ValidationError.single("daily_quota", "error.daily_quota", max=MAX_DAILY_QUOTA)
    if storage.get("producers", producer_id) is None:
        raise ValidationError({}, Message("error.not_found"))
    return storage.update("producers", producer_id, {"daily_quota": quota})  # type: ignore[return-value]
