"""A producer adds the GS1 Digital Link code to a print on a phone, in a real browser: ticked for a product without
a GTIN it is refused beside the checkbox (no download); once the product has its GTIN the PDF carries both codes,
and the Digital Link one opens the lot's page on our server.

Reuses test_browser.py's live waitress server, chromium discovery and phone fixture (360x740, vi-VN).
Full-page screenshots go to test-artifacts/digital-link-*.png for a human to look at.
"""

from __future__ import annotations

from pathlib import Path

from print_support import rasterise
from stamp_service.context import get_storage
from stamp_service.printing import available_templates
from stamp_service.registry import products
from test_browser import (  # noqa: F401 - chromium_executable, live_server and phone are fixtures used below
    ARTIFACTS, Phone, browser, chromium_executable, live_server, phone, sign_in,
)
from test_digital_link_label import _cell_codes

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass

TEMPLATE = "a4-24-70x37"
LINK_PATH = "/01/08938505974194/10/A-001"


def shot(page: Page, name: str) -> None:
    """A full-page screenshot into test-artifacts/digital-link-<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"digital-link-{name}.png"), full_page=True)


def test_producer_adds_the_digital_link_code(phone: Phone, live_server: str, app, tmp_path: Path) -> None:
    page, world = phone.page, app.world
    sign_in(page, "producer_a")
    page.goto(f"/portal/runs/{world.run_a}")
    box = page.get_by_label("In thêm mã GS1 Digital Link")
    expect(box).not_to_be_checked()
    page.locator("#f-template").select_option(TEMPLATE)
    box.check()
    downloads = []
    page.on("download", lambda d: downloads.append(d))
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/stamps.pdf")) as answer:
        page.get_by_role("button", name="Tải PDF để in").tap()
    page.wait_for_load_state()
    assert answer.value.status == 400
    expect(page.locator("#e-digital_link")).to_contain_text("Sản phẩm này chưa có mã GTIN")
    expect(page.get_by_label("In thêm mã GS1 Digital Link")).to_be_checked()  # the form keeps the choice
    phone.assert_no_sideways_scroll("run page, digital link refused")
    page.locator("#e-digital_link").scroll_into_view_if_needed()
    shot(page, "01-no-gtin")
    page.wait_for_timeout(300)
    assert not downloads, "the refused print still downloaded a file"

    with app.app_context():
        products.update(get_storage(), world.product_a, {"gtin": "8938505974194"})
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Tải PDF để in").tap()
    saved = tmp_path / downloading.value.suggested_filename
    downloading.value.save_as(saved)
    template = available_templates(Path(app.instance_path))[TEMPLATE]
    texts = [text for text, _ in _cell_codes(rasterise(saved.read_bytes(), 0, 300), template, 0)]
    link = f"https://tem.example.vn{LINK_PATH}"
    assert len(texts) == 2 and link in texts, texts

    # The printed link opens the lot's page, as a retail scanner's browser would.
    page.goto(LINK_PATH)
    expect(page.get_by_role("heading", name="Trà hoa vàng")).to_be_visible()
    phone.assert_no_sideways_scroll("digital link page")
