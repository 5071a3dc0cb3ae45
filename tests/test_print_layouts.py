"""print_layouts: label templates and the PDF renderer, read back as a scanner does (pypdfium2 + zxing-cpp)."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys

import pytest
import zxingcpp
import qrcode
from PIL import Image, ImageFilter
from qrcode.util import MODE_ALPHA_NUM, MODE_NUMBER, QRData

from print_layouts import (Calibration, LabelStamp, Template, TemplateError, load_templates, preview_png, render_pdf,
                           render_test_page)
from print_layouts import qrmatrix
from print_layouts.layout import QUIET, place_qr, qr_sizes
from print_layouts.templates import SAFE_MARGIN_MM
from print_support import (HOST, PRODUCER, PRODUCT, Signer, char_boxes, decode, page_text, rasterise,
                           render_bytes)
from stamp_service.stamps.qr import LEVELS, make_qr
from stamp_service.stamps.signing import verify_stamp

TEMPLATES = load_templates()
SMALL = [name for name, t in TEMPLATES.items() if t.label_height_mm <= 26]


@pytest.fixture(scope="module")
def signer(tmp_path_factory) -> Signer:
    return Signer(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def records(signer):
    return signer.store.records()


def _stamps(signer: Signer, first: int, count: int, **changes) -> list[LabelStamp]:
    return [signer.stamp(first + i * 7919, **changes) for i in range(count)]


def _render(stamps, template, **kwargs) -> bytes:
    return render_bytes(render_pdf, stamps, template, **kwargs)[0]


def _expect_cells(found, stamps, template, first_slot=0):
    """Each decoded QR sits in the cell of the stamp it encodes."""
    by_text = {s.qr_text: (first_slot + i) % template.per_page for i, s in enumerate(stamps)}
    assert len({f.text for f in found}) == len(found), "a QR was read twice"
    for f in found:
        assert f.text in by_text, "decoded a text that was not printed"
        assert f.cell == by_text[f.text], f"stamp for cell {by_text[f.text]} found in cell {f.cell}"
    return by_text


# ----------------------------------------------------------------------------- the QR encoder


def _qrcode_matrix(text: str, level: str, version: int, mask: int) -> list[list[bool]]:
    code = qrcode.QRCode(version=version, error_correction=LEVELS[level], mask_pattern=mask, border=0)
    for mode, data in qrmatrix.segment(text):
        code.add_data(QRData(data.encode(), mode={"alnum": MODE_ALPHA_NUM, "numeric": MODE_NUMBER}[mode]))
    code.make(fit=False)
    return code.modules


def test_qrmatrix_builds_the_same_symbols_as_qrcode(signer):
    text = signer.text(4_000_000_001)
    for level in "MQH":
        symbol = qrmatrix.encode(text, level)
        assert symbol.version == make_qr(text, level).version
        for mask in range(8):
            mine = qrmatrix.encode(text, level, version=symbol.version, mask=mask)
            assert mine.matrix() == _qrcode_matrix(text, level, symbol.version, mask), (level, mask)
    for short, level in (("HTTPS://A.VN/S/12", "L"), ("HELLO WORLD", "Q"), ("12345678901", "H")):
        symbol = qrmatrix.encode(short, level)
        assert symbol.matrix() == _qrcode_matrix(short, level, symbol.version, symbol.mask)


def test_qrmatrix_symbols_decode_and_refuse_what_does_not_fit(signer):
    text = signer.text(77)
    for level in "MQH":
        symbol = qrmatrix.encode(text, level)
        scale, n = 4, symbol.size
        image = Image.new("L", ((n + 8) * scale,) * 2, 255)
        pixels = image.load()
        for r in range(n):
            for c in range(n):
                if symbol.module(r, c):
                    for dy in range(scale):
                        for dx in range(scale):
                            pixels[(c + 4) * scale + dx, (r + 4) * scale + dy] = 0
        # QR codes only: zxing-cpp 3.1 (our floor) also "finds" a short 1D code in the QR's modules
        assert [b.text for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)] == [text]
    with pytest.raises(qrmatrix.QRCapacityError):
        qrmatrix.encode(text, "H", max_version=8)


# ----------------------------------------------------------------------------- every template, read back


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_qr_of_every_template_decodes_to_its_stamp(name, signer, records):
    template = TEMPLATES[name]
    extra = min(3, template.per_page)
    stamps = _stamps(signer, 1_000_000 + 17 * len(name), template.per_page + extra)
    pdf, stats = render_bytes(render_pdf, iter(stamps), template)
    assert (stats.count, stats.pages) == (len(stamps), 2 if template.per_page > 1 else len(stamps))
    found = []
    for page in range(min(stats.pages, 2)):
        image = rasterise(pdf, page, 300)
        found += [(page, f) for f in decode(image, 300, template)]
    pages = [stamps[:template.per_page], stamps[template.per_page:]]
    if template.per_page == 1:
        pages = [stamps[:1], stamps[1:2]]
    for page, expected in enumerate(pages):
        got = [f for p, f in found if p == page]
        _expect_cells(got, expected, template)
        assert {f.text for f in got} == {s.qr_text for s in expected}, f"page {page + 1}: not every QR was read"
    for _, f in found:
        verified = verify_stamp(f.text, records)
        assert verified.claims.stars == 4 and verified.host == HOST


@pytest.mark.parametrize("name", SMALL)
def test_small_templates_decode_at_150_dpi_blurred(name, signer):
    template = TEMPLATES[name]
    stamps = _stamps(signer, 3_000_000, template.per_page)
    pdf = _render(stamps, template)
    image = rasterise(pdf, 0, 150).filter(ImageFilter.GaussianBlur(1))
    found = decode(image, 150, template, sharpen=True)
    _expect_cells(found, stamps, template)
    assert len(found) == len(stamps)


def test_qr_drawn_as_rectangle_paths_decodes_too(signer):
    template = TEMPLATES["a4-40-48x25"]
    stamps = _stamps(signer, 5_000_000, 8)
    pdf = _render(stamps, template, qr_drawing="paths")
    assert b"/Type3" not in pdf
    found = decode(rasterise(pdf, 0, 300), 300, template)
    _expect_cells(found, stamps, template)
    assert len(found) == 8


# ----------------------------------------------------------------------------- text, fonts, PDF structure


def test_vietnamese_text_is_real_text_in_an_embedded_font(signer):
    template = TEMPLATES["a4-24-70x37"]
    stamps = _stamps(signer, 2_000_000, 5)
    pdf = _render(stamps, template)
    text = " ".join(page_text(pdf).split())  # lines may wrap
    for wanted in (PRODUCT, PRODUCER, "4 sao OCOP", "Lô: L2026-11", "NSX: 01/11/2026", "HSD: 01/11/2027",
                   "tem.ocop.vn", *(s.serial_text for s in stamps)):
        assert wanted in text, wanted
    assert all(ch.isprintable() for ch in text), "the QR glyph codes leaked into the text"
    assert b"/FontFile2" in pdf and b"SourceSansPro" in pdf
    assert b"/Subtype /Image" not in pdf and b"/Image" not in pdf
    assert b"/PrintScaling /None" in pdf
    english = page_text(_render(stamps[:1], template, lang="en"))
    assert "4-star OCOP" in english and "MFD: 01/11/2026" in english and PRODUCT in english


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_page_size_and_text_stay_off_the_qr_and_inside_the_label(name, signer):
    template = TEMPLATES[name]
    stamps = _stamps(signer, 6_000_000, min(template.per_page, 6))
    pdf = _render(stamps, template, lang="vi")
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    width, height = document[0].get_size()
    document.close()
    assert width == pytest.approx(template.page_width_mm * 72 / 25.4, abs=0.01)
    assert height == pytest.approx(template.page_height_mm * 72 / 25.4, abs=0.01)
    place = place_qr(template, qr_sizes(stamps[0].qr_text))
    module_mm = place.module_mm
    side = module_mm * place.size
    boxes = char_boxes(pdf)
    assert boxes
    slack = 0.15  # glyph boxes vs the outlines' exact extent
    for index in range(len(stamps)):
        left, top = template.cell_origin_mm(index)
        qx, qy = left + place.x / 72 * 25.4, top - place.y / 72 * 25.4
        # the quiet zone lies inside the label
        assert qx - QUIET * module_mm >= left - 1e-6 and qy - QUIET * module_mm >= top - 1e-6
        assert qx + side + QUIET * module_mm <= left + template.label_width_mm + 1e-6
        assert qy + side + QUIET * module_mm <= top + template.label_height_mm + 1e-6
        mine = [b for _, b in boxes if left <= (b[0] + b[2]) / 2 <= left + template.label_width_mm
                and top <= (b[1] + b[3]) / 2 <= top + template.label_height_mm]
        assert mine, f"label {index}: no text"
        for l, t, r, b in mine:
            assert l >= left + SAFE_MARGIN_MM - slack and r <= left + template.label_width_mm - SAFE_MARGIN_MM + slack
            assert t >= top + SAFE_MARGIN_MM - slack and b <= top + template.label_height_mm - SAFE_MARGIN_MM + slack
            overlap_x = min(r, qx + side + QUIET * module_mm) - max(l, qx - QUIET * module_mm)
            overlap_y = min(b, qy + side + QUIET * module_mm) - max(t, qy - QUIET * module_mm)
            assert overlap_x <= slack or overlap_y <= slack, f"label {index}: text over the QR or its quiet zone"
        chars = "".join(c for c, b in boxes)
        assert chars  # something was drawn
    if template.label_height_mm <= 21:
        assert place.level == "M"


def test_long_names_are_shrunk_then_cut_not_drawn_over_the_qr(signer):
    template = TEMPLATES["a4-65-38x21"]
    long_name = "Trà hoa vàng Ba Chẽ thượng hạng đóng hộp quà tặng đặc biệt cao cấp " * 2
    stamps = _stamps(signer, 7_000_000, 2, product_name=long_name, producer_name=long_name)
    pdf = _render(stamps, template)
    text = page_text(pdf)
    assert "…" in text and stamps[0].serial_text in text and "tem.ocop.vn" in text
    place = place_qr(template, qr_sizes(stamps[0].qr_text))
    qr_right = (place.x / 72 * 25.4) + place.module_mm * (place.size + QUIET)
    for _, (l, t, r, b) in char_boxes(pdf):
        if t < template.cell_origin_mm(0)[1] + template.label_height_mm and r < template.cell_origin_mm(1)[0]:
            assert l >= template.margin_left_mm + qr_right - 0.15
    assert len(decode(rasterise(pdf, 0, 300), 300, template)) == 2


# ----------------------------------------------------------------------------- printer realities


def test_start_position_leaves_the_used_labels_empty(signer):
    template = TEMPLATES["a4-65-38x21"]
    stamps = _stamps(signer, 8_000_000, 3)
    pdf = _render(stamps, template, start=5)
    found = decode(rasterise(pdf, 0, 300), 300, template)
    assert sorted(f.cell for f in found) == [4, 5, 6]
    _expect_cells(found, stamps, template, first_slot=4)
    with pytest.raises(ValueError, match="start"):
        _render(stamps, template, start=66)
    with pytest.raises(ValueError, match="start"):
        _render(stamps, TEMPLATES["roll-50x30"], start=2)


def test_calibration_moves_and_scales_the_whole_page(signer):
    template = TEMPLATES["a4-24-70x37"]
    stamps = _stamps(signer, 9_000_000, 24)
    plain = {f.text: f for f in decode(rasterise(_render(stamps, template), 0, 300), 300, template)}
    shifted = {f.text: f for f in decode(rasterise(_render(stamps, template, calibration=Calibration(
        offset_x_mm=2.0, offset_y_mm=-1.5)), 0, 300), 300, template)}
    assert len(plain) == len(shifted) == 24
    for text, f in plain.items():
        assert shifted[text].x_mm - f.x_mm == pytest.approx(2.0, abs=0.15)
        assert shifted[text].y_mm - f.y_mm == pytest.approx(-1.5, abs=0.15)
    scaled = {f.text: f for f in decode(rasterise(_render(stamps, template, calibration=Calibration(
        scale_x=0.97, scale_y=1.01)), 0, 300), 300, template)}
    assert len(scaled) == 24
    for text, f in plain.items():  # about the page's top-left corner
        assert scaled[text].x_mm == pytest.approx(f.x_mm * 0.97, abs=0.15)
        assert scaled[text].y_mm == pytest.approx(f.y_mm * 1.01, abs=0.15)


def test_calibration_limits():
    with pytest.raises(TemplateError, match="offset_x_mm must be between -10 and 10 mm"):
        Calibration(offset_x_mm=12)
    with pytest.raises(TemplateError, match="scale_y must be between 0.9 and 1.1"):
        Calibration(scale_y=1.2)
    with pytest.raises(TemplateError, match="must be a number"):
        Calibration(offset_y_mm=float("nan"))


def test_cut_lines_and_crop_marks_are_optional(signer):
    stamps = _stamps(signer, 9_100_000, 2)
    sheet = TEMPLATES["a4-65-38x21"]
    assert b"0.6 G" not in _render(stamps, sheet) and b"0.6 G" not in _render(stamps, sheet, cut_lines=False)
    with_lines = _render(stamps, sheet, cut_lines=True)
    assert len(decode(rasterise(with_lines, 0, 300), 300, sheet)) == 2
    roll = _render(stamps[:1], TEMPLATES["roll-30x20"], cut_lines=True)
    assert len(decode(rasterise(roll, 0, 300), 300, TEMPLATES["roll-30x20"])) == 1


def test_stamps_are_streamed_with_progress(signer):
    template = TEMPLATES["a4-8-99x67"]
    pulled = []
    written_at_progress = []

    class Sink(io.BytesIO):
        pass

    sink = Sink()

    def source():
        for i in range(20):
            pulled.append(i)
            yield signer.stamp(9_200_000 + i)

    def progress(count):
        written_at_progress.append((count, len(pulled), sink.tell()))

    stats = render_pdf(source(), template, sink, progress=progress)
    assert stats.count == 20 and stats.pages == 3 and stats.bytes == len(sink.getvalue())
    assert [c for c, _, _ in written_at_progress] == [8, 16, 20]
    first_count, first_pulled, first_written = written_at_progress[0]
    assert first_pulled == 8, "the renderer read ahead of the page it was building"
    assert first_written > 1000, "the first page was not written out before the next was built"
    with pytest.raises(ValueError, match="no stamps"):
        render_pdf(iter(()), template, io.BytesIO())


def test_output_to_a_path(tmp_path, signer):
    out = tmp_path / "stamps.pdf"
    stats = render_pdf([signer.stamp(11)], TEMPLATES["roll-40x30"], out, title="Lô L2026-11")
    assert out.read_bytes().startswith(b"%PDF-") and stats.bytes == out.stat().st_size


# ----------------------------------------------------------------------------- test page and preview


def test_alignment_test_page(tmp_path):
    template = TEMPLATES["a4-65-38x21"]
    pdf, _ = render_bytes(render_test_page, template, calibration=Calibration(1.0, -0.5, 1.0, 0.99))
    text = page_text(pdf)
    assert "a4-65-38x21" in text and "+1.0 mm" in text and "-0.5 mm" in text and "0.990" in text
    assert "Trang căn chỉnh" in text and "65" in text and "200" in text  # position numbers, ruler marks
    assert b"/PrintScaling /None" in pdf
    english = page_text(render_bytes(render_test_page, TEMPLATES["roll-30x20"], lang="en")[0])
    assert "Alignment test page" in english


def test_preview_png(signer):
    template = TEMPLATES["a4-24-70x37"]
    png = preview_png(iter(_stamps(signer, 9_300_000, 30)), template, dpi=100, start=3)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert abs(image.width - 210 / 25.4 * 100) <= 1 and abs(image.height - 297 / 25.4 * 100) <= 1


# ----------------------------------------------------------------------------- templates


def _valid(**changes) -> dict:
    data = dict(name="my-stock", title="Mine", kind="sheet", page_width_mm=210, page_height_mm=297, rows=10,
                columns=3, label_width_mm=70, label_height_mm=29.7)
    data.update(changes)
    return data


def test_shipped_templates_are_the_common_stocks():
    shipped = {name: (t.kind, t.per_page, t.label_width_mm, t.label_height_mm) for name, t in TEMPLATES.items()}
    assert shipped["a4-65-38x21"] == ("sheet", 65, 38.1, 21.2)
    assert shipped["a4-40-48x25"] == ("sheet", 40, 48.5, 25.4)
    assert shipped["a4-24-70x37"] == ("sheet", 24, 70, 37)
    assert shipped["a4-21-70x42"] == ("sheet", 21, 70, 42.3)
    assert shipped["a4-8-99x67"] == ("sheet", 8, 99.1, 67.7)
    for name, size in (("roll-50x30", (50, 30)), ("roll-40x30", (40, 30)), ("roll-30x20", (30, 20))):
        t = TEMPLATES[name]
        assert (t.kind, t.per_page, t.label_width_mm, t.label_height_mm) == ("roll", 1, *size)
        assert (t.page_width_mm, t.page_height_mm) == size
    t = TEMPLATES["a4-65-38x21"]
    assert t.margin_left_mm * 2 + 5 * 38.1 + 4 * t.gap_x_mm == pytest.approx(210, abs=0.3)
    assert t.margin_top_mm * 2 + 13 * 21.2 == pytest.approx(297, abs=0.1)


@pytest.mark.parametrize("changes, message", [
    (dict(rows=0), "rows must be at least 1"),
    (dict(columns=2.5), "columns must be a whole number"),
    (dict(label_width_mm=71.1), "labels do not fit the page width by 3.3 mm"),
    (dict(margin_top_mm=5, label_height_mm=29.5, gap_y_mm=0.2), "labels do not fit the page height by 4.8 mm"),
    (dict(kind="reel"), "kind must be 'sheet' or 'roll'"),
    (dict(label_height_mm=-3), "label_height_mm must not be negative"),
    (dict(name="My Stock"), "name must be"),
    (dict(kind="roll"), "a roll template has one label per page"),
    (dict(corner_radius_mm=20), "corner_radius_mm must be at most half"),
    (dict(label_width_mm=12, label_height_mm=8), "labels must be at least 15 x 10 mm"),
])
def test_template_validation_messages(changes, message):
    with pytest.raises(TemplateError, match=message.replace("(", r"\(").replace(".", r"\.")):
        Template.from_dict(_valid(**changes))


def test_a_label_too_small_for_the_qr_is_refused(signer):
    tiny = Template.from_dict(_valid(rows=1, columns=1, label_width_mm=16, label_height_mm=10))
    with pytest.raises(TemplateError, match="too small for a stamp QR"):
        _render([signer.stamp(1)], tiny)


def test_user_templates_are_loaded_and_broken_files_named(tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    (good / "mine.json").write_text(json.dumps(_valid()), encoding="utf-8")
    templates = load_templates([good])
    assert templates["my-stock"].per_page == 30 and "a4-65-38x21" in templates
    for content, problem in (
        ("{ not json", "is not valid JSON (line 1"),
        (json.dumps(_valid(colums=3)), "unknown field 'colums'"),
        (json.dumps({k: v for k, v in _valid().items() if k != "rows"}), "missing field 'rows'"),
        (json.dumps(_valid(label_width_mm=80)), "labels do not fit the page width by 30.0 mm"),
        (json.dumps([1, 2]), "a template file holds one JSON object"),
    ):
        broken = tmp_path / f"broken{abs(hash(content))}"
        broken.mkdir()
        path = broken / "bad.json"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(TemplateError) as caught:
            load_templates([broken])
        assert str(path) in str(caught.value) and problem in str(caught.value)
    with pytest.raises(TemplateError, match="no such template folder"):
        load_templates([tmp_path / "missing"])


def test_no_flask_in_print_layouts():
    code = ("import sys, print_layouts, print_layouts.render; "
            "bad = [m for m in sys.modules if m.split('.')[0] == 'flask' or m.startswith(('stamp_service.app', "
            "'stamp_service.portal', 'stamp_service.api'))]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dates_are_day_month_year_and_optional(signer):
    template = TEMPLATES["a4-8-99x67"]
    pdf = _render([signer.stamp(12, lot=None, production_date=dt.date(2026, 1, 2), expiry_date=None)], template)
    text = page_text(pdf)
    assert "NSX: 02/01/2026" in text and "HSD" not in text and "Lô" not in text


def test_documents_render_concurrently(signer):
    from concurrent.futures import ThreadPoolExecutor

    template = TEMPLATES["roll-50x30"]
    stamps = _stamps(signer, 9_400_000, 3)

    def one(i: int) -> bytes:
        names = [f"Sản phẩm số {i} ẩm thực Hạ Long", f"Cơ sở {i} Đầm Hà"]
        batch = [LabelStamp(**{**s.__dict__, "product_name": names[0], "producer_name": names[1]}) for s in stamps]
        return _render(batch, template)

    with ThreadPoolExecutor(4) as pool:
        pdfs = list(pool.map(one, range(8)))
    texts = [" ".join(page_text(pdf, 2).split()) for pdf in pdfs]  # pdfium itself is not thread-safe
    for i, text in enumerate(texts):
        assert f"Sản phẩm số {i} ẩm thực Hạ Long" in text and f"Cơ sở {i} Đầm Hà" in text


def test_a_tall_user_label_puts_the_text_under_the_qr(signer):
    template = Template.from_dict(dict(name="tall-40x50", title="Cuộn 40 × 50 mm", kind="roll", page_width_mm=40,
                                       page_height_mm=50, rows=1, columns=1, label_width_mm=40, label_height_mm=50))
    stamps = _stamps(signer, 9_500_000, 2)
    pdf = _render(stamps, template)
    found = decode(rasterise(pdf, 0, 300), 300, template)
    assert [f.text for f in found] == [stamps[0].qr_text]
    place = place_qr(template, qr_sizes(stamps[0].qr_text))
    qr_bottom = -place.y / 72 * 25.4 + place.module_mm * (place.size + QUIET)
    boxes = char_boxes(pdf)
    assert PRODUCT in " ".join(page_text(pdf).split())
    assert all(t >= qr_bottom - 0.15 and b <= 50 - SAFE_MARGIN_MM + 0.15 for _, (l, t, r, b) in boxes)
