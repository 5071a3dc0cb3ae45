"""A producer imports a batch's stages from a file on a phone (360x740, real Chromium): downloads the template,
uploads a file with mistakes and sees each one beside the upload (line and column), then a good file.

Reuses test_browser.py's live server, Chromium discovery (skip locally without it, fail in CI) and phone settings.
Screenshots go to test-artifacts/stage-import-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path

from stamp_service.context import get_storage
from test_browser import (  # noqa: F401 - live_server, browser and chromium_executable are fixtures used below
    ARTIFACTS, Phone, browser, chromium_executable, live_server, phone, sign_in,
)

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass


def shot(page: Page, name: str) -> None:
    """A full-page screenshot into test-artifacts/stage-import-<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"stage-import-{name}.png"), full_page=True)


def stored(app) -> list[dict]:
    with app.app_context():
        return get_storage().find("batch_events", order_by="id")


def upload(page: Page, path: Path) -> int:
    """Choose the file and tap the import button; the HTTP status of the POST."""
    page.locator("#f-file").set_input_files(str(path))
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("main form").get_by_role("button", name="Nhập công đoạn").tap()
    page.wait_for_load_state()
    return answer.value.status


def test_producer_imports_stages_on_a_phone_and_sees_every_error_beside_the_upload(
        phone: Phone, live_server: str, app, tmp_path: Path) -> None:  # noqa: F811
    page, world = phone.page, app.world
    sign_in(page, "producer_a")
    page.goto(f"/portal/batches/{world.batch_a}")
    page.get_by_role("link", name="Nhập công đoạn từ tệp CSV/Excel").tap()
    expect(page.locator("h1")).to_have_text("Nhập công đoạn sản xuất từ tệp")
    phone.assert_no_sideways_scroll("stage import page")
    shot(page, "empty")

    # The template: UTF-8 with a BOM, Vietnamese headers.
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải tệp mẫu").tap()
    template = Path(download.value.path()).read_bytes()
    assert template.startswith(b"\xef\xbb\xbf") and template.decode("utf-8-sig").startswith("Giai đoạn,Thời gian,Mã xã")
    width = template.decode("utf-8-sig").strip().count(",") + 1

    def row(*cells: str) -> bytes:
        return (",".join([*cells, *[""] * (width - len(cells))]) + "\r\n").encode()

    # A file with mistakes: every one is listed under the file field, with its line and column; nothing stored.
    bad = tmp_path / "giai-doan-loi.csv"
    bad.write_bytes(template + row("Thu hoạch", "20/11/2026 07:30", "06978") + row("Sấy", "21/11/2026 08:00", "99999")
                    + row("Đóng gói", "2026-11-22T09:15:00", "06978"))
    assert upload(page, bad) == 400
    errors = page.locator("#import-errors")
    expect(errors).to_be_visible()
    expect(errors).to_contain_text("Không nhập được")
    lines = errors.locator("tbody tr")
    expect(lines).to_have_count(3)
    expect(lines.nth(0)).to_contain_text("3")
    expect(lines.nth(0)).to_contain_text("Giai đoạn")
    expect(lines.nth(1)).to_contain_text("Mã xã")
    expect(lines.nth(2)).to_contain_text("4")
    expect(lines.nth(2)).to_contain_text("Thời gian")
    # beside the upload: between the file field and the button, and on the first screen
    file_box, errors_box = page.locator("#f-file").bounding_box(), errors.bounding_box()
    button_box = page.locator("main form").get_by_role("button", name="Nhập công đoạn").bounding_box()
    assert file_box["y"] < errors_box["y"] < button_box["y"] and errors_box["y"] < 740
    expect(page.locator("#f-file")).to_have_attribute("aria-describedby", "import-errors")
    phone.assert_no_sideways_scroll("stage import with errors")
    shot(page, "errors")
    assert stored(app) == []

    # Corrected: all three stages recorded, back on the batch page.
    good = tmp_path / "giai-doan.csv"
    good.write_bytes(template + row("Thu hoạch", "20/11/2026 07:30", "06978", "", "Hái búp", "Búp chè tươi")
                     + row("Chế biến", "21/11/2026 08:00", "06978") + row("Đóng gói", "22/11/2026 09:15", "06978"))
    assert upload(page, good) == 302
    expect(page).to_have_url(re.compile(rf"/portal/batches/{world.batch_a}#stages$"))
    expect(page.locator(".flash.success")).to_contain_text("Đã ghi 3 công đoạn từ tệp.")
    expect(page.locator("ol.stages li")).to_have_count(3)
    expect(page.locator("ol.stages li").first).to_contain_text("Búp chè tươi")
    phone.assert_no_sideways_scroll("batch after import")
    shot(page, "done")
    assert [r["source"] for r in stored(app)] == ["csv"] * 3
    assert not phone.console_errors, phone.console_errors
