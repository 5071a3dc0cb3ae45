"""Scans of the office's recognition decisions: uploaded by the office, public (the shopper's page links to the
decision behind the stars). Images only, through the same upload gate as every image: checked, re-encoded."""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, request, send_from_directory, url_for
from werkzeug.wrappers import Response

from ..auth.access import public, roles
from ..context import get_storage
from ..media import store_image
from ..media_gate import upload_slot
from ..registry import products, recognitions
from ..registry.fields import Invalid, ValidationError
from . import bp
from .forms import form_page

DOCUMENT_SIDE = 2000  # an A4 page's small print stays legible (product photos are kept at 800)


def scan_folder() -> Path:
    """Where decision scans are stored."""
    return Path(current_app.instance_path) / "media" / "decisions"


@bp.route("/portal/recognitions/<int:rec_id>/scan", methods=["GET", "POST"])
@roles("admin")
def decision_scan_upload(rec_id: int) -> Response | tuple[str, int]:
    """Upload (or replace) the scan of a recognition's decision."""
    storage = get_storage()
    rec = recognitions.get(storage, rec_id)

    def save(_data: dict) -> dict:
        upload = request.files.get("scan")
        if upload is None or not upload.filename:
            raise ValidationError.single("scan", "error.required")
        try:
            with upload_slot():
                name = store_image(upload.stream, scan_folder(), max_pixels=current_app.config["MAX_IMAGE_PIXELS"],
                                   max_side=DOCUMENT_SIDE)
        except Invalid as exc:
            raise ValidationError({"scan": exc.message}) from None
        return recognitions.set_decision_scan(storage, rec_id, name)

    return form_page("portal/decision_scan_form.html", save, initial={},
                     done=lambda row: url_for("portal.product_detail", product_id=row["product_id"]),
                     recognition=rec, product=products.get(storage, rec["product_id"]))


@bp.route("/media/decisions/<int:rec_id>.jpg")
@public
def decision_scan(rec_id: int) -> Response:
    """A recognition decision's scan (public: a published administrative decision); 404 when none."""
    rec = get_storage().get("recognitions", rec_id)
    if rec is None or not rec["decision_scan"]:
        abort(404)
    response = send_from_directory(scan_folder(), rec["decision_scan"], mimetype="image/jpeg", max_age=3600)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
