"""A producer issues two-layer stamps on a phone, in a real browser: the issue form's checkbox, the run page's
hidden-code facts, a label stock too small for the box refused beside its field, and the hidden-code-only sheet
previewed and downloaded, every code read back from its box.

Reuses test_browser.py's live waitress server, chromium discovery and phone fixture. Full-page screenshots go to
test-artifacts/hidden-*.png for a human to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

from print_layouts import hidden_box_rect
from print_support import char_boxes, decode, rasterise
from stamp_service import printing
from stamp_service.context import get_storage
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from test_browser import (  # noqa: F401 - chromium_executable, live_server and phone are fixtures used below
    ARTIFACTS, Phone, browser, chromium_executable, live_server, phone, sign_in, wait_for_image, screenshots,
)

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass

SMALL_TITLE = "A4, 65 nhãn 38,1 × 21,2 mm (5 × 13)"


shot = screenshots("hidden")


def test_producer_prints_two_layer_stamps_on_a_phone(phone: Phone, live_server: str, app, tmp_path: Path) -> None:
    page, world = phone.page, app.world
    sign_in(page, "producer_a")

    # Issue 12 two-layer stamps from the batch page.
    page.goto(f"/portal/batches/{world.batch_a}")
    issue = page.locator("main form.card", has=page.get_by_role("heading", name="Phát hành tem cho lô này"))
    issue.get_by_label("Số tem").fill("12")
    issue.get_by_label("Tem hai lớp: thêm mã cào (mã ẩn dưới lớp bạc)").check()
    phone.assert_no_sideways_scroll("batch page")
    shot(page, "01-batch")
    issue.get_by_role("button", name="Phát hành", exact=True).tap()
    expect(page).to_have_url(re.compile(r"/portal/runs/(\d+)$"))
    run_id = int(re.search(r"/portal/runs/(\d+)$", page.url)[1])
    expect(page.locator("dl.facts")).to_contain_text("Có: tem hai lớp")
    with app.app_context():
        run = issuing.get_run(get_storage(), run_id)
    assert run["hidden_code"] is True

    # Full labels on the 65-up stock: refused beside the template, with the way out.
    page.locator("#f-template").select_option(label=SMALL_TITLE)
    page.get_by_label("Tem đầy đủ: mã QR và ô mã cào trên cùng một nhãn").check()
    page.get_by_role("button", name="Xem trước").tap()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("main")).to_contain_text("không đủ chỗ cho ô mã cào bên cạnh mã QR")
    expect(page.locator("img.preview")).to_have_count(0)
    phone.assert_no_sideways_scroll("refused print")
    shot(page, "02-refused")

    # The hidden codes alone on the same stock: preview, then download.
    page.get_by_label("Chỉ mã cào, không có mã QR (giấy nhãn cào)").check()
    page.get_by_role("button", name="Xem trước").tap()
    preview = page.locator("img.preview")
    expect(preview).to_be_visible()
    wait_for_image(preview)
    expect(page.get_by_label("Chỉ mã cào, không có mã QR (giấy nhãn cào)")).to_be_checked()
    phone.assert_no_sideways_scroll("hidden-code preview")
    preview.scroll_into_view_if_needed()
    shot(page, "03-preview")
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Tải PDF để in").tap()
    download = downloading.value
    assert download.failure() is None and download.suggested_filename == f"ma-cao-dot-{run_id}-a4-65-38x21.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    pdf = saved.read_bytes()

    template = printing.available_templates(Path(app.instance_path))["a4-65-38x21"]
    assert decode(rasterise(pdf, 0, 200), 200, template) == [], "a hidden-code-only sheet has no QR"
    with app.app_context():
        labels = list(printing.labels(get_storage(), keystore(app), run, app.config["PUBLIC_HOST"],
                                      content="hidden-only"))
    codes = dict(issuing.hidden_codes(run, keystore(app)))
    chars = char_boxes(pdf)
    for index, (label, serial) in enumerate(zip(labels, sorted(codes))):
        x, y, w, h = hidden_box_rect(template, label, hidden_only=True)
        left, top = template.cell_origin_mm(index)
        inside = "".join(c for c, (l, t, r, b) in chars
                         if left + x <= (l + r) / 2 <= left + x + w and top + y <= (t + b) / 2 <= top + y + h)
        assert inside == codes[serial]

    # The code list is offered for download too.
    link = page.get_by_role("link", name="Tải tệp CSV (số sê-ri, đường dẫn, mã cào)")
    expect(link).to_have_attribute("href", f"/portal/runs/{run_id}/codes.csv")
    assert not phone.console_errors, f"console errors: {phone.console_errors}"
