"""Writing tables as CSV and XLSX, with nothing a spreadsheet would run as a formula and
nothing a workbook cannot hold."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Where a spreadsheet may start a new cell when it splits a line with its own list separator
# (a comma, a semicolon, a tab or a bar) or a field at a line break; spaces before the
# formula start count for nothing, since a spreadsheet that trims them would run it.
_FORMULA_START = re.compile(r"(?:^|(?<=[,;\t|\n\r]))(?=[ ]*[=+\-@\t\r])")
# The control characters a workbook cannot hold (XML 1.0 allows tab, LF and CR only).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_LINE_BREAKS = re.compile(r"[\x0b\x0c]")  # Word's manual line break, page break


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets an apostrophe: at its start and
    after every separator a spreadsheet might split it at (before any spaces there)."""
    if isinstance(value, str):
        return _FORMULA_START.sub("'", value)
    return value


def to_csv(rows: Iterable[Sequence[Any]]) -> str:
    """Every field quoted, every formula start neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return buffer.getvalue()


def workbook_text(value: Any) -> Any:
    """Text a workbook can hold: vertical tabs and form feeds become line breaks, other
    control characters (bar tab, LF and CR) are dropped."""
    if isinstance(value, str):
        return _ILLEGAL.sub("", _LINE_BREAKS.sub("\n", value))
    return value


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
            ws.title = workbook_text(sheet.title)
            first = False
        else:
            ws = wb.create_sheet(workbook_text(sheet.title))
        for row in sheet.rows:
            ws.append([workbook_text(v) for v in row])
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
