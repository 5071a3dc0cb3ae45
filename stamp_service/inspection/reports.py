"""Shoppers' reports as an inbox: status, assignee, append-only notes, the case opened from a report (no Flask).

A report names a stamp of ours (serial, hence product and the producer's province) or only a code we did not
sign (a forgery: no product). Inspectors and the office work every report; a producer sees the reports about
its own products, without the reporter's contact, photo or the staff's notes.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..auth import clock
from ..i18n import Message
from ..registry.fields import Field, Schema, ValidationError
from ..registry.records import Row, require
from ..stamps import issuing
from ..storage import Storage
from . import cases

STATUSES = ("new", "in_progress", "resolved", "unverifiable")
STAFF_ROLES = ("inspector", "admin")  # who may be assigned a report
PAGE = 200  # an inbox page: enough to work through, small enough for a phone
# What a producer may see of a report about its own product: never the contact, photo, device or network.
PRODUCER_FIELDS = ("id", "at", "serial", "what", "where_bought", "status", "product_id", "case_id")

UPDATE = Schema("ReportUpdate", (
    Field("status", "choice", choices=STATUSES),
    Field("assignee_id", "integer", minimum=1),
    Field("note", "text", max_length=2000),
))


def subject_of(storage: Storage, serial: int | None) -> dict[str, Any]:
    """The product and the producer's province a reported serial belongs to (empty for no stamp of ours)."""
    run = issuing.run_for_serial(storage, serial) if serial is not None else None
    if run is None:
        return {}
    product = storage.get("products", run["product_id"])
    producer = storage.get("producers", product["producer_id"]) if product else None
    return {"product_id": run["product_id"], "province_code": producer["province_code"] if producer else None}


def inbox(storage: Storage, *, status: str | None = None, province_code: str | None = None,
          product_id: int | None = None, product_ids: list[int] | None = None, limit: int = PAGE) -> list[Row]:
    """Reports newest first, filtered by status, the producer's province, one product or a set of products."""
    where: dict[str, Any] = {}
    if status in STATUSES:
        where["status"] = status
    if province_code:
        where["province_code"] = province_code
    if product_id is not None:
        where["product_id"] = product_id
    if product_ids is not None:  # limited to these products: one of them when asked for, else none
        where["product_id"] = product_ids if product_id is None else [product_id] if product_id in product_ids else []
    return storage.find("reports", order_by=("at DESC", "id DESC"), limit=limit, **where)


def for_producer(storage: Storage, producer_id: int, *, status: str | None = None,
                 product_id: int | None = None) -> list[Row]:
    """The reports about one producer's products, stripped of what only staff may see."""
    own = [p["id"] for p in storage.find("products", producer_id=producer_id)]
    rows = inbox(storage, status=status, product_id=product_id, product_ids=own)
    return [{k: r[k] for k in PRODUCER_FIELDS} for r in rows]


def assignees(storage: Storage) -> list[Row]:
    """The enabled inspectors and office staff a report can be given to."""
    return storage.find("users", role=list(STAFF_ROLES), disabled=0, order_by="email")


def update(storage: Storage, report_id: int, data: Mapping[str, Any], *, user_id: int | None) -> Row:
    """Change a report's status or assignee and/or add a note; every change is an event with who and when."""
    values = UPDATE.clean(data, partial=True)
    with storage.transaction():
        report = require(storage, "reports", report_id, "report")
        changes: dict[str, Any] = {}
        if values.get("status") and values["status"] != report["status"]:
            changes["status"] = values["status"]
            _event(storage, report_id, "status", user_id, values["status"])
        if "assignee_id" in values and values["assignee_id"] != report["assignee_id"]:
            assignee = values["assignee_id"]
            if assignee is not None and storage.find_one("users", id=assignee, role=list(STAFF_ROLES),
                                                         disabled=0) is None:
                raise ValidationError.single("assignee_id", "report.assignee_unknown")
            changes["assignee_id"] = assignee
            _event(storage, report_id, "assigned", user_id, str(assignee) if assignee else None)
        if values.get("note"):
            _event(storage, report_id, "note", user_id, values["note"])
        elif not changes:
            raise ValidationError({}, Message("error.nothing_to_change"))
        if changes:
            report = storage.update("reports", report_id, {**changes, "updated_at": _now()})  # type: ignore
        return report


def open_case(storage: Storage, report_id: int, data: Mapping[str, Any], *, user_id: int | None,
              role: str | None) -> Row:
    """Open a case from a report (its stamp, or a batch the inspector names), link it and mark the report in
    progress; a report already linked to a case is refused."""
    with storage.transaction():
        report = require(storage, "reports", report_id, "report")
        if report["case_id"] is not None:
            raise ValidationError({}, Message("report.case_exists", {"id": report["case_id"]}))
        case = cases.create(storage, data, user_id=user_id, role=role)
        changes: dict[str, Any] = {"case_id": case["id"], "updated_at": _now()}
        _event(storage, report_id, "case", user_id, str(case["id"]))
        if report["status"] == "new":
            changes["status"] = "in_progress"
            _event(storage, report_id, "status", user_id, "in_progress")
        storage.update("reports", report_id, changes)
        return case


def events(storage: Storage, report_id: int) -> list[Row]:
    """A report's history and notes, oldest first, each with the user's e-mail and name."""
    rows = storage.find("report_events", report_id=report_id, order_by="id")
    people = {u["id"]: u for u in storage.find("users", id=sorted({r["user_id"] for r in rows if r["user_id"]}))}
    return [{**r, "user_email": people.get(r["user_id"], {}).get("email"),
             "user_name": people.get(r["user_id"], {}).get("name")} for r in rows]


def _event(storage: Storage, report_id: int, action: str, user_id: int | None, detail: str | None) -> None:
    storage.insert("report_events", {"report_id": report_id, "action": action, "user_id": user_id,
                                     "detail": detail})


def _now() -> str:
    return clock.stamp(clock.now())
