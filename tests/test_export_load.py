"""Slow readers of large exports, through the production server (waitress), cannot starve the shoppers' page.

Eight clients open a run's codes and read them a kilobyte at a time. Without export limits they hold every
server thread and a shopper's verification waits until it times out (the finding this reproduces); with the
default limits three of them stream, the rest get 429 at once, and shoppers are answered.

waitress buffers up to 16 MB of a response before its thread waits for the reader, so in production a slow
reader holds a thread on a run of about 50,000 codes; here the buffers are scaled down with the run (64 KB, and a
32 KB socket buffer, for 3,000 codes) so the test takes seconds, not minutes. Everything else is the production code path."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.parse
import pytest
import waitress

from conftest import app_on_world
from stamp_service.context import get_storage
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from test_browser import DIRECT, live_server  # noqa: F401 - the waitress fixture, used below

READERS = 8
CODES = 3_000
SHOPPER_TIMEOUT_S = 4.0


def _app(template, tmp_path, monkeypatch, export_limits: dict[str, int]):
    application = app_on_world(template, tmp_path / "instance", monkeypatch, {"EXPORT_LIMITS": export_limits})
    with application.app_context():
        application.large_run = issuing.issue_run(get_storage(), keystore(application), application.world.batch_a,
                                                  CODES, issuer="VN", host="tem.example.vn")["id"]
    return application


@pytest.fixture(params=["default-limits", "no-limits"])
def app(request, world_template, tmp_path, monkeypatch):
    """The service with the default export limits, or with limits high enough to be none (the old behaviour)."""
    limits = {} if request.param == "default-limits" else {"per_user": READERS, "total": READERS}
    return _app(world_template(), tmp_path, monkeypatch, limits)


@pytest.fixture
def small_buffers(monkeypatch) -> None:
    """waitress's output buffer and the kernel's send buffer scaled down to the test's run (requested before the
    server starts; connections inherit the listening socket's buffer size)."""
    make = waitress.create_server

    def create_server(application, **kw):
        server = make(application, outbuf_high_watermark=64 * 1024, **kw)
        server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024)
        return server

    monkeypatch.setattr(waitress, "create_server", create_server)


@pytest.fixture
def server(small_buffers, live_server) -> str:  # noqa: F811 - live_server is the imported fixture
    """The served app's base URL."""
    return live_server


def _slow_reader(base: str, token: str, run_id: int, stop: threading.Event, statuses: list[int]) -> None:
    """GET the run's codes on a socket with a small receive buffer, then read 1 KB every 100 ms until told."""
    parts = urllib.parse.urlsplit(base)
    with socket.socket() as sock:
        sock.settimeout(5)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((parts.hostname, parts.port))
        sock.sendall(f"GET /api/v1/runs/{run_id}/codes HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n".encode())
        try:
            head = sock.recv(1024)
        except TimeoutError:
            statuses.append(0)  # no thread was free to answer
            return
        statuses.append(int(head.split(b" ", 2)[1]))
        try:
            while not stop.is_set() and sock.recv(1024):
                time.sleep(0.1)
        except TimeoutError:
            pass


def _shopper_waits(base: str, code: str) -> float | None:
    """Seconds until a shopper's verification answered 200, or None if it did not within the timeout."""
    started = time.monotonic()
    try:
        with DIRECT.open(f"{base}/api/v1/verify?{urllib.parse.urlencode({'code': code})}",
                         timeout=SHOPPER_TIMEOUT_S) as answer:
            assert answer.status == 200
    except (TimeoutError, urllib.error.URLError, socket.timeout):
        return None
    return time.monotonic() - started


def test_slow_export_readers_do_not_starve_shoppers(app, server) -> None:
    world, stop, statuses = app.world, threading.Event(), []
    tokens = [world.tokens["producer_a"], world.tokens["admin"]] * (READERS // 2)  # two accounts, as an attacker has
    readers = [threading.Thread(target=_slow_reader, args=(server, token, app.large_run, stop, statuses), daemon=True)
               for token in tokens]
    for reader in readers:
        reader.start()
    try:
        time.sleep(1.5)  # the streaming ones fill the buffers and their threads wait for their readers
        waits: list[float | None] = []
        while len(waits) < 5 and None not in waits:
            waits.append(_shopper_waits(server, "000 001-3"))
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=10)
    assert _shopper_waits(server, "000 001-3") is not None, "the threads did not come back when the readers left"

    if app.config["EXPORT_LIMITS"]:  # the finding, reproduced: every thread streams to a slow reader
        threads = 4  # live_server's waitress
        assert sorted(statuses) == [0] * (READERS - threads) + [200] * threads, statuses
        assert None in waits, f"shoppers were answered although every thread was streaming: {waits}"
    else:
        assert sorted(statuses) == [200] * 3 + [429] * (READERS - 3), statuses
        assert None not in waits and max(waits) < 2.0, f"a shopper waited: {waits}"
