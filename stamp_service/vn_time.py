"""Vietnam's time (Asia/Ho_Chi_Minh: UTC+7 all year, no daylight saving since 1975), in which every page, record
and message shows and groups times; the database keeps UTC."""

from __future__ import annotations

import datetime as dt

VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")


def local(stored: str) -> dt.datetime:
    """A stored UTC time ('2026-12-03T02:30:00Z'; UTC too when it names no zone) as a moment in Vietnam;
    ValueError if it is not a time."""
    moment = dt.datetime.fromisoformat(stored.replace("Z", "+00:00"))
    if moment.tzinfo is None:  # stored times are UTC; a naive one must not be read as the server's local time
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(VIETNAM)


OFFSET_HOURS = VIETNAM.utcoffset(None) // dt.timedelta(hours=1)  # for grouping stored UTC times by Vietnam's days in SQL


def today() -> dt.date:
    """Today's date in Vietnam."""
    return dt.datetime.now(VIETNAM).date()


def day_start_utc(day: dt.date) -> str:
    """The stored UTC text of midnight starting this Vietnam day (17:00Z the day before)."""
    moment = dt.datetime.combine(day, dt.time(), VIETNAM).astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
