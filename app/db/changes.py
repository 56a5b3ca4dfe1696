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

from typing import Any, NamedTuple

from sqlalchemy import event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col

from app.db.models import Decision, DecisionChange, Member, Revision

PENDING = "options_matrix.changed_decisions"
COMMITTED = "options_matrix.change_numbers"


def _collect(session: OrmSession, _context: Any, _instances: Any) -> None:
    pending: dict[int, bool] = session.info.setdefault(PENDING, {})
    for obj in session.new:
        if isinstance(obj, Revision):
            pending[obj.decision_id] = pending.get(obj.decision_id, False) or structural(obj)


def structural(revision: Revision) -> bool:
    """Whether a change alters more than the scores: anything but a score, a comment or a
    "done" mark."""
    if revision.entity in ("score", "comment"):
        return False
    return not (revision.entity == "round" and revision.action in ("done", "undone"))


def _raise_numbers(session: OrmSession) -> None:
    session.flush()  # revisions still pending are collected by the flush hook
    pending: dict[int, bool] = session.info.pop(PENDING, {})
    if not pending:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    numbers: dict[int, int] = session.info.setdefault(COMMITTED, {})
    for decision_id in sorted(pending):  # one lock order for every writer
        step = 1 if pending[decision_id] else 0
        statement = insert(DecisionChange).values(
            decision_id=decision_id, number=1, structure_number=step
        )
        numbers[decision_id] = session.execute(
            statement.on_conflict_do_update(
                index_elements=[col(DecisionChange.decision_id)],
                set_={
                    "number": col(DecisionChange.number) + 1,
                    "structure_number": col(DecisionChange.structure_number) + step,
                },
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


def mark_changed(session: Session, decision_id: int, *, structure: bool = True) -> None:
    """Raise the numbers at commit for a change that records no revision of its own."""
    pending: dict[int, bool] = session.info.setdefault(PENDING, {})
    pending[decision_id] = pending.get(decision_id, False) or structure


def committed_number(session: Session, decision_id: int) -> int | None:
    """The change number this session's last commit gave the decision (None: no change)."""
    numbers: dict[int, int] = session.info.get(COMMITTED, {})
    return numbers.get(decision_id)


class Numbers(NamedTuple):
    """Where a decision stands: its change and structure numbers, and when it was created
    (with the id, that names the decision even where a database reuses ids)."""

    change: int
    structure: int
    created: float


def _numbers_query() -> Any:
    return (
        select(
            func.coalesce(col(DecisionChange.number), 0),
            func.coalesce(col(DecisionChange.structure_number), 0),
            col(Decision.created_at),
        )
        .select_from(Decision)
        .outerjoin(DecisionChange, col(DecisionChange.decision_id) == col(Decision.id))
    )


def current_numbers(*, session: Session, decision_id: int) -> Numbers | None:
    """The decision's numbers (0 before its first recorded change); None if there is none."""
    row = session.execute(_numbers_query().where(col(Decision.id) == decision_id)).first()
    return None if row is None else Numbers(int(row[0]), int(row[1]), row[2].timestamp())


def current_number(*, session: Session, decision_id: int) -> int:
    """The decision's change number (0 before its first recorded change)."""
    numbers = current_numbers(session=session, decision_id=decision_id)
    return 0 if numbers is None else numbers.change


def numbers_for_member(
    *, session: Session, decision_id: int, user_id: int
) -> tuple[Numbers, str] | None:
    """(numbers, role) if ``user_id`` is a member of the decision (and it is not deleted),
    else None: the one indexed lookup an unchanged live-update poll costs."""
    row = session.execute(
        _numbers_query()
        .add_columns(col(Member.role))
        .join(Member, col(Member.decision_id) == col(Decision.id))
        .where(
            col(Decision.id) == decision_id,
            col(Member.user_id) == user_id,
            col(Decision.deleted).is_(False),
        )
    ).first()
    if row is None:
        return None
    return Numbers(int(row[0]), int(row[1]), row[2].timestamp()), str(row[3])


def ensure_change_numbers(session: Session, decision_ids: list[int]) -> None:
    """Give each imported decision without a change number one past every revision it holds
    (rows inserted in bulk raise no number at commit, see ``app.db.changes``)."""
    table = DecisionChange.__table__  # type: ignore[attr-defined]
    revisions = Revision.__table__  # type: ignore[attr-defined]
    present = set(session.scalars(select(table.c.decision_id)))
    for decision_id in sorted(set(decision_ids) - present):
        newest = session.scalar(
            select(func.max(revisions.c.id)).where(revisions.c.decision_id == decision_id)
        )
        number = max(int(newest or 0), 1)
        session.execute(
            table.insert(),
            {"decision_id": decision_id, "number": number, "structure_number": number},
        )
