"""Errors the storage layer raises instead of driver exceptions."""

from __future__ import annotations

from ..errors import Error


class StorageError(Error):
    """A write the database refused. The registry maps the usual ones to form fields; one that reaches the web
    unmapped is our bug, answered as a plain 500 with the detail in the log."""


class Conflict(StorageError):
    """A row with the same unique value already exists."""

    def __init__(self, table: str, columns: list[str]) -> None:
        super().__init__(f"{table}: duplicate {', '.join(columns)}")
        self.table = table
        self.columns = columns


class UnknownReference(StorageError):
    """A row points at a row that does not exist (foreign key)."""

    def __init__(self, table: str) -> None:
        super().__init__(f"{table}: refers to a row that does not exist")
        self.table = table


class MissingValue(StorageError):
    """A column that must have a value was given none."""

    def __init__(self, table: str, column: str) -> None:
        super().__init__(f"{table}.{column} needs a value")
        self.table = table
        self.column = column


class StorageUnavailable(StorageError):
    """The database cannot take writes right now: read-only, disk full, or locked past the busy timeout."""

    status = 503
    key = "error.storage_unavailable"
    retry_after = 60  # seconds: an operator has to free space or fix permissions, or a long writer to finish

    def __init__(self, reason: str) -> None:
        super().__init__(f"database unavailable for writes: {reason}")
        self.reason = reason


# SQLite's messages for the conditions an operator fixes (not bugs in our SQL): reason by message fragment.
_UNAVAILABLE = (("readonly", "read_only"), ("disk is full", "disk_full"), ("database is locked", "locked"),
                ("database table is locked", "locked"))


def unavailable(exc: Exception) -> StorageUnavailable | None:
    """The StorageUnavailable an sqlite3.OperationalError stands for, or None if it is another error."""
    text = str(exc).lower()
    for fragment, reason in _UNAVAILABLE:
        if fragment in text:
            return StorageUnavailable(reason)
    return None
