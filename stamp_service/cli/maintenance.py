"""Database upkeep commands: an online backup, and a check of a database file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..context import get_storage
from ..storage import Storage
from . import _app, _fail, cli


@cli.command()
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace DEST if it exists.")
@click.pass_context
def backup(ctx: click.Context, dest: Path, force: bool) -> None:
    """Copy the database to DEST while the service keeps running (SQLite's online backup: one consistent
    snapshot), then check the copy."""
    if dest.exists() and not force:
        _fail(f"{dest} exists (--force replaces it)")
    if not dest.parent.is_dir():
        _fail(f"no folder {dest.parent}")
    app = _app(ctx)
    with app.app_context():
        get_storage().backup(str(dest))
    problems = Storage.check_file(str(dest))
    if problems:  # a copy that would not restore is no backup: say so now, not on the day it is needed
        _fail(f"the copy {dest} is damaged: {problems[0]}")
    click.echo(f"Backed up {app.config['DATABASE']} to {dest} ({dest.stat().st_size:,} bytes, checked).")


@cli.command()
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def check(ctx: click.Context, file: Path | None, as_json: bool) -> None:
    """Check the database (or a copy: FILE) with SQLite's integrity and foreign key checks, read-only; exit
    status 1 when anything is wrong."""
    # A named file is opened without building the app: start-up migrates, which a damaged file would refuse.
    path = str(file) if file is not None else _app(ctx).config["DATABASE"]
    problems = Storage.check_file(path)
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
