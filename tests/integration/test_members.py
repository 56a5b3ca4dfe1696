"""The member form: finding people by name (facilitators only; names and usernames only),
confirming a role change before it is made, a visible message and an empty form after
success, and removing a member (confirmed; recorded; access ends at once; their scores stay
in history but stop counting in the group's values; never the last facilitator, even when two
facilitators remove each other at once)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlmodel import col

from app.db.models import Decision, Member, Revision, Role, Score, User
from app.db.uow import unit_of_work
from app.services import decisions as decision_service
from app.services import scores as score_service
from tests.conftest import Actions
from tests.factories import World, make_user

WAIT = 120.0  # seconds: a bound on a stuck request, never a measure of speed


def url(world: World, path: str = "") -> str:
    return f"/decisions/{world.decision_id}/members{path}"


def role_of(app: Flask, world: World, username: str) -> str | None:
    with app.app_context(), unit_of_work(write=False) as session:
        return session.scalar(
            select(Member.role)
            .join(User, col(User.id) == col(Member.user_id))
            .where(col(Member.decision_id) == world.decision_id, col(User.username) == username)
        )


def member_revisions(app: Flask, world: World) -> list[Revision]:
    with app.app_context(), unit_of_work(write=False) as session:
        return list(
            session.scalars(
                select(Revision)
                .where(
                    col(Revision.decision_id) == world.decision_id,
                    col(Revision.entity) == "member",
                )
                .order_by(col(Revision.id))
            )
        )


def test_facilitators_find_people_by_name_and_see_names_and_usernames_only(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    with app.app_context(), unit_of_work() as session:
        person = make_user(session, "dmitri", name="Dmitri Volkov")
        person.email = "dmitri.secret@example.org"
        make_user(session, "vol_100", name="Percent 100% Volunteer")
    fac = as_role("facilitator")
    found = fac.get(url(world, "/search?q=volk"), htmx=True)
    assert found.status_code == 200
    text = found.get_data(as_text=True)
    assert "<html" not in text
    assert "Dmitri Volkov" in text and "(dmitri)" in text
    assert f'name="user_id" value="{person.id}"' in text
    assert "dmitri.secret" not in text  # an email is never shown
    assert "Percent" not in text
    # Case does not matter; usernames match too; % and _ are plain characters.
    assert "Dmitri Volkov" in fac.get(url(world, "/search?q=DMI")).get_data(as_text=True)
    assert "Dmitri" not in fac.get(url(world, "/search?q=%25")).get_data(as_text=True)
    assert "Percent" in fac.get(url(world, "/search?q=%25")).get_data(as_text=True)
    assert "Percent" in fac.get(url(world, "/search?q=l_1")).get_data(as_text=True)
    assert "Nobody’s name" in fac.get(url(world, "/search?q=zzz")).get_data(as_text=True)
    for username, status in (("analyst-a", 403), ("observer", 403), ("outsider", 404)):
        assert as_role(username).get(url(world, "/search?q=volk")).status_code == status


def test_adding_a_person_chosen_from_the_results_clears_the_form_with_a_message(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    fac = as_role("facilitator")
    data = {"user_id": str(world.users["outsider"]), "username": "outs", "role": "observer"}
    done = fac.post(url(world), data | {"confirm_role_change": "1"}, htmx=True, target="members")
    assert done.status_code == 200
    fragment = done.get_data(as_text=True)
    assert "Outsider (outsider) is now an observer in this decision." in fragment
    assert 'value="outs"' not in fragment and "checked" not in fragment
    assert role_of(app, world, "outsider") == "observer"
    # The same again changes nothing, and says so.
    again = fac.post(url(world), data | {"confirm_role_change": "1"}, htmx=True)
    assert "already an observer" in again.get_data(as_text=True)
    assert [r.action for r in member_revisions(app, world)][-1] == "create"


def test_a_role_change_is_confirmed_before_it_is_made(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    fac = as_role("facilitator")
    before = len(member_revisions(app, world))
    form = {"username": "observer", "role": "analyst", "confirm_role_change": "1"}
    asked = fac.post(url(world), form, htmx=True, target="members")
    assert asked.status_code == 200
    text = asked.get_data(as_text=True)
    assert "Change Observer (observer) from observer to analyst?" in text
    assert role_of(app, world, "observer") == "observer"  # nothing changed yet
    assert len(member_revisions(app, world)) == before
    # Cancel brings the section back as it was.
    cancelled = fac.get(url(world), htmx=True).get_data(as_text=True)
    assert "Change Observer" not in cancelled and 'id="members"' in cancelled
    confirmed = {"user_id": str(world.users["observer"]), "role": "analyst", "confirm": "1"}
    done = fac.post(url(world), confirmed, htmx=True, target="members")
    assert done.status_code == 200
    assert "Observer (observer) is now an analyst" in done.get_data(as_text=True)
    assert role_of(app, world, "observer") == "analyst"
    last = member_revisions(app, world)[-1]
    assert (last.action, last.before, last.after) == (
        "update",
        {"username": "observer", "role": "observer"},
        {"username": "observer", "role": "analyst"},
    )
    # Without the page (no htmx): the same question as a page, then a redirect once confirmed.
    page = fac.post(url(world), form | {"role": "observer", "username": "observer"})
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert "from analyst to observer?" in page.get_data(as_text=True)


def test_the_last_facilitator_is_never_demoted_or_removed(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    fac = as_role("facilitator")
    facilitator = world.users["facilitator"]
    demote = {"user_id": str(facilitator), "role": "analyst", "confirm": "1"}
    refused = fac.post(url(world), demote, htmx=True, target="members")
    assert refused.status_code == 422
    assert "A decision needs a facilitator" in refused.get_data(as_text=True)
    removed = fac.post(
        url(world, "/remove"), {"user_id": str(facilitator)}, htmx=True, target="members"
    )
    assert removed.status_code == 422
    assert "A decision needs a facilitator" in removed.get_data(as_text=True)
    assert role_of(app, world, "facilitator") == "facilitator"


def group_value(acts: Actions, world: World) -> float | None:
    data = acts.get(f"/api/decisions/{world.decision_id}/matrix").get_json()
    [cell] = [
        c
        for c in data["cells"]
        if (c["option_id"], c["criterion_id"]) == (world.options[0], world.criteria[0])
    ]
    return cell["value"]  # type: ignore[no-any-return]


def test_removing_a_member_is_confirmed_recorded_and_ends_their_access_at_once(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        for analyst, value in (("analyst-a", "2"), ("analyst-b", "4")):
            score_service.save_score(
                session=session,
                decision=decision,
                analyst_id=world.users[analyst],
                option_id=world.options[0],
                criterion_id=world.criteria[0],
                value=value,
            )
    fac, leaving = as_role("facilitator"), as_role("analyst-b")
    observer = as_role("observer")
    assert group_value(observer, world) == 3.0
    analyst_b = world.users["analyst-b"]
    asked = fac.get(url(world, f"/remove?user_id={analyst_b}"), htmx=True, target="members")
    assert asked.status_code == 200
    assert "Remove Analyst B (analyst-b), analyst, from this decision?" in asked.get_data(
        as_text=True
    )
    assert role_of(app, world, "analyst-b") == "analyst"  # asking removes nothing
    assert leaving.client.get(f"/decisions/{world.decision_id}").status_code == 200

    done = fac.post(url(world, "/remove"), {"user_id": str(analyst_b)}, htmx=True, target="members")
    assert done.status_code == 200
    text = done.get_data(as_text=True)
    assert "Analyst B (analyst-b) is no longer a member" in text
    assert "analyst-b</td>" not in text  # gone from the members table
    assert role_of(app, world, "analyst-b") is None
    # Access ends at once, on every page, fragment and the API.
    for path in ("", "/matrix", "/history"):
        assert leaving.client.get(f"/decisions/{world.decision_id}{path}").status_code == 404
    assert leaving.get(f"/api/decisions/{world.decision_id}").status_code == 404
    assert f"/decisions/{world.decision_id}" not in leaving.client.get("/").get_data(as_text=True)
    # Recorded; the scores stay in history but no longer count in the group's value.
    last = member_revisions(app, world)[-1]
    assert (last.action, last.before, last.after, last.actor_id) == (
        "remove",
        {"username": "analyst-b", "role": "analyst"},
        None,
        world.users["facilitator"],
    )
    with app.app_context(), unit_of_work(write=False) as session:
        kept = session.scalar(
            select(func.count()).select_from(Score).where(col(Score.analyst_id) == analyst_b)
        )
        assert kept == 1
    assert group_value(observer, world) == 2.0
    feed = fac.client.get(f"/decisions/{world.decision_id}/history")
    assert feed.status_code == 200 and "Analyst B" in feed.get_data(as_text=True)
    # Removing someone who is not a member is refused and changes nothing.
    again = fac.post(
        url(world, "/remove"), {"user_id": str(analyst_b)}, htmx=True, target="members"
    )
    assert again.status_code == 422
    assert fac.get(url(world, f"/remove?user_id={analyst_b}")).status_code == 404


def test_only_facilitators_remove_members_and_only_with_the_csrf_token(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    observer = world.users["observer"]
    for username, status in (("analyst-a", 403), ("observer", 403), ("outsider", 404)):
        acts = as_role(username)
        assert acts.post(url(world, "/remove"), {"user_id": str(observer)}).status_code == status
        assert acts.get(url(world, f"/remove?user_id={observer}")).status_code == status
    fac = as_role("facilitator")
    no_token = fac.client.post(url(world, "/remove"), data={"user_id": str(observer)})
    assert no_token.status_code == 400
    assert role_of(app, world, "observer") == "observer"
    # Without htmx the removal answers with a redirect to the members section.
    done = fac.post(url(world, "/remove"), {"user_id": str(observer)})
    assert done.status_code == 303 and done.headers["Location"].endswith("#members")
    page = fac.client.get(f"/decisions/{world.decision_id}").get_data(as_text=True)
    assert "Observer (observer) is no longer a member" in page


def test_a_facilitator_who_removes_themselves_is_sent_home(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    with app.app_context(), unit_of_work() as session:
        make_user(session, "second-fac")
        decision_service.set_member(
            session=session,
            decision_id=world.decision_id,
            actor_id=world.users["facilitator"],
            username="second-fac",
            role="facilitator",
        )
    second = as_role("second-fac")
    with app.app_context(), unit_of_work(write=False) as session:
        own_id = session.scalar(select(User.id).where(col(User.username) == "second-fac"))
    left = second.post(url(world, "/remove"), {"user_id": str(own_id)}, htmx=True, target="members")
    assert left.status_code == 200 and left.headers["HX-Redirect"] == "/"
    assert second.client.get(f"/decisions/{world.decision_id}").status_code == 404


def race(calls: list[Callable[[], int]]) -> list[int]:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[int] = [0] * len(calls)
    failures: list[BaseException] = []

    def run(index: int, call: Callable[[], int]) -> None:
        try:
            barrier.wait(timeout=WAIT)
            results[index] = call()
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not failures, failures
    return results


@pytest.mark.slow
def test_two_facilitators_removing_each_other_at_once_leave_one(
    app: Flask,
    world: World,
    as_role: Any,
) -> None:
    facilitator = world.users["facilitator"]
    for trial in range(4):
        name = f"co-fac-{trial}"
        with app.app_context(), unit_of_work() as session:
            other = make_user(session, name).id
            decision_service.set_member(
                session=session,
                decision_id=world.decision_id,
                actor_id=facilitator,
                username=name,
                role="facilitator",
            )
        first, second = as_role("facilitator"), as_role(name)
        tokens = first.token(), second.token()

        def remove(acts: Actions, token: str, user_id: int) -> int:
            data = {"csrf_token": token, "user_id": str(user_id)}
            return int(acts.client.post(url(world, "/remove"), data=data).status_code)

        statuses = race(
            [
                partial(remove, first, tokens[0], other),
                partial(remove, second, tokens[1], facilitator),
            ]
        )
        assert sorted(statuses)[0] == 303 and sorted(statuses)[1] in (404, 422), statuses
        with app.app_context(), unit_of_work(write=False) as session:
            left = session.scalar(
                select(func.count())
                .select_from(Member)
                .where(
                    col(Member.decision_id) == world.decision_id,
                    col(Member.role) == Role.FACILITATOR.value,
                )
            )
        assert left == 1, (trial, statuses)
        if statuses[0] != 303:  # the first facilitator was removed: bring them back
            with app.app_context(), unit_of_work() as session:
                decision_service.set_member(
                    session=session,
                    decision_id=world.decision_id,
                    actor_id=other,
                    user_id=facilitator,
                    role="facilitator",
                )
                session.execute(
                    Member.__table__.delete().where(  # type: ignore[attr-defined]
                        Member.__table__.c.user_id == other  # type: ignore[attr-defined]
                    )
                )
