"""A run's codes as a CSV file for other printing systems: serial, printed serial, QR text and hidden code."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from itertools import chain, repeat

from ..keystore import KeyStore
from ..registry.records import Row
from . import issuing
from .serials import format_serial

HEADER = ("serial", "serial_text", "url", "hidden_code")


def csv_lines(run: Row, store: KeyStore, host: str, first: int | None = None,
              last: int | None = None) -> Iterator[str]:
    """The header line and one line per stamp (hidden_code empty for a run without hidden codes). Range and
    signing problems are raised by this call, before any line: a download or a pipe never stops halfway."""
    lo, hi = issuing.run_range(run, first, last)
    hidden = issuing.hidden_codes(run, store, lo, hi) if run["hidden_code"] else repeat((None, ""))
    texts = issuing.codes(run, store, host, lo, hi)
    head = next(texts)  # signs the first stamp now: a retired or missing key is refused here
    return _lines(chain([head], texts), hidden)


def _lines(texts: Iterable[tuple[int, str]], hidden: Iterable[tuple[int | None, str]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(values: Iterable[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(HEADER)
    for (serial, text), (_serial, code) in zip(texts, hidden):
        yield line((serial, format_serial(serial), text, code))
