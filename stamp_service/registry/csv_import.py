"""CSV and .xlsx import of producers and products: every row checked, all saved or none, every problem reported.

Provincial offices keep these lists in spreadsheets, so headers and values may be Vietnamese
("Tên chủ thể", "Hợp tác xã", "Thực phẩm"), dates DD/MM/YYYY, commune codes without leading zeros.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import Error
from ..i18n import Message, gettext, has_text
from ..storage import Storage
from . import producers, products, recognitions
from .fields import Invalid, ValidationError
from .identifiers import check_identifier

MAX_ROWS = 20_000
KINDS = ("producers", "products")


def _key(text: str) -> str:
    """A header or value folded for matching: lower case, no diacritics, single spaces."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return " ".join(text.lower().replace("_", " ").split())


HEADERS = {
    "producers": {
        "name": ["ten chu the", "ten", "chu the", "ten co so"],
        "type": ["loai hinh", "loai chu the", "loai"],
        "id_type": ["loai ma", "loai dinh danh"],
        "id_value": ["ma dinh danh", "identifier"],
        # a column named for one kind of identifier says its type too
        "tax_code": ["ma so thue", "mst"],
        "personal_id": ["so cccd", "cccd", "so can cuoc"],
        "address": ["dia chi"],
        "commune_code": ["ma xa", "ma don vi hanh chinh", "commune"],
        "phone": ["dien thoai", "so dien thoai", "sdt"],
        "email": ["thu dien tu"],
    },
    "products": {
        "producer_id": ["ma chu the he thong"],
        "producer_identifier": ["ma so thue chu the", "mst chu the", "ma dinh danh chu the", "producer id value"],
        "name": ["ten san pham", "san pham"],
        "product_group": ["nhom san pham", "nhom", "group"],
        "gtin": ["ma gtin", "ma vach", "barcode"],
        "description": ["mo ta"],
        "stars": ["so sao", "hang sao", "sao"],
        "decision_number": ["so quyet dinh", "quyet dinh"],
        "decision_date": ["ngay quyet dinh", "ngay cong nhan"],
        "issuing_body": ["co quan cong nhan", "co quan ban hanh", "don vi cong nhan"],
        "level": ["cap cong nhan", "cap"],
        "valid_until": ["hieu luc den", "ngay het han", "han giay chung nhan"],
    },
}

VALUES = {
    "type": {"doanh nghiep": "enterprise", "cong ty": "enterprise", "hop tac xa": "cooperative", "htx": "cooperative",
             "to hop tac": "cooperative_group", "tht": "cooperative_group", "ho kinh doanh": "household",
             "co so san xuat": "household", "ho san xuat": "household"},
    "id_type": {"ma so thue": "tax_code", "mst": "tax_code", "cccd": "personal_id", "can cuoc": "personal_id",
                "khac": "other"},
    "product_group": {"thuc pham": "food", "do uong": "drinks", "duoc lieu": "herbal",
                      "duoc lieu va san pham tu duoc lieu": "herbal", "thu cong my nghe": "handicraft",
                      "hang thu cong my nghe": "handicraft", "sinh vat canh": "ornamental",
                      "dich vu du lich": "tourism", "dich vu du lich cong dong": "tourism"},
    "level": {"huyen": "district", "cap huyen": "district", "tinh": "province", "cap tinh": "province",
              "trung uong": "national", "quoc gia": "national"},
}
RECOGNITION_COLUMNS = ("stars", "decision_number", "decision_date", "issuing_body", "level", "valid_until")


# The columns of the downloadable template, in order; their headers come from the catalog
# (import.header.<kind>.<field>) and are read back through HEADERS.
TEMPLATE_COLUMNS = {
    "producers": ("name", "type", "tax_code", "personal_id", "address", "commune_code", "phone", "email"),
    "products": ("producer_identifier", "name", "product_group", "gtin", "description", *RECOGNITION_COLUMNS),
}
# A field checked under another name than the file's column: id_value comes from a "Mã số thuế" column, etc.
HEADER_SOURCES = {
    "id_value": ("id_value", "tax_code", "personal_id"),
    "id_type": ("id_type", "tax_code", "personal_id"),
    "producer_id": ("producer_id", "producer_identifier"),
    "producer_identifier": ("producer_identifier", "producer_id"),
}
XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx file is a zip archive


@dataclass(frozen=True)
class RowError:
    """One problem: the file line (header is line 1), the field, what is wrong, and the field's column as the
    file's own header names it (None when the file has no such column)."""

    line: int
    column: str | None
    message: Message
    header: str | None = None

    def header_text(self, kind: str, lang: str | None = None) -> str | None:
        """The column as the officer knows it: the file's header, else the template's name for the field."""
        if self.header or not self.column:
            return self.header
        key = f"import.header.{kind}.{self.column}"
        return gettext(key, lang) if has_text(key) else self.column

    def as_dict(self, lang: str | None = None, kind: str = "producers") -> dict[str, Any]:
        """The problem as plain data for JSON and templates (column: the field; header: the file's column)."""
        return {"line": self.line, "column": self.column, "header": self.header_text(kind, lang),
                "message": self.message.render(lang)}


@dataclass
class ImportReport:
    """The outcome: how many records were created, or every problem found (then nothing was saved)."""

    kind: str
    rows: int = 0
    created: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the import was saved."""
        return not self.errors

    def error_dicts(self, lang: str | None = None) -> list[dict[str, Any]]:
        """Every problem as plain data, in file order."""
        return [e.as_dict(lang, self.kind) for e in self.errors]


# A refused file as the API answers it (400): the usual error with every problem listed, in file order.
IMPORT_FAILED: dict[str, Any] = {"type": "object", "required": ["error", "fields"], "properties": {
    "error": {"type": "string"}, "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    "errors": {"type": "array", "items": {"type": "object", "required": ["line", "column", "header", "message"],
                                          "properties": {
        "line": {"type": "integer", "description": "File line (the header is line 1); 0 for the whole file"},
        "column": {"type": ["string", "null"], "description": "The template's column name"},
        "header": {"type": ["string", "null"], "description": "The column as the file's header names it"},
        "message": {"type": "string"}}}}}}


class ImportFailed(Error):
    """The file was refused; nothing was saved. report lists the problems."""

    status = 400
    key = "import.failed"

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{len(report.errors)} problem(s) in {report.kind} import")
        self.report = report


@dataclass
class Table:
    """A file's rows as (line number, {field: value}), and each field's column header as the file wrote it."""

    rows: list[tuple[int, dict[str, str]]]
    headers: dict[str, str]

    def header(self, column: str | None) -> str | None:
        """The file's header for the column a problem is about (None if the file has no such column)."""
        if column is None:
            return None
        for source in HEADER_SOURCES.get(column, (column,)):
            if source in self.headers:
                return self.headers[source]
        return None


def _cell_text(value: object) -> str:
    """A spreadsheet cell as the text a CSV export would hold (dates DD/MM/YYYY, whole numbers without .0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):  # a time of day matters (a batch stage's time): keep it, Vietnamese style
            return value.strftime("%d/%m/%Y %H:%M")
        value = value.date()
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_cells(data: bytes, report: ImportReport) -> Iterator[tuple[int, list[str]]]:
    """The first sheet's rows as text cells, numbered like the spreadsheet's rows."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types (zip, XML, key, value errors) for a damaged file
        report.errors.append(RowError(0, None, Message("import.bad_xlsx")))
        raise ImportFailed(report) from None
    try:
        if not book.worksheets:
            report.errors.append(RowError(0, None, Message("import.empty")))
            raise ImportFailed(report)
        rows = book.worksheets[0].iter_rows(values_only=True)
        number = 0
        while True:
            try:
                row = next(rows, None)
            except Exception:  # a damaged sheet inside a readable archive
                report.errors.append(RowError(number + 1, None, Message("import.bad_xlsx")))
                raise ImportFailed(report) from None
            if row is None:
                return
            number += 1
            yield number, [_cell_text(v).strip() for v in row]
    finally:
        book.close()


def _csv_cells(data: bytes, report: ImportReport) -> Iterator[tuple[int, list[str]]]:
    """A CSV file's rows (UTF-8, with or without BOM; comma, semicolon or tab separated)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append(RowError(0, None, Message("import.not_utf8")))
        raise ImportFailed(report) from None
    sample = text[:4096]
    delimiter = max((",", ";", "\t"), key=lambda d: sample.split("\n", 1)[0].count(d))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error:
        report.errors.append(RowError(reader.line_num, None, Message("import.bad_csv")))
        raise ImportFailed(report) from None


def read_table(data: bytes, kind: str, headers_of: dict[str, list[str]] | None = None,
               required: tuple[str, str] = ("name", "import.no_name_column"), max_rows: int = MAX_ROWS) -> Table:
    """Decode a CSV or .xlsx file into its rows, with headers mapped to field names; ImportFailed lists every
    problem of the file's shape. headers_of, required (column, message key) and max_rows let other importers
    (a batch's stages) read their own columns the same way."""
    report = ImportReport(kind)
    if not data.strip():
        report.errors.append(RowError(0, None, Message("import.empty")))
        raise ImportFailed(report)
    cells = _xlsx_cells(data, report) if data.startswith(XLSX_MAGIC) else _csv_cells(data, report)
    first = next((item for item in cells if any(c.strip() for c in item[1])), None)
    if first is None:
        report.errors.append(RowError(0, None, Message("import.empty")))
        raise ImportFailed(report)
    header_line, header = first
    known = headers_of if headers_of is not None else HEADERS[kind]
    aliases = {_key(alias): name for name, names in known.items() for alias in [name, *names]}
    columns = [aliases.get(_key(h)) for h in header]
    headers: dict[str, str] = {}
    for col, text in zip(columns, header):
        if col and col not in headers:
            headers[col] = text.strip()
    if required[0] not in columns:
        report.errors.append(RowError(header_line, None, Message(required[1])))
        raise ImportFailed(report)
    rows = []
    for line, row in cells:
        if not any(c.strip() for c in row):
            continue
        if len(rows) >= max_rows:
            report.errors.append(RowError(line, None, Message("import.too_many_rows", {"max": max_rows})))
            raise ImportFailed(report)
        if any(c.strip() for c in row[len(header):]):
            report.errors.append(RowError(line, None, Message("import.extra_cells")))
            continue
        rows.append((line, {col: cell.strip() for col, cell in zip(columns, row) if col}))
    if report.errors:
        raise ImportFailed(report)
    return Table(rows, headers)


def template_csv(kind: str, lang: str | None = None, columns: tuple[str, ...] | None = None) -> bytes:
    """The empty import template of a kind: its header row, UTF-8 with a BOM so that Excel shows the diacritics."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerow(
        [gettext(f"import.header.{kind}.{name}", lang) for name in columns or TEMPLATE_COLUMNS[kind]])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _choices(record: dict[str, str]) -> dict[str, str]:
    """Vietnamese choice words mapped to stored values ('Hợp tác xã' -> 'cooperative')."""
    out = dict(record)
    for column, mapping in VALUES.items():
        if out.get(column):
            out[column] = mapping.get(_key(out[column]), out[column])
    return out


def _problems(check: Callable[[], object]) -> dict[str, Message]:
    """The field problems a check finds (none if it passes)."""
    try:
        check()
    except ValidationError as exc:
        return exc.fields or {"": exc.message}
    return {}


def _refuse(problems: dict[str, Message]) -> None:
    """Raise every problem of the row at once."""
    if problems:
        general = problems.pop("", None)
        raise ValidationError(problems, general)


def _producer_row(storage: Storage, record: dict[str, str]) -> int:
    record = _choices(record)
    for id_type in ("tax_code", "personal_id"):
        value = record.pop(id_type, "")
        if value and not record.get("id_value"):
            record["id_type"], record["id_value"] = id_type, value
    problems = _problems(lambda: producers.SCHEMA.clean(record))
    id_type, id_value = record.get("id_type"), record.get("id_value")
    if id_value and id_type in producers.ID_TYPES and "id_value" not in problems:
        try:
            normal = check_identifier(id_type, id_value)
        except Invalid as exc:
            problems["id_value"] = exc.message
        else:
            if producers.find_by_identifier(storage, normal) is not None:  # earlier rows of the file included
                problems["id_value"] = Message("error.duplicate")
    _refuse(problems)
    return producers.create(storage, record)["id"]


def _product_row(storage: Storage, record: dict[str, str]) -> int:
    record = _choices(record)
    problems: dict[str, Message] = {}
    identifier = record.pop("producer_identifier", "")
    if not record.get("producer_id") and identifier:
        producer = producers.find_by_identifier(storage, identifier)
        if producer is None:
            problems["producer_identifier"] = Message("error.producer_unknown")
        else:
            record["producer_id"] = str(producer["id"])
    elif not record.get("producer_id"):
        problems["producer_identifier"] = Message("error.producer_required")
    rec_values = {c: record.pop(c) for c in RECOGNITION_COLUMNS if c in record}
    product_problems = _problems(lambda: products.SCHEMA.clean(record))
    if "producer_identifier" in problems:
        product_problems.pop("producer_id", None)  # the same problem, already said once
    elif "producer_id" not in product_problems and storage.get("producers", int(record["producer_id"])) is None:
        product_problems["producer_id"] = Message("error.producer_unknown")
    problems.update(product_problems)
    recognition = None
    if any(rec_values.values()):
        recognition = {"level": "province", **{k: v for k, v in rec_values.items() if v}}
        only = [n for n in recognitions.SCHEMA.names if n != "product_id"]
        problems.update(_problems(lambda: recognitions.SCHEMA.clean(recognition, only=only)))
    _refuse(problems)
    product = products.create(storage, record)
    if recognition is not None:
        recognitions.create(storage, {**recognition, "product_id": product["id"]})
    return product["id"]


ROW_IMPORTERS: dict[str, Callable[[Storage, dict[str, str]], int]] = {
    "producers": _producer_row,
    "products": _product_row,
}


def import_csv(storage: Storage, kind: str, data: bytes) -> ImportReport:
    """Import a whole CSV or .xlsx file in one transaction; raises ImportFailed (nothing saved) listing every
    problem of every row."""
    if kind not in ROW_IMPORTERS:
        raise ValueError(kind)
    table = read_table(data, kind)
    report = ImportReport(kind, rows=len(table.rows))
    importer = ROW_IMPORTERS[kind]
    try:
        with storage.transaction():
            for line, record in table.rows:
                try:
                    with storage.transaction():  # a savepoint: a bad row leaves nothing behind
                        report.created.append(importer(storage, record))
                except ValidationError as exc:
                    if not exc.fields:
                        report.errors.append(RowError(line, None, exc.message))
                    for column, message in exc.fields.items():
                        report.errors.append(RowError(line, column, message, table.header(column)))
            if report.errors:
                raise ImportFailed(report)
    except ImportFailed:
        report.created.clear()
        raise
    return report
