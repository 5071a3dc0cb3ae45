"""A partner's EPCIS 2.0 document imported into a batch's inputs: GS1's own examples go in; a malformed document,
a future time or a repeated event is refused with the problem named per event, and nothing is half-imported."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from stamp_service.context import get_storage

VECTORS = Path(__file__).parent / "vectors" / "epcis"


def _doc(name: str) -> dict:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def _post(api, world, doc, who="producer_a"):
    return api(who)("POST", f"/api/v1/batches/{world.batch_a}/epcis", data=json.dumps(doc),
                    headers={"Content-Type": "application/ld+json"})


def _count(app) -> int:
    with app.app_context():
        return get_storage().count("batch_events")


def test_a_partners_document_becomes_received_inputs(app, api, world):
    response = _post(api, world, _doc("Example_9.6.1-ObjectEventWithDigitalLink.jsonld"))
    assert response.status_code == 201, response.get_json()
    items = response.get_json()["items"]
    assert [i["stage"] for i in items] == ["receiving", "receiving"] and all(i["source"] == "epcis" for i in items)
    assert items[0]["at"] == "2005-04-03T20:33:31-06:00"  # the partner's time, at the partner's offset
    assert items[0]["inputs"][0]["material"] == "GTIN 70614141123451"
    assert items[0]["inputs"][0]["supplier"] == "urn:epc:id:sgln:0614141.07346.1234"
    # a transformation's outputs are our inputs, with the lot a class-level identifier carries
    made = _post(api, world, _doc("Example_9.6.4-TransformationEvent.jsonld"))
    assert made.status_code == 201
    assert [i["material"] for i in made.get_json()["items"][0]["inputs"]][:1] == ["urn:epc:id:sgtin:4012345.077889.25"]
    # and the batch's own EPCIS export stays valid with them in it
    from stamp_service.trace import epcis

    exported = json.loads(api("producer_a")("GET", f"/api/v1/batches/{world.batch_a}/epcis").get_data(as_text=True))
    assert len(exported["epcisBody"]["eventList"]) == 3 and epcis.problems(exported) == []


def test_digital_link_inputs_give_gtin_and_lot(app, api, world):
    doc = _doc("Example_9.6.1-ObjectEvent.jsonld")
    event = doc["epcisBody"]["eventList"][0]
    event.pop("epcList")
    event["quantityList"] = [{"epcClass": "https://id.gs1.org/01/08938505974194/10/HC-01", "quantity": 120, "uom": "KGM"}]
    response = _post(api, world, {**doc, "epcisBody": {"eventList": [event]}})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["items"][0]["inputs"] == [{"material": "GTIN 08938505974194", "lot": "HC-01",
                                                          "quantity": "120 KGM",
                                                          "supplier": "urn:epc:id:sgln:0614141.07346.1234",
                                                          "supplier_id": "urn:epc:id:sgln:0614141.07346.1234"}]


@pytest.mark.parametrize("breakage, field", [
    (lambda events: events[1].pop("eventTime"), "events[1]"),
    (lambda events: events[0].update(eventTime="2099-01-01T00:00:00Z", eventTimeZoneOffset="+07:00"), "events[0].at"),
    (lambda events: events[1].update(action="MAYBE"), "events[1]"),
    (lambda events: events[0].pop("eventID"), "events[0]"),
])
def test_bad_events_are_named_and_nothing_is_imported(app, api, world, breakage, field):
    doc = _doc("Example_9.6.1-ObjectEventWithDigitalLink.jsonld")
    breakage(doc["epcisBody"]["eventList"])
    response = _post(api, world, doc)
    assert response.status_code == 400
    assert field in response.get_json()["fields"], response.get_json()
    assert _count(app) == 0


def test_not_a_document_or_repeated(app, api, world):
    assert _post(api, world, {"type": "ObjectEvent"}).status_code == 400
    empty = _post(api, world, {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                               "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-01-01T00:00:00Z",
                               "epcisBody": {"eventList": []}})
    assert empty.status_code == 400 and "document" in empty.get_json()["fields"]
    bad_json = api("producer_a")("POST", f"/api/v1/batches/{world.batch_a}/epcis", data="{oops",
                                 headers={"Content-Type": "application/ld+json"})
    assert bad_json.status_code == 400
    doc = _doc("Example_9.6.1-ObjectEventWithDigitalLink.jsonld")
    assert _post(api, world, doc).status_code == 201
    again = _post(api, world, copy.deepcopy(doc))
    assert again.status_code == 400 and set(again.get_json()["fields"]) == {"events[0]", "events[1]"}
    assert _count(app) == 2


def test_only_the_batchs_producer_imports(app, api, world):
    doc = _doc("Example_9.6.1-ObjectEvent.jsonld")
    assert _post(api, world, doc, who="producer_b").status_code == 404
    assert _post(api, world, doc, who="inspector").status_code == 403
    assert _count(app) == 0
