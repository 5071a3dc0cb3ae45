"""A read-only, full or locked database: scans answer a clear 503 with Retry-After (never a traceback), and
/readyz says not-ready while /healthz stays green. Real SQLite files: query_only (tests may run as root, where
chmod does not stop writes), a tiny max_page_count for a full disk, a second connection holding the write lock."""

from __future__ import annotations

import os
import sqlite3
from urllib.parse import quote

import pytest

from stamp_service.context import get_storage
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.storage import SQLiteStorage


@pytest.fixture
def code(app, world) -> str:
    """The QR text of run A's first stamp."""
    with app.app_context():
        run = issuing.get_run(get_storage(), world.run_a)
        return next(iter(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"])))[1]


_phones = iter(range(1, 250))


def phone(app, **headers):
    """A new shopper on a network of their own (the same household reloading is a view, not a new scan)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"198.51.{next(_phones)}.7"  # networks are counted per /24
    return client


def page_path(code: str) -> str:
    return "/" + code.split("/", 3)[3]


@pytest.fixture
def db(app):
    """The raw SQLite connection the test client's requests use (one per thread, reused), restored after."""
    with app.app_context():
        conn = get_storage().db.conn
    yield conn
    conn.execute("PRAGMA query_only = OFF")
    conn.execute("PRAGMA busy_timeout = 10000")


def assert_clear_503(response, *, json: bool = False) -> None:
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "sqlite" not in body.lower() and "readonly" not in body
    if json:
        assert response.is_json and response.get_json()["error"]


@pytest.mark.sqlite_only  # SQLite's own file and locks
def test_a_read_only_database_gives_503_in_the_shoppers_language_and_readyz_fails(app, code, db) -> None:
    client = app.test_client()
    assert phone(app).get(page_path(code)).status_code == 200
    db.execute("PRAGMA query_only = ON")
    vi = phone(app).get(page_path(code))
    assert_clear_503(vi)
    assert "Vui lòng thử lại sau ít phút" in vi.get_data(as_text=True)
    en = phone(app).get(page_path(code), headers={"Accept-Language": "en"})
    assert_clear_503(en)
    assert "Please try again in a few minutes" in en.get_data(as_text=True)
    assert_clear_503(phone(app).get(f"/api/v1/verify?code={quote(code)}"), json=True)
    assert client.get("/healthz").status_code == 200  # alive, but not ready
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "not-ready", "checks": {"database": "read_only", "disk": "ok"}}
    assert app.instance_path not in ready.get_data(as_text=True)
    db.execute("PRAGMA query_only = OFF")
    assert client.get("/readyz").get_json() == {"status": "ready"}
    assert phone(app).get(page_path(code)).status_code == 200


@pytest.mark.sqlite_only  # SQLite's own file and locks
def test_a_full_disk_gives_503(app, code, db) -> None:
    assert phone(app).get(page_path(code)).status_code == 200
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0] + 1}")
    # Copies of that scan until no page is left, so the next scan cannot fit in a page's leftover space either.
    columns = ", ".join(sorted(SQLiteStorage(app.config["DATABASE"]).columns("scans") - {"id"}))
    with pytest.raises(sqlite3.OperationalError, match="full"):
        for _ in range(100_000):
            db.execute(f"INSERT INTO scans ({columns}) SELECT {columns} FROM scans ORDER BY id LIMIT 1")
    db.commit()
    assert_clear_503(phone(app).get(page_path(code)))
    assert_clear_503(phone(app).get(f"/api/v1/verify?code={quote(code)}"), json=True)


@pytest.mark.sqlite_only  # SQLite's own file and locks
def test_a_write_lock_held_past_the_busy_timeout_gives_503(app, code, db) -> None:
    client = app.test_client()
    db.execute("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(app.config["DATABASE"])
    other.execute("BEGIN IMMEDIATE")  # a long writer elsewhere
    try:
        assert_clear_503(phone(app).get(page_path(code)))
    finally:
        other.rollback()
        other.close()
    assert phone(app).get(page_path(code)).status_code == 200


def test_readyz_fails_when_free_disk_space_is_below_the_floor(app) -> None:
    client = app.test_client()
    assert client.get("/readyz").get_json() == {"status": "ready"}
    app.config["READY_MIN_FREE_MB"] = os.statvfs(app.instance_path).f_bavail * os.statvfs(app.instance_path).f_frsize
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"] == {"database": "ok", "disk": "low"}
