"""The verification page: the URL inside a stamp's QR code (any letter case) and the typed-serial check."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from flask import abort, current_app, jsonify, render_template, request, url_for
from werkzeug.wrappers import Response

from stamp_service import readiness
from stamp_service.auth.access import public
from stamp_service.context import get_storage
from stamp_service.i18n import current_language, has_text
from stamp_service.registry import places
from stamp_service.signing_keys import keystore
from stamp_service.stamps.serials import format_serial
from stamp_service.verification import checker, scans as scan_rows
from stamp_service.verification.requests import device_id, remember_device, run_check, shared_province
from stamp_service.verification.verdicts import BAD, MUTED
from stamp_service.vn_time import VIETNAM

from . import bp, inline_style

NO_CACHE = {"Cache-Control": "no-store, max-age=0", "Pragma": "no-cache"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
inline_style.policy()  # hashed once, at start-up


@bp.context_processor
def shopper_page() -> dict[str, Any]:
    """What every shopper's page shows: its inline stylesheet, and who runs it on which official host."""
    return {"inline_css": inline_style.css(), "office_name": current_app.config["OFFICE_NAME"],
            "official_host": current_app.config["PUBLIC_HOST"]}


@bp.after_request
def allow_inline_style(response: Response) -> Response:
    """The site's policy, plus the hash of the inline stylesheet these pages carry (never 'unsafe-inline')."""
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", inline_style.policy())
    return response


def checked_at(moment: dt.datetime, lang: str) -> str:
    """The time of this check in Vietnam, so that a screenshot shows its age: 14:32, 03/12/2026 (Vietnamese),
    14:32, 3 Dec 2026 (English)."""
    local = moment.astimezone(VIETNAM)
    if lang == "vi":
        return local.strftime("%H:%M, %d/%m/%Y")
    return f"{local:%H:%M}, {local.day} {_MONTHS[local.month - 1]} {local.year}"


def tel_link(number: str | None) -> str | None:
    """A phone number as written (0203 3 835 000) as a tel: URL (tel:02033835000); None if it has no digits."""
    digits = re.sub(r"[^0-9+]", "", number or "")
    return f"tel:{digits}" if re.search(r"[0-9]{3}", digits) else None


def report_title(verdict: str) -> str:
    """The catalog key of the report form's title for a verdict: a recall is reported otherwise than a fake."""
    key = f"public.report_title.{verdict}"
    return key if has_text(key) else "public.report_title"


def _page(outcome: checker.Outcome, code: str) -> Response:
    commune = places.commune(outcome.claims.origin_commune) if outcome.claims else None
    verdict = outcome.verdict.name
    hotline = current_app.config["OFFICE_HOTLINE"]
    html = render_template("verify_web/result.html", o=outcome, code=code, commune=commune,
                           serial_text=format_serial(outcome.claims.serial) if outcome.claims else None,
                           provinces=places.provinces_by_name(), bad=verdict in BAD, muted=verdict in MUTED,
                           report_title=report_title(verdict),
                           checked_at=checked_at(dt.datetime.now(dt.timezone.utc), current_language()),
                           hotline=hotline, hotline_tel=tel_link(hotline),
                           producer_tel=tel_link(outcome.producer["phone"]) if outcome.producer else None)
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
                               provinces=places.provinces_by_name())
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
    scan_rows.share_province(storage, scan, province)
    return remember_device(Response(render_template("verify_web/shared.html", ok=True), mimetype="text/html"))


@bp.route("/xem/<any(product, decision):kind>/<int:item_id>")
@public
def picture(kind: str, item_id: int) -> Response:
    """A product's photo or a decision's scan at full size, on a page of ours: a bare image opened in Chromium
    is laid out by the browser's own inline style, which our Content-Security-Policy refuses. The image's URL
    names its version, so a replaced photo is never served from a browser's day-long cache."""
    storage = get_storage()
    if kind == "product":
        row = storage.get("products", item_id)
        src = url_for("portal.product_image", product_id=item_id, v=row["image"][:8]) if row and row["image"] else None
        title = row["name"] if row else ""
    else:
        row = storage.get("recognitions", item_id)
        src = url_for("portal.decision_scan", rec_id=item_id, v=row["decision_scan"][:8]) if row and row["decision_scan"] else None
        title = row["decision_number"] if row else ""
    if src is None:
        abort(404)
    html = render_template("verify_web/picture.html", kind=kind, src=src, title=title)
    return Response(html, mimetype="text/html")
