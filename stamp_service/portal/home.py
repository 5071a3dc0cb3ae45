"""The first page after signing in: what needs attention for this user."""

from __future__ import annotations

from flask import g, render_template

from ..auth.access import roles
from ..context import get_storage
from ..i18n.formats import short_day
from ..i18n import gettext
from ..inspection import charts
from ..registry import batches, products, recognitions
from ..stamps import producer_summary
from .. import vn_time
from . import bp


@bp.route("/portal/")
@roles("admin", "producer", "inspector")
def home() -> str:
    """Dashboard: counts, and recognitions expired or expiring within 30 days."""
    storage = get_storage()
    scope = g.identity.scope
    product_rows = products.list_all(storage, producer_id=scope)
    current = recognitions.current_for(storage, [p["id"] for p in product_rows])
    today = vn_time.today()
    attention = []
    for product in product_rows:
        rec = current.get(product["id"])
        if rec is None:
            continue
        standing = recognitions.standing(rec, today)
        if standing.status != "valid" or standing.expiring:
            attention.append((product, rec, standing))
    attention.sort(key=lambda item: item[2].days_left)
    counts = {
        "producers": storage.count("producers") if scope is None else 1,
        "products": len(product_rows),
        "batches": len(batches.list_all(storage, producer_id=scope)),
    }
    recent = batches.list_all(storage, producer_id=scope)[:5]
    names = {p["id"]: p["name"] for p in product_rows}
    mine = chart = None
    if g.identity.role == "producer":  # the producer's own stamps: what was issued, activated, scanned, doubted
        mine = producer_summary.summary(storage, scope, today=today)
        chart = charts.bar_chart([(short_day(d), n) for d, n in mine["scans_per_day"]],
                                 title=gettext("home.scans_per_day", days=len(mine["scans_per_day"])))
    return render_template("portal/home.html", counts=counts, attention=attention, recent=recent, names=names,
                           mine=mine, chart=chart)
