"""The shopper's verification: every verdict through the page and the JSON API, scan history, copy detection."""

from __future__ import annotations

import datetime as dt
import io
import random
import re

import pytest

from stamp_service.context import get_storage
from stamp_service.keystore import KeyStore
from stamp_service.registry import recognitions
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.stamps.claims import StampClaims
from stamp_service.stamps.serials import format_serial
from stamp_service.stamps.signing import sign_stamp
from stamp_service.verification import checker
from stamp_service.verification.copy_detection import Rules
from stamp_service.verification.scans import ScanContext

BANNERS = {"genuine": "Chính hãng", "warning": "Chính hãng, cần lưu ý", "suspected-copy": "Nghi ngờ tem sao chép",
           "not-activated": "Tem chưa kích hoạt", "recalled": "Lô hàng đã bị thu hồi",
           "certificate-expired": "Giấy chứng nhận OCOP đã hết hạn",
           "certificate-revoked": "Giấy chứng nhận OCOP bị thu hồi",
           "key-revoked": "Tem không còn giá trị (khóa ký bị thu hồi)",
           "unknown-key": "Không có trong hệ thống: nghi hàng giả",
           "invalid-signature": "Tem giả: chữ ký không khớp", "malformed": "Không có trong hệ thống: nghi hàng giả"}


def codes_of(app, run_id, count=None):
    with app.app_context():
        run = issuing.get_run(get_storage(), run_id)
        pairs = list(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"]))
    return pairs[:count] if count else pairs


def path(code: str) -> str:
    return "/" + code.split("/", 3)[3]


def new_run(app, world, count=5, **kw):
    with app.app_context():
        return issuing.issue_run(get_storage(), keystore(app), world.batch_a, count, issuer="VN",
                                 host=app.config["PUBLIC_HOST"], **kw)["id"]


def shopper(app):
    """One shopper's phone (one device cookie) for the whole test, so repeated checks do not look like copies."""
    if not hasattr(app, "shopper"):
        app.shopper = app.test_client()
    return app.shopper


def check_both(app, code, expected, *, typed=None):
    """The same verdict from the page and from the JSON API."""
    page = shopper(app).get(path(code) if typed is None else f"/check?serial={typed}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"<h1>{BANNERS[expected]}</h1>" in html, re.findall(r"<h1>(.*?)</h1>", html)
    assert "no-store" in page.headers["Cache-Control"]
    api = shopper(app).get("/api/v1/verify", query_string={"code": code if typed is None else typed})
    body = api.get_json()
    assert api.status_code == 200 and body["verdict"] == expected, body
    assert body["reasons"] and all(r["message"] for r in body["reasons"])
    return body


def test_genuine_on_page_and_api_any_case(app, world):
    serial, code = codes_of(app, world.run_a, 1)[0]
    body = check_both(app, code, "genuine")
    assert body["stamp"]["serial"] == serial and body["stamp"]["product"] == "Trà hoa vàng"
    assert body["stamp"]["origin"] == "Xã Ba Chẽ, Tỉnh Quảng Ninh" and body["scan_count"] == 2
    lower = shopper(app).get(path(code).lower())
    assert "<h1>Chính hãng</h1>" in lower.get_data(as_text=True)
    page = shopper(app).get(path(code)).get_data(as_text=True)
    for text in ("Trà hoa vàng", "HTX Trà hoa vàng Ba Chẽ", "Xã Ba Chẽ, Tỉnh Quảng Ninh", "4 sao OCOP", "1/QĐ-UBND",
                 "Còn hiệu lực", "A-001", format_serial(serial), "Đã quét 4 lần"):
        assert text in page, text


def test_typed_serial_gives_the_same_verdict(app, world):
    serial, code = codes_of(app, world.run_a, 1)[0]
    body = check_both(app, code, "genuine", typed=format_serial(serial))
    assert body["reasons"][0]["code"] == "genuine_typed"  # a typed number is registered, not signature-checked
    typo = format_serial(serial)[:-3] + str((int(format_serial(serial)[-3]) + 1) % 10) + format_serial(serial)[-2:]
    check_both(app, code, "malformed", typed=typo)
    check_both(app, code, "malformed", typed="9 999 999-" + "0")


def test_forgeries_get_bad_verdicts(app, world, tmp_path):
    _serial, code = codes_of(app, world.run_a, 1)[0]
    digits = code.rsplit("/", 1)[1]
    check_both(app, code[:-len(digits)] + digits[:-6] + ("123456" if digits[-6:] != "123456" else "654321"),
               "invalid-signature")
    check_both(app, code[:-40], "malformed")
    check_both(app, "HTTPS://TEM.EXAMPLE.VN/S/42", "malformed")
    other = KeyStore(tmp_path / "other", "pw")
    info = other.generate()
    _, key = other.signing_key()
    claims = StampClaims(issuer="VN", issued_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
                         product_id=world.product_a, batch_id=world.batch_a, serial=3, stars=5,
                         origin_commune="06978", production_date=dt.date.today(), expiry_date=None,
                         certificate_valid_until=dt.date.today() + dt.timedelta(days=900))
    check_both(app, sign_stamp(claims, key, info, "tem.example.vn"), "unknown-key")


def test_not_activated_until_activated_then_void_is_suspect(app, world):
    run_id = new_run(app, world, 5, active=False)
    (first, code), (second, code2) = codes_of(app, run_id, 2)
    check_both(app, code, "not-activated")
    with app.app_context():
        run = issuing.get_run(get_storage(), run_id)
        issuing.set_state(get_storage(), run, "active", first, first)
        issuing.set_state(get_storage(), run, "void", second, second)
    check_both(app, code, "genuine")
    body = check_both(app, code2, "suspected-copy")
    assert body["reasons"][0]["code"] == "void"


def test_recall_shows_on_the_very_next_scan(app, world, runner):
    from stamp_service.cli import cli

    _serial, code = codes_of(app, world.run_a, 1)[0]
    check_both(app, code, "genuine")
    assert runner.invoke(cli, ["recall", str(world.batch_a), "--reason", "Phát hiện nấm mốc"]).exit_code == 0
    body = check_both(app, code, "recalled")
    assert "Phát hiện nấm mốc" in body["reasons"][0]["message"]


def test_certificate_expired_revoked_and_expiring(app, world):
    _serial, code = codes_of(app, world.run_a, 1)[0]
    with app.app_context():
        storage = get_storage()
        soon = (dt.date.today() + dt.timedelta(days=12)).isoformat()
        storage.update("recognitions", world.recognition_a, {"valid_until": soon})
    body = check_both(app, code, "warning")
    assert body["reasons"][0]["code"] == "certificate_expiring" and "12" in body["reasons"][0]["message"]
    with app.app_context():
        get_storage().update("recognitions", world.recognition_a,
                             {"valid_until": (dt.date.today() - dt.timedelta(days=1)).isoformat()})
    check_both(app, code, "certificate-expired")
    with app.app_context():
        get_storage().update("recognitions", world.recognition_a,
                             {"valid_until": (dt.date.today() + dt.timedelta(days=400)).isoformat()})
        recognitions.revoke(get_storage(), world.recognition_a, {"reason": "Vi phạm"})
    check_both(app, code, "certificate-revoked")


def test_key_revocation_turns_stamps_red_on_the_next_scan(app, world):
    serial, code = codes_of(app, world.run_a, 1)[0]
    check_both(app, code, "genuine")
    store = keystore(app)
    store.revoke(store.list()[0].kid, "leaked")
    check_both(app, code, "key-revoked")
    check_both(app, code, "key-revoked", typed=format_serial(serial))


def test_twelve_devices_in_an_hour_make_a_suspected_copy(app, world):
    _serial, code = codes_of(app, world.run_a, 1)[0]
    verdicts = []
    for n in range(12):
        client = app.test_client()  # a new phone: a new device cookie
        client.environ_base["REMOTE_ADDR"] = f"10.{n}.0.1"
        verdicts.append(client.get("/api/v1/verify", query_string={"code": code}).get_json()["verdict"])
        page = client.get(path(code))
        verdicts.append(re.search(r"<h1>(.*?)</h1>", page.get_data(as_text=True))[1])
    assert verdicts[-1] == BANNERS["suspected-copy"]
    assert BANNERS["genuine"] in verdicts[:2]


def outcome(app, code, now, device="d1", net="n1", province=None, rules=None):
    with app.app_context():
        return checker.verify(get_storage(), keystore(app).records(), code, source="qr",
                              context=ScanContext(device, net, "Chrome/Android", province), rules=rules or Rules(),
                              now=now)


def test_copy_rules_with_time(app, world):
    codes = codes_of(app, world.run_a)
    t0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.timezone.utc)
    _, code = codes[0]
    # 11 devices within an hour: a warning (more than usual), not yet a copy
    verdicts = [outcome(app, code, t0 + dt.timedelta(minutes=m), device=f"dev{m}").verdict.name for m in range(11)]
    assert verdicts[0] == "genuine" and verdicts[-1] == "warning"
    assert outcome(app, code, t0 + dt.timedelta(minutes=30), device="dev-12").verdict.name == "suspected-copy"
    # two hours later the hour window has moved on: a warning again
    assert outcome(app, code, t0 + dt.timedelta(hours=3), device="dev-13").verdict.name == "warning"
    # far apart: Hà Nội then Cà Mau within two hours
    _, far = codes[1]
    assert outcome(app, far, t0, province="01").verdict.name == "genuine"
    result = outcome(app, far, t0 + dt.timedelta(hours=2), device="d2", province="96")
    assert result.verdict.name == "suspected-copy" and result.verdict.reasons[0].code == "far_apart"
    # a burst of neighbouring serials from several networks within minutes
    later = t0 + dt.timedelta(hours=5)  # clear of the scans above
    names = [outcome(app, c, later, device=f"b{i}", net=f"net{i % 2}").verdict.name
             for i, (_, c) in enumerate(codes[4:12])]
    assert names[:7] == ["genuine"] * 7 and names[7] == "suspected-copy"


def test_thresholds_are_configurable(app, world):
    _, code = codes_of(app, world.run_a, 1)[0]
    t0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.timezone.utc)
    rules = Rules(devices_per_hour=2)
    assert outcome(app, code, t0, device="a", rules=rules).verdict.name == "genuine"
    assert outcome(app, code, t0, device="b", rules=rules).verdict.name == "suspected-copy"
    with pytest.raises(ValueError):
        Rules.from_config({"devices_per_hour": 0})
    with pytest.raises(ValueError):
        Rules.from_config({"devices_per_minute": 3})


def test_scans_keep_no_ip_and_ids_are_ours(app, world):
    _, code = codes_of(app, world.run_a, 1)[0]
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.77"
    body = client.get("/api/v1/verify", query_string={"code": code, "scan_id": "999999"}).get_json()
    assert body["scan_id"] != 999999
    client.get(path(code) + "?scan_id=5")
    with app.app_context():
        rows = get_storage().find("scans")
    assert len(rows) == 2 and all("203.0.113" not in str(v) for r in rows for v in r.values())
    assert rows[0]["net_hash"] == rows[1]["net_hash"] and len(rows[0]["net_hash"]) == 20
    assert rows[1]["device"] and rows[1]["ua_family"]


def test_every_verification_records_one_scan(app, world):
    _, code = codes_of(app, world.run_a, 1)[0]
    client = app.test_client()
    for query in (code, "garbage", "", "1 234 567-1"):
        client.get("/api/v1/verify", query_string={"code": query})
    client.get(path(code))
    client.get("/S/99999")
    with app.app_context():
        rows = get_storage().find("scans", order_by="id")
    assert [r["verdict"] for r in rows] == ["genuine", "malformed", "malformed", "genuine", "malformed"]


def test_mutated_and_random_codes_never_5xx(app, world):
    rng = random.Random(7)
    codes = [c for _, c in codes_of(app, world.run_a, 3)]
    client = app.test_client()
    alphabet = "0123456789SsHTPhtp:/.-_ %?#&=ÀẾ\x00"
    for i in range(1500):
        base = rng.choice(codes)
        kind = i % 5
        if kind == 0:
            digits = list(base)
            for _ in range(rng.randint(1, 4)):
                digits[rng.randrange(len(digits))] = rng.choice("0123456789")
            code = "".join(digits)
        elif kind == 1:
            code = base[: rng.randrange(len(base))]
        elif kind == 2:
            code = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        elif kind == 3:
            code = "HTTPS://X/S/" + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 500)))
        else:
            code = base + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 5)))
        api = client.get("/api/v1/verify", query_string={"code": code})
        assert api.status_code < 500 and (api.status_code == 400 or api.get_json()["verdict"]), code
        if "/S/" in code.upper():
            page = client.get("/S/" + code.upper().split("/S/", 1)[1][:400])
            assert page.status_code < 500, code


def test_page_weight_under_30_kb(app, world):
    _, code = codes_of(app, world.run_a, 1)[0]
    client = app.test_client()
    page = client.get(path(code))
    html = page.get_data(as_text=True)
    total = len(page.data)
    for ref in re.findall(r'(?:href|src)="(/[^"]+)"', html):
        if ref.startswith(("/lang/", "/login", "/check", "/report")) or ref == "/":
            continue
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        total += len(asset.data)
    assert "-small.jpg" in html  # the product thumbnail is part of the weight
    assert total <= 30 * 1024, total
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_report_a_fake(app, world):
    client = app.test_client()
    html = client.get("/S/12345").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]

    def send(**fields):
        return client.post("/report", data={"csrf_token": token, "code": "S/12345", **fields},
                           content_type="multipart/form-data")

    assert send(what="").status_code == 400
    assert send(what="Tem mờ", website="spam.example").status_code == 400  # the robot trap
    photo = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (50, 50), "red").save(photo, "JPEG")
    photo.seek(0)
    assert send(what="Tem mờ, in lệch", where_bought="Chợ Hạ Long", photo=(photo, "p.jpg")).status_code == 200
    assert send(what="Tem giả", photo=(io.BytesIO(b"not an image"), "p.jpg")).status_code == 400
    assert send(what="Lần 2").status_code == 200 and send(what="Lần 3").status_code == 200
    assert send(what="Lần 4").status_code == 429  # three per device per hour
    with app.app_context():
        rows = get_storage().find("reports")
    assert len(rows) == 3 and rows[0]["photo"] and rows[0]["where_bought"] == "Chợ Hạ Long"
    assert client.post("/report", data={"what": "no token"}).status_code == 400


def test_shopper_may_share_a_province_for_their_own_scan_only(app, world):
    codes = codes_of(app, world.run_a, 2)
    phone, stranger = app.test_client(), app.test_client()
    result = phone.get(path(codes[0][1])).get_data(as_text=True)
    html = phone.get(re.search(r'href="(/scan-province\?scan=\d+)"', result)[1]).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
    scan_id = re.search(r'name="scan_id" value="(\d+)"', html)[1]
    assert "Quảng Ninh" in html
    stranger.get(path(codes[1][1]))
    stranger_html = stranger.get("/scan-province").get_data(as_text=True)
    stranger_token = re.search(r'name="csrf_token" value="([^"]+)"', stranger_html)[1]
    assert stranger.post("/scan-province", data={"csrf_token": stranger_token, "scan_id": scan_id,
                                                 "tinh": "01"}).status_code == 400
    assert phone.post("/scan-province", data={"csrf_token": token, "scan_id": scan_id, "tinh": "99"}).status_code == 400
    assert phone.post("/scan-province", data={"csrf_token": token, "scan_id": scan_id, "tinh": "22"}).status_code == 200
    assert phone.post("/scan-province", data={"csrf_token": token, "scan_id": scan_id, "tinh": "01"}).status_code == 400
    with app.app_context():
        assert get_storage().get("scans", int(scan_id))["province_code"] == "22"
