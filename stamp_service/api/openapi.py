"""The OpenAPI 3.1 document, generated from the same resource table and field schemas the API runs on."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from ..auth.access import public
from . import bp
from ..inspection import cases
from ..verification import claims
from ..verification.verdicts import VERDICTS
from . import sms as sms_api
from . import trace as trace_api
from .resources import RESOURCES
from .stamps import ISSUE

ERROR = {
    "type": "object",
    "required": ["error", "fields"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, in the request's language"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Per-field messages for invalid input"},
    },
}


def _error_responses(*codes: int) -> dict[str, Any]:
    text = {400: "Malformed or invalid input", 401: "No valid bearer token (missing, expired or revoked)",
            403: "Role not allowed, or the token lacks the scope (read, issue, inspect, gateway) the call needs",
            404: "No such record (or not yours)", 413: "Body too large", 422: "Understood, but not possible",
            429: "Too many attempts: wait Retry-After seconds"}
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for c in codes}


def _roles(roles: tuple[str, ...]) -> str:
    return "Roles: " + ", ".join(roles) + (" (a producer sees only its own records)" if "producer" in roles else "")


def document() -> dict[str, Any]:
    """The OpenAPI document as a dict."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR}
    for res in RESOURCES:
        name = res.schema.name
        schemas[name] = {**res.schema.openapi(), "additionalProperties": True,
                         "description": f"{res.summary}. Responses add id, created_at and derived fields."}
        schemas[f"{name}Create"] = res.schema.openapi()
        schemas[f"{name}Update"] = res.schema.openapi(partial=True)
        ref = {"$ref": f"#/components/schemas/{name}"}
        one = {"200": {"description": "The record", "content": {"application/json": {"schema": ref}}}}
        body = lambda kind: {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}{kind}"}}}}  # noqa: E731
        id_param = [{"name": "record_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
        paths[f"/api/v1/{res.name}"] = {
            "get": {"summary": f"List {res.name}", "description": _roles(res.read), "tags": [res.name],
                    "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                                   {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
                    "responses": {"200": {"description": "A page of records", "content": {"application/json": {"schema": {
                        "type": "object", "properties": {"items": {"type": "array", "items": ref}, "total": {"type": "integer"},
                                                         "limit": {"type": "integer"}, "offset": {"type": "integer"}}}}}},
                                  **_error_responses(400, 401, 403)}},
            "post": {"summary": f"Create one of {res.name}", "description": _roles(res.write), "tags": [res.name],
                     "requestBody": body("Create"),
                     "responses": {"201": {"description": "Created", "content": {"application/json": {"schema": ref}}},
                                   **_error_responses(400, 401, 403, 413)}},
        }
        paths[f"/api/v1/{res.name}/{{record_id}}"] = {
            "get": {"summary": f"Get one of {res.name}", "description": _roles(res.read), "tags": [res.name],
                    "parameters": id_param, "responses": {**one, **_error_responses(401, 403, 404)}},
            "patch": {"summary": f"Update one of {res.name}", "description": _roles(res.write), "tags": [res.name],
                      "parameters": id_param, "requestBody": body("Update"),
                      "responses": {**one, **_error_responses(400, 401, 403, 404, 413)}},
        }
    paths["/api/v1/recognitions/{record_id}/revoke"] = {"post": {
        "summary": "Revoke a certificate", "description": _roles(("admin",)), "tags": ["recognitions"],
        "parameters": [{"name": "record_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "maxLength": 500}}}}}},
        "responses": {"200": {"description": "The revoked recognition"}, **_error_responses(400, 401, 403, 404)}}}
    paths["/api/v1/import/{kind}"] = {"post": {
        "summary": "Import producers or products from CSV (all rows or none)", "description": _roles(("admin",)),
        "tags": ["import"],
        "parameters": [{"name": "kind", "in": "path", "required": True, "schema": {"enum": ["producers", "products"]}}],
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}},
                                                      "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}},
        "responses": {"201": {"description": "Imported: ids created"},
                      "400": {"description": "Nothing imported: errors per line and column"},
                      **_error_responses(401, 403, 413)}}}
    run_id = [{"name": "run_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    range_body = {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {
        "from": {"type": "integer"}, "to": {"type": "integer"}, "reason": {"type": "string"}}}}}}
    run_schema = {"type": "object", "properties": {k: {"type": "integer"} for k in (
        "id", "batch_id", "first_serial", "last_serial", "count", "product_id", "stars")} | {
        "initial_state": {"enum": ["active", "inactive"]}, "kid": {"type": "string"}, "issued_at": {"type": "string"},
        "hidden_code": {"type": "boolean", "description": "two-layer stamps: each has an 8-digit hidden code"}}}
    paths["/api/v1/batches/{batch_id}/runs"] = {"post": {
        "summary": "Issue a run of stamps for a batch", "tags": ["stamps"], "description": _roles(("admin", "producer")),
        "parameters": [{"name": "batch_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": ISSUE.openapi()}}},
        "responses": {"201": {"description": "The run", "content": {"application/json": {"schema": run_schema}}},
                      **_error_responses(400, 401, 403, 404)}}}
    paths["/api/v1/runs"] = {"get": {"summary": "List runs", "tags": ["stamps"], "description": _roles(("admin", "inspector", "producer")),
                                     "responses": {"200": {"description": "Runs, newest first"}, **_error_responses(401)}}}
    paths["/api/v1/runs/{run_id}"] = {"get": {"summary": "One run", "tags": ["stamps"], "parameters": run_id,
                                              "description": _roles(("admin", "inspector", "producer")),
                                              "responses": {"200": {"description": "The run", "content": {"application/json": {"schema": run_schema}}},
                                                            **_error_responses(401, 403, 404)}}}
    paths["/api/v1/runs/{run_id}/codes"] = {"get": {
        "summary": "The run's QR texts, one per line", "tags": ["stamps"], "description": _roles(("admin", "producer")),
        "parameters": run_id + [{"name": n, "in": "query", "schema": {"type": "integer"}} for n in ("from", "to")],
        "responses": {"200": {"description": "text/plain, one QR text per line", "content": {"text/plain": {"schema": {"type": "string"}}}},
                      **_error_responses(400, 401, 403, 404)}}}
    paths["/api/v1/runs/{run_id}/digital-link"] = {"get": {
        "summary": "The lot's GS1 Digital Link URI, to print as a second, smaller QR beside each stamp's",
        "tags": ["stamps"], "description": _roles(("admin", "producer")) + ". 400 when the product has no GTIN.",
        "parameters": run_id,
        "responses": {"200": {"description": "https://PUBLIC_HOST/01/{gtin14}/10/{lot}", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"uri": {"type": "string"}, "gtin": {"type": "string"}, "lot": {"type": "string"}}}}}},
                      **_error_responses(400, 401, 403, 404)}}}
    for action, text in (("activate", "Activate a range of a run"), ("void", "Void a range of a run")):
        paths[f"/api/v1/runs/{{run_id}}/{action}"] = {"post": {
            "summary": text, "tags": ["stamps"], "description": _roles(("admin", "producer")), "parameters": run_id,
            "requestBody": range_body, "responses": {"200": {"description": "The state change"}, **_error_responses(400, 401, 403, 404)}}}
    paths["/api/v1/batches/{batch_id}/recall"] = {"post": {
        "summary": "Recall a batch", "tags": ["stamps"], "description": _roles(("admin",)),
        "parameters": [{"name": "batch_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}}}},
        "responses": {"200": {"description": "The recalled batch"}, **_error_responses(400, 401, 403, 404)}}}
    paths["/api/v1/verify"] = {"get": {
        "summary": "Verify a stamp (QR text or typed serial): the verdict at scan time", "tags": ["verify"],
        "security": [], "description": "Public. Records a scan. Never cached (Cache-Control: no-store).",
        "parameters": [{"name": "code", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 2000}}],
        "responses": {"200": {"description": "The verdict", "content": {"application/json": {"schema": {
            "type": "object", "required": ["verdict", "verified_by", "reasons", "scan_count", "first_scan", "stamp"],
            "properties": {
                "verdict": {"enum": list(VERDICTS), "description":
                            "genuine, warning: a stamp of ours in good standing (warning: read the reasons). "
                            "mistyped: a typed serial whose check digit does not match, or with too few digits; "
                            "the number was mistyped, which says nothing about the stamp: ask for it again, never "
                            "call it counterfeit. Any other verdict is bad: show it in red (not-activated in "
                            "amber) with its reasons."},
                "verified_by": {"enum": ["signature", "serial", None], "description":
                                "signature: the QR text's signature was checked. serial: a typed serial was "
                                "found in our records, which proves only that the number exists (anyone can copy "
                                "it off a pack): show such a 'genuine' as registered, not as signature-checked. "
                                "null when the code names no stamp of ours."},
                "reasons": {"type": "array", "items": {"type": "object", "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}}}},
                "scan_id": {"type": "integer"}, "scan_count": {"type": "integer"},
                "first_scan": {"type": ["string", "null"]},
                "stamp": {"type": ["object", "null"], "description": "What the stamp says and our records; "
                          "hidden_code: true when it has a scratch-off code to claim (POST /api/v1/claim)"},
                "claim": {"oneOf": [{"$ref": "#/components/schemas/Claim"}, {"type": "null"}],
                          "description": "The first right hidden code, if a buyer has entered it"}}}}}},
                      **_error_responses(400)}}}
    _claim_paths(paths, schemas)
    trace_api.openapi_paths(paths, schemas, _error_responses)
    staff = _roles(("admin", "inspector"))
    verdict_item = {"type": "object", "properties": {"text": {"type": "string"}, "verdict": {"enum": list(VERDICTS)},
                                                      "reasons": {"type": "array"}, "stamp": {"type": ["object", "null"]}}}
    paths["/api/v1/decode"] = {"post": {
        "summary": "Every QR code in a photo, each with its verdict", "tags": ["inspection"], "description": staff,
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["image"], "properties": {"image": {"type": "string", "format": "binary"}}}}}},
        "responses": {"200": {"description": "The codes found", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"codes": {"type": "array", "items": verdict_item}}}}}},
                      **_error_responses(400, 401, 403, 413)}}}
    paths["/api/v1/stamps/history"] = {"get": {
        "summary": "A stamp's full detail and scans", "tags": ["inspection"], "description": staff,
        "parameters": [{"name": "code", "in": "query", "required": True, "schema": {"type": "string"},
                        "description": "QR text or serial"}],
        "responses": {"200": {"description": "Claims, key, certificates, run, state, scans, signals, reports, cases"},
                      **_error_responses(400, 401, 403)}}}
    schemas["Case"] = {**cases.SCHEMA.openapi(), "additionalProperties": True}
    schemas["CaseCreate"] = cases.SCHEMA.openapi()
    schemas["CaseUpdate"] = cases.UPDATE.openapi(partial=True)
    case_ref = {"$ref": "#/components/schemas/Case"}
    case_id = [{"name": "case_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    paths["/api/v1/cases"] = {
        "get": {"summary": "List cases", "tags": ["inspection"], "description": staff,
                "parameters": [{"name": "status", "in": "query", "schema": {"enum": ["suspected", "confirmed", "dismissed"]}}],
                "responses": {"200": {"description": "Cases"}, **_error_responses(400, 401, 403)}},
        "post": {"summary": "Open a case (a confirmed one changes the public verdict)", "tags": ["inspection"],
                 "description": staff,
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CaseCreate"}}}},
                 "responses": {"201": {"description": "Created", "content": {"application/json": {"schema": case_ref}}},
                               **_error_responses(400, 401, 403)}}}
    paths["/api/v1/cases/{case_id}"] = {
        "get": {"summary": "One case", "tags": ["inspection"], "description": staff, "parameters": case_id,
                "responses": {"200": {"description": "The case", "content": {"application/json": {"schema": case_ref}}},
                              **_error_responses(401, 403, 404)}},
        "patch": {"summary": "Change a case's status, title or notes", "tags": ["inspection"], "description": staff,
                  "parameters": case_id,
                  "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CaseUpdate"}}}},
                  "responses": {"200": {"description": "The case"}, **_error_responses(400, 401, 403, 404)}}}
    paths["/api/v1/me"] = {"get": {"summary": "The token's user", "tags": ["auth"], "description": _roles(("admin", "inspector", "producer")),
                                   "responses": {"200": {"description": "The user"}, **_error_responses(401)}}}
    for path, summary in (("/api/v1/provinces", "The 34 provinces"),
                          ("/api/v1/provinces/{code}/communes", "Communes of a province"),
                          ("/api/v1/communes/{code}", "One commune")):
        params = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}] if "{code}" in path else []
        paths[path] = {"get": {"summary": summary, "tags": ["places"], "security": [], "parameters": params,
                               "responses": {"200": {"description": summary}, "404": {"description": "Unknown code"}}}}
    paths["/api/v1/openapi.json"] = {"get": {"summary": "This document", "tags": ["meta"], "security": [],
                                             "responses": {"200": {"description": "OpenAPI 3.1 document"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "ocop-stamp API", "version": "1",
                 "description": "Registry of OCOP producers, products, recognitions and batches. "
                                "Authenticate with 'Authorization: Bearer <token>' (ocop-stamp token create EMAIL). "
                                "Tokens expire (90 days by default) and carry scopes: read (GET), issue (changes), "
                                "inspect (inspectors' calls), gateway (inbound SMS); the role still applies. "
                                "Errors are JSON {\"error\", \"fields\"} with a 4xx status."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": schemas},
        "paths": paths,
    }


def _claim_paths(paths: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Claiming a hidden code (public) and the SMS gateway's inbound messages."""
    schemas["ClaimRequest"] = claims.INPUT.openapi()
    claimed_at = {"type": ["string", "null"], "format": "date-time", "description": "When the stamp was first "
                  "claimed (UTC); null for a wrong code"}
    claimed_province = {"type": ["string", "null"], "description": "The province code the first buyer chose to "
                        "share (GET /api/v1/provinces), or null"}
    schemas["Claim"] = {"type": "object", "required": ["claimed_at", "claimed_province"],
                        "properties": {"claimed_at": claimed_at, "claimed_province": claimed_province}}
    schemas["ClaimResult"] = {
        "type": "object",
        "required": ["result", "claimed_at", "claimed_province", "serial_text", "verdict", "reasons"],
        "properties": {
            "result": {"enum": list(claims.RESULTS), "description": "first: this was the first right code; "
                       "already-claimed: right, but entered before (if not by you, suspect a fake); wrong-code"},
            "claimed_at": claimed_at, "claimed_province": claimed_province,
            "serial_text": {"type": "string", "description": "The serial as printed", "example": "000 001-3"},
            "verdict": {"enum": list(VERDICTS), "description": "The stamp's verdict now: a right code on a "
                        "recalled, void or revoked stamp is still a problem"},
            "reasons": {"type": "array", "items": {"type": "object", "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}}}},
        },
    }
    limited = _error_responses(429)["429"]
    limited["headers"] = {"Retry-After": {"description": "Seconds until another attempt is allowed",
                                          "schema": {"type": "integer", "minimum": 1}}}
    body = {"$ref": "#/components/schemas/ClaimRequest"}
    paths["/api/v1/claim"] = {"post": {
        "summary": "Check the hidden code under a two-layer stamp's scratch-off foil", "tags": ["verify"],
        "security": [],
        "description": "Public. Every attempt is recorded. A stamp allows 5 wrong codes in 24 hours and a network "
                       "20 attempts an hour (config CLAIM_LIMITS); over a limit the answer is 429 with Retry-After. "
                       "An input that is not 8 digits is a 400, not a guess. Never cached.",
        "requestBody": {"required": True, "content": {"application/json": {"schema": body},
                                                      "application/x-www-form-urlencoded": {"schema": body}}},
        "responses": {"200": {"description": "The code was checked", "content": {"application/json": {
                          "schema": {"$ref": "#/components/schemas/ClaimResult"}}}},
                      **_error_responses(400, 413),
                      "404": {**_error_responses(404)["404"], "description": "No stamp of ours has this code"},
                      "422": {**_error_responses(422)["422"], "description": "The stamp has no hidden code"},
                      "429": limited}}}
    schemas["SmsInbound"] = sms_api.SCHEMA.openapi()
    paths["/api/v1/sms/inbound"] = {"post": {
        "summary": "One SMS a shopper sent to the OCOP number: 'OCOP <serial> [<hidden code>]'", "tags": ["verify"],
        "description": _roles(("gateway",)) + ". Records a typed-serial scan and, with a hidden code, a claim "
                       "attempt (limits count per sender; the number is stored only as a keyed hash). The reply is "
                       "one GSM-7 SMS: at most 160 characters, Vietnamese without diacritics.",
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/SmsInbound"}}}},
        "responses": {"200": {"description": "The SMS to send back", "content": {"application/json": {"schema": {
                          "type": "object", "required": ["reply"], "properties": {
                              "reply": {"type": "string", "maxLength": 160}}}}}},
                      **_error_responses(400, 401, 403, 413)}}}


@bp.route("/openapi.json")
@public
def openapi_json() -> Response:
    """The OpenAPI document."""
    return jsonify(document())
