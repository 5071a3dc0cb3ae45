"""The embedded back end: one SQLite file through sqlite-utils (WAL, foreign keys on)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from typing import Any, Iterator, Sequence

import sqlite_utils

from .base import Row, Storage, _ProbeDone, check_month, check_range
from .errors import Conflict, MissingValue, StorageError, StorageUnavailable, UnknownReference, unavailable
from .migrations import MIGRATIONS
from .writers import writer_turn

# Tables of SQLite itself and of its extensions, never ours.
_INTERNAL_PREFIXES = ("sqlite_",)

#: milliseconds a writer waits for its turn (writers.py), then for SQLite's lock, before the database counts as
#: unavailable
BUSY_TIMEOUT_MS = 10_000


class SQLiteStorage(Storage):
    """A connection to the service's SQLite database file."""

    dialect = "sqlite"
    # The WAL file is truncated (wal_checkpoint(TRUNCATE)) after this many commits or seconds, whichever comes
    # first, counted over every connection of this process to the same file (see _after_commit).
    checkpoint_every = 1000
    checkpoint_seconds = 60.0

    def __init__(self, path: str, *, migrate: bool = False) -> None:
        super().__init__()
        self.path = self.target = path
        self.db = sqlite_utils.Database(path)
        self.db.conn.row_factory = sqlite3.Row
        self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.db.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous = NORMAL")
        if migrate:
            self.migrate()

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def release(self) -> None:
        """End of a request: the connection stays with its thread, but never with a transaction open."""
        if self.db.conn.in_transaction:
            self.db.conn.rollback()

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
            self._forget_columns()
        return applied

    def migrations_applied(self) -> list[str]:
        """Names of the migrations this database has, oldest first."""
        return [r[0] for r in self.db.execute("SELECT name FROM _migrations ORDER BY rowid").fetchall()]

    def pragma(self, name: str) -> Any:
        """Read one PRAGMA value (for health checks and tests)."""
        if not name.replace("_", "").isalpha():
            raise ValueError(name)
        return self.db.execute(f"PRAGMA {name}").fetchone()[0]

    def _read_columns(self) -> dict[str, frozenset[str]]:
        rows = self.db.execute(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p"
            " WHERE m.type = 'table' AND m.name NOT LIKE '\\_%' ESCAPE '\\'"
        ).fetchall()
        tables: dict[str, set[str]] = {}
        for table, column in rows:
            if not table.startswith(_INTERNAL_PREFIXES):
                tables.setdefault(table, set()).add(column)
        return {t: frozenset(c) for t, c in tables.items()}

    # -- transactions -------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator["SQLiteStorage"]:
        """All writes inside commit together or not at all; nested blocks become savepoints."""
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():
                yield self
            return
        writer = writer_turn(self.path)  # looked up each time: a forked worker has turns of its own
        if writer is not None and not writer.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise StorageUnavailable("locked")
        try:
            # IMMEDIATE takes the write lock up front, so a writer that did not take its turn (another program, a
            # thread's second connection) waits on busy_timeout instead of failing with "database is locked" when
            # a read transaction tries to upgrade.
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
        finally:
            if writer is not None:
                writer.release()

    def lock(self, name: str) -> None:
        """SQLite has one writer at a time: BEGIN IMMEDIATE already holds the only lock there is."""
        if not self.db.conn.in_transaction:
            raise StorageError(f"lock {name!r} taken outside a transaction")

    def check_writable(self) -> None:
        """Raise StorageUnavailable unless a write would succeed now (the write is rolled back)."""
        with contextlib.suppress(_ProbeDone), self.transaction():
            self.db.execute("INSERT INTO _migrations (name) VALUES ('readiness probe')")
            raise _ProbeDone  # rolls the probe row back

    def archive_scans(self, before: str, folder: str) -> list[str]:
        """Move scans older than month `before` into folder/scans-before-YYYY-MM.db (a SQLite file with the same
        scans table), then delete them here, in one transaction of the main database; return the file."""
        check_month(before)
        oldest = self.count_and_min("scans", "at")[1]
        if oldest is None or oldest >= before:
            return []
        os.makedirs(folder, mode=0o700, exist_ok=True)
        path = os.path.join(folder, f"scans-before-{before}.db")
        self.db.execute("ATTACH DATABASE ? AS archive", [path])
        try:
            with self.transaction():
                columns = ", ".join(sorted(self.columns("scans")))
                self.db.execute(f"CREATE TABLE IF NOT EXISTS archive.scans AS SELECT {columns} FROM scans WHERE 0")
                self.db.execute(f"INSERT INTO archive.scans ({columns}) SELECT {columns} FROM scans WHERE at < ?",
                                [before])
                self.db.execute("DELETE FROM scans WHERE at < ?", [before])
        finally:
            self.db.execute("DETACH DATABASE archive")
        return [path]

    # -- file maintenance (SQLite only: a server database has its own tools) -----------------------------------

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

    # -- statements ---------------------------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement written with ? placeholders in a transaction; return its rows (maintenance, tests)."""
        with self.transaction():
            return self._write("(statement)", sql, list(params))[1]

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return [dict(r) for r in self.db.execute(sql, list(params)).fetchall()]

    def _tuples(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.db.execute(sql, list(params)).fetchall()]

    def _write(self, table: str, sql: str, params: list[Any]) -> tuple[int, list[Row]]:
        check_range(table, params)
        try:
            cursor = self.db.execute(sql, params)
            rows = [dict(r) for r in cursor.fetchall()] if cursor.description else []
            return cursor.rowcount, rows
        except sqlite3.IntegrityError as exc:
            raise _integrity_error(table, exc) from None

    def _day(self, column: str, utc_offset_hours: int) -> str:
        if utc_offset_hours:
            return f"date({column}, '{utc_offset_hours:+d} hours')"
        return f"substr({column}, 1, 10)"


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
