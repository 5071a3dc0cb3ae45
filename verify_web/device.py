"""The anonymous scan context: a random first-party device cookie and a salted network hash."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from flask import current_app, g, request
from werkzeug.wrappers import Response

from stamp_service.verification.scans import ScanContext, network_hash, ua_family

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
