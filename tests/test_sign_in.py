"""Signing in: copied cookies die with the session, guessing is slowed and audited, hashing has its own pool."""

from __future__ import annotations

import datetime as dt

import threading

from stamp_service.auth import users
from stamp_service.auth.hashing import PasswordChecker
from stamp_service.context import get_storage

from conftest import PASSWORD, Session, csrf_from


def _copy_cookie(app, session: Session):
    """A second browser holding a copy of the signed-in browser's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", session.client.get_cookie("session").value)
    return thief


def _post_login(client, email: str, password: str):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_copied_cookie_stops_working_after_logout(app, login):
    admin = login("admin")
    thief = _copy_cookie(app, admin)
    assert thief.get("/portal/").status_code == 200
    assert admin.post("/logout").status_code == 302
    assert thief.get("/portal/").status_code == 302  # back to the sign-in page


def test_password_change_ends_other_sessions(app, world, login):
    admin = login("admin")
    thief = _copy_cookie(app, admin)
    with app.app_context():
        users.update(get_storage(), world.users["admin"], {"password": "a brand new password"})
    assert thief.get("/portal/").status_code == 302
    assert admin.get("/portal/").status_code == 302


def test_disabling_ends_sessions_even_after_re_enabling(app, world, login):
    producer = login("producer_a")
    thief = _copy_cookie(app, producer)
    with app.app_context():
        users.update(get_storage(), world.users["producer_a"], {"disabled": 1})
        users.update(get_storage(), world.users["producer_a"], {"disabled": 0})
    assert thief.get("/portal/").status_code == 302


def test_a_cookie_signed_without_a_session_row_is_refused(app, world):
    client = app.test_client()
    with client.session_transaction() as forged:  # what an old cookie (before server sessions) carried
        forged["user_id"] = world.users["admin"]
    assert client.get("/portal/").status_code == 302


def test_wrong_passwords_are_throttled_with_doubling_delays(app, world, client):
    for _ in range(5):
        assert _post_login(client, "admin@example.vn", "wrong password!").status_code == 400
    locked = _post_login(client, "admin@example.vn", PASSWORD)  # even the right password waits
    # Times are stored to the second, so the wait left is the delay or a second less.
    assert locked.status_code == 429 and locked.headers["Retry-After"] in ("1", "2")
    assert f"thử lại sau {locked.headers['Retry-After']} giây" in locked.get_data(as_text=True)
    with app.app_context():
        storage = get_storage()
        assert storage.count("failed_logins") == 5  # the refused try was never hashed nor logged
        # Let the first delay pass: one more try is allowed, and its failure doubles the wait.
        three_seconds_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=3)
        storage.update_where("failed_logins", {"at": three_seconds_ago.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert _post_login(client, "admin@example.vn", "wrong again!!").status_code == 400
    again = _post_login(client, "admin@example.vn", PASSWORD)
    assert again.status_code == 429 and again.headers["Retry-After"] in ("3", "4")


def test_failed_logins_are_audited_without_addresses_or_e_mails(app, world, client):
    client.environ_base["REMOTE_ADDR"] = "203.0.113.77"
    _post_login(client, "admin@example.vn", "wrong password!")
    _post_login(client, "nobody@example.vn", "wrong password!")
    _post_login(client, "gateway@example.vn", PASSWORD)
    with app.app_context():
        rows = get_storage().find("failed_logins")
    assert [(r["user_id"], r["reason"]) for r in rows] == [
        (world.users["admin"], "wrong_password"), (None, "unknown_email"),
        (world.users["gateway"], "role_cannot_sign_in")]
    assert len({r["net_hash"] for r in rows}) == 1
    stored = " ".join(str(v) for r in rows for v in r.values())
    assert "203.0.113" not in stored and "example.vn" not in stored


def test_one_network_guessing_many_accounts_is_throttled(app, world):
    app.config["LOGIN_LIMITS"] = {"per_network": 3}
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    for n in range(3):
        assert _post_login(client, f"user{n}@example.vn", "wrong password!").status_code == 400
    assert _post_login(client, "admin@example.vn", PASSWORD).status_code == 429
    other = app.test_client()  # another network is not held back by this one
    other.environ_base["REMOTE_ADDR"] = "198.51.101.9"
    assert _post_login(other, "admin@example.vn", PASSWORD).status_code == 302


def test_a_login_flood_waits_on_the_password_pool_not_on_the_server(app, world):
    app.config["LOGIN_LIMITS"] = {"per_network": 1000, "per_account": 1000}
    app.extensions["password_checker"] = PasswordChecker(workers=1, queue=1)
    start = threading.Barrier(12)
    statuses: list[int] = []
    public: list[int] = []

    def guess(n: int) -> None:
        client = app.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        start.wait()
        response = client.post("/login", data={"email": f"u{n}@example.vn", "password": "wrong password!",
                                               "csrf_token": token})
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert response.headers["Retry-After"] == "2"

    def shopper() -> None:
        start.wait()
        public.append(app.test_client().get("/").status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(11)] + [threading.Thread(target=shopper)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert public == [200]
    assert len(statuses) == 11 and set(statuses) <= {400, 503}
    assert statuses.count(503) >= 1  # more than workers + queue at once: the surplus is turned away at once
    app.extensions["password_checker"].close()


def test_wrong_login_limits_stop_start_up(tmp_path, monkeypatch):
    import pytest

    from stamp_service import create_app

    monkeypatch.setenv("OCOP_STAMP_HOME", str(tmp_path / "x"))
    with pytest.raises(ValueError, match="LOGIN_LIMITS"):
        create_app({"TESTING": True, "LOGIN_LIMITS": {"per_acount": 5}})


def test_passwords_are_hashed_at_full_cost_outside_tests(app):
    from flask import Flask

    from stamp_service.auth.hashing import hash_password

    with app.app_context():  # TESTING: the same scheme, cheaper, so the test world builds fast
        assert hash_password("correct horse battery").startswith("scrypt:1024:8:1$")
    with Flask("production").app_context():
        assert hash_password("correct horse battery").startswith("scrypt:32768:8:1$")
    assert hash_password("correct horse battery").startswith("scrypt:32768:8:1$")  # no app at all: full cost
