"""Writing revisions: one row per change, in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.db.models import Revision


def record(
    *,
    session: Session,
    decision_id: int,
    actor_id: int | None,
    entity: str,
    entity_id: str | int,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    option_id: int | None = None,
    criterion_id: int | None = None,
    round_number: int | None = None,
) -> Revision:
    revision = Revision(
        decision_id=decision_id,
        actor_id=actor_id,
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        before=before,
        after=after,
        option_id=option_id,
        criterion_id=criterion_id,
        round_number=round_number,
    )
    session.add(revision)
    return revision


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose value differs, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
