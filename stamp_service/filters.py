"""What templates may call: translation, CSRF token, places, dates, stars and choice labels."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, url_for

from .auth import csrf
from .i18n import LANGUAGES, current_language, formats, gettext, ngettext
from .registry import places


def place(code: str | None) -> str:
    """A commune code shown as 'Xã X, Tỉnh Y' (or the code itself if unknown)."""
    commune = places.commune(code or "")
    return commune.display(current_language()) if commune else (code or "")


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


def province(code: str | None) -> str:
    """A province code shown by name: 22 -> Tỉnh Quảng Ninh (the code itself if unknown)."""
    found = places.province(code or "")
    return (found.full_name if current_language() == "vi" else found.name_en) if found else (code or "")


def optional_url(endpoint: str, **values: Any) -> str | None:
    """The URL of an endpoint if this app has it (pages that link to optional features), else None."""
    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


def register(app: Flask) -> None:
    """Expose the helpers to templates."""
    from .inspection.record import reason_text  # the record owns how a stored reason reads in each language
    from .printing import template_title
    from .verification.scans import ua_family_text

    app.jinja_env.globals.update(
        _=gettext,
        ngettext=ngettext,
        csrf_token=csrf.token,
        current_language=current_language,
        languages=LANGUAGES,
        place=place,
        label=label,
        identity=lambda: g.get("identity"),
        optional_url=optional_url,
    )
    app.jinja_env.filters.update(date=formats.date, datetime=formats.datetime, clock=formats.clock, place=place,
                                 options=options, serial=serial, number=formats.number, province=province,
                                 reason_text=reason_text, stock_title=template_title,
                                 ua_family=ua_family_text, local_date=formats.local_date)
