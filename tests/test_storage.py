"""Storage: migrations at start-up, transactions that leave nothing half-written, the same answers from SQLite and
PostgreSQL (the PostgreSQL cases run when OCOP_STAMP_TEST_DATABASE_URL names a server)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from stamp_service.storage import Conflict, MissingValue, SQLiteStorage, StorageError, UnknownReference, open_storage
from stamp_service.storage.migrations import MIGRATIONS
from databases import pg_storage, postgres_only, storage  # noqa: F401 - fixtures

PRODUCER = {"name": "X", "type": "cooperative", "commune_code": "06978", "province_code": "22",
            "id_type": "tax_code", "id_value": "0101234565"}


def test_sqlite_schema_is_what_sqlite_reports(tmp_path):
    storage = SQLiteStorage(str(tmp_path / "db.sqlite"), migrate=True)
    for table, columns in storage.tables().items():
        actual = {row[1] for row in storage.db.execute(f"PRAGMA table_info({table})").fetchall()}
        assert actual == columns, table
    assert "scans" in storage.tables() and "_migrations" not in storage.tables()
    assert storage.migrations_applied() == [name for name, _ in MIGRATIONS]


def test_sqlite_migrations_run_once_and_settings(tmp_path):
    path = str(tmp_path / "db.sqlite")
    assert SQLiteStorage(path, migrate=True).migrate() == []
    storage = SQLiteStorage(path)
    assert storage.pragma("journal_mode") == "wal"
    assert storage.pragma("foreign_keys") == 1


def test_failed_transaction_leaves_nothing(storage):
    with pytest.raises(RuntimeError):
        with storage.transaction():
            storage.insert("producers", {**PRODUCER, "id_type": None, "id_value": None})
            raise RuntimeError("crash mid-way")
    assert storage.count("producers") == 0


def test_a_failed_statement_inside_a_transaction_undoes_only_itself(storage):
    with storage.transaction():
        storage.insert("producers", PRODUCER)
        with pytest.raises(Conflict):
            storage.insert("producers", PRODUCER)  # a savepoint: the transaction goes on (PostgreSQL too)
        storage.insert("producers", {**PRODUCER, "id_value": "0100109106"})
    assert storage.count("producers") == 2


def test_constraint_errors_are_ours(storage):
    with pytest.raises(UnknownReference):
        storage.insert("products", {"producer_id": 42, "name": "X", "product_group": "food"})
    storage.insert("producers", PRODUCER)
    with pytest.raises(Conflict) as exc:
        storage.insert("producers", PRODUCER)
    assert exc.value.columns[-1] == "id_value"
    with pytest.raises(MissingValue) as missing:
        storage.insert("producers", {**PRODUCER, "name": None, "id_value": "0100109106"})
    assert missing.value.column == "name"
    with pytest.raises(StorageError):  # a CHECK
        storage.insert("producers", {**PRODUCER, "type": "guild", "id_value": "0100109106"})
    with pytest.raises(StorageError, match="out of range"):
        storage.insert("producers", {**PRODUCER, "daily_quota": 2**63, "id_value": "0100109106"})
    assert storage.find("producers", id=2**70) == [] and storage.count("producers", id=-(2**70)) == 0


def test_column_names_cannot_carry_sql(storage):
    with pytest.raises(ValueError):
        storage.find("producers", **{"name = name OR 1": 1})
    with pytest.raises(ValueError):
        storage.find("producers", order_by="name; DROP TABLE producers")
    with pytest.raises(ValueError):
        storage.insert("sqlite_master", {"name": "x"})
    with pytest.raises(ValueError):
        storage.insert("_migrations", {"name": "x"})
    with pytest.raises(ValueError):
        storage.count_by("scans", "at; DROP TABLE scans")


def test_queries_answer_the_same_on_both(storage):
    for at, serial, verdict in (("2026-12-02T16:59:59Z", 5, "genuine"), ("2026-12-02T17:00:00Z", 6, "genuine"),
                                ("2026-12-03T01:00:00Z", 7, "suspected-copy"), ("2027-01-01T00:00:00Z", 7, "genuine")):
        storage.insert("scans", {"at": at, "serial": serial, "verdict": verdict, "source": "qr"})
    # 17:00 UTC is midnight in Vietnam: the day changes there, not at UTC midnight
    assert storage.count_by("scans", "at", day=True, utc_offset_hours=7) == {
        "2026-12-02": 1, "2026-12-03": 2, "2027-01-01": 1}
    assert storage.count_by("scans", "at", day=True) == {"2026-12-02": 2, "2026-12-03": 1, "2027-01-01": 1}
    assert storage.count_by("scans", "verdict", since_column="at", since="2026-12-03") == {
        "genuine": 1, "suspected-copy": 1}
    assert storage.count_and_min("scans", "at", serial=7) == (2, "2026-12-03T01:00:00Z")
    assert [r["serial"] for r in storage.find_since("scans", "at", "2026-12-02T17:00:00Z")] == [7, 7, 6]
    assert storage.distinct_between("scans", ("serial",), "serial", 6, 9, "at", "2026-01-01") in (
        [(6,), (7,)], [(7,), (6,)])
    assert storage.find("scans", serial=[], verdict="genuine") == []
    assert storage.max_value("scans", "serial") == 7 and storage.sum_span("scans", "serial", "serial") == 4
    assert storage.update_where("scans", {"verdict": "warning"}, serial=7) == 2


def test_every_migration_exists_in_both_dialects_with_the_same_columns(tmp_path, pg_storage):
    from stamp_service.storage.pg_schema import POSTGRES_MIGRATIONS

    sqlite_names = [name for name, _ in MIGRATIONS]
    pg_names = [name for name, _ in POSTGRES_MIGRATIONS]
    baseline = pg_names[0]
    assert baseline == "0014_postgresql_baseline" and sqlite_names[13].startswith("0014_")
    assert pg_names[1:] == sqlite_names[14:]  # every later step is written twice, under one name
    sqlite = SQLiteStorage(str(tmp_path / "db.sqlite"), migrate=True)
    assert pg_storage.tables() == sqlite.tables()
    assert pg_storage.migrations_applied() == pg_names


@postgres_only
def test_nodes_starting_together_migrate_once(pg_storage):
    url = pg_storage.url
    pg_storage.execute("DROP SCHEMA public CASCADE")
    pg_storage.execute("CREATE SCHEMA public")
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        applied = list(pool.map(_migrate, [url] * 4))
    from stamp_service.storage.pg_schema import POSTGRES_MIGRATIONS

    assert sorted(map(len, applied))[:3] == [0, 0, 0]  # one node migrated; the others waited, then found it done
    assert sum(map(len, applied)) == len(POSTGRES_MIGRATIONS) == len(pg_storage.migrations_applied())


def _migrate(url: str) -> list[str]:
    storage = open_storage(url)
    try:
        return storage.migrate()
    finally:
        storage.close()


@postgres_only
def test_scans_are_partitioned_by_month_made_ahead_and_detachable(pg_storage):
    months = pg_storage.scan_partitions()
    this_month = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m")
    assert months[0] == this_month and len(months) == 3
    # a scan from a month with no partition yet waits in the default partition, then moves into its own
    pg_storage.insert("scans", {"at": "2031-05-02T03:00:00Z", "verdict": "genuine", "source": "qr"})
    pg_storage.insert("scans", {"at": "2031-04-30T23:00:00Z", "verdict": "genuine", "source": "qr"})
    assert pg_storage.ensure_partitions(dt.date(2031, 5, 1)) == ["2031-05", "2031-06", "2031-07"]
    assert pg_storage.execute("SELECT count(*) AS n FROM scans_y2031m05")[0]["n"] == 1
    assert pg_storage.execute("SELECT count(*) AS n FROM scans_default")[0]["n"] == 1
    assert pg_storage.count("scans") == 2
    detached = pg_storage.detach_scans_before("2031-06")
    assert "scans_y2031m05" in detached and this_month not in pg_storage.scan_partitions()
    assert pg_storage.count("scans") == 1  # the detached month is out of the live table, kept for the archive
    assert pg_storage.execute("SELECT count(*) AS n FROM scans_y2031m05")[0]["n"] == 1
    with pytest.raises(ValueError):
        pg_storage.detach_scans_before("2031-13")


def test_writers_take_turns_in_threads_and_processes_not_in_sqlites_busy_handler(tmp_path):
    """Writers of one SQLite file take turns (storage/writers.py): threads on the process's lock, processes on a
    file lock. Even with SQLite's busy timeout at zero (a writer that found the file locked would fail at once),
    none of 2 processes x 4 threads ever finds it locked, and a thread's second connection still waits for its
    first as before (SQLite's answer, here at once: locked) instead of deadlocking on itself."""
    path = str(tmp_path / "db.sqlite")
    SQLiteStorage(path, migrate=True).close()
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    processes = [ctx.Process(target=_write_scans, args=(path, p, results)) for p in range(2)]
    for process in processes:
        process.start()
    errors = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)
    assert errors == [[], []]
    storage = SQLiteStorage(path)
    assert storage.count("scans") == 2 * 4 * 40

    other = SQLiteStorage(path)
    other.db.execute("PRAGMA busy_timeout = 0")
    with storage.transaction():
        storage.insert("scans", SCAN)
        with pytest.raises(StorageError, match="locked"):
            with other.transaction():
                pass
    assert storage.count("scans") == 2 * 4 * 40 + 1
    storage.close()
    other.close()


SCAN = {"at": "2026-12-03T08:00:00Z", "verdict": "genuine", "source": "qr"}


def _write_scans(path: str, process: int, results) -> None:
    """4 threads, each with its own connection (busy timeout 0), writing 40 scans in transactions that also read."""
    import threading

    errors: list[str] = []
    start = threading.Barrier(4)

    def writer(n: int) -> None:
        storage = SQLiteStorage(path)
        storage.db.execute("PRAGMA busy_timeout = 0")
        start.wait()
        try:
            for i in range(40):
                with storage.transaction():
                    storage.insert("scans", {**SCAN, "serial": 1000 * (4 * process + n) + i})
                    storage.count("scans")  # the turn lasts the whole transaction, reads included
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(repr(exc))
        finally:
            storage.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    results.put(errors)
