"""Report a suspected fake: a short form on the verification page, rate-limited, stored for inspectors."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from flask import current_app, render_template, request
from werkzeug.wrappers import Response

from stamp_service.auth.access import public
from stamp_service.context import get_storage
from stamp_service.inspection import reports as report_inbox
from stamp_service.media import store_image
from stamp_service.media_gate import upload_slot
from stamp_service.registry.fields import Field, Invalid, Schema, ValidationError
from stamp_service.stamps.errors import StampError
from stamp_service.signing_keys import keystore
from stamp_service.stamps.signing import serial_of_code
from stamp_service.verification.requests import remember_device, scan_context
from stamp_service.verification.scans import iso

from . import bp

SCHEMA = Schema("Report", (
    Field("what", "text", required=True, max_length=1000),
    Field("where_bought", max_length=300),
    Field("contact", max_length=120),
    Field("code", max_length=600),
))
PER_DEVICE_PER_HOUR = 3
PER_NETWORK_PER_HOUR = 10


def _serial_of(code: str | None) -> int | None:
    """The serial the reported code names: a signed QR text of ours, or a typed serial (else None: a forgery
    names no stamp of ours, so the report keeps only the code)."""
    if not code:
        return None
    try:
        return serial_of_code(code, keystore().records())
    except StampError:
        return None


def _sent_since(since: str, **who: str) -> int:
    """Reports sent since a time by one device or network, counting those refused for their photo."""
    storage = get_storage()
    return (len(storage.find_since("reports", "at", since, **who))
            + len(storage.find_since("rejected_reports", "at", since, **who)))


@bp.route("/report", methods=["GET"])
@public
def report_form() -> Response:
    """The report form for a product that does not match its genuine-looking stamp (linked from that page)."""
    code = request.args.get("code", "")[:600]
    # Back to the stamp only for a stamp path of ours (S/ and digits), never a link made up in the query string.
    back = f"/{code}" if re.fullmatch(r"[Ss]/[0-9]+", code) else None
    html = render_template("verify_web/report_form.html", code=code, back=back)
    return remember_device(Response(html, mimetype="text/html", headers={"Cache-Control": "no-store"}))


@bp.route("/report", methods=["POST"])
@public
def report() -> tuple[Response, int] | Response:
    """Store a shopper's report (what, where bought, optional photo and contact)."""
    form = request.form
    status, errors = 200, {}
    context = scan_context()
    storage = get_storage()
    hour_ago = iso(dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    if form.get("website"):  # a field people never see: only robots fill it in
        status = 400
    elif (_sent_since(hour_ago, device=context.device) >= PER_DEVICE_PER_HOUR
          or (context.net_hash and _sent_since(hour_ago, net_hash=context.net_hash) >= PER_NETWORK_PER_HOUR)):
        status = 429
    else:
        try:
            values = SCHEMA.clean(form)
            photo = request.files.get("photo")
            if photo is not None and photo.filename:
                try:
                    with upload_slot():
                        values["photo"] = store_image(photo.stream,
                                                      Path(current_app.instance_path) / "media" / "reports",
                                                      max_pixels=current_app.config["MAX_IMAGE_PIXELS"])
                except Invalid as exc:
                    # The refused photo still cost a decode attempt: it counts like a report sent.
                    storage.insert("rejected_reports", {"device": context.device, "net_hash": context.net_hash})
                    raise ValidationError({"photo": exc.message}) from None
        except ValidationError as exc:
            status, errors = 400, exc.render()
        else:
            serial = _serial_of(values.get("code"))
            storage.insert("reports", {**values, "serial": serial, **report_inbox.subject_of(storage, serial),
                                       "device": context.device, "net_hash": context.net_hash})
    html = render_template("verify_web/report_done.html", status=status, errors=errors)
    return remember_device(Response(html, status=status, mimetype="text/html")), status
