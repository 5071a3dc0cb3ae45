"""Database upkeep commands: an online backup, and a check of a database file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from flask import current_app

from ..context import get_storage
from ..storage import SQLiteStorage
from . import _fatal, _settings_only, cli




@cli.command()
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace DEST if it exists.")
def backup(dest: Path, force: bool) -> None:
    """Copy the SQLite database to DEST while the service keeps running.

    SQLite's online backup API takes one consistent snapshot (every scan with its tallies, nothing half-written);
    readers and writers carry on meanwhile. The copy is written beside DEST first and renamed when complete, is one
    self-contained file (no -wal file beside it), and is checked as `ocop-stamp check` does before the command
    says it is done. Exit status 1 when DEST exists (--force replaces it), its folder does not exist, or the copy
    fails its check. To restore, stop the service, put the copy in place of the instance's database and start it
    again; back up the instance folder's keys/ and secret_key as well. With PostgreSQL use pg_dump
    (docs/deployment.md)."""
    if current_app.config.get("DATABASE_URL"):
        _fatal("backup is for the SQLite database; with PostgreSQL use pg_dump (docs/deployment.md)")
    if dest.exists() and not force:
        _fatal(f"{dest} exists (--force replaces it)")
    if not dest.parent.is_dir():
        _fatal(f"no folder {dest.parent}")
    get_storage().backup(str(dest))
    problems = SQLiteStorage.check_file(str(dest))
    if problems:  # a copy that would not restore is no backup: say so now, not on the day it is needed
        _fatal(f"the copy {dest} is damaged: {problems[0]}")
    click.echo(f"Backed up {current_app.config['DATABASE']} to {dest} ({dest.stat().st_size:,} bytes, checked).")


@cli.command(with_appcontext=False)  # a damaged file must be checked, not migrated
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def check(file: Path | None, as_json: bool) -> None:
    """Check the SQLite database, or the database file FILE (a backup, say), read-only.

    Runs SQLite's PRAGMA integrity_check (every page, index and constraint) and PRAGMA foreign_key_check (every
    reference points at a row). Prints ok, or each problem on standard error, and exits with status 1 when there
    is any, including a file SQLite cannot read at all. The app is not started, so a damaged file is reported,
    not migrated. --json prints {"file", "ok", "problems"} (at most 100 problems)."""
    # A named file is opened without building the app: start-up migrates, which a damaged file would refuse.
    if file is None and _settings_only().config.get("DATABASE_URL"):
        _fatal("check is for the SQLite database; with PostgreSQL use amcheck and pg_dump (docs/deployment.md)")
    path = str(file) if file is not None else _settings_only().config["DATABASE"]
    problems = SQLiteStorage.check_file(path)
    if as_json:
        click.echo(json.dumps({"file": path, "ok": not problems, "problems": problems[:100]}, ensure_ascii=False))
    elif not problems:
        click.echo(f"{path}: ok")
    else:
        click.echo(f"{path}: {len(problems)} problem(s)", err=True)
        for problem in problems[:100]:
            click.echo(f"  {problem}", err=True)
    if problems:
        raise SystemExit(1)
