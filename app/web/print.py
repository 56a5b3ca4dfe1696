"""The printed memo: its Jinja environment and the HTML of a snapshot.

The print templates (templates/memo/) are their own documents, rendered outside any request
by a strict environment of their own (undefined names fail; user text is escaped; Markdown
without links). They share the web pages' formatting filters (:mod:`app.web.formatting`) and
the product's vocabulary as Jinja globals (both from :func:`formatting.register`). The view
model comes from :mod:`app.web.presenters.memo`; WeasyPrint itself is in :mod:`app.adapters.pdf`.

:data:`MEMO_PRINTER` is what the memo use cases (:mod:`app.services.memos`) are given to word
and lay out a memo, and to make its Word copy (:mod:`app.web.word`) from the same snapshot; :func:`init_app` makes it the application's, for the commands too.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from flask.sansio.app import App
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.adapters.pdf import PDF_ASSET_BASE
from app.config import ROOT
from app.services.memos import PRINTER_EXTENSION, MemoPrinter
from app.web import formatting, word
from app.web.presenters import robustness
from app.web.presenters.memo import memo_view

TEMPLATES_DIR = Path(ROOT, "templates")
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@functools.cache
def environment() -> Environment:
    """The print environment (one per process)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    formatting.register(env, links=False)
    return env


def render_memo_html(snapshot: dict[str, Any], asset_base: str = PDF_ASSET_BASE) -> str:
    """The memo's HTML for ``snapshot`` (with its ``snapshot_sha256``); ``asset_base`` is
    where memo.css and the fonts are found (the PDF's virtual origin, or /static/ for the
    web preview)."""
    return (
        environment()
        .get_template("memo/memo.html")
        .render(s=snapshot, v=memo_view(snapshot), asset_base=asset_base)
    )


def render_memo_docx(snapshot: dict[str, Any], pdf_sha256: str) -> bytes:
    """The memo's Word copy for ``snapshot`` (with its ``snapshot_sha256``), naming the PDF
    it goes with (:func:`app.web.word.render_memo_docx`)."""
    return word.render_memo_docx(snapshot, pdf_sha256=pdf_sha256)


MEMO_PRINTER = MemoPrinter(
    robustness_section=robustness.memo_section,
    render_html=render_memo_html,
    render_docx=render_memo_docx,
)


def init_app(app: App) -> None:
    """Memo printing for ``app``: its views and commands find :data:`MEMO_PRINTER` there."""
    app.extensions[PRINTER_EXTENSION] = MEMO_PRINTER
