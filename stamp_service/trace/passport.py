"""The digital product passport (Nghị định 37/2026/NĐ-CP minimum content) of the product behind one stamp."""

from __future__ import annotations

from typing import Any

from ..registry import places
from ..registry.records import Row
from ..stamps.serials import format_serial
from ..verification.checker import Outcome
from . import epcis
from . import events as trace_events

# Verdicts under which the stamp is ours and its records can be shown (a forged or unknown code has none).
KNOWN = ("genuine", "warning", "suspected-copy", "not-activated", "recalled", "certificate-expired",
         "certificate-revoked", "key-revoked")


def _place(code: str | None) -> dict[str, Any] | None:
    commune = places.commune(code or "")
    if commune is None:
        return None
    return {"commune_code": commune.code, "display": commune.display("vi"), "display_en": commune.display("en")}


def public_identifier(producer: Row) -> dict[str, Any] | None:
    """The producer's identifier as the public may see it: a household's personal ID number (CCCD) is private,
    so only its kind is said."""
    if not producer["id_value"]:
        return None
    return {"type": producer["id_type"],
            "value": None if producer["id_type"] == "personal_id" else producer["id_value"]}


def last_processing(stages: list[Row]) -> Row | None:
    """The last stage that made or changed the product (processing, else harvest): the origin ND 37 asks for."""
    for kind in ("processing", "packing", "harvest"):
        found = [e for e in stages if e["stage"] == kind]
        if found:
            return found[-1]
    return None


def build(storage: Any, host: str, outcome: Outcome, image_url: str | None) -> dict[str, Any]:
    """The passport of a verified stamp; the caller checks outcome.verdict first (see KNOWN)."""
    claims, batch, product, producer = outcome.claims, outcome.batch, outcome.product, outcome.producer
    assert claims is not None and batch is not None and product is not None and producer is not None
    stages = trace_events.current(trace_events.list_for(storage, batch["id"]))
    last = last_processing(stages)
    rec = outcome.recognition
    warnings = []
    if batch["recalled_at"]:
        warnings.append({"kind": "recall", "text": batch["recall_reason"] or "", "since": batch["recalled_at"]})
    gtin = product["gtin"]
    return {
        "verdict": outcome.verdict.name,
        "gtin": epcis.gtin14(gtin) if gtin else None,
        "product": {"name": product["name"], "group": product["product_group"], "description": product["description"],
                    "image_url": image_url},
        "producer": {"name": producer["name"], "type": producer["type"],
                     "identifier": public_identifier(producer),
                     "address": producer["address"], "place": _place(producer["commune_code"])},
        "origin": {"batch_origin": _place(batch["origin_commune_code"]),
                   "last_processing": ({**_place(last["commune_code"]), "site": last["site"], "stage": last["stage"]}
                                       if last else None)},
        "traceability": {
            "code": format_serial(claims.serial), "lot": batch["lot"],
            "class_id": epcis.lot_uri(host, product, batch["lot"]),
            "stages": [{**trace_events.present(e), "created_by": None} for e in stages],
        },
        "certifications": ([{"scheme": "OCOP", "stars": rec["stars"], "decision_number": rec["decision_number"],
                             "issuing_body": rec["issuing_body"], "valid_from": rec["valid_from"],
                             "valid_until": rec["valid_until"],
                             "status": outcome.standing.status if outcome.standing else None}] if rec else []),
        "production_date": batch["production_date"],
        "expiry_date": batch["expiry_date"],
        "safety_warnings": warnings,
    }


SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Digital product passport (Nghị định 37/2026/NĐ-CP minimum content) of the product a stamp is on",
    "required": ["verdict", "gtin", "product", "producer", "origin", "traceability", "certifications",
                 "production_date", "expiry_date", "safety_warnings"],
    "properties": {
        "verdict": {"type": "string", "description": "The stamp's verdict, as GET /api/v1/verify gives it"},
        "gtin": {"type": ["string", "null"], "pattern": "^\\d{14}$", "description": "GTIN-14, if the product has one"},
        "product": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"}, "group": {"type": "string"}, "description": {"type": ["string", "null"]},
            "image_url": {"type": ["string", "null"]}}},
        "producer": {"type": "object", "required": ["name", "identifier"], "properties": {
            "name": {"type": "string"}, "type": {"type": "string"},
            "identifier": {"type": ["object", "null"], "description": "Tax code, personal id or other",
                           "properties": {"type": {"type": "string"}, "value": {"type": ["string", "null"],
                                     "description": "Absent (null) for a personal ID number, which stays private"}}},
            "address": {"type": ["string", "null"]}, "place": {"$ref": "#/components/schemas/PassportPlace"}}},
        "origin": {"type": "object", "properties": {
            "batch_origin": {"$ref": "#/components/schemas/PassportPlace"},
            "last_processing": {"type": ["object", "null"],
                                "description": "Where the last processing (else packing, else harvest) stage took place"}}},
        "traceability": {"type": "object", "required": ["code", "lot", "class_id", "stages"], "properties": {
            "code": {"type": "string", "description": "The stamp's serial as printed"},
            "lot": {"type": "string"},
            "class_id": {"type": "string", "format": "uri",
                         "description": "The batch's identifier: GS1 Digital Link with a GTIN, ours otherwise"},
            "stages": {"type": "array", "items": {"$ref": "#/components/schemas/BatchEvent"},
                       "description": "Production stages as they stand (corrected versions only)"}}},
        "certifications": {"type": "array", "items": {"type": "object", "properties": {
            "scheme": {"type": "string"}, "stars": {"type": "integer"}, "decision_number": {"type": "string"},
            "issuing_body": {"type": "string"}, "valid_from": {"type": "string", "format": "date"},
            "valid_until": {"type": "string", "format": "date"}, "status": {"type": ["string", "null"]}}}},
        "production_date": {"type": "string", "format": "date"},
        "expiry_date": {"type": ["string", "null"], "format": "date"},
        "safety_warnings": {"type": "array", "items": {"type": "object", "properties": {
            "kind": {"type": "string"}, "text": {"type": "string"}, "since": {"type": "string"}}}},
    },
}
PLACE_SCHEMA: dict[str, Any] = {"type": ["object", "null"], "properties": {
    "commune_code": {"type": "string"}, "display": {"type": "string"}, "display_en": {"type": "string"}}}
