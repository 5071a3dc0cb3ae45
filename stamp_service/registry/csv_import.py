"""CSV import of producers and products: every row checked, all saved or none, a report per row.

Provincial offices keep these lists in spreadsheets, so headers and values may be Vietnamese
("Tên chủ thể", "Hợp tác xã", "Thực phẩm"), dates DD/MM/YYYY, commune codes without leading zeros.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable

from ..i18n import Message
from ..storage import Storage
from . import producers, products, recognitions
from .fields import ValidationError

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


@dataclass(frozen=True)
class RowError:
    """One problem: the file line (header is line 1), the column, and what is wrong."""

    line: int
    column: str | None
    message: Message

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        """The problem as plain data for JSON and templates."""
        return {"line": self.line, "column": self.column, "message": self.message.render(lang)}


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


class ImportFailed(Exception):
    """The file was refused; nothing was saved. report lists the problems."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{len(report.errors)} problem(s) in {report.kind} import")
        self.report = report


def read_rows(data: bytes, kind: str) -> list[tuple[int, dict[str, str]]]:
    """Decode a CSV file into (line number, {field: value}) with headers mapped to field names."""
    report = ImportReport(kind)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append(RowError(0, None, Message("import.not_utf8")))
        raise ImportFailed(report) from None
    if not text.strip():
        report.errors.append(RowError(0, None, Message("import.empty")))
        raise ImportFailed(report)
    sample = text[:4096]
    delimiter = max((",", ";", "\t"), key=lambda d: sample.split("\n", 1)[0].count(d))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        aliases = {_key(alias): name for name, names in HEADERS[kind].items() for alias in [name, *names]}
        columns = [aliases.get(_key(h)) for h in header]
        if "name" not in columns:
            report.errors.append(RowError(1, None, Message("import.no_name_column")))
            raise ImportFailed(report)
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                report.errors.append(RowError(reader.line_num, None, Message("import.too_many_rows", {"max": MAX_ROWS})))
                raise ImportFailed(report)
            if len(cells) > len(header):
                report.errors.append(RowError(reader.line_num, None, Message("import.extra_cells")))
                continue
            record = {col: cell.strip() for col, cell in zip(columns, cells) if col}
            rows.append((reader.line_num, record))
    except csv.Error:
        report.errors.append(RowError(reader.line_num, None, Message("import.bad_csv")))
        raise ImportFailed(report) from None
    if report.errors:
        raise ImportFailed(report)
    return rows


def _choices(record: dict[str, str]) -> dict[str, str]:
    """Vietnamese choice words mapped to stored values ('Hợp tác xã' -> 'cooperative')."""
    out = dict(record)
    for column, mapping in VALUES.items():
        if out.get(column):
            out[column] = mapping.get(_key(out[column]), out[column])
    return out


def _producer_row(storage: Storage, record: dict[str, str]) -> int:
    record = _choices(record)
    for id_type in ("tax_code", "personal_id"):
        value = record.pop(id_type, "")
        if value and not record.get("id_value"):
            record["id_type"], record["id_value"] = id_type, value
    return producers.create(storage, record)["id"]


def _product_row(storage: Storage, record: dict[str, str]) -> int:
    record = _choices(record)
    identifier = record.pop("producer_identifier", "")
    if not record.get("producer_id") and identifier:
        producer = producers.find_by_identifier(storage, identifier)
        if producer is None:
            raise ValidationError.single("producer_identifier", "error.producer_unknown")
        record["producer_id"] = str(producer["id"])
    if not record.get("producer_id"):
        raise ValidationError.single("producer_identifier", "error.producer_required")
    rec_values = {c: record.pop(c) for c in RECOGNITION_COLUMNS if c in record}
    product = products.create(storage, record)
    if any(rec_values.values()):
        if not rec_values.get("issuing_body"):
            rec_values.pop("issuing_body", None)
        recognitions.create(storage, {"level": "province", **{k: v for k, v in rec_values.items() if v},
                                      "product_id": product["id"]})
    return product["id"]


ROW_IMPORTERS: dict[str, Callable[[Storage, dict[str, str]], int]] = {
    "producers": _producer_row,
    "products": _product_row,
}


def import_csv(storage: Storage, kind: str, data: bytes) -> ImportReport:
    """Import a whole file in one transaction; raises ImportFailed (nothing saved) if any row is wrong."""
    if kind not in ROW_IMPORTERS:
        raise ValueError(kind)
    rows = read_rows(data, kind)
    report = ImportReport(kind, rows=len(rows))
    importer = ROW_IMPORTERS[kind]
    try:
        with storage.transaction():
            for line, record in rows:
                try:
                    with storage.transaction():  # a savepoint: a bad row leaves nothing behind
                        report.created.append(importer(storage, record))
                except ValidationError as exc:
                    if not exc.fields:
                        report.errors.append(RowError(line, None, exc.message))
                    for column, message in exc.fields.items():
                        report.errors.append(RowError(line, column, message))
            if report.errors:
                raise ImportFailed(report)
    except ImportFailed:
        report.created.clear()
        raise
    return report
