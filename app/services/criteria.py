"""Criteria: add and edit name, description, weight, direction and verbal anchors; retire a
criterion (out of totals and memos, kept in history) and restore it; remove one from a draft.

Every consumer of "the criteria" (matrix, group views, robustness, exports, memos) reads
:func:`list_criteria`, which gives the active criteria only; the criteria list and history
ask for retired ones explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.db.models import (
    ANCHOR_MAX,
    Comment,
    Criterion,
    CriterionCreate,
    CriterionState,
    CriterionStatus,
    CriterionUpdate,
    Decision,
    DecisionStatus,
)
from app.db.schemas import parse
from app.domain.anchors import clean_anchors
from app.domain.errors import InvalidInput, ServiceError
from app.domain.policy import Action
from app.services import versioned
from app.services.decisions import MAX_CRITERIA, check_room
from app.services.permissions import authorize, lock_decision

KIND = "criterion"
MISSING = "That criterion does not exist in this decision."


def criterion_state(criterion: Criterion) -> dict[str, Any]:
    """What a revision records of a criterion (rebuilt by history as a ``CriterionState``)."""
    return CriterionState.model_validate(criterion).model_dump()


def list_criteria(
    *, session: Session, decision_id: int, include_retired: bool = False
) -> list[Criterion]:
    """The decision's criteria in list order: the active ones (what totals, ranks, exports
    and memos count), or with ``include_retired`` every criterion still in the decision."""
    stmt = select(Criterion).where(col(Criterion.decision_id) == decision_id)
    if not include_retired:
        stmt = stmt.where(col(Criterion.status) == CriterionStatus.ACTIVE.value)
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


def _anchors(decision: Decision, direction: str, submitted: Any) -> list[str]:
    """The anchors to store (see :func:`app.domain.anchors.clean_anchors`)."""
    if isinstance(submitted, str) or not isinstance(submitted, Sequence):
        raise InvalidInput({"anchors": "Anchors must be a list of texts, one per scale point."})
    if not all(isinstance(text, str) for text in submitted):
        raise InvalidInput({"anchors": "Anchors must be a list of texts, one per scale point."})
    return clean_anchors(
        direction, decision.scale_min, decision.scale_max, submitted, max_length=ANCHOR_MAX
    )


def _parse(
    model: type[CriterionCreate], data: dict[str, Any], decision: Decision
) -> tuple[Any, list[str] | None]:
    """The validated input and the anchors to store (None: none were sent); every field's
    error at once, nothing written."""
    valid, errors = parse(model, data)
    anchors = None
    if "anchors" in data:
        direction = valid.direction.value if valid is not None else str(data.get("direction"))
        try:
            anchors = _anchors(decision, direction, data["anchors"])
        except InvalidInput as exc:
            errors = (errors or {}) | exc.errors
    if errors:
        raise InvalidInput(errors)
    return valid, anchors


def create_criterion(
    *, session: Session, decision_id: int, actor_id: int, data: dict[str, Any]
) -> Criterion:
    """A new criterion, up to ``MAX_CRITERIA`` per decision. ``data["anchors"]``, if given,
    holds one verbal anchor per scale point (lowest first)."""
    decision = lock_decision(session, decision_id)
    authorize(session=session, decision=decision, user_id=actor_id, action=Action.EDIT_CRITERIA)
    valid, anchors = _parse(CriterionCreate, data, decision)
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
        anchors=anchors or [],
        position=versioned.next_position(session, Criterion, decision_id),
    )
    versioned.record_created(
        session, criterion, kind=KIND, actor_id=actor_id, state=criterion_state
    )
    return criterion


def update_criterion(
    *, session: Session, decision_id: int, criterion_id: int, actor_id: int, data: dict[str, Any]
) -> Criterion:
    """Name, description, weight, direction and (when ``data`` holds them) the verbal
    anchors, from the version the editor started from."""
    # Shared: not while the decision is being closed or its scale changed.
    decision = lock_decision(session, decision_id, shared=True)
    authorize(session=session, decision=decision, user_id=actor_id, action=Action.EDIT_CRITERIA)
    valid, anchors = _parse(CriterionUpdate, data, decision)
    criterion = get_criterion(
        session=session, decision_id=decision_id, criterion_id=criterion_id, for_update=True
    )
    submitted = {
        "name": valid.name,
        "description": valid.description,
        "weight": valid.weight,
        "direction": valid.direction.value,
    }
    if anchors is not None:
        submitted["anchors"] = anchors
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
    if criterion.status != CriterionStatus.ACTIVE.value:
        raise ServiceError(
            f"“{criterion.name}” is retired; restore it before changing its weight.", status=409
        )
    data = criterion_state(criterion) | {"weight": weight}
    valid, errors = parse(CriterionUpdate, data)
    if errors:
        raise InvalidInput({"weight": errors.get("weight", "Weight is not valid.")})
    return _change(session, criterion, actor_id, {"weight": valid.weight})


def retire_criterion(
    *, session: Session, decision_id: int, criterion_id: int, actor_id: int
) -> Criterion:
    """Take the criterion out of totals, rankings, exports and memos; its scores and
    revisions stay in history and :func:`restore_criterion` brings it back."""
    lock_decision(session, decision_id, shared=True)
    authorize(session=session, decision=decision_id, user_id=actor_id, action=Action.EDIT_CRITERIA)
    criterion = get_criterion(
        session=session, decision_id=decision_id, criterion_id=criterion_id, for_update=True
    )
    if criterion.status == CriterionStatus.RETIRED.value:
        raise ServiceError(f"“{criterion.name}” is already retired.", status=409)
    status = CriterionStatus.RETIRED.value
    return _change(session, criterion, actor_id, {"status": status}, action="retire")


def restore_criterion(
    *, session: Session, decision_id: int, criterion_id: int, actor_id: int
) -> Criterion:
    """Bring a retired criterion back into totals and memos, with its weight and scores."""
    lock_decision(session, decision_id, shared=True)
    authorize(session=session, decision=decision_id, user_id=actor_id, action=Action.EDIT_CRITERIA)
    criterion = get_criterion(
        session=session, decision_id=decision_id, criterion_id=criterion_id, for_update=True
    )
    if criterion.status != CriterionStatus.RETIRED.value:
        raise ServiceError(f"“{criterion.name}” is not retired.", status=409)
    status = CriterionStatus.ACTIVE.value
    return _change(session, criterion, actor_id, {"status": status}, action="restore")


def delete_criterion(
    *, session: Session, decision_id: int, criterion_id: int, actor_id: int
) -> str:
    """Remove a criterion from a draft decision (its scores, if any, go with it; its
    revisions stay and a "delete" revision records what it was). Once scoring has started a
    criterion can only be retired. Returns the removed criterion's name."""
    decision = lock_decision(session, decision_id)
    authorize(session=session, decision=decision, user_id=actor_id, action=Action.EDIT_CRITERIA)
    criterion = get_criterion(
        session=session, decision_id=decision_id, criterion_id=criterion_id, for_update=True
    )
    if decision.status != DecisionStatus.DRAFT.value:
        raise ServiceError(
            f"Scoring has started, so “{criterion.name}” cannot be removed. Retire it instead: "
            "it leaves totals and the memo, its scores stay in history, and it can be restored.",
            status=409,
        )
    comments = session.scalar(
        select(func.count()).select_from(Comment).where(col(Comment.criterion_id) == criterion.id)
    )
    if comments:
        raise ServiceError(
            f"“{criterion.name}” has comments in its discussion, which stay in history; "
            "retire it instead of removing it.",
            status=409,
        )
    name = criterion.name
    versioned.delete(session, criterion, kind=KIND, actor_id=actor_id, state=criterion_state)
    return name


def _change(
    session: Session,
    criterion: Criterion,
    actor_id: int,
    changes: dict[str, Any],
    *,
    action: str = "update",
) -> Criterion:
    versioned.change(
        session,
        criterion,
        kind=KIND,
        actor_id=actor_id,
        action=action,
        changes=changes,
        state=criterion_state,
    )
    return criterion
