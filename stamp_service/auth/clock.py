"""The time as sign-in records store it: UTC, to the second, in the same text form as the database's defaults."""

from __future__ import annotations

import datetime as dt

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now() -> dt.datetime:
    """The current moment in UTC."""
    return dt.datetime.now(dt.timezone.utc)


def stamp(moment: dt.datetime) -> str:
    """A moment as stored text ('2026-12-03T02:30:00Z'), which sorts in time order."""
    return moment.astimezone(dt.timezone.utc).strftime(FORMAT)


def parse(text: str) -> dt.datetime:
    """Stored text back to an aware moment."""
    return dt.datetime.strptime(text, FORMAT).replace(tzinfo=dt.timezone.utc)
