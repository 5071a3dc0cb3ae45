"""Several nodes, one PostgreSQL database: `ocop-stamp serve` processes on different ports (one of them with
gunicorn's --workers) serve the same service; a stamp issued through one verifies through the other, and a node
killed with SIGKILL under load loses no scan and doubles none."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from databases import drop_database, fresh_database, pg_server_url, postgres_only

pytestmark = postgres_only

PASSPHRASE = "two nodes, one database, one passphrase"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "stamp_service.cli", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def _get(url: str, token: str | None = None, *, method: str = "GET", body: dict | None = None,
         timeout: float = 10) -> tuple[int, dict]:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _text(url: str, token: str) -> str:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


class Node:
    """One `ocop-stamp serve` process with its own instance folder (nothing shared but the configuration)."""

    def __init__(self, env: dict[str, str], *extra: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "stamp_service.cli", "serve", "--port", str(self.port),
                                      *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _get(self.url + "/readyz", timeout=2)[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"node on {self.port} did not become ready: {self.proc.stdout.read().decode()[-2000:]}")

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two nodes on one fresh database, each with its own instance folder; both share only the configuration:
    DATABASE_URL, SECRET_KEY, the key passphrase and the public host. Node b runs two gunicorn workers."""
    tmp_path = tmp_path_factory.mktemp("nodes")
    server = pg_server_url()
    url = fresh_database(server)

    def env_for(name: str) -> dict[str, str]:
        return {**os.environ, "OCOP_STAMP_HOME": str(tmp_path / name), "OCOP_STAMP_DATABASE_URL": url,
                "OCOP_STAMP_SECRET_KEY": "s" * 64, "OCOP_STAMP_KEY_PASSPHRASE": PASSPHRASE,
                "OCOP_STAMP_PUBLIC_HOST": "tem.example.vn"}

    env_a, env_b = env_for("node-a"), env_for("node-b")
    _cli(env_a, "init", "--demo")
    nodes: list[Node] = []
    try:
        nodes.append(Node(env_a))
        nodes.append(Node(env_b, "--workers", "2", "--threads", "4"))
        yield {"a": nodes[0], "b": nodes[1], "env_a": env_a, "env_b": env_b, "url": url}
    finally:
        for node in nodes:
            node.stop()
        drop_database(server, url)


def _token(env: dict[str, str]) -> str:
    return _cli(env, "token", "create", "admin@demo.ocop.vn", "--label", "nodes").strip().splitlines()[-1]


def _issue_through(node: Node, token: str) -> str:
    """Issue a run of 3 stamps through a node; its first QR text."""
    status, runs = _get(f"{node.url}/api/v1/runs", token)
    assert status == 200 and runs["items"]
    batch_id = runs["items"][0]["batch_id"]
    status, run = _get(f"{node.url}/api/v1/batches/{batch_id}/runs", token, method="POST", body={"count": 3})
    assert status == 201, run
    return _text(f"{node.url}/api/v1/runs/{run['id']}/codes", token).splitlines()[0]


def test_a_stamp_issued_through_one_node_verifies_through_the_other(cluster):
    a, b = cluster["a"], cluster["b"]
    token = _token(cluster["env_b"])  # a token made on one machine works on every node: it lives in the database
    code = _issue_through(a, token)
    status, answer = _get(f"{b.url}/api/v1/verify?code={quote(code)}")
    assert status == 200 and answer["verdict"] in ("genuine", "not-activated"), answer
    status, again = _get(f"{a.url}/api/v1/verify?code={quote(code)}")
    assert again["scan_count"] == answer["scan_count"] + 1  # both nodes write to and read from one table


def test_a_node_killed_under_load_loses_no_scan_and_doubles_none(cluster):
    from stamp_service.storage import open_storage

    a, b = cluster["a"], cluster["b"]
    code = _issue_through(a, _token(cluster["env_a"]))
    storage = open_storage(cluster["url"])
    before = storage.count("scans")
    outcomes = {"ok": 0, "refused": 0, "unknown": 0}
    lock = threading.Lock()
    stop = threading.Event()

    def shopper(i: int) -> None:
        n = 0
        while not stop.is_set():
            node = (a, b)[(i + n) % 2]
            n += 1
            try:
                status, _ = _get(f"{node.url}/api/v1/verify?code={quote(code)}", timeout=15)
                kind = "ok" if status == 200 else "unknown"
            except ConnectionRefusedError:
                kind = "refused"  # never sent: cannot have been recorded
            except (urllib.error.URLError, OSError) as exc:
                refused = isinstance(getattr(exc, "reason", None), ConnectionRefusedError)
                kind = "refused" if refused else "unknown"  # sent, answer lost: recorded or not
            with lock:
                outcomes[kind] += 1

    threads = [threading.Thread(target=shopper, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(3)
    b.kill()  # SIGKILL to gunicorn's master and both workers, mid-request
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join(30)
    recorded = storage.count("scans") - before
    storage.close()
    print(f"killed node b under load: {outcomes}, scans recorded {recorded}")
    assert outcomes["ok"] > 50 and outcomes["refused"] > 0, outcomes
    # every answered scan is in the table; nothing is in it twice (at most the answers lost in flight)
    assert outcomes["ok"] <= recorded <= outcomes["ok"] + outcomes["unknown"], (recorded, outcomes)
    assert _get(f"{a.url}/readyz")[0] == 200  # the surviving node serves on
