"""Inspection through the API (bearer token, inspector or admin): decode photos, stamp histories, cases."""

from __future__ import annotations

from flask import current_app, g, jsonify, request, url_for
from werkzeug.wrappers import Response

from ..auth.access import needs_scope, roles
from ..context import get_storage
from ..i18n import Message
from ..inspection import case_history, cases, history
from ..inspection.decode import decode_image
from ..media_gate import upload_slot
from ..registry.fields import Invalid, ValidationError
from ..registry.records import require
from ..signing_keys import keystore
from ..stamps.errors import StampError
from ..stamps.signing import serial_of_code
from ..verification import checker
from ..verification.requests import copy_rules, run_check
from . import bp
from .body import json_object
from .verify import outcome_json

STAFF = ("inspector", "admin")
MAX_CODES = 50


def _check(code: str) -> checker.Outcome:
    """An inspector's check through the API: not counted as a shopper's scan."""
    return run_check(code, "api", with_device=False, record=False)


@bp.route("/decode", methods=["POST"])
@roles(*STAFF)
@needs_scope("inspect")
def decode() -> Response:
    """Every QR code in a photo (multipart field "image"), each with its verdict: {"codes": [...]}."""
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        raise ValidationError.single("image", "error.required")
    try:
        with upload_slot():
            texts = decode_image(upload.read(), max_pixels=current_app.config["MAX_PHOTO_PIXELS"])
    except Invalid as exc:
        raise ValidationError({"image": exc.message}) from None
    return jsonify(codes=[{"text": text, **outcome_json(_check(text))} for text in texts[:MAX_CODES]])


def _serial_of(code: str) -> int:
    """The serial a QR text or a typed serial names; raises ValidationError."""
    try:
        return serial_of_code(code, keystore().records(), bare_number_ok=True)
    except StampError as exc:
        raise ValidationError({"code": Message("error.serial_typed", {"detail": exc.message})}) from None


@bp.route("/stamps/history")
@roles(*STAFF)
@needs_scope("inspect")
def stamp_history() -> Response:
    """A stamp's full detail with {"scans": [...]}: ?code=<QR text or serial>."""
    code = request.args.get("code", "")
    if not code.strip():
        raise ValidationError.single("code", "error.required")
    detail = history.stamp_history(get_storage(), keystore().records(), _serial_of(code[:2000]), copy_rules())
    if detail is None:
        raise ValidationError.single("code", "error.serial_unknown")
    return jsonify(detail)


@bp.route("/cases", methods=["GET"])
@roles(*STAFF)
@needs_scope("inspect")
def case_list() -> Response:
    """Cases, newest first (?status=suspected|pending|confirmed|dismissed)."""
    status = request.args.get("status")
    if status is not None and status not in cases.STATUSES:
        raise ValidationError.single("status", "error.choice")
    rows = get_storage().find("cases", order_by="id DESC", limit=1000, **({"status": status} if status else {}))
    return jsonify(items=rows)


@bp.route("/cases", methods=["POST"])
@roles(*STAFF)
@needs_scope("inspect")
def case_create() -> tuple[Response, int, dict[str, str]]:
    """Open a case: {"kind": "stamp", "serial": ...} | {"kind": "range", "run_id", "serial_from", "serial_to"} |
    {"kind": "batch", "batch_id"}, with "title", optional "status" and "notes"; a range or batch an inspector
    opens as confirmed is "pending" until an admin or another inspector confirms it."""
    case = cases.create(get_storage(), json_object(), user_id=g.identity.user_id, role=g.identity.role, strict=True)
    return jsonify(case), 201, {"Location": url_for("api.case_get", case_id=case["id"])}


@bp.route("/cases/<int:case_id>", methods=["GET"])
@roles(*STAFF)
@needs_scope("inspect")
def case_get(case_id: int) -> Response:
    """One case with its photos and its history (who opened, confirmed, dismissed or edited it, and when)."""
    storage = get_storage()
    case = require(storage, "cases", case_id, "case")
    return jsonify({**case, "photos": [p["file"] for p in storage.find("case_photos", case_id=case_id)],
                    "history": case_history.events(storage, case_id)})


@bp.route("/cases/<int:case_id>", methods=["PATCH"])
@roles(*STAFF)
@needs_scope("inspect")
def case_update(case_id: int) -> Response:
    """Change a case's status, title or notes (confirming a range or batch takes an admin or a second inspector)."""
    storage = get_storage()
    require(storage, "cases", case_id, "case")
    return jsonify(cases.update(storage, case_id, json_object(), user_id=g.identity.user_id, role=g.identity.role,
                                strict=True))
