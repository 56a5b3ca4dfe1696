"""The memo's Word copy: rendered from an issued memo's stored snapshot, it holds the same memo
as the PDF — its sections under Word headings in the PDF's order, every option and criterion,
real tables, the chart as pictures with alternative text, the marking on every page — shows
every text a person wrote as written, and renders to the same bytes every time.

Every test that touches the database runs on SQLite and PostgreSQL (the ``app`` fixture).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from html import unescape
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn
from flask import Flask
from pypdf import PdfReader
from sqlmodel import select

from app.db.engine import get_engine
from app.db.models import Decision, Memo, User
from app.db.uow import unit_of_work
from app.services import demo
from app.services import memos as memo_service
from app.services import scores as score_service
from app.web.presenters.memo import memo_view
from app.web.print import MEMO_PRINTER, render_memo_html
from app.web.word import render_memo_docx
from tests.factories import World
from tests.hostile_corpus import (
    CLASSIFICATION,
    CRITERIA,
    DISPLAY_NAMES,
    MEMO_FORM,
    OPTION_TITLES,
    TEMPLATE,
    TEMPLATE_EVALUATED,
    HostileDecision,
    seed_decision,
)
from tests.integration.test_hostile_output import written_texts
from tests.integration.test_live_updates import build_decision
from tests.integration.test_memos import FORM, issue, issued_id, outline_titles, score_world

WITHDRAWN = "Abandoned basing idea"


# --- helpers -------------------------------------------------------------------------------------


def stored(app: Flask, memo_id: int) -> tuple[dict[str, Any], bytes]:
    """The issued memo's printed snapshot (with its SHA-256) and its PDF."""
    with app.app_context(), unit_of_work() as session:
        row = session.get(Memo, memo_id)
        assert row is not None
        return {**row.snapshot, "snapshot_sha256": row.snapshot_sha256}, bytes(row.pdf)


def snapshot_of(app: Flask, decision_id: int, username: str, sections: list[str]) -> dict[str, Any]:
    """A printed snapshot of ``decision_id`` as ``username`` would issue it (no PDF)."""
    with app.app_context():
        with unit_of_work() as session:
            issuer = session.exec(select(User).where(User.username == username)).one()
            session.expunge(issuer)
        form = memo_service.parse_form({**FORM, "sections": sections})
        snapshot = memo_service.read_snapshot(
            engine=get_engine(),
            decision_id=decision_id,
            issuer=issuer,
            form=form,
            printer=MEMO_PRINTER,
        )
    return memo_service.with_digest(snapshot)


def opened(data: bytes) -> Any:
    return docx.Document(io.BytesIO(data))


def flat(text: str) -> str:
    return " ".join(text.split())


def all_text(document: Any) -> str:
    """Every paragraph and table cell of the body, in document order, blanks collapsed."""
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return flat("\n".join(parts))


def headings(document: Any, level: int) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == f"Heading {level}"]


def pictures(document: Any) -> list[dict[str, str]]:
    """Every picture's drawing properties (in the body and in table cells)."""
    found = document.element.body.iter(qn("wp:docPr"))
    return [{"descr": e.get("descr", ""), "title": e.get("title", "")} for e in found]


def part_names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()


def every_part(data: bytes, suffix: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = [n for n in archive.namelist() if n.endswith(suffix)]
        return "\n".join(archive.read(n).decode("utf-8") for n in names)


def check_memo(document: Any, snapshot: dict[str, Any]) -> None:
    """What every Word copy holds: every option and criterion, the marking, the provenance."""
    text = all_text(document)
    active = [o for o in snapshot["options"] if o["status"] == "active"]
    option_headings = headings(document, 2)
    for number, option in enumerate(active, start=1):
        assert f"{number}. {flat(option['title'])}" in [flat(h) for h in option_headings]
    for option in snapshot["options"]:
        assert flat(option["title"]) in text
    for criterion in snapshot["criteria"]:
        assert flat(criterion["name"]) in text
        assert criterion["code"] in text
    marking = snapshot["decision"]["classification"]
    for section in document.sections:
        assert section.header.paragraphs[0].text == marking
        assert section.footer.paragraphs[0].text == marking
    assert snapshot["snapshot_sha256"] in text
    assert document.core_properties.title == snapshot["memo"]["subject"][:255]
    # The same sections as the printed memo's HTML, in the same order.
    html = render_memo_html(snapshot)
    assert headings(document, 1) == [unescape(h) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html)]


# --- the memo as issued --------------------------------------------------------------------------


@pytest.fixture
def issued(app: Flask, world: World, as_role: Any) -> int:
    score_world(app, world)
    return issued_id(issue(as_role("facilitator"), world))


def test_the_word_copy_holds_the_memo_as_issued(app: Flask, world: World, issued: int) -> None:
    snapshot, pdf = stored(app, issued)
    data = render_memo_docx(snapshot)
    assert data[:2] == b"PK" and "word/document.xml" in part_names(data)
    document = opened(data)

    # The sections: the PDF's own outline, in its order, as Heading 1.
    assert headings(document, 1) == outline_titles(PdfReader(io.BytesIO(pdf)))
    check_memo(document, snapshot)
    text = all_text(document)
    assert WITHDRAWN in text and "withdrawn" in text
    assert f"Revision {snapshot['revision']}" in text or str(snapshot["revision"]) in text
    assert "Facilitator (facilitator)" in text

    # The memo's head: addressing as the facilitator wrote it, dated from the snapshot.
    head = document.tables[0]
    assert [r.cells[0].text for r in head.rows][:4] == ["MEMORANDUM FOR", "FROM", "DATE", "SUBJECT"]
    assert head.rows[0].cells[1].text == FORM["memorandum_for"]
    assert head.rows[3].cells[1].text == FORM["subject"]
    assert any(p.style.name == "Title" and p.text == FORM["subject"] for p in document.paragraphs)
    bold = [r.text for p in document.paragraphs for r in p.runs if r.bold]
    assert "Joint drills" in bold  # the bottom line's Markdown, as Word bold

    # The matrix: a real table, header row repeated, one row per ranked option, the totals
    # as the PDF prints them.
    matrix = next(
        t for t in document.tables if t.rows[0].cells[0].text == "Rank" and len(t.columns) > 3
    )
    header = matrix.rows[0]._tr.trPr
    assert header is not None and header.find(qn("w:tblHeader")) is not None
    rows = {r.cells[1].text: r.cells[-1].text for r in matrix.rows[1:]}
    totals = {r["option_id"]: r["total"] for r in snapshot["matrix"]["rows"]}
    titles = {o["id"]: o["title"] for o in snapshot["options"]}
    assert {titles[i]: f"{t:.1f}" for i, t in totals.items()} == {
        k: v.rstrip("*") for k, v in rows.items()
    }
    pdf_text = " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages
    )
    for total in rows.values():
        assert total.rstrip("*") in pdf_text

    # The chart: one picture per figure, with words for what it shows; a swatch per criterion.
    described = pictures(document)
    figures = [p for p in described if p["title"].startswith("Figure")]
    assert len(figures) == 1
    alt = figures[0]["descr"]
    assert "bar chart" in alt
    for row in snapshot["matrix"]["rows"]:
        assert f"{titles[row['option_id']]}: {row['total']:.1f}" in alt
    assert alt.endswith(memo_view(snapshot)["figures"][0]["description"])  # the PDF's words
    assert all(p["descr"] for p in described)
    assert sum("fill of criterion" in p["descr"] for p in described) == len(snapshot["criteria"])
    assert sum(n.startswith("word/media/") and n.endswith(".png") for n in part_names(data)) >= 2

    # Reproducible: the same snapshot, the same bytes.
    assert render_memo_docx(snapshot) == data


def test_optional_sections_left_out_of_the_pdf_are_left_out_of_the_word_copy(
    app: Flask, world: World, as_role: Any
) -> None:
    score_world(app, world)
    memo_id = issued_id(issue(as_role("facilitator"), world, sections=["disagreements"]))
    snapshot, pdf = stored(app, memo_id)
    document = opened(render_memo_docx(snapshot))
    sections = headings(document, 1)
    assert sections == outline_titles(PdfReader(io.BytesIO(pdf)))
    assert "What drives the totals" not in sections and "Robustness" not in sections
    assert "Where the team disagrees" in sections
    assert not [p for p in pictures(document) if p["title"].startswith("Figure")]


def test_the_copy_stored_at_issue_renders_again_byte_for_byte(
    app: Flask, world: World, issued: int
) -> None:
    """The Word copy stored with an issued memo is what its stored snapshot renders to (with
    the PDF's SHA-256), after the trip through the database."""
    with app.app_context(), unit_of_work() as session:
        row = session.get(Memo, issued)
        assert row is not None and row.docx is not None
        stored_docx, digest, pdf_sha256 = bytes(row.docx), row.docx_sha256, row.sha256
    snapshot, pdf = stored(app, issued)
    assert pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert render_memo_docx(snapshot, pdf_sha256=pdf_sha256) == stored_docx
    assert digest == hashlib.sha256(stored_docx).hexdigest()
    assert pdf_sha256 in all_text(opened(stored_docx))


def test_the_word_copy_can_name_the_pdf_it_goes_with(app: Flask, world: World, issued: int) -> None:
    snapshot, pdf = stored(app, issued)
    digest = hashlib.sha256(pdf).hexdigest()
    named = render_memo_docx(snapshot, pdf_sha256=digest)
    assert digest in all_text(opened(named))
    assert digest not in all_text(opened(render_memo_docx(snapshot)))


def test_a_later_round_tells_how_the_team_converged(app: Flask, world: World, as_role: Any) -> None:
    score_world(app, world)
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        fac = world.users["facilitator"]
        score_service.open_next_round(session=session, decision=decision, actor_id=fac)
        # Analyst A comes round to B's view of the one contested cell.
        score_service.save_score(
            session=session,
            decision=decision,
            analyst_id=world.users["analyst-a"],
            option_id=world.options[0],
            criterion_id=world.criteria[0],
            value="5",
        )
    memo_id = issued_id(issue(as_role("facilitator"), world))
    snapshot, pdf = stored(app, memo_id)
    document = opened(render_memo_docx(snapshot))
    sections = headings(document, 1)
    assert sections == outline_titles(PdfReader(io.BytesIO(pdf)))
    assert "How the team converged" in sections
    assert (
        sections.index("How the team converged") == sections.index("Where the team disagrees") + 1
    )
    assert "No longer contested since round 1" in headings(document, 2)
    text = all_text(document)
    assert "Intelligence sharing on C1 Acceptability: scores 1–5 in round 1, 5–5 now." in text
    assert "No cell is contested in round 2" in text
    rounds = next(
        t for t in document.tables if t.rows[0].cells[0].text == "Round" and len(t.columns) == 6
    )
    assert [r.cells[0].text for r in rounds.rows[1:]] == ["Round 1", "Round 2"]
    assert [r.cells[1].text for r in rounds.rows[1:]] == ["1", "0"]


# --- hostile text --------------------------------------------------------------------------------


@pytest.fixture
def hostile(app: Flask, world: World) -> HostileDecision:
    """The hostile corpus's decision; its people wear hostile names, which the memo prints."""
    with app.app_context(), unit_of_work() as session:
        people = [
            session.get(User, world.users[name])
            for name in ("facilitator", "analyst-a", "analyst-b")
        ]
        for user, display_name in zip(people, DISPLAY_NAMES, strict=True):
            assert user is not None
            user.display_name = display_name
            session.add(user)
        facilitator, analyst_a, analyst_b = people
        assert facilitator is not None and analyst_a is not None and analyst_b is not None
        seeded = seed_decision(session, facilitator=facilitator, analysts=(analyst_a, analyst_b))
        decision = session.get(Decision, seeded.decision_id)
        assert decision is not None
        decision.name_analysts_in_memo = True
        session.add(decision)
    return seeded


def test_hostile_text_comes_out_as_written(
    app: Flask, hostile: HostileDecision, as_role: Any
) -> None:
    facilitator = as_role("facilitator")
    base = f"/decisions/{hostile.decision_id}/memos"
    sections = ["chart", "disagreements"]
    memo_id = issued_id(facilitator.post(base, {**MEMO_FORM, "sections": sections}))
    snapshot, _ = stored(app, memo_id)
    data = render_memo_docx(snapshot)
    document = opened(data)
    text = all_text(document)

    missing = [
        (label, written[:60])
        for label, written in written_texts().items()
        if flat(written) not in text
    ]
    assert missing == []
    for title in OPTION_TITLES:
        assert flat(title) in text
    for name, _, _, _ in CRITERIA:
        assert flat(name) in text
    assert flat(TEMPLATE) in text and TEMPLATE_EVALUATED not in text
    marking = CLASSIFICATION.upper()
    assert all(s.header.paragraphs[0].text == marking for s in document.sections)

    # Nothing a person wrote became markup, a link or a field: no hyperlink relationship,
    # no external target, no script URL anywhere in the package.
    relationships, parts = every_part(data, ".rels"), every_part(data, ".xml")
    assert "relationships/hyperlink" not in relationships and "External" not in relationships
    assert "javascript" not in relationships.lower() and "<w:hyperlink" not in parts
    body = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert "<script" not in body and "&lt;script&gt;" in body
    assert not re.search(r"<w:instrText[^>]*>(?![^<]*\b(PAGE|NUMPAGES)\b)", body)
    assert render_memo_docx(snapshot) == data


def test_characters_word_cannot_hold_are_left_out(app: Flask, world: World, issued: int) -> None:
    snapshot, _ = stored(app, issued)
    options = [dict(o) for o in snapshot["options"]]
    options[0]["title"] = "Vertical\x0btab\x00 and bell\x07 title"
    options[0]["description"] = "Line\x0bbreak *and* form\x0cfeed\x1b."
    edited = {**snapshot, "options": options}
    edited["memo"] = {**snapshot["memo"], "subject": "Subject\x01 with a control"}
    document = opened(render_memo_docx(edited))
    text = all_text(document)
    assert "Vertical tab and bell title" in text
    assert "Line break and form feed." in text
    assert document.core_properties.title == "Subject with a control"


# --- the demo and a large memo --------------------------------------------------------------------


def test_the_demo_decisions_memo(app: Flask) -> None:
    with app.app_context(), unit_of_work() as session:
        seeded = demo.seed(session=session)
    snapshot = snapshot_of(app, seeded.decision_id, "facilitator", list(memo_service.SECTIONS))
    data = render_memo_docx(snapshot)
    document = opened(data)
    check_memo(document, snapshot)
    sections = headings(document, 1)
    for title in ("Bottom line", "Options considered", "The matrix", "Robustness", "Provenance"):
        assert title in sections
    assert len(headings(document, 2)) >= len(snapshot["options"])
    assert len(document.tables) >= 5
    assert sum(1 for p in pictures(document) if p["title"].startswith("Figure")) == 1
    assert render_memo_docx(snapshot) == data


def test_a_large_memo_of_40_options_and_15_criteria(app: Flask, world: World) -> None:
    built = build_decision(app, world, size=(40, 15), analysts=("analyst-a", "analyst-b"))
    snapshot = snapshot_of(app, built.decision_id, "facilitator", list(memo_service.SECTIONS))
    data = render_memo_docx(snapshot)
    document = opened(data)
    check_memo(document, snapshot)
    # 40 options take several figures, as in the PDF; the 15-column matrix gets a landscape
    # page of its own.
    figures = [p for p in pictures(document) if p["title"].startswith("Figure")]
    count = len(memo_view(snapshot)["figures"])
    assert count >= 2 and [f["title"] for f in figures] == [f"Figure {n + 1}" for n in range(count)]
    assert "options 1–" in figures[0]["descr"]
    described = "\n".join(f["descr"] for f in figures)
    assert all(f"Option {n}:" in described for n in range(1, 41))
    orientations = [s.page_width > s.page_height for s in document.sections]
    assert True in orientations and orientations[0] is False
    matrix = next(t for t in document.tables if len(t.columns) == 15 + 3)
    assert len(matrix.rows) == 41
    assert render_memo_docx(snapshot) == data
