"""Production batches (lô sản xuất): a lot of one product, made on a date in a commune."""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..storage import Storage
from . import places
from .fields import Field, Invalid, Schema, ValidationError
from .records import RecordNotFound, Row, merged, save

MAX_QUANTITY = 10_000_000


def check_lot(value: str) -> str:
    """A lot code as printed on packs: letters, digits and - / . _ (stored upper-case)."""
    text = value.strip().upper()
    if not re.fullmatch(r"[0-9A-Z][0-9A-Z./_-]{0,39}", text):
        raise Invalid("error.lot")
    return text


SCHEMA = Schema(
    "Batch",
    (
        Field("product_id", "integer", required=True, minimum=1),
        Field("lot", required=True, max_length=40, check=check_lot, description="Lot code (số lô) as printed on packs",
              example="BC-2026-11"),
        Field("production_date", "date", required=True, description="Ngày sản xuất (NSX)"),
        Field("expiry_date", "date", description="Hạn sử dụng (HSD), if the product has one"),
        Field("quantity", "integer", required=True, minimum=1, maximum=MAX_QUANTITY, description="Units in the batch"),
        Field("origin_commune_code", max_length=5, check=places.check_commune_code,
              description="Commune of production (default: the producer's)", example="06978"),
        Field("notes", "text", max_length=1000),
    ),
)


def _checker(producer_id: int | None, user_id: int | None):
    def check(storage: Storage, values: dict[str, Any], existing: Row | None) -> dict[str, Any]:
        record = merged(values, existing)
        product = storage.get("products", record["product_id"])
        if product is None or (producer_id is not None and product["producer_id"] != producer_id):
            raise ValidationError.single("product_id", "error.product_unknown")
        if record.get("expiry_date") and record["expiry_date"] < record["production_date"]:
            raise ValidationError.single("expiry_date", "error.expiry_before_production")
        if not record.get("origin_commune_code"):
            producer = storage.get("producers", product["producer_id"])
            values["origin_commune_code"] = record["origin_commune_code"] = producer["commune_code"]  # type: ignore[index]
        if "origin_commune_code" in values:
            values["origin_province_code"] = places.commune(values["origin_commune_code"]).province.code  # type: ignore[union-attr]
        if existing is None and user_id is not None:
            values["created_by"] = user_id
        return values

    return check


def create(
    storage: Storage, data: Mapping[str, Any], *, producer_id: int | None = None, user_id: int | None = None,
    strict: bool = False,
) -> Row:
    """Create a batch (of the given producer's products only, when producer_id is set)."""
    row = save(storage, "batches", SCHEMA, data, strict=strict, check=_checker(producer_id, user_id),
               conflict_field={"lot": "lot"})
    return get(storage, row["id"])


def update(
    storage: Storage, batch_id: int, data: Mapping[str, Any], *, producer_id: int | None = None, strict: bool = False
) -> Row:
    """Correct a batch's details (its product cannot change)."""
    get(storage, batch_id, producer_id=producer_id)
    only = tuple(n for n in SCHEMA.names if n != "product_id")
    save(storage, "batches", SCHEMA, data, row_id=batch_id, strict=strict, only=only,
         check=_checker(producer_id, None), conflict_field={"lot": "lot"})
    return get(storage, batch_id)


def get(storage: Storage, batch_id: int, *, producer_id: int | None = None) -> Row:
    """One batch with its product's producer_id; raises RecordNotFound (also for another producer's batch)."""
    batch = storage.get("batches", batch_id)
    product = storage.get("products", batch["product_id"]) if batch else None
    if batch is None or product is None or (producer_id is not None and product["producer_id"] != producer_id):
        raise RecordNotFound("batch", batch_id)
    return {**batch, "producer_id": product["producer_id"]}


def list_all(storage: Storage, *, producer_id: int | None = None, product_id: int | None = None) -> list[Row]:
    """Batches, newest first, each with its producer_id."""
    products = {p["id"]: p for p in storage.find("products", **({"producer_id": producer_id} if producer_id else {}))}
    where: dict[str, Any] = {"product_id": list(products) if product_id is None else
                             ([product_id] if product_id in products else [])}
    rows = storage.find("batches", order_by=("production_date DESC", "id DESC"), **where)
    return [{**b, "producer_id": products[b["product_id"]]["producer_id"]} for b in rows]
