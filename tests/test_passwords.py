"""Passwords: the office's one-time reset link (expiring, single use, stored hashed, revokes sessions) and a
user's own change (needs the current password, throttled like signing in, ends the other sign-ins)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from conftest import PASSWORD, Session, csrf_from
from stamp_service.auth import clock, resets
from stamp_service.context import get_storage
from stamp_service.registry.fields import ValidationError

NEW = "mật khẩu mới đủ dài 2026"


def make_link(admin: Session, user_id: int) -> str:
    """The admin makes a reset link on the user's page; the path it shows."""
    page = admin.post(f"/portal/users/{user_id}/reset-link")
    assert page.status_code == 200, page.status_code
    url = re.search(r'<code class="wrap" id="reset-url">([^<]+)</code>', page.get_data(as_text=True))[1]
    assert url.startswith("http") and "/password/reset/" in url
    return "/" + url.split("/", 3)[3]


def reset(client, path: str, new: str, repeat: str | None = None):
    page = client.get(path)
    token = csrf_from(page.get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, "new_password": new,
                                   "new_password_repeat": new if repeat is None else repeat})


def signs_in(app, email: str, password: str) -> bool:
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token}).status_code == 302


def test_the_office_hands_over_a_one_time_link_and_the_user_sets_a_new_password(app, world, login):
    producer = login("producer_a")  # signed in elsewhere (a copied cookie, a shared computer)
    assert producer.get("/portal/").status_code == 200
    admin = login("admin")
    edit = admin.get(f"/portal/users/{world.users['producer_a']}/edit").get_data(as_text=True)
    assert f'action="/portal/users/{world.users["producer_a"]}/reset-link"' in edit
    path = make_link(admin, world.users["producer_a"])
    token = path.rsplit("/", 1)[1]
    with app.app_context():
        row, = get_storage().find("password_resets")
        assert token not in str(row.values()) and row["token_hash"] != token  # stored hashed only
        expires = clock.parse(row["expires_at"]) - clock.now()
        assert dt.timedelta(hours=23) < expires <= dt.timedelta(hours=24)
        assert row["created_by"] == world.users["admin"]

    visitor = app.test_client()
    form = visitor.get(path)
    assert form.status_code == 200 and form.headers["Referrer-Policy"] == "no-referrer"
    assert 'id="f-new_password"' in form.get_data(as_text=True)
    short = reset(visitor, path, "ngắn")
    assert short.status_code == 400
    assert re.search(r'id="e-new_password">Mật khẩu cần ít nhất 10 ký tự', short.get_data(as_text=True))
    differ = reset(visitor, path, NEW, NEW + "x")
    assert differ.status_code == 400
    assert 'id="e-new_password_repeat">Hai lần nhập mật khẩu mới không giống nhau' in differ.get_data(as_text=True)
    assert NEW not in differ.get_data(as_text=True)  # never echoed back
    done = reset(visitor, path, NEW)
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")

    assert producer.get("/portal/").status_code == 302  # the earlier sign-in was revoked
    assert signs_in(app, "producer_a@example.vn", NEW) and not signs_in(app, "producer_a@example.vn", PASSWORD)
    again = app.test_client().get(path)
    assert again.status_code == 404 and "đã được dùng" in again.get_data(as_text=True)


def test_a_link_expires_and_a_newer_link_cancels_the_older(app, world, login):
    admin = login("admin")
    first = make_link(admin, world.users["inspector"])
    second = make_link(admin, world.users["inspector"])
    assert app.test_client().get(first).status_code == 404
    assert app.test_client().get(second).status_code == 200
    with app.app_context():
        get_storage().update_where("password_resets", {"expires_at": clock.stamp(clock.now() - dt.timedelta(seconds=1))},
                                   user_id=world.users["inspector"], used_at=None)
    expired = app.test_client().get(second)
    assert expired.status_code == 404 and "hết hạn" in expired.get_data(as_text=True)
    assert signs_in(app, "inspector@example.vn", PASSWORD)


def test_a_link_works_once_even_when_used_twice_at_the_same_time(app, world):
    with app.app_context():
        storage = get_storage()
        link = resets.create(storage, world.users["producer_b"], created_by=world.users["admin"])
        resets.use(storage, link.token, NEW, NEW)
        with pytest.raises(ValidationError) as refused:
            resets.use(storage, link.token, "một mật khẩu khác nữa", "một mật khẩu khác nữa")
        assert "token" in refused.value.fields
        assert resets.live(storage, link.token) is None
        assert resets.live(storage, "x" * 500) is None and resets.live(storage, "") is None


def test_a_disabled_account_cannot_be_reset_and_bad_tokens_get_a_clear_page(app, world, login):
    admin = login("admin")
    path = make_link(admin, world.users["producer_b"])
    with app.app_context():
        get_storage().update("users", world.users["producer_b"], {"disabled": 1})
    assert app.test_client().get(path).status_code == 404
    for bad in ("abc", "x" * 300, "%00"):
        page = app.test_client().get(f"/password/reset/{bad}")
        assert page.status_code == 404 and "Liên kết đặt lại mật khẩu không hợp lệ" in page.get_data(as_text=True)
    assert app.test_client().post("/password/reset/abc", data={"new_password": NEW}).status_code in (400, 404)
    assert login("producer_a").post(f"/portal/users/{world.users['producer_b']}/reset-link").status_code == 403
    assert admin.post("/portal/users/99999/reset-link").status_code == 404


def test_a_user_changes_their_own_password_and_other_sign_ins_end(app, world, login):
    other = login("inspector")  # the same account on another phone
    me = login("inspector")
    assert 'href="/portal/password"' in me.get("/portal/").get_data(as_text=True)
    wrong = me.post("/portal/password", {"current_password": "không phải", "new_password": NEW,
                                         "new_password_repeat": NEW})
    assert wrong.status_code == 400
    assert 'id="e-current_password">Mật khẩu hiện tại không đúng' in wrong.get_data(as_text=True)
    with app.app_context():
        failed = get_storage().find("failed_logins", user_id=world.users["inspector"])
    assert [f["reason"] for f in failed] == ["wrong_current_password"]
    differ = me.post("/portal/password", {"current_password": PASSWORD, "new_password": NEW,
                                          "new_password_repeat": "khác hẳn nhau luôn"})
    assert differ.status_code == 400 and "e-new_password_repeat" in differ.get_data(as_text=True)
    assert signs_in(app, "inspector@example.vn", PASSWORD)  # nothing changed yet

    done = me.post("/portal/password", {"current_password": PASSWORD, "new_password": NEW,
                                        "new_password_repeat": NEW})
    assert done.status_code == 302
    home = me.get("/portal/")
    assert home.status_code == 200 and "Đã đổi mật khẩu" in home.get_data(as_text=True)  # still signed in here
    assert other.get("/portal/").status_code == 302  # the other phone is signed out
    assert signs_in(app, "inspector@example.vn", NEW) and not signs_in(app, "inspector@example.vn", PASSWORD)


def test_guessing_the_current_password_is_throttled_like_signing_in(app, world, login):
    # The first wait is a minute here (2 s by default), so a loaded machine cannot outlast it between two requests.
    app.config["LOGIN_LIMITS"] = {"base_seconds": 60}
    me = login("producer_a")
    guesses = [me.post("/portal/password", {"current_password": f"đoán lần {i}", "new_password": NEW,
                                            "new_password_repeat": NEW}) for i in range(6)]
    assert [g.status_code for g in guesses[:5]] == [400] * 5
    assert guesses[5].status_code == 429 and int(guesses[5].headers["Retry-After"]) > 0
    assert "Vui lòng thử lại sau" in guesses[5].get_data(as_text=True)
    # Even the right password waits now, and nothing was changed.
    right = me.post("/portal/password", {"current_password": PASSWORD, "new_password": NEW,
                                         "new_password_repeat": NEW})
    assert right.status_code == 429
    assert signs_in(app, "producer_a@example.vn", PASSWORD) is False  # sign-in shares the account's throttle
    with app.app_context():
        assert get_storage().count("failed_logins", user_id=world.users["producer_a"]) == 5
    assert me.client.post("/portal/password", data={"current_password": PASSWORD}).status_code == 400  # no CSRF
