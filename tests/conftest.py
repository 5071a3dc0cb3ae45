"""Fixtures: an app on a temporary instance with two producers, their products and batches, and one user per role."""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import pytest
from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from PIL import Image
from werkzeug.routing.rules import Rule

from stamp_service import create_app
from stamp_service.auth import users
from stamp_service.context import get_storage
from stamp_service.inspection import cases, visits
from stamp_service.media import store_image
from stamp_service.portal.products import media_folder
from stamp_service.registry import batches, producers, products, recognitions
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from stamp_service.vn_time import today as vn_today

from databases import drop_database, fresh_database, pg_server_url, postgres_only

PASSWORD = "correct horse battery"
KEY_PASSPHRASE = "test-only key passphrase"
CONFIG = {"TESTING": True, "PUBLIC_HOST": "tem.example.vn", "KEY_PASSPHRASE": KEY_PASSPHRASE}


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


# --- the world, built once a session and copied for each test ------------------------------------------------


@dataclass(frozen=True)
class WorldTemplate:
    """An instance folder holding a built world (database, keys, media, secret key), never served from itself;
    with PostgreSQL, the world's database is a template database on the test server instead of the file."""

    folder: Path
    database: str  # the database file's name inside the folder
    world: World
    database_url: str | None = None  # PostgreSQL: the template database


def _days() -> tuple[dt.date, dt.date]:
    # the server's and Vietnam's dates: the world's dates are relative to them (build_world's today)
    return dt.date.today(), vn_today()


def build_template(folder: Path, backend: str = "sqlite") -> WorldTemplate:
    """Build the test world into an empty instance folder (and, for PostgreSQL, a template database), exactly as a
    test's own app would."""
    url = fresh_database(pg_server_url()) if backend == "postgresql" else None
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OCOP_STAMP_HOME", str(folder))
        application = create_app({**CONFIG, **({"DATABASE_URL": url} if url else {})})
        world = build_world(application)
    if url:
        from stamp_service.storage.postgres import close_pool

        close_pool(url)  # a template database must have no connections when it is copied
    database = Path(application.config["DATABASE"])
    assert database.parent == folder, "the world's database must live in its instance folder to be copied with it"
    return WorldTemplate(folder, database.name, world, url)


def materialise_world(template: WorldTemplate, instance: Path) -> tuple[World, dict[str, Any]]:
    """Copy the template's world into the instance folder (which must not exist yet); its ids, fresh, and the
    settings that point an app at the copy.

    The one place a back end copies a world: SQLite copies the file through the backup API, which reads a
    consistent snapshot even while the template's connection (kept by its thread) holds its WAL open;
    PostgreSQL makes a database with CREATE DATABASE ... TEMPLATE (a file-level copy on the server).
    """
    sqlite_files = {template.database, f"{template.database}-wal", f"{template.database}-shm"}
    # copy2 and copystat keep the modes: the secret key 0600, the key and instance folders 0700, as made.
    shutil.copytree(template.folder, instance, ignore=lambda _dir, names: [n for n in names if n in sqlite_files])
    world = copy.deepcopy(template.world)  # tests may add to their World (test_roles' artwork)
    if template.database_url:
        template_name = template.database_url.rpartition("/")[2]
        return world, {"DATABASE_URL": fresh_database(pg_server_url(), template=template_name)}
    source = sqlite3.connect(f"file:{template.folder / template.database}?mode=ro", uri=True)
    target = sqlite3.connect(instance / template.database)
    try:
        with target:
            source.backup(target)
    finally:
        source.close()
        target.close()
    return world, {}


@pytest.fixture(scope="session")
def world_template(tmp_path_factory) -> Callable[[], WorldTemplate]:
    """world_template() -> the session's built world, rebuilt when the day has changed since (a world built
    before midnight has yesterday's batches and recognitions, not what a test's own world would have)."""
    built: dict[tuple[dt.date, dt.date, str], WorldTemplate] = {}

    def current(backend: str = "sqlite") -> WorldTemplate:
        key = (*_days(), backend)
        if key not in built:
            for old in [k for k in built if k[2] == backend]:
                _drop_template(built.pop(old))
            built[key] = build_template(tmp_path_factory.mktemp("world") / "instance", backend)
        return built[key]

    current()  # now, as session fixtures come first: before any test's own fixtures change the environment
    yield current
    for template in built.values():
        _drop_template(template)


def _drop_template(template: WorldTemplate) -> None:
    if template.database_url:
        drop_database(pg_server_url(), template.database_url)


class SharedTemplateCode(BytecodeCache):
    """Jinja's compiled templates kept for the whole session, so each test's app loads them instead of compiling
    them again (compiling was a page test's largest cost). Jinja checks each entry against the template's source."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = SharedTemplateCode()


def app_on_world(template: WorldTemplate, instance: Path, monkeypatch, config: Mapping[str, Any] = ()) -> Flask:
    """The service started on a fresh copy of the template world in instance, with config added to the tests'."""
    world, database = materialise_world(template, instance)
    monkeypatch.setenv("OCOP_STAMP_HOME", str(instance))
    application = create_app({**CONFIG, **database, **dict(config)})
    application.jinja_env.bytecode_cache = TEMPLATE_CODE
    application.world = world
    return application


def _reuse_url_builders() -> None:
    """Share werkzeug's generated URL builders between the apps of a session.

    Every create_app compiles two Python functions per route (werkzeug's Rule._compile_builder: an AST built
    and compiled each time), which was most of what a test's app cost. A builder is a pure function of the
    rule's text and parse (converters are looked up on the bound rule when it runs), so one compiled per rule
    serves every app. Rules with defaults are left alone: their builders fold a converted default in.
    """
    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:  # another werkzeug: no sharing, only slower
        return
    builders: dict[tuple[Any, ...], Any] = {}

    def shared(self: Rule, append_unknown: bool = True):
        if self.defaults:
            return compile_builder(self, append_unknown)
        key = (self.rule, self.host, self.subdomain, self.merge_slashes, tuple(self._trace), append_unknown)
        if key not in builders:
            builders[key] = compile_builder(self, append_unknown)
        return builders[key]

    Rule._compile_builder = shared  # type: ignore[method-assign]


_reuse_url_builders()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=postgres_only)])
def backend(request) -> str:
    """The storage back end a test runs on: every test that uses the app runs on SQLite and, when
    OCOP_STAMP_TEST_DATABASE_URL names a server, again on PostgreSQL (in a database of its own), unless it is
    marked sqlite_only (it reads SQLite's own files, pragmas or query plans)."""
    if request.param == "postgresql" and request.node.get_closest_marker("sqlite_only"):
        pytest.skip("about SQLite's own files, pragmas or query plans")
    return request.param


@pytest.fixture
def app(world_template, backend, tmp_path, monkeypatch):
    """The service on a fresh instance folder in tmp_path, with (a copy of) the test world loaded."""
    application = app_on_world(world_template(backend), tmp_path / "instance", monkeypatch)
    yield application
    url = application.config.get("DATABASE_URL")
    if url:
        drop_database(pg_server_url(), url)


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


@pytest.fixture(scope="session")
def session_chromium() -> Iterator[Any]:
    """One headless chromium for the whole session: launching it cost a second or two per browser test.

    Tests get it through test_browser.browser, which gives each its own contexts and closes them after it.
    """
    from test_browser import launched_chromium  # the browser tests' module owns chromium's set-up

    with launched_chromium() as launched:
        yield launched
