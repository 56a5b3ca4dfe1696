"""Word documents (``.docx``) with python-docx: the building blocks of a memo's Word copy.

:class:`WordDocument` writes what a memo needs — a marking in every page's header and footer,
headings in Word's own Heading styles, paragraphs of plain or bold and italic text, lists,
tables whose header row repeats on every page (with alternative text), pictures with
alternative text, landscape pages for wide tables — and :meth:`WordDocument.to_bytes` saves
it so that the same content always gives the same bytes: its core properties come from the
caller (no clock), the template's thumbnail is left out, and the archive is rewritten with
fixed entry dates.

Every text goes into the document as text, never as markup (python-docx escapes it), after
:func:`clean_text` has taken out the characters XML 1.0 cannot hold (NUL, the C0 controls
but tab, line feed and carriage return — Word's manual line break ``\\x0b`` among them —
unpaired surrogates and U+FFFE/U+FFFF). Sanitised Markdown HTML becomes paragraphs in
:mod:`app.adapters.word_markdown`. Nothing here knows about Flask or the memo.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

PAPER_SIZES_MM = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
MARGIN_MM = 20.0
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MONO_FONT = "Consolas"
GREY = RGBColor(0x55, 0x55, 0x55)

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: object) -> str:
    """``text`` as a string XML can hold: NUL, the C0 controls other than tab, LF and CR,
    unpaired surrogates and U+FFFE/U+FFFF are taken out (a vertical tab becomes a space)."""
    return _ILLEGAL.sub("", str(text).replace("\x0b", " ").replace("\x0c", " "))


@dataclass(frozen=True)
class Run:
    """A stretch of text in one look."""

    text: str
    bold: bool = False
    italic: bool = False
    mono: bool = False
    small: bool = False


Text = str | Run | Sequence[Run]
"""What a paragraph or a cell holds: a plain string, one run or several."""


@dataclass(frozen=True)
class Picture:
    """A PNG to place, ``width_mm`` wide, with its alternative text (what it shows)."""

    png: bytes
    width_mm: float
    alt: str
    title: str = ""


@dataclass(frozen=True)
class Properties:
    """The document's core properties (File ▸ Info in Word)."""

    title: str
    author: str
    subject: str
    keywords: str
    created: datetime
    comments: str = ""
    category: str = ""


def _runs(text: Text) -> list[Run]:
    if isinstance(text, str):
        return [Run(text)]
    if isinstance(text, Run):
        return [text]
    return list(text)


def _add_runs(paragraph: Paragraph, text: Text) -> None:
    for part in _runs(text):
        lines = clean_text(part.text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for index, line in enumerate(lines):
            run = paragraph.add_run(line)
            if index < len(lines) - 1:
                run.add_break(WD_BREAK.LINE)
            if part.bold:
                run.bold = True
            if part.italic:
                run.italic = True
            if part.mono:
                run.font.name = MONO_FONT
            if part.small:
                run.font.size = Pt(8)


def _set_cell_shading(cell: Any, fill: str) -> None:
    properties = cell._tc.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    properties.append(shading)


def _repeat_as_header(row: Any) -> None:
    """Mark ``row`` as a header row that Word repeats at the top of every page."""
    properties = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def _keep_row_together(row: Any) -> None:
    properties = row._tr.get_or_add_trPr()
    properties.append(OxmlElement("w:cantSplit"))


def _set_widths(table: Table, widths_mm: Sequence[float]) -> None:
    """Fixed column widths: the table's grid (what Word and LibreOffice lay out by) and each
    cell's preferred width."""
    table.autofit = False
    for column, width in zip(table._tbl.tblGrid.gridCol_lst, widths_mm, strict=False):
        column.w = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=False):
            cell.width = Mm(width)


def _narrow_margins(table: Table) -> None:
    """Cell margins of 1 mm left and right (Word's default is 1.9 mm), for dense tables."""
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        margin = OxmlElement(f"w:{side}")
        margin.set(qn("w:w"), str(round(Mm(1) / 635)))  # twentieths of a point
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    table._tbl.tblPr.insert_element_before(
        margins, "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange"
    )


def _field(paragraph: Paragraph, instruction: str, placeholder: str) -> None:
    """A Word field (PAGE, NUMPAGES) with ``placeholder`` as its last computed value."""
    for kind, text in (("begin", None), ("instr", instruction), ("separate", None)):
        run = paragraph.add_run()
        if kind == "instr":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = f" {text} "
        else:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        run._r.append(element)
    paragraph.add_run(placeholder)
    end = paragraph.add_run()
    element = OxmlElement("w:fldChar")
    element.set(qn("w:fldCharType"), "end")
    end._r.append(element)


class WordDocument:
    """One document under construction; ``to_bytes`` gives its reproducible ``.docx``."""

    def __init__(
        self,
        *,
        properties: Properties,
        paper: str = "a4",
        marking: str = "",
        footer_line: str = "",
    ) -> None:
        self.document = docx.Document()
        self.properties = properties
        self.paper = paper if paper in PAPER_SIZES_MM else "a4"
        self.marking = clean_text(marking)
        self.footer_line = clean_text(footer_line)
        self._style_ids: dict[str, str] = {}
        self._drop_thumbnail()
        self._set_styles()
        section = self.document.sections[0]
        self._lay_out(section, landscape=False)
        self._header_and_footer(section)

    # --- page and styles ------------------------------------------------------------------

    def _drop_thumbnail(self) -> None:
        """The template's thumbnail shows a blank page of another document: leave it out."""
        rels = self.document.part.package.rels
        for key in [k for k, rel in rels.items() if rel.reltype == RT.THUMBNAIL]:
            del rels[key]

    def _set_styles(self) -> None:
        styles = self.document.styles
        normal = styles["Normal"]
        normal.font.size = Pt(10.5)
        for name in ("Caption",):
            styles[name].font.size = Pt(9)

    def _style_id(self, name: str) -> str:
        """The id of the style called ``name`` (looked up once: python-docx searches every
        style on each lookup by name)."""
        if name not in self._style_ids:
            self._style_ids[name] = self.document.styles[name].style_id
        return self._style_ids[name]

    @property
    def text_width_mm(self) -> float:
        section = self.document.sections[-1]
        page = section.page_width or Mm(PAPER_SIZES_MM[self.paper][0])
        return (page - (section.left_margin or 0) - (section.right_margin or 0)) / Mm(1)

    def _lay_out(self, section: Any, *, landscape: bool) -> None:
        width, height = PAPER_SIZES_MM[self.paper]
        if landscape:
            width, height = height, width
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(width), Mm(height)
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Mm(MARGIN_MM))
        section.header_distance = section.footer_distance = Mm(8)

    def _header_and_footer(self, section: Any) -> None:
        header = section.header.paragraphs[0]
        header.alignment = WD_ALIGN_PARAGRAPH.CENTER
        header.add_run(self.marking).bold = True
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer.add_run(self.marking).bold = True
        line = section.footer.add_paragraph()
        line.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if self.footer_line:
            line.add_run(f"{self.footer_line} · ")
        line.add_run("Page ")
        _field(line, "PAGE", "1")
        line.add_run(" of ")
        _field(line, "NUMPAGES", "1")
        for run in line.runs:
            run.font.size = Pt(8)

    def new_section(self, *, landscape: bool) -> None:
        """Continue on a new page, in landscape or portrait (the header and footer carry on)."""
        section = self.document.add_section()
        self._lay_out(section, landscape=landscape)

    # --- blocks ---------------------------------------------------------------------------

    def heading(self, text: str, level: int) -> Paragraph:
        """A heading in Word's "Heading ``level``" style (it shows in the navigation pane)."""
        return self.paragraph(text, style=f"Heading {level}")

    def title(self, text: str) -> Paragraph:
        return self.paragraph(text, style="Title")

    def paragraph(
        self, text: Text = "", *, style: str | None = None, note: bool = False
    ) -> Paragraph:
        """A paragraph of ``text``; a ``note`` is set small and grey."""
        paragraph = self.document.add_paragraph()
        if style is not None:
            paragraph._p.style = self._style_id(style)
        _add_runs(paragraph, text)
        if note:
            for run in paragraph.runs:
                run.font.size = Pt(8.5)
                run.font.color.rgb = GREY
        return paragraph

    def caption(self, text: Text) -> Paragraph:
        paragraph = self.paragraph(text, style="Caption")
        paragraph.paragraph_format.keep_with_next = True
        return paragraph

    def items(self, items: Iterable[Text], *, numbered: bool = False, level: int = 1) -> None:
        """A bulleted (or numbered, counting from 1) list, one paragraph per item."""
        paragraphs = [
            self.paragraph(item, style=self.list_style(numbered, level)) for item in items
        ]
        if numbered and paragraphs:
            self.restart_numbering(paragraphs, level)

    def list_style(self, numbered: bool, level: int) -> str:
        base = "List Number" if numbered else "List Bullet"
        return base if level <= 1 else f"{base} {min(level, 3)}"

    def restart_numbering(self, paragraphs: Sequence[Paragraph], level: int) -> None:
        """Number ``paragraphs`` from 1: a list instance of its own over the style's list."""
        style = self.document.styles[self.list_style(True, level)]
        style_numbering = style.element.pPr.numPr
        if style_numbering is None or style_numbering.numId is None:
            return
        numbering = self.document.part.numbering_part.element
        style_num = numbering.num_having_numId(style_numbering.numId.val)
        num = numbering.add_num(style_num.abstractNumId.val)
        override = num.add_lvlOverride(ilvl=0)
        override.add_startOverride(1)
        for paragraph in paragraphs:
            properties = paragraph._p.get_or_add_pPr()
            num_pr = properties.get_or_add_numPr()
            num_pr.get_or_add_ilvl().val = 0
            num_pr.get_or_add_numId().val = num.numId

    def table(
        self,
        header: Sequence[Text] | None,
        rows: Iterable[Sequence[Text | Picture]],
        *,
        numeric: Iterable[int] = (),
        shaded: Iterable[tuple[int, int]] = (),
        widths_mm: Sequence[float] | None = None,
        small: bool = False,
        row_headers: bool = False,
        title: str | None = None,
    ) -> Table:
        """A Word table: ``header`` (a row repeated on every page) over ``rows``; columns in
        ``numeric`` are right-aligned; cells ``(row, column)`` in ``shaded`` are grey; ``title``
        is the table's alternative text (what a screen reader announces)."""
        rows = [list(r) for r in rows]
        columns = len(header) if header is not None else max((len(r) for r in rows), default=1)
        table: Table = self.document.add_table(rows=0, cols=columns)
        table._tbl.tblStyle_val = self._style_id("Table Grid")
        table.alignment = WD_TABLE_ALIGNMENT.LEFT
        right = set(numeric)
        grey = set(shaded)

        def fill(cells: Sequence[Any], values: Sequence[Text | Picture], bold: bool) -> None:
            for j, (cell, value) in enumerate(zip(cells, values, strict=False)):
                paragraph = cell.paragraphs[0]
                if isinstance(value, Picture):
                    run = paragraph.add_run()
                    shape = run.add_picture(io.BytesIO(value.png), width=Mm(value.width_mm))
                    _describe(shape, value)
                else:
                    runs = [
                        Run(r.text, bold=r.bold or bold, italic=r.italic, mono=r.mono, small=small)
                        for r in _runs(value)
                    ]
                    _add_runs(paragraph, runs)
                if j in right:
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT

        if header is not None:
            row = table.add_row()
            _repeat_as_header(row)
            _keep_row_together(row)
            fill(row.cells, header, True)
            for cell in row.cells:
                _set_cell_shading(cell, "E8E8E8")
        for i, values in enumerate(rows):
            row = table.add_row()
            _keep_row_together(row)
            fill(row.cells, values, False)
            if row_headers and values:
                for run in row.cells[0].paragraphs[0].runs:
                    run.bold = True
            for j, cell in enumerate(row.cells):
                if (i, j) in grey:
                    _set_cell_shading(cell, "D9D9D9")
        if widths_mm is not None:
            _set_widths(table, widths_mm)
        if small:
            _narrow_margins(table)
        if title:
            caption = OxmlElement("w:tblCaption")
            caption.set(qn("w:val"), clean_text(title)[:255])
            table._tbl.tblPr.insert_element_before(caption, "w:tblDescription", "w:tblPrChange")
        self.document.add_paragraph()  # a table needs a paragraph between it and the next
        return table

    def picture(self, picture: Picture) -> Paragraph:
        """``picture`` in a paragraph of its own, centred, with its alternative text."""
        paragraph = self.document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.keep_with_next = True
        shape = paragraph.add_run().add_picture(
            io.BytesIO(picture.png), width=Mm(min(picture.width_mm, self.text_width_mm))
        )
        _describe(shape, picture)
        return paragraph

    # --- saving ---------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The ``.docx``; the same document built the same way gives the same bytes."""
        core = self.document.core_properties
        p = self.properties
        core.title = clean_text(p.title)[:255]
        core.author = clean_text(p.author)[:255]
        core.subject = clean_text(p.subject)[:255]
        core.keywords = clean_text(p.keywords)[:255]
        core.comments = clean_text(p.comments)[:255]
        core.category = clean_text(p.category)[:255]
        core.last_modified_by = clean_text(p.author)[:255]
        core.created = core.modified = p.created.replace(tzinfo=None, microsecond=0)
        core.revision = 1
        core.language = "en"
        raw = io.BytesIO()
        self.document.save(raw)
        return deterministic_zip(raw.getvalue())


def _describe(shape: Any, picture: Picture) -> None:
    """Alternative text (``descr``) and title on the picture's drawing properties."""
    properties = shape._inline.docPr
    properties.set("descr", clean_text(picture.alt))
    if picture.title:
        properties.set("title", clean_text(picture.title))


def deterministic_zip(data: bytes) -> bytes:
    """The archive ``data`` rewritten with fixed entry dates and attributes, entries in the
    order they came, so equal contents give equal bytes."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so extracted files are readable (rw-r--r--)
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(entry.filename), compresslevel=6)
    return out.getvalue()


def look(run: Run) -> tuple[bool, bool, bool, bool]:
    return run.bold, run.italic, run.mono, run.small


def trim(runs: list[Run]) -> list[Run]:
    """``runs`` without leading and trailing blanks."""
    runs = list(runs)
    while runs and not runs[0].text.strip():
        runs.pop(0)
    while runs and not runs[-1].text.strip():
        runs.pop()
    if runs:
        runs[0] = Run(runs[0].text.lstrip(), *look(runs[0]))
        runs[-1] = Run(runs[-1].text.rstrip(), *look(runs[-1]))
    return runs
