"""List, get, create and update for each registry record, declared once in RESOURCES."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

from flask import g, jsonify, url_for
from werkzeug.wrappers import Response

from ..auth import users
from ..auth.access import Identity, roles
from ..context import get_storage
from ..registry import batches, places, producers, products, recognitions
from ..registry.fields import Schema
from ..registry.records import RecordNotFound, Row
from ..storage import Storage
from . import bp
from .body import json_object, paging

ALL = ("admin", "inspector", "producer")
# What _place answers, as the OpenAPI document describes it.
PLACE_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"], "description": "The commune and its province, with names in Vietnamese and English",
    "required": ["commune_code", "commune", "province_code", "province", "display", "display_en"],
    "properties": {k: {"type": "string"} for k in ("commune_code", "commune", "province_code", "province", "display",
                                                   "display_en")}}


def _place(code: str | None) -> dict[str, Any] | None:
    commune = places.commune(code or "")
    if commune is None:
        return None
    return {"commune_code": commune.code, "commune": commune.full_name, "province_code": commune.province.code,
            "province": commune.province.full_name, "display": commune.display("vi"),
            "display_en": commune.display("en")}


def _recognition(rec: Row) -> dict[str, Any]:
    standing = recognitions.standing(rec)
    return {**rec, "status": standing.status, "stored_status": rec["status"], "days_left": standing.days_left,
            "expiring": standing.expiring}


def _product(storage: Storage, row: Row) -> dict[str, Any]:
    current = recognitions.current(storage, row["id"])
    image = url_for("portal.product_image", product_id=row["id"]) if row["image"] else None
    return {**{k: v for k, v in row.items() if k != "image"}, "image_url": image,
            "current_recognition": _recognition(current) if current else None}


@dataclass(frozen=True)
class Resource:
    """How one kind of record is read and written through the API."""

    name: str
    schema: Schema
    read: tuple[str, ...]
    write: tuple[str, ...]
    list: Callable[[Storage, int | None], list[Row]]
    get: Callable[[Storage, int, int | None], Row]
    create: Callable[[Storage, dict[str, Any], Identity], Row]
    update: Callable[[Storage, int, dict[str, Any], Identity], Row]
    present: Callable[[Storage, Row], dict[str, Any]] = lambda storage, row: row
    summary: str = ""
    shows: Callable[[], dict[str, Any]] = dict  # the properties present adds (or changes), for the OpenAPI document

    def stored_schema(self) -> dict[str, Any]:
        """The record as the API returns it: the schema's fields, its id and what present adds."""
        return {**self.schema.openapi(stored=self.shows()),
                "description": f"{self.summary}. Responses also carry created_at and the stored columns."}


def _own_producer(storage: Storage, producer_id: int, scope: int | None) -> Row:
    if scope is not None and scope != producer_id:
        raise RecordNotFound("producer", producer_id)
    return producers.get(storage, producer_id)


RESOURCES = (
    Resource(
        "producers", producers.SCHEMA, ALL, ("admin",),
        list=lambda s, scope: producers.list_all(s, producer_id=scope),
        get=_own_producer,
        create=lambda s, data, who: producers.create(s, data, strict=True),
        update=lambda s, i, data, who: producers.update(s, i, data, strict=True),
        present=lambda s, row: {**row, "place": _place(row["commune_code"])},
        summary="Producers (chủ thể OCOP)",
        shows=lambda: {"province_code": {"type": "string"}, "place": PLACE_SCHEMA},
    ),
    Resource(
        "products", products.SCHEMA, ALL, ("admin",),
        list=lambda s, scope: products.list_all(s, producer_id=scope),
        get=lambda s, i, scope: products.get(s, i, producer_id=scope),
        create=lambda s, data, who: products.create(s, data, strict=True),
        update=lambda s, i, data, who: products.update(s, i, data, strict=True),
        present=_product,
        summary="Products, with their current recognition",
        shows=lambda: {"image_url": {"type": ["string", "null"], "description": "The product photo, if any"},
                       "current_recognition": {"oneOf": [{"$ref": "#/components/schemas/Recognition"},
                                                         {"type": "null"}]}},
    ),
    Resource(
        "recognitions", recognitions.SCHEMA, ALL, ("admin",),
        list=lambda s, scope: recognitions.list_all(s, producer_id=scope),
        get=lambda s, i, scope: recognitions.get(s, i, producer_id=scope),
        create=lambda s, data, who: recognitions.create(s, data, strict=True),
        update=lambda s, i, data, who: recognitions.update(s, i, data, strict=True),
        present=lambda s, row: _recognition(row),
        summary="OCOP star recognitions (decision and certificate validity)",
        shows=lambda: {
            "status": {"enum": list(recognitions.STATUSES), "description": "The standing today"},
            "stored_status": {"enum": list(recognitions.STATUSES), "description": "As stored (revoked, superseded)"},
            "days_left": {"type": "integer"}, "expiring": {"type": "boolean"},
            "valid_from": {"type": "string", "format": "date"}, "valid_until": {"type": "string", "format": "date"},
            "revoked_at": {"type": ["string", "null"]}, "revocation_reason": {"type": ["string", "null"]}},
    ),
    Resource(
        "batches", batches.SCHEMA, ALL, ("admin", "producer"),
        list=lambda s, scope: batches.list_all(s, producer_id=scope),
        get=lambda s, i, scope: batches.get(s, i, producer_id=scope),
        create=lambda s, data, who: batches.create(s, data, producer_id=who.scope, user_id=who.user_id, strict=True),
        update=lambda s, i, data, who: batches.update(s, i, data, producer_id=who.scope, strict=True),
        present=lambda s, row: {**row, "origin": _place(row["origin_commune_code"])},
        summary="Production batches (lô sản xuất)",
        shows=lambda: {"producer_id": {"type": "integer"}, "origin": PLACE_SCHEMA,
                       "origin_commune_code": {"type": "string"}, "origin_province_code": {"type": "string"},
                       "recalled_at": {"type": ["string", "null"]}, "recall_reason": {"type": ["string", "null"]}},
    ),
    Resource(
        "users", users.SCHEMA, ("admin",), ("admin",),
        list=lambda s, scope: s.find("users", order_by="email"),
        get=lambda s, i, scope: users.get(s, i),
        create=lambda s, data, who: users.create(s, data, strict=True),
        update=lambda s, i, data, who: users.update(s, i, data, strict=True),
        present=lambda s, row: users.public(row),
        summary="User accounts (admin only)",
    ),
)


def _register(res: Resource) -> None:
    """Add the four routes of one resource, each with its declared roles."""

    @roles(*res.read)
    def list_view() -> Response:
        limit, offset = paging()
        storage = get_storage()
        rows = res.list(storage, g.identity.scope)
        page = rows[offset:offset + limit]
        return jsonify(items=[res.present(storage, r) for r in page], total=len(rows), limit=limit, offset=offset)

    @roles(*res.read)
    def get_view(record_id: int) -> Response:
        storage = get_storage()
        return jsonify(res.present(storage, res.get(storage, record_id, g.identity.scope)))

    @roles(*res.write)
    def create_view() -> tuple[Response, int, dict[str, str]]:
        storage = get_storage()
        row = res.create(storage, json_object(), g.identity)
        location = url_for(f"api.{res.name}_get", record_id=row["id"])
        return jsonify(res.present(storage, row)), 201, {"Location": location}

    @roles(*res.write)
    def update_view(record_id: int) -> Response:
        storage = get_storage()
        res.get(storage, record_id, g.identity.scope)  # 404 before reading a body for a record you cannot see
        return jsonify(res.present(storage, res.update(storage, record_id, json_object(), g.identity)))

    base = f"/{res.name}"
    bp.add_url_rule(base, f"{res.name}_list", list_view, methods=["GET"])
    bp.add_url_rule(base, f"{res.name}_create", create_view, methods=["POST"])
    bp.add_url_rule(f"{base}/<int:record_id>", f"{res.name}_get", get_view, methods=["GET"])
    bp.add_url_rule(f"{base}/<int:record_id>", f"{res.name}_update", update_view, methods=["PATCH"])


for _resource in RESOURCES:
    _register(_resource)


@bp.route("/recognitions/<int:record_id>/revoke", methods=["POST"])
@roles("admin")
def recognition_revoke(record_id: int) -> Response:
    """Revoke a certificate: body {"reason": "..."}."""
    storage = get_storage()
    return jsonify(_recognition(recognitions.revoke(storage, record_id, json_object())))


@bp.route("/me")
@roles(*ALL)
def me() -> Response:
    """Who the token belongs to."""
    who: Identity = g.identity
    return jsonify(id=who.user_id, email=who.email, role=who.role, producer_id=who.producer_id,
                   now=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
