"""Hostile text on its way out: the memo PDF shows every text a person wrote as written (no
markup, no template evaluated), and the CSV and XLSX downloads run none of it — no text cell a
spreadsheet could start a formula in, whatever separator it splits at and after leading blanks.

The decision comes from :func:`tests.hostile_corpus.seed_decision`: every title, name,
summary, description, question, marking, rationale and display name carries the corpus.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlmodel import col

from app.db.models import Decision, Revision, User
from app.db.uow import unit_of_work
from tests.factories import World
from tests.hostile_corpus import (
    CLASSIFICATION,
    CRITERIA,
    DECISION_TITLE,
    DISPLAY_NAMES,
    FIRST_SUMMARY,
    MARKUP,
    MEMO_FORM,
    ODD_UNICODE,
    OPTION_TITLES,
    QUESTION,
    RATIONALES,
    TEMPLATE,
    TEMPLATE_EVALUATED,
    HostileDecision,
    formula_starts,
    seed_decision,
    titled,
    without_guards,
)
from tests.integration.test_memos import issued_id


@pytest.fixture
def hostile(app: Flask, world: World) -> HostileDecision:
    """The hostile decision; the facilitator and both analysts wear hostile display names,
    and the memo names the analysts."""
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


def squeezed(text: str) -> str:
    """``text`` without any blank (PDF text extraction breaks lines and spaces as it likes)."""
    return re.sub(r"[\s\x00]+", "", text)


def without_running_header(page: str, marking: str, hostile: HostileDecision) -> str:
    """A page's text without its margin boxes (extracted last: the marking, the section, the
    reference, the marking again and the page number), so a text running on across a page
    break reads as one."""
    margins = (
        rf"{re.escape(marking)}.{{0,120}}?Decision{hostile.decision_id}·round\d+·revision\d+"
        rf"{re.escape(marking)}Page\d+of\d+$"
    )
    return re.sub(margins, "", page)


def visible_parts(text: str) -> list[str]:
    """The parts of ``text`` around the odd-Unicode sample, whose right-to-left override
    reorders what follows it on the page (so it cannot be compared as typed)."""
    return [part for part in text.split(ODD_UNICODE) if part.strip()]


def written_texts() -> dict[str, str]:
    """Every plain-text field the memo prints, by where it came from."""
    texts = {
        "decision title": DECISION_TITLE,
        "question": QUESTION,
        "first summary": FIRST_SUMMARY,
        "MEMORANDUM FOR": MEMO_FORM["memorandum_for"],
        "FROM": MEMO_FORM["from_line"],
        "SUBJECT": MEMO_FORM["subject"],
    }
    texts |= {f"option title {i}": title for i, title in enumerate(OPTION_TITLES)}
    texts |= {f"summary {i}": titled(f"Summary {i}", i + 1) for i in range(1, len(OPTION_TITLES))}
    for i, (name, description, _, _) in enumerate(CRITERIA):
        texts |= {f"criterion {i}": name, f"criterion description {i}": description}
    texts |= {f"rationale {i}": rationale for i, rationale in enumerate(RATIONALES)}
    texts |= {f"display name {i}": name for i, name in enumerate(DISPLAY_NAMES)}
    return texts


def test_memo_pdf_shows_every_text_as_written(
    app: Flask, hostile: HostileDecision, as_role: Any
) -> None:
    facilitator = as_role("facilitator")
    base = f"/decisions/{hostile.decision_id}/memos"
    memo_id = issued_id(facilitator.post(base, {**MEMO_FORM, "sections": ["disagreements"]}))
    pdf = facilitator.get(f"{base}/{memo_id}.pdf").get_data()
    reader = PdfReader(io.BytesIO(pdf))
    pages = [squeezed(page.extract_text() or "") for page in reader.pages]
    marking = squeezed(CLASSIFICATION.upper())
    assert all(marking in page for page in pages)  # in every page's running header
    text = "".join(without_running_header(page, marking, hostile) for page in pages)
    missing = [
        (label, part[:60])
        for label, written in written_texts().items()
        for part in visible_parts(written)
        if squeezed(part) not in text
    ]
    assert missing == []
    # Markdown fields render (no markup survives), and no template is evaluated anywhere.
    assert squeezed(TEMPLATE) in text and TEMPLATE_EVALUATED not in text
    assert reader.metadata is not None
    assert reader.metadata.title == MEMO_FORM["subject"]
    assert reader.metadata.author == MEMO_FORM["from_line"]
    for active in (b"/JavaScript", b"/JS", b"/URI", b"/Launch", b"/EmbeddedFile", b"/AA"):
        assert active not in pdf, active


def latest_revision(app: Flask, decision_id: int) -> int:
    with app.app_context(), unit_of_work(write=False) as session:
        found = session.scalar(
            select(func.max(Revision.id)).where(col(Revision.decision_id) == decision_id)
        )
        assert found is not None
        return int(found)


def export_urls(app: Flask, hostile: HostileDecision, ext: str) -> list[str]:
    """The current matrix and the matrix as of the latest change."""
    url = f"/decisions/{hostile.decision_id}/export/matrix.{ext}"
    return [url, f"{url}?revision={latest_revision(app, hostile.decision_id)}"]


def test_csv_starts_no_formula_in_any_cell(
    app: Flask, hostile: HostileDecision, as_role: Any
) -> None:
    facilitator = as_role("facilitator")
    for url in export_urls(app, hostile, "csv"):
        response = facilitator.get(url)
        assert response.status_code == 200, url
        body = response.get_data().decode("utf-8-sig")
        assert all(line.startswith('"') for line in re.split(r"\r\n(?=\")", body) if line)
        rows = list(csv.reader(io.StringIO(body, newline="")))
        runnable = [(field, formula_starts(field)) for row in rows for field in row]
        assert [found for found in runnable if found[1]] == [], url
        # The texts are all there, as written but for the guarding apostrophes.
        assert [without_guards(row[0]) for row in rows[2:]] == list(OPTION_TITLES)
        header = [without_guards(field) for field in rows[0][1 : 1 + len(CRITERIA)]]
        assert header == [f"{name} ({direction})" for name, _, direction, _ in CRITERIA]


def same_lines(text: str) -> str:
    """A workbook stores a carriage return as a line break."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def test_xlsx_stores_every_text_as_text(app: Flask, hostile: HostileDecision, as_role: Any) -> None:
    facilitator = as_role("facilitator")
    for url in export_urls(app, hostile, "xlsx"):
        response = facilitator.get(url)
        assert response.status_code == 200, url
        data = response.get_data()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                if name.startswith("xl/worksheets/"):
                    xml = archive.read(name).decode("utf-8")
                    assert "<f>" not in xml and "<f " not in xml, name  # no formula at all
        workbook = load_workbook(io.BytesIO(data))
        texts: set[str] = set()
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str):
                        assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                        texts.add(same_lines(cell.value))
        written = [
            DECISION_TITLE,
            QUESTION,
            CLASSIFICATION.upper(),
            *OPTION_TITLES,
            *(name for name, _, _, _ in CRITERIA),
            *(description for _, description, _, _ in CRITERIA),
            *RATIONALES,
        ]
        assert [text for text in written if same_lines(text) not in texts] == [], url


# --------------------------------------------------------------------------------------------
# Answers: over-long and odd text, wrong types, negative and huge numbers get a clear 4xx
# --------------------------------------------------------------------------------------------

HUGE = "99999999999999999999"
EMOJI = "🧨"  # one character, four bytes in UTF-8

Case = tuple[str, str, dict[str, str], set[int]]


def text_cases(d: str, option: int, criterion: int) -> list[Case]:
    """Posted text, numbers and choices: refused with 422 (409 for a version from the future),
    the longest allowed emoji title and odd Unicode accepted."""
    cases: list[Case] = []
    accepted = {200, 201, 303}  # a page, a fragment or a redirect to the page
    for title, expected in (("x" * 201, {422}), (EMOJI * 201, {422}), (EMOJI * 200, accepted)):
        cases += [
            ("POST", f"{d}/options", {"title": title}, expected),
            ("POST", f"{d}/criteria", {"name": title, "weight": "1"}, expected),
            ("POST", "/decisions", {"title": title}, expected),
            ("POST", f"{d}/edit", {"title": title}, expected),
        ]
    cases.append(("POST", f"{d}/options", {"title": ODD_UNICODE}, accepted))
    for version in ("abc", "-1", "1e3", "", "1.5", HUGE):
        expected = {409} if version == HUGE else {422}
        cases += [
            ("POST", f"{d}/options/{option}", {"title": "T", "version": version}, expected),
            (
                "POST",
                f"{d}/criteria/{criterion}",
                {"name": "N", "weight": "1", "version": version},
                expected,
            ),
        ]
    for weight in ("abc", "-1", "1e309", "nan", "inf", HUGE, "1000001", "", "0x10"):
        cases += [
            ("POST", f"{d}/criteria", {"name": f"W{weight}", "weight": weight}, {422}),
            ("POST", f"{d}/matrix/weights/{criterion}", {"weight": weight}, {422}),
        ]
    cases += [
        ("POST", f"{d}/criteria", {"name": "D", "weight": "1", "direction": MARKUP[0]}, {422}),
        ("POST", f"{d}/settings", {"scoring_mode": MARKUP[0]}, {422}),
        ("POST", f"{d}/settings", {"aggregation": "x"}, {422}),
        ("POST", f"{d}/members", {"username": "analyst-a", "role": "admin"}, {422}),
        ("POST", f"{d}/members", {"username": "x" * 300, "role": "analyst"}, {422}),
        ("POST", f"{d}/members", {"username": ODD_UNICODE, "role": "analyst"}, {422}),
    ]
    for field, value in (
        ("scale_min", "abc"),
        ("scale_min", HUGE),
        ("scale_max", "-1e20"),
        ("scale_min", "nan"),
        ("classification", "x" * 81),
        ("question", "q" * 20_001),
    ):
        cases += [
            ("POST", "/decisions", {"title": "T", field: value}, {422}),
            ("POST", f"{d}/edit", {"title": "T", field: value}, {422}),
        ]
    for field, value in (
        ("subject", "s" * 301),
        ("subject", ""),
        ("sections", MARKUP[0]),
        ("bottom_line", "b" * 10_001),
    ):
        cases += [
            ("POST", f"{d}/memos", {**MEMO_FORM, field: value}, {422}),
            ("POST", f"{d}/memos/preview", {**MEMO_FORM, field: value}, {422}),
        ]
    return cases


def score_cases(d: str, option: int, criterion: int) -> list[Case]:
    """An analyst's save: malformed or out-of-range ids 400, unknown ones 404, values 422."""
    cell = {"option_id": str(option), "criterion_id": str(criterion)}
    cases: list[Case] = []
    for ident in ("-1", HUGE, "abc", "", "1.5"):
        cases += [
            ("POST", f"{d}/matrix/scores", {**cell, "option_id": ident, "value": "3"}, {400}),
            ("POST", f"{d}/matrix/scores", {**cell, "criterion_id": ident, "value": "3"}, {400}),
        ]
    cases += [
        ("POST", f"{d}/matrix/scores", {**cell, "since": "-1", "value": "3"}, {400}),
        ("POST", f"{d}/matrix/scores", {**cell, "option_id": "999", "value": "3"}, {404}),
    ]
    for value in ("abc", "-1", "1e400", "nan", "inf", HUGE, "6", "0", "-0"):
        cases.append(("POST", f"{d}/matrix/scores", {**cell, "value": value}, {422}))
    cases.append(("POST", f"{d}/matrix/scores", {**cell, "rationale": "r" * 2_001}, {422}))
    cases.append(("POST", f"{d}/matrix/scores", {**cell, "rationale": EMOJI * 2_000}, {200}))
    return cases


def query_cases(d: str, option: int, criterion: int) -> list[Case]:
    """Query numbers and choices: 400; ids nobody has: 404."""
    cases: list[Case] = []
    for query in (f"before={HUGE}", "before=-1", "before=abc"):
        for url in (f"{d}/history", f"{d}/history/options/{option}", "/audit", f"{d}/audit"):
            cases.append(("GET", f"{url}?{query}", {}, {400}))
    for url in (f"{d}/history", "/audit", f"{d}/audit"):
        cases.append(("GET", f"{url}?kind={MARKUP[0]}", {}, {400}))
    for query in ("person=-5", "option=abc", "criterion=1.5"):
        cases.append(("GET", f"{d}/history?{query}", {}, {400}))
    for query in (
        "revision=abc",
        "revision=-1",
        f"revision={HUGE}",
        "revision=1&round=-1",
        f"revision=1&round={HUGE}",
        "revision=1&method=x",
    ):
        for url in (f"{d}/history/as-of", f"{d}/export/matrix.csv", f"{d}/export/matrix.xlsx"):
            cases.append(("GET", f"{url}?{query}", {}, {400}))
        cases.append(("GET", f"{d}/history/as-of/cells/{option}/{criterion}?{query}", {}, {400}))
    for query in ("at=garbage", "at=2026-13-45T99:99"):
        cases.append(("GET", f"{d}/history/as-of?{query}", {}, {400}))
    for query in ("from=abc", "from=-1&to=1", f"from=1&to={HUGE}", "from_at=x", "from=1&to_at=x"):
        cases.append(("GET", f"{d}/history/compare?{query}", {}, {400}))
    for query in ("round=-1", "round=abc", f"round={HUGE}", "method=x"):
        for url in (f"{d}/matrix", f"/api{d}/matrix", f"{d}/matrix/poll"):
            cases.append(("GET", f"{url}?{query}", {}, {400}))
    for query in (
        "samples=-1",
        "samples=abc",
        f"samples={HUGE}",
        "band=-5",
        "band=nan",
        "scores=x",
    ):
        for url in (d, f"/api{d}/analysis"):
            cases.append(("GET", f"{url}?{query}", {}, {400}))
    cases += [
        ("GET", f"{d}/memos?issued=abc", {}, {400}),
        ("GET", f"{d}/memos/{HUGE}.pdf", {}, {404}),
        ("GET", f"{d}/memos/{HUGE}/snapshot.json", {}, {404}),
        ("GET", f"{d}/matrix/cells/{HUGE}/{criterion}", {}, {404}),
        ("GET", f"{d}/criteria/{HUGE}/edit", {}, {404}),
        ("GET", f"{d}/options/{HUGE}/edit", {}, {404}),
        ("GET", f"/decisions/{HUGE}/matrix", {}, {404}),
        ("GET", f"/api/decisions/{HUGE}/analysis", {}, {404}),
        ("GET", "/decisions/-1", {}, {404}),
        ("POST", f"{d}/options/{HUGE}/withdraw", {}, {404}),
        ("POST", f"{d}/criteria/{HUGE}", {"name": "N", "weight": "1", "version": "1"}, {404}),
        ("POST", f"{d}/matrix/weights/{HUGE}", {"weight": "1"}, {404}),
        ("POST", f"/decisions/{HUGE}/edit", {"title": "T"}, {404}),
    ]
    return cases


@pytest.mark.parametrize("kind", ["text", "scores", "queries"])
def test_hostile_requests_get_a_clear_4xx_never_a_500(
    app: Flask, world: World, as_role: Any, kind: str
) -> None:
    d, option, criterion = f"/decisions/{world.decision_id}", *world.options[:1], world.criteria[0]
    build, who = {
        "text": (text_cases, "facilitator"),
        "scores": (score_cases, "analyst-a"),
        "queries": (query_cases, "facilitator"),
    }[kind]
    actions = as_role(who)
    wrong = []
    for method, url, data, expected in build(d, option, criterion):
        for htmx in (False, True):
            if method == "GET":
                response = actions.get(url, htmx=htmx)
            else:
                response = actions.post(url, data, htmx=htmx)
            body = response.get_data(as_text=True)
            status = response.status_code
            # A refusal says why: a message in the page, fragment or JSON (never an empty body).
            if status not in expected or (status >= 400 and not body.strip()):
                wrong.append((method, url[:90], {k: v[:20] for k, v in data.items()}, htmx, status))
    assert wrong == [], "\n".join(map(str, wrong))
