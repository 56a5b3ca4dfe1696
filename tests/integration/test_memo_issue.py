"""Issuing a memo: numbers per decision (also when two memos are issued at once), the file
names, the flags and sections the memo carries, and its place in the decision's history.

Runs on SQLite and PostgreSQL (the ``app`` fixture).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from app.db.engine import get_engine
from app.db.models import Decision, Memo, User
from app.db.uow import unit_of_work
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import history
from app.services import memos as memo_service
from app.services import scores as score_service
from app.web.presenters.memo import download_name, slug
from app.web.print import DOCX_MIMETYPE, MEMO_PRINTER
from tests.conftest import Actions
from tests.factories import World, make_world
from tests.integration.test_memos import FORM, issue, issued_id, score_world


@pytest.fixture
def facilitator(as_role: Any, app: Flask, world: World) -> Actions:
    score_world(app, world)
    return as_role("facilitator")


def pdf_text(pdf: bytes) -> str:
    return " ".join(
        " ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )


def memo_row(app: Flask, memo_id: int) -> Memo:
    with app.app_context(), unit_of_work(write=False) as session:
        row = session.get(Memo, memo_id)
        assert row is not None
        session.expunge(row)
        return row


# --- numbers and names ---------------------------------------------------------------------------


def test_memo_numbers_count_per_decision(app: Flask, world: World, facilitator: Actions) -> None:
    first = issued_id(issue(facilitator, world))
    with app.app_context(), unit_of_work() as session:  # another decision, its own first memo
        other = make_world_in(session)
    other_actions = facilitator
    second = issued_id(issue(facilitator, world, subject="Second memo"))
    other_first = issued_id(
        other_actions.post(f"/decisions/{other}/memos", {**FORM, "subject": "Elsewhere"})
    )
    assert [memo_row(app, m).number for m in (first, second, other_first)] == [1, 2, 1]
    # The number is printed in the memo and named on the register.
    assert "Memo 2" in pdf_text(memo_row(app, second).pdf)
    listing = facilitator.get(f"/decisions/{world.decision_id}/memos").get_data(as_text=True)
    assert "Memo 2 ·" in listing and "Memo 1 ·" in listing


def make_world_in(session: Any) -> int:
    """A second decision run by the same facilitator, scored enough to issue a memo."""
    from app.services import options as option_service

    facilitator = session.scalar(select(User).where(User.username == "facilitator"))
    decision = decision_service.create_decision(
        session=session,
        actor=facilitator,
        data={"title": "Another decision", "question": "Which way?"},
    )
    analyst = session.scalar(select(User).where(User.username == "analyst-a"))
    decision_service.set_member(
        session=session,
        decision_id=decision.id,
        actor_id=facilitator.id,
        username=analyst.username,
        role="analyst",
    )
    option, _ = (
        option_service.create_option(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            data={"title": title},
        )
        for title in ("First option", "Second option")
    )
    criterion = criteria_service.create_criterion(
        session=session,
        decision_id=decision.id,
        actor_id=facilitator.id,
        data={"name": "Only criterion", "direction": "benefit", "weight": 1},
    )
    session.flush()
    decision_service.start_scoring(session=session, decision=decision, actor_id=facilitator.id)
    score_service.save_score(
        session=session,
        decision=decision,
        analyst_id=analyst.id,
        option_id=option.id,
        criterion_id=criterion.id,
        value="4",
    )
    return int(decision.id)


def test_a_memo_stored_meanwhile_is_not_overwritten_or_renumbered(
    app: Flask, world: World, facilitator: Actions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two memos of one decision issued at once: the one stored second takes the next number
    and is rendered again under it, so the PDF names the number it is stored with."""
    original = memo_service.render_snapshot
    calls: list[int] = []

    def render_and_race(snapshot: dict[str, Any], **kwargs: Any) -> Any:
        calls.append(snapshot["memo"]["number"])
        if len(calls) == 1:  # another facilitator's memo is stored while this one renders
            with unit_of_work(engine=get_engine()) as session:
                rival = original(
                    {**snapshot, "memo": {**snapshot["memo"], "subject": "Rival memo"}}, **kwargs
                )
                memo_service.store_memo(session=session, rendered=rival)
        return original(snapshot, **kwargs)

    monkeypatch.setattr(memo_service, "render_snapshot", render_and_race)
    memo_id = issued_id(issue(facilitator, world))
    row = memo_row(app, memo_id)
    assert calls == [1, 2]
    assert row.number == 2 and row.snapshot["memo"]["number"] == 2
    assert "Memo 2" in pdf_text(row.pdf)
    with app.app_context(), unit_of_work(write=False) as session:
        numbers = session.scalars(
            select(Memo.number).where(Memo.decision_id == world.decision_id).order_by(Memo.id)
        ).all()
        subjects = session.scalars(
            select(Memo.subject).where(Memo.decision_id == world.decision_id).order_by(Memo.id)
        ).all()
    assert list(numbers) == [1, 2] and subjects[0] == "Rival memo"


def test_storing_under_a_taken_number_writes_nothing(app: Flask, world: World) -> None:
    score_world(app, world)
    with app.app_context():
        with unit_of_work(write=False) as session:
            issuer = session.get(User, world.users["facilitator"])
            assert issuer is not None
            session.expunge(issuer)
        snapshot = memo_service.read_snapshot(
            engine=get_engine(),
            decision_id=world.decision_id,
            issuer=issuer,
            form=memo_service.parse_form(FORM),
            printer=MEMO_PRINTER,
        )
        rendered = memo_service.render_snapshot(snapshot, printer=MEMO_PRINTER, timeout=60)
        with unit_of_work() as session:
            assert memo_service.store_memo(session=session, rendered=rendered).number == 1
        with pytest.raises(memo_service.NumberTaken), unit_of_work() as session:
            memo_service.store_memo(session=session, rendered=rendered)
        with unit_of_work(write=False) as session:
            assert len(session.scalars(select(Memo.id)).all()) == 1


def test_downloads_are_named_from_the_title_number_and_date(
    app: Flask, world: World, facilitator: Actions
) -> None:
    memo_id = issued_id(issue(facilitator, world))
    row = memo_row(app, memo_id)
    day = row.issued_at.astimezone(UTC).strftime("%Y-%m-%d")
    response = facilitator.get(f"/decisions/{world.decision_id}/memos/{memo_id}.pdf")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="test-decision_memo-1_{day}.pdf"'
    )
    assert response.headers["Cache-Control"] == "private, no-store"
    snapshot = facilitator.get(f"/decisions/{world.decision_id}/memos/{memo_id}/snapshot.json")
    assert (
        f'filename="test-decision_memo-1_{day}_snapshot.json"'
        in snapshot.headers["Content-Disposition"]
    )


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("US engagement in Central Asia, 2021", "us-engagement-in-central-asia-2021"),
        ("Évaluation des options — défense", "evaluation-des-options-defense"),
        ('Quotes " and / slashes \\ ; and "; rm', "quotes-and-slashes-and-rm"),
        ("Стратегия", ""),
        ("x" * 200, "x" * 60),
    ],
)
def test_file_names_are_safe_ascii(title: str, expected: str) -> None:
    assert slug(title) == expected
    name = download_name(9, title, 3, datetime(2026, 11, 28, tzinfo=UTC))
    assert name == f"{expected or 'decision-9'}_memo-3_2026-11-28.pdf"
    assert re.fullmatch(r"[a-z0-9_.-]+", name) and name.isascii()


def test_the_word_copy_is_issued_beside_the_pdf(
    app: Flask, world: World, facilitator: Actions, as_role: Any
) -> None:
    memo_id = issued_id(issue(facilitator, world))
    row = memo_row(app, memo_id)
    assert row.docx is not None and row.docx.startswith(b"PK")
    assert row.docx_sha256 == hashlib.sha256(row.docx).hexdigest()
    url = f"/decisions/{world.decision_id}/memos/{memo_id}.docx"
    response = as_role("observer").get(url)
    assert response.status_code == 200 and response.get_data() == row.docx
    assert response.mimetype == DOCX_MIMETYPE
    day = row.issued_at.astimezone(UTC).strftime("%Y-%m-%d")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="test-decision_memo-1_{day}.docx"'
    )
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["ETag"] == f'"{row.docx_sha256}"'
    assert as_role("outsider").get(url).status_code == 404
    # The same snapshot makes the same copy.
    again = memo_service.render_snapshot(row.snapshot, printer=MEMO_PRINTER, timeout=60)
    assert again.docx == row.docx
    listing = facilitator.get(f"/decisions/{world.decision_id}/memos").get_data(as_text=True)
    assert f'href="/decisions/{world.decision_id}/memos/{memo_id}.docx"' in listing


def test_memos_issued_without_a_word_copy_say_so(app: Flask, world: World) -> None:
    score_world(app, world)
    with app.app_context():
        with unit_of_work(write=False) as session:
            issuer = session.get(User, world.users["facilitator"])
            assert issuer is not None
            session.expunge(issuer)
        snapshot = memo_service.read_snapshot(
            engine=get_engine(),
            decision_id=world.decision_id,
            issuer=issuer,
            form=memo_service.parse_form(FORM),
            printer=MEMO_PRINTER,
        )
        rendered = memo_service.render_snapshot(snapshot, printer=MEMO_PRINTER, timeout=60)
        with unit_of_work() as session:  # as memos were stored before Word copies existed
            old = memo_service.store_memo(
                session=session, rendered=dataclasses.replace(rendered, docx=None)
            )
            memo_id = old.id
    facilitator = Actions(app.test_client())
    facilitator.login("facilitator")
    response = facilitator.get(f"/decisions/{world.decision_id}/memos/{memo_id}.docx")
    assert response.status_code == 404
    assert "Memo 1 has no Word copy" in response.get_data(as_text=True)
    listing = facilitator.get(f"/decisions/{world.decision_id}/memos").get_data(as_text=True)
    assert "no Word copy (issued before Word copies were made)" in listing


# --- what the memo says ---------------------------------------------------------------------------


def test_single_analyst_and_na_cells_are_flagged(
    app: Flask, world: World, facilitator: Actions
) -> None:
    """Cell (1, 1) is scored by one analyst only; (1, 0) has an N/A beside one value."""
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        score_service.save_score(
            session=session,
            decision=decision,
            analyst_id=world.users["analyst-b"],
            option_id=world.options[1],
            criterion_id=world.criteria[1],
            value="",
        )
        score_service.save_score(
            session=session,
            decision=decision,
            analyst_id=world.users["analyst-a"],
            option_id=world.options[1],
            criterion_id=world.criteria[0],
            value="N/A",
        )
    memo_id = issued_id(issue(facilitator, world))
    row = memo_row(app, memo_id)
    cells = {
        (r["option_id"], c["criterion_id"]): c
        for r in row.snapshot["matrix"]["rows"]
        for c in r["cells"]
    }
    assert cells[(world.options[1], world.criteria[1])]["values"] == 1
    assert cells[(world.options[1], world.criteria[0])]["na"] == 1
    text = pdf_text(row.pdf)
    assert "† 2 cells rest on a single analyst's score" in text  # the N/A cell too
    assert "‡ 1 cell has at least one analyst's N/A" in text


def test_the_bottom_line_states_its_uncertainty(
    app: Flask, world: World, facilitator: Actions
) -> None:
    memo_id = issued_id(issue(facilitator, world, sections=[]))
    row = memo_row(app, memo_id)
    assert row.snapshot["robustness"] is None  # the section was left out …
    u = row.snapshot["uncertainty"]  # … the bottom line's figures were not
    assert u["samples"] > 0 and u["stamp"]["seed"] == u["seed"]
    text = pdf_text(row.pdf)
    top = next(o["title"] for o in row.snapshot["options"] if o["id"] in u["top"])
    assert re.search(rf"Chance that {top} ranks first: [\d.]+ % ± [\d.]+", text), text[:1500]
    assert "The ranking changes soonest if the weight of" in text or (
        "No single change of one weight alters" in text
    )
    assert f"seed {u['seed']}" in text  # the stamp, in the provenance block


def test_a_second_round_memo_says_how_the_team_converged(
    app: Flask, world: World, facilitator: Actions
) -> None:
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        score_service.open_next_round(
            session=session, decision=decision, actor_id=world.users["facilitator"]
        )
        # The contested cell (option 0, criterion 0: 1 and 5) settles at 4 and 5.
        score_service.save_score(
            session=session,
            decision=decision,
            analyst_id=world.users["analyst-a"],
            option_id=world.options[0],
            criterion_id=world.criteria[0],
            value="4",
            rationale="Persuaded by the discussion.",
        )
    memo_id = issued_id(issue(facilitator, world))
    row = memo_row(app, memo_id)
    before = row.snapshot["rounds_before"]
    assert [r["number"] for r in before] == [1]
    assert sum(c["contested"] for c in before[0]["cells"]) == 1
    text = pdf_text(row.pdf)
    assert "No cell is contested in round 2" in text
    assert "HOW THE TEAM CONVERGED" in text
    assert "Intelligence sharing on C1 Acceptability: scores 1–5 in round 1, 4–5 now." in text
    assert "Intelligence sharing on C1 Acceptability: group mean 3.0 → 4.5." in text


# --- history ---------------------------------------------------------------------------------------


def test_issuing_appears_in_the_feed_and_the_timelines_it_cites(
    app: Flask, world: World, facilitator: Actions, as_role: Any
) -> None:
    memo_id = issued_id(issue(facilitator, world))
    row = memo_row(app, memo_id)
    base = f"/decisions/{world.decision_id}"
    analyst = as_role("analyst-a")
    feed = analyst.get(f"{base}/history").get_data(as_text=True)
    entry = re.search(
        rf'<li class="card entry memo-entry" id="memo-entry-{memo_id}">(.*?)</li>', feed, re.S
    )
    assert entry, feed[:2000]
    text = entry.group(1)
    assert "Facilitator issued memo 1, “Test decision: options and recommendation”" in text
    assert f'href="{base}/memos/{memo_id}.pdf"' in text
    assert f'href="{base}/memos/{memo_id}.docx"' in text  # and its Word copy
    assert f"{base}/history/as-of?revision={row.revision_id}&amp;round=1" in text
    # Just after the revision it reflects: the entry above #revision_id.
    assert feed.index(f'id="memo-entry-{memo_id}"') < feed.index(f'id="rev-{row.revision_id}"')

    # The option timelines of the options it cites (the active ones), not of the withdrawn one.
    for option_id in world.options:
        page = analyst.get(f"{base}/options/{option_id}").get_data(as_text=True)
        assert f'id="memo-entry-{memo_id}"' in page
    # Filters: memos by kind and by who issued them; none under another kind or person.
    only = analyst.get(f"{base}/history?kind=memo", htmx=True).get_data(as_text=True)
    assert f'id="memo-entry-{memo_id}"' in only and 'id="rev-' not in only
    scores = analyst.get(f"{base}/history?kind=score", htmx=True).get_data(as_text=True)
    assert "memo-entry" not in scores
    other = world.users["analyst-b"]
    assert "memo-entry" not in analyst.get(f"{base}/history?person={other}", htmx=True).get_data(
        as_text=True
    )


def test_a_memo_sits_on_exactly_one_page_of_the_feed(
    app: Flask, world: World, facilitator: Actions
) -> None:
    memo_id = issued_id(issue(facilitator, world))
    with app.app_context(), unit_of_work(write=False) as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        seen, before = [], None
        while True:
            page = history.feed_page(
                session=session,
                decision=decision,
                viewer_id=world.users["observer"],
                before=before,
                limit=3,
            )
            seen += [m.id for m in page.memos]
            if page.next_before is None:
                break
            before = page.next_before
    assert seen == [memo_id]


def test_the_as_of_matrix_leaves_out_criteria_retired_then(app: Flask) -> None:
    with app.app_context(), unit_of_work() as session:
        w = make_world(session)
        from app.db.models import Revision

        latest = session.scalar(select(Revision).order_by(Revision.id.desc()))
        assert latest is not None
        retired_state = dict(
            session.scalar(
                select(Revision.after)
                .where(Revision.entity == "criterion", Revision.entity_id == str(w.criteria[1]))
                .order_by(Revision.id.desc())
            )
            or {}
        )
        from app.services import revisions

        revisions.record(
            session=session,
            decision_id=w.decision_id,
            actor_id=w.users["facilitator"],
            entity="criterion",
            entity_id=w.criteria[1],
            action="update",
            before=retired_state,
            after=retired_state | {"status": "retired"},
            criterion_id=w.criteria[1],
        )
        session.flush()
        decision = session.get(Decision, w.decision_id)
        assert decision is not None
        last = session.scalar(select(Revision.id).order_by(Revision.id.desc()))
        _, then = history.matrix_at(
            session=session,
            decision=decision,
            revision=latest.id,
            viewer_id=w.users["facilitator"],
            role=decision_role(),
        )
        _, now = history.matrix_at(
            session=session,
            decision=decision,
            revision=last,
            viewer_id=w.users["facilitator"],
            role=decision_role(),
        )
    assert [c.id for c in then.criteria] == w.criteria
    assert [c.id for c in now.criteria] == w.criteria[:1]


def decision_role() -> Any:
    from app.db.models import Role

    return Role.FACILITATOR
