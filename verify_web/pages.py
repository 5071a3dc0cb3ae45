"""The verification page: the URL inside a stamp's QR code (any letter case) and the typed-serial check."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, jsonify, render_template, request
from werkzeug.wrappers import Response

from stamp_service import readiness
from stamp_service.auth.access import public
from stamp_service.context import get_storage
from stamp_service.registry import places
from stamp_service.signing_keys import keystore
from stamp_service.stamps.serials import format_serial
from stamp_service.verification import checker
from stamp_service.verification.requests import device_id, remember_device, run_check, shared_province

from . import bp

NO_CACHE = {"Cache-Control": "no-store, max-age=0", "Pragma": "no-cache"}


def _page(outcome: checker.Outcome, code: str) -> Response:
    commune = places.commune(outcome.claims.origin_commune) if outcome.claims else None
    html = render_template("verify_web/result.html", o=outcome, code=code, commune=commune,
                           serial_text=format_serial(outcome.claims.serial) if outcome.claims else None,
                           provinces=places.provinces())
    status = 200
    response = Response(html, status=status, mimetype="text/html", headers=NO_CACHE)
    return remember_device(response)


@bp.route("/<any(S, s):short>/<path:payload>")
@public
def stamp(short: str, payload: str) -> Response:
    """A scanned stamp: the verdict at a glance, then what the stamp and our records say."""
    code = f"S/{payload}"
    return _page(run_check(code, "qr"), code)


@bp.route("/check")
@public
def typed() -> Response:
    """The serial typed from the label when the camera fails: the same verdict as scanning."""
    serial = request.args.get("serial", "")[:40]
    if not serial.strip():
        return remember_device(Response(render_template("verify_web/index.html", error=None), mimetype="text/html"))
    return _page(run_check(serial, "typed"), serial)


@bp.route("/")
@public
def index() -> str:
    """What an OCOP stamp is, and a box to type the serial printed under the QR code."""
    return render_template("verify_web/index.html", error=None)


@bp.route("/healthz")
@public
def health() -> Response:
    """Liveness for load balancers: answers without touching the database."""
    return jsonify(status="ok")


@bp.route("/readyz")
@public
def ready() -> Response | tuple[Response, int]:
    """Readiness for load balancers: 503 while a scan could not be recorded (read-only or full storage)."""
    results = readiness.checks(get_storage(), Path(current_app.instance_path),
                               int(current_app.config["READY_MIN_FREE_MB"]))
    if all(value == "ok" for value in results.values()):
        return jsonify(status="ready")
    response = jsonify(status="not-ready", checks=results)
    response.headers["Retry-After"] = "30"
    return response, 503


@bp.route("/.well-known/jwks.json")
@public
def jwks() -> Response:
    """Our public keys (kid, status, issuing window) for offline verifiers; never cached past a revocation."""
    response = jsonify(keystore().jwks())
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/scan-province", methods=["GET", "POST"])
@public
def share_province() -> Response:
    """The shopper chose to say which province they are in: added to their own scan, nothing else."""
    from stamp_service.registry.fields import Field, Schema

    if request.method == "GET":
        scan_id = request.args.get("scan", "")
        html = render_template("verify_web/share.html", scan_id=scan_id if scan_id.isdigit() else "",
                               provinces=places.provinces())
        return remember_device(Response(html, mimetype="text/html", headers=NO_CACHE))
    values = Schema("Share", (Field("scan_id", "integer", required=True, minimum=1),
                              Field("tinh", max_length=2, required=True))).clean(request.form)
    storage = get_storage()
    scan = storage.get("scans", values["scan_id"])
    province = shared_province(values["tinh"])
    # Only the device that made the scan may annotate it, once, and only with a real province.
    if scan is None or province is None or scan["device"] != device_id() or scan["province_code"]:
        return remember_device(Response(render_template("verify_web/shared.html", ok=False), status=400,
                                        mimetype="text/html"))
    storage.update("scans", scan["id"], {"province_code": province})
    return remember_device(Response(render_template("verify_web/shared.html", ok=True), mimetype="text/html"))
