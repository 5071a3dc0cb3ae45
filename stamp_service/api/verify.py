"""Public verification API: the same verdict as the page, as JSON, for apps and third parties."""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from ..auth.access import load_identity, public
from ..i18n import Message
from ..registry import places
from ..registry.fields import ValidationError
from ..stamps.serials import format_serial
from ..verification.checker import Outcome
from ..verification.claims import claim_json
from ..verification.requests import run_check
from . import bp

NO_CACHE = {"Cache-Control": "no-store, max-age=0"}


def outcome_json(o: Outcome) -> dict:
    """The verification outcome as the API returns it."""
    stamp = None
    if o.claims is not None:
        commune = places.commune(o.claims.origin_commune)
        stamp = {
            **o.claims.as_dict(), "serial_text": format_serial(o.claims.serial), "kid": o.kid,
            "origin": commune.display("vi") if commune else None,
            "product": o.product["name"] if o.product else None,
            "producer": o.producer["name"] if o.producer else None,
            "lot": o.batch["lot"] if o.batch else None,
            "state": o.serial_state,
            "hidden_code": bool(o.run and o.run["hidden_code"]),
            "certificate": None if o.recognition is None else {
                "decision_number": o.recognition["decision_number"], "issuing_body": o.recognition["issuing_body"],
                "stars": o.recognition["stars"], "valid_until": o.recognition["valid_until"],
                "status": o.standing.status if o.standing else None},
        }
    return {"verdict": o.verdict.name, "verified_by": o.verified_by if o.claims is not None else None,
            "reasons": [r.as_dict() for r in o.verdict.reasons], "scan_id": o.scan_id,
            "scan_count": o.scan_count, "first_scan": o.first_scan, "stamp": stamp, "claim": claim_json(o.claim)}


@bp.route("/verify")
@public
def verify() -> tuple[Response, int, dict[str, str]]:
    """Verify ?code=<QR text or typed serial>: {"verdict", "reasons", "scan_count", "first_scan", "stamp"}."""
    code = request.args.get("code", "")
    if not code.strip() or len(code) > 2000:
        raise ValidationError({"code": Message("error.required" if not code.strip() else "error.too_long", {"max": 2000})})
    # A client with its own token is one identity whose look-ups may count for the copy rules; anonymous look-ups
    # are recorded but never count (anyone can send them, from anywhere, with any code).
    identity = load_identity()
    client = identity.user_id if identity is not None else None
    return jsonify(outcome_json(run_check(code, "api", with_device=False, client_id=client))), 200, NO_CACHE
