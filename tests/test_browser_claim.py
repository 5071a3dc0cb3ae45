"""A buyer claims a two-layer stamp on a phone, in a real browser: scan, scratch, type the 8 digits, see "first";
a second phone (without JavaScript) sees the stamp already claimed, and a wrong code is answered clearly.

Reuses test_browser.py's live waitress server, chromium discovery, 360x740 phone settings, hermetic host rules
and sideways-scroll check. Full-page screenshots go to /tmp/ocop-claim-*.png for a human to look at.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from stamp_service.context import get_storage
from stamp_service.verification import claims
from test_browser import (  # noqa: F401 - live_server and chromium_executable are fixtures used below
    PHONE, TIMEOUT_MS, Phone, browser, chromium_executable, live_server,
)
from test_browser_verify import PAGE_BUDGET, transfer_sizes
from test_claims import hidden_run, wrong

try:
    from playwright.sync_api import Browser, BrowserContext, Page, Response, expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass

SHOTS = Path(tempfile.gettempdir())
GREEN, AMBER = "rgb(11, 107, 58)", "rgb(138, 90, 0)"  # .ok and .caution in verify.css
VIETNAM = dt.timezone(dt.timedelta(hours=7))


def phone_context(browser: Browser, base_url: str, **options: Any) -> BrowserContext:
    """A fresh 360x740 Vietnamese phone (its own cookies, so its own device)."""
    context = browser.new_context(base_url=base_url, **PHONE, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"ocop-claim-{name}.png"), full_page=True)


def open_page(page: Page, path: str) -> Response:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    return response


def submit_code(page: Page, code: str, province: str | None = None, button: str = "Xác thực mã cào") -> Response:
    form = page.locator("form.claim")
    form.locator("#hidden_code").fill(code)
    if province:
        form.locator("#claim-tinh").select_option(label=province)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        form.get_by_role("button", name=button).tap()
    page.wait_for_load_state()
    return posted.value


def expect_claim_banner(page: Page, kind: str, title: str, colour: str) -> None:
    banner = page.locator(f"main > section.banner[data-claim='{kind}']")
    expect(banner).to_have_count(1)
    expect(banner.locator("h1")).to_have_text(title)
    expect(banner).to_have_css("background-color", colour)
    box = banner.bounding_box()
    assert box and box["y"] < PHONE["viewport"]["height"] / 3, f"the answer is not at the top: {box}"


def test_buyer_claims_then_another_phone_sees_it_claimed(browser: Browser, live_server: str, app) -> None:  # noqa: F811
    (serial, text, code), *_ = hidden_run(app, 3)
    stamp_path = urlsplit(text).path
    context = phone_context(browser, live_server)
    phone = Phone(context.new_page(), live_server)
    page = phone.page
    responses: list[Response] = []
    page.on("response", lambda r: responses.append(r))

    # 1. The scan: genuine, and a short form for the code under the foil, usable with one thumb.
    document = open_page(page, stamp_path)
    page.wait_for_load_state("load")
    expect(page.locator("main > section.banner")).to_have_attribute("data-verdict", "genuine")
    card = page.locator("section#claim")
    expect(card.locator("h2")).to_have_text("Nhập mã dưới lớp cào")
    field = card.locator("#hidden_code")
    expect(field).to_have_attribute("inputmode", "numeric")
    expect(field).to_have_attribute("autocomplete", "off")
    expect(card.get_by_label("Mã cào (8 chữ số)")).to_be_visible()
    assert field.bounding_box()["height"] >= 44 and card.get_by_role("button").bounding_box()["height"] >= 44
    expect(page.locator(".claimed")).to_have_count(0)
    phone.assert_no_sideways_scroll("stamp page with the claim form")
    sizes, _again = transfer_sizes(page, document, [r for r in responses if r != document])
    assert sum(sizes.values()) <= PAGE_BUDGET, f"the page with the claim form weighs {sum(sizes.values())}: {sizes}"
    shot(page, "1-stamp-page")

    # 2. The right code, as printed ("1234 5678"), and the province the buyer chooses to share.
    answer = submit_code(page, f"{code[:4]} {code[4:]}", "Quảng Ninh")
    assert answer.status == 200 and "no-store" in (answer.header_value("cache-control") or "")
    expect_claim_banner(page, "first", "Xác thực thành công: bạn là người đầu tiên nhập mã này", GREEN)
    expect(page.locator("main section.card h2")).to_have_text("Trà hoa vàng")
    phone.assert_no_sideways_scroll("first claim")
    shot(page, "2-first")
    with app.app_context():
        at = claims.claim_for(get_storage(), serial)["at"]
    when = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y")

    # 3. Back on the stamp: every later scan says a buyer verified it, and when.
    page.get_by_role("link", name="Quay lại trang kiểm tra tem").tap()
    expect(page).to_have_url(re.compile(re.escape(stamp_path) + "$"))
    expect(page.locator("section.card .claimed")).to_contain_text(
        f"Đã được người mua xác thực lúc {when} (Tỉnh Quảng Ninh)")
    shot(page, "3-stamp-after-claim")

    # 4. Another phone, without JavaScript: the note on the scan, then "already claimed" for the same code.
    plain = phone_context(browser, live_server, java_script_enabled=False)
    # Every browser here comes from 127.0.0.1, and a fresh browser on the network where the stamp was scanned
    # today joins that household: give this phone the signed cookie of one first seen elsewhere, another buyer.
    with app.app_context():
        from stamp_service.verification.identity import Device, DeviceCookies

        elsewhere = DeviceCookies(app.config["SECRET_KEY"]).value(Device("B" * 22, "n:" + "0" * 16, fresh=False))
    plain.add_cookies([{"name": "ocop_d", "value": elsewhere, "url": live_server}])
    try:
        other = Phone(plain.new_page(), live_server)
        open_page(other.page, stamp_path)
        expect(other.page.locator(".claimed")).to_contain_text(f"Đã được người mua xác thực lúc {when}")
        assert submit_code(other.page, code).status == 200
        expect_claim_banner(other.page, "already-claimed",
                            f"Mã này đã được xác thực lúc {when} (Tỉnh Quảng Ninh): nếu không phải bạn, nghi ngờ hàng giả",
                            AMBER)
        other.assert_no_sideways_scroll("already claimed")
        shot(other.page, "4-already-claimed")

        # 5. A wrong code: said plainly, with the form again to retry.
        open_page(other.page, stamp_path)
        assert submit_code(other.page, wrong(code)).status == 200
        expect_claim_banner(other.page, "wrong-code", "Mã cào không đúng", AMBER)
        expect(other.page.locator("form.claim #hidden_code")).to_be_visible()
        other.assert_no_sideways_scroll("wrong code")
        shot(other.page, "5-wrong-code")

        # 6. Not 8 digits: a typing slip, answered with the form again.
        answer = submit_code(other.page, "12 34")
        assert answer.status == 400
        expect(other.page.locator("main > section.banner")).to_contain_text("Mã cào gồm đúng 8 chữ số.")
        shot(other.page, "6-format")
        assert not other.failed and not other.console_errors, (other.failed, other.console_errors)
        requests = phone.requests + other.requests
    finally:
        plain.close()

    # 7. English one tap away, on the stamp and on the answer.
    open_page(page, stamp_path)
    page.get_by_role("navigation").get_by_role("link", name="EN", exact=True).tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".claimed")).to_contain_text("Verified by a buyer at")
    assert submit_code(page, code, button="Check the code").status == 200
    expect(page.locator("main > section.banner[data-claim='already-claimed'] h1")).to_contain_text(
        "You verified this code at")
    shot(page, "7-english-mine")
    context.close()

    # Only our own server was asked for anything; nothing failed and nothing was logged as an error.
    ours = urlsplit(live_server).netloc
    assert not [u for u in requests if urlsplit(u).netloc != ours]
    assert not phone.failed and not phone.load_errors and not phone.console_errors, (
        phone.failed, phone.load_errors, phone.console_errors)
    assert not phone.http_errors, phone.http_errors


def test_a_right_code_on_a_recalled_batch_does_not_look_like_good_news(browser: Browser, live_server: str, app,  # noqa: F811
                                                                      api) -> None:
    (_serial, text, code), (_s2, text2, code2), *_ = hidden_run(app, 2)
    api("admin")("POST", f"/api/v1/batches/{app.world.batch_a}/recall", json={"reason": "nhiễm khuẩn"})
    context = phone_context(browser, live_server)
    try:
        phone = Phone(context.new_page(), live_server)
        page = phone.page
        open_page(page, urlsplit(text).path)
        expect(page.locator("main > section.banner")).to_have_attribute("data-verdict", "recalled")
        assert submit_code(page, code).status == 200
        banners = page.locator("main > section.banner")
        expect(banners).to_have_count(2)
        expect(banners.nth(0)).to_have_attribute("data-verdict", "recalled")  # the problem first, in red
        expect(banners.nth(0).locator("h1")).to_have_text("Lô hàng đã bị thu hồi")
        expect(banners.nth(1)).to_have_attribute("data-claim", "first")
        expect(banners.nth(1)).to_have_css("background-color", "rgb(53, 84, 110)")  # .info, not the green of .ok
        expect(banners.nth(1)).to_contain_text("hãy đọc cảnh báo ở trên")
        phone.assert_no_sideways_scroll("claim on a recalled batch")
        shot(page, "8-recalled")

        # Five wrong codes lock the stamp for a day; the sixth try says so, with no form to keep guessing.
        open_page(page, urlsplit(text2).path)
        for _ in range(5):
            submit_code(page, wrong(code2))
        assert submit_code(page, code2).status == 429
        expect(page.locator("main > section.banner[data-claim='limited']")).to_contain_text(
            "Đã thử mã cào quá nhiều lần. Vui lòng thử lại sau 24 giờ.")
        expect(page.locator("form.claim")).to_have_count(0)
        shot(page, "9-limited")
    finally:
        context.close()
