"""Test databases on a PostgreSQL server, when OCOP_STAMP_TEST_DATABASE_URL names one (CI sets it; a machine
without PostgreSQL runs the SQLite cases and reports the PostgreSQL ones as skipped, with the reason)."""

from __future__ import annotations

import os
import uuid

import pytest

from stamp_service.storage import SQLiteStorage, open_storage

ENV = "OCOP_STAMP_TEST_DATABASE_URL"

postgres_only = pytest.mark.skipif(not os.environ.get(ENV), reason=f"PostgreSQL tests need {ENV}")


def pg_server_url() -> str | None:
    """The URL of a database on the test server (its maintenance database, e.g. .../postgres), or None."""
    return os.environ.get(ENV) or None


def _with_database(url: str, name: str) -> str:
    base, _, rest = url.rpartition("/")
    query = rest.partition("?")[2]
    return f"{base}/{name}" + (f"?{query}" if query else "")


def fresh_database(server_url: str, *, template: str | None = None) -> str:
    """Create a database of its own for one test (a copy of template if given); return its URL."""
    import psycopg

    name = f"ocop_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    return _with_database(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    """Drop a test's database, closing this process's pool of it first."""
    import psycopg

    from stamp_service.storage.postgres import close_pool

    close_pool(url)
    name = url.rpartition("/")[2].partition("?")[0]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=postgres_only)])
def storage(request, tmp_path):
    """An empty, migrated database on each back end."""
    if request.param == "sqlite":
        store = SQLiteStorage(str(tmp_path / "db.sqlite"), migrate=True)
        yield store
        store.close()
    else:
        yield request.getfixturevalue("pg_storage")


@pytest.fixture
def pg_storage():
    """An empty, migrated PostgreSQL database of its own (dropped afterwards)."""
    server = pg_server_url()
    if server is None:
        pytest.skip("OCOP_STAMP_TEST_DATABASE_URL is not set")
    url = fresh_database(server)
    store = open_storage(url, migrate=True)
    yield store
    store.close()
    drop_database(server, url)
