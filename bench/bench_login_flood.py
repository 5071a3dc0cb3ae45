#!/usr/bin/env python3
"""A flood of wrong passwords against shoppers' verifications: the real server (waitress, 8 threads) in another
process, --attackers connections posting wrong passwords as fast as answered, and one shopper opening stamps
(GET /S/<digits>) and the home page one after the other. A benchmark, not a test: it prints figures.

Two server settings, alternated --rounds times in one session so a noisy shared machine affects both alike:

* "unbounded": LOGIN_LIMITS hash_workers 64, hash_queue 64: every waitress thread may be hashing, which is how
  sign-ins were checked before the password pool (scrypt on the request's own thread);
* "pool": the defaults, 2 password checks at once and 4 waiting; a sign-in beyond that gets 503 at once.

The throttle is lifted in both (per_account, per_network 10^9) so that what is measured is the pool alone;
with the throttle on, one network's flood is answered 429 after 30 failures and costs nothing.

Run from the repository root:  python bench/bench_login_flood.py [--attackers 16] [--seconds 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PASSPHRASE = "benchmark passphrase, not a secret"
PASSWORD = "benchmark password 1"
SETTINGS = {"unbounded": {"hash_workers": 64, "hash_queue": 64}, "pool": {}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(port: int, pool: dict[str, int]) -> dict[str, Any]:
    return {"KEY_PASSPHRASE": PASSPHRASE, "PUBLIC_HOST": f"127.0.0.1:{port}",
            "VERIFY_LIMITS": {"per_network": 10**9, "fresh_per_network": 10**9, "per_device": 10**9},
            "LOGIN_LIMITS": {"per_account": 10**9, "per_network": 10**9, **pool}}


def build(home: str, port: int, n: int) -> list[str]:
    """A fresh instance with an admin and a run of n stamps; the stamps' paths (/S/...)."""
    os.environ["OCOP_STAMP_HOME"] = home
    from _world import certified_batch
    from stamp_service import create_app
    from stamp_service.auth import users
    from stamp_service.context import get_storage
    from stamp_service.signing_keys import keystore
    from stamp_service.stamps import issuing

    app = create_app(config(port, {}))
    with app.app_context():
        s = get_storage()
        users.create(s, {"email": "admin@bench.vn", "role": "admin", "password": PASSWORD})
        batch = certified_batch(s, n)
        store = keystore(app)
        store.generate()
        run = issuing.issue_run(s, store, batch["id"], n, issuer="VN", host=app.config["PUBLIC_HOST"])
        return ["/" + text.split("/", 3)[3] for _serial, text in issuing.codes(run, store, app.config["PUBLIC_HOST"])]


def serve_main(port: int, pool: str) -> None:
    from stamp_service import create_app
    from stamp_service.server import serve

    serve(create_app(config(port, json.loads(pool))), "127.0.0.1", port, threads=8)


def start_server(home: str, port: int, pool: dict[str, int]) -> subprocess.Popen:
    env = {**os.environ, "OCOP_STAMP_HOME": home}
    proc = subprocess.Popen([sys.executable, __file__, "--_serve", str(port), json.dumps(pool)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def attacker(port: int, stop: threading.Event, statuses: list[int]) -> None:
    """Post wrong passwords over one keep-alive connection until told to stop."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    body = urlencode({"email": "admin@bench.vn", "password": "wrong password!", "csrf_token": token})
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    while not stop.is_set():
        conn.request("POST", "/login", body=body, headers=headers)
        answer = conn.getresponse()
        answer.read()
        statuses.append(answer.status)


def shopper(port: int, paths: list[str], seconds: float) -> list[float]:
    """Open stamps and the home page in turn for a while; each request's time in ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times: list[float] = []
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end:
        path = paths[i % len(paths)] if i % 2 == 0 else "/"
        i += 1
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": "lang=vi"})
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"shopper got {answer.status} on {path}")
        times.append((time.perf_counter() - t0) * 1000)
    return times


def one(home: str, paths: list[str], setting: str, attackers: int, seconds: float) -> dict[str, Any]:
    port = free_port()
    server = start_server(home, port, SETTINGS[setting])
    try:
        quiet = shopper(port, paths, 2)
        stop, statuses = threading.Event(), []
        threads = [threading.Thread(target=attacker, args=(port, stop, statuses)) for _ in range(attackers)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        flooded = shopper(port, paths, seconds)
        stop.set()
        for t in threads:
            t.join()
    finally:
        server.terminate()
        server.wait()
    q = lambda xs, p: statistics.quantiles(xs, n=100)[p - 1]  # noqa: E731
    return {"setting": setting, "quiet_median_ms": statistics.median(quiet),
            "flood_median_ms": statistics.median(flooded), "flood_p90_ms": q(flooded, 90),
            "shopper_requests": len(flooded), "logins": len(statuses),
            "login_503": statuses.count(503), "login_400": statuses.count(400)}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--_serve":
        serve_main(int(sys.argv[2]), sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attackers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        paths = build(home, free_port(), 400)
        rows = [one(home, paths, setting, args.attackers, args.seconds)
                for _ in range(args.rounds) for setting in ("unbounded", "pool")]
    print("| setting | shopper median, quiet | shopper median, flood | shopper p90, flood | shopper requests |"
          " sign-ins answered (400 / 503) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['setting']} | {r['quiet_median_ms']:.1f} ms | {r['flood_median_ms']:.1f} ms |"
              f" {r['flood_p90_ms']:.1f} ms | {r['shopper_requests']} | {r['logins']} ({r['login_400']} /"
              f" {r['login_503']}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
