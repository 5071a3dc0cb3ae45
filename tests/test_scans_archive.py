"""`ocop-stamp scans archive --before YYYY-MM`: old scans leave the live table whole, on both back ends."""

from __future__ import annotations

import sqlite3

from stamp_service.cli import cli
from stamp_service.context import get_storage


def _scans(app, *times):
    with app.app_context():
        storage = get_storage()
        for at in times:
            storage.insert("scans", {"at": at, "verdict": "genuine", "source": "qr"})


def test_old_scans_are_archived_and_recent_ones_stay(app, runner):
    _scans(app, "2025-11-30T23:59:59Z", "2025-12-31T10:00:00Z", "2026-01-01T00:00:00Z")
    result = runner.invoke(cli, ["scans", "archive", "--before", "2026-01"], obj=app)
    assert result.exit_code == 0, result.output
    assert "Scans left in the live table: 1" in result.output
    with app.app_context():
        storage = get_storage()
        assert [r["at"] for r in storage.find("scans")] == ["2026-01-01T00:00:00Z"]
        places = [line.split(": ", 1)[1] for line in result.output.splitlines() if line.startswith("Archived: ")]
        if storage.dialect == "sqlite":
            (path,) = places
            with sqlite3.connect(path) as archive:
                assert sorted(r[0] for r in archive.execute("SELECT at FROM scans")) == [
                    "2025-11-30T23:59:59Z", "2025-12-31T10:00:00Z"]
        else:
            archived = sum(storage.execute(f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in places)
            assert archived == 2
    again = runner.invoke(cli, ["scans", "archive", "--before", "2026-01"], obj=app)
    assert again.exit_code == 0 and "No scans before 2026-01." in again.output


def test_a_wrong_month_is_refused(app, runner):
    _scans(app, "2025-11-30T23:59:59Z")
    for wrong in ("2026-13", "2026-1", "last month"):
        result = runner.invoke(cli, ["scans", "archive", "--before", wrong], obj=app)
        assert result.exit_code == 1 and "YYYY-MM" in result.output
    with app.app_context():
        assert get_storage().count("scans") == 1
