"""Inspectors in a shop: QR codes found in shelf photos, checks recorded in the visit (never as shoppers' scans),
a stamp's full history, cases that change the public verdict, the visit's record as PDF and CSV, who may see
what, and the same through the JSON API.

The photos are synthesised from real stamp QR texts: codes of several sizes pasted on a noisy "shelf", rotated,
blurred, sheared, saved as JPEG or PNG.
"""

from __future__ import annotations

import csv
import io
import random
import re
import struct
import zlib
from collections import Counter

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw, ImageFilter

from conftest import Session
from stamp_service.auth import users
from stamp_service.context import get_storage
from stamp_service.inspection.decode import decode_image
from stamp_service.registry.fields import Invalid
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.stamps.qr import make_qr
from stamp_service.stamps.serials import format_serial

SHOP = "Cửa hàng đặc sản Hạ Long"
MAX_PIXELS = 4096 * 4096  # the configured MAX_IMAGE_PIXELS
CONFIRMED_REASON = "Kiểm tra viên đã xác nhận tem này là hàng giả (hồ sơ số {case})."
BANNER = {"genuine": "Chính hãng", "suspected-copy": "Nghi ngờ tem sao chép"}
GREY = (128, 128, 128)


# --- stamp codes ---------------------------------------------------------------------------------------------


def stamp_codes(app, run_id: int, count: int | None = None) -> list[tuple[int, str]]:
    """(serial, QR text) of the run's first `count` stamps, signed as they were printed."""
    with app.app_context():
        run = issuing.get_run(get_storage(), run_id)
        pairs = list(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"]))
    return pairs[:count] if count else pairs


def forge(text: str) -> str:
    """The QR text with its last six digits changed: still well-formed, the signature no longer matches."""
    tail = "123456" if text[-6:] != "123456" else "654321"
    return text[:-6] + tail


def url_path(text: str) -> str:
    """The path a phone opens for a QR text (HTTPS://TEM.EXAMPLE.VN/S/<digits> -> /S/<digits>)."""
    return "/" + text.split("/", 3)[3]


# --- synthetic shelf photos ----------------------------------------------------------------------------------


def qr_tile(text: str, module_px: int, angle: float = 0, background=GREY) -> Image.Image:
    """The stamp's QR symbol (with its quiet zone), module_px pixels per module, rotated by angle degrees."""
    symbol = make_qr(text, "M").make_image().get_image().convert("L")
    modules = symbol.size[0] // 10  # qrcode's default box size is 10 px
    tile = symbol.resize((modules * module_px,) * 2, Image.Resampling.NEAREST).convert("RGB")
    if angle % 360:
        tile = tile.rotate(angle, expand=True, fillcolor=background, resample=Image.Resampling.BICUBIC)
    return tile


def shelf(size: tuple[int, int], seed: int = 1) -> Image.Image:
    """A grey, noisy background with boxes of different shades: packs on a shelf, deterministically."""
    rnd = random.Random(seed)
    width, height = size
    small = (max(1, width // 4), max(1, height // 4))
    noise = Image.frombytes("L", small, rnd.randbytes(small[0] * small[1])).resize(size, Image.Resampling.BILINEAR)
    img = Image.blend(Image.new("L", size, 128), noise, 0.45).convert("RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x, y = rnd.randrange(width), rnd.randrange(height)
        shade = tuple(rnd.randrange(40, 220) for _ in range(3))
        draw.rectangle([x, y, x + rnd.randrange(20, 240), y + rnd.randrange(10, 90)], fill=shade)
    return img


def photo(placed: list[tuple[str, int, float, tuple[int, int]]], size: tuple[int, int], *, blur: float = 0,
          seed: int = 1) -> Image.Image:
    """A shelf photo: each (text, module_px, angle, (x, y)) pasted on the shelf, then blurred like a phone's."""
    img = shelf(size, seed)
    for text, module_px, angle, at in placed:
        tile = qr_tile(text, module_px, angle)
        assert at[0] + tile.width <= size[0] and at[1] + tile.height <= size[1], "the code does not fit the photo"
        img.paste(tile, at)
    return img.filter(ImageFilter.GaussianBlur(blur)) if blur else img


def encode(img: Image.Image, fmt: str = "JPEG", quality: int = 70) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buf.getvalue()


def shelf_jpeg(texts: list[str], *, quality: int = 70) -> bytes:
    """A JPEG shelf photo holding these codes in a row, a little rotated and blurred, as a phone takes it."""
    placed = [(text, 4, angle, (30 + i * 270, 40 + (i % 2) * 30)) for i, (text, angle) in
              enumerate(zip(texts, (4, -6, 9, -3, 2)))]
    return encode(photo(placed, (max(600, 40 + 270 * len(texts)), 400), blur=1.0), "JPEG", quality)


@pytest.fixture
def pillow_limit(monkeypatch):
    """Pillow's process-wide MAX_IMAGE_PIXELS is put back after the test (media sets it once, at import)."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)


@pytest.fixture
def texts(app, world) -> list[str]:
    """The QR texts of the first six stamps of run A."""
    return [text for _, text in stamp_codes(app, world.run_a, 6)]


def assert_found(found: list[str], placed: list[str]) -> None:
    """Every code placed found, each once, nothing else."""
    assert len(found) == len(set(found)), f"a code was reported twice: {found}"
    assert Counter(found) == Counter(placed), (
        f"missing {len(set(placed) - set(found))}, extra {len(set(found) - set(placed))} of {len(placed)}")


# --- 1. photo decoding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("module_px, angle, blur, fmt", [
    (2, 0, 0, "PNG"),  # the smallest: 2 px per module (a 2 cm stamp far away), sharp
    (3, 7, 1.5, "JPEG"),
    (3, 90, 1.0, "PNG"),
    (4, 180, 1.5, "JPEG"),
    (4, 33, 1.0, "JPEG"),
    (6, 33, 1.5, "PNG"),
    (8, -12, 1.2, "JPEG"),
])
def test_one_code_rotated_blurred_small(texts, pillow_limit, module_px, angle, blur, fmt) -> None:
    tile = qr_tile(texts[0], module_px, angle)
    img = photo([(texts[0], module_px, angle, (60, 50))], (tile.width + 140, tile.height + 110), blur=blur)
    assert decode_image(encode(img, fmt, quality=60), max_pixels=MAX_PIXELS) == [texts[0]]


def test_three_codes_of_different_sizes(texts, pillow_limit) -> None:
    placed = [(texts[0], 3, 0, (30, 40)), (texts[1], 5, 7, (260, 20)), (texts[2], 4, 180, (620, 90))]
    img = photo(placed, (900, 500), blur=1.2, seed=2)
    for fmt, quality in (("JPEG", 65), ("PNG", 0)):
        assert_found(decode_image(encode(img, fmt, quality), max_pixels=MAX_PIXELS), texts[:3])


def test_six_codes_rotated_on_a_shelf(texts, pillow_limit) -> None:
    placed = [(texts[0], 3, 0, (40, 40)), (texts[1], 4, 7, (520, 60)), (texts[2], 5, 90, (1100, 40)),
              (texts[3], 3, 180, (40, 600)), (texts[4], 4, 33, (560, 560)), (texts[5], 6, -12, (1150, 560))]
    img = photo(placed, (1800, 1100), blur=1.0, seed=3)
    for fmt, quality in (("JPEG", 60), ("JPEG", 75), ("PNG", 0)):
        assert_found(decode_image(encode(img, fmt, quality), max_pixels=MAX_PIXELS), texts)


def test_sheared_and_in_perspective(texts, pillow_limit) -> None:
    placed = [(texts[0], 4, 0, (60, 60)), (texts[1], 4, 5, (420, 60)), (texts[2], 5, -8, (780, 80))]
    img = photo(placed, (1200, 560), seed=4)
    sheared = img.transform(img.size, Image.Transform.AFFINE, (1, 0.12, -50, 0.05, 1, -30),
                            resample=Image.Resampling.BICUBIC, fillcolor=GREY)
    # a photo taken at an angle: the right end of the shelf nearer the camera, so larger
    keystone = img.transform(img.size, Image.Transform.PERSPECTIVE,
                             (0.9, 0.03, 10, 0.0, 0.95, 10, -0.00008, 0.0),
                             resample=Image.Resampling.BICUBIC, fillcolor=GREY)
    for variant in (sheared, keystone):
        data = encode(variant.filter(ImageFilter.GaussianBlur(1)), "JPEG", 70)
        assert_found(decode_image(data, max_pixels=MAX_PIXELS), texts[:3])


def test_a_12_megapixel_phone_photo_is_scaled_down_and_read(texts, pillow_limit) -> None:
    """4032x3024 (a 12 MP phone camera): larger than MAX_SIDE, so decoded scaled down to 4000 px."""
    placed = [(texts[0], 8, 3, (500, 400)), (texts[1], 9, -5, (2000, 900)), (texts[2], 10, 90, (3000, 2000))]
    img = photo(placed, (4032, 3024), blur=1.5, seed=5)
    assert_found(decode_image(encode(img, "JPEG", 70), max_pixels=MAX_PIXELS), texts[:3])


def test_a_forged_code_is_read_like_any_other(texts, pillow_limit) -> None:
    """Decoding reads; judging is the checker's job: a forged text comes back as it is printed."""
    fake = forge(texts[1])
    img = photo([(texts[0], 4, 0, (30, 30)), (fake, 4, 0, (330, 30))], (640, 320), blur=1)
    assert_found(decode_image(encode(img), max_pixels=MAX_PIXELS), [texts[0], fake])


def test_a_photo_without_codes_finds_none(pillow_limit) -> None:
    assert decode_image(encode(shelf((800, 600), 9)), max_pixels=MAX_PIXELS) == []
    assert decode_image(encode(Image.new("RGB", (1, 1)), "PNG"), max_pixels=MAX_PIXELS) == []


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height pixels (a decompression bomb's calling card)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def over_the_limit_png() -> bytes:
    """A real 200x100 PNG: more than a 15 000-pixel limit, less than twice it (a warning, not an error, in Pillow)."""
    return encode(Image.new("RGB", (200, 100), (255, 255, 255)), "PNG")


@pytest.mark.parametrize("data, limit, key", [
    (b"", MAX_PIXELS, "error.image_empty"),
    (random.Random(7).randbytes(5000), MAX_PIXELS, "error.image_format"),
    ("Tem OCOP chính hãng\nHTTPS://TEM.EXAMPLE.VN/S/1234\n".encode(), MAX_PIXELS, "error.image_format"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, MAX_PIXELS, "error.image_format"),  # a PNG signature and nothing else
    (png_declaring(20_000, 20_000), MAX_PIXELS, "error.image_format"),  # 400 megapixels declared
    (png_declaring(1, 2**31 - 1), MAX_PIXELS, "error.image_format"),
    (over_the_limit_png(), 15_000, "error.image_format"),
], ids=["empty", "random-bytes", "text-file", "png-signature-only", "bomb-20000x20000", "bomb-1x2G",
        "over-the-limit"])
def test_garbage_is_invalid_never_another_error(pillow_limit, data, limit, key) -> None:
    with pytest.raises(Invalid) as caught:
        decode_image(data, max_pixels=limit)
    assert caught.value.message.key == key


def test_truncated_jpeg_is_invalid_or_read_but_never_crashes(texts, pillow_limit) -> None:
    data = encode(photo([(texts[0], 4, 0, (40, 40))], (400, 400), seed=6))
    for cut in (len(data) // 3, len(data) // 2, len(data) - 10):
        try:
            assert decode_image(data[:cut], max_pixels=MAX_PIXELS) in ([], [texts[0]])
        except Invalid as exc:
            assert exc.message.key == "error.image_format"


# --- helpers for the pages ------------------------------------------------------------------------------------


def count(app, table: str, **where) -> int:
    with app.app_context():
        return get_storage().count(table, **where)


def rows(app, table: str, **where) -> list[dict]:
    with app.app_context():
        return get_storage().find(table, order_by="id", **where)


def upload(data: bytes, name: str = "ke-hang.jpg") -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


def text_of(response) -> str:
    return response.get_data(as_text=True)


def public_verdict(app, text: str, client=None) -> tuple[str, list[dict]]:
    """The verdict a shopper sees for a QR text, from the page and the API (which must agree)."""
    shopper = client or app.shopper_client
    page = text_of(shopper.get(url_path(text)))
    h1 = re.search(r"<h1>(.*?)</h1>", page)[1]
    body = shopper.get("/api/v1/verify", query_string={"code": text}).get_json()
    assert BANNER.get(body["verdict"]) == h1, (h1, body["verdict"])
    return body["verdict"], body["reasons"]


@pytest.fixture
def shopper(app):
    """One shopper's phone for the whole test (one device cookie, so repeated scans do not look like copies)."""
    app.shopper_client = app.test_client()
    return app.shopper_client


def second_inspector(app) -> Session:
    with app.app_context():
        users.create(get_storage(), {"email": "inspector2@example.vn", "role": "inspector",
                                     "password": "correct horse battery"})
    return Session(app.test_client(), "inspector2@example.vn")


# --- 2. the inspector's pages ---------------------------------------------------------------------------------


def test_shelf_photo_checks_three_stamps_into_the_visit_not_as_scans(app, world, login, pillow_limit) -> None:
    pairs = stamp_codes(app, world.run_a, 3)
    scans, checks = count(app, "scans"), count(app, "visit_checks", visit_id=world.visit)
    inspector = login("inspector")
    response = inspector.post("/inspect/photo", {"photo": upload(shelf_jpeg([t for _, t in pairs]))})
    html = text_of(response)
    assert response.status_code == 200, html
    assert "Đã kiểm tra 3 tem ·" in html and f"đã ghi vào chuyến kiểm tra tại {SHOP}" in html
    assert html.split('<ol class="cards')[1].count("✓ Chính hãng") == 3  # the list (the count sits above it)
    for serial, _ in pairs:
        assert f'href="/inspect/stamps/{serial}"' in html
    assert count(app, "scans") == scans, "an inspector's check was counted as a shopper's scan"
    recorded = rows(app, "visit_checks", visit_id=world.visit)
    assert len(recorded) == checks + 3
    new = recorded[-3:]
    assert sorted(r["serial"] for r in new) == [s for s, _ in pairs]
    assert {r["verdict"] for r in new} == {"genuine"} and {r["code"] for r in new} == {t for _, t in pairs}
    photos = {r["photo"] for r in new}
    assert len(photos) == 1 and re.fullmatch(r"[0-9a-f]{32}\.jpg", photos.pop() or "")
    stored = inspector.get(f"/inspect/media/visits/{new[0]['photo']}")
    assert stored.status_code == 200 and stored.mimetype == "image/jpeg" and stored.data[:2] == b"\xff\xd8"
    # The start page lists what was just checked.
    home = text_of(inspector.get("/inspect/"))
    assert f"Đang kiểm tra tại: {SHOP}" in home and all(f"/inspect/stamps/{s}" in home for s, _ in pairs)


def test_photo_errors(app, world, login, pillow_limit) -> None:
    inspector = login("inspector")
    checks = count(app, "visit_checks")
    no_code = inspector.post("/inspect/photo", {"photo": upload(encode(shelf((500, 400))))})
    assert no_code.status_code == 200 and "Không tìm thấy mã QR nào trong ảnh." in text_of(no_code)
    junk = inspector.post("/inspect/photo", {"photo": upload(b"GIF89a not really", "anh.jpg")})
    assert junk.status_code == 400 and "Không đọc được ảnh (chỉ nhận JPEG, PNG, WebP)." in text_of(junk)
    missing = inspector.post("/inspect/photo", {})
    assert missing.status_code == 400 and "Tệp ảnh trống." in text_of(missing)
    bomb = inspector.post("/inspect/photo", {"photo": upload(png_declaring(20_000, 20_000), "bom.png")})
    assert bomb.status_code == 400 and "Không đọc được ảnh" in text_of(bomb)
    assert count(app, "visit_checks") == checks


def test_typed_checks_serial_and_forged_code(app, world, login) -> None:
    (serial, text), = stamp_codes(app, world.run_a, 1)
    scans = count(app, "scans")
    inspector = login("inspector")
    fake = forge(text)
    forged = inspector.post("/inspect/check", {"code": fake})
    html = text_of(forged)
    assert forged.status_code == 200 and "✗ Tem giả: chữ ký không khớp" in html
    assert "/inspect/stamps/" not in html and fake[:80] in html  # no claims to trust: the code is shown instead
    scanned = inspector.post("/inspect/check", {"code": text})  # what the camera button submits
    assert scanned.status_code == 200 and "✓ Chính hãng" in text_of(scanned)
    empty = inspector.post("/inspect/check", {"code": "  "})
    assert empty.status_code == 400 and "Bắt buộc nhập." in text_of(empty)
    assert count(app, "scans") == scans, "an inspector's check was counted as a shopper's scan"

    typed = inspector.post("/inspect/check", {"code": format_serial(serial)})
    html = text_of(typed)
    assert typed.status_code == 200 and "✓ Chính hãng" in html and f'href="/inspect/stamps/{serial}"' in html
    assert "Trà hoa vàng" in html
    recorded = rows(app, "visit_checks", visit_id=world.visit)[-3:]
    assert [(r["serial"], r["verdict"]) for r in recorded] == [
        (None, "invalid-signature"), (serial, "genuine"), (serial, "genuine")]
    assert recorded[0]["code"] == fake and "chữ ký số không khớp" in recorded[0]["reasons"]
    assert count(app, "scans") == scans  # an inspector's checks, typed ones too, are not shoppers' scans


def test_a_genuine_payload_behind_a_look_alike_host_is_flagged_and_never_counts(app, world, login, api) -> None:
    (serial, text), = stamp_codes(app, world.run_a, 1)
    assert text.startswith("HTTPS://TEM.EXAMPLE.VN/S/")
    look_alike = text.replace("TEM.EXAMPLE.VN", "TEM-EXAMPLE.VN")  # signature intact: it covers the claims only
    inspector = login("inspector")
    flagged = text_of(inspector.post("/inspect/check", {"code": look_alike}))
    assert "Nghi ngờ tem sao chép" in flagged and "không phải địa chỉ chính thức tem.example.vn" in flagged
    assert "Địa chỉ in trong mã QR: tem-example.vn" in flagged and "Trà hoa vàng" in flagged
    ours = text_of(inspector.post("/inspect/check", {"code": text}))
    assert "✓ Chính hãng" in ours and "Địa chỉ in trong mã QR: tem.example.vn" in ours

    # An app (with its own token, whose look-ups are evidence) sends the look-alike many times: each answer
    # says so, and none of them counts towards the stamp's copy rules or raises a suspicion.
    client = api("inspector")
    for _ in range(12):
        answer = client("GET", "/api/v1/verify", query_string={"code": look_alike})
        assert answer.status_code == 200 and answer.json["verdict"] == "suspected-copy"
        assert [r["code"] for r in answer.json["reasons"]] == ["host_not_ours"]
    assert not [r for r in rows(app, "scans", serial=serial) if r["evidence"]]
    assert count(app, "suspicions") == 0
    assert client("GET", "/api/v1/verify", query_string={"code": text}).json["verdict"] == "genuine"


def test_stamp_detail_shows_everything_known(app, world, login, shopper) -> None:
    (serial, text), (other_serial, _) = stamp_codes(app, world.run_a, 2)
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.20"  # another shopper, on another network
    for client in (shopper, other):  # two shopper scans of the genuine stamp
        assert client.get(url_path(text)).status_code == 200
    inspector = login("inspector")
    opened = inspector.post("/inspect/cases", {"kind": "stamp", "serial": str(serial), "status": "confirmed",
                                               "title": "Tem bị sao chép ở chợ Hạ Long"})
    case_id = int(opened.headers["Location"].rsplit("/", 1)[1])
    # A shopper types the serial, gets the warning and reports the fake (a typed report keeps the serial).
    page = text_of(shopper.get("/check", query_string={"serial": format_serial(serial)}))
    assert "Nghi ngờ tem sao chép" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    report = shopper.post("/report", data={"what": "Hộp trà in mờ, nghi hàng nhái", "where_bought": "Chợ Hạ Long 1",
                                           "code": format_serial(serial), "csrf_token": token})
    assert report.status_code == 200, text_of(report)
    with app.app_context():
        kid_hex = next(iter(keystore(app).records().values())).info.kid_hex
    page = inspector.get(f"/inspect/stamps/{serial}")
    html = text_of(page)
    assert page.status_code == 200
    for expected in (f"Số sê-ri {format_serial(serial)}", "Trà hoa vàng", "HTX Trà hoa vàng Ba Chẽ", "A-001",
                     "Xã Ba Chẽ, Tỉnh Quảng Ninh", kid_hex, "Đang dùng", "1/QĐ-UBND", "UBND tỉnh Quảng Ninh",
                     "Còn hiệu lực", "Đã kích hoạt", f"({world.first_serial}–{world.first_serial + 19})",
                     f"serial={serial}", "Hộp trà in mờ, nghi hàng nhái", "Chợ Hạ Long 1",
                     f"#{case_id} Tem bị sao chép ở chợ Hạ Long", "Đã xác nhận hàng giả"):
        assert expected in html, expected
    assert re.search(r"Lượt quét</dt><dd>3</dd>", html)
    scan_table = html.split("Lịch sử quét", 1)[1]
    assert scan_table.count("<tr>") == 1 + 3
    assert scan_table.count("<td>Chính hãng</td><td>Quét mã QR</td>") == 2
    assert scan_table.count("<td>Nghi ngờ tem sao chép</td><td>Nhập số sê-ri</td>") == 1
    assert inspector.get(f"/inspect/stamps/{other_serial}").status_code == 200
    assert inspector.get("/inspect/stamps/999999999").status_code == 404


def test_report_sent_from_a_scanned_stamp_shows_on_its_history(app, world, login, shopper) -> None:
    """A shopper who scanned a suspicious stamp reports it from that page: inspectors should see it on the stamp."""
    (serial, text), = stamp_codes(app, world.run_a, 1)
    inspector = login("inspector")
    assert inspector.post("/inspect/cases", {"kind": "stamp", "serial": str(serial), "title": "Tem dán lại",
                                             "status": "confirmed"}).status_code == 302
    page = text_of(shopper.get(url_path(text)))
    assert "Nghi ngờ tem sao chép" in page and 'action="/report"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    code = re.search(r'name="code" value="([^"]*)"', page)[1]
    sent = shopper.post("/report", data={"what": "Tem dán đè, mép bong", "code": code, "csrf_token": token})
    assert sent.status_code == 200
    assert count(app, "reports") == 1
    # a report sent from a scanned stamp's page reaches that stamp's history
    assert "Tem dán đè, mép bong" in text_of(inspector.get(f"/inspect/stamps/{serial}"))


def test_stamp_case_suspected_confirmed_dismissed(app, world, login, shopper) -> None:
    (serial, text), (_, neighbour) = stamp_codes(app, world.run_a, 2)
    inspector = login("inspector")
    opened = inspector.post("/inspect/cases", {"kind": "stamp", "serial": format_serial(serial),
                                               "title": "Tem nghi dán lại tại quầy 3", "status": "suspected"})
    assert opened.status_code == 302
    case_url = opened.headers["Location"]
    case_id = int(re.search(r"/inspect/cases/(\d+)$", case_url)[1])
    case_page = text_of(inspector.get(case_url))
    assert "Tem nghi dán lại tại quầy 3" in case_page and "Đã mở hồ sơ số" in case_page
    assert public_verdict(app, text)[0] == "genuine", "a merely suspected case must not change the public verdict"
    assert f"#{case_id} Tem nghi dán lại tại quầy 3" in text_of(inspector.get(f"/inspect/stamps/{serial}"))

    confirmed = inspector.post(case_url, {"status": "confirmed", "notes": "Đã đối chiếu với chủ thể"})
    assert confirmed.status_code == 302
    case_page = text_of(inspector.get(case_url))
    assert "Đã lưu." in case_page and "Đã xác nhận hàng giả" in case_page
    assert "trang xác thực công khai báo tem này là nghi sao chép" in case_page
    verdict, reasons = public_verdict(app, text)
    assert verdict == "suspected-copy"
    assert reasons[0]["code"] == "confirmed_counterfeit"
    assert reasons[0]["message"] == CONFIRMED_REASON.format(case=case_id)
    assert CONFIRMED_REASON.format(case=case_id) in text_of(shopper.get(url_path(text)))
    assert public_verdict(app, neighbour)[0] == "genuine", "a stamp case flags only its own serial"
    assert "Nghi ngờ tem sao chép" in text_of(inspector.post("/inspect/check", {"code": text}))

    dismissed = inspector.post(case_url, {"status": "dismissed"})
    assert dismissed.status_code == 302 and "Đã loại trừ" in text_of(inspector.get(case_url))
    assert public_verdict(app, text)[0] == "genuine"


def test_confirmed_batch_case_flags_every_stamp_of_the_batch(app, world, login) -> None:
    inspector = login("inspector")
    opened = inspector.post("/inspect/cases", {"kind": "batch", "batch_id": str(world.batch_a),
                                               "title": "Cả lô A-001 bị làm giả"})
    assert opened.status_code == 302
    case_url = opened.headers["Location"]
    case_id = int(case_url.rsplit("/", 1)[1])
    api = app.test_client()
    # Four eyes: one inspector's confirmation leaves a batch-wide case pending, and every stamp as it was.
    assert inspector.post(case_url, {"status": "confirmed"}).status_code == 302
    page = text_of(inspector.get(case_url))
    assert "Chờ xác nhận lần hai" in page and "Đang chờ xác nhận lần hai" in page
    text = stamp_codes(app, world.run_a)[0][1]
    assert api.get("/api/v1/verify", query_string={"code": text}).get_json()["verdict"] == "genuine"
    inspector.post(case_url, {"status": "confirmed", "notes": "again"})  # the same inspector cannot be the second
    assert "cần quản trị viên hoặc một kiểm tra viên khác" in text_of(inspector.get(case_url))
    with app.app_context():
        assert get_storage().get("cases", case_id)["status"] == "pending"
    other = second_inspector(app)
    assert other.post(case_url, {"status": "confirmed"}).status_code == 302
    page = text_of(other.get(case_url))
    assert "Đã xác nhận hàng giả" in page and "inspector2@example.vn" in page and "Lịch sử hồ sơ" in page
    with app.app_context():
        history = [(e["action"], e["status"], e["user_id"]) for e in
                   get_storage().find("case_events", case_id=case_id, order_by="id")]
        second = get_storage().find_one("users", email="inspector2@example.vn")["id"]
    assert history == [("opened", "suspected", world.users["inspector"]), ("status", "pending", world.users["inspector"]),
                       ("status", "confirmed", second)]
    for serial, text in stamp_codes(app, world.run_a):
        body = api.get("/api/v1/verify", query_string={"code": text}).get_json()
        assert body["verdict"] == "suspected-copy", (serial, body)
        assert body["reasons"] == [{"code": "confirmed_counterfeit", "message": CONFIRMED_REASON.format(case=case_id)}]
    typed = api.get("/api/v1/verify", query_string={"code": format_serial(world.first_serial + 5)}).get_json()
    assert typed["verdict"] == "suspected-copy"


def test_case_photos(app, world, login, pillow_limit) -> None:
    inspector = login("inspector")
    url = f"/inspect/cases/{world.case}"
    photos = count(app, "case_photos", case_id=world.case)
    good = inspector.post(url, {"photo": upload(encode(shelf((640, 480), 11), "JPEG", 80), "tang-vat.jpg")})
    assert good.status_code == 302
    page = text_of(inspector.get(url))
    assert "Đã lưu." in page
    assert count(app, "case_photos", case_id=world.case) == photos + 1
    newest = rows(app, "case_photos", case_id=world.case)[-1]["file"]
    assert f"/inspect/media/cases/{newest}" in page
    image = inspector.get(f"/inspect/media/cases/{newest}")
    assert image.status_code == 200 and Image.open(io.BytesIO(image.data)).format == "JPEG"
    for junk, name in ((b"%PDF-1.4 not an image", "bien-ban.jpg"), (b"", "trong.jpg"),
                       (png_declaring(20_000, 20_000), "bom.png")):
        refused = inspector.post(url, {"photo": upload(junk, name)})
        assert refused.status_code == 302
        page = text_of(inspector.get(url))
        assert "Không đọc được ảnh (chỉ nhận JPEG, PNG, WebP)." in page or "Tệp ảnh trống." in page, name
        assert "Đã lưu." not in page
    assert count(app, "case_photos", case_id=world.case) == photos + 1
    assert inspector.get("/inspect/media/cases/../../keys.jpg").status_code == 404
    assert inspector.get("/inspect/media/cases/nothing-here.jpg").status_code == 404


def test_close_the_visit_and_export_its_record(app, world, login, pillow_limit) -> None:
    pairs = stamp_codes(app, world.run_a, 2)
    inspector = login("inspector")
    assert inspector.post("/inspect/photo", {"photo": upload(shelf_jpeg([pairs[0][1]]))}).status_code == 200
    assert inspector.post("/inspect/check", {"code": forge(pairs[1][1])}).status_code == 200
    assert inspector.post("/inspect/check", {"code": format_serial(pairs[1][0])}).status_code == 200
    visit = f"/inspect/visits/{world.visit}"
    closed = inspector.post(f"{visit}/close", {"notes": "Tạm giữ 2 hộp trà hoa vàng nghi giả."})
    assert closed.status_code == 302 and closed.headers["Location"].endswith(visit)
    page = text_of(inspector.get(visit))
    assert "3 tem đã kiểm tra" in page and "Tạm giữ 2 hộp trà hoa vàng nghi giả." in page
    assert "Kết thúc chuyến kiểm tra" not in page  # no close form on a closed visit
    again = inspector.post(f"{visit}/close", {})
    assert again.status_code == 302 and "Chuyến kiểm tra đã kết thúc." in text_of(inspector.get(visit))
    # After closing, checks go nowhere (no visit in progress), and a new visit may start.
    after = text_of(inspector.post("/inspect/check", {"code": format_serial(pairs[0][0])}))
    assert "đã ghi vào" not in after and count(app, "visit_checks", visit_id=world.visit) == 3

    pdf = inspector.get(f"{visit}/record.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert f'filename="bien-ban-kiem-tra-{world.visit}.pdf"' in pdf.headers["Content-Disposition"]
    text = re.sub(r"\s+", " ", pdf_text(pdf.data))
    for expected in (SHOP, "BIÊN BẢN KIỂM TRA TEM TRUY XUẤT NGUỒN GỐC OCOP", "Chính hãng",
                     "Tem giả: chữ ký không khớp", "inspector@example.vn", format_serial(pairs[0][0])):
        assert expected in text, expected

    export = inspector.get(f"{visit}/record.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert export.data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"), newline="")))
    assert table[0] == ["Thời gian", "Mã", "Số sê-ri", "Kết quả", "Lý do", "Ghi chú", "Ảnh"]
    assert len(table) == 1 + 3
    assert [row[3] for row in table[1:]] == ["Chính hãng", "Tem giả: chữ ký không khớp", "Chính hãng"]
    assert table[1][2] == format_serial(pairs[0][0]) and table[1][6].endswith(".jpg") and table[2][2] == ""

    started = inspector.post("/inspect/visits", {"shop": "Sạp bà Tư, chợ Cái Dăm", "province_code": "22"})
    assert started.status_code == 302
    assert "Đang kiểm tra tại: Sạp bà Tư, chợ Cái Dăm" in text_of(inspector.get("/inspect/"))


def pdf_text(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def test_one_open_visit_at_a_time(app, world, login) -> None:
    inspector = login("inspector")
    refused = inspector.post("/inspect/visits", {"shop": "Cửa hàng thứ hai"})
    assert refused.status_code == 302
    assert "Đang có một chuyến kiểm tra chưa kết thúc." in text_of(inspector.get("/inspect/"))
    assert count(app, "visits") == 1


def test_visits_are_private_to_their_inspector_but_not_to_the_office(app, world, login) -> None:
    other = second_inspector(app)
    visit = f"/inspect/visits/{world.visit}"
    for url in (visit, f"{visit}/record.pdf", f"{visit}/record.csv"):
        assert other.get(url).status_code == 404, url
    assert other.post(f"{visit}/close", {}).status_code == 404
    assert rows(app, "visits", id=world.visit)[0]["closed_at"] is None
    assert SHOP not in text_of(other.get("/inspect/visits"))
    assert f"Đang kiểm tra tại: {SHOP}" not in text_of(other.get("/inspect/"))
    admin = login("admin")
    for url in (visit, f"{visit}/record.pdf", f"{visit}/record.csv"):
        assert admin.get(url).status_code == 200, url
    assert SHOP in text_of(admin.get("/inspect/visits"))
    assert SHOP in text_of(login("inspector").get("/inspect/visits"))


INSPECT_PAGES = ["/inspect/", "/inspect/visits", "/inspect/visits/1", "/inspect/visits/1/record.pdf",
                 "/inspect/visits/1/record.csv", "/inspect/cases", "/inspect/cases/1", "/inspect/stamps/1",
                 "/inspect/batches/1", "/inspect/producers/1"]


def test_producers_get_403_and_anonymous_is_sent_to_sign_in(app, world, login) -> None:
    producer = login("producer_a")
    for url in INSPECT_PAGES:
        assert producer.get(url).status_code == 403, url
    for url in ("/inspect/photo", "/inspect/check", "/inspect/cases", f"/inspect/cases/{world.case}",
                f"/inspect/visits/{world.visit}/close"):
        assert producer.post(url, {"code": "1"}).status_code == 403, url
    assert "Kiểm tra</a>" not in text_of(producer.get("/portal/"))
    anonymous = app.test_client()
    for url in INSPECT_PAGES:
        answer = anonymous.get(url)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next="), url
    assert '>Kiểm tra</a>' in text_of(login("inspector").get("/portal/"))


# --- 3. the API -----------------------------------------------------------------------------------------------


def test_api_decode_photo(app, world, api, pillow_limit) -> None:
    (serial, text), = stamp_codes(app, world.run_a, 1)
    fake = forge(stamp_codes(app, world.run_a, 2)[1][1])
    scans = count(app, "scans")
    image = encode(photo([(text, 4, 5, (30, 30)), (fake, 4, -7, (360, 40))], (720, 360), blur=1), "JPEG", 70)
    answer = api("inspector")("POST", "/api/v1/decode", data={"image": upload(image)},
                              content_type="multipart/form-data")
    assert answer.status_code == 200, answer.get_json()
    codes = {c["text"]: c for c in answer.get_json()["codes"]}
    assert set(codes) == {text, fake}
    assert codes[text]["verdict"] == "genuine" and codes[text]["reasons"][0]["code"] == "genuine"
    assert codes[text]["stamp"]["serial"] == serial and codes[text]["stamp"]["product"] == "Trà hoa vàng"
    assert codes[fake]["verdict"] == "invalid-signature" and codes[fake]["stamp"] is None
    assert all(c["scan_id"] is None for c in codes.values())
    assert count(app, "scans") == scans, "decoding through the API recorded shoppers' scans"
    assert api("admin")("POST", "/api/v1/decode", data={"image": upload(image)}).status_code == 200

    for data in ({}, {"image": upload(b"", "")}):
        missing = api("inspector")("POST", "/api/v1/decode", data=data)
        assert missing.status_code == 400 and "image" in missing.get_json()["fields"], missing.get_json()
    for junk in (b"not an image at all", png_declaring(20_000, 20_000), b""):
        bad = api("inspector")("POST", "/api/v1/decode", data={"image": upload(junk, "x.jpg")})
        assert bad.status_code == 400 and bad.is_json and "image" in bad.get_json()["fields"], bad.get_json()
    empty = api("inspector")("POST", "/api/v1/decode", data={"image": upload(encode(shelf((300, 200))))})
    assert empty.status_code == 200 and empty.get_json() == {"codes": []}
    assert api("producer_a")("POST", "/api/v1/decode", data={"image": upload(image)}).status_code == 403
    assert api(None)("POST", "/api/v1/decode", data={"image": upload(image)}).status_code == 401


def test_api_stamp_history(app, world, api, shopper) -> None:
    (serial, text), = stamp_codes(app, world.run_a, 1)
    for n in range(3):  # three shoppers in three networks (one shopper's reloads would be views, not scans)
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{30 + n * 0}" if n == 0 else f"198.51.{n}.7"
        client.get(url_path(text))
    call = api("inspector")
    for code in (text, url_path(text)[1:].lower(), format_serial(serial), str(serial)):
        answer = call("GET", "/api/v1/stamps/history", query_string={"code": code})
        assert answer.status_code == 200, (code, answer.get_json())
        body = answer.get_json()
        assert body["serial"] == serial and body["serial_text"] == format_serial(serial)
        assert body["scan_count"] == 3 and len(body["scans"]) == 3
        assert {s["source"] for s in body["scans"]} == {"qr"} and {s["verdict"] for s in body["scans"]} == {"genuine"}
        assert body["product"]["name"] == "Trà hoa vàng" and body["batch"]["lot"] == "A-001"
        assert body["key"]["status"] == "active" and body["state"] == "active"
        assert body["recognitions"][0]["decision_number"] == "1/QĐ-UBND"
    for code, field in (("999999999", "code"), ("", "code"), (format_serial(serial)[:-1] + "0" if
                        not format_serial(serial).endswith("0") else format_serial(serial)[:-1] + "1", "code"),
                        (forge(text), "code"), ("HTTPS://TEM.EXAMPLE.VN/S/42", "code")):
        answer = call("GET", "/api/v1/stamps/history", query_string={"code": code})
        assert answer.status_code == 400 and field in answer.get_json()["fields"], (code, answer.get_json())
    assert api("producer_a")("GET", "/api/v1/stamps/history", query_string={"code": text}).status_code == 403


def test_api_cases_validate_their_target(app, world, api) -> None:
    call = api("inspector")
    first, last = world.first_serial, world.first_serial + 19

    def create(body):
        return call("POST", "/api/v1/cases", json=body)

    for body, field in (
        ({"kind": "shelf", "title": "x"}, "kind"),
        ({"kind": "stamp", "title": "x"}, "serial"),
        ({"kind": "stamp", "serial": "999999999", "title": "x"}, "serial"),
        ({"kind": "stamp", "serial": "12345", "title": "x"}, "serial"),
        ({"kind": "stamp", "serial": str(first)}, "title"),
        ({"kind": "range", "title": "x"}, "run_id"),
        ({"kind": "range", "run_id": 999, "title": "x"}, "run_id"),
        ({"kind": "batch", "title": "x"}, "batch_id"),
        ({"kind": "batch", "batch_id": 999, "title": "x"}, "batch_id"),
        ({"kind": "batch", "batch_id": world.batch_a, "title": "x", "status": "closed"}, "status"),
    ):
        answer = create(body)
        assert answer.status_code == 400 and field in answer.get_json()["fields"], (body, answer.get_json())
    outside = create({"kind": "range", "run_id": world.run_a, "serial_from": first, "serial_to": last + 5,
                      "title": "x"})
    assert outside.status_code == 400 and outside.get_json()["fields"], outside.get_json()
    backwards = create({"kind": "range", "run_id": world.run_a, "serial_from": first + 5, "serial_to": first,
                        "title": "x"})
    assert backwards.status_code == 400 and backwards.get_json()["fields"], backwards.get_json()
    assert count(app, "cases") == 1
    fields = outside.get_json()["fields"]
    assert set(fields) <= {"serial_from", "serial_to"}, fields  # the request's own field names


def test_api_cases_create_list_get_patch(app, world, api, shopper) -> None:
    call = api("inspector")
    pairs = stamp_codes(app, world.run_a)
    first = world.first_serial
    stamp = call("POST", "/api/v1/cases", json={"kind": "stamp", "serial": format_serial(pairs[0][0]),
                                                "title": "Tem đơn lẻ"})
    assert stamp.status_code == 201, stamp.get_json()
    assert stamp.headers["Location"].endswith(f"/api/v1/cases/{stamp.get_json()['id']}")
    assert (stamp.get_json()["serial_from"], stamp.get_json()["serial_to"]) == (pairs[0][0], pairs[0][0])
    ranged = call("POST", "/api/v1/cases", json={"kind": "range", "run_id": world.run_a, "serial_from": first + 4,
                                                 "serial_to": first + 7, "title": "Dải tem 5-8",
                                                 "status": "confirmed", "notes": "Thu giữ tại chợ"})
    assert ranged.status_code == 201 and ranged.get_json()["batch_id"] == world.batch_a, ranged.get_json()
    batch = call("POST", "/api/v1/cases", json={"kind": "batch", "batch_id": world.batch_a, "title": "Cả lô"})
    assert batch.status_code == 201 and batch.get_json()["status"] == "suspected"
    ids = {name: r.get_json()["id"] for name, r in (("stamp", stamp), ("range", ranged), ("batch", batch))}

    # A range one inspector confirms waits for a second person: its stamps stay genuine until then.
    assert ranged.get_json()["status"] == "pending"
    assert public_verdict(app, pairs[5][1])[0] == "genuine"
    again = call("PATCH", f"/api/v1/cases/{ids['range']}", json={"status": "confirmed"})
    assert again.status_code == 400 and "status" in again.get_json()["fields"], again.get_json()
    assert call("POST", "/api/v1/cases", json={"kind": "batch", "batch_id": world.batch_a, "title": "x",
                                               "status": "pending"}).status_code == 400  # not chosen, only reached
    by_admin = api("admin")("PATCH", f"/api/v1/cases/{ids['range']}", json={"status": "confirmed"})
    assert by_admin.status_code == 200 and by_admin.get_json()["status"] == "confirmed"
    history = call("GET", f"/api/v1/cases/{ids['range']}").get_json()["history"]
    assert [(e["action"], e["status"], e["user_email"]) for e in history] == [
        ("opened", "pending", "inspector@example.vn"), ("status", "confirmed", "admin@example.vn")]

    # Now stamps 5-8 of the run are flagged, 4 and 9 not.
    for serial, text in pairs[3:9]:
        verdict, reasons = public_verdict(app, text)
        if first + 4 <= serial <= first + 7:
            assert verdict == "suspected-copy" and reasons[0]["code"] == "confirmed_counterfeit", serial
            assert reasons[0]["message"] == CONFIRMED_REASON.format(case=ids["range"])
        else:
            assert verdict == "genuine", serial

    listed = call("GET", "/api/v1/cases").get_json()["items"]
    assert [c["id"] for c in listed] == sorted([*ids.values(), world.case], reverse=True)
    suspected = call("GET", "/api/v1/cases", query_string={"status": "suspected"}).get_json()["items"]
    assert {c["id"] for c in suspected} == {ids["stamp"], ids["batch"], world.case}
    confirmed = call("GET", "/api/v1/cases", query_string={"status": "confirmed"}).get_json()["items"]
    assert [c["id"] for c in confirmed] == [ids["range"]]
    assert call("GET", "/api/v1/cases", query_string={"status": "open"}).status_code == 400

    one = call("GET", f"/api/v1/cases/{world.case}")
    assert one.status_code == 200 and one.get_json()["photos"] == [world.case_photo]
    assert call("GET", "/api/v1/cases/9999").status_code == 404
    assert call("GET", "/api/v1/cases/9999").is_json

    assert public_verdict(app, pairs[0][1])[0] == "genuine"
    patched = call("PATCH", f"/api/v1/cases/{ids['stamp']}", json={"status": "confirmed"})
    assert patched.status_code == 200 and patched.get_json()["status"] == "confirmed"
    verdict, reasons = public_verdict(app, pairs[0][1])
    assert verdict == "suspected-copy" and reasons[0]["code"] == "confirmed_counterfeit"
    assert call("PATCH", f"/api/v1/cases/{ids['stamp']}", json={"status": "dismissed"}).status_code == 200
    assert public_verdict(app, pairs[0][1])[0] == "genuine"

    for body in ({}, {"status": "closed"}, {"kind": "batch"}):
        bad = call("PATCH", f"/api/v1/cases/{ids['stamp']}", json=body)
        assert bad.status_code == 400, (body, bad.get_json())
    assert call("PATCH", "/api/v1/cases/9999", json={"status": "confirmed"}).status_code == 404
    for method, url in (("GET", "/api/v1/cases"), ("POST", "/api/v1/cases"), ("GET", f"/api/v1/cases/{world.case}"),
                        ("PATCH", f"/api/v1/cases/{world.case}")):
        assert api("producer_a")(method, url, json={"status": "confirmed"}).status_code == 403, url
