"""Products: what a producer makes, in one of the six OCOP product groups."""

from __future__ import annotations

from typing import Any, Mapping

from ..storage import Storage
from .fields import Field, Schema, ValidationError
from .identifiers import check_gtin
from .records import RecordNotFound, Row, save

GROUPS = ("food", "drinks", "herbal", "handicraft", "ornamental", "tourism")

SCHEMA = Schema(
    "Product",
    (
        Field("producer_id", "integer", required=True, minimum=1, description="The producer that makes it"),
        Field("name", required=True, description="Product name as on the certificate", example="Trà hoa vàng Ba Chẽ"),
        Field("product_group", "choice", required=True, choices=GROUPS, description="OCOP product group"),
        Field("gtin", max_length=20, check=check_gtin, description="GTIN-8/12/13/14 (check digit validated); many OCOP products have none",
              example="8934567890128"),
        Field("description", "text", max_length=2000),
    ),
)


def create(storage: Storage, data: Mapping[str, Any], *, strict: bool = False) -> Row:
    """Register a product."""
    return save(storage, "products", SCHEMA, data, strict=strict, check=_check)


def update(storage: Storage, product_id: int, data: Mapping[str, Any], *, strict: bool = False) -> Row:
    """Change a product's details."""
    return save(storage, "products", SCHEMA, data, row_id=product_id, strict=strict, check=_check)


def _check(storage: Storage, values: dict[str, Any], existing: Row | None) -> dict[str, Any]:
    if "producer_id" in values and storage.get("producers", values["producer_id"]) is None:
        raise ValidationError.single("producer_id", "error.producer_unknown")
    return values


def get(storage: Storage, product_id: int, *, producer_id: int | None = None) -> Row:
    """One product (only the given producer's, when producer_id is set); raises RecordNotFound."""
    row = storage.get("products", product_id)
    if row is None or (producer_id is not None and row["producer_id"] != producer_id):
        raise RecordNotFound("product", product_id)
    return row


def list_all(storage: Storage, *, producer_id: int | None = None) -> list[Row]:
    """All products, or one producer's."""
    if producer_id is not None:
        return storage.find("products", producer_id=producer_id, order_by="name")
    return storage.find("products", order_by="name")


def set_image(storage: Storage, product_id: int, image_name: str | None) -> Row:
    """Point the product at a stored image file (or none)."""
    return storage.update("products", product_id, {"image": image_name})  # type: ignore[return-value]
