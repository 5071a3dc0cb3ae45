"""The one way portal forms are handled: show, validate, re-show with field errors, or save and move on."""

from __future__ import annotations

from typing import Any, Callable

from flask import flash, redirect, render_template, request
from werkzeug.wrappers import Response

from ..i18n import gettext
from ..registry.fields import ValidationError
from ..registry.records import Row

FORM_META = {"csrf_token"}


def form_page(
    template: str,
    save: Callable[[dict[str, Any]], Row],
    *,
    initial: dict[str, Any] | None = None,
    done: Callable[[Row], str],
    flash_key: str = "flash.saved",
    **context: Any,
) -> Response | tuple[str, int]:
    """GET shows the form; POST saves through `save` and redirects to done(row), or re-shows with errors (400)."""
    values: dict[str, Any] = dict(initial or {})
    errors: dict[str, str] = {}
    message = None
    if request.method == "POST":
        submitted = {k: v for k, v in request.form.items() if k not in FORM_META}
        values.update(submitted)
        try:
            row = save(submitted)
        except ValidationError as exc:
            errors = exc.render()
            message = exc.message.render()
        else:
            flash(gettext(flash_key), "success")
            return redirect(done(row))
    status = 400 if errors or message else 200
    return render_template(template, values=values, errors=errors, form_error=message, **context), status


def as_int(value: Any) -> int | None:
    """A query-string id as int, or None."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
