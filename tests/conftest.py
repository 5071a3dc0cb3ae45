"""Fixtures: an app on a temporary instance with two producers, their products and batches, and one user per role."""

from __future__ import annotations

import datetime as dt
import os
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from stamp_service import create_app
from stamp_service.auth import users
from stamp_service.context import get_storage
from stamp_service.inspection import cases, visits
from stamp_service.media import store_image
from stamp_service.portal.products import media_folder
from stamp_service.registry import batches, producers, products, recognitions
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing

PASSWORD = "correct horse battery"
KEY_PASSPHRASE = "test-only key passphrase"


@dataclass
class World:
    """The ids of the records the fixture made."""

    producer_a: int
    producer_b: int
    product_a: int
    product_b: int
    recognition_a: int
    batch_a: int
    batch_b: int
    run_a: int
    users: dict[str, int]
    tokens: dict[str, str]
    first_serial: int = 0
    visit: int = 0
    case: int = 0
    case_photo: str = ""


def _png() -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 160, 20)).save(buf, "PNG")
    buf.seek(0)
    return buf


def build_world(app) -> World:
    """Fill the app's database with a small, known registry."""
    with app.app_context():
        s = get_storage()
        pa = producers.create(s, {"name": "HTX Trà hoa vàng Ba Chẽ", "type": "cooperative", "id_type": "tax_code",
                                  "id_value": "5701998233", "commune_code": "06978"})
        pb = producers.create(s, {"name": "Cơ sở Chả mực Hạ Long", "type": "household", "commune_code": "06688"})
        prod_a = products.create(s, {"producer_id": pa["id"], "name": "Trà hoa vàng", "product_group": "drinks"})
        prod_b = products.create(s, {"producer_id": pb["id"], "name": "Chả mực", "product_group": "food"})
        image = store_image(_png(), media_folder(), max_pixels=10**7)
        products.set_image(s, prod_a["id"], image)
        today = dt.date.today()
        keystore(app).generate()
        rec_a = recognitions.create(s, {"product_id": prod_a["id"], "stars": 4, "level": "province",
                                        "issuing_body": "UBND tỉnh Quảng Ninh", "decision_number": "1/QĐ-UBND",
                                        "decision_date": (today - dt.timedelta(days=100)).isoformat()})
        ba = batches.create(s, {"product_id": prod_a["id"], "lot": "A-001", "production_date": today.isoformat(),
                                "quantity": 2_000_000})
        bb = batches.create(s, {"product_id": prod_b["id"], "lot": "B-001", "production_date": today.isoformat(),
                                "quantity": 50})
        run_a = issuing.issue_run(s, keystore(app), ba["id"], 20, issuer="VN", host=app.config["PUBLIC_HOST"])
        ids, tokens = {}, {}
        for name, role, producer in (("admin", "admin", None), ("inspector", "inspector", None),
                                     ("producer_a", "producer", pa["id"]), ("producer_b", "producer", pb["id"]),
                                     ("gateway", "gateway", None)):
            row = users.create(s, {"email": f"{name}@example.vn", "role": role, "producer_id": producer,
                                   "password": PASSWORD})
            ids[name] = row["id"]
            tokens[name] = users.create_token(s, row["id"], "tests")
        visit = visits.start(s, {"shop": "Cửa hàng đặc sản Hạ Long", "province_code": "22"},
                             inspector_id=ids["inspector"])
        case = cases.create(s, {"kind": "batch", "batch_id": bb["id"], "title": "Tem photocopy chợ Hạ Long"},
                            user_id=ids["inspector"])
        photo = store_image(_png(), Path(app.instance_path) / "media" / "cases", max_pixels=10**7)
        s.insert("case_photos", {"case_id": case["id"], "file": photo})
        return World(pa["id"], pb["id"], prod_a["id"], prod_b["id"], rec_a["id"], ba["id"], bb["id"], run_a["id"], ids,
                     tokens, run_a["first_serial"], visit["id"], case["id"], photo)


@pytest.fixture
def app(tmp_path, monkeypatch):
    """The service on a fresh instance folder in tmp_path, with the test world loaded."""
    monkeypatch.setenv("OCOP_STAMP_HOME", str(tmp_path / "instance"))
    extra = {}
    url = os.environ.get("OCOP_STAMP_TEST_DATABASE_URL")
    if url:
        extra["DATABASE_URL"] = _fresh_database(url)
    application = create_app({"TESTING": True, "PUBLIC_HOST": "tem.example.vn", "KEY_PASSPHRASE": KEY_PASSPHRASE,
                              **extra})
    application.world = build_world(application)
    yield application
    if url:
        from stamp_service.storage.postgres import close_pool
        close_pool(extra["DATABASE_URL"])
        _drop_database(url, extra["DATABASE_URL"])


def _fresh_database(server_url):
    import uuid
    import psycopg
    name = f"ocop_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + "/" + name


def _drop_database(server_url, url):
    import psycopg
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


@pytest.fixture
def world(app) -> World:
    """The ids of the test records."""
    return app.world


@pytest.fixture
def client(app):
    """A test client (anonymous until it logs in)."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner bound to the app."""
    return app.test_cli_runner()


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match[1]


class Session:
    """A signed-in browser-like client that fills in the CSRF token for form posts."""

    def __init__(self, client, email: str | None) -> None:
        self.client = client
        self.token = ""
        if email:
            self.token = csrf_from(client.get("/login").get_data(as_text=True))
            response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": self.token})
            assert response.status_code == 302, response.get_data(as_text=True)
            self.token = csrf_from(client.get("/portal/").get_data(as_text=True))

    def get(self, url: str, **kw: Any):
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any):
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kw)


@pytest.fixture
def login(app):
    """login('admin') -> a Session signed in as that fixture user (a fresh client each time)."""
    return lambda who: Session(app.test_client(), f"{who}@example.vn" if who else None)


@pytest.fixture
def api(app):
    """api('admin') -> a function (method, url, **kw) sending that user's bearer token."""

    def make(who: str | None):
        client = app.test_client()
        headers = {"Authorization": f"Bearer {app.world.tokens[who]}"} if who else {}

        def call(method: str, url: str, **kw: Any):
            return client.open(url, method=method, headers={**headers, **kw.pop("headers", {})}, **kw)

        return call

    return make
