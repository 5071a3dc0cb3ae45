"""Passwords on a phone, in a real browser: the office makes a reset link for a producer who forgot their
password, the producer opens it on their own phone, gets the errors beside the fields, sets a new password and
signs in; then changes it again from the menu. Screenshots go to test-artifacts/passwords-*.png."""

from __future__ import annotations

import re

from conftest import PASSWORD
from test_browser import (  # noqa: F401 - live_server and chromium_executable are fixtures used below
    ARTIFACTS, Phone, browser, chromium_executable, live_server, sign_in, screenshots,
)
from test_browser_inspect import assert_clean, phone_context

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass

NEW = "hoa vàng Ba Chẽ 2026"
NEWER = "trà ngon mỗi sáng 2027"


shot = screenshots("passwords")


def test_the_office_resets_a_producers_password_and_the_producer_changes_it_on_a_phone(
        browser: Browser, live_server: str, app) -> None:
    world = app.world
    office = phone_context(browser, live_server)
    phone = Phone(office.new_page(), live_server)
    page = phone.page
    try:
        sign_in(page, "admin")
        page.goto(f"/portal/users/{world.users['producer_a']}/edit")
        page.get_by_role("button", name="Tạo liên kết đặt lại mật khẩu").tap()
        expect(page.get_by_role("heading", name="Liên kết đặt lại mật khẩu", level=1)).to_be_visible()
        expect(page.locator("main")).to_contain_text("producer_a@example.vn")
        url = page.locator("#reset-url").inner_text()
        assert re.fullmatch(r"https?://[^ ]+/password/reset/[A-Za-z0-9_-]{40,}", url), url
        phone.assert_no_sideways_scroll("reset link")
        shot(page, "01-link")
        assert_clean(phone, live_server)
    finally:
        office.close()

    producer = phone_context(browser, live_server)
    phone = Phone(producer.new_page(), live_server)
    page = phone.page
    try:
        page.goto("/" + url.split("/", 3)[3])
        expect(page.get_by_role("heading", name="Đặt lại mật khẩu", level=1)).to_be_visible()
        page.locator("#f-new_password").fill(NEW)
        page.locator("#f-new_password_repeat").fill(NEW + "!")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Đặt mật khẩu mới").tap()
        assert answer.value.status == 400
        error = page.locator(".field.has-error:has(#f-new_password_repeat) > #e-new_password_repeat")
        expect(error).to_have_text("Hai lần nhập mật khẩu mới không giống nhau.")
        expect(page.locator("#f-new_password")).to_have_value("")  # passwords are never sent back
        phone.assert_no_sideways_scroll("reset form with an error")
        shot(page, "02-reset-error")
        page.locator("#f-new_password").fill(NEW)
        page.locator("#f-new_password_repeat").fill(NEW)
        page.get_by_role("button", name="Đặt mật khẩu mới").tap()
        expect(page).to_have_url(re.compile(r"/login$"))
        expect(page.get_by_role("status").first).to_have_text("Đã đặt mật khẩu mới. Vui lòng đăng nhập.")
        shot(page, "03-reset-done")

        page.locator("#f-email").fill("producer_a@example.vn")
        page.locator("#f-password").fill(NEW)
        page.locator("main form").get_by_role("button", name="Đăng nhập").tap()
        expect(page).to_have_url(re.compile(r"/portal/?$"))

        # Later, from the menu: change it again (the current password is asked first).
        page.locator("header .who").get_by_role("link", name="Đổi mật khẩu").tap()
        expect(page).to_have_url(re.compile(r"/portal/password$"))
        page.locator("#f-current_password").fill(PASSWORD)  # the old one no longer counts
        page.locator("#f-new_password").fill(NEWER)
        page.locator("#f-new_password_repeat").fill(NEWER)
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Đổi mật khẩu").tap()
        assert answer.value.status == 400
        expect(page.locator(".field.has-error:has(#f-current_password) > #e-current_password")).to_have_text(
            "Mật khẩu hiện tại không đúng.")
        phone.assert_no_sideways_scroll("change form with an error")
        shot(page, "04-change-error")
        page.locator("#f-current_password").fill(NEW)
        page.locator("#f-new_password").fill(NEWER)
        page.locator("#f-new_password_repeat").fill(NEWER)
        page.get_by_role("button", name="Đổi mật khẩu").tap()
        expect(page).to_have_url(re.compile(r"/portal/?$"))
        expect(page.get_by_role("status").first).to_have_text(
            "Đã đổi mật khẩu. Các phiên đăng nhập khác đã bị đăng xuất.")
        shot(page, "05-changed")
        # The 400 answers above were the errors the test asked for; nothing else failed.
        phone.http_errors = [e for e in phone.http_errors if not e.startswith("400 POST")]
        phone.load_errors = [e for e in phone.load_errors if "status of 400" not in e[1]]
        assert_clean(phone, live_server)
    finally:
        producer.close()
