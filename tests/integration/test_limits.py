"""How much one decision may hold: options, criteria and members up to their limits, then a
clear 422 with nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlmodel import col

from app.db.models import Criterion, Member, Option, OptionStatus, Revision
from app.db.uow import unit_of_work
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import options as option_service
from app.services.decisions import MAX_CRITERIA, MAX_MEMBERS, MAX_OPTIONS
from tests.factories import World, make_user

pytestmark = pytest.mark.slow


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context(), unit_of_work(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def revision_count(app: Flask, decision_id: int) -> int:
    return count(app, Revision, col(Revision.decision_id) == decision_id)


def test_options_up_to_the_limit_withdrawn_ones_included(
    app: Flask, world: World, as_role: Any
) -> None:
    facilitator = world.users["facilitator"]
    in_decision = col(Option.decision_id) == world.decision_id
    with app.app_context(), unit_of_work() as session:
        for n in range(count(app, Option, in_decision), MAX_OPTIONS - 1):
            option_service.create_option(
                session=session,
                decision_id=world.decision_id,
                actor_id=facilitator,
                data={"title": f"Option {n}"},
            )
        option_service.set_status(
            session=session,
            decision_id=world.decision_id,
            option_id=world.options[0],
            actor_id=facilitator,
            status=OptionStatus.WITHDRAWN,
        )
    analyst = as_role("analyst-a")
    url = f"/decisions/{world.decision_id}/options"
    assert analyst.post(url, {"title": "The last one"}).status_code == 303
    assert count(app, Option, in_decision) == MAX_OPTIONS
    revisions = revision_count(app, world.decision_id)

    response = analyst.post(url, {"title": "One too many"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f"at most {MAX_OPTIONS} options (withdrawn ones included)" in page
    response = analyst.post(url, {"title": "One too many"}, htmx=True)
    assert response.status_code == 422
    assert f"at most {MAX_OPTIONS} options" in response.get_data(as_text=True)
    assert count(app, Option, in_decision) == MAX_OPTIONS
    assert revision_count(app, world.decision_id) == revisions

    # Restoring a withdrawn option does not add one: it is still allowed at the limit.
    facilitator_client = as_role("facilitator")
    restore = f"{url}/{world.options[0]}/restore"
    assert facilitator_client.post(restore, {}).status_code < 400
    with app.app_context(), unit_of_work(write=False) as session:
        option = session.get(Option, world.options[0])
        assert option is not None and option.status == OptionStatus.ACTIVE.value


def test_criteria_up_to_the_limit(app: Flask, world: World, as_role: Any) -> None:
    in_decision = col(Criterion.decision_id) == world.decision_id
    with app.app_context(), unit_of_work() as session:
        for n in range(count(app, Criterion, in_decision), MAX_CRITERIA - 1):
            criteria_service.create_criterion(
                session=session,
                decision_id=world.decision_id,
                actor_id=world.users["facilitator"],
                data={"name": f"Criterion {n}", "weight": 1},
            )
    facilitator = as_role("facilitator")
    url = f"/decisions/{world.decision_id}/criteria"
    assert facilitator.post(url, {"name": "The last one", "weight": "1"}).status_code < 400
    assert count(app, Criterion, in_decision) == MAX_CRITERIA
    revisions = revision_count(app, world.decision_id)

    response = facilitator.post(url, {"name": "One too many", "weight": "1"})
    assert response.status_code == 422
    assert f"at most {MAX_CRITERIA} criteria; this one has {MAX_CRITERIA}" in (
        response.get_data(as_text=True)
    )
    assert count(app, Criterion, in_decision) == MAX_CRITERIA
    assert revision_count(app, world.decision_id) == revisions


def test_members_up_to_the_limit_and_role_changes_at_it(
    app: Flask, world: World, as_role: Any
) -> None:
    in_decision = col(Member.decision_id) == world.decision_id
    with app.app_context(), unit_of_work() as session:
        for n in range(count(app, Member, in_decision), MAX_MEMBERS - 1):
            make_user(session, f"member-{n}")
            decision_service.set_member(
                session=session,
                decision_id=world.decision_id,
                actor_id=world.users["facilitator"],
                username=f"member-{n}",
                role="observer",
            )
        make_user(session, "the-last-one")
        make_user(session, "one-too-many")
    facilitator = as_role("facilitator")
    url = f"/decisions/{world.decision_id}/members"
    assert facilitator.post(url, {"username": "the-last-one", "role": "analyst"}).status_code == 303
    assert count(app, Member, in_decision) == MAX_MEMBERS
    revisions = revision_count(app, world.decision_id)

    response = facilitator.post(url, {"username": "one-too-many", "role": "analyst"}, htmx=True)
    assert response.status_code == 422
    assert f"at most {MAX_MEMBERS} members" in response.get_data(as_text=True)
    assert count(app, Member, in_decision) == MAX_MEMBERS
    assert revision_count(app, world.decision_id) == revisions

    # Changing the role of someone already in the decision adds no one.
    response = facilitator.post(url, {"username": "the-last-one", "role": "observer"})
    assert response.status_code == 303
    assert revision_count(app, world.decision_id) == revisions + 1
