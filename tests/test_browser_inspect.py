"""An inspector in a shop, on a phone, in a real browser: sign in, open the inspection page, check a shelf photo
(two genuine stamps and one forged), open a stamp's history, flag it as confirmed counterfeit, see the public
page change for an anonymous shopper, and export the visit's record as PDF and CSV.

Reuses test_browser.py's live waitress server, chromium discovery (skip locally without it, fail in CI), phone
settings (360x740, mobile, touch, vi-VN), hermetic host-resolver rules, Phone helper and sideways-scroll check.
Full-page screenshots go to test-artifacts/inspect-*.png for a human to look at.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest

from stamp_service.context import get_storage
from stamp_service.stamps.serials import format_serial
from test_browser import (  # noqa: F401 - live_server and chromium_executable are fixtures used below
    ARTIFACTS, CHROMIUM_ARGS, PHONE, TIMEOUT_MS, Phone, browser, chromium_executable, live_server, sign_in, screenshots,
)
from test_inspection import CONFIRMED_REASON, SHOP, forge, pdf_text, shelf_jpeg, stamp_codes, url_path

try:
    from playwright.sync_api import Browser, BrowserContext, Page, expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass

CASE_TITLE = "Tem sao chép dán trên hộp trà, quầy số 3"


def phone_context(browser: Browser, base_url: str) -> BrowserContext:
    """A fresh 360x740 Vietnamese touch phone with its own cookies."""
    context = browser.new_context(base_url=base_url, accept_downloads=True, **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    return context


shot = screenshots("inspect")


def card_with(page: Page, serial: int):
    """The result card holding the link to this stamp's history."""
    return page.locator("main ol.cards > li.card").filter(has=page.locator(f"a[href='/inspect/stamps/{serial}']"))


def assert_clean(phone: Phone, base_url: str, downloads: tuple[str, ...] = ()) -> None:
    """Only our server was asked for anything; nothing failed; nothing was logged as an error.

    A link to an attachment turns into a download, which Chromium reports as an aborted navigation: those
    (the paths in downloads, nothing else) are not failures.
    """
    ours = urlsplit(base_url).netloc
    elsewhere = [u for u in phone.requests + [u for u, _ in phone.load_errors] if urlsplit(u).netloc != ours]
    assert not elsewhere, f"requests to other hosts: {elsewhere}"
    failed = [f for f in phone.failed if f not in {f"{base_url}{path}: net::ERR_ABORTED" for path in downloads}]
    assert not failed, f"failed requests: {failed}"
    assert not phone.http_errors, f"error answers: {phone.http_errors}"
    assert not phone.load_errors, f"resources that failed to load: {phone.load_errors}"
    assert not phone.console_errors, f"console errors: {phone.console_errors}"


def test_inspector_checks_a_shelf_and_flags_a_stamp_on_a_phone(browser: Browser, live_server: str, app,
                                                               tmp_path: Path) -> None:
    world = app.world
    (serial_1, text_1), (serial_2, text_2), (_, text_3) = stamp_codes(app, world.run_a, 3)
    shelf_photo = tmp_path / "ke-hang.jpg"
    shelf_photo.write_bytes(shelf_jpeg([text_1, forge(text_3), text_2]))
    with app.app_context():
        scans_before = get_storage().count("scans")

    known_bugs: list[str] = []  # app bugs seen on the way: the flow goes on, the test xfails at the end
    context = phone_context(browser, live_server)
    phone = Phone(context.new_page(), live_server)
    page = phone.page
    try:
        # Sign in: an inspector lands on the inspection page.
        sign_in(page, "inspector")

        # The inspection page: the visit in progress, the photo form.
        expect(page).to_have_url(re.compile(r"/inspect/$"))
        expect(page.get_by_role("heading", name="Kiểm tra tem tại cửa hàng", level=1)).to_be_visible()
        expect(page.locator("main .flash.success")).to_contain_text(f"Đang kiểm tra tại: {SHOP}")
        expect(page.locator("#f-photo")).to_be_attached()
        # Without a QR-reading camera API (headless chromium here, Safari, Firefox) the page says so and offers
        # the photo instead; the camera button is then left hidden by inspect.js (checked at the end).
        camera_api = page.evaluate("() => 'BarcodeDetector' in window && !!navigator.mediaDevices")
        if not camera_api:
            expect(page.locator("#camera-unsupported")).to_be_visible()
        if not camera_api and page.locator("#camera-start").is_visible():
            known_bugs.append("BUG: 'Bật camera' shows on browsers without BarcodeDetector and does nothing when "
                              "tapped: portal.css 'button { display: inline-block }' overrides the hidden attribute "
                              "(no '[hidden] { display: none }' rule)")
        phone.assert_no_sideways_scroll("inspection page")
        shot(page, "01-home")

        # A shelf photo with two genuine stamps and one forged.
        page.set_input_files("#f-photo", str(shelf_photo))
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.get_by_role("button", name="Kiểm tra ảnh").tap()
        assert posted.value.status == 200, posted.value.status
        expect(page.get_by_role("heading", name="Kết quả kiểm tra", level=1)).to_be_visible()
        expect(page.locator("main")).to_contain_text(f"Đã kiểm tra 3 tem · đã ghi vào chuyến kiểm tra tại {SHOP}")
        cards = page.locator("main ol.cards > li.card")
        expect(cards).to_have_count(3)
        expect(cards.locator(".badge.valid", has_text="Chính hãng")).to_have_count(2)
        expect(cards.locator(".badge.revoked", has_text="Tem giả: chữ ký không khớp")).to_have_count(1)
        for serial in (serial_1, serial_2):
            expect(card_with(page, serial).locator(".badge")).to_have_text("✓ Chính hãng")
            expect(card_with(page, serial)).to_contain_text("Trà hoa vàng")
        # Most serious first, numbered, with a count per verdict above.
        expect(cards.first.locator(".badge")).to_have_text("✗ Tem giả: chữ ký không khớp")
        expect(cards.locator(".number")).to_have_text(["1", "2", "3"])
        tally = page.get_by_role("list", name="Tổng hợp theo kết quả").locator("li")
        expect(tally).to_have_text(["✗ Tem giả: chữ ký không khớp 1", "✓ Chính hãng 2"])
        # The photo, marked by number where each code is, loaded and as wide as the phone allows.
        marked = page.get_by_role("img", name="Ảnh kệ hàng, đánh số từng tem đã đọc")
        expect(marked).to_be_visible()
        assert page.evaluate("img => img.complete && img.naturalWidth > 0", marked.element_handle())
        box = marked.bounding_box()
        assert box and box["width"] <= 360 and box["height"] > 100, box
        phone.assert_no_sideways_scroll("results")
        shot(page, "02-results")

        # One genuine stamp's full history.
        card_with(page, serial_1).get_by_role("link", name=format_serial(serial_1), exact=True).tap()
        expect(page).to_have_url(re.compile(rf"/inspect/stamps/{serial_1}$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Số sê-ri {format_serial(serial_1)}")
        expect(page.locator("dl.facts")).to_contain_text("HTX Trà hoa vàng Ba Chẽ")
        expect(page.locator("dl.facts")).to_contain_text("Đã kích hoạt")
        phone.assert_no_sideways_scroll("stamp history")
        shot(page, "03-stamp")

        # Flag it: confirmed counterfeit.
        flag = page.locator("form", has=page.locator("input[name=kind][value=stamp]"))
        flag.locator("#f-title").fill(CASE_TITLE)
        flag.locator("#f-status").select_option(label="Đã xác nhận hàng giả")
        flag.locator("#f-notes").fill("Mã QR in mờ, dán đè lên tem cũ.")
        flag.get_by_role("button", name="Mở hồ sơ").tap()
        expect(page).to_have_url(re.compile(r"/inspect/cases/\d+$"))
        case_id = int(page.url.rsplit("/", 1)[1])
        expect(page.get_by_role("heading", level=1)).to_have_text(f"#{case_id} {CASE_TITLE}")
        expect(page.get_by_role("status").first).to_have_text(f"Đã mở hồ sơ số {case_id}.")
        expect(page.locator("dl.facts dd").first).to_have_text("Đã xác nhận hàng giả")
        expect(page.locator("main .flash.warning")).to_contain_text(
            "trang xác thực công khai báo tem này là nghi sao chép")
        phone.assert_no_sideways_scroll("case")
        shot(page, "04-case")

        # A shopper (a new, anonymous phone) scanning that stamp now sees the warning.
        shopper_context = phone_context(browser, live_server)
        try:
            shopper = Phone(shopper_context.new_page(), live_server)
            answer = shopper.page.goto(url_path(text_1))
            assert answer is not None and answer.status == 200
            banner = shopper.page.locator("main > section.banner")
            expect(banner.locator("h1")).to_have_text("Nghi ngờ tem sao chép")
            expect(banner).to_contain_text(CONFIRMED_REASON.format(case=case_id))
            expect(shopper.page.locator("form[action$='/report']")).to_be_visible()
            shopper.assert_no_sideways_scroll("public page of a flagged stamp")
            shot(shopper.page, "05-public-flagged")
            assert_clean(shopper, live_server)
        finally:
            shopper_context.close()

        # The stamp's history (the link on the case page) now shows that scan and the case.
        page.locator("dl.facts").get_by_role("link", name=format_serial(serial_1), exact=True).tap()
        expect(page).to_have_url(re.compile(rf"/inspect/stamps/{serial_1}$"))
        rows = page.locator("table.report tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Nghi ngờ tem sao chép")
        expect(rows.first.locator("td").nth(2)).to_have_text("Quét mã QR")
        expect(page.locator("main ul.cards li.card", has_text=CASE_TITLE)).to_contain_text("Đã xác nhận hàng giả")
        shot(page, "07-stamp-after")
        try:
            phone.assert_no_sideways_scroll("stamp history with a scan")
        except AssertionError as exc:  # reported at the end, after the rest of the visit is checked
            known_bugs.append(f"BUG: the scan-history table on /inspect/stamps/<serial> is wider than the phone "
                              f"once it has a row: {exc}".splitlines()[0])

        # Back as the inspector: the visit, and its record as PDF and CSV.
        page.get_by_role("navigation", name="Menu chính").get_by_role("link", name="Kiểm tra", exact=True).tap()
        page.get_by_role("link", name="Xem chuyến kiểm tra").tap()
        expect(page).to_have_url(re.compile(rf"/inspect/visits/{world.visit}$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(SHOP)
        expect(page.get_by_role("heading", name="3 tem đã kiểm tra")).to_be_visible()
        phone.assert_no_sideways_scroll("visit")
        shot(page, "06-visit")
        with page.expect_download() as pdf_download:
            page.get_by_role("link", name="Biên bản PDF").tap()
        pdf = Path(pdf_download.value.path()).read_bytes()
        assert pdf_download.value.suggested_filename == f"bien-ban-kiem-tra-{world.visit}.pdf"
        assert pdf.startswith(b"%PDF")
        record = re.sub(r"\s+", " ", pdf_text(pdf))
        for words in (SHOP, "Chính hãng", "Tem giả: chữ ký không khớp", format_serial(serial_1)):
            assert words in record, words
        with page.expect_download() as csv_download:
            page.get_by_role("link", name="Xuất CSV").tap()
        data = Path(csv_download.value.path()).read_bytes()
        assert csv_download.value.suggested_filename == f"bien-ban-kiem-tra-{world.visit}.csv"
        assert data.startswith(b"\xef\xbb\xbf")
        table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        assert table[0][:4] == ["Thời gian", "Mã", "Số sê-ri", "Kết quả"] and len(table) == 4
        assert sorted(row[3] for row in table[1:]) == ["Chính hãng", "Chính hãng", "Tem giả: chữ ký không khớp"]
    finally:
        context.close()

    with app.app_context():
        assert get_storage().count("scans") == scans_before + 1  # only the shopper's scan; the checks are not scans
    assert_clean(phone, live_server, downloads=(f"/inspect/visits/{world.visit}/record.pdf",
                                                f"/inspect/visits/{world.visit}/record.csv"))
    assert not known_bugs, known_bugs
