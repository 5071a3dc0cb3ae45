"""Shoppers' reports reach someone: the staff's inbox (status, assignee, append-only notes, contact, photo, a case
opened from a report, filters by province and product) and the producer's view of reports on its own products.

Reports are sent through the shopper's real form (/report) with real signed codes and a real JPEG."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from PIL import Image

from stamp_service.context import get_storage
from stamp_service.registry import products, recognitions
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.storage import SQLiteStorage as Storage, StorageError
from stamp_service.storage import migrations as schema
from test_inspection import forge, stamp_codes


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (60, 40), (30, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


def send_report(app, code: str, what: str, *, contact: str | None = None, photo: bool = False,
                where: str | None = None) -> int:
    """A shopper (a fresh phone) sends a report through the public form; the status code it got."""
    client = app.test_client()
    html = client.get("/S/12345").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
    data = {"csrf_token": token, "code": code, "what": what}
    if contact:
        data["contact"] = contact
    if where:
        data["where_bought"] = where
    if photo:
        data["photo"] = (io.BytesIO(jpeg()), "anh.jpg")
    return client.post("/report", data=data, content_type="multipart/form-data").status_code


def reports(app) -> list[dict]:
    with app.app_context():
        return get_storage().find("reports", order_by="id")


def issue_for_b(app, world) -> list[tuple[int, str]]:
    """A run of producer B's batch (the fixture issues only A's; B's product gets its 3 stars first)."""
    with app.app_context():
        recognitions.create(get_storage(), {"product_id": world.product_b, "stars": 3, "level": "province",
                                            "issuing_body": "UBND tỉnh Quảng Ninh", "decision_number": "2/QĐ-UBND",
                                            "decision_date": (dt.date.today() - dt.timedelta(days=10)).isoformat()})
        run = issuing.issue_run(get_storage(), keystore(app), world.batch_b, 5, issuer="VN",
                                host=app.config["PUBLIC_HOST"])
    return stamp_codes(app, run["id"])


def test_a_report_on_our_stamp_carries_its_product_and_province_and_moves_through_the_inbox(app, world, login):
    (serial, code), = stamp_codes(app, world.run_a, 1)
    assert send_report(app, code, "Tem bị bong, chữ in mờ", contact="0912 345 678", photo=True,
                       where="Chợ Hạ Long") == 200
    report, = reports(app)
    assert report["serial"] == serial and report["product_id"] == world.product_a
    assert report["province_code"] == "22" and report["status"] == "new"  # HTX Ba Chẽ is in Quảng Ninh (22)

    inspector = login("inspector")
    inbox = inspector.get("/inspect/reports").get_data(as_text=True)
    assert f'href="/inspect/reports/{report["id"]}"' in inbox and "Mới" in inbox and "Trà hoa vàng" in inbox
    page = inspector.get(f"/inspect/reports/{report['id']}").get_data(as_text=True)
    assert "0912 345 678" in page and "Chợ Hạ Long" in page  # the contact reaches someone
    photo_url = f"/inspect/media/reports/{report['photo']}"
    assert photo_url in page
    shown = inspector.get(photo_url)
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg" and shown.data[:2] == b"\xff\xd8"
    assert login("producer_a").get(photo_url).status_code == 403
    assert app.test_client().get(photo_url).status_code == 302  # anonymous: to the login page

    dashboard = inspector.get("/inspect/dashboard").get_data(as_text=True)
    assert re.search(r"<strong>1</strong> báo cáo mới", dashboard)
    answer = inspector.post(f"/inspect/reports/{report['id']}",
                            {"status": "in_progress", "assignee_id": str(world.users["inspector"]),
                             "note": "Đã gọi cho người mua, hẹn xem hàng chiều nay"})
    assert answer.status_code == 303
    changed, = reports(app)
    assert changed["status"] == "in_progress" and changed["assignee_id"] == world.users["inspector"]
    assert changed["updated_at"] is not None
    dashboard = inspector.get("/inspect/dashboard").get_data(as_text=True)
    assert re.search(r"<strong>0</strong> báo cáo mới", dashboard)  # the "new" count goes down again

    login("admin").post(f"/inspect/reports/{report['id']}", {"status": "resolved", "note": "Hàng thật, tem bị ẩm"})
    with app.app_context():
        events = get_storage().find("report_events", report_id=report["id"], order_by="id")
    assert [(e["action"], e["detail"], e["user_id"]) for e in events] == [
        ("status", "in_progress", world.users["inspector"]),
        ("assigned", str(world.users["inspector"]), world.users["inspector"]),
        ("note", "Đã gọi cho người mua, hẹn xem hàng chiều nay", world.users["inspector"]),
        ("status", "resolved", world.users["admin"]),
        ("note", "Hàng thật, tem bị ẩm", world.users["admin"]),
    ]
    assert all(e["at"] for e in events)
    page = inspector.get(f"/inspect/reports/{report['id']}").get_data(as_text=True)
    assert "Hàng thật, tem bị ẩm" in page and "admin@example.vn" in page and "Đã xử lý" in page


def test_notes_cannot_be_changed_or_removed(app, world, login):
    (_, code), = stamp_codes(app, world.run_a, 1)
    send_report(app, code, "Tem lạ")
    report_id = reports(app)[0]["id"]
    login("inspector").post(f"/inspect/reports/{report_id}", {"note": "Ghi chú đầu tiên"})
    with app.app_context():
        storage = get_storage()
        event = storage.find_one("report_events", report_id=report_id)
        with pytest.raises(StorageError, match="append-only"):
            storage.execute("UPDATE report_events SET detail = 'sửa' WHERE id = ?", [event["id"]])
        with pytest.raises(StorageError, match="append-only"):
            storage.execute("DELETE FROM report_events WHERE id = ?", [event["id"]])
        assert storage.get("report_events", event["id"])["detail"] == "Ghi chú đầu tiên"


def test_a_report_on_a_forged_code_is_listed_and_opens_a_case_on_the_batch_it_copies(app, world, login):
    (_, code), = stamp_codes(app, world.run_a, 1)
    fake = forge(code)
    assert send_report(app, fake, "Mã quét ra trang lạ", photo=True) == 200
    report, = reports(app)
    assert report["serial"] is None and report["product_id"] is None and report["code"] == fake
    inspector = login("inspector")
    inbox = inspector.get("/inspect/reports").get_data(as_text=True)
    assert f'href="/inspect/reports/{report["id"]}"' in inbox and "Mã không do hệ thống ký" in inbox
    page = inspector.get(f"/inspect/reports/{report['id']}").get_data(as_text=True)
    assert fake in page and f"/inspect/media/reports/{report['photo']}" in page

    with app.app_context():
        cases_before = get_storage().count("cases")
    refused = inspector.post(f"/inspect/reports/{report['id']}/case", {"kind": "batch", "title": "Từ báo cáo"},
                             follow_redirects=True)
    assert "Bắt buộc" in refused.get_data(as_text=True) or "bắt buộc" in refused.get_data(as_text=True)
    with app.app_context():
        assert get_storage().count("cases") == cases_before  # nothing half-written
        assert get_storage().get("reports", report["id"])["case_id"] is None

    opened = inspector.post(f"/inspect/reports/{report['id']}/case",
                            {"kind": "batch", "batch_id": str(world.batch_a), "title": "Tem giả lô A-001"})
    assert opened.status_code == 303
    case_id = int(opened.headers["Location"].rsplit("/", 1)[1])
    linked, = reports(app)
    assert linked["case_id"] == case_id and linked["status"] == "in_progress"
    with app.app_context():
        case = get_storage().get("cases", case_id)
    assert case["kind"] == "batch" and case["batch_id"] == world.batch_a
    again = inspector.post(f"/inspect/reports/{report['id']}/case",
                           {"kind": "batch", "batch_id": str(world.batch_a), "title": "Lần hai"},
                           follow_redirects=True)
    assert f"đã có hồ sơ số {case_id}" in again.get_data(as_text=True)
    with app.app_context():
        assert get_storage().count("cases") == cases_before + 1


def test_a_case_from_a_report_on_our_stamp_is_on_that_stamp(app, world, login):
    (serial, code), = stamp_codes(app, world.run_a, 1)
    send_report(app, code, "Hộp trà bị bóc tem")
    report_id = reports(app)[0]["id"]
    inspector = login("inspector")
    page = inspector.get(f"/inspect/reports/{report_id}").get_data(as_text=True)
    assert f'name="serial" value="{serial}"' in page
    opened = inspector.post(f"/inspect/reports/{report_id}/case", {"kind": "stamp", "serial": str(serial),
                                                                  "title": "Từ báo cáo"})
    assert opened.status_code == 303
    with app.app_context():
        case = get_storage().get("cases", reports(app)[0]["case_id"])
    assert case["kind"] == "stamp" and case["serial_from"] == serial == case["serial_to"]


def test_the_inbox_filters_by_province_and_product(app, world, login):
    (_, code_a), = stamp_codes(app, world.run_a, 1)
    (_, code_b), *_ = issue_for_b(app, world)
    with app.app_context():  # producer B moves to Hà Nội (01): its reports follow its province
        get_storage().update("producers", world.producer_b, {"province_code": "01"})
    send_report(app, code_a, "Báo cáo về trà")
    send_report(app, code_b, "Báo cáo về chả mực")
    send_report(app, forge(code_a), "Báo cáo mã giả")
    inspector = login("inspector")

    def listed(query: str) -> set[str]:
        html = inspector.get(f"/inspect/reports{query}").get_data(as_text=True)
        return set(re.findall(r"Báo cáo (?:về trà|về chả mực|mã giả)", html))

    assert listed("") == {"Báo cáo về trà", "Báo cáo về chả mực", "Báo cáo mã giả"}
    assert listed("?province=22") == {"Báo cáo về trà"}
    assert listed("?province=01") == {"Báo cáo về chả mực"}
    assert listed(f"?product={world.product_b}") == {"Báo cáo về chả mực"}
    assert listed(f"?product={world.product_b}&province=22") == set()
    assert listed("?status=resolved") == set()
    # Nonsense in the query string is ignored, never an error page.
    answer = inspector.get("/inspect/reports?province=xx&product=abc&status=<b>")
    assert answer.status_code == 200 and "Báo cáo về chả mực" in answer.get_data(as_text=True)


def test_a_producer_sees_reports_on_its_own_products_only_and_never_the_contact(app, world, login):
    (_, code_a), = stamp_codes(app, world.run_a, 1)
    (_, code_b), *_ = issue_for_b(app, world)
    send_report(app, code_a, "Trà có mùi lạ", contact="nguoimua@example.com", photo=True, where="Siêu thị Bãi Cháy")
    send_report(app, code_b, "Chả mực bị tráo nhãn", contact="0988 000 111")
    send_report(app, forge(code_a), "Mã giả trên hộp trà", contact="0977 222 333")
    producer_a = login("producer_a")
    mine = producer_a.get("/portal/reports")
    html = mine.get_data(as_text=True)
    assert mine.status_code == 200
    assert "Trà có mùi lạ" in html and "Siêu thị Bãi Cháy" in html
    assert "Chả mực bị tráo nhãn" not in html and "Mã giả trên hộp trà" not in html
    assert "nguoimua@example.com" not in html and "/inspect/media/" not in html
    html_b = login("producer_b").get("/portal/reports").get_data(as_text=True)
    assert "Chả mực bị tráo nhãn" in html_b and "Trà có mùi lạ" not in html_b and "0988 000 111" not in html_b
    with app.app_context():  # a second product of A's, with a report of its own
        second = products.create(get_storage(), {"producer_id": world.producer_a, "name": "Miến dong Bình Liêu",
                                                 "product_group": "food"})
        get_storage().insert("reports", {"what": "Miến bị mốc", "product_id": second["id"]})
    both = producer_a.get("/portal/reports").get_data(as_text=True)
    assert "Trà có mùi lạ" in both and "Miến bị mốc" in both
    only_tea = producer_a.get(f"/portal/reports?product={world.product_a}").get_data(as_text=True)
    assert "Trà có mùi lạ" in only_tea and "Miến bị mốc" not in only_tea
    # Asking for another producer's product by id shows nothing.
    assert "Chả mực bị tráo nhãn" not in producer_a.get(f"/portal/reports?product={world.product_b}").get_data(
        as_text=True)
    report_id = reports(app)[0]["id"]
    assert producer_a.get("/inspect/reports").status_code == 403
    assert producer_a.get(f"/inspect/reports/{report_id}").status_code == 403
    assert login("inspector").get("/portal/reports").status_code == 403


def test_bad_changes_are_refused_with_a_message_and_change_nothing(app, world, login):
    (_, code), = stamp_codes(app, world.run_a, 1)
    send_report(app, code, "Tem lạ")
    report_id = reports(app)[0]["id"]
    inspector = login("inspector")
    for data, message in (({"status": "bogus"}, "không nằm trong danh sách"),
                          ({"assignee_id": str(world.users["producer_a"])}, "Người phụ trách phải là"),
                          ({}, "Không có gì để thay đổi"),
                          ({"assignee_id": "abc"}, "")):
        answer = inspector.post(f"/inspect/reports/{report_id}", data, follow_redirects=True)
        assert answer.status_code == 200, data
        assert 'class="flash error"' in answer.get_data(as_text=True), data
        assert message in answer.get_data(as_text=True), data
    report, = reports(app)
    assert report["status"] == "new" and report["assignee_id"] is None and report["updated_at"] is None
    with app.app_context():
        assert get_storage().count("report_events") == 0
    assert inspector.get("/inspect/reports/99999").status_code == 404
    assert inspector.post("/inspect/reports/99999", {"note": "x"}).status_code == 404
    assert inspector.post("/inspect/reports/99999/case", {"kind": "batch", "batch_id": "1",
                                                          "title": "x"}).status_code == 404
    no_token = inspector.client.post(f"/inspect/reports/{report_id}", data={"status": "resolved"})
    assert no_token.status_code == 400 and reports(app)[0]["status"] == "new"


def test_old_report_statuses_are_carried_over_by_the_migration(tmp_path, monkeypatch):
    import stamp_service.storage.sqlite as storage_module

    names = [name for name, _ in schema.MIGRATIONS]
    before = schema.MIGRATIONS[:names.index("0011_reports_inbox")]
    monkeypatch.setattr(storage_module, "MIGRATIONS", before)
    storage = Storage(str(tmp_path / "old.db"), migrate=True)
    for status in ("new", "reviewed", "closed"):
        storage.db.execute("INSERT INTO reports (what, status) VALUES (?, ?)", [f"báo cáo {status}", status])
    storage.db.conn.commit()
    monkeypatch.setattr(storage_module, "MIGRATIONS", schema.MIGRATIONS)
    assert "0011_reports_inbox" in storage.migrate()
    assert [(r["what"], r["status"]) for r in storage.find("reports")] == [
        ("báo cáo new", "new"), ("báo cáo reviewed", "in_progress"), ("báo cáo closed", "resolved")]
    storage.close()
