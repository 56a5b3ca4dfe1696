"""The one path for a versioned entity (an option, a criterion): load it locked, check the
version an editor started from, apply a change (or remove the entity), and record it as one
revision."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from app.domain.errors import Conflict, NotFound
from app.services import revisions


class Versioned(Protocol):
    id: int
    decision_id: int
    version: int


E = TypeVar("E", bound=SQLModel)


def load(
    session: Session,
    model: type[E],
    *,
    decision_id: int,
    entity_id: int,
    missing: str,
    for_update: bool = False,
) -> E:
    """The entity of this decision (locked for the change when ``for_update``) or NotFound."""
    table: Any = model
    stmt = select(model).where(table.id == entity_id, table.decision_id == decision_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    entity = session.exec(stmt).first()
    if entity is None:
        raise NotFound(missing)
    return entity


def next_position(session: Session, model: type[SQLModel], decision_id: int) -> int:
    table: Any = model
    top = session.exec(
        select(func.coalesce(func.max(table.position), 0)).where(table.decision_id == decision_id)
    ).one()
    return int(top or 0) + 1


def check_version(
    entity: Versioned, version: int, *, message: str, submitted: dict[str, Any]
) -> None:
    """Refuse an edit made from an older version: nothing is overwritten."""
    if entity.version != version:
        raise Conflict(message, current=entity, submitted=submitted)


def record_created(
    session: Session,
    entity: Versioned,
    *,
    kind: str,
    actor_id: int,
    state: Callable[[Any], dict[str, Any]],
) -> None:
    session.add(entity)
    session.flush()
    _record(
        session, entity, kind=kind, actor_id=actor_id, action="create", before=None, state=state
    )


def change(
    session: Session,
    entity: Versioned,
    *,
    kind: str,
    actor_id: int,
    action: str,
    changes: dict[str, Any],
    state: Callable[[Any], dict[str, Any]],
) -> bool:
    """Apply ``changes``; if the recorded state differs, bump the version and record one
    revision. Returns whether anything changed."""
    before = state(entity)
    for key, value in changes.items():
        setattr(entity, key, value)
    if state(entity) == before:
        return False
    entity.version += 1
    session.add(entity)
    _record(
        session, entity, kind=kind, actor_id=actor_id, action=action, before=before, state=state
    )
    return True


def delete(
    session: Session,
    entity: Versioned,
    *,
    kind: str,
    actor_id: int,
    state: Callable[[Any], dict[str, Any]],
) -> None:
    """Remove the entity's row, recording a "delete" revision of what it was (its earlier
    revisions stay: history is append-only). Rows that cascade with it go too."""
    before = state(entity)
    assert entity.id is not None
    revisions.record(
        session=session,
        decision_id=entity.decision_id,
        actor_id=actor_id,
        entity=kind,
        entity_id=entity.id,
        option_id=entity.id if kind == "option" else None,
        criterion_id=entity.id if kind == "criterion" else None,
        action="delete",
        before=before,
        after=None,
    )
    session.delete(entity)
    session.flush()


def _record(
    session: Session,
    entity: Versioned,
    *,
    kind: str,
    actor_id: int,
    action: str,
    before: dict[str, Any] | None,
    state: Callable[[Any], dict[str, Any]],
) -> None:
    assert entity.id is not None
    revisions.record(
        session=session,
        decision_id=entity.decision_id,
        actor_id=actor_id,
        entity=kind,
        entity_id=entity.id,
        option_id=entity.id if kind == "option" else None,
        criterion_id=entity.id if kind == "criterion" else None,
        action=action,
        before=before,
        after=state(entity),
    )
