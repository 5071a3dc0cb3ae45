"""Shoppers' reports on a phone, in a real browser: an inspector works the inbox (filter, open a report on a
forged code, see its photo and contact, change status and assignee, add a note, open a case from it) and a
producer sees the report about its own product without the reporter's contact.

Reports are sent through the shopper's real form (/report). Full-page screenshots go to
test-artifacts/reports-*.png for a human to look at.
"""

from __future__ import annotations

import re

from stamp_service.context import get_storage
from test_browser import (  # noqa: F401 - live_server and chromium_executable are fixtures used below
    ARTIFACTS, Phone, browser, chromium_executable, live_server, sign_in, screenshots,
)
from test_browser_inspect import assert_clean, phone_context
from test_inspection import forge, stamp_codes
from test_report_inbox import reports, send_report

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass


shot = screenshots("reports")


def test_an_inspector_works_a_report_and_the_producer_sees_it_on_a_phone(browser: Browser, live_server: str,
                                                                         app) -> None:
    world = app.world
    (serial, code), = stamp_codes(app, world.run_a, 1)
    assert send_report(app, code, "Hộp trà bị bóc tem rồi dán lại", contact="0912 345 678",
                       where="Cửa hàng đặc sản Bãi Cháy") == 200
    assert send_report(app, forge(code), "Quét mã ra trang báo tem giả", contact="lan.nguyen@example.com",
                       photo=True, where="Chợ Hạ Long, sạp 12") == 200
    genuine, fake = reports(app)

    context = phone_context(browser, live_server)
    phone = Phone(context.new_page(), live_server)
    page = phone.page
    try:
        sign_in(page, "inspector")
        page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Báo cáo", exact=True).tap()
        expect(page).to_have_url(re.compile(r"/inspect/reports$"))
        expect(page.get_by_role("heading", name="Báo cáo của người mua", level=1)).to_be_visible()
        cards = page.locator("main ul.reports > li.card")
        expect(cards).to_have_count(2)
        expect(cards.locator(".badge.report-new", has_text="Mới")).to_have_count(2)
        expect(cards.nth(0)).to_contain_text("Mã không do hệ thống ký")
        phone.assert_no_sideways_scroll("inbox")
        shot(page, "01-inbox")

        page.locator("#f-product").select_option(label="Trà hoa vàng")
        page.get_by_role("button", name="Lọc").tap()
        expect(page).to_have_url(re.compile(rf"product={world.product_a}"))
        expect(cards).to_have_count(1)
        expect(cards.first).to_contain_text("Hộp trà bị bóc tem")

        # The report on a forged code: its code, contact and photo reach the inspector.
        page.goto("/inspect/reports")
        cards.nth(0).get_by_role("link").first.tap()
        expect(page).to_have_url(re.compile(rf"/inspect/reports/{fake['id']}$"))
        facts = page.locator("dl.facts")
        expect(facts).to_contain_text("lan.nguyen@example.com")
        expect(facts).to_contain_text("Chợ Hạ Long, sạp 12")
        expect(facts).to_contain_text(forge(code))
        photo = page.locator("img.report-photo")
        expect(photo).to_be_visible()
        assert page.evaluate("img => img.complete && img.naturalWidth > 0", photo.element_handle())
        phone.assert_no_sideways_scroll("report")
        shot(page, "02-report")

        page.locator("#f-status").select_option(label="Đang xử lý")
        page.locator("#f-assignee_id").select_option(label="inspector@example.vn")
        page.locator("#f-note").fill("Đã gọi cho người mua; sẽ đến sạp 12 sáng mai.")
        page.get_by_role("button", name="Lưu", exact=True).tap()
        expect(page.get_by_role("status").first).to_have_text("Đã lưu.")
        expect(page.locator("h1 .badge")).to_have_text("Đang xử lý")
        history = page.locator("ol.report-history")
        expect(history).to_contain_text("Đã gọi cho người mua; sẽ đến sạp 12 sáng mai.")
        expect(history).to_contain_text("inspector@example.vn")
        shot(page, "03-worked")

        page.locator("#f-batch_id").fill(str(world.batch_a))
        page.get_by_role("button", name="Mở hồ sơ").tap()
        expect(page).to_have_url(re.compile(r"/inspect/cases/\d+$"))
        case_id = int(page.url.rsplit("/", 1)[1])
        expect(page.get_by_role("status").first).to_have_text(f"Đã mở hồ sơ số {case_id}.")
        with app.app_context():
            assert get_storage().get("reports", fake["id"])["case_id"] == case_id
        page.goto(f"/inspect/reports/{fake['id']}")
        expect(page.locator("dl.facts")).to_contain_text(f"Hồ sơ số {case_id}")
        assert_clean(phone, live_server)
    finally:
        context.close()

    # The producer: its product's report, never the contact, never the other report.
    context = phone_context(browser, live_server)
    phone = Phone(context.new_page(), live_server)
    page = phone.page
    try:
        sign_in(page, "producer_a")
        page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Báo cáo", exact=True).tap()
        expect(page).to_have_url(re.compile(r"/portal/reports$"))
        cards = page.locator("main ul.reports > li.card")
        expect(cards).to_have_count(1)
        expect(cards.first).to_contain_text("Hộp trà bị bóc tem rồi dán lại")
        expect(cards.first).to_contain_text("Cửa hàng đặc sản Bãi Cháy")
        expect(page.locator("main")).not_to_contain_text("0912 345 678")
        expect(page.locator("main")).not_to_contain_text("Quét mã ra trang báo tem giả")
        phone.assert_no_sideways_scroll("producer reports")
        shot(page, "04-producer")
        assert_clean(phone, live_server)
    finally:
        context.close()
    assert genuine["serial"] == serial
