"""The digital product passport (ND 37/2026): public, by QR text or serial, valid against its OpenAPI schema."""

from __future__ import annotations

import jsonschema

from stamp_service.context import get_storage
from stamp_service.registry import producers, products
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.stamps.serials import format_serial


def _first_stamp(app) -> tuple[int, str]:
    with app.app_context():
        run = issuing.get_run(get_storage(), app.world.run_a)
        return next(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"], 1, 1))


def _schema_check(client, body: dict) -> None:
    components = client.get("/api/v1/openapi.json").get_json()["components"]
    jsonschema.Draft202012Validator({"$ref": "#/components/schemas/Passport", "components": components}).validate(body)


def test_passport_by_qr_text_and_by_serial(app, api, world, client):
    call = api("producer_a")
    made = call("POST", f"/api/v1/batches/{world.batch_a}/events", json={
        "stage": "processing", "at": "2026-11-21T09:00:00+07:00", "commune_code": "06688", "site": "Xưởng sấy Hạ Long",
        "description": "Sấy lạnh"})
    assert made.status_code == 201
    call("POST", f"/api/v1/batches/{world.batch_a}/events", json={
        "stage": "processing", "at": "2026-11-21T09:00:00+07:00", "commune_code": "06978", "description": "Sấy lạnh",
        "corrects": made.get_json()["id"], "reason": "Sấy tại xưởng của hợp tác xã"})
    serial, text = _first_stamp(app)
    for code in (text, format_serial(serial)):
        response = client.get("/api/v1/passport", query_string={"code": code})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        _schema_check(client, body)
        assert body["product"]["name"] == "Trà hoa vàng" and body["gtin"] is None
        assert body["producer"]["identifier"] == {"type": "tax_code", "value": "5701998233"}
        assert body["certifications"][0]["stars"] == 4 and body["certifications"][0]["status"] == "valid"
        assert body["traceability"]["code"] == format_serial(serial) and body["traceability"]["lot"] == "A-001"
        # the record as it stands: only the correction, and the last processing place is the corrected one
        assert [s["description"] for s in body["traceability"]["stages"]] == ["Sấy lạnh"]
        assert body["origin"]["last_processing"]["commune_code"] == "06978"
        assert all(s["created_by"] is None for s in body["traceability"]["stages"])  # no staff ids in public


def test_passport_shows_gtin_and_a_recall_warning(app, client, world):
    with app.app_context():
        storage = get_storage()
        products.update(storage, world.product_a, {"gtin": "8938505974194"})
        issuing.recall(storage, world.batch_a, "Nhiễm ẩm")
    _, text = _first_stamp(app)
    body = client.get("/api/v1/passport", query_string={"code": text}).get_json()
    _schema_check(client, body)
    assert body["gtin"] == "08938505974194" and body["verdict"] == "recalled"
    assert body["traceability"]["class_id"] == "https://id.gs1.org/01/08938505974194/10/A-001"
    assert body["safety_warnings"][0]["kind"] == "recall" and body["safety_warnings"][0]["text"] == "Nhiễm ẩm"


def test_unknown_or_missing_code_is_a_clear_error(client):
    unknown = client.get("/api/v1/passport", query_string={"code": "HTTPS://TEM.EXAMPLE.VN/S/12345"})
    assert unknown.status_code == 404 and unknown.get_json()["error"]
    missing = client.get("/api/v1/passport")
    assert missing.status_code == 400 and "code" in missing.get_json()["fields"]


def test_a_households_personal_id_number_stays_private(app, client, world):
    with app.app_context():
        producers.update(get_storage(), world.producer_a, {"id_type": "personal_id", "id_value": "001099012345"})
    _, text = _first_stamp(app)
    response = client.get("/api/v1/passport", query_string={"code": text})
    assert response.get_json()["producer"]["identifier"] == {"type": "personal_id", "value": None}
    assert "001099012345" not in response.get_data(as_text=True)
    assert "001099012345" not in client.get("/" + text.split("/", 3)[3]).get_data(as_text=True)
