"""The storage surface every back end offers, and the SQL both dialects share.

Callers name tables and columns as keyword arguments; every name is checked against the columns the database
really has (read from it once per connection), so a name can never carry SQL. Values always travel as parameters.
A back end supplies the connection, transactions, the few expressions that differ, and its error mapping.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator, Mapping, Sequence

from .errors import StorageError

Row = dict[str, Any]

INT64 = 2**63 - 1


class Storage:
    """A connection to the service's database (SQLite or PostgreSQL); see open_storage."""

    dialect = "abstract"
    #: where the database lives (a file path or a URL without its password), for messages and caches
    target: str = ""

    def __init__(self) -> None:
        self._tables: dict[str, frozenset[str]] | None = None

    # -- what a back end provides -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection."""
        raise NotImplementedError

    def migrate(self) -> list[str]:
        """Apply the migrations this database has not seen yet; return their names."""
        raise NotImplementedError

    def migrations_applied(self) -> list[str]:
        """Names of the migrations this database has, oldest first."""
        raise NotImplementedError

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Storage"]:
        """All writes inside commit together or not at all; nested blocks become savepoints."""
        raise NotImplementedError
        yield self

    def lock(self, name: str) -> None:
        """Inside a transaction: wait until no other transaction holds the named lock, and hold it until commit."""
        raise NotImplementedError

    def release(self) -> None:
        """End of a request: roll back anything left open and give pooled resources back."""
        raise NotImplementedError

    def check_writable(self) -> None:
        """Raise StorageUnavailable unless a write would succeed now (the write is rolled back)."""
        raise NotImplementedError

    def archive_scans(self, before: str, folder: str) -> list[str]:
        """Take scans older than month `before` (YYYY-MM) out of the live table, kept whole elsewhere; return where."""
        raise NotImplementedError

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement written with ? placeholders; return its rows (maintenance and tests only)."""
        raise NotImplementedError

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Row]:
        raise NotImplementedError

    def _tuples(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _write(self, table: str, sql: str, params: list[Any]) -> tuple[int, list[Row]]:
        """Run a write; (rows changed, rows returned). Driver errors become StorageError subclasses."""
        raise NotImplementedError

    def _read_columns(self) -> dict[str, frozenset[str]]:
        raise NotImplementedError

    def _day(self, column: str, utc_offset_hours: int) -> str:
        """An expression for the calendar day (YYYY-MM-DD) of a stored UTC time, utc_offset_hours away."""
        raise NotImplementedError

    # -- schema -------------------------------------------------------------------------------------------------

    def columns(self, table: str) -> frozenset[str]:
        """The columns a table has, as the database itself reports them."""
        if self._tables is None:
            self._tables = self._read_columns()
        try:
            return self._tables[table]
        except KeyError:
            raise ValueError(f"unknown table {table!r}") from None

    def tables(self) -> dict[str, frozenset[str]]:
        """Every table the service owns and its columns."""
        if self._tables is None:
            self._tables = self._read_columns()
        return dict(self._tables)

    def _forget_columns(self) -> None:
        self._tables = None

    # -- rows ---------------------------------------------------------------------------------------------------

    def insert(self, table: str, values: Mapping[str, Any]) -> Row:
        """Insert one row and return it as stored."""
        cols = self._names(table, values)
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) RETURNING *"
        with self.transaction():
            return self._write(table, sql, [values[c] for c in cols])[1][0]

    def update(self, table: str, row_id: int, values: Mapping[str, Any]) -> Row | None:
        """Change some columns of one row; return the row, or None if there is no such row."""
        if not values:
            return self.get(table, row_id)
        cols = self._names(table, values)
        sql = f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?"
        with self.transaction():
            self._write(table, sql, [values[c] for c in cols] + [row_id])
            return self.get(table, row_id)

    def update_where(self, table: str, values: Mapping[str, Any], **where: Any) -> int:
        """Change columns of every row matching where; return how many rows changed."""
        cols = self._names(table, values)
        clause, params = self._where(table, where)
        sql = f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in cols)}{clause}"
        with self.transaction():
            return self._write(table, sql, [values[c] for c in cols] + params)[0]

    def add_counts(self, table: str, keys: Mapping[str, Any], n: int = 1) -> None:
        """Add n to the count column `n` of the row with these key values (the table's primary key), making the
        row when it is new: a tally kept in the caller's transaction. One statement (INSERT ... ON CONFLICT DO
        UPDATE, the same in SQLite and PostgreSQL), so concurrent writers never lose a count."""
        cols = self._names(table, keys)
        if "n" in cols or "n" not in self.columns(table):
            raise ValueError(f"{table} is not a tally")
        sql = (f"INSERT INTO {table} ({', '.join(cols)}, n) VALUES ({', '.join('?' for _ in cols)}, ?)"
               f" ON CONFLICT ({', '.join(cols)}) DO UPDATE SET n = {table}.n + excluded.n")
        with self.transaction():
            self._write(table, sql, [keys[c] for c in cols] + [n])

    def sum_by(self, table: str, columns: Sequence[str], *, since_column: str | None = None, since: Any = None,
               **where: Any) -> dict[Any, int]:
        """The sum of a tally's `n` grouped by columns (the key is the value for one column, a tuple for more),
        optionally where since_column >= since; in key order."""
        self._known(table, "n", *columns, *([since_column] if since_column else []))
        clause, params = self._since(table, where, since_column, since)
        if not _in_range(params):
            return {}
        keys = ", ".join(columns)
        rows = self._tuples(f"SELECT {keys}, sum(n) FROM {table}{clause} GROUP BY {keys} ORDER BY {keys}", params)
        if len(columns) == 1:
            return {r[0]: int(r[1]) for r in rows}
        return {tuple(r[:-1]): int(r[-1]) for r in rows}

    def delete_where(self, table: str, column: str, below: Any) -> int:
        """Delete the rows whose column is below a value (expired counters and the like); return how many."""
        self._known(table, column)
        with self.transaction():
            return self._write(table, f"DELETE FROM {table} WHERE {column} < ?", [below])[0]

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
        clause, params = self._where(table, where)
        order = ", ".join(self._order(table, o) for o in ([order_by] if isinstance(order_by, str) else order_by))
        sql = f"SELECT * FROM {table}{clause} ORDER BY {order}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [int(limit), int(offset)]
        if not _in_range(params):
            return []  # no row can hold a number a 64-bit integer column cannot store
        return self._rows(sql, params)

    def count(self, table: str, **where: Any) -> int:
        """How many rows match where."""
        clause, params = self._where(table, where)
        if not _in_range(params):
            return 0
        return int(self._tuples(f"SELECT count(*) FROM {table}{clause}", params)[0][0])

    def count_and_min(self, table: str, column: str, **where: Any) -> tuple[int, Any]:
        """How many rows match where, and the smallest value of column among them (one query)."""
        self._known(table, column)
        clause, params = self._where(table, where)
        if not _in_range(params):
            return 0, None
        count, low = self._tuples(f"SELECT count(*), min({column}) FROM {table}{clause}", params)[0]
        return int(count), low

    def count_by(self, table: str, column: str, *, since_column: str | None = None, since: str | None = None,
                 day: bool = False, utc_offset_hours: int = 0, **where: Any) -> dict[Any, int]:
        """Row counts grouped by a column (by its date part when day=True, that date taken utc_offset_hours from
        the stored UTC time, e.g. 7 for Vietnam's days), optionally since a time."""
        self._known(table, column, *([since_column] if since_column else []))
        clause, params = self._since(table, where, since_column, since)
        if not isinstance(utc_offset_hours, int) or not -14 <= utc_offset_hours <= 14:
            raise ValueError("utc_offset_hours must be a whole number of hours from -14 to 14")
        key = self._day(column, utc_offset_hours) if day else column
        if not _in_range(params):
            return {}
        rows = self._tuples(f"SELECT {key}, count(*) FROM {table}{clause} GROUP BY {key} ORDER BY {key}", params)
        return {k: int(n) for k, n in rows}

    def sum_span(self, table: str, low: str, high: str, *, since_column: str | None = None, since: str | None = None,
                 **where: Any) -> int:
        """The sum of high - low + 1 over matching rows (e.g. stamps in runs), optionally since a time."""
        self._known(table, low, high, *([since_column] if since_column else []))
        clause, params = self._since(table, where, since_column, since)
        if not _in_range(params):
            return 0
        return int(self._tuples(f"SELECT coalesce(sum({high} - {low} + 1), 0) FROM {table}{clause}", params)[0][0])

    def max_value(self, table: str, column: str) -> Any:
        """The largest value of a column (None for an empty table)."""
        self._known(table, column)
        return self._tuples(f"SELECT max({column}) FROM {table}", [])[0][0]

    def find_covering(self, table: str, low: str, high: str, value: int, **where: Any) -> list[Row]:
        """Rows whose [low, high] column range contains value (newest id first), e.g. the run of a serial."""
        self._known(table, low, high)
        clause, params = self._where(table, where)
        params = [value, value] + params
        if not _in_range(params):
            return []
        sql = f"SELECT * FROM {table} WHERE {low} <= ? AND {high} >= ?{_and(clause)} ORDER BY id DESC"
        return self._rows(sql, params)

    def find_holding(self, table: str, low: str, high: str, value: int) -> Row | None:
        """The row whose [low, high] range holds value, in a table whose ranges never overlap (the run of a
        serial): one index probe for the greatest low <= value, then its high is checked."""
        self._known(table, low, high)
        if not _in_range([value]):
            return None
        rows = self._rows(f"SELECT * FROM {table} WHERE {low} <= ? ORDER BY {low} DESC LIMIT 1", [value])
        return rows[0] if rows and rows[0][high] >= value else None

    def evidence_near(self, run_id: int, low: int, high: int, since: str) -> list[Row]:
        """Evidence scans (id, at, serial, household, net_hash, province_code) of serials low..high of one run at
        or after since: read from the partial index on (run_id, serial, at), which needs evidence = 1 written
        out (a bound parameter cannot prove the index's WHERE)."""
        params = [run_id, low, high, since]
        if not _in_range(params):
            return []
        return self._rows("SELECT id, at, serial, household, net_hash, province_code FROM scans"
                          " WHERE run_id = ? AND serial BETWEEN ? AND ? AND evidence = 1 AND at >= ?", params)

    def find_since(self, table: str, column: str, since: str, *, limit: int = 10_000, **where: Any) -> list[Row]:
        """Rows matching where whose column is at or after since (ISO times compare as text), newest first."""
        self._known(table, column)
        clause, params = self._where(table, where)
        if not _in_range(params):
            return []
        sql = f"SELECT * FROM {table} WHERE {column} >= ?{_and(clause)} ORDER BY {column} DESC LIMIT ?"
        return self._rows(sql, [since, *params, limit])

    def distinct_between(self, table: str, columns: Sequence[str], column: str, low: int, high: int,
                         since_column: str, since: str, **where: Any) -> list[tuple[Any, ...]]:
        """Distinct values of columns over rows with low <= column <= high and since_column >= since."""
        self._known(table, *columns, column, since_column)
        clause, params = self._where(table, where)
        params = [low, high, since, *params]
        if not _in_range(params):
            return []
        sql = (f"SELECT DISTINCT {', '.join(columns)} FROM {table} WHERE {column} BETWEEN ? AND ?"
               f" AND {since_column} >= ?{_and(clause)}")
        return self._tuples(sql, params)

    # -- names and clauses --------------------------------------------------------------------------------------

    def _known(self, table: str, *columns: str) -> None:
        allowed = self.columns(table)
        for column in columns:
            if column not in allowed:
                raise ValueError(f"unknown column {table}.{column}")

    def _names(self, table: str, values: Mapping[str, Any]) -> list[str]:
        unknown = set(values) - self.columns(table)
        if unknown:
            raise ValueError(f"unknown columns for {table}: {sorted(unknown)}")
        return list(values)

    def _order(self, table: str, order: str) -> str:
        column, _, direction = order.partition(" ")
        if column not in self.columns(table) or direction.upper() not in ("", "ASC", "DESC"):
            raise ValueError(f"bad order {order!r}")
        return order

    def _where(self, table: str, where: Mapping[str, Any]) -> tuple[str, list[Any]]:
        allowed = self.columns(table)
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
                    parts.append("1 = 0")
                    continue
                parts.append(f"{column} IN ({', '.join('?' for _ in values)})")
                params.extend(values)
            else:
                parts.append(f"{column} = ?")
                params.append(value)
        return (" WHERE " + " AND ".join(parts) if parts else ""), params

    def _since(self, table: str, where: Mapping[str, Any], since_column: str | None,
               since: str | None) -> tuple[str, list[Any]]:
        clause, params = self._where(table, where)
        if since_column is not None:
            clause += (" AND " if clause else " WHERE ") + f"{since_column} >= ?"
            params.append(since)
        return clause, params


class _ProbeDone(Exception):
    """Ends a back end's check_writable transaction with a rollback."""


def check_month(month: str) -> str:
    """A month as YYYY-MM, or ValueError."""
    if not isinstance(month, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise ValueError(f"not a month (YYYY-MM): {month!r}")
    return month


def _and(clause: str) -> str:
    """A WHERE clause's conditions, to follow other conditions."""
    return clause.replace(" WHERE ", " AND ", 1)


def _in_range(params: Sequence[Any]) -> bool:
    """Whether every integer parameter fits a 64-bit integer column."""
    return all(-INT64 - 1 <= p <= INT64 for p in params if isinstance(p, int))


def check_range(table: str, params: Sequence[Any]) -> None:
    """Refuse a write carrying a number no integer column can store."""
    if not _in_range(params):
        raise StorageError(f"{table}: a number is out of range")
