"""Batches: a producer creates them for its products; the office and inspectors read them."""

from __future__ import annotations

import datetime as dt

from flask import g, render_template, request, url_for

from ..auth.access import roles
from ..context import get_storage
from ..registry import batches, producers, products
from ..stamps import issuing
from . import bp
from .forms import form_page
from .places_field import picker_context, within_province


@bp.route("/portal/batches")
@roles("admin", "inspector", "producer")
def batch_list() -> str:
    """Batches, newest first (a producer sees only its own)."""
    storage = get_storage()
    scope = g.identity.scope
    rows = batches.list_all(storage, producer_id=scope)
    names = {p["id"]: p["name"] for p in products.list_all(storage, producer_id=scope)}
    return render_template("portal/batches.html", batches=rows, product_names=names)


@bp.route("/portal/batches/new", methods=["GET", "POST"])
@roles("producer", "admin")
def batch_new():
    """Create a batch of one of the producer's products."""
    storage = get_storage()
    scope = g.identity.scope
    product_rows = products.list_all(storage, producer_id=scope)
    initial = {"product_id": request.args.get("product_id", ""), "production_date": dt.date.today().isoformat()}
    if scope is not None:
        initial["origin_commune_code"] = producers.get(storage, scope)["commune_code"]
    return form_page(
        "portal/batch_form.html",
        within_province(
            lambda data: batches.create(storage, data, producer_id=scope, user_id=g.identity.user_id),
            field="origin_commune_code",
        ),
        initial=initial,
        done=lambda row: url_for("portal.batch_detail", batch_id=row["id"]),
        products=product_rows,
        picker=lambda values: picker_context(values, "origin_commune_code"),
        batch=None,
    )


@bp.route("/portal/batches/<int:batch_id>")
@roles("admin", "inspector", "producer")
def batch_detail(batch_id: int) -> str:
    """One batch with its product and producer."""
    storage = get_storage()
    batch = batches.get(storage, batch_id, producer_id=g.identity.scope)
    product = products.get(storage, batch["product_id"])
    return render_template("portal/batch.html", batch=batch, product=product,
                           producer=producers.get(storage, product["producer_id"]),
                           runs=issuing.list_runs(storage, batch_id=batch_id, producer_id=g.identity.scope))


@bp.route("/portal/batches/<int:batch_id>/edit", methods=["GET", "POST"])
@roles("producer", "admin")
def batch_edit(batch_id: int):
    """Correct a batch's details."""
    storage = get_storage()
    scope = g.identity.scope
    batch = batches.get(storage, batch_id, producer_id=scope)
    return form_page(
        "portal/batch_form.html",
        within_province(lambda data: batches.update(storage, batch_id, data, producer_id=scope),
                        field="origin_commune_code"),
        initial=batch,
        done=lambda row: url_for("portal.batch_detail", batch_id=row["id"]),
        products=products.list_all(storage, producer_id=scope),
        picker=lambda values: picker_context(values, "origin_commune_code"),
        batch=batch,
    )
