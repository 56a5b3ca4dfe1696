"""PostgreSQL id sequences after rows were inserted with their ids (imports and restores)."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from app.db.models import (
    AuditEvent,
    Criterion,
    Decision,
    Member,
    Memo,
    Option,
    Revision,
    Round,
    User,
)


def advance_sequences(session: Session) -> None:
    """PostgreSQL: move each id sequence past the ids just inserted (SQLite needs nothing)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in (User, Decision, Member, Option, Criterion, Round, Revision, Memo, AuditEvent):
        name = model.__tablename__
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {name}), 1), "
                f"(SELECT COUNT(*) > 0 FROM {name}))"
            )
        )
