"""GS1 Digital Link for products with a GTIN: the lot's page (saying it is no proof of authenticity), its RFC 9264
linkset, and clear 400s for a bad check digit or qualifier order (parsed by biip)."""

from __future__ import annotations

import re

import pytest

from stamp_service.context import get_storage
from stamp_service.registry import products
from stamp_service.trace import digital_link

GTIN14 = "08938505974194"
LINK = f"/01/{GTIN14}/10/A-001"


@pytest.fixture
def with_gtin(app, world):
    with app.app_context():
        products.update(get_storage(), world.product_a, {"gtin": "8938505974194"})


def test_a_lot_link_resolves_to_its_page(client, api, world, with_gtin):
    api("producer_a")("POST", f"/api/v1/batches/{world.batch_a}/events", json={
        "stage": "harvest", "at": "2026-11-20T07:30:00+07:00", "commune_code": "06978", "description": "Hái hoa"})
    for path in (LINK, f"{LINK}/21/7"):
        page = client.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and page.mimetype == "text/html"
        assert "<h2>Trà hoa vàng</h2>" in html and "A-001" in html and GTIN14 in html
        assert "không chứng minh hàng thật" in html  # authenticity needs the stamp's QR
        assert "Hành trình sản phẩm" in html and "Hái hoa" in html
        assert 'rel="linkset"' in page.headers["Link"] and "Accept" in page.headers["Vary"]
    assert "Số sê-ri theo mã GS1" in client.get(f"{LINK}/21/7").get_data(as_text=True)


def test_the_linkset_carries_gs1_link_types(client, with_gtin):
    response = client.get(LINK, headers={"Accept": "application/linkset+json"})
    assert response.status_code == 200 and response.mimetype == "application/linkset+json"
    entry = response.get_json()["linkset"][0]
    assert entry["anchor"] == f"https://tem.example.vn{LINK}"
    for rel in ("pip", "traceability", "certificationInfo", "defaultLink"):
        links = entry[f"https://gs1.org/voc/{rel}"]
        assert links and all(link["href"].startswith(f"https://tem.example.vn{LINK}") for link in links), rel
    assert entry["https://gs1.org/voc/traceability"][0]["href"].endswith("#timeline")


@pytest.mark.parametrize("path, message", [
    (f"/01/{GTIN14[:-1]}5/10/A-001", "Sai số kiểm tra của GTIN."),
    (f"/01/{GTIN14}/21/7/10/A-001", "không đúng cấu trúc"),
    (f"/01/{GTIN14}", "cần có GTIN rồi số lô"),
    (f"/01/{GTIN14[1:]}/10/A-001", "đủ 14 chữ số"),
    (f"/01/{GTIN14}/10/{'A' * 21}", "không đúng cấu trúc"),
])
def test_bad_links_get_a_clear_400(client, with_gtin, path, message):
    page = client.get(path)
    assert page.status_code == 400 and message in page.get_data(as_text=True)
    as_json = client.get(path, headers={"Accept": "application/linkset+json"})
    assert as_json.status_code == 400 and message in as_json.get_json()["error"]


def test_an_unknown_lot_or_gtin_is_404(client, with_gtin):
    assert client.get(f"/01/{GTIN14}/10/NOPE").status_code == 404
    assert client.get("/01/00000000000000/10/A-001").status_code == 404  # a valid check digit, no product


def test_links_are_built_with_biip_and_round_trip():
    uri = digital_link.build("tem.example.vn", "8938505974194", "BC-2026/11", "12")
    assert uri == "https://tem.example.vn/01/08938505974194/10/BC-2026%2F11/21/12"
    link = digital_link.parse("tem.example.vn", uri.split("tem.example.vn", 1)[1])
    assert (link.gtin, link.lot, link.serial) == ("08938505974194", "BC-2026/11", "12")
    with pytest.raises(digital_link.BadLink, match="check digit"):
        digital_link.build("tem.example.vn", "8938505974195", "A")
    assert re.fullmatch(r"https://id\.gs1\.org/01/\d{14}/10/A-001", digital_link.build("id.gs1.org", "8938505974194", "A-001"))
