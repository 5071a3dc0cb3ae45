"""Errors the storage layer raises instead of driver exceptions."""

from __future__ import annotations


class StorageError(Exception):
    """A write the database refused."""


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
