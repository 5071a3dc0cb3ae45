"""Producers (chủ thể OCOP): enterprises, cooperatives, cooperative groups and household businesses."""

from __future__ import annotations

from typing import Any, Mapping

from ..storage import Storage
from . import places
from .fields import Field, Invalid, Schema, ValidationError
from .identifiers import check_identifier, check_phone
from .records import Row, merged, require, save

TYPES = ("enterprise", "cooperative", "cooperative_group", "household")
ID_TYPES = ("tax_code", "personal_id", "other")

SCHEMA = Schema(
    "Producer",
    (
        Field("name", required=True, description="Registered name, as on the certificate", example="HTX Trà hoa vàng Ba Chẽ"),
        Field("type", "choice", required=True, choices=TYPES, description="Kind of producer"),
        Field("id_type", "choice", choices=ID_TYPES, description="What id_value is: tax/registration code, owner's personal ID, other"),
        Field("id_value", max_length=50, description="Tax code (10 or 13 digits), personal ID (12 digits) or other identifier"),
        Field("address", "text", max_length=300, description="Address as printed on the certificate"),
        Field("commune_code", required=True, max_length=5, check=places.check_commune_code,
              description="2025 commune code (5 digits)", example="06978"),
        Field("phone", max_length=30, check=check_phone,
              description="Vietnamese phone number: mobile (09x, 03x...), landline (02xx) or 1800/1900 hotline",
              example="0203 3888 123"),
        Field("email", "email", max_length=120),
    ),
)


def _check(storage: Storage, values: dict[str, Any], existing: Row | None) -> dict[str, Any]:
    record = merged(values, existing)
    id_type, id_value = record.get("id_type"), record.get("id_value")
    if (id_type is None) != (id_value is None):
        raise ValidationError.single("id_value" if id_type else "id_type", "error.identifier_pair")
    if id_type and id_value and ("id_type" in values or "id_value" in values):
        try:
            values["id_value"] = check_identifier(id_type, id_value)
        except Invalid as exc:
            raise ValidationError({"id_value": exc.message}) from None
    if "commune_code" in values:
        values["province_code"] = places.commune(values["commune_code"]).province.code  # type: ignore[union-attr]
    return values


def create(storage: Storage, data: Mapping[str, Any], *, strict: bool = False) -> Row:
    """Register a producer."""
    return save(storage, "producers", SCHEMA, data, check=_check, strict=strict, conflict_field={"id_value": "id_value"})


def update(storage: Storage, producer_id: int, data: Mapping[str, Any], *, strict: bool = False) -> Row:
    """Change a producer's details."""
    return save(storage, "producers", SCHEMA, data, row_id=producer_id, check=_check, strict=strict)


def get(storage: Storage, producer_id: int) -> Row:
    """One producer; raises RecordNotFound."""
    return require(storage, "producers", producer_id, "producer")


def list_all(storage: Storage, *, producer_id: int | None = None) -> list[Row]:
    """All producers, or just one when a producer's user asks."""
    if producer_id is not None:
        return storage.find("producers", id=producer_id)
    return storage.find("producers", order_by="name")


def find_by_identifier(storage: Storage, value: str) -> Row | None:
    """The producer with this identifier value (any type), or None."""
    return storage.find_one("producers", id_value=value.strip())
