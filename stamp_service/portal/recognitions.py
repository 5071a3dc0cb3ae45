"""Recognitions: the office records star-rating decisions and revokes certificates."""

from __future__ import annotations

from flask import url_for

from ..auth.access import roles
from ..context import get_storage
from ..registry import products, recognitions
from . import bp
from .forms import form_page


@bp.route("/portal/products/<int:product_id>/recognitions/new", methods=["GET", "POST"])
@roles("admin")
def recognition_new(product_id: int):
    """Record a recognition decision for a product (earlier ones become superseded)."""
    storage = get_storage()
    product = products.get(storage, product_id)
    return form_page(
        "portal/recognition_form.html",
        lambda data: recognitions.create(storage, {**data, "product_id": product_id}),
        initial={"level": "province"},
        done=lambda row: url_for("portal.product_detail", product_id=product_id),
        product=product,
    )


@bp.route("/portal/recognitions/<int:rec_id>/revoke", methods=["GET", "POST"])
@roles("admin")
def recognition_revoke(rec_id: int):
    """Revoke a certificate, with the reason."""
    storage = get_storage()
    rec = recognitions.get(storage, rec_id)
    return form_page(
        "portal/revoke_form.html",
        lambda data: recognitions.revoke(storage, rec_id, data),
        done=lambda row: url_for("portal.product_detail", product_id=row["product_id"]),
        flash_key="flash.revoked",
        recognition=rec,
        product=products.get(storage, rec["product_id"]),
    )
