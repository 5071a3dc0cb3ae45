"""The hidden code typed on the verification page: a short form under the verdict, answered in words."""

from __future__ import annotations

from flask import render_template, request, url_for
from werkzeug.wrappers import Response

from stamp_service.auth.access import public
from stamp_service.registry import places
from stamp_service.verification import claims
from stamp_service.verification.claim_requests import run_claim
from stamp_service.verification.requests import remember_device, scan_context, shared_province
from stamp_service.verification.verdicts import GOOD

from . import bp
from .pages import NO_CACHE

# A typing slip or a wrong code gets the form again; the other refusals have nothing to retry.
RETRY = (claims.HiddenCodeFormat,)


def back_to_stamp(code: str) -> str | None:
    """The page the code came from: the stamp's own address, or the typed-serial check."""
    if code.upper().startswith("S/"):
        return "/" + code
    return url_for("verify_web.typed", serial=code) if code.strip() else None


@bp.route("/claim", methods=["POST"])
@public
def claim() -> Response:
    """Check the hidden code a shopper typed (with the province they chose to share, if any)."""
    code = request.form.get("code", "")[:600]
    context = scan_context(province_code=shared_province(request.form.get("tinh")))
    status, headers = 200, dict(NO_CACHE)
    result = outcome = error = None
    try:
        result, outcome = run_claim(code, request.form.get("hidden_code", "")[:40], channel="web", context=context)
    except claims.ClaimError as exc:
        status, error = exc.status, exc
        if isinstance(exc, claims.Limited):
            headers["Retry-After"] = str(exc.retry_after)
    retry = isinstance(error, RETRY) or (result is not None and result.result == "wrong-code")
    back = back_to_stamp(code)
    html = render_template("verify_web/claim.html", result=result, o=outcome, error=error, code=code,
                           good=outcome is not None and outcome.verdict.name in GOOD, retry=retry, back=back,
                           provinces=places.provinces_by_name() if retry else [],
                           # the language switch reloads the page it is on, and /claim answers POST only
                           lang_next=back or url_for("verify_web.index"))
    return remember_device(Response(html, status=status, mimetype="text/html", headers=headers))
