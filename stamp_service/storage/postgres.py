"""The PostgreSQL back end, for several nodes sharing one database: psycopg 3 with a connection pool per process.

A Storage borrows one pooled connection when it first runs a statement and gives it back at release() (the end of
a request), so a node holds as many connections as it has requests in flight, not one per thread. Statements
outside transaction() run in autocommit; transaction() nests as savepoints, as SQLite's does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import threading
from typing import Any, Iterator, Sequence
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import ConnectionPool

from .base import Row, Storage, _ProbeDone, check_month, check_range
from .errors import Conflict, MissingValue, StorageError, StorageUnavailable, UnknownReference
from .pg_schema import POSTGRES_MIGRATIONS

#: the session-level advisory lock held while migrations run, so nodes starting together migrate once
MIGRATION_LOCK = 0x0C0B_57A3
#: months of scans partitions made ahead of the current month
MONTHS_AHEAD = 2

_pools: dict[str, ConnectionPool] = {}
_pools_lock = threading.Lock()


def is_postgres_url(target: str) -> bool:
    """Whether a database setting names a PostgreSQL server rather than a SQLite file."""
    return target.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without its password, fit for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def pool_for(url: str, *, max_size: int = 16) -> ConnectionPool:
    """The process's pool for a database URL (made on first use; closed at exit by psycopg_pool)."""
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None or pool.closed:
            pool = _pools[url] = ConnectionPool(
                url, min_size=1, max_size=max_size, open=True, name="ocop-stamp",
                kwargs={"autocommit": True}, timeout=10, check=ConnectionPool.check_connection,
            )
        return pool


def close_pool(url: str) -> None:
    """Close a database's pool (tests that drop their database, and shutdown)."""
    with _pools_lock:
        pool = _pools.pop(url, None)
    if pool is not None:
        pool.close()


class PostgresStorage(Storage):
    """A borrowed connection to the service's PostgreSQL database."""

    dialect = "postgresql"

    def __init__(self, url: str, *, migrate: bool = False) -> None:
        super().__init__()
        self.url = url
        self.target = redacted(url)
        self._pool = pool_for(url)
        self._conn: psycopg.Connection | None = None
        if migrate:
            self.migrate()

    # -- connection ---------------------------------------------------------------------------------------------

    @property
    def connection(self) -> psycopg.Connection:
        """The borrowed connection (borrowed now if need be)."""
        if self._conn is None:
            try:
                self._conn = self._pool.getconn()
            except Exception as exc:  # PoolTimeout, OperationalError: the server is away or every slot busy
                raise StorageUnavailable("unreachable") from exc
        return self._conn

    def release(self) -> None:
        """Roll back anything left open and give the connection back to the pool."""
        conn, self._conn = self._conn, None
        if conn is not None:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                with contextlib.suppress(psycopg.Error):  # a broken connection: the pool discards it
                    conn.rollback()
            self._pool.putconn(conn)

    def close(self) -> None:
        """Give the connection back (the pool stays for the process)."""
        self.release()

    # -- schema -------------------------------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply the migrations this database has not seen yet, under an advisory lock; make scans partitions."""
        applied: list[str] = []
        conn = self.connection
        conn.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        try:
            with conn.transaction():
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL"
                    f" DEFAULT {NOW_SQL}, seq BIGINT GENERATED ALWAYS AS IDENTITY)"
                )
                done = {r[0] for r in conn.execute("SELECT name FROM _migrations").fetchall()}
                for name, statements in POSTGRES_MIGRATIONS:
                    if name in done:
                        continue
                    for sql in statements:
                        conn.execute(sql)
                    conn.execute("INSERT INTO _migrations (name) VALUES (%s)", [name])
                    applied.append(name)
                self._ensure_partitions(dt.datetime.now(dt.timezone.utc).date())
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
            self._forget_columns()
        return applied

    def migrations_applied(self) -> list[str]:
        """Names of the migrations this database has, oldest first."""
        rows = self.connection.execute("SELECT name FROM _migrations WHERE name <> 'readiness probe' ORDER BY seq")
        return [r[0] for r in rows.fetchall()]

    def _read_columns(self) -> dict[str, frozenset[str]]:
        rows = self.connection.execute(
            "SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = c.oid"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            " AND a.attnum > 0 AND NOT a.attisdropped AND left(c.relname, 1) <> '_'"
        ).fetchall()
        tables: dict[str, set[str]] = {}
        for table, column in rows:
            tables.setdefault(table, set()).add(column)
        return {t: frozenset(c) for t, c in tables.items()}

    # -- scans partitions ---------------------------------------------------------------------------------------

    def scan_partitions(self) -> list[str]:
        """The months (YYYY-MM) that have their own scans partition, oldest first."""
        rows = self.connection.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace"
            " WHERE p.relname = 'scans' AND n.nspname = current_schema() ORDER BY c.relname"
        ).fetchall()
        return [_month_of(r[0]) for r in rows if _month_of(r[0])]

    def _ensure_partitions(self, today: dt.date) -> list[str]:
        """Make the scans partitions of this month and the next ones (rows already in the default move in)."""
        made = []
        have = set(self.scan_partitions())
        month = dt.date(today.year, today.month, 1)
        for _ in range(MONTHS_AHEAD + 1):
            key = month.strftime("%Y-%m")
            if key not in have:
                self._make_partition(month)
                made.append(key)
            month = _next_month(month)
        return made

    def ensure_partitions(self, today: dt.date | None = None) -> list[str]:
        """Make the coming months' scans partitions now (start-up does it too); return the months made."""
        conn = self.connection
        conn.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        try:
            with conn.transaction():
                return self._ensure_partitions(today or dt.datetime.now(dt.timezone.utc).date())
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])

    def _make_partition(self, month: dt.date) -> None:
        low, high = month.strftime("%Y-%m"), _next_month(month).strftime("%Y-%m")
        name = _partition_name(month)
        conn = self.connection
        # Scans already written for that month (a clock ahead, an import) wait in the default partition; they move
        # into the new one in the same transaction, which PostgreSQL requires before attaching the range.
        conn.execute(f"CREATE TABLE {name} (LIKE scans INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        conn.execute(f"WITH moved AS (DELETE FROM scans_default WHERE at >= %s AND at < %s RETURNING *)"
                     f" INSERT INTO {name} SELECT * FROM moved", [low, high])
        conn.execute(f"ALTER TABLE scans ATTACH PARTITION {name} FOR VALUES FROM ('{low}') TO ('{high}')")

    def detach_scans_before(self, month: str) -> list[str]:
        """Detach every monthly scans partition before month (YYYY-MM); they stay as tables to dump and drop."""
        check_month(month)
        detached = []
        for key in self.scan_partitions():
            if key < month:
                name = _partition_name(dt.date(int(key[:4]), int(key[5:]), 1))
                self.connection.execute(f"ALTER TABLE scans DETACH PARTITION {name}")
                detached.append(name)
        return detached

    def archive_scans(self, before: str, folder: str) -> list[str]:
        """Detach the monthly partitions before month `before`, and move older rows of the default partition into
        a table of their own; return the tables, left for the operator to dump (pg_dump -t) and drop."""
        check_month(before)
        with self.transaction():
            tables = self.detach_scans_before(before)
            leftover = self.connection.execute("SELECT count(*) FROM scans_default WHERE at < %s", [before])
            if leftover.fetchone()[0]:
                name = f"scans_before_{before.replace('-', '_')}"
                self.connection.execute(f"CREATE TABLE IF NOT EXISTS {name} (LIKE scans INCLUDING DEFAULTS)")
                self.connection.execute(f"WITH moved AS (DELETE FROM scans_default WHERE at < %s RETURNING *)"
                                        f" INSERT INTO {name} SELECT * FROM moved", [before])
                tables.append(name)
        return tables

    # -- transactions -------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator["PostgresStorage"]:
        """All writes inside commit together or not at all; nested blocks become savepoints."""
        try:
            with self.connection.transaction():
                yield self
        except (psycopg.OperationalError, pg_errors.ReadOnlySqlTransaction) as exc:
            raise _unavailable(exc) from exc

    def lock(self, name: str) -> None:
        """Inside a transaction: wait for, then hold until commit, the named advisory lock (e.g. serials)."""
        if self.connection.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
            raise StorageError(f"lock {name!r} taken outside a transaction")
        self.connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])

    def check_writable(self) -> None:
        """Raise StorageUnavailable unless a write would succeed now (the write is rolled back)."""
        with contextlib.suppress(_ProbeDone), self.transaction():
            self.connection.execute("INSERT INTO _migrations (name) VALUES ('readiness probe')")
            raise _ProbeDone

    # -- statements ---------------------------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement written with ? placeholders in a transaction; return its rows (maintenance, tests)."""
        with self.transaction():
            return self._write("(statement)", sql, list(params))[1]

    def _cursor(self, row_factory: Any, sql: str, params: Sequence[Any]) -> psycopg.Cursor:
        try:
            return self.connection.cursor(row_factory=row_factory).execute(_pg(sql), list(params))
        except (psycopg.OperationalError, pg_errors.ReadOnlySqlTransaction) as exc:
            raise _unavailable(exc) from exc

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return self._cursor(dict_row, sql, params).fetchall()

    def _tuples(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self._cursor(tuple_row, sql, params).fetchall()

    def _write(self, table: str, sql: str, params: list[Any]) -> tuple[int, list[Row]]:
        check_range(table, params)
        try:
            cursor = self._cursor(dict_row, sql, params)
        except pg_errors.IntegrityError as exc:
            raise _integrity_error(table, exc, self.columns(table) if table in self.tables() else frozenset()) \
                from None
        except (pg_errors.DataError, pg_errors.RaiseException) as exc:
            raise StorageError(f"{table}: {exc.diag.message_primary or exc}") from None
        return cursor.rowcount, (cursor.fetchall() if cursor.description else [])

    def _day(self, column: str, utc_offset_hours: int) -> str:
        if utc_offset_hours:
            # a stored time is UTC text ending in Z; as a plain timestamp the Z is ignored, which is what we want
            return f"to_char(({column})::timestamp + interval '{utc_offset_hours:d} hours', 'YYYY-MM-DD')"
        return f"substr({column}, 1, 10)"


NOW_SQL = """(to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))"""


@functools.lru_cache(maxsize=1024)
def _pg(sql: str) -> str:
    """Our SQL uses ? placeholders (SQLite's); psycopg takes %s, and a literal % must be doubled."""
    return sql.replace("%", "%%").replace("?", "%s")


def _partition_name(month: dt.date) -> str:
    return f"scans_y{month.year:04d}m{month.month:02d}"


def _month_of(name: str) -> str | None:
    match = re.fullmatch(r"scans_y(\d{4})m(\d{2})", name)
    return f"{match[1]}-{match[2]}" if match else None


def _next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _integrity_error(table: str, exc: pg_errors.IntegrityError, columns: frozenset[str]) -> StorageError:
    diag = exc.diag
    if isinstance(exc, pg_errors.UniqueViolation):
        # "Key (id_type, id_value)=(tax_code, 0101234565) already exists." (or "Key (lower(email))=...")
        key = (diag.message_detail or "").partition("(")[2].partition(")=")[0]
        names = [n for n in re.findall(r"[a-z_]+", key) if n in columns] or [diag.constraint_name or "?"]
        return Conflict(table, names)
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        return UnknownReference(table)
    if isinstance(exc, pg_errors.NotNullViolation):
        return MissingValue(table, diag.column_name or "?")
    return StorageError(f"{table}: {diag.message_primary or exc}")


def _unavailable(exc: psycopg.Error) -> StorageUnavailable:
    """What an operational failure means for the caller: retry later; the operator reads the log."""
    if isinstance(exc, pg_errors.DiskFull):
        return StorageUnavailable("disk_full")
    if isinstance(exc, pg_errors.ReadOnlySqlTransaction):
        return StorageUnavailable("read_only")
    if isinstance(exc, (pg_errors.LockNotAvailable, pg_errors.QueryCanceled)):
        return StorageUnavailable("locked")
    return StorageUnavailable("unreachable")
