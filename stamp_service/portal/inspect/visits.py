"""Inspection visits: start one at a shop, check stamps during it, close it, export it as PDF or CSV."""

from __future__ import annotations

import io

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from stamp_service.auth.access import roles
from stamp_service.context import get_storage
from stamp_service.i18n import current_language, gettext
from stamp_service.inspection import visits
from stamp_service.registry.fields import ValidationError
from stamp_service.trace import timeline

from . import bp
from .inspector import STAFF, media_dir


def _scope() -> int | None:
    """Inspectors see their own visits; the provincial office sees all."""
    return None if g.identity.role == "admin" else g.identity.user_id


def _visit(visit_id: int):
    return visits.get(get_storage(), visit_id, inspector_id=_scope())


@bp.route("/inspect/visits", methods=["GET", "POST"])
@roles(*STAFF)
def visit_list():
    """GET: the visits; POST: start a visit at a shop (closing nothing: one open visit at a time)."""
    storage = get_storage()
    if request.method == "POST":
        if visits.open_visit(storage, g.identity.user_id) is not None:
            flash(gettext("visit.already_open"), "error")
            return redirect(url_for("inspect.inspect_home"))
        try:
            visit = visits.start(storage, request.form, inspector_id=g.identity.user_id)
        except ValidationError as exc:
            flash(" ".join([exc.message.render(), *exc.render().values()]), "error")
            return redirect(url_for("inspect.inspect_home"))
        flash(gettext("visit.started", shop=visit["shop"]), "success")
        return redirect(url_for("inspect.inspect_home"))
    where = {} if _scope() is None else {"inspector_id": _scope()}
    rows = storage.find("visits", order_by="id DESC", limit=200, **where)
    counts = {v["id"]: storage.count("visit_checks", visit_id=v["id"]) for v in rows}
    return render_template("inspect/visits.html", visits=rows, counts=counts)


@bp.route("/inspect/visits/<int:visit_id>")
@roles(*STAFF)
def visit_detail(visit_id: int) -> str:
    """A visit with every stamp checked during it."""
    visit = _visit(visit_id)
    return render_template("inspect/visit.html", visit=visit, checks=visits.checks(get_storage(), visit_id))


@bp.route("/inspect/visits/<int:visit_id>/close", methods=["POST"])
@roles(*STAFF)
def visit_close(visit_id: int):
    """End the visit."""
    try:
        visits.close(get_storage(), _visit(visit_id), request.form.get("notes", "")[:2000] or None)
    except ValidationError as exc:
        flash(" ".join([exc.message.render(), *exc.render().values()]), "error")
    return redirect(url_for("inspect.visit_detail", visit_id=visit_id))


def _export_parts(visit_id: int):
    storage = get_storage()
    visit = _visit(visit_id)
    inspector = storage.get("users", visit["inspector_id"])
    return visit, visits.checks(storage, visit_id), {"email": inspector["email"], "name": inspector["name"]}


@bp.route("/inspect/visits/<int:visit_id>/record.csv")
@roles(*STAFF)
def visit_csv(visit_id: int) -> Response:
    """The inspection record as CSV (UTF-8, opens in Excel with Vietnamese intact)."""
    from stamp_service.inspection.record import visit_csv as to_csv

    visit, checks, inspector = _export_parts(visit_id)
    return Response(to_csv(visit, checks, inspector, lang=current_language()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="bien-ban-kiem-tra-{visit_id}.csv"'})


@bp.route("/inspect/visits/<int:visit_id>/record.pdf")
@roles(*STAFF)
def visit_pdf(visit_id: int) -> Response:
    """The inspection record as a PDF in Vietnamese (English with the language switch)."""
    from stamp_service.inspection.record import visit_pdf as to_pdf

    visit, checks, inspector = _export_parts(visit_id)
    out = io.BytesIO()
    trace = timeline.for_serials([c["serial"] for c in checks], current_language())  # the checked batches' records
    to_pdf(visit, checks, inspector, out, lang=current_language(), photos_dir=media_dir("visits"), trace=trace)
    return Response(out.getvalue(), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="bien-ban-kiem-tra-{visit_id}.pdf"'})
