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
    """Copy the database to DEST while the service keeps running (SQLite's online backup: one consistent
    snapshot), then check the copy."""
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
    """Check the database (or a copy: FILE) with SQLite's integrity and foreign key checks, read-only; exit
    status 1 when anything is wrong."""
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
