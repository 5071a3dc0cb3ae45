"""The shopper's verdict page on a 360x740 phone in Chromium: what a genuine page tells (photo, description,
producer's phone, certificate, where and when first checked, the time of this check, the office and its host),
legible stars and input borders (3:1 contrast, computed from the styles Chromium applied), and what bad verdicts
say and do: what to do next with the office's hotline, a report form titled for the verdict right under the
banner, a muted product card, a revoked certificate's date and reason; a certificate that ended after the batch
was made is only a warning. Full-page screenshots go to test-artifacts/verdict-*.png for a human to look at.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from stamp_service.context import get_storage
from stamp_service.registry import batches, recognitions
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.vn_time import VIETNAM
from test_browser import (  # noqa: F401 - chromium_executable, live_server and phone are fixtures used below
    ARTIFACTS, Phone, browser, chromium_executable, live_server, phone, screenshots,
)
from test_browser_verify import AMBER, GREEN, RED, expect_banner, fact

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass

HOTLINE = "0203 3 835 000"
OFFICE = "Văn phòng Điều phối OCOP tỉnh Quảng Ninh"

# The colour of an element's text (or border) and of the first opaque background behind it, as Chromium computed
# them: [[r, g, b], [r, g, b]].
COLOURS_JS = """([el, prop]) => {
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 4).map(Number);
  let bg = el, back = null;
  while (bg) {
    const c = rgb(getComputedStyle(bg).backgroundColor);
    if (c.length < 4 || c[3] > 0) { back = c.slice(0, 3); break; }
    bg = bg.parentElement;
  }
  return [rgb(getComputedStyle(el)[prop]).slice(0, 3), back || [255, 255, 255]];
}"""


def contrast(pair: list[list[float]]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""
    def luminance(rgb: list[float]) -> float:
        lin = [c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    light, dark = sorted((luminance(pair[0]), luminance(pair[1])), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def colours(page: Page, selector: str, prop: str = "color") -> list[list[list[float]]]:
    """The (foreground, background) colours of every element matching selector."""
    return [page.evaluate(COLOURS_JS, [el, prop]) for el in page.query_selector_all(selector)]


shot = screenshots("verdict")


def sign_out(page: Page) -> None:
    """Forget the signed-in user. Waits for the page's last requests first: one still loading is answered with
    the session cookie again, and a cookie cleared before it lands comes back."""
    page.wait_for_load_state("networkidle")
    page.context.clear_cookies()


def path_of(text: str) -> str:
    return "/" + text.split("/", 3)[3]


def stamp_path(app, run_id: int, index: int) -> str:
    """The path of the QR text of the run's index-th stamp (1: its first)."""
    with app.app_context():
        run = issuing.get_run(get_storage(), run_id)
        serial = run["first_serial"] + index - 1
        _serial, text = list(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"], serial, serial))[0]
    return path_of(text)


def open_page(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"


@pytest.fixture
def shop(app, world) -> dict[str, Any]:
    """The office's hotline set; producer A with a phone and product A with a description; a second batch of
    product A made 40 days ago with a run of its own."""
    app.config.update(OFFICE_HOTLINE=HOTLINE, OFFICE_NAME=OFFICE)
    with app.app_context():
        s = get_storage()
        s.update("producers", world.producer_a, {"phone": "0912 345 678", "address": "Thôn 3, xã Ba Chẽ"})
        s.update("products", world.product_a, {"description": "Trà hoa vàng sấy lạnh, hộp 100 g."})
        made = (dt.date.today() - dt.timedelta(days=40)).isoformat()
        old = batches.create(s, {"product_id": world.product_a, "lot": "A-OLD", "production_date": made,
                                 "quantity": 100})
        run = issuing.issue_run(s, keystore(app), old["id"], 10, issuer="VN", host=app.config["PUBLIC_HOST"])
    return {"old_run": run["id"]}


def expect_report_under_banner(page: Page, title: str) -> None:
    """The report form sits in the card right after the banner, titled for the verdict, with the next steps and
    the office's hotline as a tap-to-call link."""
    card = page.locator("main > section.banner + section.card#report")
    expect(card).to_be_visible()
    expect(card.locator("h2")).to_have_text(title)
    expect(card.locator("ul.steps li")).to_have_count(4)
    expect(card.locator("ul.steps")).to_contain_text("Giữ hóa đơn")
    expect(card.locator("ul.steps")).to_contain_text("Liên hệ nơi bán")
    hotline = card.locator("ul.steps a.tel")
    expect(hotline).to_have_text(HOTLINE)
    expect(hotline).to_have_attribute("href", "tel:02033835000")
    expect(card.locator("ul.steps")).to_contain_text(OFFICE)
    expect(card.locator("form[action$='/report'] #what")).to_be_visible()


def expect_muted(page: Page) -> None:
    """The product card below a bad banner says why it is there, and nothing on it is gold or green."""
    card = page.locator("main section.card.muted")
    expect(card).to_have_count(1)
    expect(card.locator(".why-muted")).to_be_visible()
    for fg, _bg in colours(page, "section.card.muted .stars i, section.card.muted .st"):
        r, g, b = fg
        assert max(r, g, b) - min(r, g, b) < 40, f"a coloured (gold or green) mark on a muted card: {fg}"
    assert all(contrast(pair) >= 3 for pair in colours(page, "section.card.muted .stars i")), "muted stars too faint"


def test_genuine_page_tells_what_shoppers_expect(phone: Phone, live_server: str, app, world, shop) -> None:
    page = phone.page
    fresh = stamp_path(app, world.run_a, 5)
    open_page(page, fresh)
    expect_banner(page, "Chính hãng", "ok", "✓", GREEN)
    expect(page.locator("main > section.banner .when")).to_have_text(
        re.compile(r"^Kiểm tra lúc [0-2]\d:[0-5]\d, [0-3]\d/[01]\d/20\d\d$"))

    # The photo is large and opens the full image when tapped.
    photo = page.locator("main section.card a.photo img.thumb")
    box = photo.bounding_box()
    assert box and box["width"] >= 160, f"the product photo is small: {box}"
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", photo.element_handle())
    expect(page.locator("section.card .desc")).to_have_text("Trà hoa vàng sấy lạnh, hộp 100 g.")
    call = fact(page, "Điện thoại chủ thể").locator("a.tel")
    expect(call).to_have_text("0912 345 678")
    expect(call).to_have_attribute("href", "tel:0912345678")
    expect(fact(page, "Nơi sản xuất")).to_contain_text("Thôn 3, xã Ba Chẽ")
    certificate = fact(page, "Giấy chứng nhận OCOP")
    expect(certificate).to_contain_text("Quyết định số 1/QĐ-UBND ngày")
    expect(certificate).to_contain_text("UBND tỉnh Quảng Ninh")
    expect(certificate.locator(".st.valid")).to_have_text("Còn hiệu lực")
    expect(page.locator("footer .office")).to_have_text(f"{OFFICE} · Trang kiểm tra chính thức: tem.example.vn")

    # Stars (gold and the empty ones) and input borders stand out at least 3:1 against what is behind them.
    expect(page.locator(".stars i.on")).to_have_count(4)
    stars = colours(page, ".stars i")
    assert len(stars) == 5 and all(contrast(pair) >= 3 for pair in stars), [(p, contrast(p)) for p in stars]
    page.locator("details.card summary").tap()
    borders = colours(page, "details.card #serial", "borderTopColor")
    assert borders and all(contrast(pair) >= 3 for pair in borders), [(p, contrast(p)) for p in borders]
    phone.assert_no_sideways_scroll("genuine page")
    shot(page, "genuine")

    # Where and when the stamp was first checked: this shopper says where, and the next check shows it.
    page.locator("a[href*='scan-province']").tap()
    page.locator("#tinh").select_option(label="Quảng Ninh")
    page.get_by_role("button", name="Gửi", exact=True).tap()
    expect(page.locator("main > section.banner h1")).to_have_text(re.compile("Cảm ơn"))
    other = phone.page.context.browser.new_context(base_url=live_server, viewport={"width": 360, "height": 740},
                                                   locale="vi-VN", is_mobile=True, has_touch=True)
    try:
        second = other.new_page()
        open_page(second, fresh)
        expect(second.locator("section.card .scans")).to_contain_text("lần đầu")
        expect(second.locator("section.card .scans")).to_contain_text("(Tỉnh Quảng Ninh)")
    finally:
        other.close()

    # A product that does not match its genuine stamp: a small link, then the report form on its own page.
    open_page(page, fresh)
    expect(page.locator("form[action$='/report']")).to_have_count(0)
    page.locator("a.mismatch").tap()
    expect(page.locator("h1")).to_have_text("Sản phẩm không đúng với tem?")
    borders = colours(page, "#what, #where, #contact", "borderTopColor")
    assert len(borders) == 3 and all(contrast(pair) >= 3 for pair in borders), borders
    page.locator("#what").fill("Hộp trà bên trong là trà xanh thường")
    page.get_by_role("button", name="Gửi báo cáo").tap()
    expect(page.locator("main > section.banner h1")).to_have_text("Cảm ơn bạn! Báo cáo đã được gửi tới kiểm tra viên.")
    with app.app_context():
        stored = get_storage().find("reports", what="Hộp trà bên trong là trà xanh thường")
    assert len(stored) == 1 and stored[0]["serial"] is not None, stored
    assert not phone.console_errors and not phone.http_errors and not phone.failed, (
        phone.console_errors, phone.http_errors, phone.failed)


def test_bad_verdicts_say_what_to_do(phone: Phone, live_server: str, app, world, shop) -> None:
    page = phone.page
    new_stamp, old_stamp = stamp_path(app, world.run_a, 6), stamp_path(app, shop["old_run"], 1)

    # The certificate ended yesterday: goods made 40 days ago, under it, are a warning, not a red cross...
    with app.app_context():
        s = get_storage()
        s.update("recognitions", world.recognition_a,
                 {"valid_until": (dt.date.today() - dt.timedelta(days=1)).isoformat()})
    open_page(page, old_stamp)
    expect_banner(page, "Chính hãng, cần lưu ý", "caution", "!", AMBER)
    expect(page.locator("main > section.banner")).to_contain_text("sản xuất khi giấy chứng nhận OCOP còn hiệu lực")
    expect(page.locator("form[action$='/report']")).to_have_count(0)
    expect(page.locator("a.mismatch")).to_be_visible()
    phone.assert_no_sideways_scroll("expired after production")
    shot(page, "expired-after-production")
    # ... while goods made today, after it ended, are sold without a valid certificate.
    open_page(page, new_stamp)
    expect_banner(page, "Giấy chứng nhận OCOP đã hết hạn", "bad", "✗", RED)
    expect_report_under_banner(page, "Báo sản phẩm dùng nhãn OCOP khi chứng nhận đã hết hạn")
    expect_muted(page)
    expect(page.locator("section.card.muted .st")).not_to_have_class(re.compile(r"\bvalid\b"))
    with app.app_context():
        get_storage().update("recognitions", world.recognition_a,
                             {"valid_until": (dt.date.today() + dt.timedelta(days=900)).isoformat()})

    # A recalled batch: the steps say to take it back, the form reports a recalled product on sale, not a fake.
    with app.app_context():
        issuing.recall(get_storage(), world.batch_a, "Nhiễm nấm mốc")
    open_page(page, new_stamp)
    expect_banner(page, "Lô hàng đã bị thu hồi", "bad", "✗", RED)
    expect_report_under_banner(page, "Báo sản phẩm bị thu hồi vẫn đang bán")
    expect(page.locator("ul.steps li").first).to_contain_text("mang trả lại nơi bán")
    expect_muted(page)
    expect(page.locator("section.card.muted .st")).to_have_text("Còn hiệu lực")  # the record, greyed, not green
    phone.assert_no_sideways_scroll("recalled")
    shot(page, "recalled")

    # A revoked certificate: its date and reason, not gold stars and "valid until".
    with app.app_context():
        recognitions.revoke(get_storage(), world.recognition_a, {"reason": "Sản phẩm không đạt chỉ tiêu an toàn"})
        revoked_on = dt.datetime.now(VIETNAM).strftime("%d/%m/%Y")  # the day in Vietnam
    open_page(page, old_stamp)
    expect_banner(page, "Giấy chứng nhận OCOP bị thu hồi", "bad", "✗", RED)
    expect_report_under_banner(page, "Báo sản phẩm dùng nhãn OCOP khi chứng nhận đã bị thu hồi")
    expect_muted(page)
    certificate = fact(page, "Giấy chứng nhận OCOP")
    expect(certificate).to_contain_text(f"Bị thu hồi ngày {revoked_on}")
    expect(certificate).to_contain_text("Lý do: Sản phẩm không đạt chỉ tiêu an toàn")
    expect(certificate).not_to_contain_text("Hiệu lực đến")
    expect(page.locator("section.card .stars")).to_have_count(0)
    phone.assert_no_sideways_scroll("certificate revoked")
    shot(page, "revoked")

    # In English too.
    page.get_by_role("navigation").get_by_role("link", name="EN", exact=True).tap()
    expect(page.locator("#report h2")).to_have_text("Report a product labelled OCOP after its certificate was revoked")
    expect(page.locator("#report ul.steps")).to_contain_text("Call the hotline")
    shot(page, "revoked-en")
    assert not phone.console_errors and not phone.http_errors and not phone.failed, (
        phone.console_errors, phone.http_errors, phone.failed)


def test_producer_photo_and_decision_scan_reach_the_shopper(phone: Phone, live_server: str, app, world, tmp_path) -> None:
    """A producer uploads its product's photo from its phone; the office uploads the decision's scan; the shopper
    sees the new photo (large, tap for the full image) and a link to the decision."""
    from PIL import Image, ImageDraw

    from test_browser import sign_in

    photo = tmp_path / "tra-hoa-vang.png"
    img = Image.new("RGB", (900, 700), (240, 200, 40))
    ImageDraw.Draw(img).ellipse((200, 120, 700, 620), fill=(30, 110, 50))
    img.save(photo)
    page = phone.page
    sign_in(page, "producer_a")
    open_page(page, f"/portal/products/{world.product_a}")
    page.get_by_role("link", name="Ảnh sản phẩm cho người mua").tap()
    page.locator("#f-image").set_input_files(str(photo))
    phone.assert_no_sideways_scroll("producer's photo form")
    shot(page, "producer-photo-form")
    page.get_by_role("button", name="Lưu", exact=True).tap()
    page.wait_for_url(re.compile(rf"/portal/products/{world.product_a}$"))
    sign_out(page)

    sign_in(page, "admin")
    page.goto(f"/portal/recognitions/{world.recognition_a}/scan")
    page.locator("#f-scan").set_input_files(str(photo))
    page.get_by_role("button", name="Lưu", exact=True).tap()
    page.wait_for_url(re.compile(rf"/portal/products/{world.product_a}$"))
    sign_out(page)

    open_page(page, stamp_path(app, world.run_a, 7))
    thumb = page.locator("a.photo img.thumb")
    page.wait_for_load_state("load")
    assert page.evaluate("img => img.complete && img.naturalWidth === 192", thumb.element_handle())
    centre = page.evaluate("""img => { const c = document.createElement('canvas'); c.width = c.height = 1;
        const x = c.getContext('2d'); x.drawImage(img, 96, 96, 1, 1, 0, 0, 1, 1);
        return [...x.getImageData(0, 0, 1, 1).data].slice(0, 3); }""", thumb.element_handle())
    assert centre[1] > centre[0] + 40, f"the new (green-centred) photo is not shown: {centre}"
    expect(fact(page, "Giấy chứng nhận OCOP").get_by_role("link", name="Xem bản chụp quyết định")).to_have_attribute(
        "href", f"/xem/decision/{world.recognition_a}")
    shot(page, "with-producer-photo")
    # Tapping the photo opens it full width on a page of ours (a bare image would break our CSP).
    page.locator("a.photo").tap()
    page.wait_for_url(re.compile(rf"/xem/product/{world.product_a}$"))
    full = page.locator("main img.full")
    page.wait_for_load_state("load")
    natural = page.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]", full.element_handle())
    assert natural == [True, 800, 622], natural
    assert 300 <= full.bounding_box()["width"] <= 360
    phone.assert_no_sideways_scroll("full photo")
    shot(page, "full-photo")
    page.go_back()
    fact(page, "Giấy chứng nhận OCOP").get_by_role("link", name="Xem bản chụp quyết định").tap()
    expect(page.locator("main h1")).to_have_text("Quyết định số 1/QĐ-UBND")
    shot(page, "decision-scan")
    assert not phone.console_errors and not phone.http_errors and not phone.failed, (
        phone.console_errors, phone.http_errors, phone.failed)
