"""What templates may call: translation, CSRF token, places, dates, stars and choice labels."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, current_app, g, url_for

from .auth import csrf
from .i18n import LANGUAGES, current_language, decimal, gettext
from .registry import places
from .vn_time import local

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # not the C locale's


def place(code: str | None) -> str:
    """A commune code shown as 'Xã X, Tỉnh Y' (or the code itself if unknown)."""
    commune = places.commune(code or "")
    return commune.display(current_language()) if commune else (code or "")


def date(value: str | None) -> str:
    """An ISO date shown the local way: 23/11/2026 in Vietnamese, 2026-11-23 in English."""
    if not value:
        return ""
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return value
    return day.strftime("%d/%m/%Y") if current_language() == "vi" else day.isoformat()


def short_day(iso_day: str) -> str:
    """A day under a chart's bar: 05/03 in Vietnamese, 03-05 in English."""
    day = dt.date.fromisoformat(iso_day)
    return day.strftime("%d/%m") if current_language() == "vi" else day.strftime("%m-%d")


def _vietnam(value: str | None) -> dt.datetime | str:
    """A stored UTC time in Vietnam's time, or the text itself when it is empty or not a time."""
    if not value:
        return ""
    try:
        return local(value)
    except ValueError:
        return value


def datetime_local(value: str | None) -> str:
    """A stored UTC time shown in Vietnam's time (UTC+7): 23/11/2026 14:05."""
    moment = _vietnam(value)
    if not isinstance(moment, dt.datetime):
        return moment
    return moment.strftime("%d/%m/%Y %H:%M") if current_language() == "vi" else moment.strftime("%Y-%m-%d %H:%M")


def local_date(value: str | None) -> str:
    """The day in Vietnam of a stored UTC time (a revocation at 23:30 UTC happened the next day there)."""
    moment = _vietnam(value)
    if not isinstance(moment, dt.datetime):
        return moment
    return date(moment.date().isoformat())


def clock(value: str | None, lang: str | None = None) -> str:
    """A stored UTC time as the hour then the day in Vietnam (Asia/Ho_Chi_Minh, UTC+7 all year), the way a
    sentence says it: "lúc 14:32 03/12/2026"; "14:32 on 3 Dec 2026" in English (words, so a narrow screen
    does not break the date at a hyphen)."""
    moment = _vietnam(value)
    if not isinstance(moment, dt.datetime):
        return moment
    if (lang or current_language()) == "vi":
        return moment.strftime("%H:%M %d/%m/%Y")
    return f"{moment:%H:%M} on {moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def label(kind: str, value: Any) -> str:
    """The words for a stored choice, e.g. label('producer_type', 'cooperative') -> 'Hợp tác xã'."""
    if value is None or value == "":
        return ""
    return gettext(f"{kind}.{value}")


def options(rows: list[dict[str, Any]], value: str = "id", text: str = "name") -> list[tuple[Any, Any]]:
    """Rows as (value, text) pairs for a select box."""
    return [(row[value], row[text]) for row in rows]


def serial(value: int | None) -> str:
    """A serial as printed on the label, with its check digit: 1 234 567-1."""
    from .stamps.serials import format_serial

    return format_serial(value) if isinstance(value, int) else ""


def number(value: Any) -> str:
    """A decimal number the local way: 0,5 in Vietnamese, 0.5 in English."""
    try:
        return decimal(float(value))
    except (TypeError, ValueError):
        return str(value or "")


def province(code: str | None) -> str:
    """A province code shown by name: 22 -> Tỉnh Quảng Ninh (the code itself if unknown)."""
    found = places.province(code or "")
    return (found.full_name if current_language() == "vi" else found.name_en) if found else (code or "")


def optional_url(endpoint: str, **values: Any) -> str | None:
    """The URL of an endpoint if this app has it (pages that link to optional features), else None."""
    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


def register(app: Flask) -> None:
    """Expose the helpers to templates."""
    app.jinja_env.globals.update(
        _=gettext,
        csrf_token=csrf.token,
        current_language=current_language,
        languages=LANGUAGES,
        place=place,
        label=label,
        identity=lambda: g.get("identity"),
        optional_url=optional_url,
    )
    app.jinja_env.filters.update(date=date, datetime=datetime_local, place=place, options=options, serial=serial,
                               number=number, province=province)
    app.jinja_env.filters["clock"] = clock
    app.jinja_env.filters["local_date"] = local_date
