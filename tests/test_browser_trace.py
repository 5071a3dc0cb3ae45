"""The traceability record in a real browser on a phone: the producer records a batch's stages (and a wrong time
is refused beside its field), and a shopper's scan shows them as a timeline that stays light and on our host.

Reuses test_browser.py's live waitress server, chromium discovery (skip locally without it, fail in CI) and phone
settings, and test_browser_verify.py's page-weight measure. Screenshots go to test-artifacts/trace-*.png.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from stamp_service.context import get_storage
from stamp_service.trace import events
from test_browser import (  # noqa: F401 - live_server, browser and chromium_executable are fixtures used below
    ARTIFACTS, Phone, assert_field_error, browser, chromium_executable, live_server, phone, sign_in, screenshots,
)
from test_browser_verify import PAGE_BUDGET, open_page, stamp, transfer_sizes  # noqa: F401 - stamp: a fixture

try:
    from playwright.sync_api import Page, Response, expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass


shot = screenshots("trace")


def stored(app) -> list[dict]:
    with app.app_context():
        return get_storage().find("batch_events", order_by="id")


def save(page: Page) -> int:
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("main form").get_by_role("button", name="Lưu công đoạn").tap()
    page.wait_for_load_state()
    return answer.value.status


def test_producer_records_stages_and_the_shopper_sees_the_timeline(phone: Phone, live_server: str, app,
                                                                   stamp) -> None:  # noqa: F811
    page, world = phone.page, app.world
    sign_in(page, "producer_a")
    page.goto(f"/portal/batches/{world.batch_a}")
    page.get_by_role("link", name="Ghi công đoạn").tap()
    expect(page.locator("h1")).to_have_text("Ghi công đoạn sản xuất")
    # the place starts at the batch's commune, the time at now in Vietnam
    expect(page.locator("#f-place_code")).to_have_value("06978")
    phone.assert_no_sideways_scroll("stage form")
    shot(page, "form-empty")

    # A time in the future is refused beside its field, and nothing is stored.
    page.locator("#f-stage").select_option("harvest")
    tomorrow = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))) + dt.timedelta(days=1)
    page.locator("#f-at").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.locator("#f-description").fill("Hái hoa trà vàng dưới tán rừng")
    assert save(page) == 400
    assert_field_error(page, "at", "Thời điểm không được ở tương lai.")
    expect(page.locator("#f-description")).to_have_value("Hái hoa trà vàng dưới tán rừng")  # nothing retyped
    phone.assert_no_sideways_scroll("stage form with an error")
    shot(page, "form-future-error")
    assert stored(app) == []

    # Corrected: saved, back on the batch page with the stage listed.
    page.locator("#f-at").fill("2026-11-20T07:30")
    page.locator("#f-site").fill("Đồi chè số 2")
    page.locator("details.more summary", has_text="Nguyên liệu đầu vào").tap()
    page.locator("#f-input_material").fill("Hoa trà vàng tươi")
    page.locator("#f-input_supplier").fill("Hộ ông Lý Văn Sáng")
    assert save(page) == 302
    expect(page).to_have_url(re.compile(rf"/portal/batches/{world.batch_a}#stages$"))
    card = page.locator("ol.stages li").first
    expect(card).to_contain_text("Thu hoạch")
    expect(card).to_contain_text("20/11/2026 07:30")
    expect(card).to_contain_text("Đồi chè số 2, Xã Ba Chẽ, Tỉnh Quảng Ninh")
    expect(card).to_contain_text("Hoa trà vàng tươi")
    phone.assert_no_sideways_scroll("batch with a stage")
    shot(page, "batch-stages")
    rows = stored(app)
    assert len(rows) == 1 and rows[0]["event_time"] == "2026-11-20T00:30:00Z" and rows[0]["tz_offset"] == "+07:00"
    assert rows[0]["created_by"] == world.users["producer_a"] and rows[0]["source"] == "portal"

    # Four more stages (through the same code path as the API), then the shopper scans the stamp.
    with app.app_context():
        for stage, day, text in (("processing", 21, "Sấy lạnh 48 giờ"), ("packing", 23, "Đóng hộp 50 g"),
                                 ("quality_test", 24, "Kiểm nghiệm tại Trung tâm Kỹ thuật 1"),
                                 ("shipping", 25, "Giao cửa hàng đặc sản Hạ Long")):
            events.record(get_storage(), world.batch_a, {"stage": stage, "at": f"2026-11-{day}T09:00:00+07:00",
                                                         "commune_code": "06978", "description": text},
                          producer_id=world.producer_a, user_id=world.users["producer_a"])
    shopper = page.context.browser.new_context(base_url=live_server, viewport={"width": 360, "height": 740},
                                               device_scale_factor=2, is_mobile=True, has_touch=True, locale="vi-VN")
    try:
        spage = shopper.new_page()
        responses: list[Response] = []
        spage.on("response", lambda r: responses.append(r))
        document = open_page(spage, stamp[1])
        spage.wait_for_load_state("load")
        timeline = spage.locator("#timeline")
        expect(timeline.locator("h2")).to_have_text("Hành trình sản phẩm")
        shown = timeline.locator("> ol.tl > li")
        expect(shown).to_have_count(3)  # the first three open on a phone, the rest folded
        expect(shown.nth(0)).to_contain_text("Thu hoạch")
        expect(shown.nth(0)).to_contain_text("20/11/2026 07:30")
        expect(shown.nth(1)).to_contain_text("Sấy lạnh 48 giờ")
        folded = timeline.locator("details")
        expect(folded.locator("summary")).to_have_text("Xem thêm 2 công đoạn")
        expect(folded.locator("li").first).not_to_be_visible()
        sizes, _ = transfer_sizes(spage, document, [r for r in responses if r != document])
        total = sum(sizes.values())
        print(f"\nverification page with a 5-stage timeline: {total} bytes on the wire ({sizes})")
        assert total <= PAGE_BUDGET, sizes
        hosts = {urlsplit(r.url).netloc for r in responses}
        assert hosts == {urlsplit(live_server).netloc}, hosts
        shot(spage, "shopper-folded")
        folded.locator("summary").tap()
        expect(folded.locator("li").nth(1)).to_contain_text("Vận chuyển")
        spage.locator("#timeline").scroll_into_view_if_needed()
        shot(spage, "shopper-open")
    finally:
        shopper.close()
    assert not phone.console_errors, phone.console_errors


def test_digital_link_page_on_a_phone_in_both_languages(phone: Phone, live_server: str, app) -> None:
    page, world = phone.page, app.world
    with app.app_context():
        from stamp_service.registry import products

        products.update(get_storage(), world.product_a, {"gtin": "8938505974194"})
        for stage, day, text in (("harvest", 20, "Hái hoa trà vàng"), ("processing", 21, "Sấy lạnh 48 giờ"),
                                 ("packing", 23, "Đóng hộp 50 g"), ("shipping", 25, "Giao cửa hàng")):
            events.record(get_storage(), world.batch_a, {"stage": stage, "at": f"2026-11-{day}T09:00:00+07:00",
                                                         "commune_code": "06978", "description": text},
                          producer_id=world.producer_a, user_id=world.users["producer_a"])
    responses: list[Response] = []
    page.on("response", lambda r: responses.append(r))
    document = open_page(page, "/01/08938505974194/10/A-001")
    banner = page.locator("main > section.banner")
    expect(banner.locator("h1")).to_have_text("Thông tin lô hàng")
    expect(banner).to_contain_text("quét mã QR trên tem OCOP")
    expect(page.locator("#timeline > ol.tl > li")).to_have_count(3)
    assert {urlsplit(r.url).netloc for r in responses} == {urlsplit(live_server).netloc}
    sizes, _ = transfer_sizes(page, document, [r for r in responses if r != document])
    assert sum(sizes.values()) <= PAGE_BUDGET, sizes
    phone.assert_no_sideways_scroll("digital link page")
    shot(page, "digital-link-vi")
    page.locator("header nav a", has_text="EN").tap()
    expect(banner.locator("h1")).to_have_text("About this batch")
    expect(page.locator("#timeline h2")).to_have_text("The product's journey")
    expect(page.locator("#timeline > ol.tl > li").first).to_contain_text("Harvest")
    expect(page.locator("#timeline summary")).to_have_text("Show the rest (1)")
    phone.assert_no_sideways_scroll("digital link page in English")
    shot(page, "digital-link-en")
    bad = page.goto("/01/08938505974195/10/A-001")
    assert bad is not None and bad.status == 400
    expect(page.locator("main")).to_contain_text("check digit")
    shot(page, "digital-link-bad-check-digit")
    assert not phone.console_errors, phone.console_errors
