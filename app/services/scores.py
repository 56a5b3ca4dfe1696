"""Scoring: one analyst's score for one cell, marking a round done, rounds and reveal."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from app.db.models import (
    RATIONALE_MAX,
    Criterion,
    Decision,
    DecisionStatus,
    Member,
    MissingPolicy,
    Option,
    OptionStatus,
    Role,
    Round,
    RoundCompletion,
    Score,
    ScoringMode,
    utcnow,
)
from app.domain.errors import InvalidInput, NotFound, ServiceError
from app.domain.policy import Action
from app.domain.vocabulary import CriterionStatus
from app.services import audit, notifications, revisions
from app.services.decisions import decision_state, record_decision_update
from app.services.permissions import authorize, lock_decision

NOT_APPLICABLE = "na"


def score_state(score: Score | None) -> dict[str, Any] | None:
    if score is None:
        return None
    return {
        "analyst_id": score.analyst_id,
        "value": score.value,
        "not_applicable": score.not_applicable,
        "rationale": score.rationale,
    }


def score_entity_id(round_number: int, option_id: int, criterion_id: int, analyst_id: int) -> str:
    return f"{round_number}:{option_id}:{criterion_id}:{analyst_id}"


def get_round(*, session: Session, decision_id: int, number: int) -> Round:
    round_ = session.scalar(
        select(Round)
        .where(col(Round.decision_id) == decision_id, col(Round.number) == number)
        .execution_options(populate_existing=True)
    )
    if round_ is None:
        raise NotFound(f"Round {number} does not exist.")
    return round_


def parse_value(raw: str | None, decision: Decision) -> tuple[float | None, bool]:
    """``""`` clears the cell, ``"na"`` marks it N/A, a number must lie on the scale."""
    text = (raw or "").strip().lower()
    if text == "":
        return None, False
    if text in {NOT_APPLICABLE, "n/a"}:
        return None, True
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(
            {"value": "Score must be a number on the scale, N/A or empty."}
        ) from None
    if not math.isfinite(value) or not decision.scale_min <= value <= decision.scale_max:
        raise InvalidInput(
            {"value": f"Score must be between {decision.scale_min} and {decision.scale_max}."}
        )
    return value, False


def save_score(
    *,
    session: Session,
    decision: Decision,
    analyst_id: int,
    option_id: int,
    criterion_id: int,
    value: str | None = None,
    rationale: str | None = None,
) -> Score:
    """Set the analyst's value and/or rationale for one cell in the current round.

    ``value=None`` leaves the value alone (rationale-only save) and vice versa. The decision
    is locked first, so a round opened, a reveal or a closing at the same moment either
    happened before (and the score lands in the new round or is refused) or waits for it.
    Saves share the lock: they do not wait for each other.
    """
    decision = lock_for_scoring(session, decision, analyst_id)
    check_cell(session, decision, option_id, criterion_id)
    if rationale is not None:
        rationale = rationale.strip()
        if len(rationale) > RATIONALE_MAX:
            raise InvalidInput(
                {"rationale": f"Rationale must be at most {RATIONALE_MAX} characters."}
            )
    new_value = parse_value(value, decision) if value is not None else None
    round_ = get_round(session=session, decision_id=decision.id, number=decision.current_round)

    key = {
        "round_id": round_.id,
        "option_id": option_id,
        "criterion_id": criterion_id,
        "analyst_id": analyst_id,
    }
    score = locked_score(session, **key)
    before = score_state(score)
    if score is None:
        wanted: dict[str, Any] = {"value": None, "not_applicable": False, "rationale": ""}
        if new_value is not None:
            wanted["value"], wanted["not_applicable"] = new_value
        if rationale is not None:
            wanted["rationale"] = rationale
        if wanted == {"value": None, "not_applicable": False, "rationale": ""}:
            # Clearing a cell that was never scored: nothing to record.
            return Score(
                round_id=round_.id,
                option_id=option_id,
                criterion_id=criterion_id,
                analyst_id=analyst_id,
            )
        if _insert_if_absent(session, key | wanted | {"updated_at": utcnow()}):
            score = locked_score(session, **key)
            assert score is not None
            record_score(session, decision, round_, score, before=None)
            return score
        # The same analyst's other request created the cell a moment ago: update it.
        score = locked_score(session, **key)
        assert score is not None
        before = score_state(score)
    if new_value is not None:
        score.value, score.not_applicable = new_value
    if rationale is not None:
        score.rationale = rationale
    if score_state(score) == before:
        return score
    score.updated_at = utcnow()
    session.add(score)
    record_score(session, decision, round_, score, before=before)
    return score


def lock_for_scoring(session: Session, decision: Decision, analyst_id: int) -> Decision:
    """Lock the decision (shared: saves do not wait for each other) and check the analyst may
    score in it now."""
    decision = lock_decision(session, decision, shared=True)
    if decision.status == DecisionStatus.CLOSED.value:
        raise ServiceError("This decision is closed; scores can no longer change.")
    if decision.status == DecisionStatus.DRAFT.value:
        raise ServiceError(
            "Scoring has not started: the decision is a draft. The facilitator starts scoring "
            "by setting its status to scoring."
        )
    authorize(session=session, decision=decision, user_id=analyst_id, action=Action.SCORE)
    return decision


def check_cell(session: Session, decision: Decision, option_id: int, criterion_id: int) -> None:
    """The cell exists in the decision and may be scored: an active option, an active criterion."""
    option = session.get(Option, option_id)
    criterion = session.get(Criterion, criterion_id)
    if option is None or option.decision_id != decision.id:
        raise NotFound("That option does not exist in this decision.")
    if criterion is None or criterion.decision_id != decision.id:
        raise NotFound("That criterion does not exist in this decision.")
    if option.status != OptionStatus.ACTIVE.value:
        raise InvalidInput({"option_id": "That option is withdrawn and cannot be scored."})
    if criterion.status == CriterionStatus.RETIRED.value:
        raise InvalidInput(
            {"criterion_id": f"The criterion “{criterion.name}” is retired and cannot be scored."}
        )


def _insert_if_absent(session: Session, row: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when this call created the row."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Score).values(**row).on_conflict_do_nothing().returning(col(Score.round_id))
    return session.execute(statement).first() is not None


def record_score(
    session: Session,
    decision: Decision,
    round_: Round,
    score: Score,
    *,
    before: dict[str, Any] | None,
) -> None:
    revisions.record(
        session=session,
        decision_id=decision.id,
        actor_id=score.analyst_id,
        entity="score",
        entity_id=score_entity_id(
            round_.number, score.option_id, score.criterion_id, score.analyst_id
        ),
        action="create" if before is None else "update",
        option_id=score.option_id,
        criterion_id=score.criterion_id,
        round_number=round_.number,
        before=before,
        after=score_state(score),
    )


def locked_score(
    session: Session, *, round_id: int, option_id: int, criterion_id: int, analyst_id: int
) -> Score | None:
    return session.scalar(
        select(Score)
        .where(
            col(Score.round_id) == round_id,
            col(Score.option_id) == option_id,
            col(Score.criterion_id) == criterion_id,
            col(Score.analyst_id) == analyst_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def set_done(*, session: Session, decision: Decision, analyst_id: int, done: bool) -> None:
    """Mark (or unmark) the analyst's scoring of the current round done; repeating it is a
    no-op, also when requests arrive together (the decision is locked first)."""
    decision = lock_decision(session, decision)
    authorize(session=session, decision=decision, user_id=analyst_id, action=Action.MARK_DONE)
    round_ = get_round(session=session, decision_id=decision.id, number=decision.current_round)
    existing = session.get(RoundCompletion, (round_.id, analyst_id), populate_existing=True)
    if done == (existing is not None):
        return
    if done:
        session.add(RoundCompletion(round_id=round_.id, analyst_id=analyst_id))
    else:
        session.delete(existing)
    revisions.record(
        session=session,
        decision_id=decision.id,
        actor_id=analyst_id,
        entity="round",
        entity_id=round_.number,
        action="done" if done else "undone",
        round_number=round_.number,
        before=None,
        after={"analyst_id": analyst_id, "done": done},
    )


def reveal_round(*, session: Session, decision: Decision, actor_id: int) -> Round:
    """Reveal the current round (once: a second request, even a simultaneous one, is refused)."""
    decision = lock_decision(session, decision)
    authorize(session=session, decision=decision, user_id=actor_id, action=Action.REVEAL_ROUND)
    round_ = get_round(session=session, decision_id=decision.id, number=decision.current_round)
    if round_.revealed_at is not None:
        raise ServiceError(f"Round {round_.number} is already revealed.")
    round_.revealed_at = utcnow()
    round_.revealed_by = actor_id
    session.add(round_)
    revisions.record(
        session=session,
        decision_id=decision.id,
        actor_id=actor_id,
        entity="round",
        entity_id=round_.number,
        action="reveal",
        round_number=round_.number,
        before={"revealed": False},
        after={"revealed": True},
    )
    audit.record(
        session=session,
        kind=audit.Kind.ROUND_REVEALED,
        actor_id=actor_id,
        decision_id=decision.id,
        details={"round": round_.number},
    )
    notifications.round_revealed(session, decision.id, round_.number, actor_id=actor_id)
    return round_


def open_next_round(
    *, session: Session, decision: Decision, actor_id: int, expected_round: int | None = None
) -> Round:
    """Delphi style: a new round where every analyst starts from their previous scores.

    ``expected_round`` is the round the facilitator saw; if another request has opened a
    round since (a double submit), nothing happens twice: the call is refused.
    """
    decision = lock_decision(session, decision)
    authorize(session=session, decision=decision, user_id=actor_id, action=Action.OPEN_ROUND)
    if expected_round is not None and expected_round != decision.current_round:
        raise ServiceError(
            f"Round {decision.current_round} is already open; refresh the page.", status=409
        )
    if decision.status == DecisionStatus.CLOSED.value:
        raise ServiceError("This decision is closed.")
    current = get_round(session=session, decision_id=decision.id, number=decision.current_round)
    if decision.scoring_mode == ScoringMode.BLIND.value and current.revealed_at is None:
        raise ServiceError("Reveal the current round before opening the next one.")
    if current.revealed_at is None:
        current.revealed_at = utcnow()
        current.revealed_by = actor_id
        session.add(current)
    before = decision_state(decision)
    new_round = Round(decision_id=decision.id, number=current.number + 1, opened_by=actor_id)
    session.add(new_round)
    decision.current_round = new_round.number
    session.add(decision)
    session.flush()
    # Each current analyst starts from their own previous scores (a removed member's scores
    # stay in the earlier round and its history, and are not carried into the new one).
    analysts = select(col(Member.user_id)).where(
        col(Member.decision_id) == decision.id, col(Member.role) == Role.ANALYST.value
    )
    previous = session.scalars(
        select(Score).where(col(Score.round_id) == current.id, col(Score.analyst_id).in_(analysts))
    ).all()
    for old in previous:
        copy = Score(
            round_id=new_round.id,
            option_id=old.option_id,
            criterion_id=old.criterion_id,
            analyst_id=old.analyst_id,
            value=old.value,
            not_applicable=old.not_applicable,
            rationale=old.rationale,
        )
        session.add(copy)
        revisions.record(
            session=session,
            decision_id=decision.id,
            actor_id=actor_id,
            entity="score",
            entity_id=score_entity_id(
                new_round.number, old.option_id, old.criterion_id, old.analyst_id
            ),
            action="create",
            option_id=old.option_id,
            criterion_id=old.criterion_id,
            round_number=new_round.number,
            before=None,
            after=score_state(copy),
        )
    revisions.record(
        session=session,
        decision_id=decision.id,
        actor_id=actor_id,
        entity="round",
        entity_id=new_round.number,
        action="open",
        round_number=new_round.number,
        before=before,
        after=decision_state(decision),
    )
    audit.record(
        session=session,
        kind=audit.Kind.ROUND_OPENED,
        actor_id=actor_id,
        decision_id=decision.id,
        details={"round": new_round.number},
    )
    notifications.round_opened(session, decision.id, new_round.number, actor_id=actor_id)
    return new_round


SETTINGS = {
    "scoring_mode": {m.value for m in ScoringMode},
    "aggregation": {"mean", "median"},
    "missing_policy": {p.value for p in MissingPolicy},
    "status": {s.value for s in DecisionStatus},
}


def update_settings(
    *, session: Session, decision: Decision, actor_id: int, data: dict[str, Any]
) -> Decision:
    """Scoring mode (open/blind), default group value (mean/median), missing-score policy
    (skip/midpoint/worst) and status; recorded as one revision of the decision's settings."""
    decision = lock_decision(session, decision)
    authorize(session=session, decision=decision, user_id=actor_id, action=Action.CHANGE_SETTINGS)
    errors = {
        key: f"{key.replace('_', ' ').capitalize()} must be one of {', '.join(sorted(allowed))}."
        for key, allowed in SETTINGS.items()
        if key in data and data[key] not in allowed
    }
    if errors:
        raise InvalidInput(errors)
    if (
        data.get("scoring_mode") == ScoringMode.OPEN.value
        and decision.scoring_mode == ScoringMode.BLIND.value
    ):
        # Opening a blind round shows everyone's scores: that is a reveal, and is recorded
        # as one (switching back to blind later cannot hide the round again).
        current = get_round(session=session, decision_id=decision.id, number=decision.current_round)
        if current.revealed_at is None:
            reveal_round(session=session, decision=decision, actor_id=actor_id)
    before = decision_state(decision)
    for key in SETTINGS:
        if key in data:
            setattr(decision, key, data[key])
    record_decision_update(session=session, decision=decision, actor_id=actor_id, before=before)
    return decision
