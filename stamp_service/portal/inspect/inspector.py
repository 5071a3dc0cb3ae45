"""Inspectors in a shop: check stamps by camera, photo or typed serial, and see everything about a stamp."""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, g, redirect, render_template, request, send_from_directory, url_for
from werkzeug.wrappers import Response

from stamp_service.auth.access import roles
from stamp_service.context import get_storage
from stamp_service.inspection import history, shelf, visits
from stamp_service.inspection.decode import FoundCode, read_photo_codes
from stamp_service.media_gate import upload_slot
from stamp_service.registry import batches, places, producers, products, recognitions
from stamp_service.registry.fields import Invalid
from stamp_service.signing_keys import keystore
from stamp_service.verification import checker, suspicions, tallies
from stamp_service.verification.requests import copy_rules, run_check

from . import bp

STAFF = ("inspector", "admin")
MAX_CODES = 50  # a shelf photo holds a few dozen stamps at most


def media_dir(kind: str) -> Path:
    """Where uploaded photos of one kind (reports, cases, visits) are kept."""
    return Path(current_app.instance_path) / "media" / kind


def _check(code: str) -> checker.Outcome:
    """An inspector's check: the same verdict a shopper would get, not counted as a shopper's scan."""
    return run_check(code, "typed", record=False)


def _my_visit():
    return visits.open_visit(get_storage(), g.identity.user_id)


def _results(found: list[tuple[str, checker.Outcome, FoundCode | None]], photo: str | None = None,
             error: str | None = None, status: int = 200):
    visit = _my_visit()
    if visit is not None:
        for code, outcome, _ in found:
            visits.add_check(get_storage(), visit, code, outcome, photo=photo)
    results = shelf.by_severity(found)
    marked = None
    if photo and results:
        with upload_slot():
            marked = shelf.mark_up(media_dir("visits") / photo, results, media_dir("visits"))
    return render_template("inspect/results.html", results=results, summary=shelf.summary(results), visit=visit,
                           marked=marked, error=error), status


@bp.route("/inspect/")
@roles(*STAFF)
def inspect_home() -> str:
    """The inspector's start page: the visit in progress and three ways to check a stamp."""
    visit = _my_visit()
    recent = visits.checks(get_storage(), visit["id"])[-10:] if visit else []
    return render_template("inspect/home.html", visit=visit, recent=recent, provinces=places.provinces())


@bp.route("/inspect/check", methods=["POST"])
@roles(*STAFF)
def inspect_check():
    """Check a code read by the camera or typed from the label."""
    code = request.form.get("code", "").strip()[:2000]
    if not code:
        return _results([], error="error.required", status=400)
    return _results([(code, _check(code), None)])


@bp.route("/inspect/photo", methods=["POST"])
@roles(*STAFF)
def inspect_photo():
    """Check every stamp in a photo: the server finds each QR code and verifies it; the results come most serious
    first, counted, with the photo marked by number where each code is."""
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return _results([], error="error.image_empty", status=400)
    data = upload.read()
    try:
        with upload_slot():
            codes, photo = read_photo_codes(data, media_dir("visits"),
                                            max_pixels=current_app.config["MAX_PHOTO_PIXELS"])
    except Invalid as exc:
        return _results([], error=exc.message.key, status=400)
    if not codes:
        return _results([], photo=photo, error="error.no_code_found", status=200)
    return _results([(c.text, _check(c.text), c) for c in codes[:MAX_CODES]], photo=photo)


@bp.route("/inspect/stamps/<int:serial>")
@roles(*STAFF)
def stamp_detail(serial: int) -> str:
    """Everything about one stamp: claims, key, certificates, run and state, every scan, signals, reports, cases."""
    detail = history.stamp_history(get_storage(), keystore().records(), serial, copy_rules())
    if detail is None:
        abort(404)
    return render_template("inspect/stamp.html", d=detail)


@bp.route("/inspect/suspicions/<int:suspicion_id>/dismiss", methods=["POST"])
@roles(*STAFF)
def suspicion_dismiss(suspicion_id: int) -> Response:
    """An inspector found no copy behind a raised suspicion: the stamp's verdict follows its evidence again."""
    storage = get_storage()
    row = storage.get("suspicions", suspicion_id)
    if row is None:
        abort(404)
    if row["status"] == "open":
        suspicions.dismiss(storage, suspicion_id, g.identity.user_id)
    return redirect(url_for("inspect.stamp_detail", serial=row["serial"]), code=303)


@bp.route("/inspect/batches/<int:batch_id>")
@roles(*STAFF)
def batch_overview(batch_id: int) -> str:
    """A batch: its runs, scans over time, verdict mix, most-scanned stamps and cases."""
    storage = get_storage()
    batch = batches.get(storage, batch_id)
    product = products.get(storage, batch["product_id"])
    return render_template("inspect/batch.html", batch=batch, product=product,
                           producer=producers.get(storage, product["producer_id"]),
                           s=history.batch_summary(storage, batch_id))


@bp.route("/inspect/producers/<int:producer_id>")
@roles(*STAFF)
def producer_overview(producer_id: int) -> str:
    """A producer: products with their certificates, batches with their scans and suspicious verdicts."""
    storage = get_storage()
    producer = producers.get(storage, producer_id)
    rows = products.list_all(storage, producer_id=producer_id)
    current = recognitions.current_for(storage, [p["id"] for p in rows])
    batch_rows = batches.list_all(storage, producer_id=producer_id)
    counts = {b["id"]: tallies.per_verdict(storage, batch_id=b["id"]) for b in batch_rows}
    return render_template("inspect/producer.html", producer=producer, products=rows, current=current,
                           standing=recognitions.standing, batches=batch_rows, counts=counts)


@bp.route("/inspect/media/<any(visits, cases, reports):kind>/<name>")
@roles(*STAFF)
def inspect_media(kind: str, name: str) -> Response:
    """A photo attached to a visit, a case or a shopper's report (staff only: they may show people or shops)."""
    if not name.endswith(".jpg") or "/" in name or name.startswith("."):
        abort(404)
    return send_from_directory(media_dir(kind), name, mimetype="image/jpeg")
