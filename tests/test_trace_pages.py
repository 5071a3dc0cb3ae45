"""The record on pages: the producer's stage form (errors beside fields, corrections as new events), the full
record for inspectors (corrections and who entered each), and only the record as it stands for shoppers."""

from __future__ import annotations

import re

from stamp_service.context import get_storage
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing

FORM = {"stage": "harvest", "at": "2026-11-20T07:30", "province_code": "22", "place_code": "06978",
        "description": "Hái hoa trà vàng", "input_material": "Hoa trà tươi"}


def _stamp_path(app) -> str:
    with app.app_context():
        run = issuing.get_run(get_storage(), app.world.run_a)
        _, text = next(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"], 1, 1))
    return "/" + text.split("/", 3)[3]


def _count(app) -> int:
    with app.app_context():
        return get_storage().count("batch_events")


def test_a_correction_keeps_both_for_inspectors_and_shows_shoppers_the_fix(app, login, world):
    producer = login("producer_a")
    url = f"/portal/batches/{world.batch_a}/stages/new"
    assert producer.post(url, FORM).status_code == 302
    first = producer.get(f"{url}?corrects=1").get_data(as_text=True)
    assert "Sửa công đoạn" in first and 'name="corrects" value="1"' in first and "Hái hoa trà vàng" in first
    no_reason = producer.post(url, {**FORM, "corrects": "1", "at": "2026-11-20T09:15"})
    assert no_reason.status_code == 400 and 'id="e-reason"' in no_reason.get_data(as_text=True)
    assert _count(app) == 1
    assert producer.post(url, {**FORM, "corrects": "1", "at": "2026-11-20T09:15", "reason": "Ghi nhầm giờ"}).status_code == 302

    record = login("inspector").get(f"/portal/batches/{world.batch_a}").get_data(as_text=True)
    assert "20/11/2026 07:30" in record and "20/11/2026 09:15" in record  # both versions
    assert "Đã được sửa bởi công đoạn #2" in record and "Sửa công đoạn #1: Ghi nhầm giờ" in record
    assert record.count("Người ghi: producer_a@example.vn") == 2
    assert "stages/new" not in record  # inspectors read, never write

    shopper = app.test_client().get(_stamp_path(app)).get_data(as_text=True)
    timeline = shopper[shopper.index('id="timeline"'):]
    assert "20/11/2026 09:15" in timeline and "20/11/2026 07:30" not in timeline
    assert "<dt>Nơi chế biến, đóng gói cuối cùng</dt><dd>Xã Ba Chẽ, Tỉnh Quảng Ninh</dd>" in timeline


def test_the_form_is_the_producers_own(app, login, world):
    assert login("inspector").get(f"/portal/batches/{world.batch_a}/stages/new").status_code == 403
    assert login("producer_b").get(f"/portal/batches/{world.batch_a}/stages/new").status_code == 404
    no_token = login("producer_a").client.post(f"/portal/batches/{world.batch_a}/stages/new", data=FORM)
    assert no_token.status_code == 400 and _count(app) == 0


def test_unknown_commune_is_shown_beside_the_place(app, login, world):
    page = login("producer_a").post(f"/portal/batches/{world.batch_a}/stages/new",
                                    {**FORM, "province_code": "", "place_code": "99999"})
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and re.search(r'id="e-place_code">Không có xã với mã 99999', html)
    assert _count(app) == 0


def test_no_timeline_without_stages_but_the_passport_facts(app):
    html = app.test_client().get(_stamp_path(app)).get_data(as_text=True)
    assert "Hành trình sản phẩm" not in html and 'class="tl"' not in html
    assert "<dt>Mã số thuế</dt><dd>5701998233</dd>" in html  # the producer's identifier (ND 37/2026)
    assert "Nơi chế biến, đóng gói cuối cùng" not in html  # no stage recorded: nothing to say


def test_inspectors_batch_page_and_record_pdf_carry_the_full_record(app, api, login, world):
    import pypdfium2 as pdfium

    call = api("producer_a")
    first = call("POST", f"/api/v1/batches/{world.batch_a}/events", json={
        "stage": "harvest", "at": "2026-11-20T07:30:00+07:00", "commune_code": "06978", "description": "Hái hoa",
        "inputs": [{"material": "Hoa trà vàng tươi", "supplier": "Hộ ông Sáng", "lot": "HS-01"}]}).get_json()
    call("POST", f"/api/v1/batches/{world.batch_a}/events", json={
        "stage": "harvest", "at": "2026-11-20T08:30:00+07:00", "commune_code": "06978", "description": "Hái hoa",
        "corrects": first["id"], "reason": "Ghi nhầm giờ"})
    inspector = login("inspector")
    page = inspector.get(f"/inspect/batches/{world.batch_a}").get_data(as_text=True)
    assert "Các công đoạn sản xuất" in page and "Đã được sửa bởi công đoạn #2" in page
    assert "Người ghi: producer_a@example.vn" in page and "stages/new" not in page

    # a check of one of the batch's stamps puts its record into the visit's PDF
    serial, text = _first(app)
    assert inspector.post("/inspect/check", {"code": text}).status_code in (200, 302)
    pdf = inspector.get(f"/inspect/visits/{world.visit}/record.pdf")
    assert pdf.status_code == 200
    doc = pdfium.PdfDocument(pdf.data)
    words = re.sub(r"\s+", " ", " ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))))
    for expected in ("Hồ sơ truy xuất: Trà hoa vàng · lô A-001", "Thu hoạch", "20/11/2026 07:30", "20/11/2026 08:30",
                     "Sửa công đoạn #1: Ghi nhầm giờ", "Đã được sửa bởi công đoạn #2",
                     "Nguyên liệu: Hoa trà vàng tươi", "producer_a@"):
        assert expected in words, expected
    page0 = doc[len(doc) - 1].render(scale=1.5).to_pil()
    from pathlib import Path

    out = Path(__file__).resolve().parent.parent / "test-artifacts"
    out.mkdir(exist_ok=True)
    page0.save(out / "trace-record-pdf.png")


def _first(app):
    with app.app_context():
        run = issuing.get_run(get_storage(), app.world.run_a)
        return next(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"], 1, 1))


def test_a_long_record_keeps_the_shoppers_page_light(app, world):
    from stamp_service.trace import events

    with app.app_context():
        for n in range(40):
            events.record(get_storage(), world.batch_a, {
                "stage": "processing", "at": f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:00:00+07:00",
                "commune_code": "06978", "site": "Xưởng chế biến số " + "9" * 100, "description": "Sấy lạnh " * 55,
                "photos": ["https://anh.example.vn/" + "a" * 270] * 5}, producer_id=world.producer_a, user_id=None)
    html = app.test_client().get(_stamp_path(app)).get_data()
    # the page's own bytes; its CSS, icon and thumbnail add about 6 KB to the 30 KB budget
    assert len(html) <= 24 * 1024, len(html)
    assert html.decode().count("<li>") == 12  # the first eleven and the last
