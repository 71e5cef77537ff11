"""CSV, JSON and JSON Lines, written row by row from any iterable of dicts.

CSV cells that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) get a leading apostrophe: a test name or failure
message from a report can never run as a formula when the file is opened in Excel,
LibreOffice or Google Sheets (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

FORMATS = ("csv", "json", "jsonl")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json", "jsonl": "application/x-ndjson"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A value as a CSV cell: timestamps in ISO 8601, formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    if isinstance(value, int | float):
        return text  # a negative number is a number, not a formula
    return "'" + text if text.startswith(_FORMULA_START) else text


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _dump(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, default=_json_default)


def csv_lines(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A header line, then one line per row (RFC 4180 quoting, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(row.get(c)) for c in columns])
        yield buffer.getvalue()


def json_document(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """``{"items": [...]}`` written one item at a time (valid JSON only once finished)."""
    yield '{"items": ['
    for i, row in enumerate(rows):
        yield ("," if i else "") + "\n" + _dump(row)
    yield "\n]}\n"


def json_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """One JSON object per line: readable while it is written, and by ``jq -c``."""
    for row in rows:
        yield _dump(row) + "\n"


def write(fmt: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    if fmt == "csv":
        return csv_lines(columns, rows)
    if fmt == "json":
        return json_document(rows)
    if fmt == "jsonl":
        return json_lines(rows)
    raise ValueError(fmt)
