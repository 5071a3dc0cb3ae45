"""Inspection visits: an inspector checks stamps in one shop; the visit is exported as a record."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Mapping

from ..registry import places
from ..registry.fields import Field, Invalid, Schema, ValidationError
from ..registry.records import RecordNotFound, Row, require
from ..storage import Storage
from ..verification.checker import Outcome


def _province(value: str) -> str:
    if places.province(value) is None:
        raise Invalid("error.choice")
    return value


SCHEMA = Schema("Visit", (
    Field("shop", required=True, max_length=200, description="Shop or market stall name", example="Cửa hàng đặc sản Hạ Long"),
    Field("address", max_length=300),
    Field("province_code", max_length=2, check=_province),
    Field("notes", "text", max_length=5000),
))


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def start(storage: Storage, data: Mapping[str, Any], *, inspector_id: int, strict: bool = False) -> Row:
    """Begin a visit."""
    return storage.insert("visits", {**SCHEMA.clean(data, strict=strict), "inspector_id": inspector_id})


def get(storage: Storage, visit_id: int, *, inspector_id: int | None = None) -> Row:
    """One visit (only the inspector's own when inspector_id is given); raises RecordNotFound."""
    visit = require(storage, "visits", visit_id, "visit")
    if inspector_id is not None and visit["inspector_id"] != inspector_id:
        raise RecordNotFound("visit", visit_id)
    return visit


def open_visit(storage: Storage, inspector_id: int) -> Row | None:
    """The inspector's visit still in progress, if any."""
    return storage.find_one("visits", inspector_id=inspector_id, closed_at=None)


def close(storage: Storage, visit: Row, notes: str | None = None) -> Row:
    """End a visit (its checks stay)."""
    if visit["closed_at"]:
        raise ValidationError.single("visit", "error.visit_closed")
    values: dict[str, Any] = {"closed_at": _now()}
    if notes:
        values["notes"] = ((visit["notes"] or "") + "\n" + notes).strip()[:5000]
    return storage.update("visits", visit["id"], values)  # type: ignore[return-value]


def add_check(storage: Storage, visit: Row, code: str, outcome: Outcome, *, photo: str | None = None,
              note: str | None = None) -> Row:
    """Record one stamp checked during the visit, with its verdict and reasons as they were (in both languages: a
    reason's text has values in it, so it cannot be translated later from its code)."""
    reasons = [{**r.as_dict("vi"), "message_en": r.message.render("en")} for r in outcome.verdict.reasons]
    return storage.insert("visit_checks", {
        "visit_id": visit["id"], "code": code[:600], "serial": outcome.claims.serial if outcome.claims else None,
        "verdict": outcome.verdict.name, "reasons": json.dumps(reasons, ensure_ascii=False), "photo": photo,
        "note": note,
    })


def checks(storage: Storage, visit_id: int) -> list[Row]:
    """The visit's checks, in order, with their reasons decoded."""
    rows = storage.find("visit_checks", visit_id=visit_id, order_by="id")
    return [{**r, "reasons": json.loads(r["reasons"] or "[]")} for r in rows]
