"""A batch's record as an EPCIS 2.0 JSON-LD document (GS1), checked against GS1's official JSON Schema.

Class-level identifiers (what was made) are GS1 Digital Link URIs for products with a GTIN and our own HTTPS
URIs otherwise; places are our own HTTPS URIs (communes of the registry, producers' named sites).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from importlib import resources
from typing import Any
from urllib.parse import quote

import jsonschema

from ..registry.records import Row
from . import digital_link
from . import events as trace_events
from .events import STAGES

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
MEDIA_TYPE = "application/ld+json"


def _ns(host: str) -> str:
    return f"https://{host}/voc/"


def gtin14(gtin: str) -> str:
    """A GTIN-8/12/13/14 padded to the 14 digits Digital Link URIs carry."""
    return gtin.zfill(14)


def lot_uri(host: str, product: Row, lot: str) -> str:
    """The class-level identifier of a batch: GS1 Digital Link with a GTIN, our own URI without."""
    if product.get("gtin"):
        try:
            return digital_link.build("id.gs1.org", product["gtin"], lot)
        except digital_link.BadLink:  # a lot GS1 cannot carry (over 20 characters): our own URI below
            pass
    return f"https://{host}/id/product/{product['id']}/lot/{quote(lot, safe='')}"


def place_uri(host: str, commune_code: str, site: str | None = None) -> str:
    """A place: a commune of the registry, or a producer's named site within it."""
    base = f"https://{host}/id/commune/{commune_code}"
    return f"{base}/site/{quote(site, safe='')}" if site else base


def _input_uri(host: str, item: dict[str, Any]) -> str:
    who = item.get("supplier_id") or item.get("supplier") or "unknown"
    uri = f"https://{host}/id/input/{quote(who, safe='')}/{quote(item['material'], safe='')}"
    return f"{uri}/lot/{quote(item['lot'], safe='')}" if item.get("lot") else uri


def _event(host: str, product: Row, batch: Row, e: Row, by_id: dict[int, Row]) -> dict[str, Any]:
    stage = STAGES[e["stage"]]
    ours = lot_uri(host, product, batch["lot"])
    here = place_uri(host, e["commune_code"], e["site"])
    ns = "ocop:"
    body: dict[str, Any] = {
        "eventID": f"urn:uuid:{e['uuid']}",
        "eventTime": e["event_time"],
        "eventTimeZoneOffset": e["tz_offset"],
        "recordTime": e["created_at"],
    }
    inputs = [{"epcClass": _input_uri(host, i)} for i in e["inputs"]]
    if e["stage"] == "processing" and inputs:
        body.update({"type": "TransformationEvent", "inputQuantityList": inputs,
                     "outputQuantityList": [{"epcClass": ours}]})
    else:
        body.update({"type": "ObjectEvent", "action": "ADD" if stage.biz_step == "commissioning" else "OBSERVE",
                     "epcList": [], "quantityList": [{"epcClass": ours}]})
    body.update({"bizStep": stage.biz_step, "disposition": "in_transit" if e["stage"] == "shipping" else "in_progress",
                 "readPoint": {"id": here}, "bizLocation": {"id": here}})
    if e["stage"] != "processing" and e["inputs"]:
        body["sourceList"] = [{"type": "possessing_party", "source": _input_uri(host, i)} for i in e["inputs"]]
    if e["ship_to"]:
        ship = e["ship_to"]
        dest = (place_uri(host, ship["commune_code"]) if ship.get("commune_code")
                else f"https://{host}/id/party/{quote(ship['distributor'], safe='')}")
        body["destinationList"] = [{"type": "location", "destination": dest}]
        body[f"{ns}shipTo"] = ship
    body[f"{ns}stage"] = e["stage"]
    if e["description"]:
        body[f"{ns}description"] = e["description"]
    if e["inputs"]:
        body[f"{ns}inputs"] = e["inputs"]
    if e["photos"]:
        body[f"{ns}photos"] = e["photos"]
    if e["corrected_by"]:
        fix = by_id[e["corrected_by"]]
        body["errorDeclaration"] = {"declarationTime": fix["created_at"], "reason": "incorrect_data",
                                    "correctiveEventIDs": [f"urn:uuid:{fix['uuid']}"], f"{ns}reason": fix["reason"]}
    return body


def document(host: str, product: Row, batch: Row, events: list[Row], now: dt.datetime | None = None) -> dict[str, Any]:
    """The EPCIS 2.0 document of one batch's events (corrected ones carry their error declaration)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    by_id = {e["id"]: e for e in events}
    return {
        "@context": [*CONTEXT, {"ocop": _ns(host)}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "id": f"https://{host}/id/product/{product['id']}/lot/{quote(batch['lot'], safe='')}/epcis",
        "epcisBody": {"eventList": [_event(host, product, batch, e, by_id) for e in events]},
    }


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft7Validator:
    source = resources.files("stamp_service").joinpath("data", "epcis", "EPCIS-JSON-Schema.json")
    schema = json.loads(source.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def problems(doc: Any) -> list[str]:
    """What makes a document invalid against GS1's EPCIS 2.0 schema (empty: valid), each with its JSON path."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    return [f"{e.json_path}: {e.message[:200]}" for e in errors]


def batch_document(storage: Any, host: str, batch: Row, product: Row) -> dict[str, Any]:
    """The export of one batch: every event, as EPCIS."""
    return document(host, product, batch, trace_events.list_for(storage, batch["id"]))
