"""Storage: migrations at start-up, WAL and foreign keys, transactions that leave nothing half-written."""

from __future__ import annotations

import pytest

from stamp_service.storage import Conflict, SQLiteStorage as Storage, UnknownReference
from stamp_service.storage.migrations import MIGRATIONS


def test_schema_matches_the_declared_columns(tmp_path):
    storage = Storage(str(tmp_path / "db.sqlite"), migrate=True)
    for table, columns in storage.tables().items():
        actual = {row[1] for row in storage.db.execute(f"PRAGMA table_info({table})").fetchall()}
        assert actual == columns, table
    assert storage.migrations_applied() == [name for name, _ in MIGRATIONS]


def test_migrations_run_once_and_settings(tmp_path):
    path = str(tmp_path / "db.sqlite")
    assert Storage(path, migrate=True).migrate() == []
    storage = Storage(path)
    assert storage.pragma("journal_mode") == "wal"
    assert storage.pragma("foreign_keys") == 1


def test_failed_transaction_leaves_nothing(tmp_path):
    storage = Storage(str(tmp_path / "db.sqlite"), migrate=True)
    with pytest.raises(RuntimeError):
        with storage.transaction():
            storage.insert("producers", {"name": "X", "type": "cooperative", "commune_code": "06978",
                                         "province_code": "22"})
            raise RuntimeError("crash mid-way")
    assert storage.count("producers") == 0


def test_constraint_errors_are_ours(tmp_path):
    storage = Storage(str(tmp_path / "db.sqlite"), migrate=True)
    with pytest.raises(UnknownReference):
        storage.insert("products", {"producer_id": 42, "name": "X", "product_group": "food"})
    row = {"name": "X", "type": "cooperative", "commune_code": "06978", "province_code": "22",
           "id_type": "tax_code", "id_value": "0101234565"}
    storage.insert("producers", row)
    with pytest.raises(Conflict) as exc:
        storage.insert("producers", row)
    assert exc.value.columns[-1] == "id_value"


def test_column_names_cannot_carry_sql(tmp_path):
    storage = Storage(str(tmp_path / "db.sqlite"), migrate=True)
    with pytest.raises(ValueError):
        storage.find("producers", **{"name = name OR 1": 1})
    with pytest.raises(ValueError):
        storage.find("producers", order_by="name; DROP TABLE producers")
    with pytest.raises(ValueError):
        storage.insert("sqlite_master", {"name": "x"})
