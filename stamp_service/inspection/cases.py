"""Cases: an inspector flags a stamp, a range of a run or a batch as suspected or confirmed counterfeit.

A confirmed case turns its stamps red on the public page. For one stamp one inspector decides; a range or a whole
batch (possibly every stamp a producer sells) needs four eyes: one inspector's confirmation makes it 'pending',
and it is confirmed when an admin, or an inspector other than the one who made it pending, confirms too."""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from ..i18n import Message
from ..registry import batches
from ..registry.fields import Field, Schema, ValidationError
from ..registry.records import RecordNotFound, Row, require
from ..stamps import issuing
from ..stamps.errors import StampError
from ..stamps.serials import parse_serial_or_number
from ..storage import Storage
from . import case_history

KINDS = ("stamp", "range", "batch")
STATUSES = ("suspected", "pending", "confirmed", "dismissed")
CHOSEN = ("suspected", "confirmed", "dismissed")  # what a user asks for; 'pending' is where a first confirmation lands
WIDE = ("range", "batch")  # the kinds that need a second confirmation

SCHEMA = Schema("Case", (
    Field("kind", "choice", required=True, choices=KINDS, description="stamp, range of a run, or whole batch"),
    Field("serial", max_length=30, description="kind stamp: the serial, as printed or as a number"),
    Field("run_id", "integer", minimum=1, description="kind range: the run"),
    Field("serial_from", "integer", minimum=1, description="kind range: first serial"),
    Field("serial_to", "integer", minimum=1, description="kind range: last serial"),
    Field("batch_id", "integer", minimum=1, description="kind batch: the batch"),
    Field("status", "choice", choices=CHOSEN, description="suspected (default), confirmed or dismissed; a range or "
          "batch confirmed by one inspector is 'pending' until an admin or a second inspector confirms it"),
    Field("title", required=True, max_length=200, example="Tem photocopy tại chợ Hạ Long"),
    Field("notes", "text", max_length=5000),
))
UPDATE = Schema("CaseUpdate", (Field("status", "choice", choices=CHOSEN), Field("title", max_length=200),
                               Field("notes", "text", max_length=5000)))


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _serial(text: str) -> int:
    try:
        return parse_serial_or_number(text)
    except StampError as exc:
        raise ValidationError.single("serial", "error.serial_typed", detail=exc.message) from None


def _confirmation(kind: str, role: str | None) -> str:
    """The status a first confirmation gives: confirmed for a stamp or by an admin, else pending."""
    return "confirmed" if kind not in WIDE or role == "admin" else "pending"


def create(storage: Storage, data: Mapping[str, Any], *, user_id: int | None = None, role: str | None = None,
           strict: bool = False) -> Row:
    """Open a case; the target (stamp, range, batch) must exist; a range or batch opened as confirmed by an
    inspector is pending until a second one confirms."""
    values = SCHEMA.clean(data, strict=strict)
    kind = values["kind"]
    status = values.get("status") or "suspected"
    if status == "confirmed":
        status = _confirmation(kind, role)
    record: dict[str, Any] = {"kind": kind, "status": status, "title": values["title"],
                              "notes": values.get("notes"), "created_by": user_id}
    if kind == "stamp":
        if not values.get("serial"):
            raise ValidationError.single("serial", "error.required")
        serial = _serial(values["serial"])
        run = issuing.run_for_serial(storage, serial)
        if run is None:
            raise ValidationError.single("serial", "error.serial_unknown")
        record.update(run_id=run["id"], serial_from=serial, serial_to=serial, batch_id=run["batch_id"])
    elif kind == "range":
        if not values.get("run_id"):
            raise ValidationError.single("run_id", "error.required")
        run = storage.get("runs", values["run_id"])
        if run is None:
            raise ValidationError.single("run_id", "error.not_found")
        try:
            lo, hi = issuing.run_range(run, values.get("serial_from"), values.get("serial_to"))
        except ValidationError as exc:  # name the fields as this form and API call them
            names = {"from": "serial_from", "to": "serial_to"}
            raise ValidationError({names.get(k, k): m for k, m in exc.fields.items()}, exc.message) from None
        record.update(run_id=run["id"], serial_from=lo, serial_to=hi, batch_id=run["batch_id"])
    else:
        if not values.get("batch_id"):
            raise ValidationError.single("batch_id", "error.required")
        try:
            batches.get(storage, values["batch_id"])
        except RecordNotFound:
            raise ValidationError.single("batch_id", "error.not_found") from None
        record["batch_id"] = values["batch_id"]
    with storage.transaction():
        case = storage.insert("cases", record)
        case_history.record(storage, case["id"], "opened", user_id, status)
    return case


def _next_status(storage: Storage, case: Row, wanted: str, user_id: int | None, role: str | None) -> str:
    """The status a request for `wanted` gives: a second confirmation of a pending case must come from someone else."""
    if wanted != "confirmed" or case["status"] == "confirmed":
        return wanted
    if case["status"] != "pending":
        return _confirmation(case["kind"], role)
    if role != "admin" and case_history.last_status_by(storage, case["id"], "pending") in (user_id, None):
        raise ValidationError.single("status", "case.second_confirmation")
    return "confirmed"


def update(storage: Storage, case_id: int, data: Mapping[str, Any], *, user_id: int | None = None,
           role: str | None = None, strict: bool = False) -> Row:
    """Change a case's status, title or notes; confirming a range or batch takes two people (see the module)."""
    values = UPDATE.clean(data, partial=True, strict=strict)
    if not values:
        raise ValidationError({}, Message("error.nothing_to_change"))
    with storage.transaction():  # the four-eyes check and the change it allows see the same history
        storage.lock(f"case:{case_id}")
        case = require(storage, "cases", case_id, "case")
        if "status" in values:
            values["status"] = _next_status(storage, case, values["status"], user_id, role)
        if "status" in values and values["status"] != case["status"]:
            case_history.record(storage, case_id, "status", user_id, values["status"])
        if any(k in values and values[k] != case[k] for k in ("title", "notes")):
            case_history.record(storage, case_id, "edited", user_id)
        return storage.update("cases", case_id, {**values, "updated_at": _now()})  # type: ignore[return-value]


def confirmed_for(storage: Storage, batch_id: int, serial: int) -> Row | None:
    """The confirmed case covering this stamp (by its serial or its whole batch), if any."""
    for case in storage.find("cases", batch_id=batch_id, status="confirmed", order_by="id DESC"):
        if case["kind"] == "batch" or case["serial_from"] <= serial <= case["serial_to"]:
            return case
    return None


def for_serial(storage: Storage, batch_id: int, serial: int) -> list[Row]:
    """Every case (any status) that covers this stamp."""
    return [c for c in storage.find("cases", batch_id=batch_id, order_by="id DESC")
            if c["kind"] == "batch" or c["serial_from"] <= serial <= c["serial_to"]]
