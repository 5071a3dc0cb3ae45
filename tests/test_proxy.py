"""Behind a reverse proxy (PROXY_COUNT=1), through waitress: each client's own network is recorded, the device
cookie is Secure when the proxy says the shopper came over TLS, and a client cannot choose its address."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import urlsplit

import pytest

from conftest import app_on_world
from stamp_service.context import get_storage
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing
from test_browser import live_server  # noqa: F401 - the waitress fixture, used below

CLIENTS = ["127.10.0.2", "127.20.0.2", "127.30.0.2", "127.40.0.2", "127.50.0.2"]  # five /24s on loopback


@pytest.fixture(params=[1, 0], ids=["behind-proxy", "no-proxy-configured"])
def app(request, world_template, tmp_path, monkeypatch):
    """The service, told there is one proxy in front of it, or none."""
    return app_on_world(world_template(), tmp_path / "instance", monkeypatch, {"PROXY_COUNT": request.param})


@pytest.fixture
def proxy(live_server: str) -> Iterator[str]:  # noqa: F811
    """A minimal reverse proxy in front of waitress, as nginx would be: it sets X-Forwarded-For to the peer it
    sees (appending to whatever the client sent) and X-Forwarded-Proto to https (TLS ends here)."""
    upstream = urlsplit(live_server)

    class Forward(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            sent = headers.pop("X-Forwarded-For", None)
            headers["X-Forwarded-For"] = f"{sent}, {self.client_address[0]}" if sent else self.client_address[0]
            headers["X-Forwarded-Proto"] = "https"
            conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=10)
            conn.request("GET", self.path, headers=headers)
            answer = conn.getresponse()
            body = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            conn.close()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _get(proxy: str, source: str, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    host, port = proxy.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10, source_address=(source, 0))
    conn.request("GET", path, headers=headers or {})
    answer = conn.getresponse()
    answer.read()
    conn.close()
    return answer


def test_each_client_is_seen_from_its_own_network_through_the_proxy(app, proxy):
    with app.app_context():
        run = issuing.get_run(get_storage(), app.world.run_a)
        serials = list(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"]))[:5]
    cookies = []
    for source, (_, text) in zip(CLIENTS, serials):
        # each client also claims to be 198.51.100.1: only a trusted proxy's word counts
        answer = _get(proxy, source, "/" + text.split("/", 3)[3], {"X-Forwarded-For": "198.51.100.1"})
        assert answer.status == 200
        cookies.append(answer.getheader("Set-Cookie"))
    with app.app_context():
        nets = {r["net_hash"] for r in get_storage().find("scans")}
    if app.config["PROXY_COUNT"]:
        assert len(nets) == 5  # five clients in five networks, not the proxy's one
        assert all("Secure" in c for c in cookies)  # the shopper came over TLS
    else:
        assert len(nets) == 1  # no proxy configured: the peer (the proxy here) is the client, headers ignored
        assert not any("Secure" in c for c in cookies)
