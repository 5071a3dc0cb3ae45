"""A batch's production stages: recorded by its producer over the API, validated, append-only, corrected by new
events; exported as EPCIS 2.0 that GS1's official JSON Schema accepts."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from stamp_service.auth import tokens
from stamp_service.context import get_storage
from stamp_service.storage import StorageError
from stamp_service.trace import epcis

HARVEST = {"stage": "harvest", "at": "2026-11-20T07:30:00+07:00", "commune_code": "06978",
           "description": "Hái búp chè", "inputs": [{"material": "Búp chè tươi", "supplier": "Hộ ông Hùng",
                                                      "supplier_id": "5701998233", "lot": "HC-01"}]}


def _url(world, what: str = "events", batch: int | None = None) -> str:
    return f"/api/v1/batches/{batch or world.batch_a}/{what}"


def _stored(app) -> list[dict]:
    with app.app_context():
        return get_storage().find("batch_events")


def test_producer_records_a_stage_and_lists_it(api, world):
    call = api("producer_a")
    made = call("POST", _url(world), json=HARVEST)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["stage"] == "harvest" and body["biz_step"] == "commissioning"
    assert body["at"] == "2026-11-20T07:30:00+07:00" and body["place"] == "Xã Ba Chẽ, Tỉnh Quảng Ninh"
    assert body["inputs"] == HARVEST["inputs"] and body["created_by"] == world.users["producer_a"]
    listed = call("GET", _url(world)).get_json()["items"]
    assert [e["id"] for e in listed] == [body["id"]]
    # the office and inspectors read it too
    assert api("inspector")("GET", _url(world)).get_json()["items"][0]["description"] == "Hái búp chè"
    assert api("admin")("POST", _url(world), json={**HARVEST, "stage": "packing"}).status_code == 201


@pytest.mark.parametrize("change, field", [
    ({"at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat()}, "at"),
    ({"at": "2026-11-20T07:30:00"}, "at"),  # no offset: which 07:30?
    ({"at": "hôm qua"}, "at"),
    ({"commune_code": "99999"}, "commune_code"),
    ({"stage": "dancing"}, "stage"),
    ({"inputs": [{"supplier": "no material"}]}, "inputs[0].material"),
    ({"inputs": "chè"}, "inputs"),
    ({"photos": ["javascript:alert(1)"]}, "photos"),
    ({"ship_to": {"distributor": "Shop", "commune_code": "00000"}}, "ship_to.commune_code"),
    ({"colour": "green"}, "colour"),
    ({"corrects": 1}, "reason"),
])
def test_bad_input_is_refused_beside_its_field_and_stores_nothing(app, api, world, change, field):
    response = api("producer_a")("POST", _url(world), json={**HARVEST, **change})
    assert response.status_code == 400
    assert field in response.get_json()["fields"], response.get_json()
    assert _stored(app) == []


@pytest.mark.parametrize("body", [
    {**HARVEST, "reason": 5, "corrects": 1}, {**HARVEST, "corrects": "một"}, {**HARVEST, "at": 20261120},
    {**HARVEST, "inputs": [5]}, {**HARVEST, "inputs": [{"material": ["chè"]}]}, {**HARVEST, "ship_to": "chợ"},
    {**HARVEST, "ship_to": []}, {**HARVEST, "photos": "https://x.vn/a.jpg"}, {**HARVEST, "stage": None},
    {**HARVEST, "description": "x" * 501}, {**HARVEST, "at": "2026-02-30T07:30:00+07:00"},
    {**HARVEST, "at": "1999-12-31T23:00:00+07:00"}, [HARVEST], "harvest", None,
])
def test_odd_json_is_a_400_never_a_500(app, api, world, body):
    response = api("producer_a")("POST", _url(world), json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]
    assert _stored(app) == []


def test_malformed_json_is_a_clear_400(app, api, world):
    response = api("producer_a")("POST", _url(world), data="{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.get_json()["error"]
    assert _stored(app) == []


def test_only_the_batchs_producer_or_the_office_adds_stages(app, api, world):
    assert api("producer_b")("POST", _url(world), json=HARVEST).status_code == 404
    assert api("producer_b")("GET", _url(world)).status_code == 404
    assert api("inspector")("POST", _url(world), json=HARVEST).status_code == 403
    assert api(None)("POST", _url(world), json=HARVEST).status_code == 401
    with app.app_context():
        read_only = tokens.create(get_storage(), world.users["producer_a"], "read only", scopes=["read"])
    client = app.test_client()
    refused = client.post(_url(world), json=HARVEST, headers={"Authorization": f"Bearer {read_only}"})
    assert refused.status_code == 403 and refused.get_json()["scope"] == "issue"
    assert _stored(app) == []


def test_a_correction_is_a_new_event_and_both_stay(api, world):
    call = api("producer_a")
    first = call("POST", _url(world), json=HARVEST).get_json()
    fixed = call("POST", _url(world), json={**HARVEST, "at": "2026-11-20T08:30:00+07:00", "corrects": first["id"],
                                            "reason": "Ghi nhầm giờ"})
    assert fixed.status_code == 201 and fixed.get_json()["corrects"] == first["id"]
    items = {e["id"]: e for e in call("GET", _url(world)).get_json()["items"]}
    assert items[first["id"]]["corrected_by"] == fixed.get_json()["id"]
    assert items[first["id"]]["at"] == "2026-11-20T07:30:00+07:00"  # the original is kept as it was
    again = call("POST", _url(world), json={**HARVEST, "corrects": first["id"], "reason": "lần nữa"})
    assert again.status_code == 400 and "corrects" in again.get_json()["fields"]
    other = api("producer_b")
    theirs = other("POST", _url(world, batch=world.batch_b), json={**HARVEST, "commune_code": "06688"}).get_json()
    cross = call("POST", _url(world), json={**HARVEST, "corrects": theirs["id"], "reason": "x"})
    assert cross.status_code == 400 and "corrects" in cross.get_json()["fields"]


def test_the_database_refuses_to_rewrite_or_delete_an_event(app, api, world):
    api("producer_a")("POST", _url(world), json=HARVEST)
    with app.app_context():
        storage = get_storage()
        event = storage.find("batch_events")[0]
        with pytest.raises(StorageError):
            storage.update("batch_events", event["id"], {"description": "rewritten"})
        with pytest.raises(StorageError, match="append-only"):
            storage.execute("DELETE FROM batch_events")
        assert storage.get("batch_events", event["id"])["description"] == "Hái búp chè"


def test_epcis_export_is_valid_against_gs1s_schema(api, world):
    call = api("producer_a")
    first = call("POST", _url(world), json=HARVEST).get_json()
    call("POST", _url(world), json={**HARVEST, "at": "2026-11-20T08:00:00+07:00", "corrects": first["id"],
                                    "reason": "Ghi nhầm giờ"})
    call("POST", _url(world), json={"stage": "processing", "at": "2026-11-21T09:00:00+07:00", "commune_code": "06978",
                                    "description": "Sấy lạnh", "inputs": [{"material": "Hoa trà vàng", "lot": "HC-01"}]})
    call("POST", _url(world), json={"stage": "shipping", "at": "2026-11-25T14:00:00+07:00", "commune_code": "06978",
                                    "ship_to": {"distributor": "Cửa hàng đặc sản Hạ Long", "commune_code": "06688",
                                                "quantity": "200 hộp"}})
    response = call("GET", _url(world, "epcis"))
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    doc = json.loads(response.get_data(as_text=True))
    assert epcis.problems(doc) == []
    assert doc["type"] == "EPCISDocument" and doc["schemaVersion"] == "2.0"
    assert doc["@context"][0] == "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
    kinds = [(e["type"], e["bizStep"]) for e in doc["epcisBody"]["eventList"]]
    assert kinds == [("ObjectEvent", "commissioning"), ("ObjectEvent", "commissioning"),
                     ("TransformationEvent", "commissioning"), ("ObjectEvent", "shipping")]
    wrong, fix = doc["epcisBody"]["eventList"][:2]
    assert wrong["errorDeclaration"]["correctiveEventIDs"] == [fix["eventID"]]
    # the test product has no GTIN: our own HTTPS URI for the lot
    assert wrong["quantityList"] == [{"epcClass": "https://tem.example.vn/id/product/%d/lot/A-001" % world.product_a}]
    assert doc["epcisBody"]["eventList"][3]["destinationList"][0]["destination"].endswith("/id/commune/06688")
    assert api("producer_b")("GET", _url(world, "epcis")).status_code == 404


def test_a_product_with_a_gtin_uses_gs1_digital_link_uris():
    product = {"id": 7, "gtin": "8938505974194"}
    assert epcis.lot_uri("tem.example.vn", product, "BC-2026/11") == "https://id.gs1.org/01/08938505974194/10/BC-2026%2F11"


def test_the_schema_check_catches_a_broken_document(api, world):
    api("producer_a")("POST", _url(world), json=HARVEST)
    doc = json.loads(api("producer_a")("GET", _url(world, "epcis")).get_data(as_text=True))
    assert epcis.problems(doc) == []
    for breakage in (lambda d: d["epcisBody"]["eventList"][0].pop("eventTime"),
                     lambda d: d["epcisBody"]["eventList"][0].update(eventTimeZoneOffset="+7"),
                     lambda d: d["epcisBody"]["eventList"][0].update(action="MAYBE"),
                     lambda d: d.pop("schemaVersion")):
        broken = copy.deepcopy(doc)
        breakage(broken)
        assert epcis.problems(broken), broken


@pytest.mark.parametrize("name", ["Example_9.6.1-ObjectEvent.jsonld", "Example_9.6.4-TransformationEvent.jsonld"])
def test_gs1s_own_examples_pass_the_same_check(name):
    from pathlib import Path

    doc = json.loads((Path(__file__).parent / "vectors" / "epcis" / name).read_text(encoding="utf-8"))
    assert epcis.problems(doc) == []
