"""A producer's own product photo: the one thing about a product a producer may change (the office registers the
rest). The photo goes through the same upload gate as every image: checked, decoded in a bounded slot, re-encoded."""

from __future__ import annotations

from flask import g, request, url_for
from werkzeug.wrappers import Response

from ..auth.access import roles
from ..context import get_storage
from ..registry import products
from ..registry.fields import ValidationError
from . import bp
from .forms import form_page
from .products import _save_with_image


@bp.route("/portal/products/<int:product_id>/photo", methods=["GET", "POST"])
@roles("admin", "producer")
def product_photo(product_id: int) -> Response | tuple[str, int]:
    """Upload or replace a product's photo (a producer only for its own products), shown to shoppers."""
    storage = get_storage()
    product = products.get(storage, product_id, producer_id=g.identity.scope)

    def keep(_data: dict) -> dict:
        upload = request.files.get("image")
        if upload is None or not upload.filename:
            raise ValidationError.single("image", "error.required")
        return product

    return form_page(
        "portal/product_photo.html", _save_with_image(keep), initial={},
        done=lambda row: url_for("portal.product_detail", product_id=row["id"]), product=product,
    )
