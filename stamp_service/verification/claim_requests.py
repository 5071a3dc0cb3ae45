"""The claim flow for the current request, shared by the page, the API and the SMS gateway: the configured
limits, and one call that checks a hidden code and, beside it, the stamp's verdict at this moment."""

from __future__ import annotations

from flask import current_app

from ..context import get_storage
from ..signing_keys import keystore
from ..stamps.codec import looks_like_qr_text
from . import checker, claims
from .requests import copy_rules, run_check
from .scans import ScanContext


def limits() -> claims.Limits:
    """The configured guessing limits (checked at start-up)."""
    return claims.Limits.from_config(current_app.config.get("CLAIM_LIMITS"))


def run_claim(code: str, hidden_code: str | None, *, channel: str, context: ScanContext,
              sender_hash: str | None = None) -> tuple[claims.ClaimResult, checker.Outcome]:
    """Check a hidden code (raises a ClaimError) and the stamp's verdict now, without counting a scan: a bad
    verdict (recalled, void, revoked key, ...) must stand beside even a "first" claim."""
    result = claims.claim(get_storage(), keystore(), code, hidden_code, channel=channel, context=context,
                          limits=limits(), sender_hash=sender_hash)
    source = "qr" if looks_like_qr_text(code.strip()) else "typed"
    outcome = run_check(code, source, with_device=context.device is not None, record=False)
    return result, outcome


def verdict_for_sms(code: str, context: ScanContext) -> checker.Outcome:
    """Verify a serial texted in, recorded as a typed-serial scan (it is one, by another road)."""
    return checker.verify(get_storage(), keystore().records(), code, source="typed", context=context,
                          rules=copy_rules())
