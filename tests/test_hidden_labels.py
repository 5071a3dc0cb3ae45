"""print_layouts for two-layer stamps: the hidden-code box beside the QR and the hidden-code-only sheet, read
back as a scanner and a text extractor do (pypdfium2 + zxing-cpp)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from print_layouts import LabelStamp, NoRoomForBox, Template, hidden_box_rect, load_templates, preview_png, render_pdf
from print_layouts.hidden_box import BOX_MIN_MM, place_qr_beside_box
from print_layouts.layout import EC_UP_MODULE_MM, QUIET, WORDS, qr_sizes
from print_layouts.render import describe
from print_layouts.templates import SAFE_MARGIN_MM
from print_support import Signer, char_boxes, decode, page_text, rasterise, render_bytes
from stamp_service.stamps.hidden import format_code, hidden_code

TEMPLATES = load_templates()
SECRET = b"test-only hidden-code secret, 32"
BOXED = [name for name in TEMPLATES if describe(TEMPLATES[name], "HTTPS://TEM.OCOP.VN/S/" + "9" * 304)["hidden_box"]]
TOO_SMALL = [name for name in TEMPLATES if name not in BOXED]
SLACK = 0.15  # glyph boxes vs the outlines' exact extent (mm)


@pytest.fixture(scope="module")
def signer(tmp_path_factory) -> Signer:
    return Signer(tmp_path_factory.mktemp("keys"))


def _stamps(signer: Signer, first: int, count: int, *, qr: bool = True) -> list[LabelStamp]:
    serials = [first + i * 7919 for i in range(count)]
    return [signer.stamp(s, hidden_code=format_code(hidden_code(SECRET, s)), **({} if qr else {"qr_text": ""}))
            for s in serials]


def _label_rect(template: Template, index: int, rect: tuple[float, float, float, float]):
    left, top = template.cell_origin_mm(index)
    x, y, w, h = rect
    return left + x, top + y, left + x + w, top + y + h


def _inside(box, rect) -> bool:
    l, t, r, b = box
    cx, cy = (l + r) / 2, (t + b) / 2
    return rect[0] <= cx <= rect[2] and rect[1] <= cy <= rect[3]


def _check_codes_in_boxes(pdf: bytes, template: Template, stamps: list[LabelStamp], rect) -> None:
    """Each label's hidden code is drawn inside that label's declared box, and nothing else is."""
    chars = char_boxes(pdf)
    for index, stamp in enumerate(stamps):
        box = _label_rect(template, index, rect)
        inside = "".join(c for c, b in chars if _inside(b, box))
        assert inside == stamp.hidden_code.replace(" ", ""), f"label {index}: {inside!r} in the box"
        for c, (l, t, r, b) in chars:  # the code's glyphs lie wholly in the box, with room for the foil
            if _inside((l, t, r, b), box):
                assert l >= box[0] + 0.5 and r <= box[2] - 0.5 and t >= box[1] + 0.5 and b <= box[3] - 0.5


@pytest.mark.parametrize("name", BOXED)
def test_every_label_has_its_qr_in_its_cell_and_its_code_in_its_box(name, signer):
    template = TEMPLATES[name]
    stamps = _stamps(signer, 1_000_000 + 31 * len(name), template.per_page)
    pdf, stats = render_bytes(render_pdf, stamps, template)
    assert (stats.count, stats.pages) == (template.per_page, 1)
    found = decode(rasterise(pdf, 0, 300), 300, template)
    by_text = {s.qr_text: i for i, s in enumerate(stamps)}
    assert {f.text for f in found} == set(by_text), "not every QR was read"
    assert all(f.cell == by_text[f.text] for f in found)
    rect = hidden_box_rect(template, stamps[0])
    assert rect[2] >= BOX_MIN_MM[0] - 1e-6 and rect[3] >= BOX_MIN_MM[1] - 1e-6
    _check_codes_in_boxes(pdf, template, stamps, rect)
    for stamp in stamps:  # the hidden code is never part of what the QR says
        assert stamp.hidden_code.replace(" ", "") not in stamp.qr_text
    text = " ".join(page_text(pdf).split())
    assert text.count("Cào lớp bạc, nhập mã để xác thực") == template.per_page
    assert all(s.hidden_code in text and s.serial_text in text for s in stamps)


@pytest.mark.parametrize("name", BOXED)
def test_the_box_stays_off_the_qr_and_inside_the_label(name, signer):
    template = TEMPLATES[name]
    stamp = _stamps(signer, 2_000_000, 1)[0]
    x, y, w, h = hidden_box_rect(template, stamp)
    assert x >= SAFE_MARGIN_MM - 1e-6 and y >= SAFE_MARGIN_MM - 1e-6
    assert x + w <= template.label_width_mm - SAFE_MARGIN_MM + 1e-6
    assert y + h <= template.label_height_mm - SAFE_MARGIN_MM + 1e-6
    pdf = render_bytes(render_pdf, [stamp], template)[0]
    found = decode(rasterise(pdf, 0, 600), 600, template)
    assert [f.text for f in found] == [stamp.qr_text]
    # the QR's centre, and its whole symbol with the quiet zone, lie to the left of (or above) the box
    image = rasterise(pdf, 0, 300)
    px = lambda mm: int(mm / 25.4 * 300)  # noqa: E731
    left, top = template.cell_origin_mm(0)
    inside_box = image.crop((px(left + x + 0.6), px(top + y + 0.6), px(left + x + w - 0.6), px(top + y + h - 0.6)))
    dark = sum(inside_box.histogram()[:128]) / (inside_box.width * inside_box.height)
    assert dark < 0.25, "the box is filled with something other than its code"
    place = place_qr_beside_box(template, qr_sizes(stamp.qr_text))
    assert place.module_mm >= EC_UP_MODULE_MM  # the box takes room from the text, not the QR's readability
    qx, qy = place.x / 72 * 25.4 - QUIET * place.module_mm, -place.y / 72 * 25.4 - QUIET * place.module_mm
    q_side = place.module_mm * (place.size + 2 * QUIET)
    assert x >= qx + q_side - 1e-6 or y >= qy + q_side - 1e-6, "the box overlaps the QR or its quiet zone"
    # every other glyph on the label is outside the box
    others = [b for c, b in char_boxes(pdf) if not c.isdigit()]
    box = _label_rect(template, 0, (x, y, w, h))
    assert not any(_inside(b, box) for b in others)


@pytest.mark.parametrize("name", TOO_SMALL)
def test_labels_too_small_for_a_box_are_refused_with_advice(name, signer):
    template = TEMPLATES[name]
    stamps = _stamps(signer, 3_000_000, 2)
    with pytest.raises(NoRoomForBox) as exc:
        render_bytes(render_pdf, stamps, template)
    message = str(exc.value)
    assert f"{template.label_width_mm:g} x {template.label_height_mm:g} mm" in message
    assert "separate hidden-code sheet" in message
    # the same stamps without their hidden codes print as before
    plain = [LabelStamp(**{**s.__dict__, "hidden_code": None}) for s in stamps][:template.per_page]
    assert len(decode(rasterise(render_bytes(render_pdf, plain, template)[0], 0, 300), 300, template)) == len(plain)


def test_the_small_stocks_are_the_ones_refused():
    assert {"a4-65-38x21", "roll-30x20"} <= set(TOO_SMALL)
    assert {"a4-40-48x25", "a4-24-70x37", "a4-21-70x42", "a4-8-99x67", "roll-50x30"} <= set(BOXED)


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_hidden_only_sheet_has_serials_and_boxed_codes_and_no_qr(name, signer):
    template = TEMPLATES[name]
    count = min(template.per_page, 12) if template.kind == "sheet" else 1
    stamps = _stamps(signer, 4_000_000 + len(name), count, qr=False)
    pdf, stats = render_bytes(render_pdf, stamps, template, hidden_only=True)
    assert stats.count == count and b"/Type3" not in pdf, "a hidden-code-only sheet needs no QR font"
    assert decode(rasterise(pdf, 0, 300), 300, template) == []
    rect = hidden_box_rect(template, stamps[0], hidden_only=True)
    _check_codes_in_boxes(pdf, template, stamps, rect)
    text = " ".join(page_text(pdf).split())
    assert text.count("Cào lớp bạc, nhập mã để xác thực") == count
    chars = char_boxes(pdf)
    for index, stamp in enumerate(stamps):  # each label's serial, and nothing else, above its own box
        left, top = template.cell_origin_mm(index)
        above = (left, top, left + template.label_width_mm, top + rect[1])
        assert "".join(c for c, b in chars if _inside(b, above)) == stamp.serial_text.replace(" ", "")


def test_hidden_only_refuses_a_stamp_without_a_code_and_a_label_too_narrow(signer):
    template = TEMPLATES["a4-65-38x21"]
    with pytest.raises(ValueError, match="has no hidden code"):
        render_bytes(render_pdf, [signer.stamp(5)], template, hidden_only=True)
    narrow = Template.from_dict(dict(name="narrow", title="Hẹp", kind="sheet", page_width_mm=210, page_height_mm=297,
                                     rows=9, columns=11, label_width_mm=18, label_height_mm=30))
    with pytest.raises(NoRoomForBox, match="18 x 30 mm have no room for a hidden-code box"):
        render_bytes(render_pdf, _stamps(signer, 6, 1, qr=False), narrow, hidden_only=True)


def test_a_tall_label_puts_the_box_under_the_qr(signer):
    template = Template.from_dict(dict(name="tall-40x60", title="Cuộn 40 × 60 mm", kind="roll", page_width_mm=40,
                                       page_height_mm=60, rows=1, columns=1, label_width_mm=40, label_height_mm=60))
    stamps = _stamps(signer, 7_000_000, 1)
    pdf = render_bytes(render_pdf, stamps, template)[0]
    found = decode(rasterise(pdf, 0, 300), 300, template)
    assert [f.text for f in found] == [stamps[0].qr_text]
    x, y, w, h = hidden_box_rect(template, stamps[0])
    assert abs((x + w / 2) - 20) < 0.01 and y > found[0].y_mm  # centred, below the QR
    _check_codes_in_boxes(pdf, template, stamps, (x, y, w, h))


def test_english_labels_and_preview(signer):
    template = TEMPLATES["a4-24-70x37"]
    stamps = _stamps(signer, 8_000_000, 3)
    pdf = render_bytes(render_pdf, stamps, template, lang="en")[0]
    assert WORDS["en"]["scratch"] in " ".join(page_text(pdf).split())
    _check_codes_in_boxes(pdf, template, stamps, hidden_box_rect(template, stamps[0], lang="en"))
    png = preview_png(iter(_stamps(signer, 8_100_000, 30, qr=False)), template, hidden_only=True, dpi=60)
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_describe_says_where_a_box_fits():
    sample = "HTTPS://TEM.OCOP.VN/S/" + "9" * 304
    assert describe(TEMPLATES["a4-24-70x37"], sample)["hidden_box"] is True
    assert describe(TEMPLATES["a4-65-38x21"], sample)["hidden_box"] is False
