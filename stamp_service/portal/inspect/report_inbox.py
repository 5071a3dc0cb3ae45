"""Shoppers' reports for inspectors and the office: the inbox, one report with its contact, photo and notes,
status and assignee changes, and a case opened from a report.

These pages sit with the inspectors' other pages (cases, visits, stamp history) under /inspect/: the same
STAFF roles, the same phone-first layout, and the staff-only media route that already serves report photos.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from stamp_service.auth.access import roles
from stamp_service.context import get_storage
from stamp_service.i18n import gettext
from stamp_service.inspection import reports
from stamp_service.portal.forms import as_int
from stamp_service.registry import places, products
from stamp_service.registry.fields import ValidationError
from stamp_service.registry.records import require

from . import bp
from .case_pages import _flash_error
from .inspector import STAFF


def _filters() -> dict:
    """The inbox's filters from the query string; anything unknown is ignored, not an error."""
    province = request.args.get("province") or None
    known = {p.code for p in places.provinces()}
    return {"status": request.args.get("status") if request.args.get("status") in reports.STATUSES else None,
            "province_code": province if province in known else None,
            "product_id": as_int(request.args.get("product"))}


@bp.route("/inspect/reports")
@roles(*STAFF)
def report_list() -> str:
    """Every shopper's report, newest first, by status, province (the producer's) and product."""
    storage = get_storage()
    chosen = _filters()
    rows = reports.inbox(storage, **chosen)
    product_rows = products.list_all(storage)
    names = {p["id"]: p["name"] for p in product_rows}
    people = {u["id"]: u for u in reports.assignees(storage)}
    return render_template("inspect/reports.html", reports=rows, chosen=chosen, statuses=reports.STATUSES,
                           provinces=places.provinces(), products=product_rows, names=names, people=people)


@bp.route("/inspect/reports/<int:report_id>", methods=["GET", "POST"])
@roles(*STAFF)
def report_detail(report_id: int) -> str | Response:
    """One report with everything the shopper left; POST changes its status or assignee or adds a note."""
    storage = get_storage()
    report = require(storage, "reports", report_id, "report")
    if request.method == "POST":
        try:
            reports.update(storage, report_id, request.form, user_id=g.identity.user_id)
        except ValidationError as exc:
            _flash_error(exc)
        else:
            flash(gettext("flash.saved"), "success")
        return redirect(url_for("inspect.report_detail", report_id=report_id), code=303)
    product = storage.get("products", report["product_id"]) if report["product_id"] else None
    run_batches = []
    if product is not None:
        run_batches = storage.find("batches", product_id=product["id"], order_by="id DESC", limit=50)
    people = reports.assignees(storage)
    return render_template("inspect/report.html", r=report, product=product, batches=run_batches,
                           people=people, names={u["id"]: u["name"] or u["email"] for u in people},
                           statuses=reports.STATUSES, history=reports.events(storage, report_id))


@bp.route("/inspect/reports/<int:report_id>/case", methods=["POST"])
@roles(*STAFF)
def report_case(report_id: int) -> Response:
    """Open a case from this report: on its stamp, or on a batch the inspector names."""
    storage = get_storage()
    try:
        case = reports.open_case(storage, report_id, request.form, user_id=g.identity.user_id,
                                 role=g.identity.role)
    except ValidationError as exc:
        _flash_error(exc)
        return redirect(url_for("inspect.report_detail", report_id=report_id), code=303)
    flash(gettext("case.opened", id=case["id"]), "success")
    return redirect(url_for("inspect.case_detail", case_id=case["id"]), code=303)
