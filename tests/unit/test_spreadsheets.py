"""CSV and XLSX writing: nothing a spreadsheet would run as a formula, wherever it splits a
line, and nothing a workbook cannot hold."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from app.adapters.spreadsheets import Sheet, neutralise, to_csv, to_xlsx, workbook_text

PAYLOAD = "x;=cmd|' /C calc'!A0;y"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("\t=x", "'\t'=x"),
        ("\r=x", "'\r'=x"),
        (PAYLOAD, "x;'=cmd|' /C calc'!A0;y"),
        ("a,=b", "a,'=b"),
        ("a\t+b", "a\t'+b"),
        ("a|@b", "a|'@b"),
        ("a;-b", "a;'-b"),
        (" =1", "' =1"),  # a spreadsheet that trims the cell would still see "=1"
        ("a, =b", "a,' =b"),
        ("line\n=HYPERLINK(1)", "line\n'=HYPERLINK(1)"),
        ("plain text, with a - dash", "plain text, with a - dash"),
        ("e-mail", "e-mail"),
        (3.5, 3.5),
        (-2, -2),
    ],
)
def test_formula_starts_are_neutralised_after_every_separator(
    value: object, expected: object
) -> None:
    assert neutralise(value) == expected


@pytest.mark.parametrize("separator", [",", ";", "\t", "|"])
def test_no_cell_starts_a_formula_whichever_separator_a_spreadsheet_uses(separator: str) -> None:
    rows = [["Option", "Note"], [PAYLOAD, "=1+1"], ["a|@SUM(1)", "b\t-2"], [None, 4.5]]
    body = to_csv(rows)
    for line in csv.reader(io.StringIO(body)):
        for field in line:
            # A spreadsheet splitting the field again at its own list separator.
            for piece in field.split(separator):
                assert piece[:1] not in ("=", "+", "-", "@"), (field, piece)
    # A spreadsheet splitting the raw line, quotes and all, finds no bare formula either.
    for piece in body.replace("\r\n", "\n").replace("\n", separator).split(separator):
        assert piece.lstrip('"')[:1] not in ("=", "+", "-", "@"), piece


def test_every_csv_field_is_quoted_and_reads_back() -> None:
    body = to_csv([["Option", "Total"], ["A, with comma", 12.5], [None, 3]])
    assert body.splitlines() == ['"Option","Total"', '"A, with comma","12.5"', '"","3"']
    assert list(csv.reader(io.StringIO(body)))[1] == ["A, with comma", "12.5"]


def test_workbook_text_keeps_line_breaks_and_drops_what_a_workbook_cannot_hold() -> None:
    assert workbook_text("line one\x0bline two") == "line one\nline two"
    assert workbook_text("page\x0cbreak") == "page\nbreak"
    assert workbook_text("bell\x07 nul\x00 esc\x1b end") == "bell nul esc end"
    assert workbook_text("tab\tLF\nCR\r") == "tab\tLF\nCR\r"
    assert workbook_text(7) == 7


def test_xlsx_with_control_characters_is_written_and_keeps_text() -> None:
    rows = [
        ["Option", "Rationale"],
        ["Title\x0bwith a manual line break", "Because\x01 \x1f it\x0c is"],
        ['=HYPERLINK("x")', None],
    ]
    data = to_xlsx([Sheet("Matrix", rows), Sheet("About\x07", [["Decision", "T\x0bT"]])])
    wb = load_workbook(io.BytesIO(data))
    ws = wb["Matrix"]
    assert ws["A2"].value == "Title\nwith a manual line break"
    assert ws["B2"].value == "Because  it\n is"
    assert ws["A3"].data_type == "s" and ws["A3"].value == '=HYPERLINK("x")'
    assert wb["About"]["B1"].value == "T\nT"
