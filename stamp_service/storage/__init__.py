"""Storage: the one module that speaks SQL. Views and the registry call these methods, never the database.

The embedded back end is SQLite through sqlite-utils (WAL, foreign keys on). A PostgreSQL back end would
implement the same small surface: transaction, insert, update, get, find, find_one, count, migrate.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from typing import Any, Iterator, Mapping, Sequence

import sqlite_utils

from .errors import Conflict, MissingValue, StorageError, StorageUnavailable, UnknownReference, unavailable
from .migrations import MIGRATIONS, TABLES

__all__ = ["Storage", "StorageError", "StorageUnavailable", "Conflict", "MissingValue", "UnknownReference"]

Row = dict[str, Any]


class Storage:
    """A connection to the service's database."""

    # The WAL file is truncated (wal_checkpoint(TRUNCATE)) after this many commits or seconds, whichever comes
    # first, counted over every connection of this process to the same file (see _after_commit).
    checkpoint_every = 1000
    checkpoint_seconds = 60.0

    def __init__(self, path: str, *, migrate: bool = False) -> None:
        self.path = path
        self.db = sqlite_utils.Database(path)
        self.db.conn.row_factory = sqlite3.Row
        self.db.execute("PRAGMA busy_timeout = 10000")
        self.db.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous = NORMAL")
        if migrate:
            self.migrate()

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # -- schema -------------------------------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply the migrations this database has not seen yet; return their names."""
        applied: list[str] = []
        # Rebuilding a table (SQLite cannot alter a CHECK) needs foreign keys off; they are checked before commit
        # instead, as SQLite's own procedure for schema changes says. The pragma is a no-op inside a transaction.
        self.db.execute("PRAGMA foreign_keys = OFF")
        try:
            with self.transaction():
                self.db.execute(
                    "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL"
                    " DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))"
                )
                done = {r[0] for r in self.db.execute("SELECT name FROM _migrations").fetchall()}
                for name, statements in MIGRATIONS:
                    if name in done:
                        continue
                    for sql in statements:
                        self.db.execute(sql)
                    self.db.execute("INSERT INTO _migrations (name) VALUES (?)", [name])
                    applied.append(name)
                broken = self.db.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise StorageError(f"migration left {len(broken)} broken references, e.g. {tuple(broken[0])}")
        finally:
            self.db.execute("PRAGMA foreign_keys = ON")
        return applied

    def migrations_applied(self) -> list[str]:
        """Names of the migrations this database has, oldest first."""
        return [r[0] for r in self.db.execute("SELECT name FROM _migrations ORDER BY rowid").fetchall()]

    def pragma(self, name: str) -> Any:
        """Read one PRAGMA value (for health checks and tests)."""
        if not name.replace("_", "").isalpha():
            raise ValueError(name)
        return self.db.execute(f"PRAGMA {name}").fetchone()[0]

    # -- transactions -------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Storage"]:
        """All writes inside commit together or not at all; nested blocks become savepoints."""
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():
                yield self
            return
        try:
            # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout instead of
            # failing with "database is locked" when a read transaction tries to upgrade.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
                self._after_commit()
        except sqlite3.OperationalError as exc:
            # Read-only file, full disk, lock held past busy_timeout: an operator's problem, told apart from bugs.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            mapped = unavailable(exc)
            if mapped is None:
                raise
            raise mapped from exc

    def check_writable(self) -> None:
        """Raise StorageUnavailable unless a write would succeed now (the write is rolled back)."""
        with contextlib.suppress(_ProbeDone), self.transaction():
            self.db.execute("INSERT INTO _migrations (name) VALUES ('readiness probe')")
            raise _ProbeDone  # rolls the probe row back

    # -- rows ---------------------------------------------------------------------------------------------------

    def insert(self, table: str, values: Mapping[str, Any]) -> Row:
        """Insert one row and return it as stored."""
        cols = _columns(table, values)
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) RETURNING *"
        with self.transaction():
            return dict(self._write(table, sql, [values[c] for c in cols]).fetchall()[0])

    def update(self, table: str, row_id: int, values: Mapping[str, Any]) -> Row | None:
        """Change some columns of one row; return the row, or None if there is no such row."""
        if not values:
            return self.get(table, row_id)
        cols = _columns(table, values)
        sql = f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?"
        with self.transaction():
            self._write(table, sql, [values[c] for c in cols] + [row_id])
            return self.get(table, row_id)

    def update_where(self, table: str, values: Mapping[str, Any], **where: Any) -> int:
        """Change columns of every row matching where; return how many rows changed."""
        cols = _columns(table, values)
        clause, params = _where(table, where)
        sql = f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in cols)}{clause}"
        with self.transaction():
            return self._write(table, sql, [values[c] for c in cols] + params).rowcount

    def get(self, table: str, row_id: Any) -> Row | None:
        """One row by id, or None."""
        return self.find_one(table, id=row_id)

    def find_one(self, table: str, **where: Any) -> Row | None:
        """The first row matching where, or None."""
        rows = self.find(table, limit=1, **where)
        return rows[0] if rows else None

    def find(
        self,
        table: str,
        *,
        order_by: str | Sequence[str] = "id",
        limit: int | None = None,
        offset: int = 0,
        **where: Any,
    ) -> list[Row]:
        """Rows matching where (column=value, column=[values] for IN, column=None for IS NULL)."""
        clause, params = _where(table, where)
        order = ", ".join(_order(table, o) for o in ([order_by] if isinstance(order_by, str) else order_by))
        sql = f"SELECT * FROM {table}{clause} ORDER BY {order}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [int(limit), int(offset)]
        if not _in_range(params):
            return []  # no row can hold a number SQLite cannot store
        return [dict(r) for r in self.db.execute(sql, params).fetchall()]

    def count(self, table: str, **where: Any) -> int:
        """How many rows match where."""
        clause, params = _where(table, where)
        if not _in_range(params):
            return 0
        return self.db.execute(f"SELECT count(*) FROM {table}{clause}", params).fetchone()[0]

    def count_and_min(self, table: str, column: str, **where: Any) -> tuple[int, Any]:
        """How many rows match where, and the smallest value of column among them (one query)."""
        if column not in _table(table):
            raise ValueError(f"unknown column {table}.{column}")
        clause, params = _where(table, where)
        if not _in_range(params):
            return 0, None
        count, low = self.db.execute(f"SELECT count(*), min({column}) FROM {table}{clause}", params).fetchone()
        return count, low

    def count_by(self, table: str, column: str, *, since_column: str | None = None, since: str | None = None,
                 day: bool = False, utc_offset_hours: int = 0, **where: Any) -> dict[Any, int]:
        """Row counts grouped by a column (by its date part when day=True, that date taken utc_offset_hours from
        the stored UTC time, e.g. 7 for Vietnam's days), optionally since a time."""
        allowed = _table(table)
        if column not in allowed or (since_column is not None and since_column not in allowed):
            raise ValueError("unknown column")
        clause, params = _where(table, where)
        if since_column is not None:
            clause += (" AND " if clause else " WHERE ") + f"{since_column} >= ?"
            params.append(since)
        if not isinstance(utc_offset_hours, int) or not -14 <= utc_offset_hours <= 14:
            raise ValueError("utc_offset_hours must be a whole number of hours from -14 to 14")
        if day and utc_offset_hours:
            key = f"date({column}, '{utc_offset_hours:+d} hours')"
        else:
            key = f"substr({column}, 1, 10)" if day else column
        if not _in_range(params):
            return {}
        rows = self.db.execute(f"SELECT {key}, count(*) FROM {table}{clause} GROUP BY {key} ORDER BY {key}", params)
        return {k: n for k, n in rows.fetchall()}

    def sum_span(self, table: str, low: str, high: str, *, since_column: str | None = None, since: str | None = None,
                 **where: Any) -> int:
        """The sum of high - low + 1 over matching rows (e.g. stamps in runs), optionally since a time."""
        allowed = _table(table)
        if not {low, high} <= allowed or (since_column is not None and since_column not in allowed):
            raise ValueError("unknown column")
        clause, params = _where(table, where)
        if since_column is not None:
            clause += (" AND " if clause else " WHERE ") + f"{since_column} >= ?"
            params.append(since)
        if not _in_range(params):
            return 0
        sql = f"SELECT coalesce(sum({high} - {low} + 1), 0) FROM {table}{clause}"
        return self.db.execute(sql, params).fetchone()[0]

    def max_value(self, table: str, column: str) -> Any:
        """The largest value of a column (None for an empty table)."""
        if column not in _table(table):
            raise ValueError(f"unknown column {table}.{column}")
        return self.db.execute(f"SELECT max({column}) FROM {table}").fetchone()[0]

    def find_covering(self, table: str, low: str, high: str, value: int, **where: Any) -> list[Row]:
        """Rows whose [low, high] column range contains value (newest id first), e.g. the run of a serial."""
        allowed = _table(table)
        if low not in allowed or high not in allowed:
            raise ValueError(f"unknown columns {low}, {high}")
        clause, params = _where(table, where)
        params = [value, value] + params
        if not _in_range(params):
            return []
        sql = f"SELECT * FROM {table} WHERE {low} <= ? AND {high} >= ?{clause.replace(' WHERE ', ' AND ', 1)}"
        return [dict(r) for r in self.db.execute(sql + " ORDER BY id DESC", params).fetchall()]

    def find_since(self, table: str, column: str, since: str, *, limit: int = 10_000, **where: Any) -> list[Row]:
        """Rows matching where whose column is at or after since (ISO times compare as text), newest first."""
        if column not in _table(table):
            raise ValueError(f"unknown column {table}.{column}")
        clause, params = _where(table, where)
        if not _in_range(params):
            return []
        sql = (f"SELECT * FROM {table} WHERE {column} >= ?{clause.replace(' WHERE ', ' AND ', 1)}"
               f" ORDER BY {column} DESC LIMIT ?")
        return [dict(r) for r in self.db.execute(sql, [since, *params, limit]).fetchall()]

    def distinct_between(self, table: str, columns: Sequence[str], column: str, low: int, high: int,
                         since_column: str, since: str, **where: Any) -> list[tuple[Any, ...]]:
        """Distinct values of columns over rows with low <= column <= high and since_column >= since."""
        allowed = _table(table)
        if not set(columns) | {column, since_column} <= allowed:
            raise ValueError("unknown column")
        clause, params = _where(table, where)
        params = [low, high, since, *params]
        if not _in_range(params):
            return []
        sql = (f"SELECT DISTINCT {', '.join(columns)} FROM {table} WHERE {column} BETWEEN ? AND ? AND {since_column} >= ?"
               f"{clause.replace(' WHERE ', ' AND ', 1)}")
        return [tuple(r) for r in self.db.execute(sql, params).fetchall()]

    def find_holding(self, table: str, low: str, high: str, value: int) -> Row | None:
        """The row whose [low, high] range holds value, in a table whose ranges never overlap (the run of a
        serial): one index probe for the greatest low <= value, then its high is checked."""
        allowed = _table(table)
        if low not in allowed or high not in allowed:
            raise ValueError(f"unknown columns {low}, {high}")
        if not _in_range([value]):
            return None
        row = self.db.execute(f"SELECT * FROM {table} WHERE {low} <= ? ORDER BY {low} DESC LIMIT 1", [value]).fetchone()
        return dict(row) if row is not None and row[high] >= value else None

    def add_counts(self, table: str, keys: Mapping[str, Any], n: int = 1) -> None:
        """Add n to the count column `n` of the row with these key values (the table's primary key), making the
        row when it is new: a tally kept in the caller's transaction."""
        cols = _columns(table, keys)
        if "n" in cols or "n" not in _table(table):
            raise ValueError(f"{table} is not a tally")
        sql = (f"INSERT INTO {table} ({', '.join(cols)}, n) VALUES ({', '.join('?' for _ in cols)}, ?)"
               f" ON CONFLICT ({', '.join(cols)}) DO UPDATE SET n = {table}.n + excluded.n")
        with self.transaction():
            self._write(table, sql, [keys[c] for c in cols] + [n])

    def sum_by(self, table: str, columns: Sequence[str], *, since_column: str | None = None, since: Any = None,
               **where: Any) -> dict[Any, int]:
        """The sum of a tally's `n` grouped by columns (the key is the value for one column, a tuple for more),
        optionally where since_column >= since; in key order."""
        if "n" not in _table(table) or not set(columns) <= _table(table):
            raise ValueError("unknown column")
        clause, params = _where_since(table, where, since_column, since)
        if not _in_range(params):
            return {}
        keys = ", ".join(columns)
        rows = self.db.execute(f"SELECT {keys}, sum(n) FROM {table}{clause} GROUP BY {keys} ORDER BY {keys}", params)
        if len(columns) == 1:
            return {r[0]: r[1] for r in rows.fetchall()}
        return {tuple(r[:-1]): r[-1] for r in rows.fetchall()}

    def evidence_near(self, run_id: int, low: int, high: int, since: str) -> list[Row]:
        """Evidence scans (id, at, serial, household, net_hash, province_code) of serials low..high of one run at
        or after since: read from the partial index on (run_id, serial, at), which needs evidence = 1 written
        out (a bound parameter cannot prove the index's WHERE)."""
        params = [run_id, low, high, since]
        if not _in_range(params):
            return []
        sql = ("SELECT id, at, serial, household, net_hash, province_code FROM scans"
               " WHERE run_id = ? AND serial BETWEEN ? AND ? AND evidence = 1 AND at >= ?")
        return [dict(r) for r in self.db.execute(sql, params).fetchall()]

    # -- file maintenance (SQLite only: a server database has its own tools) -------------------------------------

    def checkpoint(self) -> bool:
        """Copy the WAL into the database and truncate it to zero bytes; False if a reader still needed it (then
        nothing waits: the next scheduled checkpoint tries again)."""
        if self.path == ":memory:" or self.db.conn.in_transaction:
            return False
        # A reader holding an old snapshot would make TRUNCATE wait out busy_timeout: this runs on a request's
        # thread, so it gives up at once instead.
        self.db.execute("PRAGMA busy_timeout = 0")
        try:
            busy, _, _ = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.OperationalError:
            busy = 1
        finally:
            self.db.execute("PRAGMA busy_timeout = 10000")
        return not busy

    def _after_commit(self) -> None:
        if self.path != ":memory:" and _WAL_SCHEDULE.due(self.path, self.checkpoint_every, self.checkpoint_seconds):
            self.checkpoint()

    def backup(self, dest: str) -> None:
        """Copy the whole database to dest with SQLite's online backup: one snapshot, consistent while others
        write (WAL readers never block writers). Written beside dest first, so dest is never half a copy."""
        part = f"{dest}.part"
        with contextlib.suppress(FileNotFoundError):
            os.remove(part)
        target = sqlite3.connect(part)
        try:
            self.db.conn.backup(target)  # all pages in one step: a stepwise copy restarts at every write
            target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        finally:
            target.close()
        os.replace(part, dest)

    @staticmethod
    def check_file(path: str) -> list[str]:
        """What SQLite's integrity_check and foreign_key_check find wrong with a database file, opened read-only
        (empty when it is sound); a file SQLite cannot read at all is one problem, never an exception."""
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            return [f"cannot open: {exc}"]
        try:
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall() if r[0] != "ok"]
            problems += [f"foreign key: {table} row {rowid} refers to a missing {parent} row"
                         for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check").fetchall()]
            return problems
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        finally:
            conn.close()

    def _write(self, table: str, sql: str, params: list[Any]) -> sqlite3.Cursor:
        if not _in_range(params):
            raise StorageError(f"{table}: a number is out of range")
        try:
            return self.db.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise _integrity_error(table, exc) from None


class _WalSchedule:
    """Commits and time since the last WAL truncation, per database file, shared by this process's threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.files: dict[str, list[float]] = {}  # path -> [commits since, monotonic time of the last checkpoint]

    def due(self, path: str, every: int, seconds: float) -> bool:
        """Count one commit; True (and start counting again) when a checkpoint is due."""
        now = time.monotonic()
        with self.lock:
            state = self.files.setdefault(path, [0, now])
            state[0] += 1
            if state[0] < every and now - state[1] < seconds:
                return False
            state[0], state[1] = 0, now
            return True


_WAL_SCHEDULE = _WalSchedule()


class _ProbeDone(Exception):
    """Ends check_writable's transaction with a rollback."""


INT64 = 2**63 - 1


def _in_range(params: list[Any]) -> bool:
    """Whether every integer parameter fits SQLite's 64-bit INTEGER."""
    return all(-INT64 - 1 <= p <= INT64 for p in params if isinstance(p, int))


def _table(table: str) -> frozenset[str]:
    try:
        return TABLES[table]
    except KeyError:
        raise ValueError(f"unknown table {table!r}") from None


def _columns(table: str, values: Mapping[str, Any]) -> list[str]:
    allowed = _table(table)
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"unknown columns for {table}: {sorted(unknown)}")
    return list(values)


def _order(table: str, order: str) -> str:
    column, _, direction = order.partition(" ")
    if column not in _table(table) or direction.upper() not in ("", "ASC", "DESC"):
        raise ValueError(f"bad order {order!r}")
    return order


def _where(table: str, where: Mapping[str, Any]) -> tuple[str, list[Any]]:
    allowed = _table(table)
    parts: list[str] = []
    params: list[Any] = []
    for column, value in where.items():
        if column not in allowed:
            raise ValueError(f"unknown column {table}.{column}")
        if value is None:
            parts.append(f"{column} IS NULL")
        elif isinstance(value, (list, tuple, set, frozenset)):
            values = list(value)
            if not values:
                parts.append("0")
                continue
            parts.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
        else:
            parts.append(f"{column} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


def _where_since(table: str, where: Mapping[str, Any], since_column: str | None,
                 since: Any) -> tuple[str, list[Any]]:
    """_where, and since_column >= since when a since_column is given."""
    clause, params = _where(table, where)
    if since_column is not None:
        if since_column not in _table(table):
            raise ValueError(f"unknown column {table}.{since_column}")
        clause += (" AND " if clause else " WHERE ") + f"{since_column} >= ?"
        params.append(since)
    return clause, params


def _integrity_error(table: str, exc: sqlite3.IntegrityError) -> StorageError:
    text = str(exc)
    if text.startswith("UNIQUE constraint failed:"):
        columns = [c.strip().split(".")[-1] for c in text.split(":", 1)[1].split(",")]
        return Conflict(table, columns)
    if "FOREIGN KEY" in text:
        return UnknownReference(table)
    if text.startswith("NOT NULL constraint failed:"):
        return MissingValue(table, text.rsplit(".", 1)[-1].strip())
    return StorageError(f"{table}: {text}")
