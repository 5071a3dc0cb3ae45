"""Storage: the one package that speaks SQL. Views and the registry call Storage's methods, never the database.

Two back ends offer the same small surface (transaction, insert, update, get, find, find_one, count, ...):
SQLite, the embedded default (one file in the instance folder), and PostgreSQL, for several nodes sharing one
database (`DATABASE_URL=postgresql://...`). open_storage picks one from the setting.
"""

from __future__ import annotations

from .base import Row, Storage
from .errors import Conflict, MissingValue, StorageError, StorageUnavailable, UnknownReference
from .sqlite import SQLiteStorage

__all__ = ["Storage", "SQLiteStorage", "open_storage", "Row", "StorageError", "StorageUnavailable", "Conflict",
           "MissingValue", "UnknownReference"]


def open_storage(target: str, *, migrate: bool = False) -> Storage:
    """A connection to the database a setting names: a postgresql:// URL, or else a SQLite file path."""
    if target.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStorage  # psycopg is only needed by those who choose PostgreSQL

        return PostgresStorage(target, migrate=migrate)
    return SQLiteStorage(target, migrate=migrate)
