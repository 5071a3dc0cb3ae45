"""The OpenAPI document against the app: valid OpenAPI 3.1 (JSON Schema 2020-12), and every response it documents
(route, method and status) asked of the app for real and checked against its schema. That every route is documented
and every documented one exists: tests/test_api.py."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest
import qrcode
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conftest import KEY_PASSPHRASE, World, build_world
from stamp_service import create_app
from stamp_service.api.openapi import document

from test_claims import hidden_run, wrong
from test_stage_import import VI_GOOD
from test_trace_passport import _first_stamp

DOC = document()
DOC_URI = "urn:ocop-stamp:openapi"
EPCIS_VECTOR = Path(__file__).parent / "vectors" / "epcis" / "Example_9.6.1-ObjectEventWithDigitalLink.jsonld"
# Refused before anything is read or stored: these can share one app (a world each would cost a minute).
REFUSALS = {401, 403, 404, 413}
SHARED_MAX_BODY = 64 * 1024


def documented() -> list[tuple[str, str, int]]:
    """Every (method, path, status) the document promises."""
    return [(method.upper(), path, int(status)) for path, ops in DOC["paths"].items()
            for method, op in ops.items() for status in op["responses"]]


def _walk(node: Any, where: str = "#"):
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{where}/{i}")


# --- the document itself -----------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(client):
    served = client.get("/api/v1/openapi.json").get_json()
    assert served == json.loads(json.dumps(DOC))  # what is served is what these tests read
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in OpenAPIV31SpecValidator(served).iter_errors()]
    assert errors == []


def test_every_schema_is_json_schema_2020_12_without_openapi_3_0_words():
    # the 3.1 meta-schema allows any keyword in a schema, so 3.0's `nullable` would pass it and mean nothing
    schemas = [(where, node["schema"]) for where, node in _walk(DOC) if isinstance(node.get("schema"), dict)]
    schemas += [(f"#/components/schemas/{name}", s) for name, s in DOC["components"]["schemas"].items()]
    assert len(schemas) > 100
    for where, schema in schemas:
        Draft202012Validator.check_schema(schema)
    stale = [where for where, node in _walk(DOC) if "nullable" in node or "example" in node]
    assert stale == []


def test_an_optional_field_takes_null_as_the_api_does(api, world):
    body = DOC["components"]["schemas"]["BatchCreate"]
    sent = {"product_id": world.product_a, "lot": "N-1", "production_date": "2026-11-01", "quantity": 5,
            "expiry_date": None, "notes": None}
    Draft202012Validator(body).validate(sent)
    assert api("admin")("POST", "/api/v1/batches", json=sent).status_code == 201
    assert not Draft202012Validator(body).is_valid({**sent, "notes": 3})


def test_a_body_off_its_schema_is_caught(api):
    # the check below is not vacuous: its $refs resolve, and a wrong type or a missing field is an error
    page = api("admin")("GET", "/api/v1/producers").get_json()
    check = _validator("GET", "/api/v1/producers", 200, "application/json")
    assert check.is_valid(page)
    page["items"][0]["type"] = "farm"
    del page["items"][1]["id"]
    page["items"][1]["place"]["display"] = None
    assert {e.validator for e in check.iter_errors(page)} == {"enum", "required", "type"}
    error = _validator("GET", "/api/v1/producers", 401, "application/json")
    assert not error.is_valid({"error": "no token"}) and not error.is_valid({"error": 1, "fields": {}})


def test_every_case_below_names_a_documented_response():
    # a request written for a response the document dropped would otherwise never run
    promised = {(m, p, s) for m, p, s in documented()}
    assert set(SPECIFIC) - promised == set()


# --- every documented response, asked for real -------------------------------------------------------------


class Ctx:
    """One case's app and world, with the calls a case makes."""

    def __init__(self, app, world: World) -> None:
        self.app, self.world = app, world
        self.client = app.test_client()

    def call(self, who: str | None, method: str, url: str, **kw: Any):
        """The request with who's bearer token (None: anonymous)."""
        headers = {"Authorization": f"Bearer {self.world.tokens[who]}"} if who else {}
        return self.client.open(url, method=method, headers={**headers, **kw.pop("headers", {})}, **kw)

    def stamp(self) -> str:
        """The QR text of run_a's first stamp."""
        return _first_stamp(self.app)[1]


def _url(path: str, world: World, missing: bool = False) -> str:
    """The path with the world's ids (missing: ids no record has)."""
    record = {"producers": world.producer_a, "products": world.product_a, "recognitions": world.recognition_a,
              "batches": world.batch_a, "users": world.users["producer_a"]}
    ids = {"batch_id": world.batch_a, "run_id": world.run_a, "case_id": world.case, "kind": "producers",
           "code": "06978" if path.startswith("/api/v1/communes") else "22"}
    if "{record_id}" in path:
        ids["record_id"] = record[path.split("/")[3]]
    if missing:
        ids = {k: 999_999 for k in ids} | {"code": "99999", "kind": "producers"}
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m[1]]), path)


def _role(path: str) -> str:
    """Who may call it: the gateway its own route, the admin everything else."""
    return "gateway" if path.startswith("/api/v1/sms") else "admin"


def _generic(c: Ctx, method: str, path: str, status: int):
    """The refusals every protected route gives the same way."""
    if status == 401:
        return c.call(None, method, _url(path, c.world), json={})
    if status == 403:  # a role the route is not for: the gateway everywhere but its own route
        return c.call("admin" if _role(path) == "gateway" else "gateway", method, _url(path, c.world), json={})
    if status == 404:
        return c.call(_role(path), method, _url(path, c.world, missing=True), json={})
    if status == 413:
        big = json.dumps({"notes": "x" * SHARED_MAX_BODY})
        if path == "/api/v1/decode":
            return c.call("admin", method, path, data={"image": (io.BytesIO(big.encode()), "shelf.png")})
        return c.call(_role(path), method, _url(path, c.world), data=big, content_type="application/json")
    return None


def _qr_png(text: str) -> io.BytesIO:
    buf = io.BytesIO()
    qrcode.make(text).save(buf)
    buf.seek(0)
    return buf


def _limited(c: Ctx, method: str, url: str, **kw: Any):
    c.app.config["VERIFY_LIMITS"] = {"per_network": 1}
    c.call(None, method, url, **kw)
    return c.call(None, method, url, **kw)


def _claim_limited(c: Ctx):
    c.app.config["CLAIM_LIMITS"] = {"wrong_per_serial": 1}
    (_serial, text, code), *_ = hidden_run(c.app, 1)
    c.call(None, "POST", "/api/v1/claim", json={"code": text, "hidden_code": wrong(code)})
    return c.call(None, "POST", "/api/v1/claim", json={"code": text, "hidden_code": code})


def _digital_link(c: Ctx):
    c.call("admin", "PATCH", f"/api/v1/products/{c.world.product_a}", json={"gtin": "8938505974194"})
    return c.call("admin", "GET", f"/api/v1/runs/{c.world.run_a}/digital-link")


EVENT = {"stage": "processing", "at": "2026-11-21T09:00:00+07:00", "commune_code": "06978", "site": "Xưởng HTX",
         "description": "Sấy lạnh", "inputs": [{"material": "Búp chè tươi", "quantity": "120 kg"}],
         "ship_to": {"distributor": "Cửa hàng đặc sản Hạ Long"}}
NEW = {
    "producers": lambda w: {"name": "HTX Miến dong Bình Liêu", "type": "cooperative", "commune_code": "06688"},
    "products": lambda w: {"producer_id": w.producer_b, "name": "Nước mắm", "product_group": "food"},
    "recognitions": lambda w: {"product_id": w.product_b, "decision_number": "9/QĐ-UBND", "decision_date": "2026-10-01",
                               "issuing_body": "UBND tỉnh Quảng Ninh", "level": "province", "stars": 3},
    "batches": lambda w: {"product_id": w.product_b, "lot": "B-002", "production_date": "2026-11-02", "quantity": 10},
    "users": lambda w: {"email": "kiemtra2@example.vn", "role": "inspector", "password": "một mật khẩu đủ dài"},
}
CHANGE = {"producers": {"name": "HTX Trà hoa vàng Ba Chẽ (mới)"}, "products": {"description": "Hộp 100 g"},
          "recognitions": {"issuing_body": "UBND tỉnh Quảng Ninh"}, "batches": {"notes": "Đã kiểm"},
          "users": {"name": "Lan"}}

Case = Callable[[Ctx], Any]
SPECIFIC: dict[tuple[str, str, int], Case] = {}
for _name in NEW:
    _base, _one = f"/api/v1/{_name}", f"/api/v1/{_name}/{{record_id}}"
    SPECIFIC |= {
        ("GET", _base, 200): lambda c, b=_base: c.call("admin", "GET", b + "?limit=3"),
        ("GET", _base, 400): lambda c, b=_base: c.call("admin", "GET", b + "?limit=0"),
        ("POST", _base, 201): lambda c, b=_base, n=_name: c.call("admin", "POST", b, json=NEW[n](c.world)),
        ("POST", _base, 400): lambda c, b=_base: c.call("admin", "POST", b, json={"name": None}),
        ("GET", _one, 200): lambda c, o=_one: c.call("admin", "GET", _url(o, c.world)),
        ("PATCH", _one, 200): lambda c, o=_one, n=_name: c.call("admin", "PATCH", _url(o, c.world), json=CHANGE[n]),
        ("PATCH", _one, 400): lambda c, o=_one: c.call("admin", "PATCH", _url(o, c.world), json={"no_such_field": 1}),
    }
SPECIFIC |= {
    ("POST", "/api/v1/recognitions/{record_id}/revoke", 200): lambda c: c.call(
        "admin", "POST", f"/api/v1/recognitions/{c.world.recognition_a}/revoke", json={"reason": "Vi phạm cam kết"}),
    ("POST", "/api/v1/recognitions/{record_id}/revoke", 400): lambda c: c.call(
        "admin", "POST", f"/api/v1/recognitions/{c.world.recognition_a}/revoke", json={}),
    ("POST", "/api/v1/import/{kind}", 201): lambda c: c.call(
        "admin", "POST", "/api/v1/import/producers", data="name,type,commune_code\nHTX Z,cooperative,06688\n".encode(),
        content_type="text/csv"),
    ("POST", "/api/v1/import/{kind}", 400): lambda c: c.call(
        "admin", "POST", "/api/v1/import/producers", data=b"name,type,commune_code\n,x,1\n", content_type="text/csv"),
    ("POST", "/api/v1/batches/{batch_id}/runs", 201): lambda c: c.call(
        "admin", "POST", f"/api/v1/batches/{c.world.batch_a}/runs", json={"count": 3, "hidden_code": None}),
    ("POST", "/api/v1/batches/{batch_id}/runs", 400): lambda c: c.call(
        "admin", "POST", f"/api/v1/batches/{c.world.batch_a}/runs", json={"count": 0}),
    ("GET", "/api/v1/runs", 200): lambda c: c.call("producer_a", "GET", "/api/v1/runs"),
    ("GET", "/api/v1/runs/{run_id}", 200): lambda c: c.call("inspector", "GET", f"/api/v1/runs/{c.world.run_a}"),
    ("GET", "/api/v1/runs/{run_id}/codes", 200): lambda c: c.call(
        "admin", "GET", f"/api/v1/runs/{c.world.run_a}/codes",
        query_string={"from": c.world.first_serial, "to": c.world.first_serial + 2}),
    ("GET", "/api/v1/runs/{run_id}/codes", 400): lambda c: c.call(
        "admin", "GET", f"/api/v1/runs/{c.world.run_a}/codes?from=abc"),
    ("GET", "/api/v1/runs/{run_id}/digital-link", 200): _digital_link,
    ("GET", "/api/v1/runs/{run_id}/digital-link", 400): lambda c: c.call(
        "admin", "GET", f"/api/v1/runs/{c.world.run_a}/digital-link"),  # the product has no GTIN
    ("POST", "/api/v1/runs/{run_id}/activate", 200): lambda c: c.call(
        "admin", "POST", f"/api/v1/runs/{c.world.run_a}/activate", json={}),
    ("POST", "/api/v1/runs/{run_id}/activate", 400): lambda c: c.call(
        "admin", "POST", f"/api/v1/runs/{c.world.run_a}/activate", json={"from": 10**9}),
    ("POST", "/api/v1/runs/{run_id}/void", 200): lambda c: c.call(
        "producer_a", "POST", f"/api/v1/runs/{c.world.run_a}/void",
        json={"from": c.world.first_serial, "to": c.world.first_serial, "reason": "Tem in hỏng"}),
    ("POST", "/api/v1/runs/{run_id}/void", 400): lambda c: c.call(
        "admin", "POST", f"/api/v1/runs/{c.world.run_a}/void", data="[1]", content_type="application/json"),
    ("POST", "/api/v1/batches/{batch_id}/recall", 200): lambda c: c.call(
        "admin", "POST", f"/api/v1/batches/{c.world.batch_a}/recall", json={"reason": "Nhiễm ẩm"}),
    ("POST", "/api/v1/batches/{batch_id}/recall", 400): lambda c: c.call(
        "admin", "POST", f"/api/v1/batches/{c.world.batch_a}/recall", json={}),
    ("GET", "/api/v1/verify", 200): lambda c: c.call(None, "GET", "/api/v1/verify", query_string={"code": c.stamp()}),
    ("GET", "/api/v1/verify", 400): lambda c: c.call(None, "GET", "/api/v1/verify?code="),
    ("GET", "/api/v1/verify", 429): lambda c: _limited(c, "GET", "/api/v1/verify", query_string={"code": c.stamp()}),
    ("POST", "/api/v1/claim", 200): lambda c: c.call(None, "POST", "/api/v1/claim", json={
        "code": hidden_run(c.app, 1)[0][1], "hidden_code": "00000000", "province_code": None}),
    ("POST", "/api/v1/claim", 400): lambda c: c.call(None, "POST", "/api/v1/claim", json={
        "code": hidden_run(c.app, 1)[0][1], "hidden_code": "abc"}),
    ("POST", "/api/v1/claim", 404): lambda c: c.call(None, "POST", "/api/v1/claim", json={
        "code": "https://tem.example.vn/v/not-a-stamp", "hidden_code": "12345678"}),
    ("POST", "/api/v1/claim", 413): lambda c: c.call(None, "POST", "/api/v1/claim", json={
        "code": "1" * 100_000, "hidden_code": "12345678"}),
    ("POST", "/api/v1/claim", 422): lambda c: c.call(None, "POST", "/api/v1/claim", json={
        "code": c.stamp(), "hidden_code": "12345678"}),
    ("POST", "/api/v1/claim", 429): _claim_limited,
    ("POST", "/api/v1/sms/inbound", 200): lambda c: c.call("gateway", "POST", "/api/v1/sms/inbound", json={
        "from": "+84912345678", "text": "OCOP 000001-3"}),
    ("POST", "/api/v1/sms/inbound", 400): lambda c: c.call("gateway", "POST", "/api/v1/sms/inbound", json={
        "from": "not a number", "text": None}),
    ("GET", "/api/v1/batches/{batch_id}/events", 200): lambda c: (
        c.call("producer_a", "POST", f"/api/v1/batches/{c.world.batch_a}/events", json=EVENT),
        c.call("inspector", "GET", f"/api/v1/batches/{c.world.batch_a}/events"))[1],
    ("POST", "/api/v1/batches/{batch_id}/events", 201): lambda c: c.call(
        "producer_a", "POST", f"/api/v1/batches/{c.world.batch_a}/events", json=EVENT),
    ("POST", "/api/v1/batches/{batch_id}/events", 400): lambda c: c.call(
        "producer_a", "POST", f"/api/v1/batches/{c.world.batch_a}/events", json={**EVENT, "at": "hôm qua"}),
    ("POST", "/api/v1/batches/{batch_id}/events.csv", 201): lambda c: c.call(
        "producer_a", "POST", f"/api/v1/batches/{c.world.batch_a}/events.csv", data=VI_GOOD.encode(),
        content_type="text/csv"),
    ("POST", "/api/v1/batches/{batch_id}/events.csv", 400): lambda c: c.call(
        "producer_a", "POST", f"/api/v1/batches/{c.world.batch_a}/events.csv",
        data=VI_GOOD.replace("06978", "99999").encode(), content_type="text/csv"),
    ("GET", "/api/v1/batches/{batch_id}/epcis", 200): lambda c: c.call(
        "producer_a", "GET", f"/api/v1/batches/{c.world.batch_a}/epcis"),
    ("POST", "/api/v1/batches/{batch_id}/epcis", 201): lambda c: c.call(
        "producer_a", "POST", f"/api/v1/batches/{c.world.batch_a}/epcis", data=EPCIS_VECTOR.read_bytes(),
        headers={"Content-Type": "application/ld+json"}),
    ("POST", "/api/v1/batches/{batch_id}/epcis", 400): lambda c: c.call(
        "producer_a", "POST", f"/api/v1/batches/{c.world.batch_a}/epcis", json={"type": "EPCISDocument"}),
    ("GET", "/api/v1/passport", 200): lambda c: c.call(None, "GET", "/api/v1/passport",
                                                       query_string={"code": c.stamp()}),
    ("GET", "/api/v1/passport", 400): lambda c: c.call(None, "GET", "/api/v1/passport?code=%20"),
    ("GET", "/api/v1/passport", 404): lambda c: c.call(None, "GET", "/api/v1/passport",
                                                       query_string={"code": "https://tem.example.vn/v/forged"}),
    ("GET", "/api/v1/passport", 429): lambda c: _limited(c, "GET", "/api/v1/passport",
                                                         query_string={"code": c.stamp()}),
    ("POST", "/api/v1/decode", 200): lambda c: c.call(
        "inspector", "POST", "/api/v1/decode", data={"image": (_qr_png(c.stamp()), "shelf.png")}),
    ("POST", "/api/v1/decode", 400): lambda c: c.call(
        "inspector", "POST", "/api/v1/decode", data={"image": (io.BytesIO(b"not an image"), "shelf.png")}),
    ("GET", "/api/v1/stamps/history", 200): lambda c: (
        c.call(None, "GET", "/api/v1/verify", query_string={"code": c.stamp()}),
        c.call("inspector", "GET", "/api/v1/stamps/history", query_string={"code": c.stamp()}))[1],
    ("GET", "/api/v1/stamps/history", 400): lambda c: c.call("inspector", "GET", "/api/v1/stamps/history?code=x"),
    ("GET", "/api/v1/cases", 200): lambda c: c.call("inspector", "GET", "/api/v1/cases"),
    ("GET", "/api/v1/cases", 400): lambda c: c.call("inspector", "GET", "/api/v1/cases?status=closed"),
    ("POST", "/api/v1/cases", 201): lambda c: c.call("inspector", "POST", "/api/v1/cases", json={
        "kind": "range", "run_id": c.world.run_a, "serial_from": c.world.first_serial,
        "serial_to": c.world.first_serial + 1, "status": "confirmed", "title": "Tem giả ở chợ Cái Răng"}),
    ("POST", "/api/v1/cases", 400): lambda c: c.call("inspector", "POST", "/api/v1/cases", json={"kind": "cow"}),
    ("GET", "/api/v1/cases/{case_id}", 200): lambda c: c.call("inspector", "GET", f"/api/v1/cases/{c.world.case}"),
    ("PATCH", "/api/v1/cases/{case_id}", 200): lambda c: c.call(
        "admin", "PATCH", f"/api/v1/cases/{c.world.case}", json={"status": "confirmed", "notes": None}),
    ("PATCH", "/api/v1/cases/{case_id}", 400): lambda c: c.call(
        "admin", "PATCH", f"/api/v1/cases/{c.world.case}", json={"status": "pending"}),
    ("GET", "/api/v1/me", 200): lambda c: c.call("producer_a", "GET", "/api/v1/me"),
    ("GET", "/api/v1/provinces", 200): lambda c: c.call(None, "GET", "/api/v1/provinces"),
    ("GET", "/api/v1/provinces/{code}/communes", 200): lambda c: c.call(None, "GET", "/api/v1/provinces/22/communes"),
    ("GET", "/api/v1/communes/{code}", 200): lambda c: c.call(None, "GET", "/api/v1/communes/06978"),
    ("GET", "/api/v1/openapi.json", 200): lambda c: c.call(None, "GET", "/api/v1/openapi.json"),
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One app for the refusals, which store nothing (a small body limit makes 413s cheap)."""
    home = tmp_path_factory.mktemp("openapi") / "instance"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OCOP_STAMP_HOME", str(home))
        application = create_app({"TESTING": True, "PUBLIC_HOST": "tem.example.vn", "KEY_PASSPHRASE": KEY_PASSPHRASE,
                                  "MAX_CONTENT_LENGTH": SHARED_MAX_BODY})
        application.world = build_world(application)
        yield application


def _validator(method: str, path: str, status: int, media_type: str) -> Draft202012Validator:
    """The documented schema of this response, its $refs resolved within the document."""
    parts = ("paths", path, method.lower(), "responses", str(status), "content", media_type, "schema")
    pointer = "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)
    registry = Registry().with_resource(DOC_URI, Resource.from_contents(DOC, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"{DOC_URI}#/{pointer}"}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize(("method", "path", "status"), documented(),
                         ids=[f"{m} {p} {s}" for m, p, s in documented()])
def test_the_documented_response_is_what_the_app_answers(request, backend, method, path, status):
    case = SPECIFIC.get((method, path, status))
    if case is None and status in REFUSALS:
        if backend != "sqlite":
            pytest.skip("a refusal answered before storage is read: checked once, on the shared SQLite app")
        app = request.getfixturevalue("shared")
    else:
        app = request.getfixturevalue("app")  # on the back end this case runs on
    ctx = Ctx(app, app.world)
    response = case(ctx) if case is not None else _generic(ctx, method, path, status)
    if response is None:
        pytest.fail(f"no request written for the documented {status} of {method} {path}: add one to SPECIFIC")
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:500]
    content = DOC["paths"][path][method.lower()]["responses"][str(status)].get("content", {})
    assert response.mimetype in content, f"{response.mimetype} is not documented ({sorted(content)})"
    if response.mimetype == "application/json" or response.mimetype.endswith("+json"):
        errors = sorted(_validator(method, path, status, response.mimetype).iter_errors(json.loads(body)),
                        key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10])
