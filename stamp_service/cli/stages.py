"""Stage commands: a batch's production stages from a CSV or .xlsx file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..context import get_storage
from ..registry.csv_import import ImportFailed
from ..registry.records import RecordNotFound
from ..trace import stage_import
from . import _fatal, _import_failed, cli


@cli.group()
def stages() -> None:
    """A batch's production stages (traceability record)."""


@stages.command("import")
@click.argument("batch_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_stages(batch_id: int, file: Path, as_json: bool) -> None:
    """Record a batch's stages from a CSV or .xlsx file (as the office): all rows or none, every problem listed.

    A CSV file is UTF-8, with or without BOM, LF or CRLF, comma, semicolon or tab separated; the stages are
    recorded as the office's (created_by empty, source csv). One stage per row: stage, at, commune_code, site,
    description, one input (input_material, input_supplier, input_supplier_id, input_lot, input_quantity) and
    one ship-to (ship_to_distributor, ship_to_commune_code, ship_to_address, ship_to_quantity); the template's
    Vietnamese headers ("Giai đoạn", "Thời gian", "Mã xã", "Nguyên liệu", ...) are understood too. Stages may
    be written by name (Thu hoạch, Harvest, harvest); a time is ISO 8601 with its offset
    (2026-11-20T07:30:00+07:00) or 20/11/2026 07:30 in Vietnam time (or an Excel date-time). Rows that repeat
    the same stage, time, commune, site and description are one stage with several inputs. Each stage is
    checked as the API checks one (never in the future, a commune of the registry, ...); if any row is wrong
    nothing is stored and every problem is listed with its line and the file's column header (JSON as for
    `ocop-stamp import`). At most 1 MB and 2,000 rows. Corrections are not made by file: use the portal or the
    API. The portal's batch page has the same upload ("Nhập giai đoạn từ tệp CSV/Excel") and its template
    (/portal/stages/template.csv), and the API POST /api/v1/batches/{id}/events.csv."""
    data = file.read_bytes()
    try:
        report = stage_import.import_stages(get_storage(), batch_id, data, producer_id=None, user_id=None)
    except RecordNotFound:
        _fatal(f"no batch {batch_id}")
    except ImportFailed as exc:
        _import_failed(exc, file, as_json)
    if as_json:
        click.echo(json.dumps({"ok": True, "created": report.created}))
    else:
        click.echo(f"Recorded {len(report.created)} stage(s) of batch {batch_id} from {file.name}.")
