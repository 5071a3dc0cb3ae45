"""Cases in the inspector's pages: flag a stamp, a range or a batch; confirm, dismiss, add notes and photos."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for

from stamp_service.auth.access import roles
from stamp_service.context import get_storage
from stamp_service.i18n import gettext
from stamp_service.inspection import case_history, cases
from stamp_service.media import store_image
from stamp_service.media_gate import upload_slot
from stamp_service.registry.fields import Invalid, ValidationError
from stamp_service.registry.records import require

from . import bp
from .inspector import STAFF, media_dir


def _flash_error(exc: ValidationError) -> None:
    flash(" ".join([exc.message.render(), *exc.render().values()]), "error")


@bp.route("/inspect/cases", methods=["GET", "POST"])
@roles(*STAFF)
def case_list():
    """GET: cases by status; POST: open a case (from a stamp, a range of a run or a batch)."""
    storage = get_storage()
    if request.method == "POST":
        try:
            case = cases.create(storage, request.form, user_id=g.identity.user_id, role=g.identity.role)
        except ValidationError as exc:
            _flash_error(exc)
            return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                            else url_for("inspect.case_list"))
        flash(gettext("case.opened", id=case["id"]), "success")
        return redirect(url_for("inspect.case_detail", case_id=case["id"]))
    status = request.args.get("status")
    rows = storage.find("cases", order_by="id DESC", limit=300,
                        **({"status": status} if status in cases.STATUSES else {}))
    return render_template("inspect/cases.html", cases=rows, status=status, statuses=cases.STATUSES)


@bp.route("/inspect/cases/<int:case_id>", methods=["GET", "POST"])
@roles(*STAFF)
def case_detail(case_id: int):
    """A case: its target, status, notes, photos and history; POST changes status or notes or adds a photo."""
    storage = get_storage()
    case = require(storage, "cases", case_id, "case")
    if request.method == "POST":
        try:
            # notes may be emptied on purpose; an empty status or title means "unchanged"
            changes = {k: v for k, v in request.form.items() if k in ("status", "title") and v != ""}
            if changes.get("status") == case["status"]:  # e.g. 'pending' shown selected: not a new confirmation
                del changes["status"]
            if "notes" in request.form:
                changes["notes"] = request.form["notes"]
            upload = request.files.get("photo")
            has_photo = upload is not None and bool(upload.filename)
            with storage.transaction():  # a refused change saves no photo either
                if changes or not has_photo:
                    cases.update(storage, case_id, changes, user_id=g.identity.user_id, role=g.identity.role)
                if has_photo:
                    try:
                        with upload_slot():
                            name = store_image(upload.stream, media_dir("cases"),
                                               max_pixels=current_app.config["MAX_IMAGE_PIXELS"])
                    except Invalid as exc:
                        raise ValidationError({"photo": exc.message}) from None
                    storage.insert("case_photos", {"case_id": case_id, "file": name})
        except ValidationError as exc:
            _flash_error(exc)
        else:
            flash(gettext("flash.saved"), "success")
        return redirect(url_for("inspect.case_detail", case_id=case_id))
    photos = storage.find("case_photos", case_id=case_id, order_by="id")
    batch = storage.get("batches", case["batch_id"])
    product = storage.get("products", batch["product_id"]) if batch else None
    statuses = cases.STATUSES if case["status"] == "pending" else cases.CHOSEN
    return render_template("inspect/case.html", case=case, photos=photos, batch=batch, product=product,
                           statuses=statuses, history=case_history.events(storage, case_id))
