"""The GS1 Digital Link as a second, smaller QR on the printed label: both codes read back by a scanner from the
rendered PDF, the Digital Link one resolving on our own server, its place clear of the stamp's QR, the text and the
hidden-code box, and clear refusals (no GTIN, hidden-code-only labels, stock too small)."""

from __future__ import annotations

import io

import pytest
import zxingcpp

from print_layouts import (NoRoomForBox, NoRoomForLinkCode, hidden_box_rect, link_code_rect, load_templates,
                           render_pdf)
from print_layouts.layout import QUIET, place_qr, qr_sizes
from print_layouts.hidden_box import place_qr_beside_box
from print_layouts.link_code import MIN_MODULE_MM
from print_support import Signer, char_boxes, page_text, rasterise, render_bytes
from stamp_service import printing
from stamp_service.cli import cli
from stamp_service.context import get_storage
from stamp_service.registry import products
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing

TEMPLATES = load_templates()
DPI = 300  # an office laser printer's resolution; the phone reads the printed label at about this detail
PX_PER_MM = DPI / 25.4
URI = "https://tem.ocop.vn/01/08938505974194/10/L2026-11"
GTIN = "8938505974194"
LINK_PATH = "/01/08938505974194/10/A-001"  # the test world's batch A


@pytest.fixture(scope="module")
def signer(tmp_path_factory) -> Signer:
    return Signer(tmp_path_factory.mktemp("keys"))


def _cell_codes(image, template, index: int) -> list:
    """(text, (x0, y0, x1, y1) mm from the label's top-left) of each QR read in one label, as a phone framing
    that label sees it."""
    left, top = template.cell_origin_mm(index)
    crop = image.crop((round(left * PX_PER_MM), round(top * PX_PER_MM),
                       round((left + template.label_width_mm) * PX_PER_MM),
                       round((top + template.label_height_mm) * PX_PER_MM)))
    out = []
    for result in zxingcpp.read_barcodes(crop, formats=zxingcpp.BarcodeFormat.QRCode):
        p = result.position
        xs = [c.x / PX_PER_MM for c in (p.top_left, p.top_right, p.bottom_left, p.bottom_right)]
        ys = [c.y / PX_PER_MM for c in (p.top_left, p.top_right, p.bottom_left, p.bottom_right)]
        out.append((result.text, (min(xs), min(ys), max(xs), max(ys))))
    return out


def _overlap(a, b) -> bool:
    """Whether two (x0, y0, x1, y1) rectangles share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _fits(template, stamp) -> bool:
    try:
        link_code_rect(template, stamp)
    except NoRoomForLinkCode:
        return False
    return True


CASES = [(name, hidden) for name in TEMPLATES for hidden in (False, True)]


@pytest.mark.parametrize("name, hidden", CASES, ids=[f"{n}-{'two-layer' if h else 'plain'}" for n, h in CASES])
def test_both_codes_read_back_and_the_link_code_keeps_clear(signer, name, hidden):
    template = TEMPLATES[name]
    changes = {"link_text": URI, **({"hidden_code": "1234 5678"} if hidden else {})}
    sample = signer.stamp(1, **changes)
    try:
        x, y, w, h = link_code_rect(template, sample)
    except (NoRoomForLinkCode, NoRoomForBox) as exc:
        # refused as a whole: the renderer says the same, and writes nothing
        with pytest.raises(type(exc)):
            render_bytes(render_pdf, [sample], template)
        pytest.skip(f"refused: {exc}")
    stamps = [signer.stamp(4_000_000 + i * 101, **changes) for i in range(template.per_page)]
    pdf = render_bytes(render_pdf, stamps, template)[0]
    image = rasterise(pdf, 0, DPI)
    module = w / 33  # the URI is a version-4 symbol at level M
    assert MIN_MODULE_MM - 0.01 <= module <= 0.34
    main = place_qr_beside_box(template, qr_sizes(sample.qr_text)) if hidden else place_qr(template,
                                                                                             qr_sizes(sample.qr_text))
    assert w < main.module_mm * main.size * 0.75  # the second code is clearly the smaller one
    quiet = QUIET * module
    link_zone = (x - quiet, y - quiet, x + w + quiet, y + h + quiet)
    # inside the label, its quiet zone too; never in the printer's unprintable margin
    assert link_zone[0] >= -0.01 and link_zone[1] >= -0.01
    assert link_zone[2] <= template.label_width_mm + 0.01 and link_zone[3] <= template.label_height_mm + 0.01
    qx, qy, qs = main.x / 2.834645669, -main.y / 2.834645669, main.module_mm * main.size
    main_zone = (qx - QUIET * main.module_mm, qy - QUIET * main.module_mm, qx + qs + QUIET * main.module_mm,
                 qy + qs + QUIET * main.module_mm)
    assert not _overlap((x, y, x + w, y + h), main_zone) and not _overlap(link_zone, (qx, qy, qx + qs, qy + qs))
    if hidden:
        bx, by, bw, bh = hidden_box_rect(template, sample)
        assert not _overlap(link_zone, (bx, by, bx + bw, by + bh))
    # the code takes room from the text, never the label's call to action, product name or serial
    words = " ".join(page_text(pdf).split())
    for expected in ("Quét để xác thực", "Trà hoa", stamps[0].serial_text, stamps[-1].serial_text):
        assert expected in words, expected
    chars = char_boxes(pdf)
    for index in range(template.per_page):
        left, top = template.cell_origin_mm(index)
        if index in (0, template.per_page - 1):
            for char, (l, t, r, b) in chars:
                if left <= (l + r) / 2 <= left + template.label_width_mm and \
                        top <= (t + b) / 2 <= top + template.label_height_mm:
                    assert not _overlap(link_zone, (l - left, t - top, r - left, b - top)), char
            # its ink keeps off the unprintable margin (its white quiet zone may lie there, inside the label,
            # as the stamp QR's does)
            margin = template.paper_margin_mm
            assert left + x >= margin - 0.01 and top + y >= margin - 0.01
            assert template.page_width_mm - (left + x + w) >= margin - 0.01
            assert template.page_height_mm - (top + y + h) >= margin - 0.01
        found = _cell_codes(image, template, index)
        assert sorted(text for text, _ in found) == sorted([stamps[index].qr_text, URI]), f"label {index + 1}"
        link_box = next(box for text, box in found if text == URI)
        # read exactly where link_code_rect says it is (within a module or so)
        assert abs(link_box[0] - x) < 0.5 and abs(link_box[1] - y) < 0.5 and abs(link_box[2] - x - w) < 0.5


def test_some_stock_takes_the_code_and_the_smallest_refuses_it(signer):
    plain = signer.stamp(1, link_text=URI)
    assert _fits(TEMPLATES["a4-24-70x37"], plain) and _fits(TEMPLATES["roll-50x30"], plain)
    assert _fits(TEMPLATES["a4-8-99x67"], signer.stamp(1, link_text=URI, hidden_code="1234 5678"))
    # with a hidden-code box as well, a 70 x 42 mm label would keep only its serial and host: refused
    assert not _fits(TEMPLATES["a4-21-70x42"], signer.stamp(1, link_text=URI, hidden_code="1234 5678"))
    for name in ("a4-65-38x21", "roll-30x20"):
        with pytest.raises(NoRoomForLinkCode, match="no room for a GS1 Digital Link code"):
            link_code_rect(TEMPLATES[name], plain)
    # without the option nothing changes: one QR per label, as before
    template = TEMPLATES["a4-24-70x37"]
    pdf = render_bytes(render_pdf, [signer.stamp(7)], template)[0]
    assert [text for text, _ in _cell_codes(rasterise(pdf, 0, DPI), template, 0)] == [signer.stamp(7).qr_text]


# ----------------------------------------------------------------------------- through the service


@pytest.fixture
def with_gtin(app, world):
    with app.app_context():
        products.update(get_storage(), world.product_a, {"gtin": GTIN})


def _sample_fields() -> dict:
    """A label of the test world's run A, for asking where things go (the stamp text has its real length)."""
    import datetime as dt

    return dict(qr_text="HTTPS://TEM.EXAMPLE.VN/S/" + "9" * 304, serial_text="0 000 001-1", product_name="Trà hoa vàng",
                producer_name="HTX", stars=4, lot="A-001", production_date=dt.date(2026, 1, 1), expiry_date=None,
                host="tem.example.vn")


def _link_of_first_label(pdf: bytes, template) -> list[str]:
    return [text for text, _ in _cell_codes(rasterise(pdf, 0, DPI), template, 0)]


def test_portal_prints_the_link_and_our_server_resolves_it(app, client, login, world, with_gtin):
    session = login("producer_a")
    page = session.get(f"/portal/runs/{world.run_a}").get_data(as_text=True)
    assert 'name="digital_link"' in page and "In thêm mã GS1 Digital Link" in page
    response = session.post(f"/portal/runs/{world.run_a}/stamps.pdf",
                            {"template": "a4-24-70x37", "digital_link": "1", "last": str(world.first_serial)})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    texts = _link_of_first_label(response.data, TEMPLATES["a4-24-70x37"])
    expected = f"https://tem.example.vn{LINK_PATH}"
    assert len(texts) == 2 and expected in texts
    stamp_text = next(t for t in texts if t != expected)
    assert stamp_text.startswith("HTTPS://TEM.EXAMPLE.VN/S/")
    with app.app_context():
        run = issuing.get_run(get_storage(), world.run_a)
        assert dict(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"]))[world.first_serial] == stamp_text
    resolved = client.get(expected.removeprefix("https://tem.example.vn"))
    assert resolved.status_code == 200 and "Trà hoa vàng" in resolved.get_data(as_text=True)
    # the preview shows it too, and the run page keeps the box ticked
    shown = session.post(f"/portal/runs/{world.run_a}/print-preview", {"template": "a4-24-70x37", "digital_link": "1"})
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "digital_link=1" in html and 'id="f-digital_link" checked' in html
    # the preview (a small screen image, too coarse to scan) shows the code where link_code_rect puts it
    from PIL import Image, ImageStat

    url = f"/portal/runs/{world.run_a}/preview.png?template=a4-24-70x37"
    with_code, without = (Image.open(io.BytesIO(session.get(url + extra).data)).convert("L")
                          for extra in ("&digital_link=1", ""))
    template = TEMPLATES["a4-24-70x37"]
    x, y, w, h = link_code_rect(template, printing.LabelStamp(**{**_sample_fields(), "link_text": expected}))
    px = with_code.width / template.page_width_mm
    left, top = template.cell_origin_mm(0)
    area = tuple(round(v * px) for v in (left + x, top + y, left + x + w, top + y + h))
    inked, blank = (ImageStat.Stat(image.crop(area)).mean[0] for image in (with_code, without))
    assert inked < blank - 40, (inked, blank)  # near white without the option, a QR's dark modules with it


def test_portal_refuses_the_link_beside_its_field(app, login, world):
    session = login("producer_a")  # the test world's product has no GTIN yet
    refused = session.post(f"/portal/runs/{world.run_a}/stamps.pdf", {"template": "a4-24-70x37", "digital_link": "1"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert '<p class="error" id="e-digital_link">Sản phẩm này chưa có mã GTIN' in html
    assert 'href="#f-digital_link">Mã GS1 Digital Link</a>' in html
    with app.app_context():  # a refused print does not replace the saved stock
        assert get_storage().find_one("print_settings", producer_id=world.producer_a) is None
    english = session.post(f"/portal/runs/{world.run_a}/print-preview?lang=en",
                           {"template": "a4-24-70x37", "digital_link": "1"})
    assert english.status_code == 400
    assert 'id="e-digital_link">This product has no GTIN' in english.get_data(as_text=True)
    # without the option the same run prints
    assert session.post(f"/portal/runs/{world.run_a}/stamps.pdf", {"template": "a4-24-70x37"}).status_code == 200
    # stock too small, with a GTIN: refused beside the same field, nothing rendered
    with app.app_context():
        products.update(get_storage(), world.product_a, {"gtin": GTIN})
    small = session.post(f"/portal/runs/{world.run_a}/stamps.pdf", {"template": "a4-65-38x21", "digital_link": "1"})
    html = small.get_data(as_text=True)
    assert small.status_code == 400, html
    assert "Nhãn 38,1 × 21,2 mm không đủ chỗ cho mã GS1 Digital Link" in html
    assert 'id="e-digital_link"' in html
    preview = session.get(f"/portal/runs/{world.run_a}/preview.png?template=a4-65-38x21&digital_link=1")
    assert preview.status_code == 400


def test_cli_prints_the_link_and_refuses_clearly(app, client, runner, world, with_gtin, tmp_path):
    out = tmp_path / "dl.pdf"
    result = runner.invoke(cli, ["print", str(world.run_a), "--template", "roll-50x30", "--digital-link",
                                 "--to", str(world.first_serial + 1), "-o", str(out)])
    assert result.exit_code == 0, result.output
    pdf = out.read_bytes()
    for page in (0, 1):
        texts = [text for text, _ in _cell_codes(rasterise(pdf, page, DPI), TEMPLATES["roll-50x30"], 0)]
        assert f"https://tem.example.vn{LINK_PATH}" in texts and len(texts) == 2
    assert client.get(LINK_PATH).status_code == 200
    small = runner.invoke(cli, ["print", str(world.run_a), "--template", "roll-30x20", "--digital-link",
                                "-o", str(tmp_path / "small.pdf")])
    assert small.exit_code == 1 and "no room for a GS1 Digital Link code" in small.output
    assert "Traceback" not in small.output and not (tmp_path / "small.pdf").exists()
    with app.app_context():
        products.update(get_storage(), world.product_a, {"gtin": None})
    no_gtin = runner.invoke(cli, ["print", str(world.run_a), "--template", "a4-24-70x37", "--digital-link",
                                  "-o", str(tmp_path / "b.pdf")])
    assert no_gtin.exit_code == 1 and "has no GTIN" in no_gtin.output and "Traceback" not in no_gtin.output
    assert not (tmp_path / "b.pdf").exists()


def test_hidden_only_labels_cannot_carry_the_link(app, runner, world, with_gtin, tmp_path):
    issued = runner.invoke(cli, ["issue", str(world.batch_a), "--count", "2", "--hidden-code", "--json"])
    run_id = int(issued.output.split('"id": ')[1].split(",")[0])
    result = runner.invoke(cli, ["print", str(run_id), "--template", "a4-65-38x21", "--hidden-only", "--digital-link",
                                 "-o", str(tmp_path / "h.pdf")])
    assert result.exit_code == 1 and "no QR code" in result.output
    with app.app_context():  # the library call refuses the same way
        run = issuing.get_run(get_storage(), run_id)
        with pytest.raises(printing.ValidationError) as refused:
            printing.labels(get_storage(), keystore(app), run, "tem.example.vn", content="hidden-only",
                            digital_link=True)
        assert refused.value.fields["digital_link"].key == "run.dl_hidden_only"


def test_templates_command_says_which_stock_takes_the_code(runner):
    import json

    rows = {r["name"]: r for r in json.loads(runner.invoke(cli, ["templates", "--json"]).output)}
    assert rows["a4-24-70x37"]["digital_link"] is True and rows["roll-50x30"]["digital_link"] is True
    assert rows["a4-65-38x21"]["digital_link"] is False and rows["roll-30x20"]["digital_link"] is False
    assert "no Digital Link code" in runner.invoke(cli, ["templates"]).output


def test_api_gives_the_link_or_a_clear_400(app, api, client, world):
    producer = api("producer_a")
    refused = producer("GET", f"/api/v1/runs/{world.run_a}/digital-link")
    assert refused.status_code == 400 and refused.is_json
    assert "GTIN" in refused.get_json()["fields"]["digital_link"]
    with app.app_context():
        products.update(get_storage(), world.product_a, {"gtin": GTIN})
    answer = producer("GET", f"/api/v1/runs/{world.run_a}/digital-link")
    assert answer.status_code == 200
    assert answer.get_json() == {"uri": f"https://tem.example.vn{LINK_PATH}", "gtin": "08938505974194", "lot": "A-001"}
    assert client.get(answer.get_json()["uri"].removeprefix("https://tem.example.vn")).status_code == 200
    assert api("producer_b")("GET", f"/api/v1/runs/{world.run_a}/digital-link").status_code == 404
    assert api("inspector")("GET", f"/api/v1/runs/{world.run_a}/digital-link").status_code == 403
