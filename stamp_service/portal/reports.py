"""A producer's view of the shoppers' reports about its own products (never the reporter's contact or photo)."""

from __future__ import annotations

from flask import g, render_template, request

from ..auth.access import roles
from ..context import get_storage
from ..inspection import reports
from ..registry import products
from . import bp
from .forms import as_int


@bp.route("/portal/reports")
@roles("producer")
def my_reports() -> str:
    """Reports about this producer's products, newest first, by status and product."""
    storage = get_storage()
    own = products.list_all(storage, producer_id=g.identity.producer_id)
    status = request.args.get("status") if request.args.get("status") in reports.STATUSES else None
    product_id = as_int(request.args.get("product"))
    rows = reports.for_producer(storage, g.identity.producer_id, status=status, product_id=product_id)
    return render_template("portal/reports.html", reports=rows, products=own, names={p["id"]: p["name"] for p in own},
                           statuses=reports.STATUSES, status=status, product_id=product_id)
