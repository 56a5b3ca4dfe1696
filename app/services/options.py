"""Options: propose, edit (with a version check), withdraw and restore. Never deleted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from app.db.models import Option, OptionStatus
from app.db.schemas import OptionCreate, OptionUpdate, parse
from app.domain.errors import Conflict, InvalidInput, NotFound
from app.services import revisions


def option_state(option: Option) -> dict[str, Any]:
    return {
        "title": option.title,
        "summary": option.summary,
        "description": option.description,
        "status": option.status,
        "position": option.position,
        "version": option.version,
    }


def _record(
    session: Session, option: Option, actor_id: int, action: str, before: dict[str, Any] | None
) -> None:
    revisions.record(
        session=session,
        decision_id=option.decision_id,
        actor_id=actor_id,
        entity="option",
        entity_id=option.id,
        option_id=option.id,
        action=action,
        before=before,
        after=option_state(option),
    )


def get_option(
    *, session: Session, decision_id: int, option_id: int, for_update: bool = False
) -> Option:
    stmt = select(Option).where(Option.id == option_id, Option.decision_id == decision_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    option = session.scalars(stmt).first()
    if option is None:
        raise NotFound("That option does not exist in this decision.")
    return option


def list_options(
    *, session: Session, decision_id: int, include_withdrawn: bool = True
) -> list[Option]:
    stmt = select(Option).where(Option.decision_id == decision_id)
    if not include_withdrawn:
        stmt = stmt.where(Option.status == OptionStatus.ACTIVE.value)
    return list(session.scalars(stmt.order_by(Option.position, Option.id)))


def create_option(
    *, session: Session, decision_id: int, actor_id: int, data: dict[str, Any]
) -> Option:
    valid, errors = parse(OptionCreate, data)
    if errors:
        raise InvalidInput(errors)
    position = session.scalar(
        select(func.coalesce(func.max(Option.position), 0)).where(Option.decision_id == decision_id)
    )
    option = Option(
        decision_id=decision_id,
        title=valid.title,
        summary=valid.summary,
        description=valid.description,
        position=int(position or 0) + 1,
        created_by=actor_id,
    )
    session.add(option)
    session.flush()
    _record(session, option, actor_id, "create", None)
    return option


def update_option(
    *, session: Session, decision_id: int, option_id: int, actor_id: int, data: dict[str, Any]
) -> Option:
    """Save an edit made from ``data['version']``; a newer stored version raises Conflict."""
    valid, errors = parse(OptionUpdate, data)
    if errors:
        raise InvalidInput(errors)
    option = get_option(
        session=session, decision_id=decision_id, option_id=option_id, for_update=True
    )
    submitted = {"title": valid.title, "summary": valid.summary, "description": valid.description}
    if option.version != valid.version:
        raise Conflict(
            "Someone else saved this option while you were editing it. "
            "Nothing was overwritten: compare both texts below and save again.",
            current=option,
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
    option = get_option(
        session=session, decision_id=decision_id, option_id=option_id, for_update=True
    )
    action = action or ("withdraw" if status == OptionStatus.WITHDRAWN else "restore")
    return _change(session, option, actor_id, action, {"status": status.value})


def restore_text(
    *, session: Session, decision_id: int, option_id: int, actor_id: int, state: dict[str, Any]
) -> Option:
    """Bring back an earlier title/summary/description as a new revision (nothing rewritten)."""
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
    """Apply ``changes``; if anything differs, bump the version and record one revision."""
    before = option_state(option)
    for key, value in changes.items():
        setattr(option, key, value)
    if option_state(option) == before:
        return option
    option.version += 1
    session.add(option)
    _record(session, option, actor_id, action, before)
    return option
