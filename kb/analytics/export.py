"""Export formats: CSV and JSON written as the rows stream in (no million-row list in memory).

CSV cells that a spreadsheet would run as a formula are neutralised: exports carry visitors' own
text (comments, search queries).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

EXPORT_KINDS = ("votes", "comments", "articles", "searches")
FORMATS = ("csv", "json")
CHUNK_ROWS = 1000  # rows per chunk sent: few writes to the socket, little held in memory

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """Spreadsheets run cells that start like a formula: visitors' text is neutralised with a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


async def csv_chunks(columns: tuple[str, ...], rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    """A header line, then one line per row (CRLF, as RFC 4180 and spreadsheets expect)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    async for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
        count += 1
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def json_chunks(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    """A JSON array, written as it streams."""
    first = True
    parts: list[str] = ["["]
    async for row in rows:
        parts.append(("" if first else ",\n") + json.dumps(row, ensure_ascii=False))
        first = False
        if len(parts) >= CHUNK_ROWS:
            yield "".join(parts)
            parts = []
    parts.append("]\n")
    yield "".join(parts)
