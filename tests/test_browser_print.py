"""A producer prints stamps on a phone, in a real browser: issue a run from the batch page, choose the label
stock, a part-used sheet and a printer correction typed with a Vietnamese decimal comma, preview, download the
PDF and read every QR back as a scanner would; the calibration is remembered; the applied stamps are activated
by their printed serials; a wrong scale gives an error page, not a download.

Reuses test_browser.py's live waitress server, chromium discovery (skip locally without it, fail in CI), the
phone fixture (360x740, mobile, touch, vi-VN), the hermetic host-resolver rules and the sideways-scroll check.
Full-page screenshots go to test-artifacts/print-*.png for a human to look at.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pypdfium2

from print_support import decode, rasterise
from stamp_service.context import get_storage
from stamp_service.printing import available_templates
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.stamps.serials import format_serial
from stamp_service.stamps.signing import verify_stamp
from test_browser import (  # noqa: F401 - chromium_executable, live_server and phone are fixtures used below
    ARTIFACTS, Phone, browser, chromium_executable, live_server, phone, sign_in, wait_for_image, screenshots,
)

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass

TEMPLATE = "a4-24-70x37"
TEMPLATE_TITLE = "A4, 24 nhãn 70 × 37 mm (3 × 8)"
COUNT, START, ACTIVATED = 24, 2, 10
DPI = 200


shot = screenshots("print")


def status(page: Page):
    """The flash message(s) the page shows after a form."""
    return page.locator("main p.flash[role=status]")


def fill_print_form(page: Page, *, scale_y: str = "") -> None:
    """The print form as the producer fills it: template, start position, offset y with a decimal comma."""
    page.locator("#f-template").select_option(label=TEMPLATE_TITLE)
    page.locator("#f-start").fill(str(START))
    calibration = page.locator("details#calibration")  # folded: most prints never need it
    if calibration.get_attribute("open") is None:
        calibration.locator("summary").tap()
    page.locator("#f-offset_y_mm").fill("-0,5")
    if scale_y:
        page.locator("#f-scale_y").fill(scale_y)


def test_producer_prints_stamps_on_a_phone(phone: Phone, live_server: str, app, tmp_path: Path) -> None:
    page, world = phone.page, app.world

    # Sign in and open batch A.
    sign_in(page, "producer_a")
    page.goto(f"/portal/batches/{world.batch_a}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Số lô A-001")

    # Issue 24 stamps, not active until applied.
    issue = page.locator("main form.card", has=page.get_by_role("heading", name="Phát hành tem cho lô này"))
    expect(issue).to_be_visible()
    issue.get_by_label("Số tem").fill(str(COUNT))
    issue.get_by_label(re.compile(r"Chưa kích hoạt cho đến khi")).check()
    phone.assert_no_sideways_scroll("batch page")
    shot(page, "01-batch")
    issue.get_by_role("button", name="Phát hành", exact=True).tap()

    # The run page.
    expect(page).to_have_url(re.compile(r"/portal/runs/(\d+)$"))
    run_id = int(re.search(r"/portal/runs/(\d+)$", page.url)[1])
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Đợt phát hành tem {run_id}")
    expect(status(page)).to_have_text("Đã phát hành 24 tem.")
    with app.app_context():
        run = issuing.get_run(get_storage(), run_id)
    assert (run["batch_id"], run["last_serial"] - run["first_serial"] + 1, run["initial_state"]) == (
        world.batch_a, COUNT, "inactive")
    first, last = run["first_serial"], run["last_serial"]
    expect(page.locator("dl.facts")).to_contain_text(f"{format_serial(first)} → {format_serial(last)}")
    expect(page.locator("dl.facts")).to_contain_text("Chưa kích hoạt")
    phone.assert_no_sideways_scroll("run page")

    # Preview: template, part-used sheet (start at label 2), 0.5 mm up typed with a comma.
    fill_print_form(page)
    page.get_by_role("button", name="Xem trước").tap()
    preview = page.locator("img.preview")
    expect(preview).to_be_visible()
    wait_for_image(preview)
    size = preview.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert size[1] > size[0] > 100, f"the preview is not an A4 portrait page: {size}"
    box = preview.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"], box
    # the page opens at the preview, so the producer sees it without scrolling
    assert page.evaluate("window.scrollY") > 0 and "#preview" in page.url
    assert "csrf_token" not in page.url and "csrf_token" not in (preview.get_attribute("src") or "")
    # the form came back with what the producer chose
    expect(page.locator("#f-template")).to_have_value(TEMPLATE)
    expect(page.locator("#f-start")).to_have_value(str(START))
    expect(page.locator("#f-offset_y_mm")).to_have_value("-0,5")  # shown the Vietnamese way, as typed
    phone.assert_no_sideways_scroll("run page with preview")
    preview.scroll_into_view_if_needed()
    shot(page, "02-run-preview")

    # Download the PDF.
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Tải PDF để in").tap()
    download = downloading.value
    assert download.failure() is None, download.failure()
    assert re.fullmatch(rf"tem-ocop-dot-{run_id}-{TEMPLATE}\.pdf", download.suggested_filename), (
        download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    pdf = saved.read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    document = pypdfium2.PdfDocument(pdf)
    try:
        pages = len(document)
    finally:
        document.close()
    assert pages == 2, f"24 labels from position 2 of a 24-up sheet take 2 pages, not {pages}"

    # Every QR, read back at 200 dpi: 24 distinct stamps of this run, all genuine; slot 1 of page 1 left empty.
    template = available_templates(Path(app.instance_path))[TEMPLATE]
    found = [decode(rasterise(pdf, index, DPI), DPI, template) for index in range(pages)]
    texts = [f.text for page_found in found for f in page_found]
    assert len(texts) == COUNT and len(set(texts)) == COUNT, f"{len(texts)} QR codes read, {len(set(texts))} distinct"
    with app.app_context():
        keys = keystore(app).records()
        serials = sorted(verify_stamp(text, keys).claims.serial for text in texts)
    assert serials == list(range(first, last + 1))
    cells = sorted(f.cell for f in found[0])
    assert None not in cells, f"a QR outside every label on page 1: {found[0]}"
    assert cells == list(range(START - 1, template.per_page)), f"page 1 uses label positions {cells}"
    assert [f.cell for f in found[1]] == [0]

    # The calibration was remembered: a fresh run page offers it again.
    page.goto(f"/portal/runs/{run_id}")
    expect(page.locator("#f-template")).to_have_value(TEMPLATE)
    expect(page.locator("#f-offset_y_mm")).to_have_value("-0,5")  # shown the Vietnamese way, as typed

    # Activate the first 10 stamps, typed as printed on the labels.
    states = page.locator("main form.card", has=page.get_by_role("button", name="Kích hoạt", exact=True))
    states.get_by_label("Từ số sê-ri").fill(format_serial(first))
    states.get_by_label("Đến số sê-ri").fill(format_serial(first + ACTIVATED - 1))
    states.get_by_label("Ghi chú").fill("Đã dán lên hộp")
    states.get_by_role("button", name="Kích hoạt", exact=True).tap()
    expect(page).to_have_url(re.compile(rf"/portal/runs/{run_id}(#states)?$"))  # the form scrolls back to itself
    expect(status(page)).to_have_text("Đã cập nhật trạng thái tem.")
    history = page.locator("main ul.cards > li.card")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("Đã kích hoạt")
    expect(history.first).to_contain_text("Đã dán lên hộp")
    with app.app_context():
        storage = get_storage()
        changes = storage.find("range_states", run_id=run_id)
        assert [(c["first_serial"], c["last_serial"], c["state"]) for c in changes] == [
            (first, first + ACTIVATED - 1, "active")]
        run = issuing.get_run(storage, run_id)
        assert issuing.serial_state(storage, run, first + ACTIVATED - 1) == "active"
        assert issuing.serial_state(storage, run, first + ACTIVATED) == "inactive"
    phone.assert_no_sideways_scroll("run page after activation")
    history.first.scroll_into_view_if_needed()
    shot(page, "03-activated")

    # A wrong scale on the download: the form again, the error beside the field, values kept, and no file.
    downloads = []
    page.on("download", lambda d: downloads.append(d))
    fill_print_form(page, scale_y="3")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/stamps.pdf")) as answer:
        page.get_by_role("button", name="Tải PDF để in").tap()
    page.wait_for_load_state()
    assert answer.value.status == 400
    assert answer.value.headers["content-type"].startswith("text/html")
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(page.locator("#e-scale_y")).to_have_text("Từ 0,9 đến 1,1 (1 = giữ nguyên).")
    expect(page.locator("#f-scale_y")).to_have_value("3")
    expect(page.locator("#f-offset_y_mm")).to_have_value("-0,5")  # shown the Vietnamese way, as typed
    phone.assert_no_sideways_scroll("error page")
    shot(page, "04-error-scale")
    page.wait_for_timeout(300)
    assert not downloads, "the refused print still downloaded a file"
    with app.app_context():
        row = get_storage().find_one("print_settings", producer_id=world.producer_a)
    assert (row["template"], row["offset_y_mm"], row["scale_y"]) == (TEMPLATE, -0.5, 1.0), dict(row)

    # Everything stayed on our host; the only error answer is the refused download; no console errors.
    ours = urlsplit(live_server).netloc
    seen = phone.requests + [url for url, _ in phone.load_errors]
    elsewhere = [url for url in seen if urlsplit(url).netloc != ours]
    assert not elsewhere, f"requests to other hosts: {elsewhere}"
    assert any(urlsplit(url).path == f"/portal/runs/{run_id}/preview.png" for url in phone.requests)
    # The successful download shows as an aborted navigation (the answer became a file, not a page).
    failed = [f for f in phone.failed if f != f"{live_server}/portal/runs/{run_id}/stamps.pdf: net::ERR_ABORTED"]
    assert not failed, f"failed requests: {phone.failed}"
    assert phone.http_errors == [f"400 POST {live_server}/portal/runs/{run_id}/stamps.pdf"], phone.http_errors
    unexpected = [(url, text) for url, text in phone.load_errors
                  if not (urlsplit(url).path == f"/portal/runs/{run_id}/stamps.pdf" and "400" in text)
                  and not (urlsplit(url).path == "/favicon.ico" and "404" in text)]
    assert not unexpected, f"resources that failed to load: {unexpected}"
    assert not phone.console_errors, f"console errors: {phone.console_errors}"
