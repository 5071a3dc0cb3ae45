"""A partner's EPCIS 2.0 document (an upstream processor or distributor) recorded as a batch's received inputs.

Each event of the partner's becomes one "receiving" stage of ours, at the producer's place: what the partner
shipped, made or observed (their outputs) are our inputs, one step back. The whole document is checked against
GS1's schema and our own rules first, and refused with every problem named by event if any event is wrong:
nothing is half-imported. The same event imported twice is refused (its eventID names it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Mapping

from biip import ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI

from ..i18n import Message
from ..registry import batches
from ..registry.fields import Invalid, ValidationError
from ..registry.records import Row
from ..storage import Storage
from . import epcis
from . import events as trace_events

# Where each event type lists what it is about (for a transformation: what came out of it).
ITEMS = {"ObjectEvent": ("epcList", "quantityList"), "TransactionEvent": ("epcList", "quantityList"),
         "AggregationEvent": ("childEPCs", "childQuantityList"),
         "TransformationEvent": ("outputEPCList", "outputQuantityList"),
         "AssociationEvent": ("childEPCs", "childQuantityList")}
NAMESPACE = uuid.UUID("2f1c7e0a-6b1d-4a57-9a55-0c9f5b7f3e21")  # eventIDs -> our event uuids, stable across imports


def _input(uri: str, quantity: Mapping[str, Any] | None, supplier: str | None) -> dict[str, Any]:
    """One input from a partner's identifier: a GS1 Digital Link gives GTIN and lot, anything else is kept whole."""
    item: dict[str, Any] = {"material": uri[:120]}
    try:
        strings = {e.ai.ai: e.value for e in GS1DigitalLinkURI.parse(uri).element_strings}
    except ParseError:
        strings = {}
    if "01" in strings:
        item["material"] = f"GTIN {strings['01']}"
        if "10" in strings:
            item["lot"] = strings["10"][:40]
    if quantity and "quantity" in quantity:
        item["quantity"] = f"{quantity['quantity']} {quantity.get('uom', '')}".strip()[:40]
    if supplier:
        item["supplier"] = supplier[:200]
        if len(supplier) <= 50:
            item["supplier_id"] = supplier
    return item


def _stage(event: Mapping[str, Any], commune_code: str) -> dict[str, Any]:
    """Our receiving stage for one (schema-valid) partner event."""
    epcs_key, quantities_key = ITEMS.get(event["type"], ("epcList", "quantityList"))
    source = next((s.get("source") for s in event.get("sourceList") or [] if isinstance(s, Mapping)), None)
    supplier = source or (event.get("bizLocation") or {}).get("id") or (event.get("readPoint") or {}).get("id")
    inputs = [_input(epc, None, supplier) for epc in event.get(epcs_key) or []]
    inputs += [_input(q["epcClass"], q, supplier) for q in event.get(quantities_key) or []]
    offset = event["eventTimeZoneOffset"]
    moment = dt.datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
    sign = 1 if offset[0] == "+" else -1
    zone = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    return {"stage": "receiving", "at": moment.astimezone(zone).isoformat(), "commune_code": commune_code,
            "description": f"EPCIS {event['type']} {event.get('bizStep') or ''}".strip()[:500], "inputs": inputs}


def import_document(storage: Storage, batch_id: int, doc: Any, *, producer_id: int | None, user_id: int | None,
                    now: dt.datetime | None = None) -> list[Row]:
    """Record every event of a partner's EPCIS document as a received input of the batch; all or nothing."""
    batch = batches.get(storage, batch_id, producer_id=producer_id)
    problems = epcis.problems(doc)
    if not isinstance(doc, Mapping) or doc.get("type") != "EPCISDocument":
        raise ValidationError({"document": Message("error.epcis_not_document")})
    raw_events = ((doc.get("epcisBody") or {}).get("eventList") if isinstance(doc.get("epcisBody"), Mapping) else None)
    if not isinstance(raw_events, list) or not raw_events:
        raise ValidationError({"document": Message("error.epcis_no_events")})
    errors: dict[str, Message] = {}
    for line in problems:  # "$.epcisBody.eventList[2].eventTime: ..." -> events[2]
        path, _, text = line.partition(": ")
        marker = "$.epcisBody.eventList["
        name = f"events[{path[len(marker):].split(']')[0]}]" if path.startswith(marker) else "document"
        errors.setdefault(name, Message("error.epcis_schema", {"detail": text}))
    cleaned: list[tuple[str, dict[str, Any]]] = []
    for i, event in enumerate(raw_events):
        if f"events[{i}]" in errors or not isinstance(event, Mapping):
            continue
        event_id = str(event.get("eventID") or "")
        if not event_id:
            errors[f"events[{i}]"] = Message("error.epcis_event_id")
            continue
        ours = str(uuid.uuid5(NAMESPACE, event_id))
        if storage.find_one("batch_events", uuid=ours) or any(ours == u for u, _ in cleaned):
            errors[f"events[{i}]"] = Message("error.epcis_duplicate", {"id": event_id[:100]})
            continue
        try:
            values = trace_events.clean(_stage(event, batch["origin_commune_code"]), now=now)
        except ValidationError as exc:
            errors.update({f"events[{i}].{k}": m for k, m in exc.fields.items()})
            continue
        except (Invalid, ValueError, KeyError, TypeError):
            errors[f"events[{i}]"] = Message("error.epcis_event")
            continue
        cleaned.append((ours, values))
    if errors:
        raise ValidationError(errors, Message("error.epcis_refused", {"count": len(raw_events)}))
    stored = []
    with storage.transaction():
        for ours, values in cleaned:
            stored.append(storage.insert("batch_events", {
                **{k: v for k, v in values.items() if v is not None}, "batch_id": batch_id, "uuid": ours,
                "source": "epcis", "created_by": user_id}))
    return [trace_events.decode(r) for r in stored]
