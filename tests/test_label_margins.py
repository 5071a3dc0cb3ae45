"""Every template keeps its ink out of the printer's unprintable margin, measured on the rendered page."""

from __future__ import annotations

import pytest
import zxingcpp

from print_layouts import Template, load_templates, render_pdf, render_test_page
from print_layouts.templates import PAPER_MARGIN_MM
from print_support import Signer, page_text, rasterise, render_bytes

TEMPLATES = load_templates()
DPI = 300
PX_PER_MM = DPI / 25.4


@pytest.fixture(scope="module")
def signer(tmp_path_factory) -> Signer:
    return Signer(tmp_path_factory.mktemp("keys"))


def _ink_box_mm(image) -> tuple[float, float, float, float]:
    """The distance (mm) from the left, top, right and bottom paper edges to the nearest non-white pixel."""
    left, top, right, bottom = image.point(lambda v: 255 if v < 250 else 0).getbbox()
    return (left / PX_PER_MM, top / PX_PER_MM, (image.width - right) / PX_PER_MM,
            (image.height - bottom) / PX_PER_MM)


def _full_page(signer: Signer, template: Template, **changes) -> bytes:
    stamps = [signer.stamp(4_000_000 + i * 101, **changes) for i in range(template.per_page)]
    return render_bytes(render_pdf, stamps, template)[0]


def _artwork() -> dict[str, bytes]:
    """A dark mark and logo (so that their ink counts), as a producer's uploads are stored: JPEG."""
    import io

    from PIL import Image

    out = {}
    for key, size in (("ocop_mark", (200, 200)), ("logo", (300, 100))):
        buffer = io.BytesIO()
        Image.new("RGB", size, (40, 40, 40)).save(buffer, "JPEG")
        out[key] = buffer.getvalue()
    return out


@pytest.mark.parametrize("name", list(TEMPLATES))
@pytest.mark.parametrize("variant", ["plain", "two-layer", "artwork", "two-layer-artwork", "digital-link",
                                     "two-layer-digital-link", "artwork-digital-link"])
def test_every_qr_and_text_keeps_off_the_unprintable_margin(name, variant, signer):
    template = TEMPLATES[name]
    hidden = variant.startswith("two-layer")
    changes: dict = {"hidden_code": "1234 5678"} if hidden else {}
    if "artwork" in variant:
        changes.update(_artwork())
    linked = variant.endswith("digital-link")
    if linked:  # the lot's GS1 Digital Link as a second, smaller QR
        changes["link_text"] = "https://tem.ocop.vn/01/08938505974194/10/L2026-11"
    if hidden:
        from print_layouts import NoRoomForBox, hidden_box_rect

        try:
            hidden_box_rect(template, signer.stamp(1, **changes))
        except NoRoomForBox:
            pytest.skip("no hidden-code box on this stock")
    if linked:
        from print_layouts import NoRoomForLinkCode, link_code_rect

        try:
            link_code_rect(template, signer.stamp(1, **changes))
        except NoRoomForLinkCode:
            pytest.skip("no Digital Link code on this stock")
    pdf = _full_page(signer, template, **changes)
    image = rasterise(pdf, 0, DPI)
    margin = template.paper_margin_mm
    assert margin == (0.0 if template.borderless else PAPER_MARGIN_MM)
    assert template.borderless == (template.kind == "roll")  # only label printers print to the edge
    ink = _ink_box_mm(image)
    assert min(ink) >= margin - 0.1, f"ink {min(ink):.2f} mm from the paper's edge (sides: {ink})"
    # the QR symbols themselves, where the scanner finds them (finder patterns included)
    for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
        p = result.position
        corners = (p.top_left, p.top_right, p.bottom_left, p.bottom_right)
        xs, ys = [c.x / PX_PER_MM for c in corners], [c.y / PX_PER_MM for c in corners]
        assert min(xs) >= margin - 0.1 and min(ys) >= margin - 0.1
        assert template.page_width_mm - max(xs) >= margin - 0.1
        assert template.page_height_mm - max(ys) >= margin - 0.1
    if not linked:
        assert len(zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)) == template.per_page
        return
    # two codes of similar module size on each of many labels: read label by label, as a phone frames one
    for index in range(template.per_page):
        left, top = template.cell_origin_mm(index)
        crop = image.crop((round(left * PX_PER_MM), round(top * PX_PER_MM),
                           round((left + template.label_width_mm) * PX_PER_MM),
                           round((top + template.label_height_mm) * PX_PER_MM)))
        codes = sorted(r.text for r in zxingcpp.read_barcodes(crop, formats=zxingcpp.BarcodeFormat.QRCode))
        assert len(codes) == 2 and codes[1] == changes["link_text"], f"label {index + 1}: {codes}"


def test_the_24_up_sheet_moves_its_outer_labels_in():
    template = TEMPLATES["a4-24-70x37"]
    left, top, right, bottom = template.insets_mm
    assert (left, right) == (PAPER_MARGIN_MM, PAPER_MARGIN_MM)  # its labels touch the left and right edges
    assert top == bottom == pytest.approx(PAPER_MARGIN_MM - 0.5)
    assert TEMPLATES["a4-65-38x21"].insets_mm == (1.5, 1.5, 1.5, 1.5)  # 4.65 mm and more from every edge


@pytest.mark.parametrize("lang, words", [("vi", "không in được"), ("en", "cannot print")])
def test_the_test_page_shows_the_unprintable_margin(lang, words):
    template = TEMPLATES["a4-24-70x37"]
    pdf = render_bytes(render_test_page, template, lang=lang)[0]
    assert words in page_text(pdf)
    image = rasterise(pdf, 0, DPI)
    band = round(PAPER_MARGIN_MM * PX_PER_MM)
    # the margin's boundary is drawn: a dashed line 4 mm in from each edge
    mid_y = image.height // 3
    assert min(image.getpixel((x, mid_y)) for x in range(band - 3, band + 4)) < 200
    assert min(image.getpixel((image.width - 1 - x, mid_y)) for x in range(band - 3, band + 4)) < 200
    # a roll printed on a label printer has no such margin
    roll = render_bytes(render_test_page, TEMPLATES["roll-40x30"], lang=lang)[0]
    assert words not in page_text(roll)
