"""Products: the office registers them; producers and inspectors read them."""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, g, render_template, request, send_from_directory, url_for
from werkzeug.wrappers import Response

from ..auth.access import public, roles
from ..context import get_storage
from ..media import store_image, thumbnail
from ..media_gate import upload_slot
from ..registry import batches, producers, products, recognitions
from ..registry.fields import Invalid, ValidationError
from . import bp
from .forms import form_page


def media_folder() -> Path:
    """Where product images are stored."""
    return Path(current_app.instance_path) / "media" / "products"


def _save_with_image(save):
    """Save the product, then its uploaded image if one came with the form (an invalid image saves nothing)."""

    def run(data):
        upload = request.files.get("image")
        image_name = None
        if upload is not None and upload.filename:
            try:
                with upload_slot():
                    image_name = store_image(upload.stream, media_folder(),
                                             max_pixels=current_app.config["MAX_IMAGE_PIXELS"])
            except Invalid as exc:
                raise ValidationError({"image": exc.message}) from None
        storage = get_storage()
        with storage.transaction():
            row = save(data)
            if image_name:
                row = products.set_image(storage, row["id"], image_name)
        return row

    return run


@bp.route("/portal/products")
@roles("admin", "inspector", "producer")
def product_list() -> str:
    """Products with their current recognition (a producer sees only its own)."""
    storage = get_storage()
    rows = products.list_all(storage, producer_id=g.identity.scope)
    current = recognitions.current_for(storage, [p["id"] for p in rows])
    names = {p["id"]: p["name"] for p in producers.list_all(storage, producer_id=g.identity.scope)}
    return render_template("portal/products.html", products=rows, current=current, producer_names=names,
                           standing=recognitions.standing)


@bp.route("/portal/products/new", methods=["GET", "POST"])
@roles("admin")
def product_new():
    """Register a product."""
    storage = get_storage()
    return form_page(
        "portal/product_form.html",
        _save_with_image(lambda data: products.create(storage, data)),
        initial={"producer_id": request.args.get("producer_id", "")},
        done=lambda row: url_for("portal.product_detail", product_id=row["id"]),
        producers=producers.list_all(storage),
        product=None,
    )


@bp.route("/portal/products/<int:product_id>")
@roles("admin", "inspector", "producer")
def product_detail(product_id: int) -> str:
    """A product: producer, recognitions (current first) and batches."""
    storage = get_storage()
    product = products.get(storage, product_id, producer_id=g.identity.scope)
    return render_template(
        "portal/product.html",
        product=product,
        producer=producers.get(storage, product["producer_id"]),
        recognitions=recognitions.list_all(storage, product_id=product_id),
        current=recognitions.current(storage, product_id),
        batches=batches.list_all(storage, product_id=product_id),
        standing=recognitions.standing,
    )


@bp.route("/portal/products/<int:product_id>/edit", methods=["GET", "POST"])
@roles("admin")
def product_edit(product_id: int):
    """Change a product's details or image."""
    storage = get_storage()
    product = products.get(storage, product_id)
    return form_page(
        "portal/product_form.html",
        _save_with_image(lambda data: products.update(storage, product_id, data)),
        initial=product,
        done=lambda row: url_for("portal.product_detail", product_id=row["id"]),
        producers=producers.list_all(storage),
        product=product,
    )


def _send_image(product_id: int, *, small: bool) -> Response:
    """A product's stored image, or its thumbnail; 404 when the product has none."""
    product = get_storage().get("products", product_id)
    if product is None or not product["image"]:
        abort(404)
    name = thumbnail(media_folder(), product["image"]) if small else product["image"]
    response = send_from_directory(media_folder(), name, mimetype="image/jpeg", max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.route("/media/products/<int:product_id>-small.jpg")
@public
def product_thumbnail(product_id: int) -> Response:
    """A 192-pixel thumbnail for the shopper's page, which must stay under 30 KB in all."""
    return _send_image(product_id, small=True)


@bp.route("/media/products/<int:product_id>.jpg")
@public
def product_image(product_id: int) -> Response:
    """A product's image (public: the verification page shows it to shoppers)."""
    return _send_image(product_id, small=False)
