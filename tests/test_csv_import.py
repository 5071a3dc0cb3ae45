"""CSV import: the provincial office's spreadsheets go in whole or not at all, with a report per row."""

from __future__ import annotations

import pytest

from stamp_service.context import get_storage
from stamp_service.registry.csv_import import ImportFailed, import_csv

PRODUCERS_VI = (
    "Tên chủ thể;Loại hình;Mã số thuế;Địa chỉ;Mã xã;Điện thoại\n"
    "HTX Mật hoa dừa Cầu Ngang;Hợp tác xã;2100111222;Ấp Mỹ Cẩm, huyện Cầu Ngang, tỉnh Trà Vinh;29416;0294 1\n"
    "Cơ sở Bánh tráng Đồng Tháp;Hộ kinh doanh;;Sa Đéc;29905;\n"
)


def run(app, kind: str, text: str | bytes):
    with app.app_context():
        return import_csv(get_storage(), kind, text.encode("utf-8") if isinstance(text, str) else text)


def count(app, table: str) -> int:
    with app.app_context():
        return get_storage().count(table)


def test_vietnamese_headers_values_semicolons_and_bom(app):
    before = count(app, "producers")
    report = run(app, "producers", "\ufeff" + PRODUCERS_VI.replace("Mã số thuế", "Mã số thuế"))
    assert len(report.created) == 2
    assert count(app, "producers") == before + 2
    with app.app_context():
        row = get_storage().find_one("producers", id_value="2100111222")
    assert (row["type"], row["id_type"]) == ("cooperative", "tax_code")
    assert row["province_code"] == "86" and row["name"] == "HTX Mật hoa dừa Cầu Ngang"


def test_one_bad_row_saves_nothing_and_reports_every_problem(app):
    text = ("name,type,commune_code,id_type,id_value\n"
            "Good one,cooperative,06978,tax_code,0101234567\n"
            "Bad commune,cooperative,12345,,\n"
            ",kolkhoz,06978,,\n"
            "Dup of good,cooperative,06978,tax_code,0101234567\n")
    before = count(app, "producers")
    with pytest.raises(ImportFailed) as failed:
        run(app, "producers", text)
    problems = {(e.line, e.column) for e in failed.value.report.errors}
    assert (3, "commune_code") in problems
    assert (4, "name") in problems and (4, "type") in problems
    assert (5, "id_value") in problems  # duplicate within the same file
    assert (2, None) not in problems
    assert count(app, "producers") == before


def test_products_with_recognitions_by_producer_tax_code(app, world):
    text = ("Mã số thuế chủ thể,Tên sản phẩm,Nhóm sản phẩm,Số sao,Số quyết định,Ngày quyết định,Cơ quan công nhận\n"
            "5701998231,Trà túi lọc hoa vàng,Đồ uống,3,12/QĐ-UBND,15/03/2025,UBND tỉnh Quảng Ninh\n"
            "5701998231,Cao ba kích,Dược liệu,,,,\n")
    report = run(app, "products", text)
    assert len(report.created) == 2
    with app.app_context():
        storage = get_storage()
        product = storage.get("products", report.created[0])
        rec = storage.find_one("recognitions", product_id=product["id"])
    assert product["product_group"] == "drinks" and product["producer_id"] == world.producer_a
    assert rec["stars"] == 3 and rec["valid_until"] == "2028-03-15"


def test_products_unknown_producer_and_bad_gtin(app):
    text = "producer_identifier,name,product_group,gtin\n9999999999,X,food,\n5701998231,Y,food,8938505974191\n"
    with pytest.raises(ImportFailed) as failed:
        run(app, "products", text)
    problems = {(e.line, e.column) for e in failed.value.report.errors}
    assert problems == {(2, "producer_identifier"), (3, "gtin")}


@pytest.mark.parametrize("data, key", [
    ("Tên chủ thể,Mã xã\nHTX,06978\n".encode("cp1258", errors="replace"), "import.not_utf8"),
    (b"\xff\xfe\x00\x00", "import.not_utf8"),
    (b"", "import.empty"),
    (b"foo,bar\n1,2\n", "import.no_name_column"),
    (b'name,type\n"unclosed,cooperative\n', "import.bad_csv"),
])
def test_broken_files_get_a_clear_message(app, data, key):
    with pytest.raises(ImportFailed) as failed:
        run(app, "producers", data)
    assert failed.value.report.errors[0].message.key == key


def test_leading_zero_dropped_by_spreadsheet_is_restored(app):
    report = run(app, "producers", "name,type,commune_code\nHTX Bát Tràng,cooperative,577\n")
    with app.app_context():
        assert get_storage().get("producers", report.created[0])["commune_code"] == "00577"


def test_import_through_portal_and_api(login, api, app):
    import io

    session = login("admin")
    response = session.post("/portal/import", {"kind": "producers", "file": (io.BytesIO(PRODUCERS_VI.encode()), "p.csv")},
                            content_type="multipart/form-data")
    assert response.status_code == 200 and "Đã nhập 2 bản ghi" in response.get_data(as_text=True)
    bad = session.post("/portal/import", {"kind": "producers", "file": (io.BytesIO(b"name,commune_code\nX,1\n"), "p.csv")},
                       content_type="multipart/form-data")
    assert bad.status_code == 400 and "<td>2</td>" in bad.get_data(as_text=True)
    call = api("admin")
    ok = call("POST", "/api/v1/import/producers", data="name,type,commune_code\nHTX Z,cooperative,06688\n".encode(),
              content_type="text/csv")
    assert ok.status_code == 201 and len(ok.get_json()["created"]) == 1
    failed = call("POST", "/api/v1/import/producers", data=b"name,type,commune_code\n,x,1\n", content_type="text/csv")
    body = failed.get_json()
    assert failed.status_code == 400 and body["error"] and {e["column"] for e in body["errors"]} >= {"name", "type"}
    assert call("POST", "/api/v1/import/cows", data=b"x").status_code == 400
