"""A shopper checks a stamp on a phone, in a real browser: genuine, forged, unknown, typed serial, a report of
a fake, English one tap away; and the page stays light (<= 30 KB in all), uncached, script-free and on our host.

Reuses test_browser.py's live waitress server, chromium discovery (skip locally without it, fail in CI), phone
context settings, hermetic host-resolver rules and sideways-scroll check; this page gets a 360x640 screen.
Full-page screenshots go to test-artifacts/verify-*.png for a human to look at.
"""

from __future__ import annotations

import re
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

from stamp_service.context import get_storage
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.stamps.serials import format_serial
from test_browser import (  # noqa: F401 - live_server and chromium_executable are fixtures used below
    ARTIFACTS, CHROMIUM_ARGS, PHONE, TIMEOUT_MS, Phone, browser, chromium_executable, live_server, screenshots,
)

try:
    from playwright.sync_api import Browser, BrowserContext, Page, Response, expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass

SMALL_PHONE = {**PHONE, "viewport": {"width": 360, "height": 640}}
PAGE_BUDGET = 30 * 1024  # bytes on the wire for the whole verification page: document, CSS, icon, thumbnail
GREEN, RED, AMBER = "rgb(11, 107, 58)", "rgb(179, 38, 30)", "rgb(138, 90, 0)"  # .ok, .bad, .caution in verify.css


# --- fixtures ----------------------------------------------------------------------------------------------


def phone_context(browser: Browser, base_url: str, **options: Any) -> BrowserContext:
    """A fresh 360x640 Vietnamese phone (its own cookies, so its own device id)."""
    context = browser.new_context(base_url=base_url, **SMALL_PHONE, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def stamp(app) -> tuple[int, str]:
    """The first stamp of run A: its serial and the path of its QR text (HTTPS://TEM.EXAMPLE.VN/S/<digits>)."""
    with app.app_context():
        run = issuing.get_run(get_storage(), app.world.run_a)
        serial, text = next(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"], 1, 1))
    assert re.fullmatch(r"HTTPS://TEM\.EXAMPLE\.VN/S/[1-9]\d+", text), text
    return serial, urlsplit(text).path


# --- helpers -----------------------------------------------------------------------------------------------


shot = screenshots("verify")


def forge(path: str) -> str:
    """The stamp path with three digits near the end changed: still a well-formed COSE message (the leading
    marker byte untouched), but its signature's last bytes altered."""
    head, digits = path[:-4], path[-4:-1]
    return f"{head}{(int(digits) + 500) % 1000:03d}{path[-1]}"


def fact(page: Page, term: str):
    """The <dd> of the product card's fact named term."""
    return page.locator("section.card dl dt", has_text=term).locator("xpath=following-sibling::dd[1]")


def expect_banner(page: Page, title: str, tone: str, icon: str, colour: str) -> None:
    """The verdict banner: its words, its tone's colour, and an icon so the colour is not the only signal."""
    banner = page.locator("main > section.banner")
    expect(banner).to_have_count(1)
    expect(banner.locator("h1")).to_have_text(title)
    expect(banner).to_have_class(re.compile(rf"\b{tone}\b"))
    expect(banner).to_have_css("background-color", colour)
    expect(banner).to_have_css("color", "rgb(255, 255, 255)")
    expect(banner.locator(".icon")).to_have_text(icon)
    expect(banner.locator(".icon")).to_be_visible()
    box = banner.bounding_box()
    assert box and box["y"] < SMALL_PHONE["viewport"]["height"] / 3, f"the banner {title!r} is not at the top: {box}"


def expect_genuine(page: Page, serial: int, scans: int) -> None:
    """The genuine verdict with the product's details, as run A's stamps carry them."""
    expect_banner(page, "Chính hãng", "ok", "✓", GREEN)
    card = page.locator("main > section.card").first
    expect(card.locator("h2")).to_have_text("Trà hoa vàng")
    expect(card.locator(".producer")).to_have_text("HTX Trà hoa vàng Ba Chẽ")
    expect(card.locator(".stars")).to_contain_text("4 sao OCOP")
    expect(card.locator(".stars i")).to_have_count(5)
    expect(card.locator(".stars i.on")).to_have_count(4)
    expect(fact(page, "Nơi sản xuất")).to_contain_text("Xã Ba Chẽ, Tỉnh Quảng Ninh")
    expect(fact(page, "Số sê-ri")).to_have_text(re.compile(r"^\d{3} \d{3}-\d$"))
    expect(fact(page, "Số sê-ri")).to_have_text(format_serial(serial))
    # how often the stamp was scanned sits right under the name, on the first screen
    expect(card.locator(".scans")).to_contain_text(f"Đã quét {scans} lần")
    assert card.locator(".scans").bounding_box()["y"] < page.viewport_size["height"]
    expect(page.locator("form[action$='/report']")).to_have_count(0)  # no report form for a genuine stamp
    expect(page.locator("a.mismatch")).to_have_text("Sản phẩm không đúng với tem?")  # only a small link to one
    expect(page.locator("main > section.banner .when")).to_have_text(re.compile(r"^Kiểm tra lúc \d\d:\d\d, \d\d/\d\d/20\d\d$"))
    expect(page.locator("footer .office")).to_contain_text("tem.example.vn")


def expect_counterfeit(page: Page, title: str) -> None:
    """A red verdict: no product details, and the form to report the fake."""
    expect_banner(page, title, "bad", "✗", RED)
    expect(page.locator(".stars, .producer, dl")).to_have_count(0)
    report = page.locator("main section.card form[action$='/report']")
    expect(report).to_be_visible()
    expect(report.locator("#what")).to_be_visible()
    expect(report.locator("#where")).to_be_visible()


def open_page(page: Page, path: str) -> Response:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    return response


def transfer_sizes(page: Page, document: Response, seen: list[Response]) -> tuple[dict[str, int], list[str]]:
    """Bytes on the wire (headers + body) of every resource of the page now shown, by path.

    Playwright reports the page's own requests; the browser fetches icons outside the page, unseen, so any
    resource the document links that Playwright did not see is fetched once more here and counted as well.
    Returns the sizes by path and the paths fetched again.
    """
    sizes: dict[str, int] = {}
    again: list[str] = []
    for response in [document, *seen]:
        if response.frame != page.main_frame and response != document:
            continue
        size = response.request.sizes()
        sizes[urlsplit(response.url).path] = size["responseHeadersSize"] + size["responseBodySize"]
    linked = page.evaluate(
        "() => [...document.querySelectorAll('link[href], img[src], script[src]')]"
        "      .map(el => el.href || el.src)")
    for url in linked:
        path = urlsplit(url).path
        if path in sizes:
            continue
        answer = page.context.request.get(url)
        assert answer.status == 200, f"{url}: {answer.status}"
        headers = "".join(f"{h['name']}: {h['value']}\r\n" for h in answer.headers_array())
        sizes[path] = len(f"HTTP/1.1 {answer.status} {answer.status_text}\r\n{headers}\r\n") + len(answer.body())
        again.append(path)
    return sizes, again


# --- the test ----------------------------------------------------------------------------------------------


def test_shopper_verifies_stamps_on_a_phone(browser: Browser, live_server: str, app, stamp) -> None:  # noqa: F811
    serial, genuine_path = stamp
    forged_path = forge(genuine_path)
    assert forged_path != genuine_path and len(forged_path) == len(genuine_path)
    context = phone_context(browser, live_server)
    phone = Phone(context.new_page(), live_server)
    page = phone.page
    responses: list[Response] = []
    page.on("response", lambda r: responses.append(r))

    # 1. The genuine stamp, as the camera opens it: green, with a check mark and the words.
    document = open_page(page, genuine_path)
    page.wait_for_load_state("load")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect_genuine(page, serial, scans=1)
    thumb = page.locator("main section.card img.thumb")
    expect(thumb).to_have_count(1)
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", thumb.element_handle()), "the thumbnail is broken"

    # 8. Never cached: the verdict and scan count are fresh at every scan.
    assert "no-store" in (document.header_value("cache-control") or ""), document.all_headers()

    # 7. Light: everything the page needs weighs at most 30 KB on the wire.
    sizes, again = transfer_sizes(page, document, [r for r in responses if r != document])
    shown = {("<the stamp page>" if p == genuine_path else p): n for p, n in sizes.items()}
    print(f"\nverification page, bytes on the wire: {shown}, total {sum(sizes.values())}; fetched again: {again}")
    # The stylesheet comes inline (no round trip), allowed by its hash, never by 'unsafe-inline'.
    assert not any(p.endswith(".css") for p in sizes) and any(p.endswith("favicon.svg") for p in sizes), sizes
    policy = document.header_value("content-security-policy") or ""
    assert re.search(r"style-src 'self' 'sha256-[A-Za-z0-9+/]{43}='", policy) and "unsafe-inline" not in policy, policy
    expect(page.locator("head style")).to_have_count(1)
    expect(page.locator("header")).to_have_css("background-color", GREEN)  # the inline style applied
    assert sum(sizes.values()) <= PAGE_BUDGET, f"the verification page weighs {sum(sizes.values())} bytes: {sizes}"
    phone.assert_no_sideways_scroll("genuine stamp")
    shot(page, "genuine-vi")

    # A reload by the same phone is a view, not a new scan (it must not make the stamp look scanned often).
    page.reload()
    expect_genuine(page, serial, scans=1)

    # 2. A scanner that lower-cases the URL gets the same verdict (and it is still this phone's one scan).
    open_page(page, "/s/" + genuine_path.split("/S/", 1)[1])
    expect_genuine(page, serial, scans=1)

    # 3. A forged stamp (signature altered), and a number that is no stamp of ours.
    open_page(page, forged_path)
    expect_counterfeit(page, "Tem giả: chữ ký không khớp")
    phone.assert_no_sideways_scroll("forged stamp")
    shot(page, "forged")

    # 5. Reporting the fake from that page: a thank-you, and the report stored for inspectors.
    with app.app_context():
        reports_before = get_storage().count("reports")
    page.locator("#what").fill("Tem in mờ, mã QR dán đè lên tem khác")
    page.locator("#where").fill("Chợ Hạ Long 1, quầy số 12")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Gửi báo cáo").tap()
    assert posted.value.status == 200, posted.value.status
    thanks = page.locator("main > section.banner")
    expect(thanks).to_have_class(re.compile(r"\binfo\b"))  # not the green of a genuine verdict
    expect(thanks.locator("h1")).to_have_text("Cảm ơn bạn! Báo cáo đã được gửi tới kiểm tra viên.")
    phone.assert_no_sideways_scroll("report sent")
    shot(page, "report-thanks")
    with app.app_context():
        stored = get_storage().find("reports", what="Tem in mờ, mã QR dán đè lên tem khác")
        assert get_storage().count("reports") == reports_before + 1
    assert len(stored) == 1 and stored[0]["where_bought"] == "Chợ Hạ Long 1, quầy số 12", stored

    open_page(page, "/S/12345")
    expect_counterfeit(page, "Không có trong hệ thống: nghi hàng giả")
    phone.assert_no_sideways_scroll("unknown number")
    shot(page, "unknown")

    # 4. The camera fails: the serial typed from the label, on the landing page, gives the same verdict.
    open_page(page, "/")
    box = page.locator("main form.box")
    box.locator("#serial").fill(format_serial(serial))
    box.get_by_role("button", name="Xác thực").tap()
    expect(page).to_have_url(re.compile(r"/check\?serial="))
    expect_genuine(page, serial, scans=2)  # a typed check is recorded (though it is never copy evidence)
    phone.assert_no_sideways_scroll("typed serial")
    shot(page, "typed-serial")

    # One digit mistyped: the check digit catches it, and the stamp is not taken as genuine.
    printed = format_serial(serial)
    at = printed.index("1")  # "000 001-3": the serial's last digit
    mistyped = printed[:at] + "7" + printed[at + 1:]
    open_page(page, "/")
    page.locator("#serial").fill(mistyped)
    page.get_by_role("button", name="Xác thực").tap()
    expect(page).to_have_url(re.compile(r"/check\?serial="))
    # ... and the page says so (amber, what to check, the number back in the box), not "counterfeit".
    expect_banner(page, "Số sê-ri có vẻ gõ nhầm", "caution", "!", AMBER)
    expect(page.locator("main > section.banner")).to_contain_text("chữ số cuối sau dấu")
    expect(page.locator("form[action$='/report']")).to_have_count(0)
    expect(page.locator("main > form.box #serial")).to_have_value(mistyped)
    phone.assert_no_sideways_scroll("mistyped serial")
    shot(page, "mistyped")
    page.locator("#serial").fill(printed)  # corrected in place
    page.get_by_role("button", name="Xác thực").tap()
    expect_banner(page, "Chính hãng", "ok", "✓", GREEN)

    # 6. English one tap away, on the page the shopper is looking at.
    open_page(page, genuine_path)
    expect_genuine(page, serial, scans=3)  # the same phone again within 30 minutes: a view (the typed checks count)
    page.get_by_role("navigation").get_by_role("link", name="EN", exact=True).tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(re.escape(genuine_path) + "$"))
    expect_banner(page, "Genuine", "ok", "✓", GREEN)
    expect(page.locator(".stars")).to_contain_text("4-star OCOP")
    expect(page.locator("section.card .scans")).to_contain_text("Scanned 3 times")  # switching language: a view
    phone.assert_no_sideways_scroll("genuine stamp in English")
    shot(page, "genuine-en")
    open_page(page, forged_path)
    expect_banner(page, "Counterfeit: the signature does not match", "bad", "✗", RED)
    expect(page.get_by_role("button", name="Send report")).to_be_visible()

    # 7. Without JavaScript (another phone, so another device): the same verdict.
    plain = phone_context(browser, live_server, java_script_enabled=False)
    try:
        other = Phone(plain.new_page(), live_server)
        open_page(other.page, genuine_path)
        # a fresh browser on the same network the same day joins that household: still a view, not a new scan
        expect_genuine(other.page, serial, scans=3)
        assert not other.failed and not other.http_errors and not other.console_errors, (
            other.failed, other.http_errors, other.console_errors)
        requests = phone.requests + other.requests
    finally:
        plain.close()
        context.close()

    # 7, 9. Only our own server was asked for anything; nothing failed and nothing was logged as an error.
    ours = urlsplit(live_server).netloc
    elsewhere = [url for url in requests + [u for u, _ in phone.load_errors] if urlsplit(url).netloc != ours]
    assert not elsewhere, f"requests to other hosts: {elsewhere}"
    assert not phone.failed, f"failed requests: {phone.failed}"
    assert not phone.http_errors, f"error answers: {phone.http_errors}"
    assert not phone.load_errors, f"resources that failed to load: {phone.load_errors}"
    assert not phone.console_errors, f"console errors: {phone.console_errors}"
