"""The JSON API: CRUD, scoping, and JSON errors with a 4xx for every kind of bad input."""

from __future__ import annotations

import json

import pytest


def test_list_and_get_products_with_current_recognition(api, world):
    call = api("inspector")
    listing = call("GET", "/api/v1/products").get_json()
    assert listing["total"] == 2
    product = call("GET", f"/api/v1/products/{world.product_a}").get_json()
    assert product["current_recognition"]["stars"] == 4
    assert product["current_recognition"]["status"] == "valid"
    assert product["image_url"].endswith(f"/media/products/{world.product_a}.jpg")


def test_producer_sees_only_its_own_records(api, world):
    call = api("producer_b")
    assert [p["id"] for p in call("GET", "/api/v1/products").get_json()["items"]] == [world.product_b]
    assert [b["id"] for b in call("GET", "/api/v1/batches").get_json()["items"]] == [world.batch_b]
    assert call("GET", f"/api/v1/batches/{world.batch_a}").status_code == 404
    assert call("GET", "/api/v1/recognitions").get_json()["items"] == []


def test_create_update_producer(api):
    call = api("admin")
    created = call("POST", "/api/v1/producers", json={"name": "HTX Mật hoa dừa", "type": "cooperative",
                                                       "commune_code": "29374", "id_type": "tax_code",
                                                       "id_value": "2100 645 502"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["id_value"] == "2100645502"
    assert body["province_code"] == "86"
    assert body["place"]["display"] == "Xã Châu Thành, Tỉnh Vĩnh Long"
    assert created.headers["Location"].endswith(f"/api/v1/producers/{body['id']}")
    updated = call("PATCH", f"/api/v1/producers/{body['id']}", json={"phone": "0294 3855 123"})
    assert updated.status_code == 200
    assert updated.get_json()["phone"] == "0294 3855 123"
    assert updated.get_json()["name"] == "HTX Mật hoa dừa"


def test_producer_creates_batch_for_own_product_only(api, world):
    call = api("producer_a")
    ok = call("POST", "/api/v1/batches", json={"product_id": world.product_a, "lot": "bc-2026/11",
                                               "production_date": "2026-11-01", "expiry_date": "2027-11-01",
                                               "quantity": 500})
    assert ok.status_code == 201, ok.get_json()
    batch = ok.get_json()
    assert batch["lot"] == "BC-2026/11"
    assert batch["origin_commune_code"] == "06978"  # the producer's commune by default
    assert batch["producer_id"] == world.producer_a
    other = call("POST", "/api/v1/batches", json={"product_id": world.product_b, "lot": "X1",
                                                  "production_date": "2026-11-01", "quantity": 5})
    assert other.status_code == 400
    assert "product_id" in other.get_json()["fields"]


@pytest.mark.parametrize("body, field", [
    ({"name": "", "type": "cooperative", "commune_code": "06978"}, "name"),
    ({"name": "X", "type": "kolkhoz", "commune_code": "06978"}, "type"),
    ({"name": "X", "type": "cooperative", "commune_code": "99999"}, "commune_code"),
    ({"name": "X", "type": "cooperative", "commune_code": "06978", "id_type": "tax_code", "id_value": "12"}, "id_value"),
    ({"name": "X", "type": "cooperative", "commune_code": "06978", "id_value": "0101234567"}, "id_type"),
    ({"name": "X", "type": "cooperative", "commune_code": "06978", "email": "not-an-email"}, "email"),
    ({"name": "X", "type": "cooperative", "commune_code": "06978", "colour": "red"}, "colour"),
    ({"name": ["X"], "type": "cooperative", "commune_code": "06978"}, "name"),
    ({"name": "X" * 201, "type": "cooperative", "commune_code": "06978"}, "name"),
])
def test_invalid_producer_gives_field_errors(api, body, field):
    response = api("admin")("POST", "/api/v1/producers", json=body)
    assert response.status_code == 400
    data = response.get_json()
    assert data["error"] and field in data["fields"], data


@pytest.mark.parametrize("body", [
    {"product_id": 1, "name": "X", "product_group": "food", "gtin": "8938505974191"},  # bad check digit
    {"product_id": 1, "name": "X", "product_group": "food", "gtin": "12345"},
])
def test_gtin_check_digit(api, world, body):
    body = {**body, "producer_id": world.producer_a}
    body.pop("product_id")
    response = api("admin")("POST", "/api/v1/products", json=body)
    assert response.status_code == 400 and "gtin" in response.get_json()["fields"]


def test_valid_gtin_accepted_and_unique(api, world):
    call = api("admin")
    body = {"producer_id": world.producer_a, "name": "Trà túi lọc", "product_group": "drinks", "gtin": "8938505974194"}
    assert call("POST", "/api/v1/products", json=body).status_code == 201
    again = call("POST", "/api/v1/products", json={**body, "name": "Trà khác"})
    assert again.status_code == 400 and "gtin" in again.get_json()["fields"]


@pytest.mark.parametrize("data, content_type", [
    ("{not json", "application/json"),
    ('["a", "list"]', "application/json"),
    ("42", "application/json"),
    ('{"name": "x"}', "text/plain"),
    ("", "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
])
def test_malformed_json_is_400_not_500(api, data, content_type):
    response = api("admin")("POST", "/api/v1/producers", data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.is_json and response.get_json()["error"]


def test_recognition_defaults_to_36_months_and_supersedes(api, world):
    call = api("admin")
    created = call("POST", "/api/v1/recognitions", json={
        "product_id": world.product_a, "stars": 5, "level": "national", "issuing_body": "Bộ Nông nghiệp và Môi trường",
        "decision_number": "77/QĐ-BNN", "decision_date": "31/08/2026"})
    assert created.status_code == 201, created.get_json()
    rec = created.get_json()
    assert (rec["valid_from"], rec["valid_until"]) == ("2026-08-31", "2029-08-31")
    old = call("GET", f"/api/v1/recognitions/{world.recognition_a}").get_json()
    assert old["status"] == "superseded"
    product = call("GET", f"/api/v1/products/{world.product_a}").get_json()
    assert product["current_recognition"]["stars"] == 5


@pytest.mark.parametrize("stars", [2, 6, "five", True])
def test_stars_only_3_to_5(api, world, stars):
    response = api("admin")("POST", "/api/v1/recognitions", json={
        "product_id": world.product_a, "stars": stars, "level": "province", "issuing_body": "UBND",
        "decision_number": "1", "decision_date": "2026-01-01"})
    assert response.status_code == 400 and "stars" in response.get_json()["fields"]


def test_revoke_recognition(api, world):
    call = api("admin")
    assert call("POST", f"/api/v1/recognitions/{world.recognition_a}/revoke", json={}).status_code == 400
    revoked = call("POST", f"/api/v1/recognitions/{world.recognition_a}/revoke", json={"reason": "Vi phạm chất lượng"})
    assert revoked.status_code == 200
    assert revoked.get_json()["status"] == "revoked"
    again = call("POST", f"/api/v1/recognitions/{world.recognition_a}/revoke", json={"reason": "again"})
    assert again.status_code == 400


def test_users_never_expose_password_hash(api):
    listing = api("admin")("GET", "/api/v1/users").get_json()
    assert listing["items"] and all("password_hash" not in u for u in listing["items"])
    assert "password_hash" not in json.dumps(listing)


@pytest.mark.parametrize("authorization", ["Bearer ocop_nope", "Basic abc"])
def test_bad_token(app, authorization):
    client = app.test_client()
    assert client.get("/api/v1/products", headers={"Authorization": authorization}).status_code == 401


@pytest.mark.parametrize("query", ["limit=0", "limit=5000", "limit=abc", "offset=-1"])
def test_bad_paging(api, query):
    response = api("admin")("GET", f"/api/v1/products?{query}")
    assert response.status_code == 400, query


def test_paging(api):
    page = api("admin")("GET", "/api/v1/products?limit=1&offset=1").get_json()
    assert page["total"] == 2 and len(page["items"]) == 1


def test_unknown_routes_and_methods_are_json_on_the_api(api):
    call = api("admin")
    missing = call("GET", "/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.is_json
    wrong = call("DELETE", "/api/v1/products")
    assert wrong.status_code == 405 and wrong.is_json and "GET" in wrong.headers["Allow"]
    assert call("GET", "/api/v1/products/999999").status_code == 404


def test_session_cookie_does_not_authenticate_the_api(login):
    session = login("admin")
    assert session.get("/api/v1/products").status_code == 401


def test_english_error_messages(api):
    response = api("admin")("POST", "/api/v1/producers", json={}, headers={"Accept-Language": "en"})
    assert response.get_json()["fields"]["name"] == "Required."
    response = api("admin")("POST", "/api/v1/producers", json={})
    assert response.get_json()["fields"]["name"] == "Bắt buộc nhập."


def test_openapi_document_describes_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)
            routes.add((path, method))
    assert documented - routes == set(), "documented operations the app does not have"
    assert doc["components"]["schemas"]["Recognition"]["properties"]["stars"]["maximum"] == 5


def test_places_are_public_and_complete(client):
    provinces = client.get("/api/v1/provinces").get_json()["items"]
    assert len(provinces) == 34
    communes = client.get("/api/v1/provinces/22/communes").get_json()["items"]
    assert any(c["full_name"] == "Xã Ba Chẽ" for c in communes)
    assert client.get("/api/v1/communes/06978").get_json()["province"]["full_name"] == "Tỉnh Quảng Ninh"
    assert client.get("/api/v1/communes/99999").status_code == 404
    assert client.get("/api/v1/provinces/XX/communes").status_code == 404
