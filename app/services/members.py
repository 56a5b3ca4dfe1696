"""Members of a decision beyond adding and role changes (``app.services.decisions``):
finding people to add, what a role change would change, and removing a member.

A removed member loses access at once (every request looks their membership up). What they
did stays: their scores, revisions and comments are never deleted, and history keeps showing
them. From the removal on, a removed analyst's scores stop counting: the group view, its
totals and ranks, the progress list and memos take the decision's *current* analysts
(``live_matrix.read_analysts``, ``list_members``), so the open round's group values are
recomputed without them (the removal is a revision, which raises the change number every
open matrix polls). Adding the person back as an analyst makes their stored scores count again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from app.db.models import Member, Role, User
from app.domain.errors import InvalidInput, NotFound
from app.domain.policy import Action
from app.services import audit, revisions
from app.services.permissions import authorize, lock_decision

SEARCH_LIMIT = 8
QUERY_MAX = 64


@dataclass(frozen=True)
class Person:
    """A search result: only what the member form shows of an account."""

    id: int
    display_name: str
    username: str


def search_people(
    *, session: Session, decision_id: int, actor_id: int, query: str, limit: int = SEARCH_LIMIT
) -> list[Person]:
    """Accounts whose name or username contains ``query`` (any case), best matches first:
    for the decision's facilitators only (``Forbidden`` otherwise). Names and usernames only:
    nothing else about an account is shown to a facilitator."""
    authorize(session=session, decision=decision_id, user_id=actor_id, action=Action.MANAGE_MEMBERS)
    text = " ".join(query.split())[:QUERY_MAX].lower()
    if not text:
        return []
    name, username = func.lower(col(User.display_name)), col(User.username)
    starts = or_(name.startswith(text, autoescape=True), username.startswith(text, autoescape=True))
    rows = session.execute(
        select(col(User.id), col(User.display_name), col(User.username), starts)
        .where(or_(name.contains(text, autoescape=True), username.contains(text, autoescape=True)))
        .order_by(starts.desc(), name, username)
        .limit(limit)
    ).all()
    return [Person(int(i), str(n), str(u)) for i, n, u, _ in rows]


def current_role(*, session: Session, decision_id: int, user_id: int) -> Role | None:
    """The person's role in the decision, or None if they are not a member."""
    role = session.scalar(
        select(col(Member.role)).where(
            col(Member.decision_id) == decision_id, col(Member.user_id) == user_id
        )
    )
    return Role(role) if role else None


def member_user(*, session: Session, decision_id: int, user_id: int) -> tuple[User, Role]:
    """A member's account and role (``NotFound`` if they are not a member)."""
    row = session.execute(
        select(User, col(Member.role))
        .join(Member, col(Member.user_id) == col(User.id))
        .where(col(Member.decision_id) == decision_id, col(User.id) == user_id)
    ).first()
    if row is None:
        raise NotFound("That person is not a member of this decision.")
    return row[0], Role(row[1])


def remove_member(*, session: Session, decision_id: int, actor_id: int, user_id: int) -> User:
    """Remove a member: they lose access at once; their scores and revisions stay in history
    (see the module's note for what their scores count). The last facilitator cannot be
    removed. The decision is locked first, so two facilitators removing each other at once
    leave one. Recorded as a revision of the member (``remove``) and in the audit log."""
    lock_decision(session, decision_id)
    authorize(session=session, decision=decision_id, user_id=actor_id, action=Action.MANAGE_MEMBERS)
    member = session.scalar(
        select(Member).where(col(Member.decision_id) == decision_id, col(Member.user_id) == user_id)
    )
    user = session.get(User, user_id)
    if member is None or user is None:
        raise InvalidInput({"member": "That person is not a member of this decision."})
    if member.role == Role.FACILITATOR.value:
        facilitators = session.scalar(
            select(func.count())
            .select_from(Member)
            .where(
                col(Member.decision_id) == decision_id,
                col(Member.role) == Role.FACILITATOR.value,
            )
        )
        if (facilitators or 0) <= 1:
            raise InvalidInput(
                {
                    "member": "A decision needs a facilitator: make someone else facilitator "
                    "before removing the last one."
                }
            )
    before = {"username": user.username, "role": member.role}
    session.delete(member)
    session.flush()
    revisions.record(
        session=session,
        decision_id=decision_id,
        actor_id=actor_id,
        entity="member",
        entity_id=user.id,
        action="remove",
        before=before,
        after=None,
    )
    audit.record(
        session=session,
        kind=audit.Kind.ROLE_CHANGED,
        actor_id=actor_id,
        decision_id=decision_id,
        details={"member": user.username, "role_before": member.role, "role": None},
    )
    return user
