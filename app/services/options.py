"""Options: propose, edit (with a version check), withdraw and restore. Never deleted."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.db.models import Option, OptionCreate, OptionState, OptionStatus, OptionUpdate
from app.db.schemas import parse
from app.domain.errors import InvalidInput
from app.domain.policy import Action
from app.services import versioned
from app.services.decisions import MAX_OPTIONS, check_room
from app.services.permissions import authorize, lock_decision

KIND = "option"
MISSING = "That option does not exist in this decision."


def option_state(option: Option) -> dict[str, Any]:
    """What a revision records of an option (rebuilt by history as an ``OptionState``)."""
    return OptionState.model_validate(option).model_dump()


def get_option(
    *, session: Session, decision_id: int, option_id: int, for_update: bool = False
) -> Option:
    return versioned.load(
        session,
        Option,
        decision_id=decision_id,
        entity_id=option_id,
        missing=MISSING,
        for_update=for_update,
    )


def list_options(
    *, session: Session, decision_id: int, include_withdrawn: bool = True
) -> list[Option]:
    stmt = select(Option).where(col(Option.decision_id) == decision_id)
    if not include_withdrawn:
        stmt = stmt.where(col(Option.status) == OptionStatus.ACTIVE.value)
    return list(session.exec(stmt.order_by(col(Option.position), col(Option.id))))


def create_option(
    *, session: Session, decision_id: int, actor_id: int, data: dict[str, Any]
) -> Option:
    """A new option, up to ``MAX_OPTIONS`` per decision (withdrawn ones count)."""
    lock_decision(session, decision_id)
    authorize(session=session, decision=decision_id, user_id=actor_id, action=Action.PROPOSE_OPTION)
    valid, errors = parse(OptionCreate, data)
    if errors:
        raise InvalidInput(errors)
    check_room(
        session=session,
        decision_id=decision_id,
        model=Option,
        limit=MAX_OPTIONS,
        field="title",
        noun="options (withdrawn ones included)",
    )
    option = Option(
        decision_id=decision_id,
        title=valid.title,
        summary=valid.summary,
        description=valid.description,
        position=versioned.next_position(session, Option, decision_id),
        created_by=actor_id,
    )
    versioned.record_created(session, option, kind=KIND, actor_id=actor_id, state=option_state)
    return option


def update_option(
    *, session: Session, decision_id: int, option_id: int, actor_id: int, data: dict[str, Any]
) -> Option:
    """Save an edit made from ``data['version']``; a newer stored version raises Conflict."""
    lock_decision(session, decision_id, shared=True)  # not while the decision is being closed
    option = get_option(session=session, decision_id=decision_id, option_id=option_id)
    authorize(
        session=session,
        decision=decision_id,
        user_id=actor_id,
        action=Action.EDIT_OPTION,
        is_author=option.created_by == actor_id,
    )
    valid, errors = parse(OptionUpdate, data)
    if errors:
        raise InvalidInput(errors)
    option = get_option(
        session=session, decision_id=decision_id, option_id=option_id, for_update=True
    )
    submitted = {"title": valid.title, "summary": valid.summary, "description": valid.description}
    versioned.check_version(
        option,
        valid.version,
        message=(
            "Someone else saved this option while you were editing it. "
            "Nothing was overwritten: compare both texts below and save again."
        ),
        submitted=submitted,
    )
    return _change(session, option, actor_id, "update", submitted)


def set_status(
    *,
    session: Session,
    decision_id: int,
    option_id: int,
    actor_id: int,
    status: OptionStatus,
    action: str | None = None,
) -> Option:
    """Withdraw or restore; the decision is locked so no score lands on an option being
    withdrawn at the same moment."""
    lock_decision(session, decision_id)
    authorize(
        session=session, decision=decision_id, user_id=actor_id, action=Action.WITHDRAW_OPTION
    )
    option = get_option(
        session=session, decision_id=decision_id, option_id=option_id, for_update=True
    )
    action = action or ("withdraw" if status == OptionStatus.WITHDRAWN else "restore")
    return _change(session, option, actor_id, action, {"status": status.value})


def restore_text(
    *, session: Session, decision_id: int, option_id: int, actor_id: int, state: dict[str, Any]
) -> Option:
    """Bring back an earlier title/summary/description as a new revision (nothing rewritten)."""
    lock_decision(session, decision_id, shared=True)
    authorize(
        session=session,
        decision=decision_id,
        user_id=actor_id,
        action=Action.RESTORE_OPTION_TEXT,
    )
    option = get_option(
        session=session, decision_id=decision_id, option_id=option_id, for_update=True
    )
    texts = {
        key: state.get(key, getattr(option, key)) for key in ("title", "summary", "description")
    }
    return _change(session, option, actor_id, "restore", texts)


def _change(
    session: Session, option: Option, actor_id: int, action: str, changes: dict[str, Any]
) -> Option:
    versioned.change(
        session,
        option,
        kind=KIND,
        actor_id=actor_id,
        action=action,
        changes=changes,
        state=option_state,
    )
    return option
