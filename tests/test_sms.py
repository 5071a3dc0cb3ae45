"""The SMS channel: a gateway posts what a shopper texted; every reply is one plain GSM-7 SMS (<= 160 characters,
Vietnamese without diacritics), the sender is kept only as a keyed hash, and only a gateway token gets in."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stamp_service.cli import cli
from stamp_service.context import get_storage
from stamp_service.i18n import gsm7
from stamp_service.i18n.gsm7 import BASIC, fits, plain
from stamp_service.stamps.serials import format_serial
from stamp_service.verification import sms
from stamp_service.verification.checker import Outcome
from stamp_service.verification.claims import ClaimResult
from stamp_service.verification.verdicts import VERDICTS, Verdict
from test_claims import hidden_run, local, wrong

ALICE, BOB = "+84912345678", "0987 654 321"


@pytest.fixture
def gateway(app):
    """send(text, sender=ALICE) -> (status, JSON) as the SMS gateway posts it."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {app.world.tokens['gateway']}"}

    def send(text, sender=ALICE, **kw):
        response = client.post("/api/v1/sms/inbound", json={"from": sender, "text": text}, headers=headers, **kw)
        return response.status_code, response.get_json()

    return send


def reply(send, text, sender=ALICE) -> str:
    status, body = send(text, sender)
    assert status == 200, body
    text = body["reply"]
    assert fits(text), f"not one GSM-7 SMS ({len(text)} characters): {text!r}"
    return text


# --- parsing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("message, serial, code", [
    ("OCOP 000 001-3 12345678", "000 001-3", "12345678"),
    ("ocop 000001-3 12345678", "000001-3", "12345678"),
    ("  Ocop:   000 001-3    1234 5678  ", "000 001-3", "1234 5678"),
    ("OCOP 0000013 12345678", "0000013", "12345678"),
    ("OCOP 000001312345678", "0000013", "12345678"),
    ("000 001-3 12345678", "000 001-3", "12345678"),
    ("TEM 000.001-3 1234-5678", "000.001-3", "1234-5678"),
    ("OCOP 000 001-3", "000 001-3", None),
    ("ocop 0000013", "0000013", None),
    ("OCOP 000 001-3 123", "000 001-3", "123"),
    ("OCOP 000 021-0 1234", "000 021-0", "1234"),  # its digits would pass the check digit as one long serial
    ("OCOP 0000013 1234-5678", "0000013", "1234-5678"),
    ("OCOP 000 001-3 ma 1234 5678 nhe", "000 001-3", "1234 5678"),
    ("OCOP 000 001-9 12345678", "000 001-9 12345678", None),  # no valid serial: the reply names the number
    ("OCOP", None, None), ("", None, None), ("xin chào", None, None), ("OCOP -- ..", None, None),
])
def test_parse_is_lenient(message, serial, code):
    assert sms.parse(message) == sms.Inbound(serial, code)


@pytest.mark.parametrize("number, normal", [
    ("+84912345678", "+84912345678"), ("0912345678", "+84912345678"), ("84912345678", "+84912345678"),
    ("0912 345 678", "+84912345678"), ("0084912345678", "+84912345678"), ("(+84) 912-345-678", "+84912345678"),
    ("+14155550100", "+14155550100"), ("8089", "8089"),
    ("", None), ("abc", None), ("+", None), ("12", None), ("+84 912 345 678 999 999 9", None), ("0912\x00345", None),
])
def test_sender_numbers_are_normalised(number, normal):
    assert sms.normalise_number(number) == normal


def test_plain_strips_diacritics_to_gsm7():
    assert plain("Trà Shan tuyết Hà Giang – HTX Đồng Văn") == "Tra Shan tuyet Ha Giang - HTX Dong Van"
    assert plain("Mật ong “bạc hà” [đặc sản] {x} ~ | ^ € 😀\n\tđây") == 'Mat ong "bac ha" (dac san) (x) - / EUR day'
    assert plain("ƯỚC ƠN ĐƯỢC") == "UOC ON DUOC"
    assert set(plain("".join(chr(c) for c in range(32, 0x3000)))) <= BASIC
    assert gsm7.shorten("Tra hoa vang Ba Che", 12) == "Tra hoa.."


# --- every reply is one GSM-7 SMS ------------------------------------------------------------------------


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@settings(max_examples=300, deadline=None)
@given(product=names, producer=names, stars=st.sampled_from([3, 4, 5]), verdict=st.sampled_from(VERDICTS),
       serial=st.integers(1, 2**32 - 1), result=st.sampled_from(["first", "already-claimed", "wrong-code", None]),
       province=st.sampled_from([None, "01", "79", "08", "99"]), mine=st.booleans())
def test_every_composed_reply_fits_one_sms(product, producer, stars, verdict, serial, result, province, mine):
    outcome = Outcome(Verdict(verdict), product={"name": product}, producer={"name": producer},
                      recognition={"stars": stars})
    claim = {"at": "2026-12-03T07:32:00Z", "province_code": province, "household": None}
    if result is None:
        tail = sms.status_tail({"hidden_code": 1}, claim if mine else None, serial)
    else:
        tail = sms.claim_tail(ClaimResult(result, serial, {}, None if result == "wrong-code" else claim, mine))
    text = sms.verdict_reply(outcome, serial, tail)
    assert fits(text), (len(text), text)
    assert text.startswith(f"OCOP: Tem {format_serial(serial)} ")
    if result == "already-claimed" and not mine:
        assert "Ma cao DA duoc xac thuc luc 14:32 03/12/2026" in text  # the news survives any name's length


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=st.one_of(
    st.text(max_size=400),
    st.builds(lambda k, s, c: f"{k} {s} {c}", st.sampled_from(["OCOP", "ocop", "", "Tem:", "OCOP OCOP"]),
              st.sampled_from(["000 021-0", "0000210", "000021-0", "000 001-3", "000 001-9", "9" * 15, "0"]),
              st.text(alphabet="0123456789 -.x", max_size=20))),
    sender=st.from_regex(r"\+849[0-9]{8}", fullmatch=True))
def test_every_reply_through_the_gateway_fits_one_sms(app, gateway, message, sender):
    if not hasattr(app, "sms_stamps"):
        app.sms_stamps = hidden_run(app, 1)
    reply(gateway, message, sender)


def test_a_gsm_at_sign_passed_through_as_nul_gets_a_reply(app, gateway):
    assert reply(gateway, "\x00") == reply(gateway, "@")  # GSM-7's "@" is 0x00; some gateways pass it on as is


def test_long_names_are_shortened_not_the_news(app, gateway):
    (serial, _text, code), *_ = hidden_run(app, 1)
    with app.app_context():
        storage = get_storage()
        storage.update("products", app.world.product_a, {"name": "Trà hoa vàng Ba Chẽ thượng hạng đặc biệt 😀 " * 6})
        storage.update("producers", app.world.producer_a, {"name": "Hợp tác xã nông nghiệp dịch vụ tổng hợp Đồng Tâm " * 4})
    first = reply(gateway, f"OCOP {format_serial(serial)} {code}", BOB)
    assert first.startswith(f"OCOP: Tem {format_serial(serial)} CHINH HANG. Tra hoa vang")
    assert "4 sao OCOP. Ma cao xac thuc lan dau luc " in first
    again = reply(gateway, f"OCOP {format_serial(serial)} {code}")
    assert again.endswith(": neu khong phai ban, nghi hang gia.") and len(again) <= 160


# --- the conversations -------------------------------------------------------------------------------------


def test_claim_by_sms(app, gateway):
    (serial, _text, code), *_ = hidden_run(app)
    printed = format_serial(serial)
    hint = reply(gateway, f"OCOP {printed}")
    assert hint == (f"OCOP: Tem {printed} CHINH HANG. Tra hoa vang, HTX Tra hoa vang Ba Che, 4 sao OCOP. "
                    f"Cao lop bac, soan OCOP {printed.replace(' ', '')} <ma cao> de xac thuc.")
    first = reply(gateway, f"ocop {printed.replace(' ', '')} {code[:4]} {code[4:]}")
    with app.app_context():
        claim = get_storage().find("claims", order_by="serial", serial=serial)[0]
    assert claim["channel"] == "sms" and claim["net_hash"] is None
    assert first == (f"OCOP: Tem {printed} CHINH HANG. Tra hoa vang, HTX Tra hoa vang Ba Che, 4 sao OCOP. "
                     f"Ma cao xac thuc lan dau luc {local(claim['at'])}.")
    assert reply(gateway, f"OCOP {printed} {code}").endswith(f"Ban da xac thuc ma cao luc {local(claim['at'])}.")
    other = reply(gateway, f"OCOP {printed} {code}", BOB)
    assert other.endswith(f"Ma cao DA duoc xac thuc luc {local(claim['at'])}: neu khong phai ban, nghi hang gia.")
    status = reply(gateway, f"OCOP {printed}", BOB)
    assert status.endswith(f"Da duoc nguoi mua xac thuc luc {local(claim['at'])}.")
    # ... and the page and the verify API say the same
    assert "Đã được người mua xác thực" in app.test_client().get(f"/check?serial={printed}").get_data(as_text=True)


def test_the_page_province_shows_in_the_sms(app, gateway):
    (serial, text, code), *_ = hidden_run(app, 1)
    app.test_client().post("/api/v1/claim", json={"code": text, "hidden_code": code, "province_code": "79"})
    assert "(Ho Chi Minh): neu khong phai ban" in reply(gateway, f"OCOP {format_serial(serial)} {code}")
    assert "(Ho Chi Minh)." in reply(gateway, f"OCOP {format_serial(serial)}")


def test_wrong_codes_format_errors_and_stamps_without_codes(app, gateway, world):
    (serial, _text, code), *_ = hidden_run(app, 1)
    printed = format_serial(serial)
    assert reply(gateway, f"OCOP {printed} {wrong(code)}").endswith("Ma cao KHONG DUNG: kiem tra lai 8 chu so.")
    assert reply(gateway, f"OCOP {printed} 1234").endswith("Ma cao gom dung 8 chu so.")
    plain_stamp = format_serial(world.first_serial)
    assert reply(gateway, f"OCOP {plain_stamp} {code}").endswith("4 sao OCOP. Tem nay khong co ma cao.")
    assert reply(gateway, f"OCOP {plain_stamp}").endswith("HTX Tra hoa vang Ba Che, 4 sao OCOP.")
    with app.app_context():
        results = [a["result"] for a in get_storage().find("claim_attempts", channel="sms")]
    assert results == ["wrong-code"]  # the format error and the stamp without a code are not guesses


def test_unknown_and_mistyped_serials_and_help(app, gateway):
    (serial, _text, _code), *_ = hidden_run(app, 1)
    never = format_serial(serial + 4000)
    assert reply(gateway, f"OCOP {never}") == (
        f"OCOP: Khong co tem {never} trong he thong: nghi hang gia. Kiem tra lai so in duoi ma QR.")
    typo = format_serial(serial)[:-1] + str((int(format_serial(serial)[-1]) + 1) % 10)
    assert reply(gateway, f"OCOP {typo}").startswith(f"OCOP: Khong doc duoc so tem {typo}: kiem tra lai")
    assert reply(gateway, "OCOP " + "9" * 300).startswith("OCOP: Khong doc duoc so tem 9999")
    for text in ("", "OCOP", "Xin chào, tôi muốn hỏi", "😀" * 300):
        assert reply(gateway, text) == "OCOP: Soan OCOP <so tem> <ma cao 8 so> gui lai, vi du: OCOP 000123-4 12345678"


def test_a_recalled_batch_comes_first_in_the_sms(app, gateway, api):
    (serial, _text, code), *_ = hidden_run(app, 1)
    api("admin")("POST", f"/api/v1/batches/{app.world.batch_a}/recall", json={"reason": "nhiễm khuẩn"})
    text = reply(gateway, f"OCOP {format_serial(serial)} {code}")
    assert text.startswith(f"OCOP: Tem {format_serial(serial)} LO HANG DA BI THU HOI.") and "lan dau" in text


def test_limits_count_per_sender(app, gateway):
    stamps = hidden_run(app, 6)
    (serial, _text, code) = stamps[0]
    for _ in range(5):
        reply(gateway, f"OCOP {format_serial(serial)} {wrong(code)}")
    locked = reply(gateway, f"OCOP {format_serial(serial)} {code}", BOB)
    assert locked.endswith("Da thu ma cao qua nhieu lan. Vui long thu lai sau 24 gio.")
    for _ in range(15):  # Alice has 5 checks this hour; 15 more fill her 20
        reply(gateway, f"OCOP {format_serial(stamps[1][0])} {stamps[1][2]}")
    assert reply(gateway, f"OCOP {format_serial(stamps[2][0])} {stamps[2][2]}").endswith(
        "Vui long thu lai sau 60 phut.")
    assert "lan dau" in reply(gateway, f"OCOP {format_serial(stamps[2][0])} {stamps[2][2]}", BOB)


def test_the_number_is_kept_only_as_a_keyed_hash(app, gateway):
    (serial, _text, code), *_ = hidden_run(app, 1)
    reply(gateway, f"OCOP {format_serial(serial)} {code}", "0912 345 678")
    reply(gateway, f"OCOP {format_serial(serial)} {wrong(code)}", "+84912345678")
    expected = hmac.new(app.config["SECRET_KEY"].encode(), b"sms-sender:+84912345678", hashlib.sha256).hexdigest()[:32]
    with app.app_context():
        storage = get_storage()
        rows = storage.find("claim_attempts", channel="sms")
        claim = storage.find("claims", order_by="serial", serial=serial)[0]
        everything = repr([storage.find(table, order_by=sorted(columns)[0]) for table, columns in storage.tables().items()])
        if storage.dialect == "sqlite":
            storage.db.conn.execute("PRAGMA wal_checkpoint(FULL)")  # every write in the file, to read it
    assert [r["sender_hash"] for r in rows] == [expected, expected]  # one person, however the number is written
    assert claim["household"] == f"sms:{expected}"
    assert "912345678" not in everything  # in no column of any table, on either back end
    for path in Path(app.config["DATABASE"]).parent.glob(Path(app.config["DATABASE"]).name + "*"):
        data = path.read_bytes()
        assert b"912345678" not in data and "912345678".encode("utf-16-le") not in data, path


# --- the gateway's request ---------------------------------------------------------------------------------


def test_only_a_gateway_token_gets_in(app, api):
    body = {"json": {"from": ALICE, "text": "OCOP 000 001-3"}}
    assert api(None)("POST", "/api/v1/sms/inbound", **body).status_code == 401
    for who in ("admin", "inspector", "producer_a"):
        assert api(who)("POST", "/api/v1/sms/inbound", **body).status_code == 403, who
    assert api("gateway")("POST", "/api/v1/sms/inbound", **body).status_code == 200
    for url in ("/api/v1/me", "/api/v1/runs", "/api/v1/producers", "/api/v1/cases"):
        assert api("gateway")("GET", url).status_code == 403, url


def test_bad_requests_are_400(api):
    for send, field in (
        ({"data": b"{", "content_type": "application/json"}, None),
        ({"data": b"[]", "content_type": "application/json"}, None),
        ({"data": b"from=%2B84912345678&text=OCOP", "content_type": "application/x-www-form-urlencoded"}, None),
        ({"json": {"text": "OCOP 000 001-3"}}, "from"),
        ({"json": {"from": "not a number", "text": "OCOP"}}, "from"),
        ({"json": {"from": 84912345678, "text": "OCOP"}}, "from"),
        ({"json": {"from": ALICE, "text": ["OCOP"]}}, "text"),
        ({"json": {"from": ALICE, "text": "x" * 1001}}, "text"),
    ):
        response = api("gateway")("POST", "/api/v1/sms/inbound", **send)
        assert response.status_code == 400 and response.is_json, send
        assert field is None or field in response.get_json()["fields"], send


def test_huge_bodies_are_413(api):
    response = api("gateway")("POST", "/api/v1/sms/inbound", data=b'{"from": "+84912345678", "text": "'
                              + b"1" * 50_000 + b'"}', content_type="application/json")
    assert response.status_code == 413 and response.is_json


def test_a_missing_text_gets_the_help(api):
    response = api("gateway")("POST", "/api/v1/sms/inbound", json={"from": ALICE})
    assert response.status_code == 200 and response.get_json()["reply"].startswith("OCOP: Soan OCOP")


def test_sms_checks_are_recorded_as_typed_scans(app, gateway):
    (serial, _text, _code), *_ = hidden_run(app, 1)
    reply(gateway, f"OCOP {format_serial(serial)}")
    with app.app_context():
        scan = get_storage().find("scans", serial=serial)[-1]
    assert (scan["source"], scan["ua_family"], scan["device"], scan["net_hash"]) == ("typed", "SMS", None, None)


# --- accounts ----------------------------------------------------------------------------------------------


def test_cli_creates_a_gateway_and_its_token(app, runner):
    assert "gateway" in runner.invoke(cli, ["user", "add", "--help"]).output
    added = runner.invoke(cli, ["user", "add", "sms@example.vn", "--role", "gateway", "--password-stdin"],
                          input="a long password\n")
    assert added.exit_code == 0 and "(gateway)" in added.output, added.output
    made = runner.invoke(cli, ["token", "create", "sms@example.vn", "--label", "SMS gateway"])
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    ok = client.post("/api/v1/sms/inbound", json={"from": ALICE, "text": "OCOP"}, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["reply"].startswith("OCOP:")
    assert client.get("/api/v1/me", headers=headers).status_code == 403
    assert "gateway" in runner.invoke(cli, ["user", "list"]).output


def test_the_portal_names_the_gateway_role(login):
    html = login("admin").get("/portal/users").get_data(as_text=True)
    assert "Cổng tin nhắn SMS" in html


def test_gsm7_basic_alphabet_is_the_standard_one():
    assert len(BASIC) == 128 - 3  # GSM 03.38: 128 code points, less ESC, LF and CR
    assert not set("[]{}~^|\\€\x1b\n\r") & BASIC and set("@£$¥ÄÖÑÜ§¿äöñüà") <= BASIC
    assert plain("đĐ") == "dD"
