"""Writing tables as CSV and XLSX, with nothing a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in FORMULA_PREFIXES:
        return "'" + value
    return value


def to_csv(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return buffer.getvalue()


@dataclass
class Sheet:
    """One worksheet: rows (the first is the bold header), column widths, frozen panes."""

    title: str
    rows: list[list[Any]]
    widths: dict[str, float] = field(default_factory=dict)
    freeze: str | None = None


def to_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """A workbook of ``sheets``; every text cell is stored as text, never as a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    first = True
    for sheet in sheets:
        if first:
            ws = wb.active
            assert ws is not None
            ws.title = sheet.title
            first = False
        else:
            ws = wb.create_sheet(sheet.title)
        for row in sheet.rows:
            ws.append(list(row))
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula
        for cell in ws[1]:
            cell.font = Font(bold=True)
        if sheet.freeze:
            ws.freeze_panes = sheet.freeze
        for column, width in sheet.widths.items():
            ws.column_dimensions[column].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
