"""The home page says per decision what needs me: my cells left to score (my own only, so a
blind round leaks nothing), "all scored — mark done", a new round with my scores carried
over, a draft's set-up progress, a revealed round, a memo issued lately; computed in a fixed
number of statements however many decisions there are."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlmodel import Session

from app.db.engine import get_engine
from app.db.models import Criterion, Decision, Memo, Option, User
from app.db.uow import unit_of_work
from app.services import decisions as decision_service
from app.services import home as home_service
from app.services import scores as score_service
from app.web.clock import set_clock
from tests.conftest import Actions
from tests.factories import World


def needs(acts: Actions, decision_id: int) -> list[str]:
    """What the home page says needs the viewer in one decision."""
    page = acts.client.get("/").get_data(as_text=True)
    row = re.search(rf'<tr data-decision-id="{decision_id}">(.*?)</tr>', page, re.S)
    assert row, f"decision {decision_id} is not on the home page"
    return re.findall(r"<li>([^<]*)</li>", row.group(1))


def score(app: Flask, world: World, analyst: str, option: int, criterion: int, value: str) -> None:
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        score_service.save_score(
            session=session,
            decision=decision,
            analyst_id=world.users[analyst],
            option_id=world.options[option],
            criterion_id=world.criteria[criterion],
            value=value,
        )


def test_an_analyst_sees_their_own_cells_left_then_all_scored_then_done(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    analyst = as_role("analyst-a")
    assert needs(analyst, world.decision_id) == ["4 of 4 cells to score"]
    score(app, world, "analyst-a", 0, 0, "3")
    score(app, world, "analyst-b", 1, 1, "3")  # another analyst's score is not mine
    assert needs(analyst, world.decision_id) == ["3 of 4 cells to score"]
    score(app, world, "analyst-a", 0, 1, "na")  # N/A is a judgement: the cell is done
    score(app, world, "analyst-a", 1, 0, "2")
    score(app, world, "analyst-a", 1, 1, "5")
    assert needs(analyst, world.decision_id) == ["all scored — mark done"]
    assert (
        analyst.post(f"/decisions/{world.decision_id}/matrix/done", {"done": "1"}).status_code
        == 303
    )
    assert needs(analyst, world.decision_id) == ["your scoring is marked done"]
    # Facilitators and observers have no cells to score.
    assert needs(as_role("facilitator"), world.decision_id) == []
    assert needs(as_role("observer"), world.decision_id) == []


def test_withdrawn_options_and_retired_criteria_are_not_cells_to_score(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    score(app, world, "analyst-a", 1, 0, "3")
    with app.app_context(), unit_of_work() as session:
        option = session.get(Option, world.options[0])
        criterion = session.get(Criterion, world.criteria[1])
        assert option is not None and criterion is not None
        option.status = "withdrawn"
        criterion.status = "retired"
    assert needs(as_role("analyst-a"), world.decision_id) == ["all scored — mark done"]


def test_a_new_round_says_my_scores_are_carried_over_until_i_change_one(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    score(app, world, "analyst-a", 0, 0, "3")
    fac = as_role("facilitator")
    opened = fac.post(f"/decisions/{world.decision_id}/rounds", {"round": "1"})
    assert opened.status_code == 303
    analyst = as_role("analyst-a")
    assert needs(analyst, world.decision_id) == [
        "round 2 opened — your previous scores are carried over",
        "3 of 4 cells to score",
    ]
    assert needs(as_role("analyst-b"), world.decision_id)[0].startswith("round 2 opened")
    score(app, world, "analyst-a", 0, 0, "4")
    assert needs(analyst, world.decision_id) == ["3 of 4 cells to score"]


def test_a_draft_shows_its_set_up_progress_to_the_facilitator(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    fac = as_role("facilitator")
    response = fac.post("/decisions", {"title": "Basing", "question": "Where?"})
    decision_id = int(response.headers["Location"].rsplit("/", 1)[1])
    # Question and mode are done; options, criteria and analysts are not.
    assert needs(fac, decision_id) == ["set-up: 2 of 5 steps done"]
    fac.post(f"/decisions/{decision_id}/members", {"username": "analyst-a", "role": "analyst"})
    assert needs(fac, decision_id) == ["set-up: 3 of 5 steps done"]
    assert needs(as_role("analyst-a"), decision_id) == ["being set up — scoring has not started"]


def make_blind(app: Flask, world: World) -> None:
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        score_service.update_settings(
            session=session,
            decision=decision,
            actor_id=world.users["facilitator"],
            data={"scoring_mode": "blind"},
        )


def test_a_blind_round_shows_only_my_own_count_until_revealed(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    make_blind(app, world)
    analyst = as_role("analyst-a")
    for option in (0, 1):
        for criterion in (0, 1):
            score(app, world, "analyst-b", option, criterion, "5")
    assert needs(analyst, world.decision_id) == ["4 of 4 cells to score"]
    home = analyst.client.get("/").get_data(as_text=True)
    assert "analyst-b" not in home.lower() and "Analyst B" not in home
    fac = as_role("facilitator")
    assert fac.post(f"/decisions/{world.decision_id}/rounds/reveal").status_code == 303
    assert needs(analyst, world.decision_id) == ["4 of 4 cells to score", "round 1 revealed"]


def add_memo(session: Session, decision_id: int, number: int, issued_at: datetime) -> None:
    pdf = b"%PDF-1.7 test"
    session.add(
        Memo(
            decision_id=decision_id,
            number=number,
            round_number=1,
            issued_at=issued_at,
            subject="Memo",
            pdf=pdf,
            size=len(pdf),
            sha256=hashlib.sha256(pdf).hexdigest(),
            snapshot={},
            snapshot_sha256=hashlib.sha256(b"{}").hexdigest(),
            app_version="test",
        )
    )


def test_a_memo_issued_lately_is_mentioned_to_every_member(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    issued = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    with app.app_context(), unit_of_work() as session:
        add_memo(session, world.decision_id, 1, issued - timedelta(days=30))
        add_memo(session, world.decision_id, 2, issued)
    clock = {"now": (issued + timedelta(days=3)).timestamp()}
    set_clock(app, lambda: clock["now"])
    assert "memo 2 issued on 28 Nov" in needs(as_role("observer"), world.decision_id)
    assert "memo 2 issued on 28 Nov" in needs(as_role("analyst-a"), world.decision_id)
    clock["now"] = (issued + timedelta(days=20)).timestamp()
    assert not any("memo" in n for n in needs(as_role("observer"), world.decision_id))


@contextmanager
def counted_statements(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = get_engine(app)
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def home_statements(app: Flask, user_id: int) -> int:
    now = datetime.now(UTC)
    with app.app_context(), unit_of_work(write=False) as session:
        with counted_statements(app) as statements:
            rows = home_service.home_rows(session=session, user_id=user_id, now=now)
        assert rows
        return len(statements)


def test_the_home_page_reads_a_fixed_number_of_statements_however_many_decisions(
    app: Flask,
    world: World,
) -> None:
    analyst = world.users["analyst-a"]
    score(app, world, "analyst-a", 0, 0, "3")
    one = home_statements(app, analyst)
    with app.app_context(), unit_of_work() as session:
        facilitator = session.get(User, world.users["facilitator"])
        assert facilitator is not None
        for n in range(9):
            decision = decision_service.create_decision(
                session=session, actor=facilitator, data={"title": f"Decision {n}"}
            )
            decision_service.set_member(
                session=session,
                decision_id=decision.id,
                actor_id=facilitator.id,
                username="analyst-a",
                role="analyst" if n % 2 else "observer",
            )
            add_memo(session, decision.id, 1, datetime.now(UTC))
    ten = home_statements(app, analyst)
    assert one == ten
    assert ten <= 10
