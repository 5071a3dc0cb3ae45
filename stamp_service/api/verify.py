"""Public verification API: the same verdict as the page, as JSON, for apps and third parties."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from werkzeug.wrappers import Response

from ..auth.access import load_identity, public
from ..i18n import Message
from ..registry import places
from ..registry.fields import ValidationError
from ..stamps import claims as stamp_claims
from ..stamps.serials import format_serial
from ..verification.checker import Outcome
from ..verification.claims import claim_json
from ..verification.requests import run_check
from . import bp

NO_CACHE = {"Cache-Control": "no-store, max-age=0"}
_TEXT = {"type": ["string", "null"]}
# outcome_json's stamp, for the OpenAPI document: the stamp's own claims and what our records add.
STAMP_SCHEMA: dict[str, Any] = {"description": "What the stamp says and our records; null when no stamp of ours. "
                                               "hidden_code: true when it has a scratch-off code to claim "
                                               "(POST /api/v1/claim)", "oneOf": [{"type": "null"}, {
    "allOf": [stamp_claims.JSON_SCHEMA], "required": ["serial_text", "kid", "state", "hidden_code", "certificate"],
    "properties": {
        "serial_text": {"type": "string"}, "kid": {"type": "string"}, "origin": _TEXT, "product": _TEXT,
        "producer": _TEXT, "lot": _TEXT, "state": _TEXT, "hidden_code": {"type": "boolean"},
        "certificate": {"type": ["object", "null"], "properties": {
            "decision_number": {"type": "string"}, "issuing_body": {"type": "string"}, "stars": {"type": "integer"},
            "valid_until": {"type": "string", "format": "date"}, "status": _TEXT},
            "required": ["decision_number", "issuing_body", "stars", "valid_until", "status"]}}}]}


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
