"""At scale: tallies that always equal a recount of the scans (also when migration 0017 fills them from old
scans), every staff and verification query an index probe (EXPLAIN QUERY PLAN), the WAL truncated on a
schedule without waiting for readers, and the backup and check commands on real files."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import threading
import time

import pytest

from stamp_service import create_app
from stamp_service.cli import cli
from stamp_service.context import get_storage
from stamp_service.inspection import history, stats
from stamp_service.signing_keys import keystore
from stamp_service.stamps import issuing, producer_summary
from stamp_service.stamps.serials import format_serial
from stamp_service.storage import SQLiteStorage as Storage
from stamp_service.storage import migrations as schema
from stamp_service.verification import checker, suspicions, tallies
from stamp_service.verification import scans as scan_rows
from stamp_service.verification.copy_detection import Rules
from stamp_service.verification.scans import ScanContext
from stamp_service.vn_time import VIETNAM

T0 = dt.datetime(2026, 11, 20, 16, 30, tzinfo=dt.timezone.utc)  # 23:30 in Vietnam: an hour on is the next day


def verify(app, code: str, now: dt.datetime, household: str, *, source: str = "qr") -> checker.Outcome:
    with app.app_context():
        context = ScanContext(household, f"net-{household}", "Chrome/Android", household=household)
        return checker.verify(get_storage(), keystore(app).records(), code, source=source, context=context,
                              rules=Rules(), now=now, evidence=source == "qr")


def scan_mix(app, world) -> set[str]:
    """Scans of every kind through the real checker, over two Vietnam days; returns the verdicts seen."""
    with app.app_context():
        run = issuing.get_run(get_storage(), world.run_a)
        codes = list(issuing.codes(run, keystore(app), app.config["PUBLIC_HOST"]))[:4]
    verdicts = []
    (s0, copied), (s1, _), (s2, code2), (s3, code3) = codes
    # One stamp copied: more households than a pack has, each on its own network, within two days.
    for hours, household in ((0, "h0"), (1, "h1"), (25, "h0"), (26, "h1"), (30, "h2"), (31, "h3"), (32, "h4"),
                             (33, "h5")):
        verdicts.append(verify(app, copied, T0 + dt.timedelta(hours=hours), household).verdict.name)
    verdicts.append(verify(app, code2, T0, "k1").verdict.name)
    verdicts.append(verify(app, code2, T0 + dt.timedelta(hours=2), "k2").verdict.name)
    typed = format_serial(s1)
    verdicts.append(verify(app, typed, T0, "t1", source="typed").verdict.name)
    typo = typed[:-3] + str((int(typed[-3]) + 1) % 10) + typed[-2:]
    verdicts.append(verify(app, typo, T0, "t2", source="typed").verdict.name)
    verdicts.append(verify(app, format_serial(9_999_999), T0, "t3", source="typed").verdict.name)
    forged = code3[:-4] + ("A" if code3[-4] != "A" else "B") + code3[-3:]
    verdicts.append(verify(app, forged, T0 + dt.timedelta(hours=3), "f1").verdict.name)
    verdicts.append(verify(app, "không phải tem", T0, "f2", source="api").verdict.name)
    shared = verify(app, code3, T0 + dt.timedelta(hours=4), "p1")
    with app.app_context():
        storage = get_storage()
        scan_rows.share_province(storage, storage.get("scans", shared.scan_id), "22")
        issuing.recall(storage, world.batch_a, "Lô lỗi bao bì")
    verdicts.append(shared.verdict.name)
    verdicts.append(verify(app, code3, T0 + dt.timedelta(hours=40), "p2").verdict.name)
    return set(verdicts)


def test_tallies_equal_a_recount_after_every_kind_of_scan(app, world):
    seen = scan_mix(app, world)
    assert {"genuine", "suspected-copy", "mistyped", "malformed", "recalled"} <= seen, seen
    assert seen & {"invalid-signature", "malformed"}
    with app.app_context():
        storage = get_storage()
        kept, expected = tallies.stored(storage), tallies.recount(storage)
        assert kept == expected
        assert all(kept.values()), kept  # every tally has rows: the comparison above compared something
        assert len({day for day, *_ in kept["scan_days"]}) == 3  # 23:30 and later in Vietnam are the next days
        assert sum(kept["scan_days"].values()) == storage.count("scans") == 17
        assert kept["product_province_days"] == {("2026-11-21", world.product_a, "22"): 1}  # the shared province


def test_staff_pages_give_the_answers_a_count_of_the_scans_gives(app, world):
    """The tallies against the queries the pages ran on the scans table before 0017 (same window, same days)."""
    scan_mix(app, world)
    today = dt.date(2026, 11, 22)
    with app.app_context():
        storage = get_storage()
        since = scan_rows.iso(dt.datetime.combine(today - dt.timedelta(days=29), dt.time(), VIETNAM))
        d = stats.dashboard(storage, today=today)
        per_day = storage.count_by("scans", "at", since_column="at", since=since, day=True, utc_offset_hours=7)
        assert {day: n for day, n in d["scans_per_day"] if n} == per_day
        by_verdict = storage.count_by("scans", "verdict", since_column="at", since=since)
        assert {v: n for v, n in d["verdicts"] if n} == by_verdict
        bad = storage.count_by("scans", "serial", since_column="at", since=since, verdict=list(stats.BAD))
        suspected = storage.count_by("scans", "serial", since_column="at", since=since, verdict=stats.SUSPECT)
        assert {r["serial"]: (r["suspected"], r["bad"]) for r in d["suspicious"]} == {
            s: (suspected.get(s, 0), n) for s, n in bad.items() if s is not None}
        assert d["suspicious"][0]["suspected"] >= 2
        located = storage.count_by("scans", "province_code", since_column="at", since=since, batch_id=world.batch_a)
        assert [(r["code"], r["scans"]) for r in d["provinces"][0]["provinces"]] == [
            (c, n) for c, n in located.items() if c]

        summary = history.batch_summary(storage, world.batch_a)
        assert summary["verdicts"] == storage.count_by("scans", "verdict", batch_id=world.batch_a)
        assert summary["scans_per_day"] == storage.count_by("scans", "at", day=True, utc_offset_hours=7,
                                                            batch_id=world.batch_a)
        per_serial = storage.count_by("scans", "serial", batch_id=world.batch_a)
        assert [(t["scans"], t["serial"]) for t in summary["top_serials"]] == sorted(
            ((n, s) for s, n in per_serial.items() if s is not None), reverse=True)[:10]
        mine = producer_summary.summary(storage, world.producer_a, today=today)
        assert {day: n for day, n in mine["scans_per_day"] if n} == storage.count_by(
            "scans", "at", since_column="at", since=since, day=True, utc_offset_hours=7, batch_id=[world.batch_a])


def test_migration_fills_the_tallies_from_existing_scans(tmp_path, monkeypatch):
    path = str(tmp_path / "old.sqlite")
    before = [m for m in schema.MIGRATIONS if m[0] < "0017"]
    monkeypatch.setattr("stamp_service.storage.sqlite.MIGRATIONS", before)
    old = Storage(path, migrate=True)
    old.db.execute("INSERT INTO producers (id, name, type, commune_code, province_code) VALUES (1, 'HTX', "
                   "'cooperative', '06978', '22')")
    old.db.execute("INSERT INTO products (id, producer_id, name, product_group) VALUES (7, 1, 'Trà', 'drinks')")
    old.db.execute("INSERT INTO batches (id, product_id, lot, production_date, quantity, origin_commune_code,"
                   " origin_province_code) VALUES (3, 7, 'A', '2026-11-01', 10, '06978', '22')")
    rows = [("2026-11-20T16:59:59Z", 5, 3, "genuine", "22"), ("2026-11-20T17:00:00Z", 5, 3, "genuine", None),
            ("2026-11-20T17:00:00Z", 5, 3, "suspected-copy", "01"), ("2026-11-21T01:00:00Z", None, None, "malformed",
                                                                     None),
            ("2026-11-21T02:00:00Z", 6, 3, "mistyped", None), ("2026-11-21T03:00:00Z", 9, None, "unknown-key", "79")]
    old.db.conn.executemany("INSERT INTO scans (at, serial, batch_id, verdict, source, province_code)"
                            " VALUES (?, ?, ?, ?, 'qr', ?)", rows)
    old.db.conn.commit()
    old.close()
    monkeypatch.undo()
    storage = Storage(path, migrate=True)
    assert storage.migrations_applied()[-1].startswith("0017")
    assert tallies.stored(storage) == tallies.recount(storage)
    assert tallies.stored(storage)["bad_serial_days"] == {("2026-11-21", 5, "suspected-copy"): 1,
                                                          ("2026-11-21", 9, "unknown-key"): 1}
    assert tallies.per_day(storage) == {"2026-11-20": 1, "2026-11-21": 5}
    assert tallies.stored(storage)["product_province_days"] == {("2026-11-20", 7, "22"): 1, ("2026-11-21", 7, "01"): 1}
    indexes = {r[0] for r in storage.db.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'scans'"
                                                " AND type = 'index'")}
    assert indexes == {"scans_serial_at", "scans_run_serial_at"}
    assert storage.db.execute("SELECT count(*) FROM sqlite_master WHERE name IN ('reports_at', 'reports_serial',"
                              " 'suspicions_batch')").fetchone()[0] == 3
    # The migration's frozen list of red verdicts is still the one the code counts.
    assert schema._BAD_TONE == ", ".join(f"'{v}'" for v in tallies.BAD_TONE)


def test_a_failed_scan_insert_leaves_no_tally_behind(app, world):
    with app.app_context():
        storage = get_storage()
        with pytest.raises(Exception):
            scan_rows.store(storage, {"at": "2026-11-20T01:00:00Z", "verdict": "genuine", "source": "qr",
                                      "batch_id": 999_999})  # no such batch: the foreign key refuses the row
        assert storage.count("scans") == 0 and not any(tallies.stored(storage).values())


# --- query plans ----------------------------------------------------------------------------------------------


def plans(storage: Storage, sql: str, params=()) -> str:
    return " | ".join(r[3] for r in storage.db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall())


@pytest.mark.sqlite_only  # SQLite's query plans and files
def test_every_query_of_a_scan_and_of_the_staff_pages_is_an_index_probe(app, world):
    """Traced statements of a verification, the dashboard, a batch summary, a stamp's history and the producer's
    home: none walks scans, runs or a tally (SCAN), each SEARCHes an index."""
    scan_mix(app, world)
    with app.app_context():
        storage = get_storage()
        statements: list[str] = []
        storage.db.conn.set_trace_callback(statements.append)
        try:
            _, code = issuing.codes(issuing.get_run(storage, world.run_a), keystore(app), app.config["PUBLIC_HOST"],
                                    5, 5).__next__()
            checker.verify(storage, keystore(app).records(), code, source="qr", rules=Rules(), evidence=True,
                           context=ScanContext("d", "n", "Chrome/Android", household="d"))
            stats.dashboard(storage, today=dt.date(2026, 11, 22))
            history.batch_summary(storage, world.batch_a)
            history.stamp_history(storage, keystore(app).records(), world.first_serial, Rules())
            producer_summary.summary(storage, world.producer_a)
        finally:
            storage.db.conn.set_trace_callback(None)
        big = ("scans", "runs", "reports", "suspicions", *tallies.KEYS)  # the tables that grow with use
        checked = 0
        for sql in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            plan = plans(storage, sql)
            # An index read in its order that stops at a LIMIT (the newest reports) reads only what it shows.
            newest = " LIMIT " in sql and "TEMP B-TREE" not in plan and "USING INDEX" in plan
            for table in big:
                if f"SCAN {table} " in f"{plan} " and not newest:
                    pytest.fail(f"{sql}\n  walks {table}: {plan}")
            # Scans are only ever read one stamp (or one run's few serials) at a time, never by a time range.
            if "SEARCH scans " in plan and not any(k in plan for k in ("(serial=?", "(run_id=?", "(rowid=?")):
                pytest.fail(f"{sql}\n  reads a range of scans: {plan}")
            checked += any(f"SEARCH {t} " in plan for t in big)
        assert checked >= 30, statements


@pytest.mark.sqlite_only  # SQLite's query plans and files
def test_run_of_a_serial_and_neighbours_read_one_index_range(app, world):
    with app.app_context():
        storage = get_storage()
        plan = plans(storage, "SELECT * FROM runs WHERE first_serial <= ? ORDER BY first_serial DESC LIMIT 1", [5])
        assert plan.startswith("SEARCH runs USING INDEX") and "first_serial<?" in plan and "TEMP B-TREE" not in plan
        # With bound parameters, as the copy rules ask: only the partial index of evidence scans is read.
        plan = plans(storage, "SELECT id, at, serial, household, net_hash, province_code FROM scans WHERE run_id = ?"
                     " AND serial BETWEEN ? AND ? AND evidence = 1 AND at >= ?", [1, 2, 3, "x"])
        assert "USING INDEX scans_run_serial_at (run_id=? AND serial>? AND serial<?)" in plan, plan
        first = world.first_serial
        assert issuing.run_for_serial(storage, first)["id"] == world.run_a
        assert issuing.run_for_serial(storage, first + 19)["id"] == world.run_a
        assert issuing.run_for_serial(storage, first + 20) is None and issuing.run_for_serial(storage, 0) is None
        assert issuing.run_for_serial(storage, 2**63) is None  # out of SQLite's range: no run, no error
    # Neighbours are the same rows the generic query finds.
    scan_mix(app, world)
    with app.app_context():
        storage = get_storage()
        now = T0 + dt.timedelta(hours=33)
        rules = Rules()
        found = suspicions.neighbours(storage, world.run_a, first + 1, rules, now)
        since = scan_rows.iso(now - dt.timedelta(days=rules.sheet_days))
        generic = storage.distinct_between("scans", ("id",), "serial", first + 1 - rules.sheet_window,
                                           first + 1 + rules.sheet_window, "at", since, run_id=world.run_a,
                                           evidence=1)
        ids = sorted(r[0] for r in generic if storage.get("scans", r[0])["serial"] != first + 1)
        assert ids and sorted(storage.find("scans", serial=e.serial, at=scan_rows.iso(e.at))[0]["id"]
                              for e in found) == ids


# --- the WAL --------------------------------------------------------------------------------------------------


def test_wal_is_truncated_on_schedule_and_a_reader_never_makes_it_wait(tmp_path):
    path = str(tmp_path / "wal.sqlite")
    storage = Storage(path, migrate=True)
    storage.checkpoint_every, storage.checkpoint_seconds = 10**9, 10**9
    wal = path + "-wal"
    for i in range(300):
        storage.insert("rejected_reports", {"device": "d" * 500 + str(i)})
    assert os.path.getsize(wal) > 200_000  # SQLite's own checkpoints reuse the file, never shrink it
    storage.checkpoint_every = 50
    storage.insert("rejected_reports", {"device": "over 50 commits since the last checkpoint"})
    assert os.path.getsize(wal) == 0
    for i in range(49):
        storage.insert("rejected_reports", {"device": "d" * 500 + str(i)})
    assert os.path.getsize(wal) > 50_000  # not due yet
    storage.insert("rejected_reports", {"device": "the 50th"})
    assert os.path.getsize(wal) == 0
    # Time is the other trigger.
    storage.checkpoint_every, storage.checkpoint_seconds = 10**9, 0.0
    storage.insert("rejected_reports", {"device": "x" * 5000})
    assert os.path.getsize(wal) == 0
    # A reader holding an old snapshot: the writer's checkpoint gives up at once instead of waiting 10 s.
    reader = sqlite3.connect(path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM rejected_reports").fetchone()
    started = time.monotonic()
    storage.insert("rejected_reports", {"device": "while read"})
    assert time.monotonic() - started < 1 and os.path.getsize(wal) > 0
    reader.rollback()
    reader.close()
    storage.insert("rejected_reports", {"device": "after"})
    assert os.path.getsize(wal) == 0 and storage.count("rejected_reports") == 354
    storage.close()


# --- backup and check -----------------------------------------------------------------------------------------


@pytest.mark.sqlite_only  # SQLite's query plans and files
def test_backup_while_writing_restores_a_working_instance(app, world, runner, tmp_path):
    scan_mix(app, world)
    stop = threading.Event()
    written = []

    def writer() -> None:  # the service keeps scanning during the backup: scans and tallies in one transaction
        with app.app_context():
            storage = get_storage()
            i = 0
            while not stop.is_set():
                scan_rows.store(storage, {"at": f"2026-11-21T0{i % 10}:00:00Z", "serial": world.first_serial + i % 20,
                                          "batch_id": world.batch_a, "run_id": world.run_a, "verdict": "genuine",
                                          "source": "qr", "province_code": "22"})
                written.append(i)
                i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:
            time.sleep(0.01)
        dest = tmp_path / "backup.sqlite"
        result = runner.invoke(cli, ["backup", str(dest)])
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    assert "checked" in result.output and not os.path.exists(f"{dest}.part")
    with contextlib.closing(sqlite3.connect(dest)) as plain:  # one self-contained file: no -wal beside it
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    copy = Storage(str(dest))
    assert tallies.stored(copy) == tallies.recount(copy)  # one snapshot: no scan without its counts
    assert 17 + 20 <= copy.count("scans")
    copy.close()
    assert runner.invoke(cli, ["backup", str(dest)]).exit_code == 1  # never overwritten by mistake
    assert runner.invoke(cli, ["backup", str(tmp_path / "no" / "x.sqlite")]).exit_code == 1

    # Restored: the same instance (keys, secret) on the copy verifies stamps and shows the history.
    restored = create_app({"TESTING": True, "PUBLIC_HOST": app.config["PUBLIC_HOST"],
                           "KEY_PASSPHRASE": app.config["KEY_PASSPHRASE"], "DATABASE": str(dest)})
    _, code = next(issuing.codes(issuing.get_run(Storage(str(dest)), world.run_a), keystore(restored),
                                 restored.config["PUBLIC_HOST"], world.first_serial + 6, world.first_serial + 6))
    answer = restored.test_client().get("/api/v1/verify", query_string={"code": code}).get_json()
    assert answer["verdict"] == "recalled" and answer["scan_count"] >= 2  # the copy's own scans are there
    assert runner.invoke(cli, ["check", str(dest)]).exit_code == 0


@pytest.mark.sqlite_only  # SQLite's query plans and files
def test_check_finds_a_damaged_copy(app, world, runner, tmp_path):
    scan_mix(app, world)
    ok = runner.invoke(cli, ["check"])
    assert ok.exit_code == 0 and ok.output.strip().endswith(": ok")
    good = tmp_path / "good.sqlite"
    assert runner.invoke(cli, ["backup", str(good)]).exit_code == 0
    # Damage the scans table's index pages (the file still opens: its header is intact).
    conn = sqlite3.connect(good)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'scans_serial_at'").fetchone()[0]
    conn.close()
    bad = tmp_path / "bad.sqlite"
    data = bytearray(good.read_bytes())
    offset = (root - 1) * page_size
    data[offset + 8: offset + page_size] = bytes(range(256)) * ((page_size - 8) // 256) + bytes((page_size - 8) % 256)
    bad.write_bytes(bytes(data))
    result = runner.invoke(cli, ["check", str(bad)])
    assert result.exit_code == 1 and "problem(s)" in result.output, result.output
    as_json = runner.invoke(cli, ["check", "--json", str(bad)])
    assert as_json.exit_code == 1 and '"ok": false' in as_json.output
    text = tmp_path / "notes.txt"
    text.write_text("không phải cơ sở dữ liệu " * 200)
    assert runner.invoke(cli, ["check", str(text)]).exit_code == 1
    # A broken reference is found too (foreign keys are checked, not only pages).
    broken = tmp_path / "broken.sqlite"
    assert runner.invoke(cli, ["backup", str(broken)]).exit_code == 0
    conn = sqlite3.connect(broken)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("UPDATE scans SET batch_id = 424242 WHERE id = 1")
    conn.commit()
    conn.close()
    result = runner.invoke(cli, ["check", str(broken)])
    assert result.exit_code == 1 and "foreign key: scans" in result.output
