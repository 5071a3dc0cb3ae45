"""`ocop-stamp scans ...`: the scans table's upkeep (archiving old months)."""

from __future__ import annotations

from pathlib import Path

import click

from ..context import get_storage
from . import _app, _fail, cli


@cli.group()
def scans() -> None:
    """Keep the scans table to the months that are still looked at."""


@scans.command("archive")
@click.option("--before", required=True, metavar="YYYY-MM",
              help="Archive every scan before the first day of this month (UTC).")
@click.pass_context
def archive(ctx: click.Context, before: str) -> None:
    """Take old scans out of the live database. SQLite: they move to instance/archive/scans-before-YYYY-MM.db.
    PostgreSQL: their monthly partitions are detached and left as tables for you to dump and drop.
    Dashboards keep their figures; a stamp's scan count and first scan then start after the archived months."""
    app = _app(ctx)
    with app.app_context():
        storage = get_storage()
        try:
            places = storage.archive_scans(before, str(Path(app.instance_path) / "archive"))
        except ValueError as exc:
            _fail(str(exc))
        left = storage.count("scans")
    for place in places:
        click.echo(f"Archived: {place}")
    if not places:
        click.echo(f"No scans before {before}.")
    click.echo(f"Scans left in the live table: {left}")
