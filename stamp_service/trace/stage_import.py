"""A batch's production stages from a CSV or .xlsx file: every row checked as the API checks one stage, all
stored or none, every problem reported by line and by the file's own column header.

One row is one stage with at most one input and one ship-to. Consecutive rows with the same stage, time, commune,
site and description are one stage with several inputs (a spreadsheet has no room for a list in a cell).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from ..i18n import Message, gettext
from ..registry import batches
from ..registry.csv_import import ImportFailed, ImportReport, RowError, Table, _key, read_table, template_csv
from ..registry.fields import ValidationError
from ..storage import Storage
from . import events

KIND = "stages"
MAX_BYTES = 1024 * 1024  # a season of stages is a few hundred rows; anything near this size is a wrong file
MAX_ROWS = 2000
INPUT_FIELDS = ("material", "supplier", "supplier_id", "lot", "quantity")
SHIP_FIELDS = ("distributor", "commune_code", "address", "quantity")
STAGE_FIELDS = ("stage", "at", "commune_code", "site", "description")
# The template's columns, in order; their headers come from the catalog (import.header.stages.<column>).
COLUMNS = (*STAGE_FIELDS, *(f"input_{k}" for k in INPUT_FIELDS), *(f"ship_to_{k}" for k in SHIP_FIELDS))
# Headers a producer may write instead (folded: lower case, no diacritics); each column's own name and the
# template's headers in both languages are always accepted.
ALIASES = {
    "stage": ["giai doan", "cong doan", "buoc"],
    "at": ["thoi gian", "thoi diem", "ngay gio", "time"],
    "commune_code": ["ma xa", "ma don vi hanh chinh", "commune"],
    "site": ["dia diem", "co so", "site name"],
    "description": ["mo ta", "ghi chu"],
    "input_material": ["nguyen lieu", "vat tu", "material"],
    "input_supplier": ["nha cung cap", "supplier"],
    "input_supplier_id": ["ma nha cung cap", "ma so thue nha cung cap", "supplier id"],
    "input_lot": ["lo nguyen lieu", "so lo nguyen lieu", "supplier lot", "lot"],
    "input_quantity": ["so luong nguyen lieu", "input quantity"],
    "ship_to_distributor": ["giao cho", "nha phan phoi", "distributor", "ship to"],
    "ship_to_commune_code": ["ma xa giao hang", "ship to commune"],
    "ship_to_address": ["dia chi giao hang"],
    "ship_to_quantity": ["so luong giao", "shipped quantity"],
}
# A spreadsheet's local time, "20/11/2026 07:30[:00]": a producer's clock is Vietnam time, as on the portal form.
LOCAL_TIME = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _headers() -> dict[str, list[str]]:
    """Every accepted header of every column: the aliases and the template's headers in Vietnamese and English."""
    return {c: [*ALIASES.get(c, []), *(gettext(f"import.header.{KIND}.{c}", lang) for lang in ("vi", "en"))]
            for c in COLUMNS}


def _stage_names() -> dict[str, str]:
    """Stage words a producer may write, folded -> stage ('Thu hoạch', 'harvest', 'Trồng' -> planting)."""
    names: dict[str, str] = {}
    for stage in events.STAGES:
        for lang in ("vi", "en"):
            label = gettext(f"stage.{stage}", lang)
            names.update({_key(part): stage for part in [label, *label.split("/")] if part.strip()})
        names[_key(stage)] = stage
    return names


def _time(text: str) -> str:
    """A cell's time as the API takes it: '20/11/2026 07:30' becomes Vietnam time; anything else goes as written
    (so a missing or wrong UTC offset is refused by the same check as the API's)."""
    match = LOCAL_TIME.fullmatch(text.strip())
    if not match:
        return text
    day, month, year, hour, minute, second = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}T{int(hour):02d}:{minute}:{second or '00'}+07:00"


@dataclass(frozen=True)
class UnknownStage(Message):
    """A stage word we do not know: the message names the stages in the language it is shown in."""

    key: str = "stage_import.unknown_stage"

    def render(self, lang: str | None = None) -> str:
        """The message with every stage's name in lang."""
        return gettext(self.key, lang, names=", ".join(gettext(f"stage.{s}", lang) for s in events.STAGES))


@dataclass
class _Stage:
    """One stage being read: the API's event shape, and the file line of each part for its errors."""

    line: int
    key: tuple[str, ...]
    data: dict[str, Any]
    input_lines: list[int] = field(default_factory=list)
    ship_line: int = 0

    def where(self, name: str) -> tuple[int, str | None]:
        """The file line and column an API error name comes from (inputs[1].lot -> the 2nd input's line, input_lot)."""
        found = re.fullmatch(r"inputs\[(\d+)\]\.(\w+)", name)
        if found and int(found[1]) < len(self.input_lines):
            return self.input_lines[int(found[1])], f"input_{found[2]}"
        if name.startswith("ship_to."):
            return self.ship_line or self.line, "ship_to_" + name.split(".", 1)[1]
        special = {"inputs": "input_material", "ship_to": "ship_to_distributor", "": None}
        return self.line, special.get(name, name)


def _stages(table: Table, report: ImportReport) -> list[_Stage]:
    """The file's rows grouped into stages; a second, different ship-to for one stage is a problem of its row."""
    names = _stage_names()
    out: list[_Stage] = []
    for line, row in table.rows:
        key = tuple(row.get(f, "") for f in STAGE_FIELDS)
        item = {k: row[f"input_{k}"] for k in INPUT_FIELDS if row.get(f"input_{k}")}
        ship = {k: row[f"ship_to_{k}"] for k in SHIP_FIELDS if row.get(f"ship_to_{k}")}
        if out and out[-1].key == key and any(key):  # the stage above again: another input (or ship-to)
            stage = out[-1]
        else:
            data = {f: row[f] for f in STAGE_FIELDS if row.get(f)}
            if "stage" in data:
                data["stage"] = names.get(_key(data["stage"]), data["stage"])
            if "at" in data:
                data["at"] = _time(data["at"])
            stage = _Stage(line, key, data)
            out.append(stage)
        if item:
            stage.data.setdefault("inputs", []).append(item)
            stage.input_lines.append(line)
        if ship:
            if stage.data.get("ship_to", ship) != ship:
                report.errors.append(RowError(line, "ship_to_distributor", Message("stage_import.second_ship_to"),
                                              table.header("ship_to_distributor")))
            stage.data["ship_to"], stage.ship_line = ship, stage.ship_line or line
    return out


def import_stages(storage: Storage, batch_id: int, data: bytes, *, producer_id: int | None, user_id: int | None,
                  now: dt.datetime | None = None) -> ImportReport:
    """Record every stage of a CSV or .xlsx file for a batch (its producer or the office) in one transaction;
    raises ImportFailed (nothing stored) listing every problem of every row. report.created: the event ids."""
    batches.get(storage, batch_id, producer_id=producer_id)  # RecordNotFound for another producer's batch
    if len(data) > MAX_BYTES:
        report = ImportReport(KIND)
        report.errors.append(RowError(0, None, Message("stage_import.too_large", {"max": MAX_BYTES // 1024})))
        raise ImportFailed(report)
    table = read_table(data, KIND, _headers(), ("stage", "stage_import.no_stage_column"), MAX_ROWS)
    report = ImportReport(KIND, rows=len(table.rows))
    stages = _stages(table, report)
    try:
        with storage.transaction():
            for stage in stages:
                try:
                    with storage.transaction():  # a savepoint: a bad stage leaves nothing behind
                        row = events.record(storage, batch_id, stage.data, producer_id=producer_id,
                                            user_id=user_id, source="csv", now=now)
                    report.created.append(row["id"])
                except ValidationError as exc:
                    problems = exc.fields or {"": exc.message}
                    for name, message in problems.items():
                        line, column = stage.where(name)
                        if column == "stage" and message.key == "error.choice":
                            message = UnknownStage()
                        report.errors.append(RowError(line, column, message, table.header(column)))
            if report.errors:
                raise ImportFailed(report)
    except ImportFailed:
        report.created.clear()
        report.errors.sort(key=lambda e: e.line)
        raise
    return report


def template(lang: str | None = None) -> bytes:
    """The empty stage file: its header row in the language asked for, UTF-8 with a BOM for Excel."""
    return template_csv(KIND, lang, COLUMNS)
