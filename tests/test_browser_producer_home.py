"""The producer's home page on a phone, in a real browser: its stamps, scans per Vietnam day, doubts and reports,
fitting 360 px. Screenshot: test-artifacts/producer-home.png."""

from __future__ import annotations

import datetime as dt

from stamp_service.context import get_storage
from stamp_service.stamps import issuing
from test_browser import (  # noqa: F401 - live_server and chromium_executable are fixtures used below
    ARTIFACTS, Phone, browser, chromium_executable, live_server, sign_in,
)
from test_browser_inspect import assert_clean, phone_context
from test_producer_home import scan

try:
    from playwright.sync_api import Browser, expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass


def test_a_producer_sees_its_own_stamps_on_its_home_page(browser: Browser, live_server: str, app) -> None:
    world = app.world
    now = dt.datetime.now(dt.timezone.utc)
    with app.app_context():
        storage = get_storage()
        run = issuing.get_run(storage, world.run_a)
        issuing.set_state(storage, run, "void", run["first_serial"], run["first_serial"] + 1)
        for days_ago, count in ((0, 3), (1, 5), (4, 2)):
            for _ in range(count):
                scan(storage, (now - dt.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ"), world.batch_a)
        storage.insert("reports", {"what": "Tem lạ", "status": "new", "product_id": world.product_a})
    context = phone_context(browser, live_server)
    phone = Phone(context.new_page(), live_server)
    page = phone.page
    try:
        sign_in(page, "producer_a")
        stamps = page.locator("#my-stamps")
        expect(stamps.get_by_role("heading", name="Tem của tôi")).to_be_visible()
        expect(stamps.locator("ul.counts")).to_contain_text("20 tem đã phát hành để in")
        expect(stamps.locator("ul.counts")).to_contain_text("18 tem đang kích hoạt")
        expect(page.locator("#my-scans")).to_contain_text("Tổng cộng 10 lượt quét.")
        expect(page.locator("#my-scans svg")).to_be_visible()
        expect(page.locator("#my-doubts")).to_contain_text("1 báo cáo của người mua đang chờ xử lý")
        phone.assert_no_sideways_scroll("producer home")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "producer-home.png"), full_page=True)
        page.locator("#my-doubts").get_by_role("link", name="báo cáo của người mua đang chờ xử lý").tap()
        expect(page.locator("main ul.reports > li.card")).to_have_count(1)
        assert_clean(phone, live_server)
    finally:
        context.close()
