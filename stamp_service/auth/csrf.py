"""CSRF protection for forms: a per-session token every non-GET page request must echo back."""

from __future__ import annotations

import hmac
import secrets

from flask import request, session
from werkzeug.exceptions import BadRequest

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


class CSRFError(BadRequest):
    """The form's CSRF token is missing or wrong (often: the page was open too long)."""

    description = "csrf"


def token() -> str:
    """The session's CSRF token, created on first use (templates put it in every form)."""
    value = session.get(FIELD)
    if not isinstance(value, str):
        value = session[FIELD] = secrets.token_urlsafe(32)
    return value


def check() -> None:
    """Raise CSRFError unless the request carries the session's token."""
    expected = session.get(FIELD)
    sent = request.form.get(FIELD) or request.headers.get(HEADER) or ""
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CSRFError()
