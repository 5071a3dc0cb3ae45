"""Production stages of a batch (TT 02/2024/TT-BKHCN): append-only events, each with its time, place and inputs.

A correction never rewrites an event: it is a new event naming the one it corrects (EPCIS error declaration),
and both stay in the record for inspectors; shoppers see the corrected version only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from ..i18n import Message
from ..registry import batches, places
from ..registry.fields import Field, Invalid, Schema, ValidationError
from ..registry.records import Row
from ..storage import Storage


@dataclass(frozen=True)
class Stage:
    """One kind of production stage: its CBV 2.0 business step and the outline icon the timeline draws."""

    name: str
    biz_step: str
    icon: str  # SVG path data on a 24x24 grid, stroked: drawn inline, so no font or request is needed


# CBV 2.0 has no farming step: planting is "other" with our stage name beside it; harvest and processing bring the
# product (or a new form of it) into being, which CBV calls commissioning.
STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("planting", "other", "M12 21v-9m0 0C12 7 9 5 4 5c0 5 3 7 8 7zm0-2c0-4 3-6 8-6 0 4-3 6-8 6z"),
    Stage("harvest", "commissioning", "M3 10h18l-2 10H5zm4 0 5-6 5 6"),
    Stage("receiving", "receiving", "M12 3v10m-4-4 4 4 4-4M3 14v6h18v-6"),
    Stage("processing", "commissioning", "M12 8a4 4 0 1 0 .01 0M12 2v3m0 14v3M2 12h3m14 0h3M5 5l2 2m10 10 2 2M5 19l2-2M17 7l2-2"),
    Stage("packing", "packing", "M3 7l9-4 9 4v10l-9 4-9-4zm0 0 9 4 9-4m-9 4v10"),
    Stage("quality_test", "inspecting", "M9 3h6m-5 0v6L5 19a1 1 0 0 0 1 2h12a1 1 0 0 0 1-2l-5-10V3M7 15h10"),
    Stage("storage", "storing", "M3 21V9l9-6 9 6v12M7 21v-8h10v8m-10-4h10"),
    Stage("shipping", "shipping", "M2 6h12v10H2zm12 4h4l3 3v3h-7M6 17a2 2 0 1 0 .01 0m11 0a2 2 0 1 0 .01 0"),
)}
SOURCES = ("portal", "api", "csv", "epcis", "demo")
MAX_INPUTS = 20
MAX_PHOTOS = 5
# Phones' clocks drift: a stage stamped up to this far ahead of ours is "now", anything later is refused.
CLOCK_SKEW = dt.timedelta(minutes=2)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
OFFSET_RE = re.compile(r"(Z|[+-](0\d|1[0-4]):[0-5]\d)$")

SCHEMA = Schema(
    "BatchEvent",
    (
        Field("stage", "choice", required=True, choices=tuple(STAGES), description="Production stage"),
        Field("at", required=True, max_length=40,
              description="When, ISO 8601 with its UTC offset; never in the future", example="2026-11-20T07:30:00+07:00"),
        Field("commune_code", required=True, max_length=5, check=places.check_commune_code,
              description="Commune where the stage took place", example="06978"),
        Field("site", max_length=120, description="The producer's named site in that commune (farm, workshop)"),
        Field("description", "text", max_length=500, description="One line about the stage", example="Hái búp chè"),
        Field("corrects", "integer", minimum=1, description="Id of the event this one corrects"),
        Field("reason", max_length=300, description="Why the corrected event was wrong (required with corrects)"),
    ),
)
INPUT = Schema("EventInput", (
    Field("material", required=True, max_length=120, example="Búp chè tươi"),
    Field("supplier", max_length=200, example="Hộ ông Nguyễn Văn Hùng"),
    Field("supplier_id", max_length=50, description="Supplier's tax code, GLN or other identifier"),
    Field("lot", max_length=40, description="Supplier's lot"),
    Field("quantity", max_length=40, description="Quantity with its unit", example="120 kg"),
))
SHIP_TO = Schema("EventShipTo", (
    Field("distributor", required=True, max_length=200, example="Cửa hàng đặc sản Hạ Long"),
    Field("commune_code", max_length=5, check=places.check_commune_code),
    Field("address", max_length=200),
    Field("quantity", max_length=40, example="200 hộp"),
))
LIST_FIELDS = ("inputs", "ship_to", "photos")


def parse_time(value: str, now: dt.datetime | None = None) -> tuple[str, str]:
    """(UTC time as stored, its original offset '+07:00') from ISO 8601 with an offset; raises Invalid."""
    text = value.strip()
    if not OFFSET_RE.search(text):
        raise Invalid("error.event_time_offset")
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("error.event_time") from None
    now = now or dt.datetime.now(dt.timezone.utc)
    if moment > now + CLOCK_SKEW:
        raise Invalid("error.event_time_future")
    if moment < EARLIEST:
        raise Invalid("error.event_time")
    offset = moment.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return (moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")


def _clean_list(data: Mapping[str, Any], errors: dict[str, Message]) -> dict[str, Any]:
    """inputs, ship_to and photos, checked one by one (errors named like inputs[0].material)."""
    out: dict[str, Any] = {}
    raw_inputs = data.get("inputs") or []
    if not isinstance(raw_inputs, list) or len(raw_inputs) > MAX_INPUTS:
        errors["inputs"] = Message("error.event_inputs", {"max": MAX_INPUTS})
    else:
        cleaned = []
        for i, item in enumerate(raw_inputs):
            try:
                cleaned.append({k: v for k, v in INPUT.clean(item, strict=True).items() if v is not None})
            except ValidationError as exc:
                errors.update({f"inputs[{i}].{k}": m for k, m in exc.fields.items()} or {f"inputs[{i}]": exc.message})
        out["inputs"] = cleaned
    raw_ship = data.get("ship_to")
    if raw_ship not in (None, {}):
        try:
            out["ship_to"] = {k: v for k, v in SHIP_TO.clean(raw_ship, strict=True).items() if v is not None}
        except ValidationError as exc:
            errors.update({f"ship_to.{k}": m for k, m in exc.fields.items()} or {"ship_to": exc.message})
    photos = data.get("photos") or []
    if (not isinstance(photos, list) or len(photos) > MAX_PHOTOS
            or not all(isinstance(p, str) and re.fullmatch(r"https://[^\s<>\"']{1,300}", p) for p in photos)):
        errors["photos"] = Message("error.event_photos", {"max": MAX_PHOTOS})
    else:
        out["photos"] = photos
    return out


def clean(data: Mapping[str, Any], *, now: dt.datetime | None = None, strict: bool = True) -> dict[str, Any]:
    """An event's values, validated and normalised for storage; raises ValidationError naming every bad field."""
    if not isinstance(data, Mapping):
        raise ValidationError({}, Message("error.body_object"))
    errors: dict[str, Message] = {}
    known = set(SCHEMA.names) | set(LIST_FIELDS)
    if strict:
        errors.update({str(k)[:50]: Message("error.unknown_field") for k in data if k not in known})
    values: dict[str, Any] = {}
    try:
        values = SCHEMA.clean({k: v for k, v in data.items() if k in SCHEMA.names})
    except ValidationError as exc:
        errors.update(exc.fields)
    if "at" not in errors and isinstance(data.get("at"), str):
        try:
            values["event_time"], values["tz_offset"] = parse_time(data["at"], now)
        except Invalid as exc:
            errors["at"] = exc.message
    extra = _clean_list(data, errors)
    if values.get("corrects") and not values.get("reason") and "reason" not in errors:
        errors["reason"] = Message("error.event_reason_required")
    if values.get("reason") and not data.get("corrects") and "corrects" not in errors:
        errors["corrects"] = Message("error.required")
    if errors:
        raise ValidationError(errors)
    values.pop("at", None)
    values["inputs"] = json.dumps(extra["inputs"], ensure_ascii=False) if extra["inputs"] else None
    values["ship_to"] = json.dumps(extra["ship_to"], ensure_ascii=False) if extra.get("ship_to") else None
    values["photos"] = json.dumps(extra["photos"]) if extra["photos"] else None
    return values


def record(
    storage: Storage, batch_id: int, data: Mapping[str, Any], *, producer_id: int | None, user_id: int | None,
    source: str = "api", now: dt.datetime | None = None,
) -> Row:
    """Add one stage to a batch (the batch's producer or the office); returns the stored event."""
    batches.get(storage, batch_id, producer_id=producer_id)  # RecordNotFound for another producer's batch
    values = clean(data, now=now)
    with storage.transaction():
        if values.get("corrects"):
            target = storage.get("batch_events", values["corrects"])
            if target is None or target["batch_id"] != batch_id:
                raise ValidationError.single("corrects", "error.event_unknown")
            if storage.find_one("batch_events", corrects=target["id"]):
                raise ValidationError.single("corrects", "error.event_already_corrected")
        row = storage.insert("batch_events", {
            **{k: v for k, v in values.items() if v is not None}, "batch_id": batch_id,
            "uuid": str(uuid.uuid4()), "source": source, "created_by": user_id})
    return decode(row)


def decode(row: Row) -> Row:
    """A stored event with its JSON columns as lists and objects."""
    return {**row, "inputs": json.loads(row["inputs"]) if row["inputs"] else [],
            "ship_to": json.loads(row["ship_to"]) if row["ship_to"] else None,
            "photos": json.loads(row["photos"]) if row["photos"] else []}


def list_for(storage: Storage, batch_id: int) -> list[Row]:
    """Every event of a batch (corrected ones too), in the order they happened."""
    rows = storage.find("batch_events", batch_id=batch_id, order_by=("event_time", "id"))
    corrected_by = {r["corrects"]: r["id"] for r in rows if r["corrects"]}
    return [{**decode(r), "corrected_by": corrected_by.get(r["id"])} for r in rows]


def current(events: list[Row]) -> list[Row]:
    """The record as it stands: events no later event corrects."""
    return [e for e in events if e["corrected_by"] is None]


def local_time(event: Row) -> dt.datetime:
    """When the stage happened, at the offset it was recorded with."""
    sign = 1 if event["tz_offset"][0] == "+" else -1
    hours, minutes = event["tz_offset"][1:].split(":")
    offset = dt.timezone(sign * dt.timedelta(hours=int(hours), minutes=int(minutes)))
    return dt.datetime.fromisoformat(event["event_time"].replace("Z", "+00:00")).astimezone(offset)


def present(event: Row) -> dict[str, Any]:
    """An event as the API shows it."""
    commune = places.commune(event["commune_code"])
    return {
        "id": event["id"], "event_id": f"urn:uuid:{event['uuid']}", "batch_id": event["batch_id"],
        "stage": event["stage"], "biz_step": STAGES[event["stage"]].biz_step,
        "at": local_time(event).isoformat(), "commune_code": event["commune_code"],
        "place": commune.display("vi") if commune else None, "site": event["site"],
        "description": event["description"], "inputs": event["inputs"], "ship_to": event["ship_to"],
        "photos": event["photos"], "corrects": event["corrects"], "reason": event["reason"],
        "corrected_by": event.get("corrected_by"), "source": event["source"], "created_by": event["created_by"],
        "created_at": event["created_at"],
    }

