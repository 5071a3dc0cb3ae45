"""An English phone in a real browser: the shopper's page follows the browser's language, counts agree with their
number, the language switch wins over the browser, and the place picker's communes (filled in by places.js)
come in the page's language.

Reuses test_browser.py's live waitress server, chromium discovery, 360x740 phone settings and hermetic host
rules. Full-page screenshots go to test-artifacts/phone-lang-*.png for a human to look at.
"""

from __future__ import annotations

import re
from typing import Any

from conftest import PASSWORD
from stamp_service.context import get_storage
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from test_browser import (  # noqa: F401 - live_server and chromium_executable are fixtures used below
    PHONE, TIMEOUT_MS, Phone, browser, chromium_executable, live_server,
)

try:
    from playwright.sync_api import expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass


def _english_phone(browser: Any, live_server: str) -> Any:
    context = browser.new_context(base_url=live_server, **{**PHONE, "locale": "en-US"})
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _stamp_path(app) -> str:
    with app.app_context():
        run = issuing.get_run(get_storage(), app.world.run_a)
        code = next(iter(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"])))[1]
    return "/" + code.split("/", 3)[3]


def test_an_english_phone_reads_english_until_it_chooses_vietnamese(browser, live_server, app) -> None:
    stamp = _stamp_path(app)
    first = _english_phone(browser, live_server)
    try:
        phone = Phone(first.new_page(), live_server)
        phone.page.goto(stamp)
        expect(phone.page.locator("html")).to_have_attribute("lang", "en")
        expect(phone.page.locator("p.scans")).to_have_text(re.compile(r"^Scanned 1 time · first on \d{4}-\d\d-\d\d "))
        phone.shot("lang-01-shopper-en")
    finally:
        first.close()
    # A shopper on another network scans it too (a reload on the same phone or wifi is a view, not a scan).
    assert app.test_client().get(stamp, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200
    second = _english_phone(browser, live_server)
    try:
        phone = Phone(second.new_page(), live_server)
        page = phone.page
        page.goto(stamp)
        expect(page.locator("p.scans")).to_have_text(re.compile(r"^Scanned 2 times · first on \d{4}-\d\d-\d\d "))
        # The switch (a cookie) wins over the browser's English.
        page.get_by_role("navigation", name="Language").get_by_role("link", name="VI").tap()
        expect(page.locator("html")).to_have_attribute("lang", "vi")
        expect(page.locator("p.scans")).to_have_text(re.compile(r"^Đã quét \d lần · lần đầu \d\d/\d\d/\d{4} "))
        phone.assert_no_sideways_scroll("shopper page in Vietnamese")
        phone.shot("lang-02-shopper-vi")
    finally:
        second.close()


def test_the_place_picker_lists_communes_in_the_pages_language(browser, live_server, app) -> None:
    context = _english_phone(browser, live_server)
    try:
        phone = Phone(context.new_page(), live_server)
        page = phone.page
        page.goto("/login")
        page.locator("#f-email").fill("producer_a@example.vn")
        page.locator("#f-password").fill(PASSWORD)
        page.locator("main form").get_by_role("button", name="Sign in").tap()
        page.wait_for_url(re.compile(r"/portal/?$"))
        page.goto("/portal/batches/new")
        expect(page.locator("#f-province_code option:checked")).to_have_text("Quang Ninh")
        expect(page.locator("#f-origin_commune_code option:checked")).to_have_text("Ba Che (06978)")
        page.locator("#f-province_code").select_option("01")  # places.js fetches Hà Nội's communes
        expect(page.locator("#f-origin_commune_code option").nth(1)).to_have_text(re.compile(r"^[A-Za-z' -]+ \(\d{5}\)$"))
        phone.assert_no_sideways_scroll("new batch form in English")
        phone.shot("lang-03-batch-form-en")
    finally:
        context.close()
