"""The permission policy applied to a stored decision: who is asking, in which role."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.db.models import Decision, Member, Role
from app.domain import policy
from app.domain.errors import NotFound
from app.domain.policy import Action, Actor


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

    Raises NotFound for a non-member, Forbidden for a role that may not, and a 409 while the
    decision is closed (unless the action is one a closed decision allows)."""
    decision_id = decision if isinstance(decision, int) else decision.id
    assert decision_id is not None
    role = role_of(session=session, decision_id=decision_id, user_id=user_id)
    if role is None:
        raise NotFound("That decision does not exist or you are not a member of it.")
    actor = Actor(user_id=user_id, role=role)
    policy.require(actor, action, is_author=is_author)
    status = (
        decision.status
        if isinstance(decision, Decision)
        else session.exec(select(Decision.status).where(col(Decision.id) == decision_id)).one()
    )
    policy.require_open(status, action)
    return actor
