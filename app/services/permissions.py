"""The permission policy applied to a stored decision: who is asking, in which role; and the
decision's row lock, which every change whose checks decide anything takes first."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.db.models import Decision, Member, Role
from app.domain import policy
from app.domain.errors import NotFound
from app.domain.policy import Action, Actor


def lock_decision(session: Session, decision: Decision | int, *, shared: bool = False) -> Decision:
    """The decision re-read and locked until the transaction ends (``SELECT … FOR UPDATE``).

    Take it before any check that decides a change (the current round, the status, the number
    of facilitators, options or members): a concurrent change of the same decision then waits
    for this transaction and sees its outcome. On SQLite a write transaction already holds the
    database's write lock (``BEGIN IMMEDIATE``) and the statement is a plain read. The loaded
    ``Decision`` object, if any, is refreshed in place.

    ``shared`` takes ``FOR SHARE`` instead, for a change that only needs the decision to stay as
    it is (saving a score): such changes run side by side, and one that takes the full lock
    (opening a round, closing the decision) waits for all of them. A transaction holding the
    shared lock must not go on to change the decision row itself."""
    decision_id = decision if isinstance(decision, int) else decision.id
    locked = session.exec(
        select(Decision)
        .where(col(Decision.id) == decision_id)
        .with_for_update(read=shared)
        .execution_options(populate_existing=True)
    ).first()
    if locked is None:
        raise NotFound("That decision does not exist or you are not a member of it.")
    return locked


def role_of(*, session: Session, decision_id: int, user_id: int) -> Role | None:
    role = session.exec(
        select(Member.role).where(
            col(Member.decision_id) == decision_id, col(Member.user_id) == user_id
        )
    ).first()
    return Role(role) if role else None


def authorize(
    *,
    session: Session,
    decision: Decision | int,
    user_id: int,
    action: Action,
    is_author: bool = False,
) -> Actor:
    """The user as an actor in the decision, if its role allows ``action``.

    Raises NotFound for a non-member or a deleted decision, Forbidden for a role that may not, and a 409 while the
    decision is closed (unless the action is one a closed decision allows)."""
    decision_id = decision if isinstance(decision, int) else decision.id
    assert decision_id is not None
    role = role_of(session=session, decision_id=decision_id, user_id=user_id)
    if role is None:
        raise NotFound("That decision does not exist or you are not a member of it.")
    actor = Actor(user_id=user_id, role=role)
    policy.require(actor, action, is_author=is_author)
    if isinstance(decision, Decision):
        status, deleted = decision.status, decision.deleted
    else:
        status, deleted = session.exec(
            select(Decision.status, Decision.deleted).where(col(Decision.id) == decision_id)
        ).one()
    if deleted:
        raise NotFound("That decision does not exist or you are not a member of it.")
    policy.require_open(status, action)
    return actor
