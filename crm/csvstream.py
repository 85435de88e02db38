"""CSV written row by row into a streaming response: memory stays flat whatever the number of rows."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

# A cell starting with one of these is run as a formula by Excel and LibreOffice (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
# Rows per yielded chunk: one write per row would make thousands of tiny network writes.
ROWS_PER_CHUNK = 500


class _Line:
    """csv.writer needs a file; this one just hands back what was written."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would evaluate gets a leading apostrophe, so it stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_stream(header: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = False) -> Iterator[str]:
    """The CSV text of `header` and `rows` in chunks; `bom` makes Excel read the file as UTF-8."""
    writer = csv.writer(_Line())
    yield (BOM if bom else "") + writer.writerow([safe_cell(h) for h in header])
    chunk: list[str] = []
    for row in rows:
        chunk.append(writer.writerow([safe_cell(cell) for cell in row]))
        if len(chunk) >= ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)
