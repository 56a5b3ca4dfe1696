"""The printed memo as a policy office sends it: paper, pagination, tagging.

The demo memo (after a second Delphi round) and a 40 × 15 memo are rendered on US Letter and
on A4, and their PDFs read back: page sizes, text positions (``pdftotext -bbox``: no page ends
with a heading, every chart's legend sits on the page of its bars, the provenance block shares
the last page), and the tag tree (``pdfinfo`` says tagged; every chart has alternative text).
Rendering is what is under test, so one SQLite database serves every case.
"""

from __future__ import annotations

import html
import io
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select
from sqlmodel import Session

from app import create_app
from app.adapters import pdf as memo_pdf
from app.db.engine import get_engine
from app.db.models import Decision, Round, Score, User
from app.db.uow import unit_of_work
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import memos as memo_service
from app.services import options as option_service
from app.services import scores as score_service
from app.services.demo import seed
from app.web.print import MEMO_PRINTER
from tests.conftest import TemplateDatabases
from tests.factories import make_user

FORM = memo_service.parse_form(
    {
        "memorandum_for": "The Assistant to the President for National Security Affairs",
        "from_line": "Options team",
        "subject": "Engagement options: recommendation",
        "bottom_line": "We recommend the option that ranks first.",
        "sections": list(memo_service.SECTIONS),
    }
)
SECTION_HEADINGS = {
    "BOTTOM LINE",
    "BACKGROUND AND QUESTION",
    "OPTIONS CONSIDERED",
    "CRITERIA AND WEIGHTS",
    "THE MATRIX",
    "WHAT DRIVES THE TOTALS",
    "WHERE THE TEAM DISAGREES",
    "HOW THE TEAM CONVERGED",
    "THE GROUP'S OWN VIEWS",
    "ROBUSTNESS",
    "PROVENANCE",
}
SUBHEADINGS = {
    "Missing scores",
    "Withdrawn options",
    "Sensitivity to each weight",
    "What moved",
    "Newly contested",
    "Chance of ranking first",
}
LETTER, A4 = (612, 792), (595, 842)  # points, rounded


@dataclass
class Printed:
    pdf: bytes
    snapshot: dict[str, Any]
    figures: int


def make_large(session: Session, n_options: int = 40, n_criteria: int = 15) -> int:
    """A 40 × 15 decision scored by three analysts, about one cell in ten contested."""
    facilitator = session.scalar(select(User).where(User.username == "facilitator"))
    assert facilitator is not None
    analysts = [make_user(session, f"print-analyst-{k}") for k in range(3)]
    rng = np.random.default_rng(11)
    decision = decision_service.create_decision(
        session=session,
        actor=facilitator,
        data={
            "title": f"Large decision: {n_options} options × {n_criteria} criteria",
            "question": "Which course of action serves the objective best?",
            "background": "A long decision, to see how the memo paginates.\n\n" * 3,
        },
    )
    for user in analysts:
        decision_service.set_member(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            username=user.username,
            role="analyst",
        )
    options = [
        option_service.create_option(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            data={
                "title": f"Option {i + 1}: a course of action with a realistic title",
                "summary": "One line that says what the option is about.",
                "description": "A paragraph of description, as analysts write them. " * 3,
            },
        )
        for i in range(n_options)
    ]
    criteria = [
        criteria_service.create_criterion(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            data={
                "name": f"Criterion {j + 1} with a name of usual length",
                "direction": "cost" if j % 4 == 3 else "benefit",
                "weight": int(rng.integers(1, 10)),
                "description": "What the criterion measures.",
            },
        )
        for j in range(n_criteria)
    ]
    session.flush()
    decision_service.start_scoring(session=session, decision=decision, actor_id=facilitator.id)
    round_one = session.scalar(select(Round).where(Round.decision_id == decision.id))
    assert round_one is not None
    for o in options:
        for c in criteria:
            base, wide = int(rng.integers(2, 5)), rng.random() < 0.1
            for a in analysts:
                value = base + int(rng.integers(-2, 3) if wide else rng.integers(-1, 1))
                session.add(
                    Score(
                        round_id=round_one.id,
                        option_id=o.id,
                        criterion_id=c.id,
                        analyst_id=a.id,
                        value=float(min(5, max(1, value))),
                        rationale="A short reason for this score.",
                    )
                )
    session.flush()
    return int(decision.id)


def second_round(session: Session, decision_id: int) -> None:
    """Open round 2 of the demo decision; the analysts close most of round 1's gaps."""
    decision = session.get(Decision, decision_id)
    assert decision is not None
    facilitator = session.scalar(select(User).where(User.username == "facilitator"))
    assert facilitator is not None and facilitator.id is not None
    score_service.open_next_round(session=session, decision=decision, actor_id=facilitator.id)
    scores = session.scalars(select(Score).join(Round).where(Round.decision_id == decision_id))
    by_cell: dict[tuple[int, int], list[Score]] = {}
    for score in scores:
        if score.value is not None:
            by_cell.setdefault((score.option_id, score.criterion_id), []).append(score)
    for (option_id, criterion_id), cell in sorted(by_cell.items())[:12]:
        values = [s.value for s in cell if s.value is not None]
        middle = sorted(values)[len(values) // 2]
        for s in cell:
            if abs((s.value or 0) - middle) >= 2:
                score_service.save_score(
                    session=session,
                    decision=decision,
                    analyst_id=s.analyst_id,
                    option_id=option_id,
                    criterion_id=criterion_id,
                    value=f"{middle:g}",
                    rationale="Moved towards the group after the discussion.",
                )


@pytest.fixture(scope="module")
def print_app(
    templates: TemplateDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    target = tmp_path_factory.mktemp("memo-print") / "print.sqlite3"
    target.write_bytes(Path(templates.sqlite()).read_bytes())
    app = create_app(
        {"TESTING": True, "DATABASE_URL": f"sqlite:///{target}", "SECRET_KEY": "test-secret"}
    )
    yield app
    app.extensions["options_matrix.engine"].dispose()


@pytest.fixture(scope="module")
def decisions(print_app: Flask) -> dict[str, int]:
    with print_app.app_context(), unit_of_work() as session:
        demo = seed(session=session).decision_id
        large = make_large(session)
    with print_app.app_context(), unit_of_work() as session:
        second_round(session, demo)
    return {"demo": demo, "large": large}


def render(app: Flask, decision_id: int, paper: str) -> Printed:
    with app.app_context():
        with unit_of_work() as session:
            decision = session.get(Decision, decision_id)
            assert decision is not None
            decision.paper = paper
        issuer = None
        with unit_of_work(write=False) as session:
            issuer = session.scalar(select(User).where(User.username == "facilitator"))
            assert issuer is not None
            session.expunge(issuer)
        snapshot = memo_service.read_snapshot(
            engine=get_engine(),
            decision_id=decision_id,
            issuer=issuer,
            form=FORM,
            printer=MEMO_PRINTER,
        )
    printed = memo_service.with_digest(snapshot)
    document = memo_pdf.html_to_pdf(MEMO_PRINTER.render_html(printed, memo_pdf.PDF_ASSET_BASE))
    figures = len(re.findall(r"<figure class=\"chart\">", MEMO_PRINTER.render_html(printed, "")))
    return Printed(document, snapshot, figures)


@pytest.fixture(scope="module", params=["demo-letter", "demo-a4", "large-letter", "large-a4"])
def printed(request: pytest.FixtureRequest, print_app: Flask, decisions: dict[str, int]) -> Printed:
    which, paper = request.param.split("-")
    return render(print_app, decisions[which], paper)


# --- reading the PDF back ------------------------------------------------------------------------


@dataclass
class Page:
    width: float
    height: float
    lines: list[str]  # body text lines, top to bottom (running heads and feet left out)


WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
)
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)


def pages_of(document: bytes, tmp: Path) -> list[Page]:
    """The body text of each page as lines, from the words' positions (``pdftotext -bbox``):
    words whose tops lie within 1 pt belong to one line; the page margins (running heads,
    markings, page numbers) are left out."""
    source = tmp / "memo.pdf"
    source.write_bytes(document)
    out = subprocess.run(
        ["pdftotext", "-bbox", str(source), "-"], capture_output=True, check=True, text=True
    ).stdout
    pages = []
    for width, height, body in PAGE.findall(out):
        w, h = float(width), float(height)
        words = [
            (float(y0), float(x0), html.unescape(text))
            for x0, y0, _x1, y1, text in WORD.findall(body)
            if float(y0) > 56.0 and float(y1) < h - 50.0
        ]
        words.sort()
        lines: list[list[tuple[float, float, str]]] = []
        for word in words:
            if lines and abs(lines[-1][0][0] - word[0]) <= 1.0:
                lines[-1].append(word)
            else:
                lines.append([word])
        pages.append(
            Page(
                w,
                h,
                [" ".join(t for _, _, t in sorted(line, key=lambda x: x[1])) for line in lines],
            )
        )
    return pages


def is_heading(line: str) -> bool:
    return line in SECTION_HEADINGS or line in SUBHEADINGS


LEGEND_ENTRY = re.compile(r"\bC(\d+) [^()·]*?\((\d+) %\)")
CAPTION = re.compile(r"^Figure (\d+)\b")


def struct_elements(reader: PdfReader) -> Iterator[Any]:
    """Every structure element of the PDF's tag tree."""
    root = reader.trailer["/Root"]["/StructTreeRoot"].get_object()
    stack = [root]
    while stack:
        node = stack.pop()
        kids = node.get("/K")
        if kids is None:
            continue
        kids = kids if isinstance(kids, list) else [kids]
        for kid in kids:
            kid = kid.get_object() if hasattr(kid, "get_object") else kid
            if isinstance(kid, dict) and kid.get("/Type") == "/StructElem":
                yield kid
                stack.append(kid)


# --- the tests -----------------------------------------------------------------------------------


def test_paper_is_the_decisions(printed: Printed, tmp_path: Path) -> None:
    paper = printed.snapshot["decision"]["paper"]
    reader = PdfReader(io.BytesIO(printed.pdf))
    first = reader.pages[0].mediabox
    assert (round(first.width), round(first.height)) == (LETTER if paper == "letter" else A4)
    wide = printed.snapshot["criteria"] and len(printed.snapshot["criteria"]) > 8
    for page in reader.pages:
        size = sorted((round(page.mediabox.width), round(page.mediabox.height)))
        assert tuple(size) == (LETTER if paper == "letter" else A4), (paper, size)
    if wide:  # the wide matrix turns its pages, on the same paper
        assert any(p.mediabox.width > p.mediabox.height for p in reader.pages)


def test_no_page_ends_with_a_heading(printed: Printed, tmp_path: Path) -> None:
    pages = pages_of(printed.pdf, tmp_path)
    assert len(pages) > 2
    for n, page in enumerate(pages, start=1):
        assert page.lines, f"page {n} is empty"
        assert not is_heading(page.lines[-1]), (n, page.lines[-3:])
    every_line = [line for page in pages for line in page.lines]
    for heading in ("BOTTOM LINE", "THE MATRIX", "WHAT DRIVES THE TOTALS", "PROVENANCE"):
        assert heading in every_line


def test_every_legend_sits_with_its_chart(printed: Printed, tmp_path: Path) -> None:
    pages = pages_of(printed.pdf, tmp_path)
    codes = len(printed.snapshot["criteria"])
    assert printed.figures >= 1
    captions_seen = 0
    for n, page in enumerate(pages, start=1):
        captions = sum(1 for line in page.lines if CAPTION.match(line))
        found: dict[int, int] = {}
        for line in page.lines:
            for code, _ in LEGEND_ENTRY.findall(line):
                found[int(code)] = found.get(int(code), 0) + 1
        # Each figure's caption (under its bars) shares the page with its whole legend
        # (above its bars): as many of every legend entry as captions, no more, no fewer.
        assert {c: found.get(c, 0) for c in range(1, codes + 1)} == {
            c: captions for c in range(1, codes + 1)
        }, (n, captions, found)
        captions_seen += captions
    assert captions_seen == printed.figures


def test_provenance_is_a_block_on_the_last_page(printed: Printed, tmp_path: Path) -> None:
    pages = pages_of(printed.pdf, tmp_path)
    last = pages[-1].lines
    assert "PROVENANCE" in last
    assert last.index("PROVENANCE") > 0, "the provenance block has a page of its own"
    assert not any("PROVENANCE" in line for page in pages[:-1] for line in page.lines)
    text = " ".join(last)
    assert "Snapshot SHA-256" in text and "seed" in text  # the figures' reproducibility stamp


def test_the_matrix_repeats_its_header_row_on_every_page(printed: Printed, tmp_path: Path) -> None:
    titles = {o["id"]: o["title"] for o in printed.snapshot["options"]}
    row = re.compile(
        r"^\d+ ("
        + "|".join(
            re.escape(titles[r["option_id"]][:14]) for r in printed.snapshot["matrix"]["rows"]
        )
        + ")"
    )
    pages = pages_of(printed.pdf, tmp_path)
    with_rows = [
        page for page in pages if any(row.match(line) and "·" not in line for line in page.lines)
    ]
    assert with_rows
    for page in with_rows:
        assert any(line.startswith("Rank Option ") for line in page.lines), page.lines[:6]
    if len(titles) >= 40:  # the 40-option matrix runs over pages, its header on each
        assert len(with_rows) >= 2


def test_the_pdf_is_tagged_with_alternative_text_for_every_chart(
    printed: Printed, tmp_path: Path
) -> None:
    source = tmp_path / "memo.pdf"
    source.write_bytes(printed.pdf)
    info = subprocess.run(
        ["pdfinfo", str(source)], capture_output=True, check=True, text=True
    ).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info
    reader = PdfReader(io.BytesIO(printed.pdf))
    catalog = reader.trailer["/Root"]
    assert catalog["/Lang"] == "en"
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"]
    assert reader.metadata is not None and reader.metadata.title == FORM.subject
    figures = [e for e in struct_elements(reader) if e.get("/S") == "/Figure"]
    assert all("/Alt" in e and str(e["/Alt"]).strip() for e in figures)
    charts = [str(e["/Alt"]) for e in figures if str(e["/Alt"]).startswith("Stacked bar chart")]
    assert len(charts) == printed.figures
    top = max(printed.snapshot["matrix"]["rows"], key=lambda r: r["total"] or 0)
    title = next(o["title"] for o in printed.snapshot["options"] if o["id"] == top["option_id"])
    assert any(f"1. {title}: {top['total']:.1f}" in chart for chart in charts)
    headings = [e.get("/S") for e in struct_elements(reader)]
    assert "/H1" in headings and headings.count("/H2") >= 8 and "/Table" in headings
