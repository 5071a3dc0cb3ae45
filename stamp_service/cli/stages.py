"""Stage commands: a batch's production stages from a CSV or .xlsx file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..context import get_storage
from ..registry.csv_import import ImportFailed
from ..registry.records import RecordNotFound
from ..trace import stage_import
from . import _app, _fail, _import_failed, cli


@cli.group()
def stages() -> None:
    """A batch's production stages (traceability record)."""


@stages.command("import")
@click.argument("batch_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def import_stages(ctx: click.Context, batch_id: int, file: Path, as_json: bool) -> None:
    """Record a batch's stages from a CSV or .xlsx file (as the office): all rows or none, every problem listed."""
    app = _app(ctx)
    data = file.read_bytes()
    with app.app_context():
        try:
            report = stage_import.import_stages(get_storage(), batch_id, data, producer_id=None, user_id=None)
        except RecordNotFound:
            _fail(f"no batch {batch_id}")
        except ImportFailed as exc:
            _import_failed(exc, file, as_json)
    if as_json:
        click.echo(json.dumps({"ok": True, "created": report.created}))
    else:
        click.echo(f"Recorded {len(report.created)} stage(s) of batch {batch_id} from {file.name}.")
