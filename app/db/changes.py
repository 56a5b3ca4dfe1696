"""Each decision's change number, raised once by every transaction that changes it.

Any transaction that records a revision of a decision raises that decision's number by one
as its last statement before COMMIT (a ``before_commit`` hook on every session), so no
service has to remember it. The raise takes the row lock of ``decision_change``: a second
writer of the same decision waits there until the first commits, so the numbers are handed
out in commit order and a page polling "anything after n?" never skips a change that
committed late. Holding the lock only from the last statement to COMMIT keeps saves
concurrent (they still share the decision row lock taken by the scoring service).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col

from app.db.models import DecisionChange, Member, Revision

PENDING = "options_matrix.changed_decisions"
COMMITTED = "options_matrix.change_numbers"


def _collect(session: OrmSession, _context: Any, _instances: Any) -> None:
    changed = {obj.decision_id for obj in session.new if isinstance(obj, Revision)}
    if changed:
        session.info.setdefault(PENDING, set()).update(changed)


def _raise_numbers(session: OrmSession) -> None:
    session.flush()  # revisions still pending are collected by the flush hook
    pending: set[int] = session.info.pop(PENDING, set())
    if not pending:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    numbers: dict[int, int] = session.info.setdefault(COMMITTED, {})
    for decision_id in sorted(pending):  # one lock order for every writer
        statement = insert(DecisionChange).values(decision_id=decision_id, number=1)
        numbers[decision_id] = session.execute(
            statement.on_conflict_do_update(
                index_elements=[col(DecisionChange.decision_id)],
                set_={"number": col(DecisionChange.number) + 1},
            ).returning(col(DecisionChange.number))
        ).scalar_one()


def _forget(session: OrmSession, *_args: Any) -> None:
    session.info.pop(PENDING, None)


def install() -> None:
    """Register the hooks on every session (idempotent)."""
    if not event.contains(OrmSession, "before_flush", _collect):
        event.listen(OrmSession, "before_flush", _collect)
        event.listen(OrmSession, "before_commit", _raise_numbers)
        event.listen(OrmSession, "after_soft_rollback", _forget)


def mark_changed(session: Session, decision_id: int) -> None:
    """Raise the number at commit for a change that records no revision of its own."""
    session.info.setdefault(PENDING, set()).add(decision_id)


def committed_number(session: Session, decision_id: int) -> int | None:
    """The change number this session's last commit gave the decision (None: no change)."""
    numbers: dict[int, int] = session.info.get(COMMITTED, {})
    return numbers.get(decision_id)


def current_number(*, session: Session, decision_id: int) -> int:
    """The decision's change number (0 before its first recorded change)."""
    number = session.scalar(
        select(col(DecisionChange.number)).where(col(DecisionChange.decision_id) == decision_id)
    )
    return int(number or 0)


def number_for_member(
    *, session: Session, decision_id: int, user_id: int
) -> tuple[int, str] | None:
    """(change number, role) if ``user_id`` is a member of the decision, else None: the one
    indexed lookup an unchanged live-update poll costs."""
    row = session.execute(
        select(func.coalesce(col(DecisionChange.number), 0), col(Member.role))
        .select_from(Member)
        .outerjoin(DecisionChange, col(DecisionChange.decision_id) == col(Member.decision_id))
        .where(col(Member.decision_id) == decision_id, col(Member.user_id) == user_id)
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))
