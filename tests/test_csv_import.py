"""CSV import: the provincial office's spreadsheets go in whole or not at all, with a report per row."""

from __future__ import annotations

import pytest

from stamp_service.context import get_storage
from stamp_service.registry.csv_import import ImportFailed, import_csv

PRODUCERS_VI = (
    "Tên chủ thể;Loại hình;Mã số thuế;Địa chỉ;Mã xã;Điện thoại\n"
    "HTX Mật hoa dừa Cầu Ngang;Hợp tác xã;2100111229;Ấp Mỹ Cẩm, huyện Cầu Ngang, tỉnh Trà Vinh;29416;0294 3855 123\n"
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
        row = get_storage().find_one("producers", id_value="2100111229")
    assert (row["type"], row["id_type"]) == ("cooperative", "tax_code")
    assert row["province_code"] == "86" and row["name"] == "HTX Mật hoa dừa Cầu Ngang"


def test_one_bad_row_saves_nothing_and_reports_every_problem(app):
    text = ("name,type,commune_code,id_type,id_value\n"
            "Good one,cooperative,06978,tax_code,0101234565\n"
            "Bad commune,cooperative,12345,,\n"
            ",kolkhoz,06978,,\n"
            "Dup of good,cooperative,06978,tax_code,0101234565\n")
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
            "5701998233,Trà túi lọc hoa vàng,Đồ uống,3,12/QĐ-UBND,15/03/2025,UBND tỉnh Quảng Ninh\n"
            "5701998233,Cao ba kích,Dược liệu,,,,\n")
    report = run(app, "products", text)
    assert len(report.created) == 2
    with app.app_context():
        storage = get_storage()
        product = storage.get("products", report.created[0])
        rec = storage.find_one("recognitions", product_id=product["id"])
    assert product["product_group"] == "drinks" and product["producer_id"] == world.producer_a
    assert rec["stars"] == 3 and rec["valid_until"] == "2028-03-15"


def test_products_unknown_producer_and_bad_gtin(app):
    text = "producer_identifier,name,product_group,gtin\n9999999999,X,food,\n5701998233,Y,food,8938505974191\n"
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


# ----------------------------------------------------------------------------- every problem, in the file's words


def test_every_problem_of_every_row_is_reported_under_the_files_own_headers(app):
    text = ("Tên chủ thể;Loại hình;Mã số thuế;Mã xã;Điện thoại;Thư điện tử\n"
            ";kolkhoz;0101234567;12345;0294 1;not-an-email\n"  # six problems in one row
            "HTX Tốt;Hợp tác xã;0101234565;06978;0912 345 678;htx@example.vn\n"
            "HTX Sai số;Hợp tác xã;5701998231;06978;+84 912 345 678;\n")  # a tax code typed with a slip
    before = count(app, "producers")
    with pytest.raises(ImportFailed) as failed:
        run(app, "producers", text)
    report = failed.value.report
    got = {(e["line"], e["header"]) for e in report.error_dicts("vi")}
    assert got == {(2, "Tên chủ thể"), (2, "Loại hình"), (2, "Mã số thuế"), (2, "Mã xã"), (2, "Điện thoại"),
                   (2, "Thư điện tử"), (4, "Mã số thuế")}
    by_line = {(e.line, e.column): e.message.key for e in report.errors}
    assert by_line[(2, "id_value")] == by_line[(4, "id_value")] == "error.tax_code_check_digit"
    assert by_line[(2, "phone")] == "error.phone"
    assert count(app, "producers") == before


def test_a_missing_column_is_named_as_in_the_template(app):
    with pytest.raises(ImportFailed) as failed:
        run(app, "producers", "Tên chủ thể\nHTX Không loại\n")
    errors = failed.value.report.error_dicts("vi")
    assert {(e["header"], e["column"]) for e in errors} >= {("Loại hình", "type"), ("Mã xã", "commune_code")}
    assert {e["header"] for e in failed.value.report.error_dicts("en")} >= {"Type", "Commune code"}


def test_a_product_row_reports_its_producer_product_and_recognition_problems_together(app):
    text = ("Mã số thuế chủ thể,Tên sản phẩm,Nhóm sản phẩm,Mã GTIN,Số sao,Ngày quyết định\n"
            "0100109106,,Bánh kẹo,123,7,31/02/2025\n")
    with pytest.raises(ImportFailed) as failed:
        run(app, "products", text)
    got = {e["header"]: e["message"] for e in failed.value.report.error_dicts("vi")}
    assert set(got) == {"Mã số thuế chủ thể", "Tên sản phẩm", "Nhóm sản phẩm", "Mã GTIN", "Số sao", "Ngày quyết định",
                        "Số quyết định", "Cơ quan công nhận"}


@pytest.mark.parametrize("phone, ok", [
    ("0912 345 678", True), ("+84 912 345 678", True), ("84912345678", True), ("(024) 3825 1234", True),
    ("0203.3888.123", True), ("1900 1234", True), ("1800 123 456", True), ("0294 1", False), ("0123 456 789", False),
    ("091234567", False), ("+1 202 555 0100", False), ("0912 345 6789", False),
])
def test_vietnamese_phone_numbers(phone, ok):
    from stamp_service.registry.fields import Invalid
    from stamp_service.registry.identifiers import check_phone

    if ok:
        assert check_phone(phone) == " ".join(phone.split())
    else:
        with pytest.raises(Invalid):
            check_phone(phone)


@pytest.mark.parametrize("value, ok", [("0100109106", True), ("0100109106-001", True), ("0100 109 106", True),
                                       ("0100109107", False), ("5701998231", False), ("010010910", False)])
def test_tax_codes_are_checked_with_their_check_digit(value, ok):
    from stamp_service.registry.fields import Invalid
    from stamp_service.registry.identifiers import check_identifier

    if ok:
        assert check_identifier("tax_code", value).startswith("0100109106")
    else:
        with pytest.raises(Invalid):
            check_identifier("tax_code", value)


def test_demo_and_fixture_tax_codes_pass_their_check_digit(app):
    from stdnum.vn import mst

    from stamp_service.demo import PRODUCERS
    from stamp_service.registry.identifiers import check_phone

    demo = [p["producer"] for p in PRODUCERS]
    codes = [p["id_value"] for p in demo if p.get("id_type") == "tax_code"]
    assert len(codes) >= 3 and all(mst.is_valid(c) for c in codes)
    assert all(check_phone(p["phone"]) for p in demo if p.get("phone"))
    with app.app_context():
        stored = [r["id_value"] for r in get_storage().find("producers", id_type="tax_code")]
    assert stored and all(mst.is_valid(c) for c in stored)


# ----------------------------------------------------------------------------- the template and Excel files


@pytest.mark.parametrize("kind", ["producers", "products"])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_template_is_utf8_with_bom_and_reads_back_as_every_column(kind, lang):
    from stamp_service.registry.csv_import import TEMPLATE_COLUMNS, read_table, template_csv

    data = template_csv(kind, lang)
    assert data.startswith(b"\xef\xbb\xbf")
    header = data.decode("utf-8-sig").strip()
    if lang == "vi":
        assert ("Tên chủ thể" if kind == "producers" else "Tên sản phẩm") in header
    row = ",".join("x" for _ in TEMPLATE_COLUMNS[kind])
    table = read_table(data + row.encode(), kind)
    assert list(table.headers) == list(TEMPLATE_COLUMNS[kind])  # every template column is recognised


def test_the_portal_serves_the_template_to_the_office_only(login, client):
    admin = login("admin")
    response = admin.get("/portal/import/template.csv?kind=products")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf") and "Mã số thuế chủ thể".encode() in response.data
    page = admin.get("/portal/import").get_data(as_text=True)
    assert "/portal/import/template.csv?kind=producers" in page
    assert login("producer_a").get("/portal/import/template.csv").status_code == 403
    assert client.get("/portal/import/template.csv").status_code in (302, 401)


def _xlsx(rows) -> bytes:
    import io

    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_excel_file_is_imported_with_numbers_and_dates_as_typed(app, world):
    import datetime as dt

    data = _xlsx([["Mã số thuế chủ thể", "Tên sản phẩm", "Nhóm sản phẩm", "Số sao", "Số quyết định",
                   "Ngày quyết định", "Cơ quan công nhận"],
                  [5701998233, "Trà hoa vàng túi lọc", "Đồ uống", 4, "15/QĐ-UBND", dt.datetime(2025, 3, 15),
                   "UBND tỉnh Quảng Ninh"],
                  [None, None, None, None, None, None, None]])
    report = run(app, "products", data)
    assert len(report.created) == 1
    with app.app_context():
        storage = get_storage()
        product = storage.get("products", report.created[0])
        rec = storage.find_one("recognitions", product_id=product["id"])
    assert product["producer_id"] == world.producer_a and product["name"] == "Trà hoa vàng túi lọc"
    assert (rec["stars"], rec["decision_date"]) == (4, "2025-03-15")


def test_an_excel_file_with_errors_saves_nothing_and_names_its_rows(app):
    data = _xlsx([["Tên chủ thể", "Loại hình", "Mã xã", "Điện thoại"],
                  ["HTX Một", "Hợp tác xã", 6978, "0912345678"],
                  ["HTX Hai", "Hợp tác xã", 99999, 912345678]])
    before = count(app, "producers")
    with pytest.raises(ImportFailed) as failed:
        run(app, "producers", data)
    got = {(e["line"], e["header"]) for e in failed.value.report.error_dicts("vi")}
    assert got == {(3, "Mã xã"), (3, "Điện thoại")}
    assert count(app, "producers") == before


@pytest.mark.parametrize("data", [b"PK\x03\x04 not really a zip", b"PK\x03\x04" + bytes(200)])
def test_a_damaged_excel_file_gets_a_clear_message(app, data):
    with pytest.raises(ImportFailed) as failed:
        run(app, "producers", data)
    assert failed.value.report.errors[0].message.key == "import.bad_xlsx"


def test_portal_and_api_take_excel_files_and_show_the_headers(login, api, app):
    import io

    data = _xlsx([["Tên chủ thể", "Loại hình", "Mã xã"], ["HTX Excel", "Hợp tác xã", "06978"],
                  ["HTX Lỗi", "Nông trại", "06978"]])
    session = login("admin")
    bad = session.post("/portal/import", {"kind": "producers", "file": (io.BytesIO(data), "ds.xlsx")},
                       content_type="multipart/form-data")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "<td>3</td><td>Loại hình</td>" in html
    call = api("admin")
    failed = call("POST", "/api/v1/import/producers", data={"file": (io.BytesIO(data), "ds.xlsx")},
                  content_type="multipart/form-data")
    assert failed.status_code == 400
    assert [(e["line"], e["column"], e["header"]) for e in failed.get_json()["errors"]] == [(3, "type", "Loại hình")]
    good = _xlsx([["Tên chủ thể", "Loại hình", "Mã xã"], ["HTX Excel", "Hợp tác xã", "06978"]])
    ok = call("POST", "/api/v1/import/producers", data={"file": (io.BytesIO(good), "ds.xlsx")},
              content_type="multipart/form-data")
    assert ok.status_code == 201 and len(ok.get_json()["created"]) == 1


def test_the_cli_names_the_files_headers(runner, tmp_path):
    from stamp_service.cli import cli

    bad = tmp_path / "ds.xlsx"
    bad.write_bytes(_xlsx([["Tên chủ thể", "Loại hình", "Mã xã"], ["HTX", "Nông trại", "1"]]))
    result = runner.invoke(cli, ["import", "producers", str(bad)])
    assert result.exit_code == 1
    assert "line 2, column Loại hình" in result.output and "line 2, column Mã xã" in result.output
