"""Property: the matrix "as of" any revision, rebuilt from revisions alone, is exactly the
matrix build_matrix showed at that moment — on SQLite and PostgreSQL.

Hypothesis draws a sequence of option edits, withdrawals and restores, text restores, weight
and direction changes, scores (values, N/A, cleared, rationales), "done" marks, rounds,
reveals, scoring-mode, aggregation and status changes, role changes and new options and
criteria. After each step the live matrix is snapshotted for several viewers and rounds;
afterwards every point is rebuilt with ``history.load_state`` + ``history.matrix_as_of`` and
compared field by field.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.db.models import Decision, OptionStatus, Revision, Role, Round
from app.db.uow import unit_of_work
from app.domain.errors import ServiceError
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import history
from app.services import options as option_service
from app.services import scores as score_service
from app.services.matrix import Matrix, build_matrix
from tests.factories import World

pytestmark = pytest.mark.slow

ANALYSTS = ["analyst-a", "analyst-b"]
VALUES = ["1", "2", "3", "4", "5", "2.5", "na", ""]

step = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, 3), st.sampled_from(["a", "b", "c"])),
    st.tuples(st.just("withdraw"), st.integers(0, 3)),
    st.tuples(st.just("restore"), st.integers(0, 3)),
    st.tuples(st.just("restore_text"), st.integers(0, 3)),
    st.tuples(st.just("weight"), st.integers(0, 3), st.sampled_from([0, 0.5, 1, 3, 10, 60])),
    st.tuples(st.just("direction"), st.integers(0, 3)),
    st.tuples(
        st.just("score"),
        st.sampled_from(ANALYSTS),
        st.integers(0, 3),
        st.integers(0, 3),
        st.sampled_from(VALUES),
        st.sampled_from([None, "", "because"]),
    ),
    st.tuples(
        st.just("score"),
        st.sampled_from(ANALYSTS),
        st.integers(0, 3),
        st.integers(0, 3),
        st.sampled_from(VALUES),
        st.none(),
    ),
    st.tuples(st.just("done"), st.sampled_from(ANALYSTS), st.booleans()),
    st.tuples(st.just("open_round")),
    st.tuples(st.just("reveal")),
    st.tuples(
        st.just("setting"),
        st.sampled_from(
            [
                ("scoring_mode", "open"),
                ("scoring_mode", "blind"),
                ("aggregation", "median"),
                ("aggregation", "mean"),
                ("status", "closed"),
                ("status", "scoring"),
            ]
        ),
    ),
    st.tuples(st.just("role"), st.sampled_from(["analyst", "observer"])),
    st.tuples(st.just("add_option")),
    st.tuples(st.just("add_criterion"), st.sampled_from(["benefit", "cost"])),
)


def _f(value: Any) -> Any:
    """Floats compared exactly, NaN as a marker (NaN != NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def snapshot(m: Matrix) -> dict[str, Any]:
    d = m.decision
    return {
        "decision": [
            d.id,
            d.title,
            d.question,
            d.scale_min,
            d.scale_max,
            d.classification,
            d.status,
            d.scoring_mode,
            d.aggregation,
            d.current_round,
        ],
        "round": m.round.number,
        "revealed": m.revealed,
        "rounds": [(r.number, r.revealed_at is not None) for r in m.rounds],
        "method": m.method,
        "group_visible": m.group_visible,
        "options": [
            (o.id, o.title, o.summary, o.description, o.status, o.position, o.version)
            for o in m.options
        ],
        "criteria": [
            (c.id, c.name, c.description, c.weight, c.direction, c.position, c.version)
            for c in m.criteria
        ],
        "weights": [_f(w) for w in m.weights],
        "cells": {
            key: (
                _f(c.value),
                _f(c.std),
                _f(c.min),
                _f(c.max),
                c.count,
                c.contested,
                _f(c.previous_value),
                None if c.mine is None else (c.mine.value, c.mine.not_applicable, c.mine.rationale),
                None
                if c.scores is None
                else [
                    (s.analyst_id, s.label, s.value, s.not_applicable, s.rationale)
                    for s in c.scores
                ],
            )
            for key, c in sorted(m.cells.items())
        },
        "totals": {k: _f(v) for k, v in m.totals.items()},
        "ranks": dict(m.ranks),
        "completeness": {k: _f(v) for k, v in m.completeness.items()},
        "contributions": {k: _f(v) for k, v in sorted(m.contributions.items())},
        "progress": [(p.analyst_id, p.label, p.scored, p.total, p.done) for p in m.progress],
        "my_scored": m.my_scored,
        "my_done": m.my_done,
        "revision": m.revision,
    }


def viewers(world: World) -> list[tuple[int, Role]]:
    return [
        (world.users["facilitator"], Role.FACILITATOR),
        (world.users["analyst-a"], Role.ANALYST),
        (world.users["observer"], Role.OBSERVER),
    ]


def new_decision(session: Any, world: World) -> tuple[int, list[int], list[int]]:
    fac = session.get(
        __import__("app.db.models", fromlist=["User"]).User, world.users["facilitator"]
    )
    decision = decision_service.create_decision(
        session=session, actor=fac, data={"title": "Property", "question": "Q?"}
    )
    for username, role in (
        ("analyst-a", "analyst"),
        ("analyst-b", "analyst"),
        ("observer", "observer"),
    ):
        decision_service.set_member(
            session=session, decision_id=decision.id, actor_id=fac.id, username=username, role=role
        )
    options = [
        option_service.create_option(
            session=session,
            decision_id=decision.id,
            actor_id=fac.id,
            data={"title": f"Option {k}", "summary": "First text"},
        ).id
        for k in range(2)
    ]
    criteria = [
        criteria_service.create_criterion(
            session=session,
            decision_id=decision.id,
            actor_id=fac.id,
            data={"name": f"Criterion {k}", "weight": 5, "direction": "cost" if k else "benefit"},
        ).id
        for k in range(2)
    ]
    return decision.id, options, criteria


def apply(
    session: Any,
    world: World,
    did: int,
    options: list[int],
    criteria: list[int],
    s: tuple[Any, ...],
) -> None:
    fac = world.users["facilitator"]
    decision = session.get(Decision, did)
    kind = s[0]
    if kind == "edit":
        option = option_service.get_option(
            session=session, decision_id=did, option_id=options[s[1] % len(options)]
        )
        option_service.update_option(
            session=session,
            decision_id=did,
            option_id=option.id,
            actor_id=fac,
            data={
                "title": option.title,
                "summary": f"Summary {s[2]} of {option.id}",
                "description": f"Text {s[2]}\n\nmore {s[2]}",
                "version": option.version,
            },
        )
    elif kind in ("withdraw", "restore"):
        option_service.set_status(
            session=session,
            decision_id=did,
            option_id=options[s[1] % len(options)],
            actor_id=fac,
            status=OptionStatus.WITHDRAWN if kind == "withdraw" else OptionStatus.ACTIVE,
        )
    elif kind == "restore_text":
        option_id = options[s[1] % len(options)]
        first = session.scalar(
            select(Revision).where(
                Revision.option_id == option_id,
                Revision.entity == "option",
                Revision.action == "create",
            )
        )
        option_service.restore_text(
            session=session,
            decision_id=did,
            option_id=option_id,
            actor_id=fac,
            state=history.text_of(first.after),
        )
    elif kind == "weight":
        criteria_service.set_weight(
            session=session,
            decision_id=did,
            criterion_id=criteria[s[1] % len(criteria)],
            actor_id=fac,
            weight=str(s[2]),
        )
    elif kind == "direction":
        c = criteria_service.get_criterion(
            session=session, decision_id=did, criterion_id=criteria[s[1] % len(criteria)]
        )
        criteria_service.update_criterion(
            session=session,
            decision_id=did,
            criterion_id=c.id,
            actor_id=fac,
            data={
                "name": c.name,
                "description": c.description,
                "weight": c.weight,
                "direction": "cost" if c.direction == "benefit" else "benefit",
                "version": c.version,
            },
        )
    elif kind == "score":
        score_service.save_score(
            session=session,
            decision=decision,
            analyst_id=world.users[s[1]],
            option_id=options[s[2] % len(options)],
            criterion_id=criteria[s[3] % len(criteria)],
            value=s[4],
            rationale=s[5],
        )
    elif kind == "done":
        score_service.set_done(
            session=session, decision=decision, analyst_id=world.users[s[1]], done=s[2]
        )
    elif kind == "open_round":
        score_service.open_next_round(session=session, decision=decision, actor_id=fac)
    elif kind == "reveal":
        score_service.reveal_round(session=session, decision=decision, actor_id=fac)
    elif kind == "setting":
        score_service.update_settings(
            session=session, decision=decision, actor_id=fac, data={s[1][0]: s[1][1]}
        )
    elif kind == "role":
        decision_service.set_member(
            session=session, decision_id=did, actor_id=fac, username="analyst-b", role=s[1]
        )
    elif kind == "add_option":
        options.append(
            option_service.create_option(
                session=session,
                decision_id=did,
                actor_id=world.users["analyst-a"],
                data={"title": f"Added {len(options)}"},
            ).id
        )
    elif kind == "add_criterion":
        criteria.append(
            criteria_service.create_criterion(
                session=session,
                decision_id=did,
                actor_id=fac,
                data={"name": f"Added {len(criteria)}", "weight": 2, "direction": s[1]},
            ).id
        )


def live_points(world: World, did: int) -> dict[tuple[int, int, int], dict[str, Any]]:
    """(revision, viewer, round) → snapshot of build_matrix now."""
    out = {}
    with unit_of_work(write=False) as session:
        decision = session.get(Decision, did)
        last = session.scalar(select(func.max(Revision.id)).where(Revision.decision_id == did))
        numbers = session.scalars(select(Round.number).where(Round.decision_id == did)).all()
        for viewer, role in viewers(world):
            for number in numbers:
                m = build_matrix(
                    session=session,
                    decision=decision,
                    viewer_id=viewer,
                    role=role,
                    round_number=number,
                )
                out[(last, viewer, number)] = snapshot(m)
    return out


def show_everything_today(session: Any, world: World, did: int) -> None:
    """Open scoring today, so no round is hidden now and every point rebuilds exactly as the
    live matrix showed it then (the gate on rounds hidden today is tested below)."""
    decision = session.get(Decision, did)
    fac = world.users["facilitator"]
    if decision.status == "closed":
        score_service.update_settings(
            session=session, decision=decision, actor_id=fac, data={"status": "scoring"}
        )
    if decision.scoring_mode != "open":
        score_service.update_settings(
            session=session, decision=decision, actor_id=fac, data={"scoring_mode": "open"}
        )
    assert history.hidden_today(session=session, decision=decision) == frozenset()


def rebuilt(world: World, did: int, point: tuple[int, int, int]) -> dict[str, Any]:
    revision, viewer, number = point
    role = dict(viewers(world))[viewer]
    with unit_of_work(write=False) as session:
        decision = session.get(Decision, did)
        state = history.load_state(session=session, decision_id=did, revision=revision)
        m = history.matrix_as_of(
            session=session,
            decision=decision,
            state=state,
            viewer_id=viewer,
            role=role,
            round_number=number,
        )
        return snapshot(m)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=14))
def test_every_point_rebuilt_from_revisions_equals_the_live_matrix(
    app: Flask, world: World, steps: list[tuple[Any, ...]]
) -> None:
    with app.app_context():
        with unit_of_work() as session:
            did, options, criteria = new_decision(session, world)
        points = live_points(world, did)
        for s in steps:
            try:
                with unit_of_work() as session:
                    apply(session, world, did, options, criteria, s)
            except ServiceError:
                continue  # refused (e.g. scoring a withdrawn option): nothing was written
            points |= live_points(world, did)
        with unit_of_work() as session:
            show_everything_today(session, world, did)
        for point, expected in points.items():
            assert rebuilt(world, did, point) == expected, (point, steps)


def test_the_visibility_gate_hides_what_is_hidden_today(app: Flask, world: World) -> None:
    """Visible at the time, blind and unrevealed now: history shows no more than the matrix,
    whoever asks for it."""
    with app.app_context():
        with unit_of_work() as session:
            decision = session.get(Decision, world.decision_id)
            for analyst, value in (("analyst-a", "2"), ("analyst-b", "5")):
                score_service.save_score(
                    session=session,
                    decision=decision,
                    analyst_id=world.users[analyst],
                    option_id=world.options[0],
                    criterion_id=world.criteria[0],
                    value=value,
                )
            session.flush()
            point = session.scalar(select(func.max(Revision.id)))
        with unit_of_work(write=False) as session:
            decision = session.get(Decision, world.decision_id)
            state = history.load_state(session=session, decision_id=decision.id, revision=point)
            open_then = history.matrix_as_of(
                session=session,
                decision=decision,
                state=state,
                viewer_id=world.users["facilitator"],
                role=Role.FACILITATOR,
            )
        with unit_of_work() as session:
            decision = session.get(Decision, world.decision_id)
            score_service.update_settings(
                session=session,
                decision=decision,
                actor_id=world.users["facilitator"],
                data={"scoring_mode": "blind"},
            )
        with unit_of_work(write=False) as session:
            decision = session.get(Decision, world.decision_id)
            state = history.load_state(session=session, decision_id=decision.id, revision=point)
            hidden = history.hidden_today(session=session, decision=decision)
            assert hidden == {1}
            gated = history.matrix_as_of(
                session=session,
                decision=decision,
                state=state,
                viewer_id=world.users["analyst-a"],
                role=Role.ANALYST,
            )
            facilitator_now = history.matrix_as_of(
                session=session,
                decision=decision,
                state=state,
                viewer_id=world.users["facilitator"],
                role=Role.FACILITATOR,
            )
        assert open_then.group_visible and open_then.totals
        assert not gated.group_visible and not gated.totals
        cell = gated.cells[(world.options[0], world.criteria[0])]
        assert cell.scores is None and cell.value is None
        assert cell.mine is not None and cell.mine.value == 2
        # No caller can forget the gate: the facilitator's view of the same point is gated too.
        assert not facilitator_now.group_visible and not facilitator_now.totals
