"""Sanitised Markdown HTML (what :func:`app.adapters.markdown.render_markdown` returns) as Word
paragraphs in a :class:`~app.adapters.word.WordDocument`.

The HTML's text goes into the document as text — character references decoded to the
characters they stand for, never read as markup again — with bold, italic, code, line breaks,
lists (numbered lists count from 1), quotes, rules and tables. Markdown headings inside a text
become bold paragraphs, not Word headings, so the document's outline stays the memo's own
sections. A tag Word has no use for contributes only its text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from docx.enum.text import WD_ALIGN_PARAGRAPH

from app.adapters.word import Run, WordDocument, look, trim

_BLOCKS = {"p", "h3", "h4", "h5", "h6", "pre", "li", "div"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_SPACE = re.compile(r"[ \t\r\n\f]+")


def write_html(document: WordDocument, html: str) -> None:
    """Append the sanitised HTML ``html`` to ``document`` as paragraphs."""
    writer = _HtmlWriter(document)
    writer.feed(html)
    writer.close()
    writer.flush()


class _HtmlWriter(HTMLParser):
    def __init__(self, document: WordDocument) -> None:
        super().__init__(convert_charrefs=True)
        self.document = document
        self.runs: list[Run] = []
        self.bold = self.italic = self.mono = self.pre = self.quote = 0
        self.heading = False
        self.lists: list[tuple[bool, list[Any]]] = []  # (numbered, its paragraphs)
        self.table: list[list[list[Run]]] | None = None
        self.cell: list[Run] | None = None
        self.header_rows = 0

    def _run(self, text: str) -> Run:
        return Run(
            text, bold=self.bold > 0 or self.heading, italic=self.italic > 0, mono=self.mono > 0
        )

    def _target(self) -> list[Run] | None:
        """Where text goes now: the open table cell, nowhere (between cells), or the runs."""
        if self.table is not None:
            return self.cell
        return self.runs

    def flush(self) -> None:
        """Write the runs gathered so far as one paragraph (nothing for blank text)."""
        runs, self.runs = self.runs, []
        if not "".join(r.text for r in runs).strip():
            return
        if not self.pre:
            runs = trim(_around_breaks(runs))
        elif runs:  # a code block keeps its lines, but not the newline that ends it
            runs[-1] = Run(runs[-1].text.rstrip("\n"), *look(runs[-1]))
        if self.lists:
            numbered, paragraphs = self.lists[-1]
            style = self.document.list_style(numbered, len(self.lists))
            paragraphs.append(self.document.paragraph(runs, style=style))
            return
        paragraph = self.document.paragraph(runs, style="Quote" if self.quote else None)
        if self.heading:
            paragraph.paragraph_format.keep_with_next = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("strong", "b"):
            self.bold += 1
        elif tag in ("em", "i"):
            self.italic += 1
        elif tag == "code":
            self.mono += 1
        elif tag == "br":
            target = self._target()
            if target is not None:
                target.append(Run("\n"))
        elif self.table is not None:
            if tag == "tr":
                self.table.append([])
            elif tag in ("td", "th"):
                self.cell = []
        elif tag in ("ul", "ol"):
            self.flush()
            self.lists.append((tag == "ol", []))
        elif tag == "blockquote":
            self.flush()
            self.quote += 1
        elif tag == "pre":
            self.flush()
            self.pre += 1
            self.mono += 1
        elif tag in _HEADINGS:
            self.flush()
            self.heading = True
        elif tag == "hr":
            self.flush()
            self.document.paragraph("* * *").alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif tag == "table":
            self.flush()
            self.table, self.header_rows = [], 0
        elif tag in _BLOCKS:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("strong", "b"):
            self.bold = max(0, self.bold - 1)
        elif tag in ("em", "i"):
            self.italic = max(0, self.italic - 1)
        elif tag == "code":
            self.mono = max(0, self.mono - 1)
        elif self.table is not None:
            if tag in ("td", "th") and self.cell is not None:
                if self.table:
                    self.table[-1].append(self.cell)
                self.cell = None
            elif tag == "thead":
                self.header_rows = len(self.table)
            elif tag == "table":
                self._write_table()
        elif tag in ("ul", "ol"):
            self.flush()
            if self.lists:
                numbered, paragraphs = self.lists.pop()
                if numbered and paragraphs:
                    self.document.restart_numbering(paragraphs, len(self.lists) + 1)
        elif tag == "blockquote":
            self.flush()
            self.quote = max(0, self.quote - 1)
        elif tag == "pre":
            self.flush()
            self.pre = max(0, self.pre - 1)
            self.mono = max(0, self.mono - 1)
        elif tag in _HEADINGS:
            self.flush()
            self.heading = False
        elif tag in _BLOCKS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self.pre:  # whitespace collapses as in HTML; a "\n" left is a <br>
            data = _SPACE.sub(" ", data)
        target = self._target()
        if target is not None:
            target.append(self._run(data))

    def _write_table(self) -> None:
        rows = [[trim(_around_breaks(cell)) for cell in row] for row in (self.table or []) if row]
        self.table = None
        if not rows:
            return
        width = max(len(r) for r in rows)
        rows = [r + [[] for _ in range(width - len(r))] for r in rows]
        if self.header_rows:
            self.document.table(rows[0], rows[1:])
        else:
            self.document.table(None, rows)


def _around_breaks(runs: list[Run]) -> list[Run]:
    """``runs`` without the blanks that HTML does not show on either side of a line break."""
    out = list(runs)
    for i, run in enumerate(out):
        if run.text != "\n":
            continue
        if i > 0 and out[i - 1].text != "\n":
            out[i - 1] = Run(out[i - 1].text.rstrip(" "), *look(out[i - 1]))
        if i + 1 < len(out) and out[i + 1].text != "\n":
            out[i + 1] = Run(out[i + 1].text.lstrip(" "), *look(out[i + 1]))
    return out
