#!/usr/bin/env python3
"""The shopper's page under many connections on each back end: SQLite in one waitress process against
PostgreSQL behind two nodes, on the same machine, with every scan accounted for (issue 14).

A benchmark, not a test: it asserts nothing about speed. It reuses bench_verify's pieces (the instance, the
separate-process server, the multi-process closed-loop load generator, the page check and the scan accounting),
and measures one route, the page a QR code opens (GET /S/<digits>, a different genuine stamp each request, one
device per connection), in six set-ups, all running at once and loaded one after the other in an order that
rotates from round to round:

* sqlite-1   SQLite, 1 waitress process x --threads threads (the embedded deployment, `ocop-stamp serve`),
* sqlite-1-busy  the same with the writer as it was before issue 14: no writer turns (storage/writers.py), so
             a request's writer that finds the file locked waits in SQLite's busy handler (a reference, same run),
* sqlite-w2  SQLite, gunicorn 2 workers x --threads threads on the same file (`serve --workers 2`),
* sqlite-w2-busy  the same with the busy-handler writer,
* pg-1       PostgreSQL, one node (waitress, 1 process x --threads threads),
* pg-2       PostgreSQL, two nodes (two such processes on two ports), connections split evenly between them.

The four SQLite set-ups share one instance, the two PostgreSQL ones another (a database made for the run on the
server --pg names, dropped afterwards; pg-1 is the first of pg-2's two nodes). VERIFY_LIMITS are lifted: every
request comes from loopback, one network, which the per-network limits would rightly answer with 429.

Reported per set-up: requests/second (median and range over rounds), latency p50/p99/max over all rounds' requests
(and the range of the per-round p99), server CPU per request (all its processes), errors, and same-run ratios per
round (pg-2 ÷ sqlite-1, and each SQLite writer ÷ its busy-handler reference); and per back end, the rows of `scans`
against the page requests answered, per (serial, source).

Run from the repository root:  python bench/bench_nodes.py [--concurrency 64] [--requests 1000] [--rounds 3]
[--threads 8] [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--slow MS] [--json]   (about 3 minutes with
the defaults on a shared 2-core machine)
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import io
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from typing import Any

import bench_verify as bv

SETUPS = ("sqlite-1", "sqlite-1-busy", "sqlite-w2", "sqlite-w2-busy", "pg-1", "pg-2")
LABEL = {"sqlite-1": "SQLite, 1 process (waitress)", "sqlite-1-busy": "  the same, busy-handler writer",
         "sqlite-w2": "SQLite, 2 workers (gunicorn)", "sqlite-w2-busy": "  the same, busy-handler writer",
         "pg-1": "PostgreSQL, 1 node", "pg-2": "PostgreSQL, 2 nodes"}
P99_TARGET_MS = 250


def make_database(server_url: str) -> str:
    """A database of its own on the server; its URL."""
    import psycopg

    name = f"ocop_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


def drop_database(server_url: str, url: str) -> None:
    import psycopg

    from stamp_service.storage.postgres import close_pool

    close_pool(url)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {url.rpartition('/')[2]} WITH (FORCE)")


def account(target: str, load: bv.Load) -> dict[str, Any]:
    """Rows in scans against page requests answered (and sent: a request answered with an error, e.g. 503 when
    the database refused it, has no row, or one at most if its answer was lost), on either back end."""
    from stamp_service.storage import open_storage

    storage = open_storage(target)
    try:
        rows = storage.count("scans")
        stored = Counter({(serial, source): int(n) for serial, source, n in
                          storage._tuples("SELECT serial, source, count(*) FROM scans GROUP BY serial, source", [])})
    finally:
        storage.close()
    return {**bv.balance(load.answered, stored), "rows": rows, "sent": sum(load.sent.values()),
            "answered": sum(load.answered.values()), "extra_rows_of_errors": sum((stored - load.answered).values()),
            "beyond_sent": sum((stored - load.sent).values())}


class Backend:
    """One instance (a SQLite file or a PostgreSQL database), its load generator and the servers on it."""

    def __init__(self, home: str, args: argparse.Namespace, database_url: str | None) -> None:
        from stamp_service.verification.identity import DeviceCookies

        port = bv.free_port()
        inst = bv.build_instance(home, port, args.stamps, {"DATABASE_URL": database_url} if database_url else None)
        self.home, self.port, self.target = home, port, database_url or inst["database"]
        self.config = inst["config"]
        self.load = bv.Load(args.procs, args.concurrency, inst["codes"], args.phase_timeout,
                            DeviceCookies(inst["secret"]))
        self.servers: list[bv.Server] = []

    def start(self, workers: int, threads: int, port: int | None = None, busy_handler: bool = False) -> bv.Server:
        server = bv.Server(self.home, self.config, port or bv.free_port(), threads, workers=workers,
                           busy_handler=busy_handler)
        self.servers.append(server)
        return server

    def stop(self) -> dict[str, Any]:
        logs = {"tracebacks": 0, "lines": 0}
        for server in self.servers:
            server.stop()
            for key in logs:
                logs[key] += server.log_summary()[key]
        self.load.close()
        return logs


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    started = dt.datetime.now(dt.timezone.utc)
    t0, load_start = time.monotonic(), os.getloadavg()
    database_url = make_database(args.pg)
    try:
        with tempfile.TemporaryDirectory(prefix="ocop-bench-nodes-") as root:
            lite = Backend(os.path.join(root, "sqlite"), args, None)
            pg = Backend(os.path.join(root, "postgresql"), args, database_url)
            try:
                a = lite.start(1, args.threads, lite.port)
                busy = lite.start(1, args.threads, busy_handler=True)
                w2 = lite.start(args.workers, args.threads)
                w2_busy = lite.start(args.workers, args.threads, busy_handler=True)
                n1 = pg.start(1, args.threads, pg.port)  # one node ...
                n2 = pg.start(1, args.threads)  # ... and a second one on the same database
                setups = {"sqlite-1": (lite, [a], [a.port]), "sqlite-1-busy": (lite, [busy], [busy.port]),
                          "sqlite-w2": (lite, [w2], [w2.port]),
                          "sqlite-w2-busy": (lite, [w2_busy], [w2_busy.port]),
                          "pg-1": (pg, [n1], [n1.port]), "pg-2": (pg, [n1, n2], [n1.port, n2.port])}
                warm = {name: bv.measured(b.load, servers, "page", ports, args.warmup)
                        for name, (b, servers, ports) in setups.items()}
                rounds: list[dict[str, Any]] = []
                for i in range(args.rounds):
                    order = SETUPS[i % len(SETUPS):] + SETUPS[:i % len(SETUPS)]
                    rounds.append({name: bv.measured(setups[name][0].load, setups[name][1], "page",
                                                     setups[name][2], args.requests) for name in order})
                    if not args.json:
                        print(f"round {i + 1}/{args.rounds}: " + ", ".join(
                            f"{n} {rounds[-1][n]['rps']:.0f}/s p99 {rounds[-1][n]['p99_ms']:.0f} ms"
                            for n in SETUPS), file=sys.stderr)
            finally:
                logs = {"sqlite": lite.stop(), "postgresql": pg.stop()}
            scans = {"sqlite": account(lite.target, lite.load), "postgresql": account(pg.target, pg.load)}
    finally:
        drop_database(args.pg, database_url)

    summary: dict[str, Any] = {}
    for name in SETUPS:
        phases = [r[name] for r in rounds]
        latencies = sorted(x for p in phases for x in p["latencies"])
        n = len(latencies)
        verdicts: Counter[str] = Counter()
        for p in phases:
            verdicts.update(p["verdicts"])
        summary[name] = {
            "rps": _median_range([p["rps"] for p in phases]),
            "p50_ms": 1000 * latencies[n // 2], "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))],
            "max_ms": 1000 * latencies[-1], "p99_round_ms": _median_range([p["p99_ms"] for p in phases]),
            "server_cpu_ms_per_req": statistics.median(p["server_cpu_ms_per_req"] for p in phases),
            "machine_busy": statistics.median(p["machine_busy"] for p in phases),
            "sent": sum(p["sent"] for p in phases), "errors": sum(p["errors"] for p in phases),
            "error_examples": [e for p in phases for e in p["error_examples"]][:5], "verdicts": dict(verdicts),
            "slow_ms": dict(sorted(Counter(int(x * 10) * 100 for x in latencies if 1000 * x > args.slow).items()))
            if args.slow else {},
        }
    ratios = {"rps pg-2 / sqlite-1": _median_range([r["pg-2"]["rps"] / r["sqlite-1"]["rps"] for r in rounds]),
              "p99 pg-2 / sqlite-1": _median_range([r["pg-2"]["p99_ms"] / r["sqlite-1"]["p99_ms"] for r in rounds]),
              "rps sqlite-w2 / sqlite-1": _median_range([r["sqlite-w2"]["rps"] / r["sqlite-1"]["rps"]
                                                         for r in rounds]),
              "p99 sqlite-1 / sqlite-1-busy": _median_range([r["sqlite-1"]["p99_ms"] / r["sqlite-1-busy"]["p99_ms"]
                                                             for r in rounds]),
              "p99 sqlite-w2 / sqlite-w2-busy": _median_range([r["sqlite-w2"]["p99_ms"] / r["sqlite-w2-busy"]["p99_ms"]
                                                               for r in rounds])}
    from importlib import metadata
    import platform
    import sqlite3

    return {
        "started_utc": started.strftime("%Y-%m-%d %H:%M UTC"), "duration_s": time.monotonic() - t0,
        "settings": {k: getattr(args, k) for k in ("requests", "concurrency", "threads", "workers", "rounds",
                                                  "warmup", "stamps", "procs")},
        "environment": {"python": platform.python_version(), "cpus": os.cpu_count(), "loadavg_start": load_start,
                        "loadavg_end": os.getloadavg(), "sqlite": sqlite3.sqlite_version,
                        **{pkg: metadata.version(pkg) for pkg in ("waitress", "gunicorn", "psycopg")}},
        "summary": summary, "ratios": ratios, "scans": scans, "server_logs": logs,
        "warmup_errors": sum(w["errors"] for w in warm.values()),
    }


def _median_range(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def report(res: dict[str, Any]) -> str:
    st, s, env, out = res["settings"], res["summary"], res["environment"], io.StringIO()
    w = functools.partial(print, file=out)
    w(f"The shopper's page, back ends compared ({res['started_utc']}, {res['duration_s']:.0f} s): GET /S/<digits>, "
      f"{st['concurrency']} keep-alive connections from {st['procs']} generator processes, {st['requests']} "
      f"requests per set-up and round, {st['rounds']} rounds (+ warm-up {st['warmup']}); {st['threads']} threads "
      f"per process; load average {env['loadavg_start'][0]:.1f} at the start, {env['loadavg_end'][0]:.1f} at the "
      f"end on {env['cpus']} CPUs")
    w()
    w(f"{'set-up':<30} {'req/s median (range)':>21} {'p50 ms':>7} {'p99 ms':>7} {'p99/round':>12} {'max ms':>7} "
      f"{'srv CPU ms/req':>15} {'errors':>9}")
    for name in SETUPS:
        k = s[name]
        rng = f"{k['rps']['median']:,.0f} ({k['rps']['min']:,.0f}-{k['rps']['max']:,.0f})"
        pr = f"{k['p99_round_ms']['min']:.0f}-{k['p99_round_ms']['max']:.0f}"
        w(f"{LABEL[name]:<30} {rng:>21} {k['p50_ms']:>7.0f} {k['p99_ms']:>7.0f} {pr:>12} {k['max_ms']:>7.0f} "
          f"{k['server_cpu_ms_per_req']:>15.2f} {k['errors']:>4}/{k['sent']:<4}")
    w()
    for name, r in res["ratios"].items():
        w(f"ratio {name}: {r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f}), per round, same run")
    p99 = s["sqlite-1"]["p99_ms"]
    w(f"target: p99 of the page under {st['concurrency']} connections <= {P99_TARGET_MS} ms with SQLite "
      f"(1 process): {p99:.0f} ms -> {'MET' if p99 <= P99_TARGET_MS else 'MISSED'}")
    for name in SETUPS:
        if s[name]["slow_ms"]:
            bins = ", ".join(f"{k}: {v}" for k, v in s[name]["slow_ms"].items())
            w(f"slow requests {name} (ms, 100 ms bins): {bins}")
    for name in SETUPS:
        w(f"verdicts {name}: " + ", ".join(f"{v} {n}" for v, n in sorted(s[name]["verdicts"].items())))
    errors = sum(s[n]["errors"] for n in SETUPS) + res["warmup_errors"]
    w(f"errors (all rounds + warm-up): {errors}" + ("" if not errors else "  e.g. " + str(
        [e for n in SETUPS for e in s[n]["error_examples"]][:3])))
    for backend, a in res["scans"].items():
        # every answered scan has its row; a request answered with an error may have one at most
        ok = a["lost"] == 0 and a["beyond_sent"] == 0 and a["extra_rows_of_errors"] <= a["sent"] - a["answered"]
        w(f"scans {backend}: {a['sent']} page requests sent, {a['answered']} answered with a verdict, {a['rows']} "
          f"rows; per (serial, source): {a['lost']} answered without a row, {a['beyond_sent']} rows beyond the "
          f"requests sent, {a['extra_rows_of_errors']} rows of requests answered with an error -> "
          f"{'OK' if ok else 'MISMATCH'}")
    w("server logs: " + ", ".join(f"{b} {v['tracebacks']} tracebacks" for b, v in res["server_logs"].items()))
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="page requests per set-up and round (default 1000)")
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent keep-alive connections (default 64)")
    parser.add_argument("--threads", type=int, default=8, help="worker threads per server process (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of sqlite-w2 (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds (default 3)")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests per set-up (default 200)")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes per back end (default 2)")
    parser.add_argument("--phase-timeout", type=float, default=120.0, help="time limit per phase in seconds")
    parser.add_argument("--pg", default=os.environ.get("OCOP_STAMP_TEST_DATABASE_URL")
                        or "postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server's maintenance database; a database is made there for the run")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--slow", type=float, default=0, metavar="MS",
                        help="also count each set-up's requests slower than MS milliseconds (100 ms bins)")
    args = parser.parse_args(argv)
    if min(args.requests, args.concurrency, args.threads, args.workers, args.rounds, args.procs) < 1:
        parser.error("every count must be at least 1")
    # Every page request scans a stamp no device has opened before (a repeat would be a view, not a scan).
    per_connection = args.rounds * -(-args.requests // args.concurrency) + -(-args.warmup // args.concurrency)
    args.stamps = 4 * args.concurrency * per_connection  # up to four set-ups per back end
    res = run_bench(args)
    print(json.dumps({k: v for k, v in res.items()}, indent=2, default=str) if args.json else report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
