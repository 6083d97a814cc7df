"""CSV downloads from the staff pages: cells a spreadsheet will not run, and the download response."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from litestar.response import Response


def safe_cell(value: object) -> str:
    """A cell a spreadsheet will not run as a formula: text starting = + - @ (or tab, return) gets a '."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def csv_download(header: Sequence[str], rows: Iterable[Sequence[object]], filename: str) -> Response:
    return Response(
        csv_text(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
