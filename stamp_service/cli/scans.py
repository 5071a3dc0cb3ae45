"""`ocop-stamp scans ...`: the scans table's upkeep (archiving old months)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from ..context import get_storage
from . import _fatal, cli


@cli.group()
def scans() -> None:
    """Keep the scans table to the months that are still looked at."""


@scans.command("archive")
@click.option("--before", required=True, metavar="YYYY-MM",
              help="Archive every scan before the first day of this month (UTC).")
def archive(before: str) -> None:
    """Take old scans out of the live database.

    SQLite: they move to instance/archive/scans-before-YYYY-MM.db (a SQLite file with the same scans table).
    PostgreSQL: their monthly partitions are detached and left as tables for you to dump (pg_dump -t) and drop.
    A stamp's scan count and first scan then count from the archived months on (docs/deployment.md)."""
    storage = get_storage()
    try:
        places = storage.archive_scans(before, str(Path(current_app.instance_path) / "archive"))
    except ValueError as exc:
        _fatal(str(exc))
    for place in places:
        click.echo(f"Archived: {place}")
    if not places:
        click.echo(f"No scans before {before}.")
    click.echo(f"Scans left in the live table: {storage.count('scans')}")
