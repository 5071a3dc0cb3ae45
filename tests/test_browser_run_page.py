"""The run page on a phone, in a real browser: calibration folded, a mistyped printed serial refused beside its
field with what was typed kept, the preview small, the test page posted (no token in any URL), and no activate
button on a run issued active. Screenshots: test-artifacts/run-*.png."""

from __future__ import annotations

import re

from stamp_service.stamps.serials import format_serial
from test_browser import (  # noqa: F401 - live_server and chromium_executable are fixtures used below
    ARTIFACTS, Phone, browser, chromium_executable, live_server, sign_in, screenshots,
)
from test_browser_inspect import assert_clean, phone_context
from test_run_page import PREVIEW_LIMIT, issue_inactive

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass


shot = screenshots("run")


def test_a_producer_uses_the_run_page_on_a_phone(browser: Browser, live_server: str, app) -> None:
    world = app.world
    run = issue_inactive(app, world, 24)
    first = format_serial(run["first_serial"])
    typo = first[:-1] + str((int(first[-1]) + 1) % 10)
    tenth = format_serial(run["first_serial"] + 9)
    context = phone_context(browser, live_server)
    phone = Phone(context.new_page(), live_server)
    page = phone.page
    try:
        sign_in(page, "producer_a")
        page.goto(f"/portal/runs/{run['id']}")
        calibration = page.locator("details#calibration")
        expect(calibration).not_to_have_attribute("open", "")
        expect(page.locator("#f-scale_x")).to_be_hidden()  # folded away until needed
        phone.assert_no_sideways_scroll("run page")
        shot(page, "01-page")

        # A mistyped check digit in the activate form: the error under the field, the typing kept.
        states = page.locator("#state-form")
        states.locator("#f-from").fill(typo)
        states.locator("#f-to").fill(tenth)
        states.locator("#f-note").fill("Đã dán lên hộp, kệ 2")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            states.get_by_role("button", name="Kích hoạt", exact=True).tap()
        assert answer.value.status == 400
        error = page.locator(".field.has-error:has(#f-from) > #e-from")
        expect(error).to_contain_text("Số sê-ri không đúng: hãy nhập như in trên tem")
        expect(page.locator("#f-from")).to_have_value(typo)
        expect(page.locator("#f-to")).to_have_value(tenth)
        expect(page.locator("#f-note")).to_have_value("Đã dán lên hộp, kệ 2")
        assert page.url.endswith("#states")
        phone.assert_no_sideways_scroll("state error")
        page.locator("#states").scroll_into_view_if_needed()
        shot(page, "02-state-error")
        page.locator("#f-from").fill(first)
        page.locator("#state-form").get_by_role("button", name="Kích hoạt", exact=True).tap()
        expect(page.get_by_role("status").first).to_have_text("Đã cập nhật trạng thái tem.")

        # Calibration with a decimal comma, then the preview: small enough for a phone.
        calibration.locator("summary").tap()
        page.locator("#f-scale_x").fill("0,98")
        with page.expect_response(lambda r: "/preview.png" in r.url) as picture:
            page.get_by_role("button", name="Xem trước").tap()
        assert picture.value.status == 200 and len(picture.value.body()) < PREVIEW_LIMIT, len(picture.value.body())
        expect(page.locator("#f-scale_x")).to_have_value("0,98")
        page.wait_for_function("() => { const i = document.querySelector('img.preview'); "
                               "return i && i.complete && i.naturalWidth > 0; }")
        shot(page, "03-preview")

        # The test page: posted with the form, opened in a new tab, no token in any address.
        pdf_answers: list[int] = []
        context.on("response", lambda r: pdf_answers.append(r.status) if r.url.endswith("/test-page.pdf") else None)
        with context.expect_page() as opened:
            page.get_by_role("button", name="Trang căn chỉnh (in thử trên giấy thường)").tap()
        tab = opened.value
        tab.wait_for_load_state()
        assert re.search(rf"/portal/runs/{run['id']}/test-page.pdf$", tab.url), tab.url
        assert not [u for u in phone.requests if "csrf_token" in u]
        expect(tab.locator("body")).to_be_attached()  # the viewer is up: the PDF's answer has arrived
        assert pdf_answers and set(pdf_answers) == {200}, pdf_answers  # the viewer may fetch it again
        tab.close()
        # Chromium shows the PDF with its own built-in viewer, loaded from chrome-extension://: not the network.
        # Closing the tab may cut the PDF's body short on a loaded machine: that abort is ours, its answer was 200.
        phone.requests = [u for u in phone.requests if not u.startswith("chrome-extension://")]
        phone.failed = [u for u in phone.failed if not u.startswith("chrome-extension://")
                        and not (u.split(": ")[0].endswith("/test-page.pdf") and u.endswith("net::ERR_ABORTED"))]

        # A run issued active has nothing to activate: only voiding is offered.
        page.goto(f"/portal/runs/{world.run_a}")
        expect(page.get_by_role("heading", name="Hủy tem", level=2)).to_be_visible()
        expect(page.locator("#state-form button[value=activate]")).to_have_count(0)
        expect(page.locator("#state-form button[value=void]")).to_be_visible()
        phone.assert_no_sideways_scroll("active run")
        shot(page, "04-active-run")
        phone.http_errors = [e for e in phone.http_errors if not e.startswith("400 POST")]
        phone.load_errors = [e for e in phone.load_errors if "status of 400" not in e[1]]
        assert_clean(phone, live_server)
    finally:
        context.close()
