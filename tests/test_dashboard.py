"""The inspectors' dashboard: its numbers (stats.dashboard), its server-drawn SVG charts, and the page itself
(roles, sections in Vietnamese, no script, no outside URL), plus one look at it in a phone-sized Chromium."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest

from stamp_service.context import get_storage
from stamp_service.inspection import cases, charts, stats
from stamp_service.registry import batches, products, recognitions
from stamp_service.stamps.serials import format_serial
from stamp_service.verification import scans as scan_rows
from stamp_service.verification.verdicts import TONE, VERDICTS
from stamp_service.vn_time import VIETNAM
from test_browser import (  # noqa: F401 - chromium_executable, live_server and phone are fixtures used below
    ARTIFACTS, Phone, browser, chromium_executable, live_server, phone, sign_in,
)

try:
    from playwright.sync_api import expect
except ImportError:  # the "test" extra is not installed: chromium_executable skips (or fails in CI)
    pass

URL = "/inspect/dashboard"
ODD_NAME = 'Nước mắm <b>&"Cái Rồng"'  # must come out escaped everywhere
TODAY = dt.datetime.now(VIETNAM).date()  # the page counts Vietnam's days (scans are stored in UTC)


def at(days_ago: int, hour: int = 3) -> str:
    return f"{(TODAY - dt.timedelta(days=days_ago)).isoformat()}T{hour:02d}:00:00Z"


@pytest.fixture
def data(app, world):
    """Scans over 40 days (various verdicts, serials and provinces), 12 reports, an odd-named product whose
    certificate ends in 10 days, and one case of each status. Returns what the test needs to know."""
    with app.app_context():
        s = get_storage()
        assert s.count("scans") == 0 and s.count("reports") == 0
        odd = products.create(s, {"producer_id": world.producer_b, "name": ODD_NAME, "product_group": "food"})
        recognitions.create(s, {"product_id": odd["id"], "stars": 3, "level": "province",
                                "issuing_body": "UBND tỉnh Quảng Ninh", "decision_number": "9/QĐ-UBND",
                                "decision_date": (TODAY - dt.timedelta(days=400)).isoformat(),
                                "valid_until": (TODAY + dt.timedelta(days=10)).isoformat()})
        odd_batch = batches.create(s, {"product_id": odd["id"], "lot": "M-001",
                                       "production_date": TODAY.isoformat(), "quantity": 10})
        s1 = world.first_serial or 1
        a = {"run_id": world.run_a, "batch_id": world.batch_a}
        scans = [  # (days ago, verdict, serial, province, where)
            (0, "genuine", s1, "22", a), (0, "genuine", s1 + 3, "22", a), (0, "genuine", s1 + 4, None, a),
            (1, "suspected-copy", s1, "01", a), (1, "suspected-copy", s1, "01", a),
            (2, "malformed", None, None, {}),
            (2, "mistyped", None, None, {}),  # a typo: counted as a scan, never as a bad verdict
            (3, "recalled", s1 + 2, None, a),
            (4, "unknown-key", 999_999_999, "79", {}),
            (5, "invalid-signature", s1 + 1, None, a),
            (6, "genuine", None, "22", {"batch_id": odd_batch["id"]}),
            (6, "genuine", None, "01", {"batch_id": odd_batch["id"]}),
            (7, "genuine", None, "22", {"batch_id": odd_batch["id"]}),
            (29, "warning", None, "22", {"batch_id": world.batch_b}),
            (30, "genuine", s1, "22", a),  # the day before the window
            (40, "suspected-copy", s1 + 2, "01", a),  # long before
        ]
        for days_ago, verdict, serial, province, where in scans:
            scan_rows.store(s, {"at": at(days_ago), "serial": serial, "verdict": verdict, "source": "qr",
                               "province_code": province, **where})
        for i in range(12):
            s.insert("reports", {"at": at(i, hour=5), "what": f"Tem mờ số {i}", "serial": s1 if i == 0 else None,
                                 "where_bought": "Chợ <Hạ Long>" if i == 0 else None,
                                 "status": ("new", "in_progress", "resolved")[i % 3]})
        before = stats.dashboard(s, today=TODAY)["cases"]["by_status"]
        cases.create(s, {"kind": "stamp", "serial": str(s1), "title": "Tem sao chép", "status": "confirmed"})
        cases.create(s, {"kind": "batch", "batch_id": world.batch_a, "title": "Nhầm", "status": "dismissed"})
        cases.create(s, {"kind": "batch", "batch_id": world.batch_a, "title": "Nghi lô A"})
    return {"s1": s1, "odd": odd["id"], "odd_batch": odd_batch["id"], "cases_before": before}


# --- the numbers ---------------------------------------------------------------------------------------------


def test_dashboard_numbers(app, world, data):
    s1 = data["s1"]
    with app.app_context():
        d = stats.dashboard(get_storage(), today=TODAY)

    # 30 days, oldest first, zero-filled, ending today; the scans of day 30 and 40 are outside.
    days = d["scans_per_day"]
    assert [day for day, _ in days] == [(TODAY - dt.timedelta(days=29 - i)).isoformat() for i in range(30)]
    per_day = dict(days)
    expected = {0: 3, 1: 2, 2: 2, 3: 1, 4: 1, 5: 1, 6: 2, 7: 1, 29: 1}
    for ago in range(30):
        assert per_day[(TODAY - dt.timedelta(days=ago)).isoformat()] == expected.get(ago, 0), ago
    assert d["total_scans"] == 14 and d["since"] == (TODAY - dt.timedelta(days=29)).isoformat()

    # Every verdict, in VERDICTS order, zero-filled.
    assert [v for v, _ in d["verdicts"]] == list(VERDICTS)
    assert dict(d["verdicts"]) == {**{v: 0 for v in VERDICTS}, "genuine": 6, "warning": 1, "suspected-copy": 2,
                                   "malformed": 1, "mistyped": 1, "recalled": 1, "unknown-key": 1,
                                   "invalid-signature": 1}
    assert d["bad_scans"] == 6  # the mistyped serial is not among them

    # Provinces per product: only scans that name one, most located scans first.
    provinces = {p["product_id"]: p for p in d["provinces"]}
    assert [p["product_id"] for p in d["provinces"]] == [world.product_a, data["odd"], world.product_b]
    assert [(r["code"], r["scans"]) for r in provinces[world.product_a]["provinces"]] == [("01", 2), ("22", 2)]
    assert provinces[world.product_a]["located_scans"] == 4
    assert [(r["code"], r["scans"]) for r in provinces[data["odd"]]["provinces"]] == [("22", 2), ("01", 1)]
    assert provinces[data["odd"]]["product"] == ODD_NAME
    assert provinces[data["odd"]]["provinces"][0]["name"] == "Quảng Ninh"
    assert [(r["code"], r["scans"]) for r in provinces[world.product_b]["provinces"]] == [("22", 1)]

    # Suspicious stamps: most suspected copies first, then most bad verdicts, then by serial.
    top = [(r["serial"], r["suspected"], r["bad"], r["scans"], r["product"]) for r in d["suspicious"]]
    assert top == [(s1, 2, 2, 3, "Trà hoa vàng"), (s1 + 1, 0, 1, 1, "Trà hoa vàng"),
                   (s1 + 2, 0, 1, 1, "Trà hoa vàng"), (999_999_999, 0, 1, 1, None)]
    assert d["suspicious"][0]["serial_text"] == format_serial(s1)

    # The 10 newest reports, newest first.
    assert [r["what"] for r in d["reports"]] == [f"Tem mờ số {i}" for i in range(10)]
    assert d["reports"][0]["serial"] == s1 and d["reports"][0]["serial_text"] == format_serial(s1)
    assert d["new_reports"] == 4  # i = 0, 3, 6, 9

    # Renewal reminder: only the odd product's certificate ends within 30 days.
    assert [(e["product_id"], e["product"], e["stars"], e["days_left"], e["valid_until"]) for e in d["expiring"]] == [
        (data["odd"], ODD_NAME, 3, 10, (TODAY + dt.timedelta(days=10)).isoformat())]
    assert d["expiring"][0]["producer"] == "Cơ sở Chả mực Hạ Long"

    # Cases: every status counted, dismissed ones are not open.
    before = data["cases_before"]
    assert d["cases"]["by_status"] == {"suspected": before["suspected"] + 1, "pending": before["pending"],
                                       "confirmed": before["confirmed"] + 1, "dismissed": before["dismissed"] + 1}
    assert d["cases"]["open"] == before["suspected"] + before["confirmed"] + 2


def test_dashboard_window_and_expiry_edges(app, world):
    with app.app_context():
        s = get_storage()
        # Days are Vietnam's: 17:00 UTC is midnight in Vietnam, so 16:59 UTC on day 7 ago is still that day there
        # and 17:00 UTC is the first minute of the window's first day (day 6 ago); 23:30 UTC yesterday is today.
        scan_rows.store(s, {"at": f"{(TODAY - dt.timedelta(days=7)).isoformat()}T16:59:59Z", "verdict": "genuine",
                           "source": "typed"})
        scan_rows.store(s, {"at": at(7, hour=17), "verdict": "genuine", "source": "typed"})
        scan_rows.store(s, {"at": f"{(TODAY - dt.timedelta(days=1)).isoformat()}T23:30:00Z", "verdict": "mistyped",
                           "source": "typed"})
        d = stats.dashboard(s, today=TODAY, days=7)
        assert len(d["scans_per_day"]) == 7 and d["scans_per_day"][0] == ((TODAY - dt.timedelta(days=6)).isoformat(), 1)
        assert d["scans_per_day"][-1] == (TODAY.isoformat(), 1) and d["total_scans"] == 2
        assert dict(d["verdicts"])["mistyped"] == 1 and d["bad_scans"] == 0
        assert stats.dashboard(s, today=TODAY, days=6)["total_scans"] == 1
        assert d["provinces"] == [] and d["suspicious"] == []
        # A certificate valid for another 31 days is not due yet; an expired one is no longer "expiring".
        rec = s.get("recognitions", world.recognition_a)
        s.update("recognitions", rec["id"], {"valid_until": (TODAY + dt.timedelta(days=31)).isoformat()})
        assert stats.dashboard(s, today=TODAY)["expiring"] == []
        assert [e["days_left"] for e in stats.dashboard(s, today=TODAY + dt.timedelta(days=1))["expiring"]] == [30]
        assert stats.dashboard(s, today=TODAY + dt.timedelta(days=32))["expiring"] == []
    with pytest.raises(ValueError):
        stats.window(TODAY, 0)


# --- the charts ------------------------------------------------------------------------------------------------


def parse(svg) -> ET.Element:
    root = ET.fromstring(str(svg))  # well-formed XML, or this raises
    assert root.tag == "svg" and root.get("role") == "img" and root.get("aria-label")
    assert root.get("width") == "100%" and re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox"))
    assert "style" not in str(svg) and "<script" not in str(svg) and "http" not in str(svg)
    return root


def test_bar_chart_svg():
    points = [(f"{i + 1:02d}/03", (i * 7) % 11) for i in range(30)]
    root = parse(charts.bar_chart(points, title="Lượt quét mỗi ngày"))
    rects = root.findall(".//rect")
    assert len(rects) == 30  # one per bar, nothing else is a rect
    assert [r.find("title").text for r in rects[:3]] == ["01/03: 0", "02/03: 7", "03/03: 3"]
    assert all(float(r.get("height")) >= 0 for r in rects)
    heights = [float(r.get("height")) for r in rects]
    assert heights.index(max(heights)) == [v for _, v in points].index(10)
    assert root.get("aria-label") == "Lượt quét mỗi ngày: 30 cột, tổng 152, cao nhất 10 (04/03)"
    labels = [t.text for t in root.findall("text")]
    assert "30/03" in labels  # the newest day is always labelled
    under = sorted(float(t.get("x")) for t in root.findall("text") if "/" in (t.text or ""))
    assert len(under) >= 4 and all(b - a >= 5 * charts.CHAR_W for a, b in zip(under, under[1:]))  # never touching
    assert {"0", "10"} <= set(labels)  # value axis from zero to a round top
    # Empty data still draws an axis, and says so.
    empty = parse(charts.bar_chart([("01/03", 0), ("02/03", 0)], title="Lượt quét"))
    assert len(empty.findall(".//rect")) == 2 and "chưa có dữ liệu" in empty.get("aria-label")


def test_hbar_chart_escapes_and_colours():
    svg = charts.hbar_chart([(ODD_NAME, 5), ("Tỉnh <Quảng> & Ninh", 2), ("Không", 0)], title=f"Quét {ODD_NAME}",
                            tones=["ok", "bad", "caution"])
    text = str(svg)
    assert "<b>" not in text and "&lt;b&gt;&amp;" in text
    root = parse(svg)
    rects = root.findall(".//rect")
    assert len(rects) == 3
    assert [r.find("title").text for r in rects] == [f"{ODD_NAME}: 5", "Tỉnh <Quảng> & Ninh: 2", "Không: 0"]
    assert [r.get("fill") for r in rects] == [charts.COLOURS["ok"], charts.COLOURS["bad"], charts.COLOURS["caution"]]
    widths = [float(r.get("width")) for r in rects]
    assert widths[0] > widths[1] > widths[2] == 0
    texts = [t.text for t in root.iter("text")]
    assert ODD_NAME in texts and {"5", "2", "0"} <= set(texts)  # labels and values are text, not just colour
    assert root.get("aria-label") == f"Quét {ODD_NAME}. {ODD_NAME}: 5; Tỉnh <Quảng> & Ninh: 2"
    # A long label goes on two lines (the full text stays in the bar's title), never past the chart's edge.
    long = "Một tên sản phẩm rất dài có thể cần hai dòng để hiển thị đầy đủ trên điện thoại nhỏ của người dùng"
    lines = [t.text for t in parse(charts.hbar_chart([(long, 1)], title="t")).iter("text")][:-1]
    assert len(lines) == 2 and lines[0].startswith("Một tên") and lines[1].endswith("…")
    assert all(len(line) * charts.TEXT_W <= charts.DEFAULT_WIDTH for line in lines)
    # A verdict chart: one bar per verdict, coloured by its tone.
    verdicts = parse(charts.hbar_chart([(v, 1) for v in VERDICTS], title="v", tones=[TONE[v] for v in VERDICTS]))
    fills = [r.get("fill") for r in verdicts.findall(".//rect")]
    assert fills == [charts.COLOURS[TONE[v]] for v in VERDICTS]
    assert charts.COLOURS["ok"] != charts.COLOURS["caution"] != charts.COLOURS["bad"]


def test_ticks_and_numbers(app):
    assert charts.ticks(0) == [0, 1] and charts.ticks(3) == [0, 1, 2, 3]
    assert charts.ticks(17) == [0, 5, 10, 15, 20] and charts.ticks(120) == [0, 50, 100, 150]
    with app.test_request_context(headers={"Accept-Language": "vi"}):
        assert charts.number(12345) == "12.345"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert charts.number(12345) == "12,345"


# --- the page ------------------------------------------------------------------------------------------------


def headings(html: str, level: int) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(rf"<h{level}[^>]*>(.*?)</h{level}>", html, re.S)]


def test_page_for_inspector(app, login, data):
    response = login("inspector").get(URL)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert headings(html, 1) == ["Bảng theo dõi tem OCOP"]
    assert headings(html, 2) == ["Lượt quét mỗi ngày", "Kết quả xác thực", "Nơi sản phẩm được quét",
                                 "Tem đáng ngờ nhất", "Báo cáo gần đây của người mua",
                                 "Giấy chứng nhận hết hạn trong 30 ngày tới", "Hồ sơ vụ việc"]
    for section in ("scans", "verdicts", "provinces", "suspicious", "reports", "expiring", "cases"):
        assert f'<section id="{section}"' in html and f'href="#{section}"' in html
    # One chart per day series, one for verdicts, one per product with located scans: all inline SVG.
    assert html.count("<svg ") == 2 + 3 and html.count('role="img"') == 5
    assert "Chính hãng" in html and "Nghi ngờ tem sao chép" in html  # verdict labels are text
    # The odd product name and the report's shop are escaped, never markup.
    assert "<b>" not in html and "Nước mắm &lt;b&gt;&amp;" in html and "Chợ &lt;Hạ Long&gt;" in html
    # Suspicious stamps link to the stamp page when that page exists.
    serial_text = format_serial(data["s1"])
    if "inspect.stamp_detail" in app.view_functions:
        assert f'href="/inspect/stamps/{data["s1"]}">{serial_text}</a>' in html
    else:
        assert serial_text in html and "/inspect/stamps/" not in html
    # The renewal reminder links the product and says how many days are left.
    assert f'href="/portal/products/{data["odd"]}">Nước mắm &lt;b&gt;&amp;' in html and "10 ngày" in html
    # Light and self-contained: no script, no URL of another host.
    assert "<script" not in html.lower()
    other_hosts = {urlsplit(u).netloc for u in re.findall(r"https?://[^\s\"'<>]+", html)} - {"localhost"}
    assert not other_hosts, other_hosts
    assert 'style="' not in html  # the CSP refuses inline styles


def test_page_in_english_and_empty(app, login):
    response = login("admin").get(URL, headers={"Accept-Language": "en"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'lang="en"' in html
    assert headings(html, 1) == ["OCOP stamp dashboard"]
    assert "Scans per day" in html and "Certificates expiring in the next 30 days" in html
    assert "Scans per day: no data yet" in html  # the chart says it is empty
    assert "No stamp had a bad verdict in the period." in html and "No report yet." in html


def test_roles(app, login, client):
    assert login("admin").get(URL).status_code == 200
    assert login("producer_a").get(URL).status_code == 403
    anonymous = client.get(URL)
    assert anonymous.status_code == 302 and urlsplit(anonymous.headers["Location"]).path == "/login"


# --- in a phone's browser ------------------------------------------------------------------------------------------


def test_dashboard_on_a_phone(phone: Phone, live_server: str, data) -> None:
    page = phone.page
    sign_in(page, "inspector")
    page.goto(URL)
    expect(page.get_by_role("heading", name="Bảng theo dõi tem OCOP", level=1)).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^Lượt quét mỗi ngày: 30 cột"))).to_be_visible()
    charts_box = page.locator("#scans svg").bounding_box()
    assert charts_box and 295 <= charts_box["width"] <= 310, charts_box  # drawn at about its own size
    phone.assert_no_sideways_scroll("dashboard")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    # The same page in English (longer words in places) still fits the phone.
    page.get_by_role("link", name="EN").tap()
    expect(page.get_by_role("heading", name="OCOP stamp dashboard", level=1)).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"^Scans per day: 30 bars"))).to_be_visible()
    phone.assert_no_sideways_scroll("dashboard in English")
    ours = urlsplit(live_server).netloc
    assert not [u for u in phone.requests if urlsplit(u).netloc != ours], phone.requests
    # (a request still loading when the language link is tapped is aborted by the navigation: not a failure)
    failed = [f for f in phone.failed if "net::ERR_ABORTED" not in f]
    assert not failed and not phone.console_errors, (failed, phone.console_errors)
