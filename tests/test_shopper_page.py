"""The shopper's page's helpers: Vietnamese order of the province list, tap-to-call links, the time of a check."""

from __future__ import annotations

import datetime as dt

from stamp_service.registry import places
from verify_web.pages import checked_at, report_title, tel_link


def test_provinces_in_vietnamese_order():
    names = [p.name for p in places.provinces_by_name()]
    assert len(names) == 34 and sorted(names) != names  # code points would put Đ after every letter
    # Đ after every D-less letter before E; Cà Mau (syllable "ca") before Cao Bằng; Cần Thơ (â) after both.
    assert names[:8] == ["An Giang", "Bắc Ninh", "Cà Mau", "Cao Bằng", "Cần Thơ", "Đà Nẵng", "Đắk Lắk", "Điện Biên"]
    assert names.index("Đồng Tháp") < names.index("Gia Lai") < names.index("Hà Nội")
    assert names[names.index("Hà Nội"):names.index("Hưng Yên") + 1] == [
        "Hà Nội", "Hà Tĩnh", "Hải Phòng", "Hồ Chí Minh", "Huế", "Hưng Yên"]
    assert names[names.index("Lai Châu"):names.index("Lâm Đồng") + 1] == ["Lai Châu", "Lạng Sơn", "Lào Cai", "Lâm Đồng"]
    assert names[-5:] == ["Tây Ninh", "Thái Nguyên", "Thanh Hoá", "Tuyên Quang", "Vĩnh Long"]
    assert places.vietnamese_key("Ơ") > places.vietnamese_key("Ô") > places.vietnamese_key("Ozon")
    assert places.vietnamese_key("Ư") > places.vietnamese_key("Uy")


def test_the_share_form_lists_provinces_in_that_order(app, client):
    html = client.get("/scan-province?scan=1").get_data(as_text=True)
    assert html.index(">Cà Mau<") < html.index(">Cao Bằng<") < html.index(">Đà Nẵng<") < html.index(">Gia Lai<")


def test_tel_links_and_report_titles():
    assert tel_link("0203 3.835.000") == "tel:02033835000"
    assert tel_link("+84 912 345 678") == "tel:+84912345678"
    assert tel_link("") is None and tel_link(None) is None and tel_link("không có") is None
    assert report_title("recalled") == "public.report_title.recalled"
    assert report_title("invalid-signature") == "public.report_title"


def test_the_time_of_a_check_is_vietnam_time():
    moment = dt.datetime(2026, 12, 3, 7, 32, tzinfo=dt.timezone.utc)
    assert checked_at(moment, "vi") == "14:32, 03/12/2026"
    assert checked_at(moment, "en") == "14:32, 3 Dec 2026"
    assert checked_at(dt.datetime(2026, 12, 2, 17, 5, tzinfo=dt.timezone.utc), "vi") == "00:05, 03/12/2026"


def test_a_revocation_is_dated_in_vietnam(app):
    from stamp_service.i18n.formats import local_date

    with app.test_request_context("/"):
        assert local_date("2026-12-02T23:30:00Z") == "03/12/2026"
        assert local_date("2026-12-02T16:59:00Z") == "02/12/2026"
        assert local_date(None) == "" and local_date("not a time") == "not a time"


def test_the_mismatch_report_form_links_back_only_to_a_stamp(app, client):
    page = client.get("/report", query_string={"code": "S/12345"}).get_data(as_text=True)
    assert '<a href="/S/12345">' in page and 'name="code" value="S/12345"' in page and 'name="csrf_token"' in page
    odd = client.get("/report", query_string={"code": 'S/../..//evil.example/"><b>'})
    html = odd.get_data(as_text=True)
    assert odd.status_code == 200 and 'evil.example/"><b>' not in html  # escaped in the hidden field
    assert 'href="/S/' not in html and "Quay lại trang kiểm tra tem" not in html
