"""A batch's production stages from a CSV or .xlsx file (portal, API, CLI): checked as the API checks one stage,
all stored or none, every problem named by its line and the file's own header; template, BOM, CRLF, size limit."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from stamp_service.context import get_storage
from stamp_service.trace import stage_import
from test_csv_import import _xlsx

VI_HEADER = "Giai đoạn,Thời gian,Mã xã,Địa điểm,Mô tả,Nguyên liệu,Nhà cung cấp,Lô nguyên liệu,Số lượng nguyên liệu"
VI_GOOD = "\n".join([
    VI_HEADER,
    "Thu hoạch,20/11/2026 07:30,06978,Đồi chè số 2,Hái búp chè,Búp chè tươi,Hộ ông Hùng,HC-01,120 kg",
    "Chế biến,21/11/2026 08:00,6978,Xưởng HTX,Sao chè,Búp chè tươi,,HC-01,100 kg",
    "Chế biến,21/11/2026 08:00,6978,Xưởng HTX,Sao chè,Hoa trà vàng khô,Hộ bà Lan,HL-07,5 kg",
    "Đóng gói,22/11/2026 09:15,06978,,,,,,",
]) + "\n"
EN_GOOD = ("Stage,Time,Commune code,Description,Input material,Supplier lot,Ship to,Ship to quantity\n"
           "harvest,2026-11-20T07:30:00+07:00,06978,Picking,Fresh buds,HC-01,,\n"
           "Shipping,2026-11-23T06:00:00Z,06978,To Hạ Long,,,Cửa hàng đặc sản Hạ Long,200 hộp\n")
FUTURE = (dt.datetime.now(dt.timezone(dt.timedelta(hours=7))) + dt.timedelta(days=2)).strftime("%d/%m/%Y %H:%M")
BROKEN = "\n".join([
    VI_HEADER,
    "Thu hoạch,20/11/2026 07:30,06978,,,Búp chè tươi,,,",  # line 2: good
    f"Chế biến,{FUTURE},06978,,,,,,",  # line 3: in the future
    "Đóng gói,2026-11-22T09:15:00,99999,,,,,,",  # line 4: no offset and an unknown commune
    "Nhảy múa,2026-11-22T09:15:00+25:00,06978,,,,Hộ ông Hùng,,",  # line 5: no such stage, bad offset, no material
]) + "\n"


def _events(app) -> list[dict]:
    with app.app_context():
        return get_storage().find("batch_events", order_by="id")


def _post(session, world, data: bytes, name: str = "giai-doan.csv"):
    return session.post(f"/portal/batches/{world.batch_a}/stages/import", {"file": (io.BytesIO(data), name)},
                        content_type="multipart/form-data")


def test_portal_records_a_vietnamese_file_with_several_inputs_for_one_stage(app, login, world):
    session = login("producer_a")
    page = session.get(f"/portal/batches/{world.batch_a}").get_data(as_text=True)
    assert "Nhập công đoạn từ tệp CSV/Excel" in page and f"/portal/batches/{world.batch_a}/stages/import" in page
    done = _post(session, world, VI_GOOD.encode())
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/portal/batches/{world.batch_a}#stages")
    rows = _events(app)
    assert [r["stage"] for r in rows] == ["harvest", "processing", "packing"]
    assert {r["source"] for r in rows} == {"csv"} and {r["created_by"] for r in rows} == {world.users["producer_a"]}
    harvest, processing, packing = rows
    # a spreadsheet's time is Vietnam time; a commune code without its leading zero is restored
    assert (harvest["event_time"], harvest["tz_offset"]) == ("2026-11-20T00:30:00Z", "+07:00")
    assert processing["commune_code"] == "06978" and processing["site"] == "Xưởng HTX"
    assert [i["material"] for i in json.loads(processing["inputs"])] == ["Búp chè tươi", "Hoa trà vàng khô"]
    assert json.loads(processing["inputs"])[1] == {"material": "Hoa trà vàng khô", "supplier": "Hộ bà Lan",
                                                   "lot": "HL-07", "quantity": "5 kg"}
    assert packing["inputs"] is None and packing["event_time"] == "2026-11-22T02:15:00Z"
    shown = session.get(f"/portal/batches/{world.batch_a}").get_data(as_text=True)
    assert "Đã ghi 3 công đoạn từ tệp." in shown and "Hoa trà vàng khô" in shown


def test_api_records_an_english_file_from_a_raw_body(app, api, world):
    answer = api("producer_a")("POST", f"/api/v1/batches/{world.batch_a}/events.csv", data=EN_GOOD.encode(),
                               content_type="text/csv")
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["rows"] == 2 and [e["stage"] for e in body["items"]] == ["harvest", "shipping"]
    assert body["items"][0]["inputs"] == [{"material": "Fresh buds", "lot": "HC-01"}]
    assert body["items"][1]["ship_to"] == {"distributor": "Cửa hàng đặc sản Hạ Long", "quantity": "200 hộp"}
    assert body["items"][1]["at"] == "2026-11-23T06:00:00+00:00" and body["items"][1]["source"] == "csv"


def test_an_excel_file_keeps_its_date_times(app, api, world):
    data = _xlsx([["Giai đoạn", "Thời gian", "Mã xã", "Nguyên liệu", "Số lượng nguyên liệu"],
                  ["Thu hoạch", dt.datetime(2026, 11, 20, 7, 30), 6978, "Búp chè tươi", 120],
                  ["Lưu kho", "21/11/2026 17:45", "06978", None, None]])
    answer = api("admin")("POST", f"/api/v1/batches/{world.batch_a}/events.csv",
                          data={"file": (io.BytesIO(data), "giai-doan.xlsx")}, content_type="multipart/form-data")
    assert answer.status_code == 201, answer.get_json()
    items = answer.get_json()["items"]
    assert [(e["stage"], e["at"]) for e in items] == [("harvest", "2026-11-20T07:30:00+07:00"),
                                                       ("storage", "2026-11-21T17:45:00+07:00")]
    assert items[0]["inputs"] == [{"material": "Búp chè tươi", "quantity": "120"}]
    assert items[0]["created_by"] == world.users["admin"]


def test_a_broken_file_reports_every_problem_of_every_row_and_stores_nothing(app, api, world):
    answer = api("producer_a")("POST", f"/api/v1/batches/{world.batch_a}/events.csv", data=BROKEN.encode(),
                               content_type="text/csv")
    assert answer.status_code == 400
    got = [(e["line"], e["column"], e["header"]) for e in answer.get_json()["errors"]]
    assert sorted(got) == sorted([
        (3, "at", "Thời gian"),
        (4, "at", "Thời gian"), (4, "commune_code", "Mã xã"),
        (5, "stage", "Giai đoạn"), (5, "at", "Thời gian"), (5, "input_material", "Nguyên liệu"),
    ])
    messages = {(e["line"], e["column"]): e["message"] for e in answer.get_json()["errors"]}
    # the same words as the API's own check of one stage
    single = api("producer_a")("POST", f"/api/v1/batches/{world.batch_a}/events",
                               json={"stage": "harvest", "at": "2026-11-22T09:15:00", "commune_code": "99999"})
    assert messages[(4, "at")] == single.get_json()["fields"]["at"]
    assert messages[(4, "commune_code")] == single.get_json()["fields"]["commune_code"]
    assert "Thu hoạch" in messages[(5, "stage")] and "Đóng gói" in messages[(5, "stage")]  # what to write instead
    assert _events(app) == []  # line 2 was good, but nothing is stored


def test_the_portal_lists_the_errors_beside_the_upload(app, login, world):
    page = _post(login("producer_a"), world, BROKEN.encode())
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and 'id="import-errors"' in html
    assert html.index('id="f-file"') < html.index('id="import-errors"') < html.index(">Nhập công đoạn</button>")
    for line, header in ((3, "Thời gian"), (4, "Mã xã"), (5, "Giai đoạn"), (5, "Nguyên liệu")):
        assert f"<td>{line}</td><td>{header}</td>" in html
    assert _events(app) == []


def test_a_bom_and_crlf_file_is_read(app, api, world):
    data = "\ufeff".encode() + VI_GOOD.replace("\n", "\r\n").encode()
    answer = api("producer_a")("POST", f"/api/v1/batches/{world.batch_a}/events.csv", data=data,
                               content_type="text/csv")
    assert answer.status_code == 201, answer.get_json()
    assert [e["stage"] for e in answer.get_json()["items"]] == ["harvest", "processing", "packing"]
    assert answer.get_json()["items"][2]["commune_code"] == "06978"  # no \r left in the last cell


def test_an_oversized_file_is_refused_before_reading(app, api, login, world):
    filler = "Lưu kho,20/11/2026 07:30,06978,,x,,,,\n" * (stage_import.MAX_BYTES // 30)
    data = (VI_HEADER + "\n" + filler).encode()
    assert len(data) > stage_import.MAX_BYTES
    answer = api("producer_a")("POST", f"/api/v1/batches/{world.batch_a}/events.csv", data=data,
                               content_type="text/csv")
    assert answer.status_code == 400
    assert [e["message"] for e in answer.get_json()["errors"]] == ["Tệp lớn hơn 1024 KB: hãy chia thành nhiều tệp."]
    assert _post(login("producer_a"), world, data).status_code == 400
    assert _events(app) == []


def test_a_second_ship_to_for_one_stage_and_a_file_without_stage_column(app, api, world):
    call = api("producer_a")
    two = ("Giai đoạn,Thời gian,Mã xã,Nguyên liệu,Giao cho\n"
           "Vận chuyển,22/11/2026 09:00,06978,Hộp trà,Cửa hàng A\n"
           "Vận chuyển,22/11/2026 09:00,06978,Túi trà,Cửa hàng B\n")
    answer = call("POST", f"/api/v1/batches/{world.batch_a}/events.csv", data=two.encode(), content_type="text/csv")
    assert answer.status_code == 400
    assert [(e["line"], e["header"]) for e in answer.get_json()["errors"]] == [(3, "Giao cho")]
    headless = call("POST", f"/api/v1/batches/{world.batch_a}/events.csv", data=b"Lot,Quantity\nA,1\n",
                    content_type="text/csv")
    assert headless.status_code == 400 and "Giai đoạn" in headless.get_json()["errors"][0]["message"]
    assert _events(app) == []


def test_only_the_batchs_producer_or_the_office(app, api, login, world):
    data = VI_GOOD.encode()
    other = api("producer_b")("POST", f"/api/v1/batches/{world.batch_a}/events.csv", data=data,
                              content_type="text/csv")
    assert other.status_code == 404
    assert api("inspector")("POST", f"/api/v1/batches/{world.batch_a}/events.csv", data=data,
                            content_type="text/csv").status_code == 403
    assert _post(login("producer_b"), world, data).status_code == 404
    assert _events(app) == []


@pytest.mark.parametrize("lang, first, material", [("vi", "Giai đoạn", "Nguyên liệu"),
                                                   ("en", "Stage", "Input material")])
def test_the_template_is_utf8_with_bom_in_the_pages_language_and_reads_back(app, login, world, lang, first,
                                                                            material):
    session = login("producer_a")
    response = session.get(f"/portal/stages/template.csv?lang={lang}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf") and response.data.endswith(b"\r\n")
    header = response.data[3:].decode().strip().split(",")
    assert header[0] == first and material in header and len(header) == len(stage_import.COLUMNS)
    row = ["" for _ in header]
    row[:3] = ["harvest", "20/11/2026 07:30", "06978"]
    filled = response.data + (",".join(row) + "\r\n").encode()
    assert _post(session, world, filled).status_code == 302
    assert [e["stage"] for e in _events(app)] == ["harvest"]


def test_the_cli_records_a_file_and_lists_every_problem(app, runner, world, tmp_path):
    from stamp_service.cli import cli

    bad = tmp_path / "bad.csv"
    bad.write_text(BROKEN, encoding="utf-8")
    failed = runner.invoke(cli, ["stages", "import", str(world.batch_a), str(bad)])
    assert failed.exit_code == 1 and "Nothing imported: 6 problem(s)" in failed.output
    assert "line 4, column Mã xã: " in failed.output and _events(app) == []
    assert "line 5, column Giai đoạn: Unknown stage. Write one of: Planting / raising, Harvest," in failed.output
    good = tmp_path / "good.csv"
    good.write_text(EN_GOOD, encoding="utf-8")
    done = runner.invoke(cli, ["stages", "import", str(world.batch_a), str(good), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["created"] == [e["id"] for e in _events(app)]
    missing = runner.invoke(cli, ["stages", "import", "9999", str(good)])
    assert missing.exit_code == 1 and "no batch 9999" in missing.output


def test_the_openapi_document_describes_the_file_upload(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    post = doc["paths"]["/api/v1/batches/{batch_id}/events.csv"]["post"]
    assert {"text/csv", "multipart/form-data"} <= set(post["requestBody"]["content"])
    assert "errors" in post["responses"]["400"]["content"]["application/json"]["schema"]["properties"]


def test_a_file_with_too_many_rows_is_refused(app, api, world):
    rows = "".join(f"Lưu kho,20/11/2026 07:30,06978,Kho {i},,,,,\n" for i in range(stage_import.MAX_ROWS + 1))
    answer = api("producer_a")("POST", f"/api/v1/batches/{world.batch_a}/events.csv",
                               data=(VI_HEADER + "\n" + rows).encode(), content_type="text/csv")
    assert answer.status_code == 400
    assert [e["message"] for e in answer.get_json()["errors"]] == ["Tệp có quá 2000 dòng: hãy chia nhỏ."]
    assert _events(app) == []
