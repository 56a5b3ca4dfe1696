"""The decision as it stood after any revision, rebuilt from revisions alone, and the matrix
of that moment.

Each revision stores the full state of its entity after the change (``after``), so the
decision as it stood after revision *N* is the latest revision of every entity with
``id <= N`` — picked in SQL, not replayed in Python. :func:`matrix_as_of` turns that state
into the same :class:`~app.services.matrix.Matrix` view model the live page renders,
computed exactly as :func:`~app.services.matrix.build_matrix` computes it, and never shows
more than the live matrix: rounds that are blind and unrevealed today stay hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.db.models import (
    Criterion,
    CriterionState,
    Decision,
    DecisionSettings,
    Member,
    Option,
    OptionState,
    OptionStatus,
    Revision,
    Role,
    Round,
    User,
)
from app.domain import visibility
from app.domain.errors import NotFound
from app.domain.vocabulary import CriterionStatus
from app.services.matrix import Matrix, Method, assemble_matrix

STATE_ENTITIES = ("decision", "member", "option", "criterion", "score")

ScoreKey = tuple[int, int, int, int]  # (round, option, criterion, analyst)


def decision_id_of(decision: Decision) -> int:
    """The id of a stored decision."""
    assert decision.id is not None, "decision not stored yet"
    return decision.id


def hidden_today(*, session: Session, decision: Decision) -> frozenset[int]:
    """Numbers of the decision's rounds that are blind and unrevealed now."""
    rounds = session.exec(select(Round).where(col(Round.decision_id) == decision.id))
    return visibility.hidden_rounds(decision.scoring_mode, rounds)


@dataclass
class PastScore:
    """A score as it stood (same attributes the matrix templates read from a Score row)."""

    option_id: int
    criterion_id: int
    analyst_id: int
    value: float | None
    not_applicable: bool
    rationale: str


@dataclass
class RoundState:
    number: int
    opened_at: datetime
    revealed_at: datetime | None = None


@dataclass
class DecisionState:
    """Everything the matrix needs, as it stood after revision ``revision``."""

    decision_id: int
    revision: int
    at: datetime
    decision: dict[str, Any]
    created_by: int | None
    members: dict[int, str]
    member_order: dict[int, int]
    options: dict[int, dict[str, Any]]
    criteria: dict[int, dict[str, Any]]
    scores: dict[ScoreKey, dict[str, Any]]
    rounds: dict[int, RoundState]
    done: set[tuple[int, int]]


@dataclass(frozen=True)
class _Latest:
    """The latest revision of one entity up to the point: its id and recorded state."""

    id: int
    entity: str
    entity_id: str
    after: dict[str, Any] | None


@dataclass(frozen=True)
class _RoundEvent:
    """An "open", "reveal", "done" or "undone" revision of a round."""

    id: int
    action: str
    number: int
    at: datetime
    after: dict[str, Any] | None


# --------------------------------------------------------------------------------------------
# Points in the history
# --------------------------------------------------------------------------------------------


def latest_revision_id(
    *, session: Session, decision_id: int, at_most: int | None = None
) -> int | None:
    stmt = select(func.max(col(Revision.id))).where(col(Revision.decision_id) == decision_id)
    if at_most is not None:
        stmt = stmt.where(col(Revision.id) <= at_most)
    value = session.exec(stmt).one()
    return int(value) if value is not None else None


def revision_at(*, session: Session, decision_id: int, when: datetime) -> int | None:
    """The latest revision recorded at or before ``when`` (UTC if naive)."""
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    value = session.exec(
        select(col(Revision.id))
        .where(col(Revision.decision_id) == decision_id, col(Revision.created_at) <= when)
        .order_by(col(Revision.created_at).desc(), col(Revision.id).desc())
        .limit(1)
    ).first()
    return int(value) if value is not None else None


# --------------------------------------------------------------------------------------------
# The decision as of a revision, from revisions alone
# --------------------------------------------------------------------------------------------


def _latest_ids(decision_id: int, last: int) -> SelectOfScalar[int]:
    """Ids of the latest revision ≤ ``last`` of every decision, member, option, criterion and
    score: one pass over ix_revision_entity (decision_id, entity, entity_id, id), without
    touching the table."""
    return (
        select(func.max(col(Revision.id)))
        .where(
            col(Revision.decision_id) == decision_id,
            col(Revision.id) <= last,
            col(Revision.entity).in_(STATE_ENTITIES),
        )
        .group_by(col(Revision.entity), col(Revision.entity_id))
    )


def _latest(session: Session, decision_id: int, last: int) -> list[_Latest]:
    rows = session.exec(
        select(
            col(Revision.id), col(Revision.entity), col(Revision.entity_id), col(Revision.after)
        ).where(col(Revision.id).in_(_latest_ids(decision_id, last)))
    )
    return [_Latest(rid, entity, eid, after) for rid, entity, eid, after in rows if rid is not None]


def _round_events(session: Session, decision_id: int, last: int) -> list[_RoundEvent]:
    rows = session.exec(
        select(Revision)
        .where(
            col(Revision.decision_id) == decision_id,
            col(Revision.entity) == "round",
            col(Revision.id) <= last,
        )
        .order_by(col(Revision.id))
    )
    return [
        _RoundEvent(r.id, r.action, r.round_number, r.created_at, r.after)
        for r in rows
        if r.id is not None and r.round_number is not None
    ]


def _member_firsts(session: Session, decision_id: int, last: int) -> dict[str, int]:
    """Member user id (as recorded) → their first revision: members are listed in the order
    they joined."""
    rows = session.exec(
        select(col(Revision.entity_id), func.min(col(Revision.id)))
        .where(
            col(Revision.decision_id) == decision_id,
            col(Revision.entity) == "member",
            col(Revision.id) <= last,
        )
        .group_by(col(Revision.entity_id))
    )
    return {entity_id: int(first) for entity_id, first in rows if first is not None}


def _creation(session: Session, decision_id: int) -> tuple[int | None, datetime | None]:
    """Who created the decision and when (None, None if not recorded)."""
    row = session.exec(
        select(col(Revision.actor_id), col(Revision.created_at)).where(
            col(Revision.decision_id) == decision_id,
            col(Revision.entity) == "decision",
            col(Revision.action) == "create",
        )
    ).first()
    return (row[0], row[1]) if row is not None else (None, None)


def _replay_rounds(state: DecisionState, events: Sequence[_RoundEvent], decision_rev: int) -> None:
    """Rounds from their few "open", "reveal" and "done" revisions. Opening a round reveals
    the previous one and records the decision's new settings."""
    for event in events:
        number = event.number
        if event.action == "open":
            state.rounds[number] = RoundState(number, event.at)
            previous = state.rounds.get(number - 1)
            if previous is not None and previous.revealed_at is None:
                previous.revealed_at = event.at
            if event.after and event.id > decision_rev:
                state.decision, decision_rev = dict(event.after), event.id
        elif event.action == "reveal":
            round_state = state.rounds.setdefault(number, RoundState(number, event.at))
            if round_state.revealed_at is None:
                round_state.revealed_at = event.at
        elif event.action in ("done", "undone") and event.after:
            key = (number, int(event.after.get("analyst_id", 0)))
            if event.action == "done":
                state.done.add(key)
            else:
                state.done.discard(key)


def load_state(*, session: Session, decision_id: int, revision: int) -> DecisionState:
    """The decision after revision ``revision``, from revisions alone: the latest revision of
    each entity up to there holds its state (picked in SQL, see :func:`_latest_ids`); rounds
    are replayed from their few "open", "reveal" and "done" revisions. Raises NotFound when
    nothing of the decision had been recorded by then.
    """
    last = latest_revision_id(session=session, decision_id=decision_id, at_most=revision)
    if last is None:
        raise NotFound("Nothing had been recorded in this decision by that point.")
    member_firsts = _member_firsts(session, decision_id, last)
    created_by, created_at = _creation(session, decision_id)
    at = session.exec(select(col(Revision.created_at)).where(col(Revision.id) == last)).one()
    state = DecisionState(
        decision_id=decision_id,
        revision=last,
        at=at,
        decision={},
        created_by=created_by,
        members={},
        member_order={},
        options={},
        criteria={},
        scores={},
        rounds={1: RoundState(1, created_at or at)},
        done=set(),
    )
    decision_rev = 0
    recorded_members: set[int] = set()  # with a membership revision (removals included)
    for row in _latest(session, decision_id, last):
        after = row.after
        if row.entity == "member" and row.entity_id.isdigit():
            recorded_members.add(int(row.entity_id))
        if after is None:
            continue
        if row.entity == "decision":
            state.decision, decision_rev = dict(after), row.id
        elif row.entity == "member":
            state.members[int(row.entity_id)] = str(after.get("role"))
            state.member_order[int(row.entity_id)] = member_firsts.get(row.entity_id, row.id)
        elif row.entity == "option":
            state.options[int(row.entity_id)] = dict(after)
        elif row.entity == "criterion":
            state.criteria[int(row.entity_id)] = dict(after)
        elif row.entity == "score":
            r, o, c, a = (int(part) for part in row.entity_id.split(":"))
            state.scores[(r, o, c, a)] = dict(after)
    # The decision's creator joined as its first facilitator, before anyone else (no member
    # revision records that; a later role change or removal does).
    if created_by is not None and created_by not in recorded_members:
        state.members.setdefault(created_by, Role.FACILITATOR.value)
        state.member_order[created_by] = 0
    _replay_rounds(state, _round_events(session, decision_id, last), decision_rev)
    return state


# --------------------------------------------------------------------------------------------
# Rows as they stood
# --------------------------------------------------------------------------------------------


def _decision_from(state: DecisionState, live: Decision) -> Decision:
    """The decision's settings as they stood (each revision records ``DecisionSettings``)."""
    settings = DecisionSettings.model_validate(
        DecisionSettings.model_validate(live).model_dump()
        # Revisions written before the missing-score policy existed: it was "skip".
        | {"current_round": 1, "missing_policy": "skip"}
        | state.decision
    )
    return Decision(id=state.decision_id, created_by=state.created_by, **settings.model_dump())


def _list_order(row: Option | Criterion) -> tuple[int, int]:
    return (row.position, row.id or 0)


def state_options(state: DecisionState, *, include_withdrawn: bool = True) -> list[Option]:
    """The options as they stood, in list order (position, id), as unsaved Option objects
    rebuilt from what their revisions record (``OptionState``)."""
    options = [
        Option(id=oid, decision_id=state.decision_id, **OptionState.model_validate(s).model_dump())
        for oid, s in state.options.items()
    ]
    if not include_withdrawn:
        options = [o for o in options if o.status == OptionStatus.ACTIVE.value]
    return sorted(options, key=_list_order)


def state_criteria(state: DecisionState, *, include_retired: bool = False) -> list[Criterion]:
    """The criteria as they stood, in list order (position, id), rebuilt from what their
    revisions record (``CriterionState``). Criteria retired at that moment are left out (as
    they are out of the totals) unless ``include_retired``; a recorded state without a
    status is an active criterion."""
    criteria = [
        Criterion(
            id=cid, decision_id=state.decision_id, **CriterionState.model_validate(s).model_dump()
        )
        for cid, s in state.criteria.items()
        if include_retired
        or s.get("status", CriterionStatus.ACTIVE.value) != CriterionStatus.RETIRED
    ]
    return sorted(criteria, key=_list_order)


def _past_scores(state: DecisionState, number: int) -> list[PastScore]:
    return [
        PastScore(
            option_id=o,
            criterion_id=c,
            analyst_id=a,
            value=s.get("value"),
            not_applicable=bool(s.get("not_applicable")),
            rationale=s.get("rationale") or "",
        )
        for (r, o, c, a), s in state.scores.items()
        if r == number
    ]


def _members(session: Session, state: DecisionState, decision_id: int) -> list[tuple[Member, User]]:
    """The members as they stood, in the order they joined, with their user rows."""
    member_ids = sorted(state.members, key=lambda uid: (state.member_order.get(uid, 0), uid))
    users = {
        u.id: u for u in session.exec(select(User).where(col(User.id).in_(member_ids or [-1])))
    }
    return [
        (Member(decision_id=decision_id, user_id=uid, role=state.members[uid]), users[uid])
        for uid in member_ids
        if uid in users
    ]


# --------------------------------------------------------------------------------------------
# The matrix as of a revision
# --------------------------------------------------------------------------------------------


def matrix_as_of(
    *,
    session: Session,
    decision: Decision,
    state: DecisionState,
    viewer_id: int,
    role: Role,
    round_number: int | None = None,
    method: Method | None = None,
) -> Matrix:
    """The matrix as :func:`~app.services.matrix.build_matrix` showed it after the revision.

    Read-only (``can_score`` is False). Rounds that are blind and unrevealed today keep their
    group values and other analysts' scores hidden even where they were visible at the time,
    so history never shows more than the live matrix.
    """
    decision_id = decision_id_of(decision)
    hidden_now = hidden_today(session=session, decision=decision)
    past = _decision_from(state, decision)
    rounds = [
        Round(
            decision_id=decision_id,
            number=r.number,
            opened_at=r.opened_at,
            revealed_at=r.revealed_at,
        )
        for r in sorted(state.rounds.values(), key=lambda r: r.number)
    ]
    number = round_number or past.current_round
    round_ = next((r for r in rounds if r.number == number), None)
    if round_ is None:
        raise NotFound(f"Round {number} did not exist at that point.")

    def visible(r: Round) -> bool:
        return visibility.group_visible(past, r) and r.number not in hidden_now

    previous = next((r for r in rounds if r.number == number - 1), None)
    return assemble_matrix(
        decision=past,
        viewer_id=viewer_id,
        role=role,
        round_=round_,
        rounds=rounds,
        method=method,
        visible=visible(round_),
        options=state_options(state, include_withdrawn=False),
        criteria=state_criteria(state),
        members=_members(session, state, decision_id),
        scores=_past_scores(state, number),
        done_ids={a for r, a in state.done if r == number},
        previous_scores=(
            _past_scores(state, number - 1) if previous is not None and visible(previous) else None
        ),
        revision=state.revision,
        can_score=False,
    )


def matrix_at(
    *,
    session: Session,
    decision: Decision,
    revision: int,
    viewer_id: int,
    role: Role,
    round_number: int | None = None,
    method: Method | None = None,
) -> tuple[DecisionState, Matrix]:
    """The decision as it stood after ``revision`` and its matrix as the viewer may see it."""
    state = load_state(session=session, decision_id=decision_id_of(decision), revision=revision)
    matrix = matrix_as_of(
        session=session,
        decision=decision,
        state=state,
        viewer_id=viewer_id,
        role=role,
        round_number=round_number,
        method=method,
    )
    return state, matrix
