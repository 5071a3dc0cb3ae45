"""Verification for the current request: the visitor (a signed device cookie), its anonymous scan context,
the per-network limits, the configured copy rules, and one call that checks a code and records the scan."""

from __future__ import annotations

import datetime as dt

from flask import current_app, g, request
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from ..context import get_storage
from ..registry import places
from ..signing_keys import keystore
from . import checker
from .copy_detection import Rules
from .identity import Device, DeviceCookies, client_household, network_hash, network_household, network_of
from .scans import ScanContext, ua_family
from .throttle import Limits, SharedThrottle, Throttle

COOKIE = "ocop_d"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _cookies() -> DeviceCookies:
    return DeviceCookies(current_app.config["SECRET_KEY"])


def visitor() -> Device:
    """This browser as the server knows it: the device its signed cookie names, else a new one (fresh) in the
    household of its network today. A chosen or forged cookie value is a new visitor, never the id it names."""
    if "device" not in g:
        device = _cookies().read(request.cookies.get(COOKIE))
        if device is None:
            secret = current_app.config["SECRET_KEY"]
            device = _cookies().mint(network_household(network_of(request.remote_addr), secret, _now()))
        g.device = device
    return g.device


def device_id() -> str:
    """This browser's device id (see visitor)."""
    return visitor().id


def adopt_household(household: str) -> None:
    """A fresh browser turned out to belong to a household already seen here today: remember it in its cookie."""
    device = visitor()
    if device.fresh and household != device.household:
        g.device = Device(device.id, household, fresh=True)


def remember_device(response: Response) -> Response:
    """Set the signed device cookie when this visit minted one (one year, first party, not readable by scripts)."""
    device: Device | None = g.get("device")
    if device is not None and device.fresh:
        response.set_cookie(COOKIE, _cookies().value(device), max_age=365 * 86400, httponly=True, samesite="Lax",
                            secure=request.is_secure)
    return response


def scan_context(*, with_device: bool = True, client_id: int | None = None,
                 province_code: str | None = None) -> ScanContext:
    """The scan's context from the request, made anonymous. Without a device (the API), the household is the
    API client's own (client_id, when it sent a token) or its network's for the day. province_code only ever
    comes from the shopper's explicit choice (a form they filled in), never from a query parameter."""
    now, secret = _now(), current_app.config["SECRET_KEY"]
    network = network_of(request.remote_addr)
    if with_device:
        device = visitor()
        who, household, fresh = device.id, device.household, device.fresh
    elif client_id is not None:
        who, household, fresh = None, client_household(client_id, secret), False
    else:
        who, household, fresh = None, network_household(network, secret, now), True
    return ScanContext(device=who, net_hash=network_hash(network, secret, now),
                       ua_family=ua_family(request.headers.get("User-Agent")), province_code=province_code,
                       fresh=fresh, household=household)


def copy_rules() -> Rules:
    """The configured copy-detection thresholds (checked at start-up)."""
    return Rules.from_config(current_app.config.get("COPY_RULES"))


def limits() -> Limits:
    """The configured verification limits (checked at start-up)."""
    return Limits.from_config(current_app.config.get("VERIFY_LIMITS"))


def throttle(context: ScanContext) -> None:
    """Refuse (429 with Retry-After) a verification over its network's or device's limit for the window."""
    rules = limits()
    net = context.net_hash or "-"
    checks = [(f"net:{net}", rules.per_network)]
    if context.fresh:
        checks.append((f"fresh:{net}", rules.fresh_per_network))
    else:
        checks.append((f"hh:{context.device or context.household}", rules.per_device))
    if current_app.config.get("DATABASE_URL"):  # several nodes: one count for all of them
        shared = current_app.extensions.setdefault("ocop_stamp.shared_throttle", SharedThrottle())
        wait = shared.hit(get_storage(), checks, rules.window_seconds)
    else:
        counters = current_app.extensions.setdefault("ocop_stamp.throttle", Throttle())  # one per app (and test)
        wait = counters.hit(checks, rules.window_seconds)
    if wait:
        raise TooManyRequests(retry_after=wait)


def shared_province(value: str | None) -> str | None:
    """A province code the shopper chose to share, if it is a real one."""
    return value if value and places.province(value) else None


def run_check(code: str, source: str, *, with_device: bool = True, record: bool = True,
              client_id: int | None = None) -> checker.Outcome:
    """Verify a code for this request; record it as a shopper's scan unless record=False (inspectors).

    Only a signed QR opened on the page, or an API client with its own token, is evidence for the copy rules:
    a typed serial or an anonymous API look-up is recorded but can never make a stamp look copied."""
    context = scan_context(with_device=with_device, client_id=client_id)
    if record:
        throttle(context)
    evidence = source == "qr" or (source == "api" and client_id is not None)
    outcome = checker.verify(get_storage(), keystore().records(), code, source=source, context=context,
                             rules=copy_rules(), record=record, evidence=evidence,
                             host=current_app.config["PUBLIC_HOST"])
    if with_device and outcome.household:
        adopt_household(outcome.household)
    return outcome
