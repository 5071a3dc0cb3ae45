"""Verification for the current request: the anonymous scan context (a random first-party device cookie and
a salted network hash), the configured copy rules, and one call that checks a code and records the scan."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from flask import current_app, g, request
from werkzeug.wrappers import Response

from ..context import get_storage
from ..registry import places
from ..signing_keys import keystore
from . import checker
from .copy_detection import Rules
from .scans import ScanContext, network_hash, ua_family

COOKIE = "ocop_d"
_VALID = re.compile(r"^[A-Za-z0-9_-]{22}$")


def device_id() -> str:
    """This browser's random id (made here on first visit; never an id the client chose freely)."""
    if "device_id" not in g:
        value = request.cookies.get(COOKIE, "")
        g.new_device = not _VALID.match(value)
        g.device_id = secrets.token_urlsafe(16) if g.new_device else value
    return g.device_id


def remember_device(response: Response) -> Response:
    """Set the device cookie when this visit made a new one (one year, first party, not readable by scripts)."""
    if g.get("new_device"):
        response.set_cookie(COOKIE, g.device_id, max_age=365 * 86400, httponly=True, samesite="Lax",
                            secure=request.is_secure)
    return response


def scan_context(*, with_device: bool = True, province_code: str | None = None) -> ScanContext:
    """The scan's context from the request, made anonymous."""
    today = dt.datetime.now(dt.timezone.utc).date()
    return ScanContext(
        device=device_id() if with_device else None,
        net_hash=network_hash(request.remote_addr, current_app.config["SECRET_KEY"], today),
        ua_family=ua_family(request.headers.get("User-Agent")),
        province_code=province_code,
    )


def copy_rules() -> Rules:
    """The configured copy-detection thresholds (checked at start-up)."""
    return Rules.from_config(current_app.config.get("COPY_RULES"))


def shared_province(value: str | None) -> str | None:
    """A province code the shopper chose to share, if it is a real one."""
    return value if value and places.province(value) else None


def run_check(code: str, source: str, *, with_device: bool = True, record: bool = True) -> checker.Outcome:
    """Verify a code for this request; record it as a shopper's scan unless record=False (inspectors)."""
    context = scan_context(with_device=with_device, province_code=shared_province(request.values.get("tinh")))
    return checker.verify(get_storage(), keystore().records(), code, source=source, context=context,
                          rules=copy_rules(), record=record)
