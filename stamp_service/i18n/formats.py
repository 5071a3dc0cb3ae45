"""Numbers, dates and times the reader's way, in one place: Babel's locale data for the current language, times
shown in Vietnam's time (vn_time). Pages, charts, inspection records and shopper messages all call these."""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from ..vn_time import VIETNAM, local
from . import current_language

# Patterns per language (CLDR syntax). Vietnamese: day first with leading zeros and a four-digit year, as on
# official papers (Babel's own vi "short" is d/M/yy); English: ISO dates, unambiguous for any English reader.
DATE = {"vi": "dd/MM/yyyy", "en": "yyyy-MM-dd"}
DATETIME = {"vi": "dd/MM/yyyy HH:mm", "en": "yyyy-MM-dd HH:mm"}
CLOCK = {"vi": "HH:mm dd/MM/yyyy", "en": "HH:mm 'on' d MMM yyyy"}  # a time as a sentence says it
SHORT_DAY = {"vi": "dd/MM", "en": "MM-dd"}  # a day under a chart's bar


def _lang(lang: str | None) -> str:
    """lang if it is English, else Vietnamese; the current language when None."""
    return "en" if (lang or current_language()) == "en" else "vi"


def number(value: Any, lang: str | None = None) -> str:
    """A number with the locale's grouping and decimal sign: 1.234 and 0,5 in Vietnamese, 1,234 and 0.5 in English;
    the value as text when it is not a number."""
    if isinstance(value, bool) or value is None or value == "":
        return str(value or "")
    try:
        return format_decimal(value, locale=_lang(lang))
    except (TypeError, ValueError, ArithmeticError):
        try:
            return format_decimal(float(value), locale=_lang(lang))
        except (TypeError, ValueError, ArithmeticError):
            return str(value)


def moment(value: str | None) -> dt.datetime | None:
    """A stored time (ISO, UTC when it names no zone) as a moment in Vietnam, or None if it is not a time."""
    if not value:
        return None
    try:
        return local(str(value).strip())
    except ValueError:
        return None


def date(value: str | dt.date | None, lang: str | None = None) -> str:
    """A day the local way: 23/11/2026 in Vietnamese, 2026-11-23 in English (text that is no date as it is)."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        day = value.astimezone(VIETNAM).date() if value.tzinfo else value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return format_date(day, DATE[_lang(lang)], locale=_lang(lang))


def _time(value: str | None, patterns: dict[str, str], lang: str | None) -> str:
    """A stored UTC time in Vietnam's time with the language's pattern; text that is no time as it is."""
    found = moment(value)
    if found is None:
        return str(value or "")
    return format_datetime(found, patterns[_lang(lang)], tzinfo=VIETNAM, locale=_lang(lang))


def datetime(value: str | None, lang: str | None = None) -> str:
    """A stored UTC time in Vietnam's time: 23/11/2026 14:05 in Vietnamese, 2026-11-23 14:05 in English."""
    return _time(value, DATETIME, lang)


def clock(value: str | None, lang: str | None = None) -> str:
    """A stored UTC time the way a sentence says it: "14:32 03/12/2026"; "14:32 on 3 Dec 2026" in English
    (words, so a narrow screen does not break the date at a hyphen)."""
    return _time(value, CLOCK, lang)


def short_day(iso_day: str, lang: str | None = None) -> str:
    """A day under a chart's bar: 05/03 in Vietnamese, 03-05 in English."""
    return format_date(dt.date.fromisoformat(iso_day), SHORT_DAY[_lang(lang)], locale=_lang(lang))


def local_date(value: str | None, lang: str | None = None) -> str:
    """The day in Vietnam of a stored UTC time (a revocation at 23:30 UTC happened the next day there)."""
    found = moment(value)
    return date(found.date(), lang) if found is not None else str(value or "")
