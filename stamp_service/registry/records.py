"""The create/update path every registry record shares: validate, check, store, map conflicts to fields."""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping

from ..errors import Error
from ..storage import Conflict, MissingValue, Storage, StorageError, UnknownReference
from .fields import Schema, ValidationError

log = logging.getLogger(__name__)
Row = dict[str, Any]
Check = Callable[[Storage, dict[str, Any], Row | None], dict[str, Any]]


class RecordNotFound(Error):
    """No record with that id (or not one the caller may see)."""

    status = 404
    key = "error.not_found"

    def __init__(self, kind: str, record_id: Any) -> None:
        super().__init__(f"{kind} {record_id} not found")
        self.kind = kind
        self.record_id = record_id


def require(storage: Storage, table: str, row_id: Any, kind: str) -> Row:
    """The row with this id; raises RecordNotFound (shown as 404) when there is none."""
    row = storage.get(table, row_id)
    if row is None:
        raise RecordNotFound(kind, row_id)
    return row


def save(
    storage: Storage,
    table: str,
    schema: Schema,
    data: Mapping[str, Any],
    *,
    row_id: int | None = None,
    check: Check | None = None,
    strict: bool = False,
    only: tuple[str, ...] | None = None,
    conflict_field: Mapping[str, str] | None = None,
) -> Row:
    """Create (row_id None) or update one record; raises ValidationError, RecordNotFound, never half-writes."""
    existing = None
    if row_id is not None:
        existing = storage.get(table, row_id)
        if existing is None:
            raise RecordNotFound(table, row_id)
    values = schema.clean(data, partial=existing is not None, strict=strict, only=only)
    with storage.transaction():
        if check is not None:
            values = check(storage, values, existing)
        try:
            if existing is None:
                # absent optional fields take the column's default
                return storage.insert(table, {k: v for k, v in values.items() if v is not None})
            if "updated_at" in storage.columns(table):
                values = {**values, "updated_at": _now()}
            return storage.update(table, existing["id"], values)  # type: ignore[return-value]
        except Conflict as exc:
            name = (conflict_field or {}).get(exc.columns[-1], exc.columns[-1])
            raise ValidationError.single(name, "error.duplicate") from None
        except MissingValue as exc:
            raise ValidationError.single(exc.column, "error.required") from None
        except UnknownReference:
            raise ValidationError({}, Message("error.unknown_reference")) from None
        except StorageError as exc:
            # a database rule our validation did not catch first: still the caller's input, so a 400
            log.warning("refused by the database: %s", exc)
            raise ValidationError({}, Message("error.invalid_input")) from None


def merged(values: Mapping[str, Any], existing: Row | None) -> dict[str, Any]:
    """The record as it will be after the update: existing values overlaid by the new ones."""
    return {**(existing or {}), **values}


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
