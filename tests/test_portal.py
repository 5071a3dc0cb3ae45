"""The portal as a user meets it: sign-in, CSRF, forms that re-show with errors and never half-save."""

from __future__ import annotations

import io

from conftest import PASSWORD, csrf_from

from stamp_service.context import get_storage


def test_login_logout_and_next(client, app):
    page = client.get("/portal/products")
    assert page.status_code == 302 and "/login?next=/portal/products" in page.headers["Location"]
    token = csrf_from(client.get("/login").get_data(as_text=True))
    bad = client.post("/login", data={"email": "admin@example.vn", "password": "wrong", "csrf_token": token})
    assert bad.status_code == 400 and "Sai thư điện tử hoặc mật khẩu" in bad.get_data(as_text=True)
    ok = client.post("/login?next=/portal/products", data={"email": "ADMIN@example.vn", "password": PASSWORD,
                                                           "csrf_token": token})
    assert ok.status_code == 302 and ok.headers["Location"] == "/portal/products"
    assert client.get("/portal/products").status_code == 200
    token = csrf_from(client.get("/portal/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/portal/").status_code == 302


def test_an_inspector_lands_on_the_inspection_page(app):
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": "inspector@example.vn", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/inspect/"
    assert client.get("/login").headers["Location"] == "/inspect/"  # signed in already
    nexted = app.test_client()
    token = csrf_from(nexted.get("/login").get_data(as_text=True))
    response = nexted.post("/login?next=/inspect/visits", data={"email": "inspector@example.vn", "password": PASSWORD,
                                                                "csrf_token": token})
    assert response.headers["Location"] == "/inspect/visits"  # a page asked for still wins


def test_login_refuses_offsite_next(app):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        client = app.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        response = client.post(f"/login?next={target}", data={"email": "admin@example.vn", "password": PASSWORD,
                                                                "csrf_token": token})
        assert response.headers["Location"] == "/portal/", target


def test_post_without_csrf_token_is_refused(login, app):
    session = login("admin")
    before = get_count(app, "producers")
    response = session.client.post("/portal/producers/new", data={"name": "X", "type": "cooperative",
                                                                   "commune_code": "06978"})
    assert response.status_code == 400
    assert "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)
    assert get_count(app, "producers") == before


def test_disabled_user_cannot_sign_in_or_keep_session(login, app, world):
    session = login("producer_a")
    with app.app_context():
        get_storage().update("users", world.users["producer_a"], {"disabled": 1})
    assert session.get("/portal/").status_code == 302
    fresh = login(None)
    token = csrf_from(fresh.get("/login").get_data(as_text=True))
    response = fresh.client.post("/login", data={"email": "producer_a@example.vn", "password": PASSWORD,
                                                 "csrf_token": token})
    assert response.status_code == 400


def get_count(app, table: str) -> int:
    with app.app_context():
        return get_storage().count(table)


def test_producer_form_reshows_errors_and_saves_nothing(login, app):
    session = login("admin")
    before = get_count(app, "producers")
    response = session.post("/portal/producers/new", {"name": "", "type": "cooperative", "province_code": "22",
                                                      "commune_code": "", "email": "nope"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="e-name"' in html and "Bắt buộc nhập." in html and 'id="e-email"' in html
    assert "Xã Ba Chẽ" in html  # the chosen province's communes are listed
    assert get_count(app, "producers") == before


def test_commune_must_belong_to_the_chosen_province(login, app):
    session = login("admin")
    response = session.post("/portal/producers/new", {"name": "HTX A", "type": "cooperative", "province_code": "86",
                                                      "commune_code": "06978"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Hãy chọn một xã của tỉnh đã chọn" in html and "Xã Cầu Ngang" in html
    ok = session.post("/portal/producers/new", {"name": "HTX A", "type": "cooperative", "province_code": "86",
                                                "commune_code": "29416"})
    assert ok.status_code == 302


def test_product_with_broken_image_is_not_saved(login, app, world):
    session = login("admin")
    before = get_count(app, "products")
    response = session.post("/portal/products/new", {
        "producer_id": str(world.producer_a), "name": "Trà mới", "product_group": "drinks",
        "image": (io.BytesIO(b"GIF89a not really"), "x.png")}, content_type="multipart/form-data")
    assert response.status_code == 400 and 'id="e-image"' in response.get_data(as_text=True)
    assert get_count(app, "products") == before


def test_oversized_upload_is_413(login, app, world):
    session = login("admin")
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    response = session.post("/portal/products/new", {
        "producer_id": str(world.producer_a), "name": "Trà", "product_group": "drinks",
        "image": (io.BytesIO(b"\0" * 20_000), "big.png")}, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "quá lớn" in response.get_data(as_text=True)


def test_producer_creates_batch_and_cannot_touch_others(login, app, world):
    session = login("producer_a")
    form = session.get("/portal/batches/new").get_data(as_text=True)
    assert "Trà hoa vàng" in form and "Chả mực" not in form
    response = session.post("/portal/batches/new", {"product_id": str(world.product_a), "lot": "bc-01",
                                                    "production_date": "20/11/2026", "quantity": "300",
                                                    "province_code": "22", "origin_commune_code": "06978"})
    assert response.status_code == 302
    page = session.get(response.headers["Location"]).get_data(as_text=True)
    assert "BC-01" in page and "Xã Ba Chẽ, Tỉnh Quảng Ninh" in page and "20/11/2026" in page
    stolen = session.post("/portal/batches/new", {"product_id": str(world.product_b), "lot": "X",
                                                  "production_date": "2026-11-20", "quantity": "1"})
    assert stolen.status_code == 400
    assert session.get(f"/portal/batches/{world.batch_b}").status_code == 404
    assert session.post(f"/portal/batches/{world.batch_b}/edit", {"quantity": "1"}).status_code == 404


def test_duplicate_lot_is_a_field_error(login, world):
    session = login("producer_a")
    response = session.post("/portal/batches/new", {"product_id": str(world.product_a), "lot": "a-001",
                                                    "production_date": "2026-11-20", "quantity": "3"})
    assert response.status_code == 400 and 'id="e-lot"' in response.get_data(as_text=True)


def test_admin_records_recognition_and_revokes(login, app, world):
    session = login("admin")
    response = session.post(f"/portal/products/{world.product_a}/recognitions/new", {
        "stars": "5", "decision_number": "9/QĐ-BNN", "decision_date": "2026-10-01", "issuing_body": "Bộ NN&MT",
        "level": "national"})
    assert response.status_code == 302
    page = session.get(f"/portal/products/{world.product_a}").get_data(as_text=True)
    assert "5 sao OCOP" in page and "Đã được thay thế" in page and "01/10/2029" in page
    with app.app_context():
        rec = get_storage().find_one("recognitions", decision_number="9/QĐ-BNN")
    assert session.post(f"/portal/recognitions/{rec['id']}/revoke", {"reason": ""}).status_code == 400
    assert session.post(f"/portal/recognitions/{rec['id']}/revoke", {"reason": "Vi phạm"}).status_code == 302
    assert "Bị thu hồi" in session.get(f"/portal/products/{world.product_a}").get_data(as_text=True)


def test_admin_creates_user_with_hashed_password(login, app, world):
    session = login("admin")
    response = session.post("/portal/users/new", {"email": "New@Example.vn", "role": "producer",
                                                  "producer_id": str(world.producer_b), "password": "short"})
    assert response.status_code == 400 and "ít nhất 10" in response.get_data(as_text=True)
    response = session.post("/portal/users/new", {"email": "New@Example.vn", "role": "producer",
                                                  "producer_id": str(world.producer_b), "password": "long enough pw"})
    assert response.status_code == 302
    with app.app_context():
        row = get_storage().find_one("users", email="new@example.vn")
    assert row["password_hash"].startswith("scrypt:") and "long enough pw" not in row["password_hash"]


def test_language_switch_and_accept_language(client):
    assert "Đăng nhập" in client.get("/login").get_data(as_text=True)
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    response = client.get("/lang/en?next=/login")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "Sign in" in client.get("/login").get_data(as_text=True)
    assert client.get("/lang/fr").status_code == 404


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert "HttpOnly" in client.get("/lang/en").headers["Set-Cookie"]


def test_dashboard_lists_certificates_needing_attention(login, app, world):
    import datetime as dt

    from stamp_service.registry import recognitions

    with app.app_context():
        recognitions.create(get_storage(), {"product_id": world.product_b, "stars": 3, "level": "province",
                                            "issuing_body": "UBND", "decision_number": "5",
                                            "decision_date": (dt.date.today() - dt.timedelta(days=1080)).isoformat()})
    page = login("inspector").get("/portal/").get_data(as_text=True)
    assert "Chả mực" in page and "Hết hạn sau" in page
