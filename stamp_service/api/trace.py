"""A batch's production stages over the API: record and list them, and export them as EPCIS 2.0."""

from __future__ import annotations

import json
from typing import Any, Callable

from flask import current_app, g, jsonify, request, url_for
from werkzeug.wrappers import Response

from ..auth.access import load_identity, public, roles
from ..context import get_storage
from ..i18n import Message, gettext
from ..registry import batches, products
from ..registry.csv_import import IMPORT_FAILED, ImportFailed
from ..registry.fields import ValidationError
from ..trace import epcis, epcis_import, events, stage_import
from ..trace import passport as trace_passport
from ..verification.requests import run_check
from . import bp
from .body import json_object
from .verify import NO_CACHE


@bp.route("/batches/<int:batch_id>/events", methods=["POST"])
@roles("producer", "admin")
def batch_event_add(batch_id: int) -> tuple[Response, int, dict[str, str]]:
    """Record one stage of the batch (its producer or the office; token scope issue): 201 with the stored event."""
    storage = get_storage()
    batches.get(storage, batch_id, producer_id=g.identity.scope)  # 404 before reading a body for a batch not yours
    row = events.record(storage, batch_id, json_object(), producer_id=g.identity.scope, user_id=g.identity.user_id,
                        source="api")
    return jsonify(events.present(row)), 201, {"Location": url_for("api.batch_events", batch_id=batch_id)}


@bp.route("/batches/<int:batch_id>/events.csv", methods=["POST"])
@roles("producer", "admin")
def batch_events_import(batch_id: int) -> tuple[Response, int]:
    """Record a file of stages (CSV or .xlsx: raw body or multipart "file"): 201, or 400 listing every problem."""
    storage = get_storage()
    batches.get(storage, batch_id, producer_id=g.identity.scope)  # 404 before reading a body for a batch not yours
    upload = request.files.get("file")
    data = upload.read() if upload is not None else request.get_data()
    try:
        report = stage_import.import_stages(storage, batch_id, data, producer_id=g.identity.scope,
                                            user_id=g.identity.user_id)
    except ImportFailed as exc:
        return jsonify(error=exc.message.render(), fields={}, errors=exc.report.error_dicts()), 400
    rows = {e["id"]: e for e in events.list_for(storage, batch_id)}
    return jsonify(rows=report.rows, items=[events.present(rows[i]) for i in report.created]), 201


@bp.route("/batches/<int:batch_id>/events")
@roles("admin", "inspector", "producer")
def batch_events(batch_id: int) -> Response:
    """Every stage of the batch, corrections included, in the order they happened: {"items": [...]}."""
    storage = get_storage()
    batches.get(storage, batch_id, producer_id=g.identity.scope)
    return jsonify(items=[events.present(e) for e in events.list_for(storage, batch_id)])


@bp.route("/batches/<int:batch_id>/epcis")
@roles("admin", "inspector", "producer")
def batch_epcis(batch_id: int) -> Response:
    """The batch's stages as an EPCIS 2.0 document (application/ld+json), valid against GS1's schema."""
    storage = get_storage()
    batch = batches.get(storage, batch_id, producer_id=g.identity.scope)
    doc = epcis.batch_document(storage, current_app.config["PUBLIC_HOST"], batch,
                               products.get(storage, batch["product_id"]))
    return Response(json.dumps(doc, ensure_ascii=False), mimetype=epcis.MEDIA_TYPE)


@bp.route("/batches/<int:batch_id>/epcis", methods=["POST"])
@roles("producer", "admin")
def batch_epcis_import(batch_id: int) -> tuple[Response, int]:
    """Record a partner's EPCIS 2.0 document as the batch's received inputs: 201, or 400 naming each bad event."""
    storage = get_storage()
    batches.get(storage, batch_id, producer_id=g.identity.scope)
    rows = epcis_import.import_document(storage, batch_id, json_object(), producer_id=g.identity.scope,
                                        user_id=g.identity.user_id)
    return jsonify(items=[events.present({**r, "corrected_by": None}) for r in rows]), 201


@bp.route("/passport")
@public
def passport() -> tuple[Response, int, dict[str, str]]:
    """The digital product passport of ?code=<QR text or serial>: 404 when no stamp of ours has that code."""
    code = request.args.get("code", "")
    if not code.strip() or len(code) > 2000:
        raise ValidationError({"code": Message("error.required" if not code.strip() else "error.too_long", {"max": 2000})})
    identity = load_identity()
    outcome = run_check(code, "api", with_device=False, client_id=identity.user_id if identity else None)
    if outcome.verdict.name not in trace_passport.KNOWN or outcome.batch is None or outcome.product is None:
        response = jsonify(error=gettext("error.passport_unknown"), verdict=outcome.verdict.name, fields={})
        return response, 404, NO_CACHE
    product = outcome.product
    image = url_for("portal.product_image", product_id=product["id"]) if product["image"] else None
    body = trace_passport.build(get_storage(), current_app.config["PUBLIC_HOST"], outcome, image)
    return jsonify(body), 200, NO_CACHE


def openapi_paths(paths: dict[str, Any], schemas: dict[str, Any], errors: Callable[..., dict[str, Any]]) -> None:
    """This module's routes in the OpenAPI document (errors: openapi.py's error responses by status)."""
    nullable_text = {"type": ["string", "null"]}
    schemas["BatchEvent"] = {**events.SCHEMA.openapi(stored={
        "event_id": {"type": "string", "description": "urn:uuid:... (EPCIS eventID)"}, "batch_id": {"type": "integer"},
        "biz_step": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
        "place": nullable_text, "inputs": {"type": ["array", "null"], "items": events.INPUT.openapi()},
        "ship_to": {"oneOf": [events.SHIP_TO.openapi(), {"type": "null"}]},
        "photos": {"type": ["array", "null"], "items": {"type": "string"}},
        "corrected_by": {"type": ["integer", "null"], "description": "The event that corrects this one"},
        "source": {"type": "string"}, "created_by": {"type": ["integer", "null"]}, "created_at": {"type": "string"}}),
        "description": "One production stage, as stored"}
    create = events.SCHEMA.openapi()
    create["properties"].update({
        "inputs": {"type": "array", "maxItems": events.MAX_INPUTS, "items": events.INPUT.openapi(),
                   "description": "One step back: materials and where they came from"},
        "ship_to": {**events.SHIP_TO.openapi(), "description": "One step forward: where the output went"},
        "photos": {"type": "array", "maxItems": events.MAX_PHOTOS, "items": {"type": "string", "format": "uri"},
                   "description": "https links to photos (shown as links)"}})
    schemas["BatchEventCreate"] = create
    schemas["Passport"] = trace_passport.SCHEMA
    schemas["PassportPlace"] = trace_passport.PLACE_SCHEMA
    batch_id = [{"name": "batch_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    paths["/api/v1/batches/{batch_id}/events"] = {
        "get": {"summary": "A batch's production stages, corrections included", "tags": ["traceability"],
                "description": "Roles: admin, inspector, producer (its own batches)", "parameters": batch_id,
                "responses": {"200": {"description": "{items: [...]}, in the order they happened", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {"items": {
                        "type": "array", "items": {"$ref": "#/components/schemas/BatchEvent"}}}}}}},
                    **errors(401, 403, 404)}},
        "post": {"summary": "Record one production stage (append-only; a correction names the event it corrects)",
                 "tags": ["traceability"], "parameters": batch_id,
                 "description": "Roles: producer (its own batches), admin; token scope issue. The time carries its "
                                "UTC offset and is never in the future; the commune is one of the registry.",
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/BatchEventCreate"}}}},
                 "responses": {"201": {"description": "The stored event", "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/BatchEvent"}}}}, **errors(400, 401, 403, 404, 413)}},
    }
    file_schema = {"type": "string", "format": "binary"}
    paths["/api/v1/batches/{batch_id}/events.csv"] = {"post": {
        "summary": "Record a file of production stages (CSV or .xlsx), all or nothing", "tags": ["traceability"],
        "parameters": batch_id,
        "description": "Roles: producer (its own batches), admin; token scope issue. One stage per row, columns "
                       f"{', '.join(stage_import.COLUMNS)} (or their Vietnamese headers, see "
                       "/portal/stages/template.csv); consecutive rows with the same stage, at, commune_code, site "
                       "and description are one stage with several inputs. A time without offset written "
                       "DD/MM/YYYY HH:MM is Vietnam time. Each stage is checked as POST .../events checks it; if any "
                       f"row is wrong nothing is stored and every problem is listed. At most {stage_import.MAX_BYTES} "
                       f"bytes and {stage_import.MAX_ROWS} rows; stored with source csv.",
        "requestBody": {"required": True, "content": {
            "text/csv": {"schema": file_schema},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": file_schema},
            "multipart/form-data": {"schema": {"type": "object", "properties": {"file": file_schema},
                                               "required": ["file"]}}}},
        "responses": {
            "201": {"description": "The stages recorded", "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "rows": {"type": "integer"},
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/BatchEvent"}}}}}}},
            "400": {"description": "Nothing stored: every problem of every row", "content": {
                "application/json": {"schema": IMPORT_FAILED}}},
            **errors(401, 403, 404, 413)}}}
    paths["/api/v1/batches/{batch_id}/epcis"] = {"get": {
        "summary": "The batch's stages as an EPCIS 2.0 document", "tags": ["traceability"], "parameters": batch_id,
        "description": "Roles: admin, inspector, producer (its own batches). Valid against GS1's EPCIS 2.0 JSON Schema; "
                       "corrected events carry an errorDeclaration naming their correction.",
        "responses": {"200": {"description": "EPCISDocument", "content": {epcis.MEDIA_TYPE: {"schema": {
            "type": "object", "description": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-json-schema.json"}}}},
            **errors(401, 403, 404)}},
        "post": {
            "summary": "Import a partner's EPCIS 2.0 document as the batch's received inputs (one step back)",
            "tags": ["traceability"], "parameters": batch_id,
            "description": "Roles: producer (its own batches), admin; token scope issue. Each partner event becomes a "
                           "receiving stage at the batch's place, its outputs our inputs (GS1 Digital Links give GTIN "
                           "and lot). All or nothing: a 400 names each wrong event (fields events[i]), and an event "
                           "already imported (same eventID) is refused.",
            "requestBody": {"required": True, "content": {epcis.MEDIA_TYPE: {"schema": {"type": "object"}},
                                                          "application/json": {"schema": {"type": "object"}}}},
            "responses": {"201": {"description": "The stages recorded", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"items": {"type": "array",
                                                           "items": {"$ref": "#/components/schemas/BatchEvent"}}}}}}},
                **errors(400, 401, 403, 404, 413)}}}
    paths["/api/v1/passport"] = {"get": {
        "summary": "Digital product passport of the product a stamp is on (ND 37/2026 minimum content)",
        "tags": ["traceability"], "security": [],
        "parameters": [{"name": "code", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 2000},
                        "description": "The QR text or the serial printed under it"}],
        "responses": {"200": {"description": "The passport", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Passport"}}}},
            **errors(400, 404, 429)}}}
