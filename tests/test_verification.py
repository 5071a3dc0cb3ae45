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
from stamp_service.verification import checker, suspicions
from stamp_service.verification.copy_detection import Rules
from stamp_service.verification.scans import ScanContext

BANNERS = {"genuine": "Chính hãng", "warning": "Chính hãng, cần lưu ý", "suspected-copy": "Nghi ngờ tem sao chép",
           "not-activated": "Tem chưa kích hoạt", "recalled": "Lô hàng đã bị thu hồi",
           "certificate-expired": "Giấy chứng nhận OCOP đã hết hạn",
           "certificate-revoked": "Giấy chứng nhận OCOP bị thu hồi",
           "key-revoked": "Tem không còn giá trị (khóa ký bị thu hồi)",
           "unknown-key": "Không có trong hệ thống: nghi hàng giả",
           "invalid-signature": "Tem giả: chữ ký không khớp", "malformed": "Không có trong hệ thống: nghi hàng giả",
           "mistyped": "Số sê-ri có vẻ gõ nhầm"}


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
                 "Còn hiệu lực", "A-001", format_serial(serial), "Đã quét 2 lần"):  # reloads are views, not scans
        assert text in page, text


def test_typed_serial_gives_the_same_verdict(app, world):
    serial, code = codes_of(app, world.run_a, 1)[0]
    body = check_both(app, code, "genuine", typed=format_serial(serial))
    assert body["reasons"][0]["code"] == "genuine_typed"  # a typed number is registered, not signature-checked
    assert body["verified_by"] == "serial"
    assert check_both(app, code, "genuine")["verified_by"] == "signature"
    typo = format_serial(serial)[:-3] + str((int(format_serial(serial)[-3]) + 1) % 10) + format_serial(serial)[-2:]
    check_both(app, code, "mistyped", typed=typo)
    # a serial whose check digit is right but that we never issued is not a typo: it is not in our system
    check_both(app, code, "malformed", typed=format_serial(9_999_999))


@pytest.mark.parametrize("typed", ["000 001-4", "000001", "1-3", "1 234 567-0", "12.345"])
def test_a_typo_is_mistyped_not_counterfeit(app, world, typed):
    """A wrong or missing check digit, or too few digits: the amber "mistyped" verdict with what to check, the
    typed text back in the box to correct, no fake-report form; the API says the same; the scan is kept as such."""
    serial, code = codes_of(app, world.run_a, 1)[0]
    assert format_serial(1) == "000 001-3" and typed != format_serial(serial)
    body = check_both(app, code, "mistyped", typed=typed)
    assert body["reasons"][0]["code"] == "mistyped" and "-" in body["reasons"][0]["message"]
    assert body["stamp"] is None and body["verified_by"] is None
    html = shopper(app).get("/check", query_string={"serial": typed}).get_data(as_text=True)
    assert 'class="banner caution"' in html and "nghi hàng giả" not in html
    assert 'action="/report"' not in html and "Bạn nên làm gì" not in html
    assert f'id="serial" name="serial" inputmode="numeric" autocomplete="off" placeholder="1 234 567-1" required value="{typed}"' in html
    assert "so lại từng nhóm ba chữ số" in html
    with app.app_context():
        kept = get_storage().find("scans", source="typed")
    assert kept and {row["verdict"] for row in kept} == {"mistyped"}, kept
    english = shopper(app)
    english.get("/lang/en")
    page = english.get("/check", query_string={"serial": typed}).get_data(as_text=True)
    assert "The serial looks mistyped" in page


def test_what_is_not_a_typo_stays_malformed(app, world):
    """Letters, or more digits than any serial has, are not a slip of the finger on a serial."""
    for typed in ("ABC-123", "1234567890123"):
        check_both(app, "x", "malformed", typed=typed)


def test_forgeries_get_bad_verdicts(app, world, tmp_path):
    _serial, code = codes_of(app, world.run_a, 1)[0]
    digits = code.rsplit("/", 1)[1]
    check_both(app, code[:-len(digits)] + digits[:-6] + ("123456" if digits[-6:] != "123456" else "654321"),
               "invalid-signature")
    check_both(app, code[:-40], "malformed")
    check_both(app, "HTTPS://TEM.EXAMPLE.VN/S/42", "malformed")
    other = KeyStore(tmp_path / "other", "another office passphrase", scrypt_n=2**10)
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


def test_twelve_phones_at_once_are_a_warning_and_a_raised_suspicion_shows_on_the_page(app, world):
    serial, code = codes_of(app, world.run_a, 1)[0]
    names = []
    for n in range(12):  # twelve phones in twelve networks within seconds: a screen, not twelve packs
        client = app.test_client()  # a new phone: a new device cookie
        client.environ_base["REMOTE_ADDR"] = f"10.{n}.0.1"
        names.append(client.get(path(code)).get_data(as_text=True))
    assert 'data-verdict="genuine"' in names[0] and 'data-verdict="warning"' in names[-1]
    assert not any('data-verdict="suspected-copy"' in html for html in names)
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
    for hours, i in ((0, 0), (1, 1), (25, 0), (26, 1), (30, 2), (31, 3), (32, 4)):  # owners, then more households
        outcome(app, code, start + dt.timedelta(hours=hours), household=f"h{i}", net=f"n{i}")
    page = app.test_client().get(path(code)).get_data(as_text=True)
    assert 'data-verdict="suspected-copy"' in page and "<h1>Nghi ngờ tem sao chép</h1>" in page


def outcome(app, code, now, household="h1", net="n1", rules=None, *, source="qr", evidence=True, fresh=False):
    with app.app_context():
        context = ScanContext(household, net, "Chrome/Android", fresh=fresh, household=household)
        return checker.verify(get_storage(), keystore(app).records(), code, source=source, context=context,
                              rules=rules or Rules(), now=now, evidence=evidence)


def share(app, scan_id, province):
    """What the share form does: the scanner adds their own province to their own scan."""
    with app.app_context():
        get_storage().update("scans", scan_id, {"province_code": province})


T0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.timezone.utc)


def test_households_from_enough_networks_make_a_copy(app, world):
    _, code = codes_of(app, world.run_a, 1)[0]
    # two buyers who look at their packs again the next day (owners), then more households, each in its network
    plan = [(0, "h0"), (1, "h1"), (25, "h0"), (26, "h1"), (30, "h2"), (31, "h3"), (32, "h4")]
    names = [outcome(app, code, T0 + dt.timedelta(hours=h), household=hh, net=f"n-{hh}").verdict.name
             for h, hh in plan]
    # the 4th household is more than usual; with the 5th, four networks besides the scanner's own: a copy
    assert names == ["genuine", "genuine", "genuine", "genuine", "warning", "warning", "suspected-copy"], names
    result = outcome(app, code, T0 + dt.timedelta(days=20), household="h0", net="n-h0")
    assert result.verdict.name == "suspected-copy" and result.verdict.reasons[0].code == "suspected_since"
    with app.app_context():
        raised = suspicions.for_serial(get_storage(), result.claims.serial)
        assert len(raised) == 1 and raised[0]["rule"] == "households_48h" and raised[0]["networks"] == 4
        suspicions.dismiss(get_storage(), raised[0]["id"], None)
    assert outcome(app, code, T0 + dt.timedelta(days=21), household="h0", net="n-h0").verdict.name == "genuine"


def test_a_display_pack_scanned_by_many_shoppers_is_not_accused(app, world):
    """A pack on a shop's shelf: a new household almost every day for weeks, each looking once, nobody owning
    it. Copies are owned: some buyers come back to their pack, or try its hidden code."""
    _, code = codes_of(app, world.run_a, 1)[0]
    names = [outcome(app, code, T0 + dt.timedelta(hours=9 + 20 * i), household=f"shopper{i}",
                     net=f"cell{i % 7}").verdict.name for i in range(60)]
    assert set(names) == {"genuine"}, names


def test_a_crowd_within_a_week_is_a_copy_even_without_owners(app, world):
    _, code = codes_of(app, world.run_a, 1)[0]
    rules = Rules()
    names = [outcome(app, code, T0 + dt.timedelta(hours=6 * i), household=f"b{i}", net=f"n{i}").verdict.name
             for i in range(rules.crowd_7d)]
    assert "suspected-copy" not in names[:-1] and names[-1] == "suspected-copy", names


def test_an_attacker_with_three_networks_cannot_turn_a_stamp_red(app, world):
    (_, code), (_, untouched) = codes_of(app, world.run_a, 2)
    seen = set()
    for i in range(300):  # a new household every request (farmed cookies), over a week, from three networks
        at = T0 + dt.timedelta(minutes=30 * i)
        seen.add(outcome(app, code, at, household=f"farm{i}", net=f"attacker{i % 3}").verdict.name)
    assert "suspected-copy" not in seen and "warning" in seen
    buyer = outcome(app, code, T0 + dt.timedelta(days=7), household="buyer", net="home")
    assert buyer.verdict.name != "suspected-copy"
    assert outcome(app, untouched, T0 + dt.timedelta(days=7), household="b2", net="home2").verdict.name == "genuine"


def test_typed_serials_and_anonymous_api_look_ups_never_count(app, world):
    serial, code = codes_of(app, world.run_a, 1)[0]
    for i in range(20):
        at = T0 + dt.timedelta(minutes=i)
        assert outcome(app, format_serial(serial), at, household=f"t{i}", net=f"n{i}", source="typed",
                       evidence=False).verdict.name == "genuine"
        assert outcome(app, code, at, household=f"a{i}", net=f"m{i}", source="api",
                       evidence=False).verdict.name == "genuine"
    with app.app_context():
        rows = get_storage().find("scans", serial=serial)
    assert len(rows) == 40 and not any(r["evidence"] for r in rows)


def test_reloads_by_one_household_are_views(app, world):
    serial, code = codes_of(app, world.run_a, 1)[0]
    first = outcome(app, code, T0)
    for minutes in (1, 5, 29):
        again = outcome(app, code, T0 + dt.timedelta(minutes=minutes))
        assert again.scan_id == first.scan_id and again.verdict.name == "genuine"
    assert outcome(app, code, T0 + dt.timedelta(minutes=45)).scan_id != first.scan_id
    with app.app_context():
        assert get_storage().count("scans", serial=serial) == 2


def test_a_fresh_browser_joins_the_household_seen_on_its_network_today(app, world):
    _, code = codes_of(app, world.run_a, 1)[0]
    outcome(app, code, T0, household="n:main", net="home")
    zalo = outcome(app, code, T0 + dt.timedelta(hours=3), household="n:zalo", net="home", fresh=True)
    assert zalo.household == "n:main" and zalo.verdict.name == "genuine"
    tomorrow = outcome(app, code, T0 + dt.timedelta(days=1), household="n:other", net="home", fresh=True)
    assert tomorrow.household == "n:other"


def test_photocopied_sheet(app, world):
    run_id = new_run(app, world, 80)
    codes = codes_of(app, run_id)
    at = T0
    # a sheet of 20 neighbouring serials, each copied and bought by three households in different networks
    verdicts = {}
    for k in range(3):
        for i, (serial, code) in enumerate(codes[10:30]):
            at += dt.timedelta(minutes=47)
            result = outcome(app, code, at, household=f"s{serial}-{k}", net=f"net{(i * 3 + k) % 11}")
            verdicts[serial] = result.verdict.name
    flagged = [sn for sn, name in verdicts.items() if name == "suspected-copy"]
    assert len(flagged) >= 14 and any(r.code == "sheet" for r in result.verdict.reasons), verdicts
    # a neighbour nobody copied, scanned by its one buyer: genuine
    assert outcome(app, codes[31][1], at, household="lone", net="net0").verdict.name == "genuine"


def test_producer_test_scans_of_a_run_are_not_copies(app, world):
    run_id = new_run(app, world, 60)
    codes = codes_of(app, run_id)
    for i, (_, code) in enumerate(codes[:40]):  # the producer checks a printed sheet, two phones
        outcome(app, code, T0 + dt.timedelta(seconds=20 * i), household=f"staff{i % 2}", net="producer")
    names = [outcome(app, code, T0 + dt.timedelta(days=3 + i % 5, hours=i), household=f"buyer{i}",
                     net=f"home{i}").verdict.name for i, (_, code) in enumerate(codes[:40])]
    assert set(names) == {"genuine"}, names


def test_a_livestream_is_a_warning_not_a_copy(app, world):
    _, code = codes_of(app, world.run_a, 1)[0]
    names = [outcome(app, code, T0 + dt.timedelta(seconds=15 * i), household=f"viewer{i}", net=f"home{i}").verdict
             for i in range(40)]
    assert all(v.name != "suspected-copy" for v in names)
    assert names[-1].name == "warning" and names[-1].reasons[0].code == "burst"
    later = outcome(app, code, T0 + dt.timedelta(days=2), household="buyer", net="buyer-home")
    assert later.verdict.name == "genuine"


def test_provinces_far_apart_need_the_floor_too(app, world):
    _, code = codes_of(app, world.run_a, 1)[0]
    plan = [("01", "hn1"), ("96", "cm1"), ("01", "hn2"), ("96", "cm2"), ("79", "hcm")]
    names = []
    for i, (province, net) in enumerate(plan):
        if i < 2:  # the first two buyers looked at their packs the day before too: they own packs of this serial
            outcome(app, code, T0 - dt.timedelta(days=1, hours=-i), household=f"p{i}", net=net)
        result = outcome(app, code, T0 + dt.timedelta(hours=2 * i), household=f"p{i}", net=net)
        share(app, result.scan_id, province)
        names.append(result.verdict.name)
    # Hà Nội and Cà Mau within hours: only once four other networks saw the stamp is it called a copy
    assert names[:4] == ["genuine", "genuine", "warning", "warning"] and names[4] == "suspected-copy", names
    with app.app_context():
        assert suspicions.for_serial(get_storage(), result.claims.serial)[0]["rule"] in ("far_apart", "households_48h")


def test_thresholds_are_configurable(app, world):
    _, code = codes_of(app, world.run_a, 1)[0]
    rules = Rules(households_48h=2, floor_networks=1, owner_households=1, crowd_7d=2)
    assert outcome(app, code, T0, household="a", net="x", rules=rules).verdict.name == "genuine"
    later = T0 + dt.timedelta(hours=1)
    assert outcome(app, code, later, household="b", net="y", rules=rules).verdict.name == "suspected-copy"
    with pytest.raises(ValueError):
        Rules.from_config({"households_48h": 0})
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
    app.config["VERIFY_LIMITS"] = {"fresh_per_network": 10**6, "per_network": 10**6}  # one client, 3,000 requests
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
    assert send(what="Lần 2").status_code == 200  # the refused photo counted as one of the three
    assert send(what="Lần 3").status_code == 429  # three per device per hour
    with app.app_context():
        rows = get_storage().find("reports")
    assert len(rows) == 2 and rows[0]["photo"] and rows[0]["where_bought"] == "Chợ Hạ Long"
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


def test_device_cookies_are_signed_and_a_chosen_value_is_a_new_visitor(app, world):
    serial, code = codes_of(app, world.run_a, 1)[0]
    chosen = "A" * 22  # well-formed in the old format, and a value an attacker would pick
    client = app.test_client()
    client.set_cookie("ocop_d", chosen)
    response = client.get(path(code))
    minted = response.headers["Set-Cookie"]
    assert minted.startswith("ocop_d=") and "HttpOnly" in minted
    ours = minted.split(";")[0][len("ocop_d="):]
    device_id = ours.split(".")[0]
    assert device_id != chosen
    client.set_cookie("ocop_d", ours)
    assert "Set-Cookie" not in client.get(path(code)).headers  # our own signed cookie is kept
    tampered = ours[:-3] + ("AAA" if ours[-3:] != "AAA" else "BBB")
    client.set_cookie("ocop_d", tampered)
    assert client.get(path(code)).headers["Set-Cookie"].startswith("ocop_d=")  # a bad signature: a new visitor
    with app.app_context():
        devices = {r["device"] for r in get_storage().find("scans", serial=serial)}
    assert chosen not in devices and device_id in devices


def test_a_cookie_less_flood_from_one_network_gets_429_but_known_shoppers_do_not(app, world):
    _, code = codes_of(app, world.run_a, 1)[0]
    app.config["VERIFY_LIMITS"] = {"fresh_per_network": 20, "per_device": 10, "per_network": 1000}
    shopper_phone = app.test_client()
    shopper_phone.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    assert shopper_phone.get(path(code)).status_code == 200  # the shopper's first scan, before the flood
    flood = app.test_client(use_cookies=False)
    flood.environ_base["REMOTE_ADDR"] = "198.51.100.77"  # same /24
    statuses = [flood.get(path(code)).status_code for _ in range(30)]
    assert statuses[:19] == [200] * 19 and statuses[-1] == 429
    refused = flood.get(path(code))
    assert int(refused.headers["Retry-After"]) > 0 and "thử lại sau" in refused.get_data(as_text=True)
    api = flood.get("/api/v1/verify", query_string={"code": code})
    assert api.status_code == 429 and api.get_json()["error"] and api.headers["Retry-After"]
    assert shopper_phone.get(path(code)).status_code == 200  # a known device has its own budget
    with app.app_context():
        assert get_storage().count("scans") <= 3  # the flood's reloads were views, not rows
    other_network = app.test_client()
    other_network.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    assert other_network.get(path(code)).status_code == 200


def test_inspectors_see_a_raised_suspicion_with_its_evidence_and_may_dismiss_it(app, world, login):
    serial, code = codes_of(app, world.run_a, 1)[0]
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=40)
    for hours, i in ((0, 0), (1, 1), (25, 0), (26, 1), (30, 2), (31, 3), (32, 4)):  # owners, then more households
        outcome(app, code, start + dt.timedelta(hours=hours), household=f"h{i}", net=f"n{i}")
    inspector = login("inspector")
    page = inspector.get(f"/inspect/stamps/{serial}").get_data(as_text=True)
    assert "Nghi ngờ đã ghi nhận" in page and "Nhiều hộ quét trong 48 giờ" in page and "4 mạng khác" in page
    assert "Đang nghi ngờ" in page
    with app.app_context():
        raised = suspicions.for_serial(get_storage(), serial)[0]
    assert raised["evidence"]["households_48h"] == 5
    response = inspector.post(f"/inspect/suspicions/{raised['id']}/dismiss")
    assert response.status_code == 303
    page = inspector.get(f"/inspect/stamps/{serial}").get_data(as_text=True)
    assert "Đã loại trừ" in page and "Loại trừ nghi ngờ" not in page
    with app.app_context():
        assert get_storage().get("suspicions", raised["id"])["dismissed_by"] == world.users["inspector"]
    assert inspector.post("/inspect/suspicions/999/dismiss").status_code == 404


def test_a_validly_signed_stamp_that_differs_from_its_run_is_a_suspected_copy(app, world):
    import dataclasses

    serial, code = codes_of(app, world.run_a, 1)[0]
    with app.app_context():
        run = issuing.get_run(get_storage(), world.run_a)
    store = keystore(app)
    key, private = store.signing_key(bytes.fromhex(run["kid"]))
    honest = issuing.run_claims(run, serial)
    for change, field in ((dict(stars=5), "stars"), (dict(issued_at=honest.issued_at + dt.timedelta(seconds=1)),
                                                       "issued_at"), (dict(expiry_date=dt.date(2031, 1, 1)),
                                                                      "expiry_date")):
        forged = sign_stamp(dataclasses.replace(honest, **change), private, key, app.config["PUBLIC_HOST"])
        body = check_both(app, forged, "suspected-copy")
        assert body["reasons"][0]["code"] == "records_mismatch" and field in body["reasons"][0]["message"]
    newer = store.rotate()  # another key of ours, valid, but not the one this run was issued with
    _, newer_private = store.signing_key(newer.kid)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(seconds=1)
    stolen = sign_stamp(dataclasses.replace(honest, issued_at=now), newer_private, newer, app.config["PUBLIC_HOST"])
    body = check_both(app, stolen, "suspected-copy")
    assert "kid" in body["reasons"][0]["message"]
    check_both(app, code, "genuine")
