"""Vietnam's time (Asia/Ho_Chi_Minh: UTC+7 all year, no daylight saving since 1975), in which every page, record
and message shows and groups times; the database keeps UTC."""

from __future__ import annotations

import datetime as dt

VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")


def local(stored: str) -> dt.datetime:
    """A stored UTC time ('2026-12-03T02:30:00Z') as a moment in Vietnam; ValueError if it is not a time."""
    return dt.datetime.fromisoformat(stored.replace("Z", "+00:00")).astimezone(VIETNAM)
