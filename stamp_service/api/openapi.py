"""The OpenAPI 3.1 document, generated from the same resource table and field schemas the API runs on."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from ..auth.access import public
from ..auth.tokens import SCOPES
from ..auth.users import ROLES
from ..inspection import cases
from ..registry import recognitions
from ..registry.csv_import import IMPORT_FAILED, KINDS
from ..verification import claims
from ..verification.verdicts import VERDICTS
from . import sms as sms_api
from . import trace as trace_api
from ..stamps import claims as stamp_claims
from . import bp
from .body import MAX_LIMIT
from .resources import RESOURCES
from .stamps import ISSUE, RANGE
from .verify import STAMP_SCHEMA

ERROR = {
    "type": "object",
    "required": ["error", "fields"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, in the request's language"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Per-field messages for invalid input"},
        "scope": {"enum": list(SCOPES), "description": "403 for a token without the scope the call needs: that scope"},
    },
}


STATUS_TEXT = {400: "Malformed or invalid input", 401: "No valid bearer token (missing, expired or revoked)",
               403: "Role not allowed, or the token lacks the scope (read, issue, inspect, gateway) the call needs",
               404: "No such record (or not yours)", 413: "Body too large", 422: "Understood, but not possible",
               429: "Too many attempts: wait Retry-After seconds"}
REASONS = {"type": "array", "items": {"type": "object", "required": ["code", "message"], "properties": {
    "code": {"type": "string"}, "message": {"type": "string"}}}}


def _error_responses(*codes: int) -> dict[str, Any]:
    return {str(c): json_response(STATUS_TEXT[c], ref("Error")) for c in codes}


def ref(name: str) -> dict[str, str]:
    """A reference to a schema of the document's components."""
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A response whose body is JSON of this schema."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    """A JSON request body of this schema."""
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def items_of(schema: dict[str, Any]) -> dict[str, Any]:
    """{"items": [...]}: how the API answers a list."""
    return {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": schema}}}


def _path_id(name: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}]


def _roles(roles: tuple[str, ...]) -> str:
    return "Roles: " + ", ".join(roles) + (" (a producer sees only its own records)" if "producer" in roles else "")


def document() -> dict[str, Any]:
    """The OpenAPI document as a dict."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR}
    for res in RESOURCES:
        name = res.schema.name
        schemas[name] = res.stored_schema()
        schemas[f"{name}Create"] = res.schema.openapi()
        schemas[f"{name}Update"] = res.schema.openapi(partial=True)
        one = {"200": json_response("The record", ref(name))}
        id_param = _path_id("record_id")
        paths[f"/api/v1/{res.name}"] = {
            "get": {"summary": f"List {res.name}", "description": _roles(res.read), "tags": [res.name],
                    "parameters": [{"name": "limit", "in": "query",
                                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
                                   {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
                    "responses": {"200": json_response("A page of records", {
                        "type": "object", "required": ["items", "total", "limit", "offset"],
                        "properties": {"items": {"type": "array", "items": ref(name)}, "total": {"type": "integer"},
                                       "limit": {"type": "integer"}, "offset": {"type": "integer"}}}),
                                  **_error_responses(400, 401, 403)}},
            "post": {"summary": f"Create one of {res.name}", "description": _roles(res.write), "tags": [res.name],
                     "requestBody": json_body(ref(f"{name}Create")),
                     "responses": {"201": json_response("Created", ref(name)),
                                   **_error_responses(400, 401, 403, 413)}},
        }
        paths[f"/api/v1/{res.name}/{{record_id}}"] = {
            "get": {"summary": f"Get one of {res.name}", "description": _roles(res.read), "tags": [res.name],
                    "parameters": id_param, "responses": {**one, **_error_responses(401, 403, 404)}},
            "patch": {"summary": f"Update one of {res.name}", "description": _roles(res.write), "tags": [res.name],
                      "parameters": id_param, "requestBody": json_body(ref(f"{name}Update")),
                      "responses": {**one, **_error_responses(400, 401, 403, 404, 413)}},
        }
    paths["/api/v1/recognitions/{record_id}/revoke"] = {"post": {
        "summary": "Revoke a certificate", "description": _roles(("admin",)), "tags": ["recognitions"],
        "parameters": _path_id("record_id"), "requestBody": json_body(recognitions.REVOKE_SCHEMA.openapi()),
        "responses": {"200": json_response("The revoked recognition", ref("Recognition")),
                      **_error_responses(400, 401, 403, 404, 413)}}}
    paths["/api/v1/import/{kind}"] = {"post": {
        "summary": "Import producers or products from CSV (all rows or none)", "description": _roles(("admin",)),
        "tags": ["import"],
        "parameters": [{"name": "kind", "in": "path", "required": True, "schema": {"enum": list(KINDS)}}],
        "requestBody": {"required": True, "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"}}}}}},
        "responses": {"201": json_response("Imported: ids created", {
                          "type": "object", "required": ["kind", "rows", "created"], "properties": {
                              "kind": {"enum": list(KINDS)}, "rows": {"type": "integer"},
                              "created": {"type": "array", "items": {"type": "integer"}}}}),
                      "400": json_response("Nothing imported: errors per line and column (or an unknown kind)",
                                           IMPORT_FAILED),
                      **_error_responses(401, 403, 413)}}}
    _stamp_paths(paths, schemas)
    schemas["Verification"] = {
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
            "reasons": REASONS,
            "scan_id": {"type": ["integer", "null"], "description": "null when the look-up was not recorded"},
            "scan_count": {"type": "integer"},
            "first_scan": {"type": ["string", "null"]},
            "stamp": STAMP_SCHEMA,
            "claim": {"oneOf": [ref("Claim"), {"type": "null"}],
                      "description": "The first right hidden code, if a buyer has entered it"}}}
    # inline (decode refers to it): clients read the verdict's fields here
    paths["/api/v1/verify"] = {"get": {
        "summary": "Verify a stamp (QR text or typed serial): the verdict at scan time", "tags": ["verify"],
        "security": [], "description": "Public. Records a scan. Never cached (Cache-Control: no-store). Over the "
                                       "network's or device's look-up limit (config VERIFY_LIMITS): 429.",
        "parameters": [{"name": "code", "in": "query", "required": True,
                        "schema": {"type": "string", "maxLength": 2000}}],
        "responses": {"200": json_response("The verdict", schemas["Verification"]), **_error_responses(400, 429)}}}
    _claim_paths(paths, schemas)
    trace_api.openapi_paths(paths, schemas, _error_responses)
    _inspection_paths(paths, schemas)
    paths["/api/v1/me"] = {"get": {
        "summary": "The token's user", "tags": ["auth"], "description": _roles(("admin", "inspector", "producer")),
        "responses": {"200": json_response("The user", {
            "type": "object", "required": ["id", "email", "role", "producer_id", "now"], "properties": {
                "id": {"type": "integer"}, "email": {"type": "string", "format": "email"},
                "role": {"enum": list(ROLES)},
                "producer_id": {"type": ["integer", "null"]}, "now": {"type": "string", "format": "date-time"}}}),
            **_error_responses(401, 403)}}}
    _place_paths(paths, schemas)
    paths["/api/v1/openapi.json"] = {"get": {"summary": "This document", "tags": ["meta"], "security": [],
                                             "responses": {"200": json_response("OpenAPI 3.1 document", {
                                                 "type": "object", "required": ["openapi", "info", "paths"]})}}}
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
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


def _stamp_paths(paths: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Runs of stamps: issue, list, their QR texts and Digital Link, range states, recalls."""
    run_id = _path_id("run_id")
    schemas["Run"] = {"type": "object", "required": ["id", "batch_id", "first_serial", "last_serial", "count"],
                      "properties": {k: {"type": "integer"} for k in (
                          "id", "batch_id", "first_serial", "last_serial", "count", "product_id", "stars")} | {
        "producer_id": {"type": "integer", "description": "Present on a single run"},
        "initial_state": {"enum": ["active", "inactive"]}, "kid": {"type": "string"}, "issued_at": {"type": "string"},
        "hidden_code": {"type": "boolean", "description": "two-layer stamps: each has an 8-digit hidden code"}}}
    run = ref("Run")
    paths["/api/v1/batches/{batch_id}/runs"] = {"post": {
        "summary": "Issue a run of stamps for a batch", "tags": ["stamps"], "description": _roles(("admin", "producer")),
        "parameters": _path_id("batch_id"), "requestBody": json_body(ISSUE.openapi()),
        # the inline schema (not a $ref) is what clients read for the run's fields
        "responses": {"201": json_response("The run", schemas["Run"]), **_error_responses(400, 401, 403, 404, 413)}}}
    paths["/api/v1/runs"] = {"get": {
        "summary": "List runs", "tags": ["stamps"], "description": _roles(("admin", "inspector", "producer")),
        "responses": {"200": json_response("Runs, newest first", items_of(run)), **_error_responses(401, 403)}}}
    paths["/api/v1/runs/{run_id}"] = {"get": {
        "summary": "One run", "tags": ["stamps"], "parameters": run_id,
        "description": _roles(("admin", "inspector", "producer")),
        "responses": {"200": json_response("The run", schemas["Run"]), **_error_responses(401, 403, 404)}}}
    paths["/api/v1/runs/{run_id}/codes"] = {"get": {
        "summary": "The run's QR texts, one per line", "tags": ["stamps"], "description": _roles(("admin", "producer")),
        "parameters": run_id + [{"name": f.name, "in": "query", "schema": f.openapi()} for f in RANGE.fields],
        "responses": {"200": {"description": "text/plain, one QR text per line",
                              "content": {"text/plain": {"schema": {"type": "string"}}}},
                      **_error_responses(400, 401, 403, 404)}}}
    paths["/api/v1/runs/{run_id}/digital-link"] = {"get": {
        "summary": "The lot's GS1 Digital Link URI, to print as a second, smaller QR beside each stamp's",
        "tags": ["stamps"], "description": _roles(("admin", "producer")) + ". 400 when the product has no GTIN.",
        "parameters": run_id,
        "responses": {"200": json_response("https://PUBLIC_HOST/01/{gtin14}/10/{lot}", {
            "type": "object", "required": ["uri", "gtin", "lot"], "properties": {
                "uri": {"type": "string", "format": "uri"}, "gtin": {"type": "string", "pattern": "^\\d{14}$"},
                "lot": {"type": "string"}}}),
                      **_error_responses(400, 401, 403, 404)}}}
    change = {"type": "object", "required": ["id", "run_id", "first_serial", "last_serial", "state"], "properties": {
        "id": {"type": "integer"}, "run_id": {"type": "integer"}, "first_serial": {"type": "integer"},
        "last_serial": {"type": "integer"}, "state": {"enum": ["active", "void"]},
        "note": {"type": ["string", "null"]}, "changed_by": {"type": ["integer", "null"]},
        "changed_at": {"type": "string"}}}
    range_body = RANGE.openapi()
    range_body["properties"]["reason"] = {"type": ["string", "null"], "description": "Kept with the change"}
    range_body = json_body(range_body, required=False)
    for action, text in (("activate", "Activate a range of a run"), ("void", "Void a range of a run")):
        paths[f"/api/v1/runs/{{run_id}}/{action}"] = {"post": {
            "summary": text, "tags": ["stamps"], "description": _roles(("admin", "producer")), "parameters": run_id,
            "requestBody": range_body, "responses": {"200": json_response("The state change", change),
                                                     **_error_responses(400, 401, 403, 404, 413)}}}
    paths["/api/v1/batches/{batch_id}/recall"] = {"post": {
        "summary": "Recall a batch", "tags": ["stamps"], "description": _roles(("admin",)),
        "parameters": _path_id("batch_id"),
        "requestBody": json_body({"type": "object", "required": ["reason"],
                                  "properties": {"reason": {"type": "string"}}}),
        "responses": {"200": json_response("The recalled batch", ref("Batch")),
                      **_error_responses(400, 401, 403, 404, 413)}}}


def _inspection_paths(paths: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Inspectors' calls: decode a photo, a stamp's history, cases."""
    staff = _roles(("admin", "inspector"))
    paths["/api/v1/decode"] = {"post": {
        "summary": "Every QR code in a photo, each with its verdict", "tags": ["inspection"], "description": staff,
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["image"], "properties": {"image": {"type": "string", "format": "binary"}}}}}},
        "responses": {"200": json_response("The codes found", {
            "type": "object", "required": ["codes"], "properties": {"codes": {"type": "array", "items": {
                "allOf": [ref("Verification")], "required": ["text"], "properties": {"text": {"type": "string"}}}}}}),
                      **_error_responses(400, 401, 403, 413)}}}
    paths["/api/v1/stamps/history"] = {"get": {
        "summary": "A stamp's full detail and scans", "tags": ["inspection"], "description": staff,
        "parameters": [{"name": "code", "in": "query", "required": True, "schema": {"type": "string"},
                        "description": "QR text or serial"}],
        "responses": {"200": json_response("Claims, key, certificates, run, state, scans, signals, reports, cases", {
            "type": "object", "required": ["serial", "serial_text", "claims", "run", "state", "scans", "scan_count"],
            "properties": {
                "serial": {"type": "integer"}, "serial_text": {"type": "string"}, "claims": stamp_claims.JSON_SCHEMA,
                "key": {"type": ["object", "null"]}, "run": {"type": "object"}, "state": {"type": "string"},
                "batch": ref("Batch"), "product": {"type": "object"}, "producer": {"type": "object"},
                "recognitions": {"type": "array"}, "scans": {"type": "array", "items": {"type": "object"}},
                "scan_count": {"type": "integer"}, "signals": {"type": "object"}, "reports": {"type": "array"},
                "cases": {"type": "array", "items": {"type": "object"}}}}),
                      **_error_responses(400, 401, 403)}}}
    schemas["Case"] = cases.SCHEMA.openapi(stored={
        "status": {"enum": list(cases.STATUSES), "description": "pending: a range or batch confirmed once, waiting "
                                                                "for a second confirmation"},
        "photos": {"type": "array", "items": {"type": "string"}, "description": "Photo files (on GET of one case)"},
        "history": {"type": "array", "items": {"type": "object"}, "description": "Who did what, when (on GET of one "
                                                                               "case)"}})
    schemas["CaseCreate"] = cases.SCHEMA.openapi()
    schemas["CaseUpdate"] = cases.UPDATE.openapi(partial=True)
    case_ref = ref("Case")
    case_id = _path_id("case_id")
    paths["/api/v1/cases"] = {
        "get": {"summary": "List cases", "tags": ["inspection"], "description": staff,
                "parameters": [{"name": "status", "in": "query", "schema": {"enum": list(cases.STATUSES)}}],
                "responses": {"200": json_response("Cases, newest first", items_of(case_ref)),
                              **_error_responses(400, 401, 403)}},
        "post": {"summary": "Open a case (a confirmed one changes the public verdict)", "tags": ["inspection"],
                 "description": staff, "requestBody": json_body(ref("CaseCreate")),
                 "responses": {"201": json_response("Created", case_ref), **_error_responses(400, 401, 403, 413)}}}
    paths["/api/v1/cases/{case_id}"] = {
        "get": {"summary": "One case", "tags": ["inspection"], "description": staff, "parameters": case_id,
                "responses": {"200": json_response("The case", case_ref), **_error_responses(401, 403, 404)}},
        "patch": {"summary": "Change a case's status, title or notes", "tags": ["inspection"], "description": staff,
                  "parameters": case_id, "requestBody": json_body(ref("CaseUpdate")),
                  "responses": {"200": json_response("The case", case_ref),
                                **_error_responses(400, 401, 403, 404, 413)}}}


def _place_paths(paths: dict[str, Any], schemas: dict[str, Any]) -> None:
    """The public place look-ups."""
    names = {"code": {"type": "string"}, "name": {"type": "string"}, "full_name": {"type": "string"},
             "name_en": {"type": "string"}}
    schemas["Province"] = {"type": "object", "required": list(names), "properties": names}
    schemas["Commune"] = {"type": "object", "required": [*names, "unit"],
                          "properties": {**names, "unit": {"type": "string"}, "province": ref("Province")}}
    code = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}]
    for path, summary, body, params in (("/api/v1/provinces", "The 34 provinces", items_of(ref("Province")), []),
                                        ("/api/v1/provinces/{code}/communes", "Communes of a province",
                                         items_of(ref("Commune")), code),
                                        ("/api/v1/communes/{code}", "One commune, with its province",
                                         {**ref("Commune"), "required": ["province"]}, code)):
        responses = {"200": json_response(summary, body)}
        if params:
            responses["404"] = {**_error_responses(404)["404"], "description": "Unknown code"}
        paths[path] = {"get": {"summary": summary, "tags": ["places"], "security": [], "parameters": params,
                               "responses": responses}}


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
            "serial_text": {"type": "string", "description": "The serial as printed", "examples": ["000 001-3"]},
            "verdict": {"enum": list(VERDICTS), "description": "The stamp's verdict now: a right code on a "
                        "recalled, void or revoked stamp is still a problem"},
            "reasons": REASONS,
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
