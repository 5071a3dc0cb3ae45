"""Claiming a two-layer stamp's hidden code: the claim itself, its limits, the API and the page, every path."""

from __future__ import annotations

import datetime as dt
import re
import threading
from urllib.parse import unquote, urlsplit

import pytest

from conftest import csrf_from
from stamp_service import create_app
from stamp_service.context import get_storage
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.stamps.hidden import hidden_code, run_secret
from stamp_service.stamps.serials import format_serial
from stamp_service.verification import claims
from stamp_service.verification.claims import Limits
from stamp_service.verification.scans import ScanContext

VIETNAM = dt.timezone(dt.timedelta(hours=7))
FIRST = "Xác thực thành công: bạn là người đầu tiên nhập mã này"


def hidden_run(app, count=5, *, batch_id=None):
    """A run issued normally and then given hidden codes: [(serial, QR text, hidden code)] of its stamps."""
    with app.app_context():
        s, store = get_storage(), keystore(app)
        run = issuing.issue_run(s, store, batch_id or app.world.batch_a, count, issuer="VN",
                                host=app.config["PUBLIC_HOST"])
        s.update("runs", run["id"], {"hidden_code": 1})
        run = issuing.get_run(s, run["id"])
        secret = run_secret(store, run)
        return [(serial, text, hidden_code(secret, serial)) for serial, text in
                issuing.codes(run, store, app.config["PUBLIC_HOST"])]


def path(text: str) -> str:
    return urlsplit(text).path


def wrong(code: str) -> str:
    """Another 8-digit code (the last digit changed)."""
    return code[:-1] + str((int(code[-1]) + 1) % 10)


def context(device="dev-1", net="net-1", province=None) -> ScanContext:
    return ScanContext(device=device, net_hash=net, ua_family="Chrome/Android", province_code=province)


def do_claim(app, code, typed, *, channel="web", ctx=None, now=None, limits=Limits(), sender=None):
    with app.app_context():
        return claims.claim(get_storage(), keystore(app), code, typed, channel=channel, context=ctx or context(),
                            now=now, limits=limits, sender_hash=sender)


def attempts(app, **where):
    with app.app_context():
        return get_storage().find("claim_attempts", **where)


def local(at: str) -> str:
    """A stored UTC time as the page says it: HH:MM dd/mm/yyyy in Vietnam."""
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y")


# --- the claim itself ----------------------------------------------------------------------------------------


def test_first_then_already_claimed_then_wrong(app):
    (serial, text, code), *_ = hidden_run(app)
    first = do_claim(app, text, code, ctx=context(province="22"))
    assert first.result == "first" and first.serial == serial and first.serial_text == format_serial(serial)
    assert first.claimed_province == "22" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first.claimed_at)
    with app.app_context():
        stored = claims.claim_for(get_storage(), serial)
    assert stored["channel"] == "web" and stored["household"] == "dev-1" and stored["at"] == first.claimed_at

    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)
    again = do_claim(app, format_serial(serial), code, ctx=context("dev-2", "net-2"), now=later)
    assert (again.result, again.claimed_at, again.claimed_province, again.mine) == (
        "already-claimed", first.claimed_at, "22", False)
    mine = do_claim(app, text.lower(), f" {code[:4]} {code[4:]} ", ctx=context("dev-1", "net-9"))
    assert mine.result == "already-claimed" and mine.mine

    miss = do_claim(app, text, wrong(code), ctx=context("dev-3", "net-3"))
    assert (miss.result, miss.claimed_at, miss.claimed_province, miss.claim) == ("wrong-code", None, None, None)
    assert [a["result"] for a in attempts(app, serial=serial)] == ["first", "already-claimed", "already-claimed",
                                                                  "wrong-code"]
    assert miss.as_json() == {"result": "wrong-code", "claimed_at": None, "claimed_province": None,
                              "serial_text": format_serial(serial)}


def test_every_way_of_naming_the_stamp(app):
    stamps = hidden_run(app, 6)
    for shape, (serial, text, code) in zip(("qr", "qr-lower", "path", "printed", "compact", "dotted"), stamps):
        printed = format_serial(serial)
        named = {"qr": text, "qr-lower": text.lower(), "path": path(text)[1:], "printed": printed,
                 "compact": printed.replace(" ", ""), "dotted": printed.replace(" ", ".")}[shape]
        assert do_claim(app, named, code).result == "first", shape


def test_refusals_are_typed_and_say_why(app, world):
    (serial, text, code), *_ = hidden_run(app, 2)
    issued_max = serial + 1
    never = format_serial(issued_max + 1000)
    cases = {
        "": claims.MalformedCode, "   ": claims.MalformedCode, "abc": claims.MalformedCode,
        format_serial(serial)[:-1] + str((int(format_serial(serial)[-1]) + 1) % 10): claims.MalformedCode,
        never: claims.UnknownStamp,
        text[:-3] + ("000" if text[-3:] != "000" else "111"): claims.UnknownStamp,  # the signature altered
        "HTTPS://ELSEWHERE.EXAMPLE/X/123": claims.UnknownStamp,
        "x" * 30: claims.UnknownStamp,
    }
    for named, error in cases.items():
        with pytest.raises(error) as caught:
            do_claim(app, named, code)
        assert caught.value.message.render("vi") != caught.value.message.key, named
    # a stamp of ours without a scratch-off layer: run A of the fixture
    with pytest.raises(claims.NoHiddenCode) as caught:
        do_claim(app, format_serial(world.first_serial), code)
    assert caught.value.status == 422
    assert attempts(app) == []  # none of these is a guess


def test_a_hidden_code_that_is_not_8_digits_is_a_format_error_not_a_guess(app):
    (_serial, text, _code), *_ = hidden_run(app, 1)
    for typed in (None, "", "1234567", "123456789", "abcdefgh", "1234 567", "١٢٣٤٥٦٧٨", "12345678" * 6, 12345678):
        with pytest.raises(claims.HiddenCodeFormat) as caught:
            do_claim(app, text, typed)
        assert caught.value.field == "hidden_code" and caught.value.status == 400, typed
        assert str(caught.value.message) == "Mã cào gồm đúng 8 chữ số."
    assert attempts(app) == []


def test_a_hidden_code_may_carry_spaces_dots_and_dashes(app):
    stamps = hidden_run(app, 6)
    for shape, (_serial, text, code) in zip(("{0}{1}", " {0}{1} ", "{0}-{1}", "{0}.{1}", "{0} {1}", "\t{0}{1}\n"), stamps):
        assert do_claim(app, text, shape.format(code[:4], code[4:])).result == "first", shape


def test_a_stamp_of_a_revoked_key_still_answers_with_its_verdict(app, client):
    (serial, text, code), *_ = hidden_run(app, 1)
    with app.app_context():
        store = keystore(app)
        store.revoke(store.active().kid, "test: leaked")
    body = client.post("/api/v1/claim", json={"code": text, "hidden_code": code}).get_json()
    assert body["result"] == "first" and body["verdict"] == "key-revoked"
    assert do_claim(app, format_serial(serial), code).result == "already-claimed"


def test_two_buyers_at_the_same_moment_cannot_both_be_first(app):
    (_serial, text, code), *_ = hidden_run(app, 1)
    results, barrier = [], threading.Barrier(6)

    def buyer(n: int) -> None:
        barrier.wait()
        results.append(do_claim(app, text, code, ctx=context(f"dev-{n}", f"net-{n}")).result)

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["already-claimed"] * 5 + ["first"]


# --- guessing limits ---------------------------------------------------------------------------------------


def test_five_wrong_codes_lock_the_stamp_for_a_day_then_the_buyer_gets_in(app):
    (serial, text, code), (other, other_text, other_code), *_ = hidden_run(app)
    start = dt.datetime(2026, 12, 3, 7, 0, tzinfo=dt.timezone.utc)
    for n in range(5):  # a stranger from five networks
        assert do_claim(app, text, wrong(code), ctx=context(f"d{n}", f"n{n}"),
                        now=start + dt.timedelta(minutes=n)).result == "wrong-code"
    # Now even the right code is refused (else "limited" vs "first" would tell a guesser which code is right).
    with pytest.raises(claims.Limited) as caught:
        do_claim(app, text, code, ctx=context("buyer", "home"), now=start + dt.timedelta(hours=1, minutes=5))
    assert caught.value.retry_after == 23 * 3600 - 5 * 60  # until the first wrong code is a day old
    assert caught.value.status == 429 and str(caught.value.message) == "Đã thử mã cào quá nhiều lần. Vui lòng thử lại sau 23 giờ."
    # another stamp is not locked
    assert do_claim(app, other_text, other_code, ctx=context("buyer", "home"), now=start).result == "first"
    # the refusals are recorded but do not extend the lock
    for n in range(3):
        with pytest.raises(claims.Limited):
            do_claim(app, text, code, ctx=context("buyer", "home"), now=start + dt.timedelta(hours=2 + n))
    assert [a["result"] for a in attempts(app, serial=serial)].count("limited") == 4
    asked = start + dt.timedelta(hours=1, minutes=5)
    with pytest.raises(claims.Limited):  # one second early
        do_claim(app, text, code, ctx=context("buyer", "home"),
                 now=asked + dt.timedelta(seconds=caught.value.retry_after - 1))
    after = asked + dt.timedelta(seconds=caught.value.retry_after)
    assert do_claim(app, text, code, ctx=context("buyer", "home"), now=after).result == "first"


def test_twenty_attempts_an_hour_per_network(app):
    stamps = hidden_run(app, 21)
    start = dt.datetime(2026, 12, 3, 7, 0, tzinfo=dt.timezone.utc)
    for n, (_serial, text, code) in enumerate(stamps[:20]):
        do_claim(app, text, code if n % 2 else wrong(code), ctx=context(f"d{n}", "shop-wifi"),
                 now=start + dt.timedelta(minutes=n))
    _serial, text, code = stamps[20]
    with pytest.raises(claims.Limited) as caught:
        do_claim(app, text, code, ctx=context("d-x", "shop-wifi"), now=start + dt.timedelta(minutes=30))
    assert 30 * 60 <= caught.value.retry_after <= 30 * 60 + 2
    assert str(caught.value.message) == "Đã thử mã cào quá nhiều lần. Vui lòng thử lại sau 30 phút."
    assert do_claim(app, text, code, ctx=context("d-x", "other-net"), now=start + dt.timedelta(minutes=30)).result == "first"
    assert do_claim(app, text, code, ctx=context("d-x", "shop-wifi"),
                    now=start + dt.timedelta(minutes=61)).result == "already-claimed"


def test_sms_counts_by_sender_not_by_the_gateways_network(app):
    stamps = hidden_run(app, 4)
    tight = Limits(per_network=2)
    for _serial, text, code in stamps[:2]:
        do_claim(app, text, code, channel="sms", ctx=context(None, "gateway-net"), sender="alice", limits=tight)
    with pytest.raises(claims.Limited):
        do_claim(app, stamps[2][1], stamps[2][2], channel="sms", ctx=context(None, "gateway-net"), sender="alice",
                 limits=tight)
    assert do_claim(app, stamps[2][1], stamps[2][2], channel="sms", ctx=context(None, "gateway-net"), sender="bob",
                    limits=tight).result == "first"
    assert {a["sender_hash"] for a in attempts(app, channel="sms")} == {"alice", "bob"}


def test_limits_come_from_config_and_a_bad_one_stops_start_up(tmp_path, monkeypatch):
    assert Limits.from_config({"wrong_per_serial": 3}) == Limits(wrong_per_serial=3)
    for bad in ({"wrong_per_serial": 0}, {"per_network": "20"}, {"per_network": True}, {"guesses": 5}):
        with pytest.raises(ValueError):
            Limits.from_config(bad)
    monkeypatch.setenv("OCOP_STAMP_HOME", str(tmp_path / "instance"))
    with pytest.raises(ValueError, match="CLAIM_LIMITS"):
        create_app({"TESTING": True, "CLAIM_LIMITS": {"per_network": -1}})


def test_the_limit_arithmetic_in_the_docstring_holds():
    limits = Limits()
    per_year = limits.wrong_per_serial * 365 * 24 // limits.serial_hours
    assert per_year / 10**8 < 2e-5 and 10**8 / limits.wrong_per_serial / 365 > 50_000


# --- the API -----------------------------------------------------------------------------------------------


def test_api_claim_first_already_wrong(app, client):
    (serial, text, code), *_ = hidden_run(app)
    before = client.get("/api/v1/verify", query_string={"code": text}).get_json()
    assert before["claim"] is None and before["stamp"]["hidden_code"] is True

    first = client.post("/api/v1/claim", json={"code": text, "hidden_code": code, "province_code": "01"})
    assert first.status_code == 200 and "no-store" in first.headers["Cache-Control"]
    body = first.get_json()
    assert body["result"] == "first" and body["claimed_province"] == "01" and body["serial_text"] == format_serial(serial)
    assert body["verdict"] == "genuine" and body["reasons"][0]["code"] == "genuine"

    again = client.post("/api/v1/claim", data={"code": format_serial(serial), "hidden_code": code}).get_json()
    assert (again["result"], again["claimed_at"], again["claimed_province"]) == ("already-claimed", body["claimed_at"], "01")
    miss = client.post("/api/v1/claim", json={"code": text, "hidden_code": wrong(code)}).get_json()
    assert miss == {"result": "wrong-code", "claimed_at": None, "claimed_province": None,
                    "serial_text": format_serial(serial), "verdict": "genuine", "reasons": miss["reasons"]}

    after = client.get("/api/v1/verify", query_string={"code": text}).get_json()
    assert after["claim"] == {"claimed_at": body["claimed_at"], "claimed_province": "01"}
    assert attempts(app, serial=serial)[0]["channel"] == "api"


def test_api_claim_on_a_recalled_batch_answers_with_the_verdict(app, client, api):
    (_serial, text, code), *_ = hidden_run(app, 1)
    assert api("admin")("POST", f"/api/v1/batches/{app.world.batch_a}/recall", json={"reason": "nhiễm khuẩn"}).status_code == 200
    body = client.post("/api/v1/claim", json={"code": text, "hidden_code": code}).get_json()
    assert body["result"] == "first" and body["verdict"] == "recalled"
    assert "nhiễm khuẩn" in body["reasons"][0]["message"]


def test_api_claim_bad_input(client):
    for send, field in (
        ({"data": b"{", "content_type": "application/json"}, None),
        ({"data": b"[1, 2]", "content_type": "application/json"}, None),
        ({"data": b"\xff\xfe", "content_type": "application/json"}, None),
        ({"data": b'{"code": "000 001-3", "hidden_code": "1234', "content_type": "application/json"}, None),
        ({"json": {"code": "000 001-3"}}, "hidden_code"),
        ({"json": {"hidden_code": "12345678"}}, "code"),
        ({"json": {"code": 12, "hidden_code": 12345678}}, "code"),
        ({"json": {"code": "x" * 2001, "hidden_code": "12345678"}}, "code"),
        ({"json": {"code": "000 001-3", "hidden_code": "1234\x005678"}}, "hidden_code"),
        ({"data": {}}, "code"),
        ({"data": b"code=1", "content_type": "text/plain"}, "code"),
    ):
        response = client.post("/api/v1/claim", **send)
        assert response.status_code == 400 and response.is_json, send
        body = response.get_json()
        assert body["error"] and (field is None or field in body["fields"]), (send, body)


def test_api_claim_refusals(app, client, world):
    (serial, text, code), *_ = hidden_run(app, 1)
    unknown = client.post("/api/v1/claim", json={"code": format_serial(serial + 5000), "hidden_code": code})
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "Không có tem này trong hệ thống: nghi hàng giả."
    typo = client.post("/api/v1/claim", json={"code": format_serial(serial)[:-1] + "x", "hidden_code": code})
    assert typo.status_code == 400 and "code" in typo.get_json()["fields"]
    plain = client.post("/api/v1/claim", json={"code": format_serial(world.first_serial), "hidden_code": code})
    assert plain.status_code == 422 and plain.get_json()["fields"] == {"code": plain.get_json()["error"]}
    short = client.post("/api/v1/claim", json={"code": text, "hidden_code": "1234"})
    assert short.status_code == 400 and short.get_json()["fields"] == {"hidden_code": "Mã cào gồm đúng 8 chữ số."}
    english = client.post("/api/v1/claim", json={"code": text, "hidden_code": "1234"}, headers={"Accept-Language": "en"})
    assert english.get_json()["error"] == "The hidden code is exactly 8 digits."
    province = client.post("/api/v1/claim", json={"code": text, "hidden_code": code, "province_code": "99"})
    assert province.status_code == 400 and "province_code" in province.get_json()["fields"]
    assert attempts(app) == []


def test_api_flood_gets_429_with_retry_after(app, client):
    stamps = hidden_run(app, 3)
    (_s, text, code) = stamps[0]
    for _ in range(5):
        assert client.post("/api/v1/claim", json={"code": text, "hidden_code": wrong(code)}).status_code == 200
    limited = client.post("/api/v1/claim", json={"code": text, "hidden_code": code})
    assert limited.status_code == 429 and limited.is_json
    assert 23 * 3600 < int(limited.headers["Retry-After"]) <= 24 * 3600 + 2
    assert "thử lại sau 24 giờ" in limited.get_json()["error"]
    # the same network, 20 checks an hour (the 5 wrong codes above count, the refusal does not)
    for _s, text2, code2 in stamps[1:]:
        for _ in range(8):
            client.post("/api/v1/claim", json={"code": text2, "hidden_code": code2})
    flood = client.post("/api/v1/claim", json={"code": stamps[2][1], "hidden_code": stamps[2][2]})
    assert flood.status_code == 429 and 3500 < int(flood.headers["Retry-After"]) <= 3602


def test_api_claim_limits_are_configurable(world_template, tmp_path, monkeypatch):
    from conftest import app_on_world

    app = app_on_world(world_template(), tmp_path / "instance", monkeypatch,
                       {"CLAIM_LIMITS": {"wrong_per_serial": 2, "serial_hours": 1}})
    (_s, text, code), *_ = hidden_run(app, 1)
    client = app.test_client()
    for _ in range(2):
        client.post("/api/v1/claim", json={"code": text, "hidden_code": wrong(code)})
    limited = client.post("/api/v1/claim", json={"code": text, "hidden_code": code})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) <= 3602


def test_api_claim_refuses_huge_bodies_before_reading_them(client):
    huge = client.post("/api/v1/claim", data=b'{"code": "' + b"1" * 100_000 + b'", "hidden_code": "12345678"}',
                       content_type="application/json")
    assert huge.status_code == 413 and huge.is_json
    form = client.post("/api/v1/claim", data={"code": "1" * 100_000, "hidden_code": "12345678"})
    assert form.status_code == 413


def test_openapi_documents_the_claim(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    post = doc["paths"]["/api/v1/claim"]["post"]
    assert post["security"] == []
    request = post["requestBody"]["content"]
    assert set(request) == {"application/json", "application/x-www-form-urlencoded"}
    schema = doc["components"]["schemas"]["ClaimRequest"]
    assert schema["required"] == ["code", "hidden_code"] and "province_code" in schema["properties"]
    result = doc["components"]["schemas"]["ClaimResult"]
    assert result["properties"]["result"]["enum"] == ["first", "already-claimed", "wrong-code"]
    assert {"claimed_at", "claimed_province", "serial_text", "verdict", "reasons"} <= set(result["properties"])
    assert {"200", "400", "404", "413", "422", "429"} <= set(post["responses"])
    assert "Retry-After" in post["responses"]["429"]["headers"]
    verify = doc["paths"]["/api/v1/verify"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "claim" in verify["properties"]


# --- the page ----------------------------------------------------------------------------------------------


def claim_form(html: str) -> str:
    match = re.search(r'<form class="claim".*?</form>', html, re.S)
    assert match, "no claim form on the page"
    return match[0]


def post_claim(client, page_html: str, hidden: str, **extra):
    form = claim_form(page_html)
    code = re.search(r'name="code" value="([^"]*)"', form)[1]
    return client.post("/claim", data={"csrf_token": csrf_from(form), "code": code.replace("&#x2F;", "/"),
                                       "hidden_code": hidden, **extra})


def test_page_claim_first_already_claimed_and_the_note_on_later_scans(app):
    (serial, text, code), *_ = hidden_run(app)
    buyer, other = app.test_client(), app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.50"  # another buyer, another network (not the same household)
    page = buyer.get(path(text)).get_data(as_text=True)
    form = claim_form(page)
    for needed in ('action="/claim"', 'method="post"', 'inputmode="numeric"', 'autocomplete="off"',
                   'name="csrf_token"', 'name="tinh"', "Nhập mã dưới lớp cào"):
        assert needed in form or needed in page, needed
    assert 'data-verdict="genuine"' in page and "Đã được người mua xác thực" not in page

    first = post_claim(buyer, page, code, tinh="22")
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and FIRST in html and 'data-claim="first"' in html
    assert f'href="{path(text)}"' in html  # back to the stamp
    with app.app_context():
        at = claims.claim_for(get_storage(), serial)["at"]

    again = post_claim(other, other.get(path(text)).get_data(as_text=True), code)
    html = again.get_data(as_text=True)
    assert again.status_code == 200 and 'data-claim="already-claimed"' in html
    assert (f"Mã này đã được xác thực lúc {local(at)} (Tỉnh Quảng Ninh): nếu không phải bạn, nghi ngờ hàng giả"
            in html), html
    mine = post_claim(buyer, buyer.get(path(text)).get_data(as_text=True), code).get_data(as_text=True)
    assert f"Bạn đã xác thực mã này lúc {local(at)} (Tỉnh Quảng Ninh)" in mine

    later = other.get(path(text)).get_data(as_text=True)
    assert f"Đã được người mua xác thực lúc {local(at)} (Tỉnh Quảng Ninh)" in later
    typed = other.get("/check", query_string={"serial": format_serial(serial)}).get_data(as_text=True)
    assert "Đã được người mua xác thực lúc" in typed and claim_form(typed)


def test_page_claim_in_english(app):
    (_serial, text, code), *_ = hidden_run(app, 1)
    client = app.test_client()
    client.set_cookie("lang", "en")
    page = client.get(path(text)).get_data(as_text=True)
    assert "Enter the code under the scratch-off layer" in page
    html = post_claim(client, page, code).get_data(as_text=True)
    assert "Verified: you are the first to enter this code" in html
    switch = re.search(r'href="/lang/vi\?next=([^"]+)"', html)[1]  # back to the stamp, not to a GET of /claim
    assert unquote(switch) == path(text)
    later = client.get(path(text)).get_data(as_text=True)
    assert re.search(r"Verified by a buyer at \d\d:\d\d on \d{1,2} [A-Z][a-z]{2} \d{4}", later)


def test_page_wrong_code_and_format_error_offer_the_form_again(app):
    (_serial, text, code), *_ = hidden_run(app, 1)
    client = app.test_client()
    page = client.get(path(text)).get_data(as_text=True)
    miss = post_claim(client, page, wrong(code))
    html = miss.get_data(as_text=True)
    assert miss.status_code == 200 and "Mã cào không đúng" in html and 'data-claim="wrong-code"' in html
    assert claim_form(html)
    slip = post_claim(client, page, "12 34")
    html = slip.get_data(as_text=True)
    assert slip.status_code == 400 and "Mã cào gồm đúng 8 chữ số." in html and claim_form(html)
    assert post_claim(client, html, code).status_code == 200  # the form it offered again works


def test_page_refusals(app, world):
    (serial, text, code), *_ = hidden_run(app, 1)
    client = app.test_client()
    plain = client.get(f"/check?serial={format_serial(world.first_serial)}").get_data(as_text=True)
    assert '<form class="claim"' not in plain  # no scratch-off layer, no form
    token = csrf_from(client.get(path(text)).get_data(as_text=True))
    cases = [({"code": format_serial(world.first_serial), "hidden_code": code}, 422, "Tem này không có lớp mã cào"),
             ({"code": format_serial(serial + 777), "hidden_code": code}, 404, "Không có tem này trong hệ thống"),
             ({"code": "12", "hidden_code": code}, 400, "Không đọc được số sê-ri"),
             ({"hidden_code": code}, 400, "Không đọc được số sê-ri"),
             ({"code": "S/" + "9" * 40, "hidden_code": code}, 404, "Không có tem này trong hệ thống")]
    for data, status, words in cases:
        response = client.post("/claim", data={"csrf_token": token, **data})
        assert response.status_code == status and words in response.get_data(as_text=True), (data, status)
    assert client.post("/claim", data={"code": text, "hidden_code": code}).status_code == 400  # no CSRF token
    assert client.get("/claim").status_code == 405


def test_page_flood_gets_429_with_retry_after(app):
    (_serial, text, code), *_ = hidden_run(app, 1)
    client = app.test_client()
    page = client.get(path(text)).get_data(as_text=True)
    for _ in range(5):
        post_claim(client, page, wrong(code))
    limited = post_claim(client, page, code)
    html = limited.get_data(as_text=True)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 23 * 3600
    assert "Đã thử mã cào quá nhiều lần" in html and 'data-claim="limited"' in html and "<form class=\"claim\"" not in html


def test_page_claim_on_a_recalled_batch_puts_the_verdict_first(app, api):
    (_serial, text, code), *_ = hidden_run(app, 1)
    api("admin")("POST", f"/api/v1/batches/{app.world.batch_a}/recall", json={"reason": "nhiễm khuẩn"})
    client = app.test_client()
    page = client.get(path(text)).get_data(as_text=True)
    assert 'data-verdict="recalled"' in page and claim_form(page)
    html = post_claim(client, page, code).get_data(as_text=True)
    verdict, claimed = html.index('data-verdict="recalled"'), html.index('data-claim="first"')
    assert verdict < claimed and "Lô hàng đã bị thu hồi" in html
    assert "hãy đọc cảnh báo ở trên" in html and 'class="banner info"' in html  # not the green of a genuine stamp


def test_page_is_not_cached_and_ignores_a_chosen_province_that_is_not_one(app):
    (serial, text, code), *_ = hidden_run(app, 1)
    client = app.test_client()
    response = post_claim(client, client.get(path(text)).get_data(as_text=True), code, tinh="<script>")
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    with app.app_context():
        assert claims.claim_for(get_storage(), serial)["province_code"] is None


def test_times_are_shown_in_vietnam(app):
    from stamp_service.i18n.formats import clock

    assert clock("2026-12-03T07:32:00Z", "vi") == "14:32 03/12/2026"
    assert clock("2026-12-03T18:30:00Z", "vi") == "01:30 04/12/2026"  # already the next day in Hà Nội
    assert clock("2026-12-03T07:32:00Z", "en") == "14:32 on 3 Dec 2026"
    assert clock(None) == "" and clock("garbage", "vi") == "garbage"
