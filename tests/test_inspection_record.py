"""The inspection record (biên bản kiểm tra): CSV for spreadsheets and an A4 PDF, Vietnamese first, English on request.

One rendered page goes to test-artifacts/inspection-record.png for a human to look at.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from stamp_service.inspection.record import format_time, visit_csv, visit_pdf
from stamp_service.stamps.serials import format_serial

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TITLE_VI = "BIÊN BẢN KIỂM TRA TEM TRUY XUẤT NGUỒN GỐC OCOP"
TITLE_EN = "OCOP TRACEABILITY STAMP INSPECTION RECORD"
SHOP = "Cửa hàng đặc sản Hạ Long"
FORMULA = '=HYPERLINK("http://evil.example","bấm vào")'
MULTILINE = "Tem dán đè lên tem cũ,\nmép tem bị bong"

VISIT = {
    "id": 12, "inspector_id": 3, "shop": SHOP, "address": "45 Đường Bến Đoan, Phường Hồng Gai",
    "province_code": "22", "notes": "Chủ cửa hàng hợp tác.\nTạm giữ 2 hộp trà hoa vàng nghi giả.",
    "started_at": "2026-11-23T08:15:00Z", "closed_at": "2026-11-23T09:40:00Z",
}
INSPECTOR = {"id": 3, "email": "an.nguyen@ocop.quangninh.gov.vn", "name": "Nguyễn Văn An", "role": "inspector"}


def check(n: int, verdict: str, *, reasons: list[dict] | None = None, note: str | None = None,
          photo: str | None = None, serial: int | None = 1234567) -> dict:
    """A visit_checks row as visits.checks() returns it."""
    return {"id": n, "visit_id": VISIT["id"], "at": f"2026-11-23T08:{20 + n % 40:02d}:00Z", "code": f"HC1:CODE{n}",
            "serial": serial, "verdict": verdict, "reasons": reasons or [], "photo": photo, "note": note}


GENUINE = [{"code": "genuine", "message": "Chữ ký số hợp lệ, tem đã kích hoạt, giấy chứng nhận còn hiệu lực."}]
FORGED = [{"code": "invalid-signature", "message": "Nội dung tem đã bị sửa hoặc làm giả: chữ ký số không khớp."}]
COPIED = [{"code": "devices_per_hour", "message": "Tem được 5 thiết bị khác nhau quét trong một giờ."},
          {"code": "far_apart", "message": "Tem được quét ở hai nơi cách nhau khoảng 310 km trong vòng 2 giờ."}]
NOT_ACTIVE = [{"code": "not_activated",
               "message": "Tem chưa được chủ thể kích hoạt: có thể là tem bị lấy cắp trước khi dán."}]


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A photo folder with one real (tiny) JPEG shelf photo."""
    folder = tmp_path / "photos"
    folder.mkdir()
    img = Image.new("RGB", (64, 48), (30, 110, 60))
    for x in range(16, 48):
        for y in range(12, 36):
            img.putpixel((x, y), (240, 240, 240))
    img.save(folder / "ke-hang-1.jpg", "JPEG", quality=85)
    return folder


def sample_checks() -> list[dict]:
    """Six checks covering the three tones, long texts, a formula-looking note and photos (one missing)."""
    return [
        check(1, "genuine", reasons=GENUINE, photo="ke-hang-1.jpg"),
        check(2, "invalid-signature", reasons=FORGED, note=MULTILINE, serial=1234568),
        check(3, "warning", reasons=[{"code": "certificate_expiring",
                                      "message": "Giấy chứng nhận OCOP sẽ hết hạn sau 20 ngày."}], note=FORMULA,
              serial=1234569),
        check(4, "not-activated", reasons=NOT_ACTIVE, serial=1234570,
              note="Kệ hàng số 2, bên trái quầy thu ngân; hàng nhập từ đại lý ở Cẩm Phả, chủ cửa hàng xuất trình hoá đơn"),
        check(5, "suspected-copy", reasons=COPIED, serial=1234571, photo="khong-co-anh.jpg"),
        check(6, "unknown-key", reasons=[{"code": "unknown-key",
                                          "message": "Tem được ký bằng khóa không thuộc hệ thống."}], serial=None),
    ]


def pdf_bytes(checks: list[dict], **kwargs) -> bytes:
    """The record as PDF bytes."""
    out = io.BytesIO()
    visit_pdf(VISIT, checks, INSPECTOR, out, **kwargs)
    return out.getvalue()


def page_texts(data: bytes) -> list[str]:
    """The text of every page, as a reader would copy it."""
    doc = pdfium.PdfDocument(data)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def flat(text: str) -> str:
    """Whitespace (including line breaks inside table cells) collapsed, for phrase searches."""
    return re.sub(r"\s+", " ", text)


# ------------------------------------------------------------------------ CSV


def read_csv(data: bytes) -> list[list[str]]:
    """The rows, decoded as Excel would (UTF-8 with BOM)."""
    assert data.startswith(b"\xef\xbb\xbf"), "a BOM, or Excel shows Vietnamese as mojibake"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_is_utf8_with_bom_and_vietnamese_headers():
    rows = read_csv(visit_csv(VISIT, sample_checks(), INSPECTOR))
    assert rows[0] == ["Thời gian", "Mã", "Số sê-ri", "Kết quả", "Lý do", "Ghi chú", "Ảnh"]
    assert len(rows) == 1 + 6


def test_csv_rows_keep_vietnamese_words_and_use_vietnam_time():
    rows = read_csv(visit_csv(VISIT, sample_checks(), INSPECTOR))
    first, forged, copied, unknown = rows[1], rows[2], rows[5], rows[6]
    assert first[0] == "23/11/2026 15:21"  # 08:21 UTC is 15:21 in Vietnam
    assert first[1] == "HC1:CODE1"
    assert first[2] == format_serial(1234567) == "1 234 567-1"
    assert first[3] == "Chính hãng"  # the verdict in words, never its machine name
    assert first[4] == GENUINE[0]["message"]
    assert first[6] == "ke-hang-1.jpg"
    assert forged[3] == "Tem giả: chữ ký không khớp"
    assert copied[4] == "; ".join(r["message"] for r in COPIED)
    assert unknown[2] == ""  # no serial could be read


def test_csv_neutralises_formulas():
    rows = read_csv(visit_csv(VISIT, sample_checks(), INSPECTOR))
    assert rows[3][5] == "'" + FORMULA
    for leading in ("+1+2", "-3", "@SUM(A1)"):
        data = visit_csv(VISIT, [check(1, "genuine", note=leading)], INSPECTOR)
        assert read_csv(data)[1][5] == "'" + leading
    assert read_csv(visit_csv(VISIT, [check(1, "genuine", note="ghi chú 1+1=2")], INSPECTOR))[1][5] == "ghi chú 1+1=2"


def test_csv_newlines_and_commas_round_trip():
    data = visit_csv(VISIT, sample_checks(), INSPECTOR)
    rows = read_csv(data)
    assert rows[2][5] == MULTILINE  # quoted, so the newline and comma stay inside the cell
    assert all(len(row) == 7 for row in rows)
    assert b"\r\n" in data  # rows end as Excel expects


def test_csv_in_english():
    rows = read_csv(visit_csv(VISIT, sample_checks(), INSPECTOR, lang="en"))
    assert rows[0] == ["Time", "Code", "Serial", "Verdict", "Reasons", "Note", "Photo"]
    assert rows[1][0] == "2026-11-23 15:21"
    assert rows[1][3] == "Genuine"
    assert rows[1][4] == "Valid digital signature, activated stamp, valid certificate."
    assert rows[2][3] == "Counterfeit: the signature does not match"


def test_csv_without_checks_is_just_the_header():
    assert read_csv(visit_csv(VISIT, [], INSPECTOR)) == [["Thời gian", "Mã", "Số sê-ri", "Kết quả", "Lý do",
                                                         "Ghi chú", "Ảnh"]]


def test_times_are_vietnam_time():
    assert format_time("2026-11-23T20:30:00Z") == "24/11/2026 03:30"
    assert format_time("2026-11-23T20:30:00") == "24/11/2026 03:30"  # stored without a zone: UTC
    assert format_time("2026-11-23T20:30:00Z", "en") == "2026-11-24 03:30"
    assert format_time(None) == ""


# ------------------------------------------------------------------------ PDF


def test_pdf_embeds_source_sans_pro_and_never_helvetica(photos):
    data = pdf_bytes(sample_checks(), photos_dir=photos)
    assert data.startswith(b"%PDF")
    assert b"/FontFile2" in data  # TrueType embedded
    assert b"/BaseFont /Helvetica" not in data and b"Helvetica" not in data
    assert b"SourceSansPro" in data


def test_pdf_text_is_vietnamese(photos):
    texts = page_texts(pdf_bytes(sample_checks(), photos_dir=photos))
    text = flat("\n".join(texts))
    assert TITLE_VI in text
    assert SHOP in text
    assert "45 Đường Bến Đoan, Phường Hồng Gai" in text
    assert "Tỉnh Quảng Ninh" in text
    assert "Nguyễn Văn An" in text and "an.nguyen@ocop.quangninh.gov.vn" in text
    assert "23/11/2026 15:15" in text and "23/11/2026 16:40" in text  # started / closed, Vietnam time
    assert "Tạm giữ 2 hộp trà hoa vàng nghi giả." in text
    assert "Số tem đã kiểm tra: 6" in text
    for words in ("Chính hãng", "Tem giả: chữ ký không khớp", "Tem chưa kích hoạt", "Nghi ngờ tem sao chép"):
        assert words in text
    assert "1 234 567-1" in text
    assert "Tem được quét ở hai nơi cách nhau khoảng 310 km trong vòng 2 giờ." in text
    assert "Trang 1/" in texts[0]
    assert f"Trang {len(texts)}/{len(texts)}" in texts[-1]


def test_pdf_summary_counts_each_verdict():
    checks = [check(i, v, serial=1234567 + i)
              for i, v in enumerate(["genuine", "genuine", "genuine", "invalid-signature", "recalled"])]
    text = flat(page_texts(pdf_bytes(checks))[0])
    assert "Số tem đã kiểm tra: 5" in text and "lượt kiểm tra" not in text
    assert "Chính hãng 3" in text
    assert "Tem giả: chữ ký không khớp 1" in text
    assert "Lô hàng đã bị thu hồi 1" in text


def test_pdf_counts_a_stamp_checked_twice_once_with_its_last_verdict():
    checks = [check(1, "genuine", serial=1234567), check(2, "not-activated", serial=1234568),
              check(3, "genuine", serial=1234567),  # the same stamp again: photo, then typed serial
              check(4, "genuine", serial=1234568),  # activated meanwhile: its last check counts
              check(5, "malformed", serial=None), check(6, "malformed", serial=None)]  # one foreign QR, read twice
    checks[5]["code"] = checks[4]["code"]
    text = flat(page_texts(pdf_bytes(checks))[0])
    assert "Số tem đã kiểm tra: 3 (6 lượt kiểm tra;" in text
    assert "Chính hãng 2" in text
    assert "Chưa kích hoạt" not in text.split("Chi tiết các lần kiểm tra")[0]  # not in the summary
    assert text.count("STT") >= 1 and "Chi tiết các lần kiểm tra" in text  # every check still listed


def test_pdf_shows_verdicts_in_vietnamese_only():
    from stamp_service.verification.verdicts import VERDICTS

    checks = [check(n, name, serial=1234500 + n) for n, name in enumerate(VERDICTS, start=1)]
    text = flat("\n".join(page_texts(pdf_bytes(checks))))
    leaked = [name for name in VERDICTS if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)]
    assert not leaked, f"raw status keys in the record: {leaked}"
    assert "Chính hãng" in text and "Tem giả: chữ ký không khớp" in text


def test_pdf_in_english():
    texts = page_texts(pdf_bytes(sample_checks(), lang="en"))
    text = flat("\n".join(texts))
    assert TITLE_EN in text
    assert SHOP in text  # names stay as written
    assert "Counterfeit: the signature does not match" in text
    assert "Page 1/" in texts[0]
    assert "Trang" not in text


def test_pdf_with_many_checks_repeats_the_table_header():
    checks = [check(n, ("genuine", "invalid-signature", "warning")[n % 3], reasons=GENUINE, note=f"Ghi chú số {n}",
                    serial=1234567 + n) for n in range(1, 61)]
    texts = page_texts(pdf_bytes(checks))
    assert len(texts) > 1
    pages = len(texts)
    for number, text in enumerate(texts, start=1):
        assert f"Trang {number}/{pages}" in text
    table_pages = [t for t in texts if "Ghi chú số" in t]
    assert len(table_pages) > 1
    for text in table_pages:
        assert "Thời gian" in text and "Số sê-ri" in text and "Kết quả" in text and "Lý do" in text
    assert "Ghi chú số 60" in texts[-1] or "Ghi chú số 60" in texts[-2]
    assert TITLE_VI in texts[1]  # running header on later pages


def test_pdf_very_long_note_is_printed_in_full_after_the_table():
    long_note = "Hàng trưng bày lẫn với hàng không có tem. " * 120 + "HẾT GHI CHÚ"
    texts = page_texts(pdf_bytes([check(1, "recalled", note=long_note), check(2, "genuine", note="ngắn")]))
    text = flat("\n".join(texts))
    assert "HẾT GHI CHÚ" in text
    assert "xem toàn văn bên dưới" in text
    assert "Toàn văn lý do và ghi chú dài" in text


def test_pdf_escapes_markup_in_user_text():
    visit = {**VISIT, "shop": "Cửa hàng <b>A & B</b>", "notes": "giá < 100 & > 50"}
    out = io.BytesIO()
    visit_pdf(visit, [check(1, "genuine", note="<font name='Helvetica'>x</font>")], INSPECTOR, out)
    text = flat("\n".join(page_texts(out.getvalue())))
    assert "Cửa hàng <b>A & B</b>" in text
    assert "giá < 100 & > 50" in text
    assert b"/BaseFont /Helvetica" not in out.getvalue()


def test_pdf_without_checks_or_optional_fields():
    visit = {"id": 1, "shop": "Quầy số 5 chợ Cái Răng", "started_at": "2026-11-23T01:00:00Z", "closed_at": None}
    out = io.BytesIO()
    visit_pdf(visit, [], {"email": "kt@example.vn", "name": None}, out)
    text = flat("\n".join(page_texts(out.getvalue())))
    assert "Chưa kiểm tra tem nào." in text
    assert "Chưa kết thúc" in text
    assert "kt@example.vn" in text


def test_pdf_photos_become_images(photos):
    with_photo = pdf_bytes(sample_checks(), photos_dir=photos)
    assert b"/Subtype /Image" in with_photo
    text = flat("\n".join(page_texts(with_photo)))
    assert "Ảnh chụp tại cửa hàng" in text
    assert "#1 · 1 234 567-1" in text  # caption ties the photo to its check
    assert "#5" not in text  # its photo file is missing: no thumbnail, no caption

    assert b"/Subtype /Image" not in pdf_bytes(sample_checks())  # no photos_dir
    empty = photos.parent / "empty"
    empty.mkdir()
    assert b"/Subtype /Image" not in pdf_bytes(sample_checks(), photos_dir=empty)


def test_pdf_shows_each_photo_once(photos):
    Image.new("RGB", (64, 48), (200, 40, 40)).save(photos / "ke-hang-2.jpg", "JPEG")
    shelf = [check(n, "genuine", photo="ke-hang-1.jpg", serial=1234500 + n) for n in (1, 2, 3)]
    data = pdf_bytes(shelf + [check(4, "recalled", photo="ke-hang-2.jpg", serial=1234600)], photos_dir=photos)
    doc = pdfium.PdfDocument(data)
    try:  # images drawn on the pages (one image object drawn three times would count three)
        drawn = sum(1 for i in range(len(doc))
                    for _ in doc[i].get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE], max_depth=3))
    finally:
        doc.close()
    assert drawn == 2  # one shelf photo of three stamps, one photo of one stamp
    text = flat("\n".join(page_texts(data)))
    assert "#1, #2, #3 · 23/11/2026 15:21" in text
    assert "#4 · 1 234 600-" in text


def test_pdf_ignores_photo_names_outside_the_folder(photos):
    (photos.parent / "secret.jpg").write_bytes((photos / "ke-hang-1.jpg").read_bytes())
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    checks = [check(1, "genuine", photo="../secret.jpg"), check(2, "genuine", photo="broken.jpg")]
    assert b"/Subtype /Image" not in pdf_bytes(checks, photos_dir=photos)


def test_pdf_is_deterministic(photos):
    assert pdf_bytes(sample_checks(), photos_dir=photos) == pdf_bytes(sample_checks(), photos_dir=photos)


def test_render_record_for_a_human(photos):
    """test-artifacts/inspection-record.png: the first page at 100 dpi."""
    data = pdf_bytes(sample_checks() + [check(n, "genuine", reasons=GENUINE, photo="ke-hang-1.jpg",
                                              serial=1234600 + n) for n in range(7, 10)], photos_dir=photos)
    doc = pdfium.PdfDocument(data)
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        image = doc[0].render(scale=100 / 72).to_pil()
        image.save(ARTIFACTS / "inspection-record.png")
    finally:
        doc.close()
    assert image.width == 827 and abs(image.height - 1169) <= 1  # A4 portrait at 100 dpi
