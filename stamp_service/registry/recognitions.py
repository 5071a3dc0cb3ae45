"""OCOP recognitions: a star rating decision with its certificate's validity, and a product's current one."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from ..storage import Storage
from .fields import Field, Schema, ValidationError
from .records import RecordNotFound, Row, merged, save

LEVELS = ("district", "province", "national")
STATUSES = ("valid", "expired", "revoked", "superseded")
VALIDITY_MONTHS = 36  # QĐ 148/QĐ-TTg: a certificate is valid 36 months from signing
WARNING_DAYS = 30  # the issuer warns the producer 30 days before expiry

SCHEMA = Schema(
    "Recognition",
    (
        Field("product_id", "integer", required=True, minimum=1),
        Field("decision_number", required=True, max_length=60, description="Number of the recognition decision",
              example="1234/QĐ-UBND"),
        Field("decision_date", "date", required=True, description="Date the decision was signed"),
        Field("issuing_body", required=True, max_length=200, example="UBND tỉnh Quảng Ninh"),
        Field("level", "choice", required=True, choices=LEVELS,
              description="district (3★, 2023-2025), province (3-4★), national (5★)"),
        Field("stars", "integer", required=True, minimum=3, maximum=5, description="OCOP stars: only 3-5 are certified"),
        Field("valid_from", "date", description="Default: the decision date"),
        Field("valid_until", "date", description="Default: 36 months after valid_from"),
    ),
)

REVOKE_SCHEMA = Schema("Revocation", (Field("reason", "text", required=True, max_length=500),))


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day months later (clamped to the month's last day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Standing:
    """A recognition's status on a given day."""

    status: str  # valid | expired | revoked | superseded
    days_left: int
    expiring: bool  # valid, but within the warning window

    @property
    def certified(self) -> bool:
        """Whether the product may carry the OCOP mark under this recognition."""
        return self.status == "valid"


def standing(rec: Row, today: dt.date | None = None, warning_days: int = WARNING_DAYS) -> Standing:
    """The recognition's effective status today: stored revocation/supersession, else by its dates."""
    today = today or dt.date.today()
    until = dt.date.fromisoformat(rec["valid_until"])
    days_left = (until - today).days
    if rec["status"] in ("revoked", "superseded"):
        return Standing(rec["status"], days_left, False)
    if today > until or today < dt.date.fromisoformat(rec["valid_from"]):
        return Standing("expired", days_left, False)
    return Standing("valid", days_left, days_left <= warning_days)


def _check(storage: Storage, values: dict[str, Any], existing: Row | None) -> dict[str, Any]:
    record = merged(values, existing)
    if "product_id" in values and storage.get("products", values["product_id"]) is None:
        raise ValidationError.single("product_id", "error.product_unknown")
    if not record.get("valid_from"):
        values["valid_from"] = record["valid_from"] = record["decision_date"]
    if not record.get("valid_until"):
        values["valid_until"] = record["valid_until"] = add_months(
            dt.date.fromisoformat(record["valid_from"]), VALIDITY_MONTHS
        ).isoformat()
    if record["valid_until"] <= record["valid_from"]:
        raise ValidationError.single("valid_until", "error.valid_until_order")
    if record["valid_from"] < record["decision_date"]:
        raise ValidationError.single("valid_from", "error.valid_from_before_decision")
    if existing is None:
        # A new decision for the product replaces the ones before it (re-rating may raise or lower the stars).
        for old in storage.find("recognitions", product_id=record["product_id"], status="valid"):
            if old["valid_from"] <= record["valid_from"]:
                storage.update("recognitions", old["id"], {"status": "superseded"})
    return values


def create(storage: Storage, data: Mapping[str, Any], *, strict: bool = False) -> Row:
    """Record a recognition decision; earlier valid ones of the product become superseded."""
    return save(storage, "recognitions", SCHEMA, data, strict=strict, check=_check)


def update(storage: Storage, rec_id: int, data: Mapping[str, Any], *, strict: bool = False) -> Row:
    """Correct a recognition's details (the product it belongs to cannot change)."""
    only = tuple(n for n in SCHEMA.names if n != "product_id")
    return save(storage, "recognitions", SCHEMA, data, row_id=rec_id, strict=strict, check=_check, only=only)


def revoke(storage: Storage, rec_id: int, data: Mapping[str, Any]) -> Row:
    """Revoke a recognition (thu hồi giấy chứng nhận) with a reason."""
    rec = get(storage, rec_id)  # 404 for no such certificate before any complaint about the body
    reason = REVOKE_SCHEMA.clean(data)["reason"]
    if rec["status"] == "revoked":
        raise ValidationError.single("reason", "error.already_revoked")
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return storage.update(
        "recognitions", rec_id, {"status": "revoked", "revoked_at": now, "revocation_reason": reason}
    )  # type: ignore[return-value]


def set_decision_scan(storage: Storage, rec_id: int, file_name: str | None) -> Row:
    """Point the recognition at a stored scan of its decision (or none)."""
    return storage.update("recognitions", rec_id, {"decision_scan": file_name})  # type: ignore[return-value]


def get(storage: Storage, rec_id: int, *, producer_id: int | None = None) -> Row:
    """One recognition (only of the given producer's products, when set); raises RecordNotFound."""
    rec = storage.get("recognitions", rec_id)
    if rec is None:
        raise RecordNotFound("recognition", rec_id)
    if producer_id is not None:
        product = storage.get("products", rec["product_id"])
        if product is None or product["producer_id"] != producer_id:
            raise RecordNotFound("recognition", rec_id)
    return rec


def list_all(storage: Storage, *, product_id: int | None = None, producer_id: int | None = None) -> list[Row]:
    """Recognitions, newest first, optionally of one product or one producer's products."""
    where: dict[str, Any] = {}
    if producer_id is not None:
        ids = [p["id"] for p in storage.find("products", producer_id=producer_id)]
        where["product_id"] = [i for i in ids if product_id is None or i == product_id]
    elif product_id is not None:
        where["product_id"] = product_id
    return storage.find("recognitions", order_by=("valid_from DESC", "id DESC"), **where)


def current(storage: Storage, product_id: int) -> Row | None:
    """The product's current recognition: the newest not superseded by a later decision."""
    rows = [r for r in list_all(storage, product_id=product_id) if r["status"] != "superseded"]
    return rows[0] if rows else None


def current_for(storage: Storage, product_ids: list[int]) -> dict[int, Row]:
    """Current recognitions of several products at once."""
    result: dict[int, Row] = {}
    for rec in storage.find("recognitions", product_id=product_ids, order_by=("valid_from DESC", "id DESC")):
        if rec["status"] != "superseded":
            result.setdefault(rec["product_id"], rec)
    return result
