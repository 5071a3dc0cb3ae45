"""The demo's traceability records: every demo batch has realistic stages, its EPCIS export validates against
GS1's schema, and a demo GTIN product's Digital Link resolves to its page and its linkset."""

from __future__ import annotations

import json

import pytest

from stamp_service import create_app, demo
from stamp_service.context import get_storage
from stamp_service.trace import epcis


@pytest.fixture
def demo_app(tmp_path, monkeypatch):
    monkeypatch.setenv("OCOP_STAMP_HOME", str(tmp_path / "demo"))
    app = create_app({"TESTING": True, "PUBLIC_HOST": "tem.example.vn"})
    with app.app_context():
        demo.load(get_storage(), tmp_path / "demo")
    return app


def _admin(app):
    from stamp_service.auth import users

    with app.app_context():
        admin = get_storage().find_one("users", role="admin")
        return {"Authorization": f"Bearer {users.create_token(get_storage(), admin['id'], 'test')}"}


def test_every_demo_batch_has_stages_and_a_valid_epcis_export(demo_app):
    client, headers = demo_app.test_client(), _admin(demo_app)
    with demo_app.app_context():
        storage = get_storage()
        batch_ids = [b["id"] for b in storage.find("batches")]
        tea = storage.find_one("products", name="Trà hoa vàng Ba Chẽ")
        tea_batch = storage.find("batches", product_id=tea["id"])[0]
    assert batch_ids
    for batch_id in batch_ids:
        response = client.get(f"/api/v1/batches/{batch_id}/epcis", headers=headers)
        assert response.status_code == 200
        doc = json.loads(response.get_data(as_text=True))
        assert doc["epcisBody"]["eventList"], batch_id
        assert epcis.problems(doc) == [], (batch_id, epcis.problems(doc)[:3])
    stages = client.get(f"/api/v1/batches/{tea_batch['id']}/events", headers=headers).get_json()["items"]
    assert [s["stage"] for s in stages] == ["harvest", "processing", "processing", "processing", "packing", "shipping"]
    assert [s["description"] for s in stages][1:4] == ["Làm héo hoa 6 giờ trong phòng thoáng", "Vò nhẹ, tạo hình bông",
                                                      "Sấy lạnh 48 giờ ở 40 °C"]
    doc = json.loads(client.get(f"/api/v1/batches/{tea_batch['id']}/epcis", headers=headers).get_data(as_text=True))
    assert doc["epcisBody"]["eventList"][0]["quantityList"][0]["epcClass"] == \
        f"https://id.gs1.org/01/08938505974194/10/{tea_batch['lot']}"
    assert doc["epcisBody"]["eventList"][1]["type"] == "TransformationEvent"  # processing with inputs


def test_a_demo_gtin_products_digital_link_resolves(demo_app):
    client = demo_app.test_client()
    with demo_app.app_context():
        tea = get_storage().find_one("products", name="Trà hoa vàng Ba Chẽ")
        lot = get_storage().find("batches", product_id=tea["id"])[0]["lot"]
    link = f"/01/08938505974194/10/{lot}"
    page = client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Trà hoa vàng Ba Chẽ" in html and "Sấy lạnh 48 giờ ở 40 °C" in html
    linkset = client.get(link, headers={"Accept": "application/linkset+json"})
    assert linkset.status_code == 200 and linkset.mimetype == "application/linkset+json"
    assert linkset.get_json()["linkset"][0]["anchor"] == f"https://tem.example.vn{link}"
