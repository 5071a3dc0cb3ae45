"""What templates may call: translation, CSRF token, places, dates, stars and choice labels."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, g

from .auth import csrf
from .i18n import LANGUAGES, current_language, gettext
from .registry import places


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


def label(kind: str, value: Any) -> str:
    """The words for a stored choice, e.g. label('producer_type', 'cooperative') -> 'Hợp tác xã'."""
    if value is None or value == "":
        return ""
    return gettext(f"{kind}.{value}")


def options(rows: list[dict[str, Any]], value: str = "id", text: str = "name") -> list[tuple[Any, Any]]:
    """Rows as (value, text) pairs for a select box."""
    return [(row[value], row[text]) for row in rows]


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
    )
    app.jinja_env.filters.update(date=date, place=place, options=options)
