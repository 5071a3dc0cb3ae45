#!/usr/bin/env python3
"""Scale benchmark: does a verification cost the same with 100,000 runs as with 1,000, and with millions of
scans stored as with none; how long do the inspectors' dashboard and a batch's summary take at that size.

A benchmark, not a test: it asserts nothing about speed. The machine is shared and noisy, so the verification
figures are same-run ratios: each instance gets --slice verifications in turn, the order rotating from round to
round, so a burst of background load lands on all of them alike; the table shows the median (and range) over
--rounds rounds of each instance's time per verification ÷ the baseline instance's in that round.

Instances, each a throw-away instance folder in a temporary directory (stamp_service.create_app: real SQLite
from the migrations, a passphrase-encrypted Ed25519 key):

* base        1,000 runs, no scans: the baseline.
* runs-100k   100,000 runs, no scans (the run of a serial is one index probe, not a walk of the runs).
* scans-N     1,000 runs and N scans (--scans, e.g. 1000000,3000000,10000000).

Every instance has a real producer, a product with a valid 4-star recognition and a batch (bench/_world.py),
and one real run issued by issuing.issue_run among the others: the verified stamps are that run's, signed by
issuing.codes. The other runs (copies of the real run's row with their own serial ranges, spread over 1,000
batches of 200 products) and the scans are generated in one transaction each with INSERT ... SELECT over a
recursive CTE: scans in time order over the last 365 days, each of a pseudo-random stamp of any run (the
verified run included), 95 % genuine, 2 % warning, 1 % suspected-copy, 1 % recalled, 0.5 % mistyped and 0.5 %
malformed (no stamp), 40 % without a province, the others in one of 6 provinces per product. The tallies are
then filled by migration 0015's own back-fill statements, so they hold what scanning would have added.

A verification is checker.verify as the public page calls it (signature, records, copy rules, the scan and its
tallies written in one transaction), each with a new stamp and household, inside an app context. Time per
verification: thread CPU time and wall time of the slice ÷ its size.

Then, on each scans-N instance and on base: stats.dashboard (30 days), history.batch_summary of the busiest
batch and of the verified run's batch, each --reps times, median wall time; the database's size per scan;
the old and the new way to find the run of a serial on runs-100k (find_covering vs find_holding).

Run from the repository root:  python bench/bench_scale.py [--scans 1000000,3000000] [--rounds 5] [--slice 60]
[--json]    (about 15 minutes with --scans 1000000,3000000 on the shared 2-core machine, most of it building
the scans; --scans 10000000 about 22 minutes and 2.5 GB of temporary disk)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from typing import Any

PASSPHRASE = "benchmark passphrase, not a secret"
RUN_SIZE = 10_000  # stamps per run
BATCHES = 1_000
PRODUCTS = 200
PROVINCES_PER_PRODUCT = 6
DAYS = 365


class Instance:
    """One instance folder: its app, its real run, codes of that run to verify."""

    def __init__(self, root: str, name: str, runs: int, scans: int, n_codes: int) -> None:
        os.environ["OCOP_STAMP_HOME"] = os.path.join(root, name)
        from _world import certified_batch  # bench/ is on sys.path when a benchmark runs as a script
        from stamp_service import create_app
        from stamp_service.context import get_storage
        from stamp_service.signing_keys import keystore
        from stamp_service.stamps import issuing

        self.name, self.runs, self.scans = name, runs, scans
        self.app = create_app({"KEY_PASSPHRASE": PASSPHRASE, "PUBLIC_HOST": "tem.example.vn"})
        started = time.perf_counter()
        with self.app.app_context():
            storage = get_storage()
            batch = certified_batch(storage, 1_000_000, lot=f"{name}-1")
            store = keystore(self.app)
            store.generate()
            template = issuing.issue_run(storage, store, batch["id"], RUN_SIZE, issuer="VN", host="tem.example.vn")
            _fill_registry(storage, batch, template, runs)
            self.run = storage.find_holding("runs", "first_serial", "last_serial", template["first_serial"])
            middle = self.run["first_serial"]
            self.codes = [c for _, c in issuing.codes(self.run, store, "tem.example.vn", middle, middle + n_codes - 1)]
            self.records = store.records()
            if scans:
                # Built outside WAL with a large cache: millions of rows in one transaction would otherwise be
                # written twice (WAL, then checkpoint) and thrash the serial index. No ANALYZE: the service
                # never runs it, so the query plans measured are the ones it uses.
                storage.db.execute("PRAGMA journal_mode = DELETE")
                storage.db.execute("PRAGMA cache_size = -1000000")
                _fill_scans(storage, scans)
                storage.db.execute("PRAGMA cache_size = -2000")
                storage.db.execute("PRAGMA journal_mode = WAL")
            storage.checkpoint()
        self.build_seconds = time.perf_counter() - started
        self.next = 0
        self.path = self.app.config["DATABASE"]

    def verify(self, n: int) -> tuple[float, float, list[str]]:
        """n verifications of new stamps; (thread CPU seconds, wall seconds, verdicts)."""
        from stamp_service.context import get_storage
        from stamp_service.verification import checker
        from stamp_service.verification.copy_detection import Rules
        from stamp_service.verification.scans import ScanContext

        verdicts = []
        cpu, wall = time.thread_time(), time.perf_counter()
        for _ in range(n):
            code = self.codes[self.next]
            self.next += 1
            household = f"bench-{self.next:017d}"
            with self.app.app_context():
                outcome = checker.verify(get_storage(), self.records, code, source="qr", rules=Rules(),
                                         context=ScanContext(household, f"net{self.next:013d}", "Chrome/Android",
                                                             household=household),
                                         evidence=True, host="tem.example.vn")
            verdicts.append(outcome.verdict.name)
        return time.thread_time() - cpu, time.perf_counter() - wall, verdicts


def _fill_registry(storage: Any, batch: dict[str, Any], real_run: dict[str, Any], runs: int) -> None:
    """Products and batches, then runs-1 runs around the real one (half before its serials: the real run's
    range is moved after them), in one transaction."""
    db = storage.db
    before = (runs - 1) // 2
    with storage.transaction():
        db.execute("WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)"
                   " INSERT INTO products (producer_id, name, product_group)"
                   " SELECT p.producer_id, p.name || ' ' || i, p.product_group FROM k, products p WHERE p.id = ?",
                   [PRODUCTS - 1, batch["product_id"]])
        db.execute("WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)"
                   " INSERT INTO batches (product_id, lot, production_date, expiry_date, quantity, origin_commune_code,"
                   " origin_province_code) SELECT (SELECT min(id) FROM products) + i % ?, 'L-' || i, production_date,"
                   " expiry_date, quantity, origin_commune_code, origin_province_code FROM k, batches b WHERE b.id = ?",
                   [BATCHES - 1, PRODUCTS, batch["id"]])
        # The real run moves up to make room for `before` runs under it (no scan refers to it yet).
        first = before * RUN_SIZE + 1
        db.execute("UPDATE runs SET first_serial = ?, last_serial = ? WHERE id = ?",
                   [first, first + RUN_SIZE - 1, real_run["id"]])
        columns = ("initial_state, issuer, issued_at, kid, stars, origin_commune_code, production_date, expiry_date,"
                   " certificate_valid_until, hidden_code")
        for start, count in ((0, before), (before + 1, runs - 1 - before)):
            if count <= 0:
                continue
            db.execute(f"WITH RECURSIVE k(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM k WHERE i < ?)"
                       f" INSERT INTO runs (batch_id, product_id, first_serial, last_serial, {columns})"
                       f" SELECT b.id, b.product_id, i * ? + 1, (i + 1) * ?, {', '.join('r.' + c.strip() for c in columns.split(','))}"
                       f" FROM k JOIN batches b ON b.id = (SELECT min(id) FROM batches) + i % ?"
                       f" JOIN runs r ON r.id = ?",
                       [start, start + count - 1, RUN_SIZE, RUN_SIZE, BATCHES, real_run["id"]])


def _fill_scans(storage: Any, n: int) -> None:
    """n scans in time order over the last DAYS days, then the tallies (migration 0015's back-fill)."""
    from stamp_service.registry import places
    from stamp_service.storage.migrations import MIGRATIONS
    from stamp_service.verification import tallies

    db = storage.db
    codes = [p.code for p in places.provinces()]
    total_runs = storage.count("runs")
    end = int(time.time())
    with storage.transaction():
        db.execute("CREATE TEMP TABLE bench_provinces (k INTEGER PRIMARY KEY, code TEXT)")
        db.conn.executemany("INSERT INTO bench_provinces VALUES (?, ?)", list(enumerate(codes)))
        # h: a pseudo-random stamp (run and serial); v: the verdict's draw; p: the province's.
        db.execute(
            "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < ?),"
            " d AS (SELECT i, (i * 2654435761) % ? AS h, (i * 40503) % 1000 AS v, (i * 69069) % 97 AS p FROM k)"
            " INSERT INTO scans (at, serial, run_id, batch_id, verdict, source, device, net_hash, ua_family,"
            " province_code, household, fresh, evidence)"
            " SELECT strftime('%Y-%m-%dT%H:%M:%SZ', ? - (? - d.i) * ? / ?, 'unixepoch'),"
            " CASE WHEN v >= 990 THEN NULL ELSE r.first_serial + h % ? END,"
            " CASE WHEN v >= 990 THEN NULL ELSE r.id END, CASE WHEN v >= 990 THEN NULL ELSE r.batch_id END,"
            " CASE WHEN v < 950 THEN 'genuine' WHEN v < 970 THEN 'warning' WHEN v < 980 THEN 'suspected-copy'"
            " WHEN v < 990 THEN 'recalled' WHEN v < 995 THEN 'mistyped' ELSE 'malformed' END,"
            " CASE WHEN v >= 990 THEN 'typed' ELSE 'qr' END, printf('%022d', h), printf('%016x', h % 1000003),"
            " 'Chrome/Android', CASE WHEN p < 39 THEN NULL ELSE"
            "  (SELECT code FROM bench_provinces WHERE k = (r.product_id * 7 + p % ?) % ?) END,"
            " printf('%022d', h), 0, CASE WHEN v >= 990 THEN 0 ELSE 1 END"
            " FROM d JOIN runs r ON r.id = (SELECT min(id) FROM runs) + (d.h / ?) % ?",
            [n - 1, total_runs * RUN_SIZE, end, n, DAYS * 86400, n, RUN_SIZE, PROVINCES_PER_PRODUCT, len(codes),
             RUN_SIZE, total_runs])
        db.execute("DROP TABLE bench_provinces")
        statements = dict(MIGRATIONS)[next(name for name, _ in MIGRATIONS if name.startswith("0015"))]
        for table in tallies.KEYS:
            db.execute(f"DELETE FROM {table}")
        for sql in statements:
            if sql.startswith("INSERT INTO"):
                db.execute(sql)


def timed(fn: Any, reps: int) -> float:
    """Median wall seconds of reps calls."""
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def staff_pages(inst: Instance, reps: int) -> dict[str, float]:
    """Median seconds of the dashboard and of two batch summaries on this instance."""
    from stamp_service.context import get_storage
    from stamp_service.inspection import history, stats
    from stamp_service.vn_time import today

    with inst.app.app_context():
        storage = get_storage()
        busiest = storage.db.execute("SELECT batch_id FROM batch_scan_days GROUP BY batch_id ORDER BY sum(n) DESC"
                                     " LIMIT 1").fetchone()
        busiest_id = busiest[0] if busiest else inst.run["batch_id"]
        day = today()
        d = stats.dashboard(storage, today=day)
        return {"dashboard_s": timed(lambda: stats.dashboard(storage, today=day), reps),
                "dashboard_scans_30d": d["total_scans"],
                "batch_summary_busiest_s": timed(lambda: history.batch_summary(storage, busiest_id), reps),
                "batch_summary_s": timed(lambda: history.batch_summary(storage, inst.run["batch_id"]), reps)}


def run_lookup(inst: Instance, reps: int) -> dict[str, float]:
    """Seconds per look-up of the run of a serial in the middle of the runs: the old way and the new."""
    from stamp_service.context import get_storage

    with inst.app.app_context():
        storage = get_storage()
        serial = inst.run["first_serial"] + 5
        assert storage.find_holding("runs", "first_serial", "last_serial", serial)["id"] == inst.run["id"]
        old = timed(lambda: storage.find_covering("runs", "first_serial", "last_serial", serial), reps)
        new = timed(lambda: storage.find_holding("runs", "first_serial", "last_serial", serial), reps)
    return {"find_covering_s": old, "find_holding_s": new}


def sizes(inst: Instance) -> dict[str, Any]:
    """The database's bytes, per scan, and the share the scans table, its indexes and the tallies take."""
    size = os.path.getsize(inst.path)
    result: dict[str, Any] = {"db_bytes": size}
    if inst.scans:
        result["bytes_per_scan"] = round(size / inst.scans, 1)
    try:
        with sqlite3.connect(inst.path) as conn:
            rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    except sqlite3.OperationalError:  # SQLite built without the dbstat table
        return result
    result["bytes_by_object"] = {name: n for name, n in sorted(rows, key=lambda r: -r[1])[:10]}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scans", default="1000000,3000000", help="comma-separated scan counts (0 for none)")
    parser.add_argument("--runs", type=int, default=100_000, help="runs of the many-runs instance")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--slice", type=int, default=60, help="verifications per instance and round")
    parser.add_argument("--reps", type=int, default=5, help="calls per staff-page timing")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    root = tempfile.mkdtemp(prefix="bench-scale-")
    n_codes = args.rounds * args.slice + 10
    try:
        plan = [("base", 1_000, 0), (f"runs-{args.runs // 1000}k", args.runs, 0)]
        plan += [(f"scans-{n / 1e6:g}M", 1_000, n) for n in (int(x) for x in args.scans.split(",") if x) if n]
        instances = []
        for name, runs, scans in plan:
            inst = Instance(root, name, runs, scans, n_codes)
            print(f"built {name}: {runs:,} runs, {scans:,} scans in {inst.build_seconds:.0f} s", file=sys.stderr)
            instances.append(inst)
        for inst in instances:  # warm: first connection, caches
            inst.verify(3)
        per_round: dict[str, list[tuple[float, float]]] = {i.name: [] for i in instances}
        verdicts: dict[str, dict[str, int]] = {i.name: {} for i in instances}
        for r in range(args.rounds):
            order = instances[r % len(instances):] + instances[:r % len(instances)]
            for inst in order:
                cpu, wall, names = inst.verify(args.slice)
                per_round[inst.name].append((cpu / args.slice, wall / args.slice))
                for v in names:
                    verdicts[inst.name][v] = verdicts[inst.name].get(v, 0) + 1
        base = per_round["base"]
        table = []
        for inst in instances:
            rows = per_round[inst.name]
            cpu_ratios = [c / b[0] for (c, _), b in zip(rows, base)]
            wall_ratios = [w / b[1] for (_, w), b in zip(rows, base)]
            table.append({"instance": inst.name, "runs": inst.runs, "scans": inst.scans,
                          "cpu_ms": statistics.median(c for c, _ in rows) * 1e3,
                          "wall_ms": statistics.median(w for _, w in rows) * 1e3,
                          "cpu_ratio": statistics.median(cpu_ratios), "cpu_ratio_range": (min(cpu_ratios), max(cpu_ratios)),
                          "wall_ratio": statistics.median(wall_ratios),
                          "wall_ratio_range": (min(wall_ratios), max(wall_ratios)),
                          "verdicts": verdicts[inst.name], "build_s": inst.build_seconds})
        pages = {inst.name: staff_pages(inst, args.reps) for inst in instances if inst.scans or inst.name == "base"}
        lookups = {inst.name: run_lookup(inst, 200) for inst in instances if not inst.scans}
        files = {inst.name: sizes(inst) for inst in instances}
        result = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
                  "cpus": os.cpu_count(), "load_avg": os.getloadavg(), "rounds": args.rounds, "slice": args.slice,
                  "verification": table, "staff_pages": pages, "run_lookup": lookups, "files": files,
                  "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        if args.json:
            print(json.dumps(result, indent=1))
            return
        print(f"Python {result['python']}, SQLite {result['sqlite']}, {result['cpus']} CPUs, load average "
              f"{' '.join(f'{x:.1f}' for x in result['load_avg'])}; {args.rounds} rounds of {args.slice} "
              f"verifications per instance")
        print(f"{'instance':<12} {'runs':>8} {'scans':>11} {'CPU ms':>7} {'÷ base (range)':>20} {'wall ms':>8}"
              f" {'÷ base (range)':>20}  verdicts")
        for row in table:
            lo, hi = row["cpu_ratio_range"]
            wlo, whi = row["wall_ratio_range"]
            print(f"{row['instance']:<12} {row['runs']:>8,} {row['scans']:>11,} {row['cpu_ms']:>7.2f}"
                  f" {row['cpu_ratio']:>6.2f} ({lo:.2f}-{hi:.2f})    {row['wall_ms']:>8.2f}"
                  f" {row['wall_ratio']:>6.2f} ({wlo:.2f}-{whi:.2f})  {row['verdicts']}")
        print("\nStaff pages (median of --reps calls, wall time):")
        for name, p in pages.items():
            print(f"  {name:<12} dashboard {p['dashboard_s'] * 1e3:8.1f} ms ({p['dashboard_scans_30d']:,} scans in"
                  f" its 30 days)   batch summary: busiest batch {p['batch_summary_busiest_s'] * 1e3:6.1f} ms,"
                  f" verified run's batch {p['batch_summary_s'] * 1e3:6.1f} ms")
        print("\nRun of a serial (median of 200 calls):")
        for name, lk in lookups.items():
            print(f"  {name:<12} find_covering (before) {lk['find_covering_s'] * 1e3:8.3f} ms   find_holding (now)"
                  f" {lk['find_holding_s'] * 1e3:8.3f} ms")
        print("\nDatabase files:")
        for name, f in files.items():
            per = f" = {f['bytes_per_scan']:.0f} bytes per scan" if "bytes_per_scan" in f else ""
            objects = ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in f.get("bytes_by_object", {}).items()
                                if v > 1e6)
            print(f"  {name:<12} {f['db_bytes'] / 1e6:8.1f} MB{per}" + (f"  ({objects})" if objects else ""))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
