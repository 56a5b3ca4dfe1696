"""Requests that race each other on one decision, on both backends.

Each trial starts its requests together (a barrier), each on its own test client and so its
own unit of work, then checks the invariant: no score lands in a round that another request
has just closed, a decision always keeps a facilitator, repeating "done" or "add member" at
once never fails and records one row, and a round is revealed once. SQLite serialises write
transactions (``BEGIN IMMEDIATE``); PostgreSQL runs them side by side under READ COMMITTED,
which is where a check made before the decision is locked goes wrong.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlmodel import Session, col

from app.db.models import Decision, Member, Revision, Role, Round, RoundCompletion, Score
from app.db.uow import unit_of_work
from app.services import decisions as decision_service
from app.services import scores as score_service
from tests.conftest import Actions
from tests.factories import World, make_user

pytestmark = pytest.mark.slow

WAIT = 120.0  # seconds: a bound on a stuck request, never a measure of speed


class Client:
    """A logged-in client whose CSRF token is read before the race starts."""

    def __init__(self, acts: Actions) -> None:
        self.client = acts.client
        self.token = acts.token()

    def post(self, url: str, data: dict[str, Any]) -> int:
        response = self.client.post(url, data=data | {"csrf_token": self.token})
        return int(response.status_code)


def race(calls: list[Callable[[], int]]) -> list[int]:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[int | None] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index: int, call: Callable[[], int]) -> None:
        try:
            barrier.wait(timeout=WAIT)
            results[index] = call()
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    threads = [
        threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    if failures:
        raise failures[0]
    assert all(result is not None for result in results)
    return [int(result) for result in results if result is not None]


def read(app: Flask, query: Callable[[Session], Any]) -> Any:
    with app.app_context(), unit_of_work(write=False) as session:
        return query(session)


def count(app: Flask, model: Any, *where: Any) -> int:
    return int(read(app, lambda s: s.scalar(select(func.count()).select_from(model).where(*where))))


def current_round(app: Flask, decision_id: int) -> int:
    return int(read(app, lambda s: s.get(Decision, decision_id).current_round))


def test_a_score_saved_while_the_next_round_opens_never_lands_in_the_closed_round(
    app: Flask, world: World, as_role: Any
) -> None:
    base = f"/decisions/{world.decision_id}"
    analyst, facilitator = Client(as_role("analyst-a")), Client(as_role("facilitator"))
    analyst_id = world.users["analyst-a"]
    cell = {"option_id": world.options[0], "criterion_id": world.criteria[0]}
    for trial in range(12):
        number = current_round(app, world.decision_id)
        value = 2 + trial % 3  # differs from the value the previous trial left
        statuses = race(
            [
                partial(analyst.post, f"{base}/matrix/scores", cell | {"value": str(value)}),
                partial(facilitator.post, f"{base}/rounds", {"round": str(number)}),
            ]
        )
        assert statuses == [200, 303], (trial, statuses)
        assert current_round(app, world.decision_id) == number + 1

        def saved_in(round_number: int, s: Session) -> float | None:
            return s.scalar(
                select(col(Score.value))
                .join(Round, col(Round.id) == col(Score.round_id))
                .where(
                    col(Round.decision_id) == world.decision_id,
                    col(Round.number) == round_number,
                    col(Score.option_id) == cell["option_id"],
                    col(Score.criterion_id) == cell["criterion_id"],
                    col(Score.analyst_id) == analyst_id,
                )
            )

        # Saved before the round opened (and carried into it) or saved in the new round:
        # either way the open round holds it.
        assert read(app, lambda s, n=number: saved_in(n + 1, s)) == value, trial

        def revisions_after_opening(s: Session, n: int = number) -> int:
            opened = s.scalar(
                select(col(Revision.id)).where(
                    col(Revision.decision_id) == world.decision_id,
                    col(Revision.entity) == "round",
                    col(Revision.action) == "open",
                    col(Revision.round_number) == n + 1,
                )
            )
            return int(
                s.scalar(
                    select(func.count()).where(
                        col(Revision.decision_id) == world.decision_id,
                        col(Revision.entity) == "score",
                        col(Revision.actor_id) == analyst_id,
                        col(Revision.round_number) == n,
                        col(Revision.id) > opened,
                    )
                )
                or 0
            )

        assert read(app, revisions_after_opening) == 0, trial


def facilitator_count(app: Flask, decision_id: int) -> int:
    return count(
        app,
        Member,
        col(Member.decision_id) == decision_id,
        col(Member.role) == Role.FACILITATOR.value,
    )


def test_two_facilitators_demoting_each_other_leave_one_facilitator(
    app: Flask, world: World, as_role: Any
) -> None:
    with app.app_context(), unit_of_work() as session:
        make_user(session, "facilitator-2")
        decision_service.set_member(
            session=session,
            decision_id=world.decision_id,
            actor_id=world.users["facilitator"],
            username="facilitator-2",
            role="facilitator",
        )
    first, second = Client(as_role("facilitator")), Client(as_role("facilitator-2"))
    url = f"/decisions/{world.decision_id}/members"
    for trial in range(10):
        statuses = race(
            [
                partial(first.post, url, {"username": "facilitator-2", "role": "analyst"}),
                partial(second.post, url, {"username": "facilitator", "role": "analyst"}),
            ]
        )
        assert sorted(statuses) in ([303, 403], [303, 422]), (trial, statuses)
        assert facilitator_count(app, world.decision_id) == 1, trial
        with app.app_context(), unit_of_work() as session:
            remaining = session.scalar(
                select(Member).where(
                    col(Member.decision_id) == world.decision_id,
                    col(Member.role) == Role.FACILITATOR.value,
                )
            )
            assert remaining is not None
            demoted = (
                "facilitator-2"
                if remaining.user_id == world.users["facilitator"]
                else "facilitator"
            )
            decision_service.set_member(
                session=session,
                decision_id=world.decision_id,
                actor_id=remaining.user_id,
                username=demoted,
                role="facilitator",
            )
        assert facilitator_count(app, world.decision_id) == 2


def test_marking_done_many_times_at_once_records_one_completion(
    app: Flask, world: World, as_role: Any
) -> None:
    analyst_id = world.users["analyst-a"]
    clients = [Client(as_role("analyst-a")) for _ in range(10)]
    url = f"/decisions/{world.decision_id}/matrix/done"
    done_revisions = (
        col(Revision.decision_id) == world.decision_id,
        col(Revision.entity) == "round",
        col(Revision.action) == "done",
        col(Revision.actor_id) == analyst_id,
    )
    for trial in range(8):
        statuses = race([partial(c.post, url, {"done": "1"}) for c in clients])
        assert statuses == [303] * len(clients), (trial, statuses)
        assert count(app, RoundCompletion, col(RoundCompletion.analyst_id) == analyst_id) == 1
        assert count(app, Revision, *done_revisions) == trial + 1
        with app.app_context(), unit_of_work() as session:
            decision = session.get(Decision, world.decision_id)
            assert decision is not None
            score_service.set_done(
                session=session, decision=decision, analyst_id=analyst_id, done=False
            )


def test_adding_the_same_member_many_times_at_once_adds_one_member(
    app: Flask, world: World, as_role: Any
) -> None:
    clients = [Client(as_role("facilitator")) for _ in range(10)]
    url = f"/decisions/{world.decision_id}/members"
    for trial in range(8):
        username = f"newcomer-{trial}"
        with app.app_context(), unit_of_work() as session:
            user_id = make_user(session, username).id
        statuses = race(
            [partial(c.post, url, {"username": username, "role": "analyst"}) for c in clients]
        )
        assert statuses == [303] * len(clients), (trial, statuses)
        assert count(app, Member, col(Member.user_id) == user_id) == 1
        member_revisions = count(
            app,
            Revision,
            col(Revision.decision_id) == world.decision_id,
            col(Revision.entity) == "member",
            col(Revision.entity_id) == str(user_id),
        )
        assert member_revisions == 1, trial


def test_simultaneous_reveals_record_one_reveal(app: Flask, world: World, as_role: Any) -> None:
    facilitator_id = world.users["facilitator"]
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        score_service.update_settings(
            session=session,
            decision=decision,
            actor_id=facilitator_id,
            data={"scoring_mode": "blind"},
        )
    clients = [Client(as_role("facilitator")) for _ in range(4)]
    url = f"/decisions/{world.decision_id}/rounds/reveal"
    for trial in range(8):
        number = current_round(app, world.decision_id)
        statuses = race([partial(c.post, url, {}) for c in clients])
        assert sorted(statuses) == [303] + [400] * (len(clients) - 1), (trial, statuses)
        reveals = count(
            app,
            Revision,
            col(Revision.decision_id) == world.decision_id,
            col(Revision.action) == "reveal",
            col(Revision.round_number) == number,
        )
        assert reveals == 1, trial
        with app.app_context(), unit_of_work() as session:
            decision = session.get(Decision, world.decision_id)
            assert decision is not None
            score_service.open_next_round(
                session=session, decision=decision, actor_id=facilitator_id
            )
