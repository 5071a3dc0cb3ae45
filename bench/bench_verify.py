#!/usr/bin/env python3
"""Verification under load: the real production server (waitress) answering stamp scans, against its own
trivial route, with every scan record accounted for.

A benchmark, not a test: it asserts nothing about speed. The machine is shared and noisy, so what it reports
is same-run ratios. Each round sends the same number of requests at the same concurrency to each route, the
routes one after the other in an order that rotates from round to round; the table shows the median (and
range) over rounds of each route's requests/second and of the per-round ratio route ÷ /healthz.

Set-up, all in a temporary directory: a fresh instance (OCOP_STAMP_HOME) built by
stamp_service.create_app(KEY_PASSPHRASE=..., PUBLIC_HOST=127.0.0.1:<port>), one producer, product, valid
4-star recognition and batch made through stamp_service.registry, a passphrase-encrypted key, one run of
--stamps stamps (issuing.issue_run) and their QR texts (issuing.codes).

Server: waitress, the production server, in a SEPARATE process: `python bench/bench_verify.py --_serve SPEC`
builds the app from the same instance and calls stamp_service.server.serve(app, "127.0.0.1", port,
threads=--threads). One process, --threads waitress worker threads (default 8, the server's default).

Load: closed loop from --procs generator processes (default 2, so the client is not held back by one GIL),
--concurrency keep-alive connections in all, loopback only, a fixed number of requests per route and round
and a time limit per phase; it stops by itself. Routes:

* GET /healthz                 the same app's trivial route (the baseline),
* GET /S/<digits>              the page a QR code opens: a different genuine stamp each request (each
                               connection has its own stamps and a fixed device cookie ocop_d=..., so every
                               stamp is only ever scanned by one device and copy detection stays quiet),
* GET /api/v1/verify?code=...  the JSON API with the stamp's full QR text, round robin over the stamps.

Counted: requests/second, latency, errors (connection errors, non-200, a page without a verdict banner, an API
answer without a verdict), the verdict mix, server and client CPU per request (/proc), and afterwards, with
the server stopped, the rows of `scans` against the verification requests sent: in total and per
(serial, source), so that a lost and a duplicated record cannot cancel out.

A "client ceiling" phase sends the /healthz-shaped load to a static responder (a tiny threaded server in
another process answering a canned response as large as the verification page): a lower bound of what the
load generator can do, to show the client is not the bottleneck.

--profile then restarts the server twice more on the same instance: once with per-phase timers (thread CPU
and wall time of each step of a request), once under cProfile (one profiler per worker thread and route),
and prints where a verification request's time goes.

Run from the repository root:  python bench/bench_verify.py [--requests 500] [--concurrency 16]
[--threads 8] [--rounds 5] [--json] [--profile]    (about 30 s with the defaults on a shared 2-core machine;
--profile adds about 15 s)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import functools
import html
import io
import json
import multiprocessing as mp
import os
import platform
import pstats
import re
import secrets
import signal
import socket
import socketserver
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from importlib import metadata
from typing import Any

PASSPHRASE = "benchmark passphrase, not a secret"
TARGET_RATIO = 0.5
USER_AGENT = "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
ROUTES = ("healthz", "page", "api")
LABEL = {"healthz": "GET /healthz", "page": "GET /S/<digits>", "api": "GET /api/v1/verify?code=",
         "static": "static responder"}
SOURCE = {"page": "qr", "api": "api"}  # scans.source of each verification route


# =========================================================================== the instance


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_instance(home: str, port: int, n_stamps: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A fresh instance with one certified product's batch, a key, and a run of n_stamps; their QR texts (extra:
    more configuration, e.g. DATABASE_URL)."""
    os.environ["OCOP_STAMP_HOME"] = home
    from stamp_service import create_app
    from stamp_service.context import get_storage
    from _world import certified_batch  # bench/ is on sys.path when a benchmark runs as a script
    from stamp_service.signing_keys import keystore
    from stamp_service.stamps import issuing

    # Every request comes from loopback, one network: lift the per-network limits, which would otherwise (rightly)
    # answer this load with 429.
    config = {"KEY_PASSPHRASE": PASSPHRASE, "PUBLIC_HOST": f"127.0.0.1:{port}",
              "VERIFY_LIMITS": {"per_network": 10**9, "fresh_per_network": 10**9, "per_device": 10**9}, **(extra or {})}
    app = create_app(config)
    with app.app_context():
        s = get_storage()
        batch = certified_batch(s, n_stamps)
        store = keystore(app)
        store.generate()
        run = issuing.issue_run(s, store, batch["id"], n_stamps, issuer=app.config["ISSUER"],
                                host=app.config["PUBLIC_HOST"])
        codes = list(issuing.codes(run, store, app.config["PUBLIC_HOST"]))
        if s.count("scans"):
            raise RuntimeError("a fresh instance should have no scans")
    return {"config": config, "database": app.config["DATABASE"], "codes": codes,
            "secret": app.config["SECRET_KEY"]}


# =========================================================================== the server process


class Server:
    """waitress serving the app in a separate process (`--_serve`); mode plain, phases or cprofile."""

    def __init__(self, home: str, config: dict[str, Any], port: int, threads: int, mode: str = "plain",
                 workers: int = 1, busy_handler: bool = False) -> None:
        self.port, self.mode = port, mode
        self.out = os.path.join(home, f"server-{mode}-{port}.out")
        self.log_path = os.path.join(home, f"server-{mode}-{port}.log")
        spec = {"config": config, "port": port, "threads": threads, "mode": mode, "out": self.out,
                "workers": workers, "busy_handler": busy_handler}
        env = {**os.environ, "OCOP_STAMP_HOME": home}
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--_serve", json.dumps(spec)],
                                     env=env, cwd=home, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                    sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
                                 .encode())
                    if sock.recv(64).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not answer within 60 s:\n{self.log_text()}")
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """CPU of the server and of its worker processes (gunicorn's), those alive now."""
        return proc_cpu_seconds(self.proc.pid) + sum(proc_cpu_seconds(pid) for pid in child_pids(self.proc.pid))

    def stop(self) -> Any:
        """Stop the server; in the phases and cprofile modes it writes its measurements first (SIGTERM)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if self.mode != "plain" and os.path.exists(self.out):
            with open(self.out, "rb") as fh:
                return json.loads(fh.read())
        return None

    def log_text(self) -> str:
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as fh:
            return fh.read().decode("utf-8", "replace")

    def log_summary(self) -> dict[str, int]:
        text = self.log_text()
        return {"tracebacks": text.count("Traceback (most recent call last)"),
                "queue_depth_warnings": text.count("Task queue depth is"),
                "lines": len(text.splitlines())}


class Phases:
    """Thread CPU time and wall time per step of a request, summed over all worker threads (server side)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        self.local = threading.local()

    def add(self, name: str, cpu: float, wall: float) -> None:
        route = getattr(self.local, "route", "other")
        with self.lock:
            t = self.totals[f"{route}|{name}"]
            t[0] += 1
            t[1] += cpu
            t[2] += wall

    def wrap(self, name: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            c0, w0 = time.thread_time(), time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(name, time.thread_time() - c0, time.perf_counter() - w0)
        return timed

    def patch(self, owner: Any, attr: str, name: str) -> None:
        setattr(owner, attr, self.wrap(name, getattr(owner, attr)))


def route_of(path: str) -> str:
    if path.startswith("/api/v1/verify"):
        return "api"
    if path.startswith(("/S/", "/s/")):
        return "page"
    if path == "/healthz":
        return "healthz"
    return "other"


def install_phase_timers(phases: Phases) -> None:
    """Wrap each step of a verification (bench-only instrumentation in the server process; before create_app,
    so hooks the app registers by reference are the wrapped ones)."""
    from stamp_service import app as app_module
    from stamp_service import http_headers, keystore
    from stamp_service.auth import access
    from stamp_service.stamps import issuing
    from stamp_service.storage import SQLiteStorage as Storage
    from stamp_service.verification import checker, copy_detection, scans
    from stamp_service.verification import requests as verify_requests
    from verify_web import pages

    phases.patch(access, "enforce", "before_request access.enforce (loads identity)")
    phases.patch(Storage, "__init__", "Storage() open connection + PRAGMAs")
    phases.patch(Storage, "close", "Storage.close")
    phases.patch(app_module, "close_storage", "teardown close_storage")
    phases.patch(http_headers, "security_headers", "after_request security_headers")
    phases.patch(verify_requests, "keystore", "keystore() KeyStore object")
    phases.patch(keystore.KeyStore, "records", "KeyStore.records() reads key files")
    phases.patch(verify_requests, "copy_rules", "copy_rules() Rules.from_config")
    phases.patch(verify_requests, "scan_context", "scan_context() device + net hash")
    phases.patch(verify_requests, "throttle", "throttle() verification limits")
    phases.patch(checker, "verify", "checker.verify total")
    phases.patch(checker, "verify_stamp", "verify_stamp (decode + Ed25519)")
    phases.patch(checker, "_load_records", "_load_records (run, batch, product, producer, recognition)")
    phases.patch(checker, "_judge", "_judge total")
    phases.patch(issuing, "serial_state", "_judge: serial_state")
    phases.patch(Storage, "find_since", "_judge: find_since (7-day history)")
    phases.patch(Storage, "evidence_near", "_judge: evidence_near (neighbour serials)")
    phases.patch(copy_detection, "evaluate", "_judge: copy_detection.evaluate")
    phases.patch(scans, "record", "scans.record (INSERT + read back + tallies)")
    phases.patch(Storage, "count", "Storage.count (scan_count)")
    phases.patch(pages, "render_template", "render_template result.html")
    phases.patch(pages, "remember_device", "remember_device")

    from stamp_service.api import verify as api_verify
    phases.patch(api_verify, "outcome_json", "outcome_json")

    original = Storage.transaction

    class Timed:
        def __init__(self, cm: Any) -> None:
            self.cm = cm

        def __enter__(self) -> Any:
            c0, w0 = time.thread_time(), time.perf_counter()
            try:
                return self.cm.__enter__()
            finally:
                phases.add("transaction BEGIN IMMEDIATE (incl. lock wait)", time.thread_time() - c0,
                           time.perf_counter() - w0)

        def __exit__(self, *exc: Any) -> Any:
            c0, w0 = time.thread_time(), time.perf_counter()
            try:
                return self.cm.__exit__(*exc)
            finally:
                phases.add("transaction COMMIT", time.thread_time() - c0, time.perf_counter() - w0)

    def transaction(self: Any) -> Any:
        outermost = not self.db.conn.in_transaction
        cm = original(self)
        return Timed(cm) if outermost else cm

    Storage.transaction = transaction  # type: ignore[method-assign]


def serve_main(spec: dict[str, Any]) -> None:
    """The server process: the app from the instance in OCOP_STAMP_HOME, served by stamp_service.server.serve."""
    mode = spec["mode"]
    phases = Phases() if mode == "phases" else None
    if phases is not None:
        install_phase_timers(phases)

    from stamp_service import create_app
    from stamp_service.server import serve

    if spec.get("busy_handler"):  # the writer as it was: threads wait for SQLite's lock in its busy handler
        from stamp_service.storage import sqlite

        sqlite.writer_turn = lambda path: None  # type: ignore[assignment]
    app = create_app(spec["config"])
    inner = app.wsgi_app
    profilers: dict[tuple[int, str], cProfile.Profile] = {}
    lock = threading.Lock()

    if phases is not None:
        phases.totals.clear()  # start-up work (migrations check) is not a request

        def timed_app(environ: dict, start_response: Any) -> Any:
            phases.local.route = route_of(environ.get("PATH_INFO", ""))
            c0, w0 = time.thread_time(), time.perf_counter()
            try:
                return inner(environ, start_response)
            finally:
                phases.add("WSGI app total", time.thread_time() - c0, time.perf_counter() - w0)

        app.wsgi_app = timed_app  # type: ignore[method-assign]
    elif mode == "cprofile":
        def profiled_app(environ: dict, start_response: Any) -> Any:
            key = (threading.get_ident(), route_of(environ.get("PATH_INFO", "")))
            prof = profilers.get(key)
            if prof is None:
                prof = cProfile.Profile(time.thread_time)  # CPU of this thread: not GIL or lock waits
                with lock:
                    profilers[key] = prof
            prof.enable()
            try:
                return inner(environ, start_response)
            finally:
                prof.disable()

        app.wsgi_app = profiled_app  # type: ignore[method-assign]

    def finish(_signum: int, _frame: Any) -> None:
        result: dict[str, Any] = {}
        if phases is not None:
            with phases.lock:
                result["phases"] = {k: v for k, v in phases.totals.items()}
        if mode == "cprofile":
            for route in sorted({r for _, r in profilers}):
                path = f"{spec['out']}.{route}.prof"
                stats = pstats.Stats(*[p for (_, r), p in profilers.items() if r == route])
                stats.dump_stats(path)
                result.setdefault("profiles", {})[route] = path
        if mode != "plain":
            with open(spec["out"], "w") as fh:
                json.dump(result, fh)
        sys.stdout.flush()
        os._exit(0)

    if spec.get("workers", 1) > 1:  # gunicorn (bench_nodes): each worker builds its app after the fork
        from stamp_service.server import serve_workers

        serve_workers(app, lambda: create_app(spec["config"]), "127.0.0.1", spec["port"], workers=spec["workers"],
                      threads=spec["threads"])
        return
    signal.signal(signal.SIGTERM, finish)
    serve(app, "127.0.0.1", spec["port"], threads=spec["threads"])


# =========================================================================== the static responder


def static_main(port: int, response: bytes, ready: Any) -> None:
    """A tiny threaded HTTP/1.1 keep-alive responder with a canned response (for the client ceiling)."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                if not self.rfile.readline():
                    return
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                self.wfile.write(response)

    class TCPServer(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 128

    with TCPServer(("127.0.0.1", port), Handler) as server:
        ready.set()
        server.serve_forever()


# =========================================================================== the load generator


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is pid (from /proc)."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        children.append(int(entry))
    return children


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat (all cores, all processes)."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


def _verdict_names() -> dict[str, str]:
    from stamp_service.i18n import LANGUAGES, catalogs

    names: dict[str, list[str]] = defaultdict(list)
    for key in catalogs.keys():
        if key.startswith("verdict."):
            for lang in LANGUAGES:
                names[str(catalogs.text(key, lang))].append(key.split(".", 1)[1])
    return {text: "/".join(sorted(set(v))) for text, v in names.items()}


_BANNER = re.compile(rb'<section class="banner (\w+)"[^>]*>.*?<h1>(.*?)</h1>', re.S)


def _read_response(f: Any) -> tuple[int, bool, bytes]:
    line = f.readline(65537)
    if not line:
        raise ConnectionError("connection closed by the server")
    status = int(line.split(None, 2)[1])
    length, close, chunked = None, False, False
    while True:
        header = f.readline(65537)
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        parts = []
        while True:
            size = int(f.readline(65537).split(b";")[0], 16)
            if size == 0:
                while f.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                break
            parts.append(f.read(size))
            f.readline(65537)
        body = b"".join(parts)
    elif length is not None:
        body = f.read(length)
        if len(body) != length:
            raise ConnectionError("short body")
    else:
        body, close = f.read(), True
    return status, close, body


def _classify(kind: str, status: int, body: bytes, verdicts: dict[str, str]) -> tuple[str | None, int | None, str | None]:
    """(verdict, scan_id, error) of one answer."""
    if status != 200:
        return None, None, f"HTTP {status}"
    if kind == "page":
        match = _BANNER.search(body)
        if match is None:
            return None, None, "page without a verdict banner"
        text = html.unescape(match.group(2).decode("utf-8", "replace")).strip()
        return verdicts.get(text, f"? {text}"), None, None
    if kind == "api":
        try:
            data = json.loads(body)
            return data["verdict"], data.get("scan_id"), None
        except (ValueError, KeyError, TypeError):
            return None, None, "API answer without a verdict"
    return None, None, None


def _client_thread(port: int, items: list[tuple[bytes, str, int | None]], deadline: float,
                   out: list[tuple], verdicts: dict[str, str]) -> None:
    sock, f = None, None
    try:
        for request, kind, serial in items:
            if time.monotonic() > deadline:
                break
            t0 = time.perf_counter()
            try:
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    f = sock.makefile("rb", 65536)
                sock.sendall(request)
                status, close, body = _read_response(f)
            except (OSError, ValueError, IndexError) as exc:
                out.append((kind, serial, None, None, None, time.perf_counter() - t0,
                            f"{type(exc).__name__}: {exc}", 0))
                with contextlib.suppress(OSError):
                    if sock is not None:
                        sock.close()
                sock, f = None, None
                continue
            latency = time.perf_counter() - t0
            verdict, scan_id, error = _classify(kind, status, body, verdicts)
            out.append((kind, serial, status, verdict, scan_id, latency, error, len(body)))
            if close:
                sock.close()
                sock, f = None, None
    finally:
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


def generator_main(conn: Any) -> None:
    """A load generator process: runs the phases it is sent, one closed-loop thread per connection."""
    verdicts = _verdict_names()
    while True:
        message = conn.recv()
        if message is None:
            return
        ports, plans, time_limit = message  # one port per plan (connection)
        outs: list[list[tuple]] = [[] for _ in plans]
        deadline = time.monotonic() + time_limit
        threads = [threading.Thread(target=_client_thread, args=(port, plan, deadline, out, verdicts))
                   for port, plan, out in zip(ports, plans, outs)]
        cpu0 = time.process_time()
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        end = time.monotonic()
        conn.send({"start": start, "end": end, "cpu": time.process_time() - cpu0,
                   "results": [r for out in outs for r in out], "planned": sum(len(p) for p in plans)})


class Load:
    """The generator processes and the requests they send."""

    def __init__(self, procs: int, concurrency: int, codes: list[tuple[int, str]], time_limit: float,
                 cookies: Any) -> None:
        from stamp_service.verification.identity import Device

        self.concurrency, self.time_limit = concurrency, time_limit
        ctx = mp.get_context("fork")
        self.pipes, self.procs = [], []
        for _ in range(procs):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=generator_main, args=(child,), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
        # One device per connection, each a signed cookie of its own household (all connections come from one
        # loopback network, where fresh visitors would be one household); the stamps are dealt out to
        # connections, so each stamp has one device.
        self.devices = [cookies.value(Device(secrets.token_urlsafe(16), "n:" + secrets.token_hex(8), fresh=False))
                        for _ in range(concurrency)]
        self.stamps_of = [codes[c::concurrency] for c in range(concurrency)]
        self.page_cursor = [0] * concurrency
        self.codes = codes
        self.api_cursor = 0
        self.sent: Counter[tuple[int, str]] = Counter()  # (serial, source) -> requests sent
        self.answered: Counter[tuple[int, str]] = Counter()  # ... of them answered 200 with a verdict

    def _request(self, port: int, path: str, device: str) -> bytes:
        return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {USER_AGENT}\r\n"
                f"Accept: text/html,application/json\r\nCookie: ocop_d={device}\r\n\r\n").encode()

    def plans(self, kind: str, port: int, n: int) -> list[list[tuple[bytes, str, int | None]]]:
        per = [n // self.concurrency + (1 if c < n % self.concurrency else 0) for c in range(self.concurrency)]
        plans: list[list[tuple[bytes, str, int | None]]] = []
        for c, count in enumerate(per):
            device, items = self.devices[c], []
            for _ in range(count):
                if kind == "page":
                    stamps = self.stamps_of[c]
                    serial, text = stamps[self.page_cursor[c] % len(stamps)]
                    self.page_cursor[c] += 1
                    path = "/S/" + text.rsplit("/S/", 1)[1]
                elif kind == "api":
                    serial, text = self.codes[self.api_cursor % len(self.codes)]
                    self.api_cursor += 1
                    path = "/api/v1/verify?code=" + urllib.parse.quote(text, safe="")
                else:
                    serial, path = None, "/healthz"
                items.append((self._request(port, path, device), kind, serial))
            plans.append(items)
        return plans

    def run(self, kind: str, port: int | list[int], n: int) -> dict[str, Any]:
        """Send n requests of one kind with `concurrency` connections; wait for all answers. With several ports
        (nodes), connection c goes to port c modulo their number, so the load is split evenly."""
        ports = [port] if isinstance(port, int) else list(port)
        plans = self.plans(kind, ports[0], n)
        targets = [ports[c % len(ports)] for c in range(len(plans))]
        shares = [plans[i::len(self.pipes)] for i in range(len(self.pipes))]
        for i, (pipe, share) in enumerate(zip(self.pipes, shares)):
            pipe.send((targets[i::len(self.pipes)], share, self.time_limit))
        replies = [pipe.recv() for pipe in self.pipes]
        results = [r for reply in replies for r in reply["results"]]
        for r in results:
            if r[0] in SOURCE and r[1] is not None:
                self.sent[(r[1], SOURCE[r[0]])] += 1
                if r[6] is None:
                    self.answered[(r[1], SOURCE[r[0]])] += 1
        wall = max(r["end"] for r in replies) - min(r["start"] for r in replies)
        return {"kind": kind, "results": results, "wall": wall, "client_cpu": sum(r["cpu"] for r in replies),
                "planned": sum(r["planned"] for r in replies)}

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
        for proc in self.procs:
            proc.join(5)


def summarise(phase: dict[str, Any], server_cpu: float | None, busy: float | None) -> dict[str, Any]:
    results = phase["results"]
    n = len(results)
    errors = [r for r in results if r[6] is not None]
    latencies = sorted(r[5] for r in results)
    return {
        "kind": phase["kind"], "sent": n, "not_sent": phase["planned"] - n, "errors": len(errors),
        "error_examples": sorted(Counter(r[6] for r in errors).items(), key=lambda x: -x[1])[:5],
        "ok": n - len(errors), "wall_s": phase["wall"], "rps": (n - len(errors)) / phase["wall"] if phase["wall"] else 0.0,
        "p50_ms": 1000 * latencies[n // 2] if n else None,
        "p95_ms": 1000 * latencies[min(n - 1, int(n * 0.95))] if n else None,
        "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))] if n else None,
        "max_ms": 1000 * latencies[-1] if n else None,
        "latencies": latencies,
        "verdicts": dict(Counter(r[3] for r in results if r[3] is not None)),
        "scan_ids": [r[4] for r in results if r[4] is not None],
        "body_bytes": max((r[7] for r in results), default=0),
        "client_cpu_ms_per_req": 1000 * phase["client_cpu"] / n if n else None,
        "server_cpu_ms_per_req": None if server_cpu is None or not n else 1000 * server_cpu / n,
        "machine_busy": busy,
    }


def measured(load: Load, server: Server | list[Server] | None, kind: str, port: int | list[int],
             n: int) -> dict[str, Any]:
    servers = [] if server is None else [server] if isinstance(server, Server) else server
    cpu0 = sum(s.cpu_seconds() for s in servers)
    busy0, total0 = machine_busy()
    phase = load.run(kind, port, n)
    busy1, total1 = machine_busy()
    cpu = sum(s.cpu_seconds() for s in servers) - cpu0 if servers else None
    return summarise(phase, cpu, (busy1 - busy0) / (total1 - total0) if total1 > total0 else None)


# =========================================================================== scan accounting


def account_scans(database: str, sent: Counter[tuple[int, str]], api_scan_ids: list[int]) -> dict[str, Any]:
    """Rows in scans against verification requests sent: in total, and per (serial, source)."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT count(*) FROM scans").fetchone()[0]
        stored = Counter({(serial, source): count for serial, source, count in
                          conn.execute("SELECT serial, source, count(*) FROM scans GROUP BY serial, source")})
        verdicts = dict(conn.execute("SELECT verdict, count(*) FROM scans GROUP BY verdict").fetchall())
        per_stamp = conn.execute("SELECT max(c), avg(c) FROM (SELECT count(*) AS c FROM scans GROUP BY serial)").fetchone()
        # What copy detection's neighbour query (serial +/- 10, last 15 min, same run) found at each scan: the
        # rows it fetches and parses grow with how densely a run's serials are being scanned.
        neighbours = conn.execute(
            "SELECT avg(n), max(n) FROM (SELECT (SELECT count(*) FROM scans b WHERE b.run_id = a.run_id"
            " AND b.serial BETWEEN a.serial - 10 AND a.serial + 10 AND b.id < a.id"
            " AND b.at >= strftime('%Y-%m-%dT%H:%M:%SZ', a.at, '-15 minutes')) AS n"
            " FROM scans a WHERE a.serial IS NOT NULL)").fetchone()
    finally:
        conn.close()
    return {**balance(sent, stored), "rows": rows,
            "api_scan_ids": len(api_scan_ids), "api_scan_ids_distinct": len(set(api_scan_ids)),
            "db_verdicts": verdicts, "scans_per_stamp_max": per_stamp[0], "scans_per_stamp_avg": per_stamp[1],
            "neighbour_rows_avg": neighbours[0], "neighbour_rows_max": neighbours[1]}


def balance(sent: Counter[tuple[int, str]], stored: Counter[tuple[int, str]]) -> dict[str, int]:
    """Requests sent against rows stored, per (serial, source), so a lost and a doubled record cannot cancel out."""
    keys = set(sent) | set(stored)
    return {"sent": sum(sent.values()), "lost": sum(max(0, sent[k] - stored[k]) for k in keys),
            "duplicated": sum(max(0, stored[k] - sent[k]) for k in keys),
            "mismatched_keys": sum(1 for k in keys if sent[k] != stored[k])}


# =========================================================================== profile


def profile_rounds(home: str, config: dict[str, Any], load: Load, threads: int, n: int) -> dict[str, Any]:
    """One round per route against a phase-timed server, then one against a cProfiled server."""
    out: dict[str, Any] = {}
    port = free_port()
    server = Server(home, config, port, threads, "phases")
    rps = {}
    try:
        for kind in ROUTES:
            s = measured(load, server, kind, port, n)
            rps[kind] = s["rps"]
            out.setdefault("phase_server_cpu_ms", {})[kind] = s["server_cpu_ms_per_req"]
    finally:
        data = server.stop()
    out["phases_rps"] = rps
    counts = {kind: 0 for kind in ROUTES}
    table: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for key, (calls, cpu, wall) in (data or {}).get("phases", {}).items():
        route, name = key.split("|", 1)
        table[route][name] = [calls, cpu, wall]
        if name == "WSGI app total" and route in counts:
            counts[route] = calls
    out["phases"] = {route: {name: {"calls": v[0], "cpu_us_per_req": 1e6 * v[1] / max(1, counts.get(route, 0)),
                                    "wall_us_per_req": 1e6 * v[2] / max(1, counts.get(route, 0))}
                             for name, v in names.items()} for route, names in table.items()}
    out["phase_requests"] = counts

    port = free_port()
    server = Server(home, config, port, threads, "cprofile")
    try:
        for kind in ROUTES:
            measured(load, server, kind, port, n)
    finally:
        data = server.stop()
    out["cprofile"] = {}
    for route, path in (data or {}).get("profiles", {}).items():
        stats = pstats.Stats(path)
        total = stats.total_tt  # type: ignore[attr-defined]
        rows = []
        for (file, line, func), (cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            rows.append({"function": f"{_short(file)}:{line}({func})", "calls": nc, "tottime_s": tt, "cumtime_s": ct})
        requests = n
        out["cprofile"][route] = {
            "requests": requests, "total_s": total,
            "top_tottime": sorted(rows, key=lambda r: -r["tottime_s"])[:22],
            "top_cumtime": [r for r in sorted(rows, key=lambda r: -r["cumtime_s"])
                            if not any(s in r["function"] for s in ("threading.py", "waitress/", "<built-in method builtins.exec>"))][:40],
        }
    return out


def _short(file: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


# =========================================================================== main


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    started = dt.datetime.now(dt.timezone.utc)
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ocop-bench-verify-") as root:
        home = os.path.join(root, "instance")
        port = free_port()
        inst = build_instance(home, port, args.stamps)
        codes = inst["codes"]
        from stamp_service.verification.identity import DeviceCookies

        load = Load(args.procs, args.concurrency, codes, args.phase_timeout, DeviceCookies(inst["secret"]))
        server = Server(home, inst["config"], port, args.threads)
        rounds: list[dict[str, Any]] = []
        try:
            warm = max(args.concurrency, args.requests // 5)
            warmup = {kind: measured(load, server, kind, port, warm) for kind in ROUTES}
            # The client ceiling: the same client against a static responder with a page-sized answer.
            size = warmup["page"]["body_bytes"] or 8000
            canned = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "
                      + str(size).encode() + b"\r\n\r\n" + b"x" * size)
            ready = mp.get_context("fork").Event()
            static_port = free_port()
            static = mp.get_context("fork").Process(target=static_main, args=(static_port, canned, ready), daemon=True)
            static.start()
            ready.wait(10)
            try:
                ceiling = measured(load, None, "static", static_port, args.requests)
            finally:
                static.terminate()
                static.join(5)
            for i in range(args.rounds):
                order = ROUTES[i % 3:] + ROUTES[:i % 3]
                rounds.append({kind: measured(load, server, kind, port, args.requests) for kind in order})
                if not args.json:
                    r = rounds[-1]
                    print(f"round {i + 1}/{args.rounds}: " + ", ".join(
                        f"{kind} {r[kind]['rps']:.0f}/s" for kind in ROUTES), file=sys.stderr)
        finally:
            server.stop()
        log = server.log_summary()
        api_ids = [i for phase in [warmup["api"], *(r["api"] for r in rounds)] for i in phase["scan_ids"]]
        accounting = account_scans(inst["database"], load.sent, api_ids)
        profile = None
        if args.profile:
            profile = profile_rounds(home, inst["config"], load, args.threads, args.requests)
        load.close()

    def median_range(values: list[float]) -> dict[str, float]:
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    summary: dict[str, Any] = {}
    for kind in ROUTES:
        phases = [r[kind] for r in rounds]
        verdicts: Counter[str] = Counter()
        for p in phases:
            verdicts.update(p["verdicts"])
        summary[kind] = {
            "rps": median_range([p["rps"] for p in phases]),
            "p50_ms": statistics.median(p["p50_ms"] for p in phases),
            "p95_ms": statistics.median(p["p95_ms"] for p in phases),
            "server_cpu_ms_per_req": statistics.median(p["server_cpu_ms_per_req"] for p in phases),
            "client_cpu_ms_per_req": statistics.median(p["client_cpu_ms_per_req"] for p in phases),
            "machine_busy": statistics.median(p["machine_busy"] for p in phases),
            "sent": sum(p["sent"] for p in phases), "errors": sum(p["errors"] for p in phases),
            "not_sent": sum(p["not_sent"] for p in phases),
            "error_examples": [e for p in phases for e in p["error_examples"]][:5],
            "verdicts": dict(verdicts), "body_bytes": max(p["body_bytes"] for p in phases),
        }
    ratios = {kind: median_range([r[kind]["rps"] / r["healthz"]["rps"] for r in rounds]) for kind in ("page", "api")}
    warm_errors = sum(w["errors"] for w in warmup.values())
    return {
        "started_utc": started.strftime("%Y-%m-%d %H:%M UTC"), "duration_s": time.monotonic() - t_start,
        "settings": {"requests": args.requests, "concurrency": args.concurrency, "threads": args.threads,
                     "rounds": args.rounds, "stamps": args.stamps, "procs": args.procs,
                     "warmup_requests": warm, "server": "waitress, 1 process"},
        "environment": {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
                        "loadavg_end": os.getloadavg(), "sqlite": sqlite3.sqlite_version,
                        **{pkg: metadata.version(pkg) for pkg in ("waitress", "flask", "werkzeug", "jinja2",
                                                                  "sqlite-utils", "cryptography")}},
        "summary": summary, "ratios": ratios, "target_ratio": TARGET_RATIO,
        "warmup": {k: {x: v[x] for x in ("sent", "errors", "rps", "verdicts")} for k, v in warmup.items()},
        "warmup_errors": warm_errors,
        "client_ceiling": {x: ceiling[x] for x in ("sent", "errors", "rps", "client_cpu_ms_per_req", "p50_ms")},
        "server_log": log, "scans": accounting,
        "rounds": [{k: {x: v[x] for x in ("rps", "p50_ms", "p95_ms", "errors", "server_cpu_ms_per_req",
                                          "client_cpu_ms_per_req", "machine_busy")} for k, v in r.items()}
                   for r in rounds],
        "profile": profile,
    }


def report(res: dict[str, Any]) -> str:
    st, s, out = res["settings"], res["summary"], io.StringIO()
    w = functools.partial(print, file=out)
    w(f"Verification under load ({res['started_utc']}, {res['duration_s']:.0f} s): waitress "
      f"{res['environment']['waitress']}, 1 process x {st['threads']} threads; {st['concurrency']} keep-alive "
      f"connections from {st['procs']} generator processes; {st['requests']} requests per route and round, "
      f"{st['rounds']} rounds (+ warm-up {st['warmup_requests']} each); {st['stamps']} stamps")
    w()
    w(f"{'route':<28} {'req/s median (range)':>24} {'p50 ms':>7} {'p95 ms':>7} {'srv CPU ms/req':>15} "
      f"{'cli CPU ms/req':>15} {'errors':>7} {'bytes':>6}")
    for kind in ROUTES:
        k = s[kind]
        rng = f"{k['rps']['median']:,.0f} ({k['rps']['min']:,.0f}-{k['rps']['max']:,.0f})"
        w(f"{LABEL[kind]:<28} {rng:>24} {k['p50_ms']:>7.1f} {k['p95_ms']:>7.1f} {k['server_cpu_ms_per_req']:>15.2f} "
          f"{k['client_cpu_ms_per_req']:>15.3f} {k['errors']:>3}/{k['sent']:<3} {k['body_bytes']:>6}")
    c = res["client_ceiling"]
    w(f"{'client ceiling (static)':<28} {c['rps']:>24,.0f} {c['p50_ms']:>7.1f} {'':>7} {'':>15} "
      f"{c['client_cpu_ms_per_req']:>15.3f} {c['errors']:>3}/{c['sent']}")
    w()
    for kind in ("page", "api"):
        r = res["ratios"][kind]
        verdict = "MET" if r["median"] >= res["target_ratio"] else "MISSED"
        w(f"ratio {LABEL[kind]} / GET /healthz: {r['median']:.3f} ({r['min']:.3f}-{r['max']:.3f})   "
          f"target >= {res['target_ratio']}: {verdict}")
    w()
    for kind in ("page", "api"):
        w(f"verdicts {LABEL[kind]}: " + ", ".join(f"{v} {n}" for v, n in sorted(s[kind]["verdicts"].items(),
                                                                                key=lambda x: -x[1])))
    errors = sum(s[k]["errors"] for k in ROUTES) + res["warmup_errors"]
    w(f"errors (all rounds + warm-up): {errors}" + ("" if not errors else "  e.g. " + str(
        [e for k in ROUTES for e in s[k]["error_examples"]][:3])))
    a = res["scans"]
    ok = a["rows"] == a["sent"] and a["lost"] == 0 and a["duplicated"] == 0
    w(f"scan records: {a['sent']} verification requests sent, {a['rows']} rows in scans; per (serial, source): "
      f"{a['lost']} lost, {a['duplicated']} duplicated -> {'OK' if ok else 'MISMATCH'}; API scan_ids "
      f"{a['api_scan_ids_distinct']} distinct of {a['api_scan_ids']}; scans per stamp max {a['scans_per_stamp_max']}")
    w("verdicts stored in scans: " + ", ".join(f"{v} {n}" for v, n in sorted(a["db_verdicts"].items()))
      + f"; neighbour scans (serial +/-10, 15 min) seen per verification: mean {a['neighbour_rows_avg'] or 0:.1f},"
      f" max {a['neighbour_rows_max']}")
    w(f"server log: {res['server_log']['tracebacks']} tracebacks, {res['server_log']['queue_depth_warnings']} "
      f"'Task queue depth' warnings; machine busy during verification rounds "
      f"{100 * s['page']['machine_busy']:.0f} % of {res['environment']['cpus']} CPUs")
    if res["profile"]:
        p = res["profile"]
        w()
        w(f"Profile (separate servers on the same instance, {st['requests']} requests per route; req/s with timers: "
          + ", ".join(f"{k} {v:.0f}" for k, v in p["phases_rps"].items()) + ")")
        w("Per-step timers, µs per request summed over worker threads (thread CPU; wall includes GIL and lock waits):")
        for route in ROUTES:
            rows = p["phases"].get(route, {})
            if not rows:
                continue
            w(f"  {LABEL[route]}  (server process CPU {p['phase_server_cpu_ms'][route]:.2f} ms/req)")
            for name, v in sorted(rows.items(), key=lambda x: -x[1]["cpu_us_per_req"]):
                w(f"    {name:<62} {v['cpu_us_per_req']:>8.0f} cpu {v['wall_us_per_req']:>8.0f} wall  x{v['calls']}")
        for route in ROUTES:
            prof = p["cprofile"].get(route)
            if not prof:
                continue
            w(f"  cProfile {LABEL[route]}: {1e3 * prof['total_s'] / prof['requests']:.2f} ms/req profiled; top by own time:")
            for r in prof["top_tottime"][:15]:
                w(f"    {1e6 * r['tottime_s'] / prof['requests']:>7.0f} µs/req own {1e6 * r['cumtime_s'] / prof['requests']:>7.0f} cum  "
                  f"{r['calls']:>7}  {r['function'][:100]}")
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per route and round (default 500)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent keep-alive connections (default 16)")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads (default 8)")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds after the warm-up (default 5)")
    parser.add_argument("--stamps", type=int, default=4000, help="stamps issued and scanned round robin (default 4000: more than the page requests,"
                        " so no device opens a stamp twice, which would be a view, not a recorded scan)")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes (default 2)")
    parser.add_argument("--phase-timeout", type=float, default=60.0, help="time limit per phase in seconds")
    parser.add_argument("--profile", action="store_true", help="also profile the server (two more servers)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--_serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._serve:
        serve_main(json.loads(args._serve))
        return 0
    if min(args.requests, args.concurrency, args.threads, args.rounds, args.stamps, args.procs) < 1:
        parser.error("every count must be at least 1")
    if args.procs > args.concurrency:
        parser.error("--procs must not exceed --concurrency")
    warm = max(args.concurrency, args.requests // 5)
    per_stamp = 2 * (args.rounds * args.requests + warm + (args.requests if args.profile else 0) * 2) / args.stamps
    if per_stamp >= 9:
        print(f"note: about {per_stamp:.0f} scans per stamp: copy detection's 'many scans this week' warning "
              f"(10) will show; raise --stamps", file=sys.stderr)
    res = run_bench(args)
    if args.json:
        print(json.dumps(res, indent=2, default=str))
    else:
        print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
