"""Uploads: only JPEG, PNG and WebP are decoded, once, JPEGs already scaled down, a few at a time; the pixel
limit is read from the header; photos refused on the shopper's report count against the report limit."""

from __future__ import annotations

import io
import re
import threading

import pytest
from PIL import Image

from stamp_service import media
from stamp_service.context import get_storage
from stamp_service.inspection.decode import decode_image
from stamp_service.media import open_image
from stamp_service.media_gate import upload_slot
from stamp_service.registry.fields import Invalid


def encoded(size: tuple[int, int], fmt: str, color=(200, 160, 20)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "PPM", "ICO"])
def test_formats_other_than_jpeg_png_webp_are_refused_everywhere(fmt) -> None:
    data = encoded((64, 64), fmt)
    for read in (lambda: decode_image(data, max_pixels=10**7), lambda: open_image(data, max_pixels=10**7)):
        with pytest.raises(Invalid) as exc:
            read()
        assert exc.value.message.key == "error.image_format"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_webp_are_read(fmt) -> None:
    assert open_image(encoded((64, 48), fmt), max_pixels=10**7).size == (64, 48)


def test_the_pixel_limit_is_read_from_the_header_and_pillow_global_is_left_alone() -> None:
    before = Image.MAX_IMAGE_PIXELS
    data = encoded((1000, 1001), "JPEG")  # just over a million pixels: under Pillow's own 2x bomb margin
    with pytest.raises(Invalid):
        open_image(data, max_pixels=1_000_000)
    assert open_image(data, max_pixels=1_001_000).size == (1000, 1001)
    # a process-wide value set per call raced between threads; it is set once at import and never changed
    assert Image.MAX_IMAGE_PIXELS == before == media.PILLOW_CEILING


def test_a_large_jpeg_is_decoded_already_scaled_down() -> None:
    data = encoded((4032, 3024), "JPEG")
    img = open_image(data, max_pixels=50_000_000, max_side=800)
    assert img.size == (1008, 756)  # decoded at 1/4 scale: the full 12 MP were never in memory
    assert open_image(encoded((4032, 3024), "PNG"), max_pixels=50_000_000, max_side=800).size == (4032, 3024)


def report_sender(app):
    client = app.test_client()
    html = client.get("/S/12345").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]

    def send(what: str, photo: bytes | None = None):
        data = {"csrf_token": token, "code": "S/12345", "what": what}
        if photo is not None:
            data["photo"] = (io.BytesIO(photo), "anh.jpg")
        return client.post("/report", data=data, content_type="multipart/form-data")

    return send


def test_reports_refused_for_their_photo_count_against_the_limit(app, world) -> None:
    send = report_sender(app)
    gif = encoded((64, 64), "GIF")
    assert send("Tem giả 1", gif).status_code == 400
    assert send("Tem giả 2", b"\xff\xd8\xff not a jpeg").status_code == 400
    assert send("Tem giả 3", encoded((40, 40), "JPEG")).status_code == 200
    assert send("Tem giả 4", encoded((40, 40), "JPEG")).status_code == 429  # 3 attempts per device per hour
    with app.app_context():
        assert len(get_storage().find("reports")) == 1
        assert len(get_storage().find("rejected_reports")) == 2


def test_parallel_uploads_queue_for_a_decode_place_and_get_503_if_it_never_frees(app, world, api) -> None:
    app.config.update(DECODE_CONCURRENCY=1, DECODE_WAIT_SECONDS=0.3)
    send = report_sender(app)
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:  # another upload being decoded
        with app.app_context(), upload_slot():
            taken.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert taken.wait(5)
        busy = send("Tem mờ", encoded((40, 40), "JPEG"))
        assert busy.status_code == 503 and int(busy.headers["Retry-After"]) > 0
        assert "Traceback" not in busy.get_data(as_text=True)
        decode = api("inspector")("POST", "/api/v1/decode",
                                  data={"image": (io.BytesIO(encoded((40, 40), "PNG")), "ke.png")})
        assert decode.status_code == 503 and decode.is_json and decode.headers["Retry-After"]
    finally:
        release.set()
        holder.join()
    assert send("Tem mờ", encoded((40, 40), "JPEG")).status_code == 200
    assert api("inspector")("POST", "/api/v1/decode",
                            data={"image": (io.BytesIO(encoded((40, 40), "PNG")), "ke.png")}).status_code == 200
