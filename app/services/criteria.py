"""Criteria: add and edit name, description, weight and direction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from app.db.models import Criterion
from app.db.schemas import CriterionCreate, CriterionUpdate, parse
from app.domain.errors import Conflict, InvalidInput, NotFound
from app.services import revisions


def criterion_state(criterion: Criterion) -> dict[str, Any]:
    return {
        "name": criterion.name,
        "description": criterion.description,
        "weight": criterion.weight,
        "direction": criterion.direction,
        "position": criterion.position,
        "version": criterion.version,
    }


def list_criteria(*, session: Session, decision_id: int) -> list[Criterion]:
    stmt = select(Criterion).where(Criterion.decision_id == decision_id)
    return list(session.scalars(stmt.order_by(Criterion.position, Criterion.id)))


def get_criterion(
    *, session: Session, decision_id: int, criterion_id: int, for_update: bool = False
) -> Criterion:
    stmt = select(Criterion).where(
        Criterion.id == criterion_id, Criterion.decision_id == decision_id
    )
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    criterion = session.scalars(stmt).first()
    if criterion is None:
        raise NotFound("That criterion does not exist in this decision.")
    return criterion


def create_criterion(
    *, session: Session, decision_id: int, actor_id: int, data: dict[str, Any]
) -> Criterion:
    valid, errors = parse(CriterionCreate, data)
    if errors:
        raise InvalidInput(errors)
    position = session.scalar(
        select(func.coalesce(func.max(Criterion.position), 0)).where(
            Criterion.decision_id == decision_id
        )
    )
    criterion = Criterion(
        decision_id=decision_id,
        name=valid.name,
        description=valid.description,
        weight=valid.weight,
        direction=valid.direction.value,
        position=int(position or 0) + 1,
    )
    session.add(criterion)
    session.flush()
    revisions.record(
        session=session,
        decision_id=decision_id,
        actor_id=actor_id,
        entity="criterion",
        entity_id=criterion.id,
        criterion_id=criterion.id,
        action="create",
        before=None,
        after=criterion_state(criterion),
    )
    return criterion


def update_criterion(
    *, session: Session, decision_id: int, criterion_id: int, actor_id: int, data: dict[str, Any]
) -> Criterion:
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
    if criterion.version != valid.version:
        raise Conflict(
            "Someone else saved this criterion while you were editing it. Nothing was "
            "overwritten: review the current values and save again.",
            current=criterion,
            submitted=submitted,
        )
    return _apply(session=session, criterion=criterion, actor_id=actor_id, changes=submitted)


def set_weight(
    *, session: Session, decision_id: int, criterion_id: int, actor_id: int, weight: Any
) -> Criterion:
    """Change only the weight (the matrix's live weight controls); last write wins."""
    criterion = get_criterion(
        session=session, decision_id=decision_id, criterion_id=criterion_id, for_update=True
    )
    data = criterion_state(criterion) | {"weight": weight}
    valid, errors = parse(CriterionUpdate, data)
    if errors:
        raise InvalidInput({"weight": errors.get("weight", "Weight is not valid.")})
    return _apply(
        session=session, criterion=criterion, actor_id=actor_id, changes={"weight": valid.weight}
    )


def _apply(
    *, session: Session, criterion: Criterion, actor_id: int, changes: dict[str, Any]
) -> Criterion:
    before = criterion_state(criterion)
    if all(before[k] == v for k, v in changes.items()):
        return criterion
    for key, value in changes.items():
        setattr(criterion, key, value)
    criterion.version += 1
    session.add(criterion)
    revisions.record(
        session=session,
        decision_id=criterion.decision_id,
        actor_id=actor_id,
        entity="criterion",
        entity_id=criterion.id,
        criterion_id=criterion.id,
        action="update",
        before=before,
        after=criterion_state(criterion),
    )
    return criterion
