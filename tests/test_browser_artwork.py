"""A producer on a phone uploads its logo and its 4-star OCOP mark, sees them on its page, and gets a clear
message for a file that is no image; the office downloads the import template. Real Chromium at 360x740,
screenshots in test-artifacts/phone-artwork-*.png for a human to look at."""

from __future__ import annotations

import re
from pathlib import Path

from stamp_service.context import get_storage
from stamp_service.registry import label_marks
from test_browser import (  # noqa: F401 - live_server, chromium_executable, browser and phone are fixtures
    Phone, browser, chromium_executable, live_server, phone, sign_in,
)
from test_label_artwork import jpeg_logo, png_mark

try:
    from playwright.sync_api import expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass


def test_producer_uploads_its_logo_and_mark_on_a_phone(phone: Phone, live_server: str, app, tmp_path: Path) -> None:
    world = app.world
    page = phone.page
    (tmp_path / "logo.jpg").write_bytes(jpeg_logo())
    (tmp_path / "dau-4-sao.png").write_bytes(png_mark())
    (tmp_path / "khong-phai-anh.png").write_bytes(b"GIF89a this is not an image")
    sign_in(page, "producer_a")
    page.goto(f"/portal/producers/{world.producer_a}")
    section = page.locator("#artwork")
    expect(section.get_by_role("heading", name="Hình in trên nhãn tem")).to_be_visible()
    phone.assert_no_sideways_scroll("producer page")

    page.set_input_files("#f-logo", str(tmp_path / "logo.jpg"))
    section.locator("form", has=page.locator("#f-logo")).get_by_role("button", name="Tải lên").tap()
    expect(page.get_by_role("status").first).to_have_text("Đã lưu logo.")
    expect(section.get_by_role("img", name="Logo")).to_be_visible()

    page.locator("#f-stars").select_option(label="Dấu 4 sao")
    page.set_input_files("#f-mark", str(tmp_path / "dau-4-sao.png"))
    section.locator("form", has=page.locator("#f-mark")).get_by_role("button", name="Tải lên").tap()
    expect(page.get_by_role("status").first).to_have_text("Đã lưu dấu OCOP 4 sao.")
    mark = section.get_by_role("img", name="Dấu 4 sao")
    expect(mark).to_be_visible()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", mark.element_handle())
    phone.assert_no_sideways_scroll("producer page with artwork")
    phone.shot("artwork-01-saved")

    # A file that is no image: a clear message, nothing replaced.
    page.locator("#f-stars").select_option(label="Dấu 5 sao")
    page.set_input_files("#f-mark", str(tmp_path / "khong-phai-anh.png"))
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        section.locator("form", has=page.locator("#f-mark")).get_by_role("button", name="Tải lên").tap()
    assert posted.value.status == 400
    expect(page.locator("#artwork .flash.error")).to_have_text("Không đọc được ảnh (chỉ nhận JPEG, PNG, WebP).")
    phone.assert_no_sideways_scroll("refused upload")
    phone.shot("artwork-02-refused")
    with app.app_context():
        assert set(label_marks.marks(get_storage(), world.producer_a)) == {4}


def test_office_downloads_the_import_template_on_a_phone(browser, live_server: str) -> None:
    from test_browser import PHONE, TIMEOUT_MS

    context = browser.new_context(base_url=live_server, accept_downloads=True, **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        phone = Phone(context.new_page(), live_server)
        page = phone.page
        sign_in(page, "admin")
        page.goto("/portal/import")
        expect(page.get_by_role("heading", name="Tải tệp mẫu")).to_be_visible()
        with page.expect_download() as download:
            page.get_by_role("link", name=re.compile("Tải tệp mẫu: Sản phẩm")).tap()
        data = Path(download.value.path()).read_bytes()
        assert download.value.suggested_filename == "mau-nhap-san-pham.csv"
        assert data.startswith(b"\xef\xbb\xbf") and "Tên sản phẩm".encode() in data
        phone.assert_no_sideways_scroll("import page")
        phone.shot("import-01-page")
    finally:
        context.close()
