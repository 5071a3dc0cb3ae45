"""Over TLS (directly or at a trusted proxy) pages say to stay on it (HSTS) and the session cookie is Secure; over
plain HTTP neither (a developer's laptop). Signing errors name no key id or instance path to a producer."""

from __future__ import annotations

from conftest import PASSWORD, csrf_from
from stamp_service.signing_keys import keystore


def _sign_in(client, base: str):
    token = csrf_from(client.get(f"{base}/login").get_data(as_text=True))
    return client.post(f"{base}/login", data={"email": "producer_a@example.vn", "password": PASSWORD,
                                              "csrf_token": token})


def test_over_tls_hsts_and_a_secure_session_cookie(app):
    client = app.test_client()
    page = client.get("https://tem.example.vn/")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    signed_in = _sign_in(client, "https://tem.example.vn")
    assert signed_in.status_code == 302
    cookie = next(c for c in signed_in.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_over_plain_http_neither(app):
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/").headers
    signed_in = _sign_in(client, "http://localhost")
    cookie = next(c for c in signed_in.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" not in cookie


def test_a_signing_failure_names_no_key_id_or_path(app, world, api):
    store = keystore(app)
    kid = store.list()[0].kid_hex
    (store.path / f"{kid}.key").write_text("damaged")
    response = api("producer_a")("POST", f"/api/v1/batches/{world.batch_a}/runs", json={"count": 5})
    body = response.get_json()["error"]
    assert response.status_code == 503 and "ký tem" in body
    assert kid not in body and str(app.instance_path) not in body and ".key" not in body
