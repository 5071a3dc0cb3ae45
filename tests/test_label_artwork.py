"""A producer's logo and OCOP mark: uploaded on its page, re-encoded, printed on its labels (the mark only while the
product's current recognition grants those stars), every QR still readable."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from stamp_service import printing
from stamp_service.context import get_storage
from stamp_service.registry import label_marks, recognitions
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from print_layouts import load_templates, render_pdf

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
MARK_RGB = (214, 40, 40)  # the mark drawn in tests: a red disc on transparency
LOGO_RGB = (20, 70, 170)  # the logo: a blue bar


def png_mark() -> bytes:
    img = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((10, 10, 290, 290), fill=(*MARK_RGB, 255))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def jpeg_logo(exif: bool = False) -> bytes:
    img = Image.new("RGB", (480, 160), LOGO_RGB)
    out = io.BytesIO()
    kwargs = {"exif": Image.Exif()} if not exif else {"exif": _gps_exif()}
    img.save(out, "JPEG", **kwargs)
    return out.getvalue()


def _gps_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Máy ảnh của chủ thể"  # Make: metadata the re-encoding must drop
    return exif.tobytes()


def upload(session, producer_id: int, what: str, data: bytes, name: str, **form):
    return session.post(f"/portal/producers/{producer_id}/{what}",
                        {**form, "mark" if what == "marks" else "logo": (io.BytesIO(data), name)},
                        content_type="multipart/form-data")


def colour_share(img: Image.Image, rgb: tuple[int, int, int]) -> float:
    """The share of the image's pixels within 40 of this colour on every channel."""
    from PIL import ImageChops

    bands = [band.point(lambda v, c=c: 255 if abs(v - c) < 40 else 0)
             for band, c in zip(img.convert("RGB").split(), rgb)]
    hits = ImageChops.multiply(ImageChops.multiply(bands[0], bands[1]), bands[2])
    return hits.histogram()[255] / (img.width * img.height)


def printed(app, world, template: str = "a4-24-70x37") -> tuple[bytes, Image.Image]:
    """The run's labels rendered as the portal and the command line print them, and page 1 at 200 dpi."""
    with app.app_context():
        storage = get_storage()
        run = issuing.get_run(storage, world.run_a)
        stamps = list(printing.labels(storage, keystore(app), run, app.config["PUBLIC_HOST"]))
    out = io.BytesIO()
    render_pdf(stamps, load_templates()[template], out)
    doc = pypdfium2.PdfDocument(out.getvalue())
    try:
        image = doc[0].render(scale=200 / 72).to_pil().convert("RGB")
    finally:
        doc.close()
    return out.getvalue(), image


def test_producer_uploads_logo_and_mark_and_labels_carry_them(app, world, login):
    producer = login("producer_a")
    page = producer.get(f"/portal/producers/{world.producer_a}").get_data(as_text=True)
    assert "Hình in trên nhãn tem" in page and 'name="csrf_token"' in page
    logo = upload(producer, world.producer_a, "logo", jpeg_logo(exif=True), "logo.jpg")
    assert logo.status_code == 303, logo.get_data(as_text=True)
    mark = upload(producer, world.producer_a, "marks", png_mark(), "dau-4-sao.png", stars="4")
    assert mark.status_code == 303
    with app.app_context():
        storage = get_storage()
        row = storage.get("producers", world.producer_a)
        marks = label_marks.marks(storage, world.producer_a)
    assert row["logo"].endswith(".jpg") and set(marks) == {4}
    folder = Path(app.instance_path) / "media" / "producers"
    stored = Image.open(folder / row["logo"])
    assert stored.format == "JPEG" and not stored.getexif()  # re-encoded, metadata dropped
    disc = Image.open(folder / marks[4]).convert("RGB")
    assert min(disc.getpixel((2, 2))) > 240  # the mark's transparent corner is the label's white, not black
    page = producer.get(f"/portal/producers/{world.producer_a}").get_data(as_text=True)
    for name in (row["logo"], marks[4]):
        assert f"/portal/producers/{world.producer_a}/artwork/{name}" in page
        assert producer.get(f"/portal/producers/{world.producer_a}/artwork/{name}").status_code == 200
    assert login("producer_b").get(f"/portal/producers/{world.producer_a}/artwork/{row['logo']}").status_code == 404

    pdf, image = printed(app, world)
    assert pdf.count(b"/Subtype /Image") == 2  # each picture stored once, drawn on every label
    assert colour_share(image, MARK_RGB) > 0.002 and colour_share(image, LOGO_RGB) > 0.002
    found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    with app.app_context():
        run = issuing.get_run(get_storage(), world.run_a)
    assert len({f.text for f in found}) == run["last_serial"] - run["first_serial"] + 1  # every QR still reads
    ARTIFACTS.mkdir(exist_ok=True)
    image.crop((0, 0, image.width, image.height // 4)).save(ARTIFACTS / "labels-artwork.png")


def test_the_mark_prints_only_while_the_recognition_grants_its_stars(app, world, login):
    producer = login("producer_a")
    assert upload(producer, world.producer_a, "marks", png_mark(), "dau-3-sao.png", stars="3").status_code == 303
    _, image = printed(app, world)
    assert colour_share(image, MARK_RGB) == 0  # the product holds 4 stars: a 3-star mark is not its mark
    assert upload(producer, world.producer_a, "marks", png_mark(), "dau-4-sao.png", stars="4").status_code == 303
    _, image = printed(app, world)
    assert colour_share(image, MARK_RGB) > 0.002
    with app.app_context():
        storage = get_storage()
        recognitions.revoke(storage, world.recognition_a, {"reason": "Vi phạm tiêu chuẩn"})
        product = storage.get("products", world.product_a)
        producer_row = storage.get("producers", world.producer_a)
        assert label_marks.entitled_mark(storage, producer_row, product["id"], 4) is None
    _, image = printed(app, world)
    assert colour_share(image, MARK_RGB) == 0  # revoked: no mark


def test_an_expired_recognition_loses_its_mark(app, world):
    with app.app_context():
        storage = get_storage()
        label_marks.set_mark(storage, world.producer_a, 4, "x.jpg")
        producer = storage.get("producers", world.producer_a)
        assert label_marks.entitled_mark(storage, producer, world.product_a, 4) == "x.jpg"
        later = dt.date.today() + dt.timedelta(days=365 * 4)
        assert label_marks.entitled_mark(storage, producer, world.product_a, 4, later) is None


@pytest.mark.parametrize("form, data, message", [
    ({"stars": "6"}, None, "Hãy chọn hạng sao 3, 4 hoặc 5."),
    ({"stars": "4"}, b"GIF89a not an image", "Không đọc được ảnh (chỉ nhận JPEG, PNG, WebP)."),
    ({"stars": "4"}, b"", "Tệp ảnh trống."),
])
def test_bad_uploads_are_refused_and_change_nothing(app, world, login, form, data, message):
    producer = login("producer_a")
    answer = upload(producer, world.producer_a, "marks", png_mark() if data is None else data, "x.png", **form)
    assert answer.status_code == 400 and message in answer.get_data(as_text=True)
    with app.app_context():
        assert label_marks.marks(get_storage(), world.producer_a) == {}


def test_only_the_producer_itself_or_the_office_may_upload(app, world, login, client):
    assert upload(login("producer_b"), world.producer_a, "logo", jpeg_logo(), "l.jpg").status_code == 404
    assert upload(login("inspector"), world.producer_a, "logo", jpeg_logo(), "l.jpg").status_code == 403
    assert upload(login("admin"), world.producer_a, "logo", jpeg_logo(), "l.jpg").status_code == 303
    no_csrf = client.post(f"/portal/producers/{world.producer_a}/logo", data={"logo": (io.BytesIO(jpeg_logo()), "l")},
                          content_type="multipart/form-data")
    assert no_csrf.status_code in (302, 400, 401, 403)
