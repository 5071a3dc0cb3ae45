"""Claiming a stamp's hidden code through the API: the page's answer, as JSON, with the verdict beside it."""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from ..auth.access import public
from ..http_errors import error_answer
from ..i18n import Message
from ..registry.fields import ValidationError
from ..verification import claims
from ..verification.claim_requests import run_claim
from ..verification.requests import scan_context, shared_province
from . import bp
from .body import json_object

NO_CACHE = {"Cache-Control": "no-store, max-age=0"}
MAX_BODY = 8 * 1024  # two short strings: a bigger body is refused (413) before it is read


def claim_error(exc: claims.ClaimError) -> Response:
    """A refused claim as the API's JSON error (Retry-After when it was limited), never cached."""
    response = error_answer(exc)
    response.headers.update(NO_CACHE)
    return response


@bp.route("/claim", methods=["POST"])
@public
def claim() -> Response:
    """Check the hidden code under a stamp's scratch-off foil (JSON or form: code, hidden_code, province_code):
    {"result", "claimed_at", "claimed_province", "serial_text", "verdict", "reasons"}."""
    request.max_content_length = MAX_BODY
    values = claims.INPUT.clean(json_object() if request.is_json else request.form)
    province = shared_province(values.get("province_code"))
    if values.get("province_code") and province is None:
        raise ValidationError({"province_code": Message("error.choice")})
    try:
        result, outcome = run_claim(values["code"], values["hidden_code"], channel="api",
                                    context=scan_context(with_device=False, province_code=province))
    except claims.ClaimError as exc:
        return claim_error(exc)
    response = jsonify({**result.as_json(), "verdict": outcome.verdict.name,
                        "reasons": [r.as_dict() for r in outcome.verdict.reasons]})
    response.headers.update(NO_CACHE)
    return response
