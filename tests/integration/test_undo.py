"""Undoing score changes: an analyst's last change in the open round comes back as it was,
recorded as a revision; everything else is refused with a clear message and nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlmodel import col

from app.db import changes
from app.db.models import Criterion, Revision, Score
from app.db.uow import unit_of_work
from tests.conftest import Actions
from tests.factories import World

SECRET = "Qx-other-analysts-rationale-93"


def scores_url(world: World) -> str:
    return f"/decisions/{world.decision_id}/matrix/scores"


def save(acts: Actions, world: World, option: int, criterion: int, **data: Any) -> Any:
    payload = {"option_id": str(option), "criterion_id": str(criterion)}
    return acts.post(scores_url(world), payload | {k: str(v) for k, v in data.items()}, htmx=True)


def undo(acts: Actions, world: World, cell: tuple[int, int] | None = None, **kw: Any) -> Any:
    data = {} if cell is None else {"option_id": str(cell[0]), "criterion_id": str(cell[1])}
    return acts.post(scores_url(world) + "/undo", data, htmx=True, **kw)


def stored(app: Flask, world: World, analyst: str, cell: tuple[int, int]) -> Score | None:
    with app.app_context(), unit_of_work(write=False) as session:
        return session.scalar(
            select(Score).where(
                col(Score.analyst_id) == world.users[analyst],
                col(Score.option_id) == cell[0],
                col(Score.criterion_id) == cell[1],
            )
        )


def revision_count(app: Flask, world: World) -> int:
    with app.app_context(), unit_of_work(write=False) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Revision)
                .where(col(Revision.decision_id) == world.decision_id)
            )
            or 0
        )


def last_revision(app: Flask, world: World) -> Revision:
    with app.app_context(), unit_of_work(write=False) as session:
        found = session.scalar(
            select(Revision)
            .where(col(Revision.decision_id) == world.decision_id)
            .order_by(col(Revision.id).desc())
            .limit(1)
        )
        assert found is not None
        return found


def change_number(app: Flask, world: World) -> int:
    with app.app_context(), unit_of_work(write=False) as session:
        return changes.current_number(session=session, decision_id=world.decision_id)


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_undo_puts_the_cell_back_and_is_recorded_as_a_revision(
    app: Flask, world: World, as_role: Any
) -> None:
    a = as_role("analyst-a")
    cell = (world.options[0], world.criteria[0])
    saved = save(a, world, *cell, value=4)
    # The save's confirmation offers to undo it, for that cell.
    assert 'class="link undo"' in text(saved) and "/matrix/scores/undo" in text(saved)
    save(a, world, *cell, value=2)
    before = change_number(app, world)
    response = undo(a, world, cell)
    assert response.status_code == 200
    body = text(response)
    assert "<html" not in body
    assert "Undone: back to 4 — good" in body
    assert 'data-restored="4"' in body
    assert response.headers["HX-Retarget"] == f"#st-{cell[0]}-{cell[1]}"
    assert response.headers["HX-Reswap"] == "outerHTML"
    assert f'id="total-{cell[0]}"' in body  # the total follows, as after a save
    assert 'class="link undo"' not in body  # an undo is not offered to be undone
    score = stored(app, world, "analyst-a", cell)
    assert score is not None and score.value == 4
    rev = last_revision(app, world)
    assert (rev.entity, rev.action, rev.actor_id) == ("score", "undo", world.users["analyst-a"])
    assert rev.before is not None and rev.after is not None
    assert (rev.before["value"], rev.after["value"], rev.round_number) == (2, 4, 1)
    assert change_number(app, world) == before + 1
    assert response.headers["X-Change-Number"] == str(before + 1)
    # History tells it.
    feed = text(a.get(f"/decisions/{world.decision_id}/history"))
    assert "2 → 4" in feed


def test_undo_steps_back_through_the_round_then_says_there_is_nothing_left(
    app: Flask, world: World, as_role: Any
) -> None:
    a = as_role("analyst-a")
    first, second = (world.options[0], world.criteria[0]), (world.options[1], world.criteria[1])
    save(a, world, *first, value=3)
    save(a, world, *second, value="na", rationale="cannot judge yet")
    save(a, world, *second, value=5, rationale="now I can")
    assert undo(a, world).status_code == 200  # Ctrl+Z: no cell named
    score = stored(app, world, "analyst-a", second)
    assert score is not None
    assert (score.value, score.not_applicable, score.rationale) == (None, True, "cannot judge yet")
    assert "Undone: back to no score" in text(undo(a, world, second))
    score = stored(app, world, "analyst-a", second)
    assert score is not None
    assert (score.value, score.not_applicable, score.rationale) == (None, False, "")
    response = undo(a, world)
    assert response.status_code == 200 and "Undone: back to no score" in text(response)
    assert stored(app, world, "analyst-a", first).value is None  # type: ignore[union-attr]
    count = revision_count(app, world)
    refused = undo(a, world)
    assert refused.status_code == 409
    assert "Nothing to undo" in text(refused)
    assert revision_count(app, world) == count


def test_the_undo_beside_a_cell_is_refused_when_the_last_change_was_elsewhere(
    app: Flask, world: World, as_role: Any
) -> None:
    a = as_role("analyst-a")
    first, second = (world.options[0], world.criteria[0]), (world.options[1], world.criteria[0])
    save(a, world, *first, value=3)
    save(a, world, *second, value=1)
    count = revision_count(app, world)
    refused = undo(a, world, first)
    assert refused.status_code == 409
    assert "last score change was to another cell" in text(refused)
    assert revision_count(app, world) == count
    assert stored(app, world, "analyst-a", first).value == 3  # type: ignore[union-attr]


def test_each_analyst_undoes_only_their_own_changes(app: Flask, world: World, as_role: Any) -> None:
    a, b = as_role("analyst-a"), as_role("analyst-b")
    cell = (world.options[0], world.criteria[0])
    save(a, world, *cell, value=5)
    save(b, world, *cell, value=1)
    assert undo(b, world).status_code == 200
    assert stored(app, world, "analyst-a", cell).value == 5  # type: ignore[union-attr]
    assert stored(app, world, "analyst-b", cell).value is None  # type: ignore[union-attr]
    assert undo(b, world).status_code == 409


def test_changes_of_an_earlier_round_cannot_be_undone(
    app: Flask, world: World, as_role: Any
) -> None:
    a, fac = as_role("analyst-a"), as_role("facilitator")
    cell = (world.options[0], world.criteria[0])
    save(a, world, *cell, value=4)
    opened = fac.post(f"/decisions/{world.decision_id}/rounds", {"round": "1"})
    assert opened.status_code == 303
    count = revision_count(app, world)
    refused = undo(a, world)
    assert refused.status_code == 409
    assert "Nothing to undo" in text(refused) and "earlier rounds" in text(refused)
    assert revision_count(app, world) == count
    # In round 2 the analyst's own changes can be undone again, back to the carried-over score.
    save(a, world, *cell, value=1)
    assert "Undone: back to 4" in text(undo(a, world, cell))


def test_a_cell_changed_since_the_last_change_is_not_undone(
    app: Flask, world: World, as_role: Any
) -> None:
    a = as_role("analyst-a")
    cell = (world.options[0], world.criteria[0])
    save(a, world, *cell, value=2)
    with app.app_context(), unit_of_work() as session:  # changed behind the revision's back
        session.execute(
            update(Score).where(col(Score.analyst_id) == world.users["analyst-a"]).values(value=5.0)
        )
    count = revision_count(app, world)
    refused = undo(a, world)
    assert refused.status_code == 409
    assert "changed again" in text(refused)
    assert revision_count(app, world) == count
    assert stored(app, world, "analyst-a", cell).value == 5  # type: ignore[union-attr]


@pytest.mark.parametrize(("who", "status"), [("observer", 403), ("facilitator", 403)])
def test_only_analysts_undo(app: Flask, world: World, as_role: Any, who: str, status: int) -> None:
    assert undo(as_role(who), world).status_code == status


def test_a_non_member_gets_not_found_and_a_request_without_token_is_refused(
    app: Flask, world: World, as_role: Any
) -> None:
    a = as_role("analyst-a")
    save(a, world, world.options[0], world.criteria[0], value=3)
    assert undo(as_role("outsider"), world).status_code == 404
    response = a.client.post(scores_url(world) + "/undo", headers={"HX-Request": "true"})
    assert response.status_code in (400, 403)
    assert stored(app, world, "analyst-a", (world.options[0], world.criteria[0])).value == 3  # type: ignore[union-attr]


def test_a_closed_decision_refuses_undo(app: Flask, world: World, as_role: Any) -> None:
    a, fac = as_role("analyst-a"), as_role("facilitator")
    save(a, world, world.options[0], world.criteria[0], value=3)
    assert (
        fac.post(f"/decisions/{world.decision_id}/settings", {"status": "closed"}).status_code
        == 303
    )
    refused = undo(a, world)
    assert refused.status_code in (400, 403, 409)
    assert "closed" in text(refused).lower()


def test_half_a_cell_is_refused(app: Flask, world: World, as_role: Any) -> None:
    a = as_role("analyst-a")
    save(a, world, world.options[0], world.criteria[0], value=3)
    response = a.post(scores_url(world) + "/undo", {"option_id": str(world.options[0])}, htmx=True)
    assert response.status_code == 400


def test_a_blind_undo_answer_shows_nothing_of_other_analysts(
    app: Flask, world: World, as_role: Any
) -> None:
    a, b, fac = as_role("analyst-a"), as_role("analyst-b"), as_role("facilitator")
    assert (
        fac.post(f"/decisions/{world.decision_id}/settings", {"scoring_mode": "blind"}).status_code
        == 303
    )
    cell = (world.options[0], world.criteria[0])
    save(b, world, *cell, value=1, rationale=SECRET)
    save(a, world, *cell, value=5)
    save(a, world, *cell, value=4)
    body = text(undo(a, world))
    assert "Undone: back to 5" in body
    assert SECRET not in body and 'class="gv"' not in body and "rationale-count" not in body


def test_a_retired_criterion_is_neither_scored_nor_undone(
    app: Flask, world: World, as_role: Any
) -> None:
    a = as_role("analyst-a")
    cell = (world.options[0], world.criteria[1])
    save(a, world, *cell, value=2)
    with app.app_context(), unit_of_work() as session:
        session.execute(
            update(Criterion).where(col(Criterion.id) == cell[1]).values(status="retired")
        )
    count = revision_count(app, world)
    refused = save(a, world, *cell, value=3)
    assert refused.status_code == 422
    assert "Escalation risk" in text(refused) and "retired" in text(refused)
    refused = undo(a, world)
    assert refused.status_code == 422 and "retired" in text(refused)
    assert revision_count(app, world) == count
    assert stored(app, world, "analyst-a", cell).value == 2  # type: ignore[union-attr]
