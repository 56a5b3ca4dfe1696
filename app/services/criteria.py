"""Criteria: add and edit name, description, weight and direction."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.db.models import Criterion, CriterionCreate, CriterionState, CriterionUpdate
from app.db.schemas import parse
from app.domain.errors import InvalidInput
from app.domain.policy import Action
from app.services import versioned
from app.services.decisions import MAX_CRITERIA, check_room
from app.services.permissions import authorize, lock_decision

KIND = "criterion"
MISSING = "That criterion does not exist in this decision."


def criterion_state(criterion: Criterion) -> dict[str, Any]:
    """What a revision records of a criterion (rebuilt by history as a ``CriterionState``)."""
    return CriterionState.model_validate(criterion).model_dump()


def list_criteria(*, session: Session, decision_id: int) -> list[Criterion]:
    stmt = select(Criterion).where(col(Criterion.decision_id) == decision_id)
    return list(session.exec(stmt.order_by(col(Criterion.position), col(Criterion.id))))


def get_criterion(
    *, session: Session, decision_id: int, criterion_id: int, for_update: bool = False
) -> Criterion:
    return versioned.load(
        session,
        Criterion,
        decision_id=decision_id,
        entity_id=criterion_id,
        missing=MISSING,
        for_update=for_update,
    )


def create_criterion(
    *, session: Session, decision_id: int, actor_id: int, data: dict[str, Any]
) -> Criterion:
    """A new criterion, up to ``MAX_CRITERIA`` per decision."""
    lock_decision(session, decision_id)
    authorize(session=session, decision=decision_id, user_id=actor_id, action=Action.EDIT_CRITERIA)
    valid, errors = parse(CriterionCreate, data)
    if errors:
        raise InvalidInput(errors)
    check_room(
        session=session,
        decision_id=decision_id,
        model=Criterion,
        limit=MAX_CRITERIA,
        field="name",
        noun="criteria",
    )
    criterion = Criterion(
        decision_id=decision_id,
        name=valid.name,
        description=valid.description,
        weight=valid.weight,
        direction=valid.direction.value,
        position=versioned.next_position(session, Criterion, decision_id),
    )
    versioned.record_created(
        session, criterion, kind=KIND, actor_id=actor_id, state=criterion_state
    )
    return criterion


def update_criterion(
    *, session: Session, decision_id: int, criterion_id: int, actor_id: int, data: dict[str, Any]
) -> Criterion:
    lock_decision(session, decision_id, shared=True)  # not while the decision is being closed
    authorize(session=session, decision=decision_id, user_id=actor_id, action=Action.EDIT_CRITERIA)
    valid, errors = parse(CriterionUpdate, data)
    if errors:
        raise InvalidInput(errors)
    criterion = get_criterion(
        session=session, decision_id=decision_id, criterion_id=criterion_id, for_update=True
    )
    submitted = {
        "name": valid.name,
        "description": valid.description,
        "weight": valid.weight,
        "direction": valid.direction.value,
    }
    versioned.check_version(
        criterion,
        valid.version,
        message=(
            "Someone else saved this criterion while you were editing it. Nothing was "
            "overwritten: review the current values and save again."
        ),
        submitted=submitted,
    )
    return _change(session, criterion, actor_id, submitted)


def set_weight(
    *, session: Session, decision_id: int, criterion_id: int, actor_id: int, weight: Any
) -> Criterion:
    """Change only the weight (the matrix's live weight controls); last write wins."""
    lock_decision(session, decision_id, shared=True)
    authorize(session=session, decision=decision_id, user_id=actor_id, action=Action.EDIT_CRITERIA)
    criterion = get_criterion(
        session=session, decision_id=decision_id, criterion_id=criterion_id, for_update=True
    )
    data = criterion_state(criterion) | {"weight": weight}
    valid, errors = parse(CriterionUpdate, data)
    if errors:
        raise InvalidInput({"weight": errors.get("weight", "Weight is not valid.")})
    return _change(session, criterion, actor_id, {"weight": valid.weight})


def _change(
    session: Session, criterion: Criterion, actor_id: int, changes: dict[str, Any]
) -> Criterion:
    versioned.change(
        session,
        criterion,
        kind=KIND,
        actor_id=actor_id,
        action="update",
        changes=changes,
        state=criterion_state,
    )
    return criterion
