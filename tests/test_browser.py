"""A real browser on a phone-sized screen: sign in, create a batch, see field errors, and stay on our own host.

The app runs under the production server (waitress, started through stamp_service.server.serve) on a free
port of 127.0.0.1, and Debian's chromium drives it through Playwright (which cannot download its own browsers
here). Without chromium the test is skipped, except in CI (the CI variable set), where it fails.
Full-page screenshots go to test-artifacts/ at the repository root for a human to look at.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import queue
import re
import shutil
import socket
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import pytest
import waitress
from waitress import wasyncore

from conftest import PASSWORD
from stamp_service import server as production_server
from stamp_service.context import get_storage

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # the "test" extra is not installed
    sync_playwright = None  # type: ignore[assignment]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    # Hermetic: any host but the test server fails to resolve, so a stray outside request shows up as failed.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "vi-VN"}
TIMEOUT_MS = 10_000


def running_in_ci() -> bool:
    """CI runs set CI (to "true"); an empty, "0" or "false" value counts as not set."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(what: str, install: str) -> None:
    """Skip when something the browser test needs is missing, but fail in CI, where it must run."""
    if running_in_ci():
        pytest.fail(f"{what} is required in CI for the browser test: {install}", pytrace=False)
    pytest.skip(f"{what} not found, browser test skipped; to run it, {install}")


# --- the production server in a thread ---------------------------------------------------------------------


DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an http_proxy


def wait_until_serving(base_url: str, deadline_s: float = 10.0) -> None:
    """Poll until the server accepts connections and answers a page, or fail."""
    deadline = time.monotonic() + deadline_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with DIRECT.open(f"{base_url}/login", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError as exc:  # connection refused / reset while starting
            last = exc
        time.sleep(0.05)
    pytest.fail(f"the waitress server at {base_url} did not answer within {deadline_s} s: {last}")


@pytest.fixture
def live_server(app, monkeypatch) -> Iterator[str]:
    """The app served by stamp_service.server.serve (waitress) on 127.0.0.1 and a free port; yields the base URL.

    serve() blocks until interrupted, so waitress.serve is given a server factory that hands the server object
    back to us (waitress's own test hooks _server/_quiet): everything else is the production code path, with
    its threads, ident and body-size limit.
    """
    made: queue.Queue[Any] = queue.Queue()
    sockets: dict[int, Any] = {}  # the server's socket map: its listening socket, trigger and connections

    def create_server(application, **kw):
        server = waitress.create_server(application, map=sockets, **kw)
        made.put(server)
        return server

    monkeypatch.setattr(production_server, "waitress_serve",
                        functools.partial(waitress.serve, _server=create_server, _quiet=True))

    def run() -> None:
        try:
            production_server.serve(app, "127.0.0.1", 0, threads=4)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            made.put(exc)
            raise

    thread = threading.Thread(target=run, name="waitress-live-server", daemon=True)
    thread.start()
    server = made.get(timeout=10)
    if isinstance(server, BaseException):
        pytest.fail(f"waitress did not start: {server!r}")
    host, port = server.effective_host, int(server.effective_port)  # getnameinfo: the port is a string
    base_url = f"http://{host}:{port}"
    wait_until_serving(base_url)
    try:
        yield base_url
    finally:
        # Close every socket from inside the server's own loop (thread-safe), which then ends as its map is empty.
        server.trigger.pull_trigger(functools.partial(wasyncore.close_all, sockets))
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()
        assert not thread.is_alive(), "the waitress loop did not stop"
        with socket.socket() as probe:
            assert probe.connect_ex((host, port)) != 0, f"port {port} still accepts connections after shutdown"


# --- the browser -------------------------------------------------------------------------------------------


def chromium_path() -> str:
    """Debian's chromium (skip without it; fail in CI)."""
    if sync_playwright is None:
        missing("the playwright package", "pip install -e '.[test]'")
    path = shutil.which("chromium")
    if path is None:
        missing("chromium", "install Debian's chromium package: apt-get install chromium")
    return path


@pytest.fixture
def chromium_executable() -> str:
    """Debian's chromium (skip without it; fail in CI)."""
    return chromium_path()


@contextlib.contextmanager
def launched_chromium() -> Iterator[Any]:
    """Debian's headless chromium, allowed to resolve only the test server (127.0.0.1)."""
    path = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Phone:
    """A page in a phone-sized context, with everything it requested and every error it logged."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.requests: list[str] = []  # every URL the pages requested (Playwright does not see /favicon.ico)
        self.failed: list[str] = []  # requests without an answer (refused, blocked, unresolvable host)
        self.http_errors: list[str] = []  # "status METHOD url" of answers >= 400
        self.load_errors: list[tuple[str, str]] = []  # (url, message) of the console's "Failed to load resource"
        self.console_errors: list[str] = []  # everything else logged as an error: CSP violations, script errors
        # Network requests only: Chromium's own pages (its PDF viewer loads chrome://resources/...) are not hosts.
        page.context.on("request", lambda r: self.requests.append(r.url) if r.url.startswith(("http:", "https:", "ws:"))
                        else None)
        page.context.on("requestfailed", self._failed)
        page.context.on("response", lambda r: self.http_errors.append(f"{r.status} {r.request.method} {r.url}")
                        if r.status >= 400 else None)
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.console_errors.append(f"uncaught: {e}"))

    def _failed(self, request: Any) -> None:
        # Chromium drops a page's favicon request when the next navigation starts before it is done: not a failure;
        # nor are its own pages' resources (chrome://, its PDF viewer's).
        if request.url.endswith("/static/favicon.svg") and request.failure == "net::ERR_ABORTED":
            return
        if not request.url.startswith(("http:", "https:", "ws:")):
            return
        self.failed.append(f"{request.url}: {request.failure}")

    def _console(self, message) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if message.text.startswith("Failed to load resource"):
            self.load_errors.append((url, message.text))
        else:
            self.console_errors.append(f"{message.text} ({url})")

    def shot(self, name: str) -> None:
        """A full-page screenshot into test-artifacts/phone-<name>.png."""
        screenshots("phone")(self.page, name)

    def assert_no_sideways_scroll(self, where: str) -> None:
        """The page fits the phone's width: nothing to scroll horizontally.

        Compared with the screen's width, not window.innerWidth: on a mobile viewport Chromium widens the layout
        viewport (and innerWidth) to fit content that overflows, so scrollWidth <= innerWidth would always hold.
        Measured once the page has loaded: a page still fetching its stylesheet after a form post lays out
        unstyled (a photo at its natural width).
        """
        self.page.wait_for_load_state()
        size = self.page.evaluate(
            """() => {
              const width = document.documentElement.clientWidth;
              const over = el => el.getBoundingClientRect().right > width + 0.5;
              // the innermost elements that stick out: the likely culprits, not every ancestor they widen
              const wide = [...document.querySelectorAll("body *")]
                .filter(el => over(el) && ![...el.children].some(over))
                .map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
                           + (typeof el.className === "string" && el.className
                              ? "." + el.className.trim().split(/ +/).join(".") : "")
                           + " right=" + Math.round(el.getBoundingClientRect().right))
                .filter((label, i, all) => all.indexOf(label) === i)
                .slice(0, 8);
              return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth, width, wide};
            }"""
        )
        screen = PHONE["viewport"]["width"]
        assert size["width"] == screen, f"{where}: the page is laid out {size['width']} px wide on a {screen} px screen"
        assert size["scroll"] <= screen and size["inner"] <= screen, (
            f"{where}: the page scrolls sideways on a {screen} px wide phone (scrollWidth {size['scroll']}, "
            f"innerWidth {size['inner']}); too wide: {size['wide']}")


@pytest.fixture
def browser(session_chromium, live_server) -> Iterator[Any]:
    """The session's headless chromium (conftest.session_chromium), for this test's server; every context the
    test opens (its own cookies, storage and cache: its own phone) is closed after it, so none outlives it."""
    before = set(session_chromium.contexts)
    try:
        yield session_chromium
    finally:
        for context in session_chromium.contexts:
            if context not in before:
                context.close()


@pytest.fixture
def phone(browser, live_server) -> Iterator[Phone]:
    """A headless chromium page with a 360x740 phone screen in Vietnamese, pointed at the live server."""
    context = browser.new_context(base_url=live_server, **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield Phone(context.new_page(), live_server)
    finally:
        context.close()


# --- the test ----------------------------------------------------------------------------------------------


def sign_in(page: Page, who: str) -> None:
    """Sign in on the login page as a fixture user ("producer_a", "inspector") and land on the role's start page
    (the inspection page for an inspector, the portal for the others)."""
    answer = page.goto("/login")
    if page.locator("#f-email").count() == 0:  # say what came instead of timing out on the missing field
        pytest.fail(f"/login answered {answer.status if answer else 'nothing'} at {page.url}: "
                    f"{page.locator('body').inner_text()[:400]!r}")
    page.locator("#f-email").fill(f"{who}@example.vn")
    page.locator("#f-password").fill(PASSWORD)
    page.locator("main form").get_by_role("button", name="Đăng nhập").tap()
    page.wait_for_url(re.compile(r"/inspect/$" if who == "inspector" else r"/portal/?$"))


def screenshots(prefix: str) -> Callable[[Page, str], None]:
    """shot(page, name): a full-page screenshot into test-artifacts/<prefix>-<name>.png, to look at."""

    def shot(page: Page, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{prefix}-{name}.png"), full_page=True)

    return shot


def wait_for_image(image: Any) -> None:
    """Wait until an <img> locator has loaded a picture (polls DOM properties: no script eval, which our CSP forbids)."""
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("i => i.naturalWidth") > 0, "the image loaded but is empty or broken"


def batch_count(app) -> int:
    with app.app_context():
        return get_storage().count("batches")


def submit_form(page: Page) -> int:
    """Tap the form's save button; the HTTP status of the POST it sent."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("main form").get_by_role("button", name="Lưu", exact=True).tap()
    page.wait_for_load_state()
    return answer.value.status


def assert_field_error(page: Page, name: str, message: str) -> None:
    """The field shows its error right under itself, tied to it for screen readers."""
    field = page.locator(f"#f-{name}")
    error = page.locator(f".field.has-error:has(#f-{name}) > #e-{name}")
    expect(error).to_be_visible()
    expect(error).to_have_text(message)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", f"e-{name}")
    error.scroll_into_view_if_needed()
    box_field, box_error = field.bounding_box(), error.bounding_box()
    assert box_field and box_error
    gap = box_error["y"] - (box_field["y"] + box_field["height"])
    assert 0 <= gap < 80, f"the error for {name} is {gap:.0f} px from its field, not next to it"
    screen = PHONE["viewport"]["width"]
    assert box_error["x"] >= 0 and box_error["x"] + box_error["width"] <= screen, f"the error for {name} is off screen"


def test_producer_creates_a_batch_on_a_phone(phone: Phone, live_server: str, app) -> None:
    page, world = phone.page, app.world
    today = dt.date.today()
    made, expiry = today - dt.timedelta(days=2), today + dt.timedelta(days=363)
    before = batch_count(app)

    # Sign in: the page speaks Vietnamese to a vi-VN phone.
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("heading", name="Đăng nhập", level=1)).to_be_visible()
    phone.assert_no_sideways_scroll("login")
    phone.shot("01-login")
    page.locator("#f-email").fill("producer_a@example.vn")
    page.locator("#f-password").fill(PASSWORD)
    page.locator("main form").get_by_role("button", name="Đăng nhập").tap()

    # The overview, in Vietnamese, with the site's own stylesheet applied.
    expect(page).to_have_url(re.compile(r"/portal/?$"))
    expect(page.get_by_role("heading", name="Tổng quan", level=1)).to_be_visible()
    menu = page.get_by_role("navigation", name="Menu chính")
    for item in ("Tổng quan", "Chủ thể của tôi", "Sản phẩm", "Lô sản xuất"):
        expect(menu.get_by_role("link", name=item, exact=True)).to_be_visible()
    # signing out sits apart from the menu links, on the line naming the user, so a mis-tap cannot hit it
    expect(menu.get_by_role("button", name="Đăng xuất")).to_have_count(0)
    expect(page.locator(".who").get_by_role("button", name="Đăng xuất")).to_be_visible()
    expect(page.locator("header.top")).to_have_css("background-color", "rgb(11, 107, 58)")
    expect(page.locator(".who")).to_contain_text("producer_a@example.vn")
    phone.assert_no_sideways_scroll("overview")
    phone.shot("02-overview")

    # The new-batch form. The origin picker is left as the page offers it: an empty commune means the
    # producer's own commune (checked in the database below).
    page.get_by_role("link", name="Tạo lô sản xuất").tap()
    expect(page).to_have_url(re.compile(r"/portal/batches/new$"))
    expect(page.get_by_role("heading", name="Tạo lô sản xuất", level=1)).to_be_visible()
    expect(page.locator("#f-province_code")).to_be_visible()
    expect(page.locator("#f-origin_commune_code")).to_have_value("06978")  # the producer's own commune, pre-filled
    expect(page.locator("#f-province_code")).to_have_value("22")
    phone.assert_no_sideways_scroll("new batch form")

    # The form filled in as a producer would (lower-case lot: it is stored upper-case).
    page.locator("#f-product_id").select_option(label="Trà hoa vàng")
    page.locator("#f-lot").fill("bc-2026-11")
    page.locator("#f-production_date").fill(made.isoformat())
    page.locator("#f-expiry_date").fill(expiry.isoformat())
    page.locator("#f-quantity").fill("1200")
    page.locator("#f-notes").fill("Lô thử nghiệm trên điện thoại")
    page.locator("#f-notes").blur()
    phone.shot("03-form-filled")

    # Error 1, no lot: the form comes back (400) with the error under the lot field, the other values kept.
    page.locator("#f-lot").fill("")
    assert submit_form(page) == 400
    assert_field_error(page, "lot", "Bắt buộc nhập.")
    expect(page.get_by_role("alert")).to_contain_text("Dữ liệu chưa hợp lệ.")
    expect(page.locator(".field.has-error")).to_have_count(1)
    expect(page.locator("#f-product_id option:checked")).to_have_text("Trà hoa vàng")
    expect(page.locator("#f-production_date")).to_have_value(made.isoformat())
    expect(page.locator("#f-expiry_date")).to_have_value(expiry.isoformat())
    expect(page.locator("#f-quantity")).to_have_value("1200")
    expect(page.locator("#f-notes")).to_have_value("Lô thử nghiệm trên điện thoại")
    phone.assert_no_sideways_scroll("form with a lot error")
    phone.shot("04-error-lot")
    assert batch_count(app) == before, "a form with errors saved a batch"

    # Error 2: expiry before production.
    page.locator("#f-lot").fill("bc-2026-11")
    page.locator("#f-expiry_date").fill((made - dt.timedelta(days=1)).isoformat())
    assert submit_form(page) == 400
    assert_field_error(page, "expiry_date", "Hạn sử dụng phải sau ngày sản xuất.")
    expect(page.locator(".field.has-error")).to_have_count(1)
    phone.assert_no_sideways_scroll("form with an expiry error")
    phone.shot("05-error-expiry")
    assert batch_count(app) == before, "a form with errors saved a batch"

    # Corrected and saved: the batch page shows the lot upper-cased and "Đã lưu.".
    page.locator("#f-expiry_date").fill(expiry.isoformat())
    assert submit_form(page) == 302
    expect(page).to_have_url(re.compile(r"/portal/batches/(\d+)$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Số lô BC-2026-11")
    expect(page.get_by_role("status")).to_have_text("Đã lưu.")
    expect(page.locator("dl.facts")).to_contain_text("Trà hoa vàng")
    expect(page.locator("dl.facts")).to_contain_text("1200")
    phone.assert_no_sideways_scroll("batch page")
    phone.shot("06-batch")

    # Really in the database, as the producer entered it.
    with app.app_context():
        rows = get_storage().find("batches", lot="BC-2026-11")
    assert len(rows) == 1 and batch_count(app) == before + 1
    row = rows[0]
    assert page.url.endswith(f"/portal/batches/{row['id']}")
    assert (row["product_id"], row["quantity"], row["origin_commune_code"]) == (world.product_a, 1200, "06978")
    assert (str(row["production_date"]), str(row["expiry_date"])) == (made.isoformat(), expiry.isoformat())
    assert row["created_by"] == world.users["producer_a"]

    # Every request went to the test server, none failed, and the pages logged no errors (CSP included).
    ours = urlsplit(live_server).netloc
    seen = phone.requests + [url for url, _ in phone.load_errors]
    elsewhere = [url for url in seen if urlsplit(url).netloc != ours]
    assert not elsewhere, f"requests to other hosts: {elsewhere}"
    assert any(url.endswith("/static/portal.css") for url in phone.requests)
    assert any(url.endswith("/static/places.js") for url in phone.requests)
    assert not phone.failed, f"failed requests: {phone.failed}"
    assert phone.http_errors == [f"400 POST {live_server}/portal/batches/new"] * 2, phone.http_errors
    # The two rejected forms; and Chromium asks for /favicon.ico, which the portal does not have (a 404).
    unexpected = [(url, text) for url, text in phone.load_errors
                  if not (urlsplit(url).path == "/portal/batches/new" and "400" in text)
                  and not (urlsplit(url).path == "/favicon.ico" and "404" in text)]
    assert not unexpected, f"resources that failed to load: {unexpected}"
    assert not phone.console_errors, f"console errors: {phone.console_errors}"
