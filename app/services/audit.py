"""The audit log: who did what security-relevant thing, when and from where.

Events are written with :func:`record` in the same transaction as the action they describe
(a refused action leaves no event). Failed logins and throttling are answered with 4xx, which
rolls the request's work back, so they are written by :func:`record_alone` in a short
transaction of their own. The table is append-only (database triggers refuse UPDATE and
DELETE).

Where a request came from is set once per request by the web layer
(:func:`set_remote_addr`); commands leave it empty and say so in the event's details.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.db.models import AuditEvent, Decision, User
from app.db.uow import unit_of_work
from app.domain.errors import NotFound
from app.domain.policy import Action, Actor, require, require_admin
from app.services.permissions import role_of

PAGE_SIZE = 50
USERNAME_MAX = 64


class Kind(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    LOGOUT = "logout"
    ACCOUNT_CREATED = "account_created"
    PASSWORD_SET = "password_set"
    ROLE_CHANGED = "role_changed"
    ROUND_REVEALED = "round_revealed"
    ROUND_OPENED = "round_opened"
    MEMO_ISSUED = "memo_issued"
    EXPORT = "export"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS: dict[Kind, str] = {
    Kind.LOGIN: "Logged in",
    Kind.LOGIN_FAILED: "Failed login",
    Kind.LOGIN_THROTTLED: "Logins throttled",
    Kind.LOGOUT: "Logged out",
    Kind.ACCOUNT_CREATED: "Account created",
    Kind.PASSWORD_SET: "Password set",
    Kind.ROLE_CHANGED: "Member added or role changed",
    Kind.ROUND_REVEALED: "Round revealed",
    Kind.ROUND_OPENED: "Round opened",
    Kind.MEMO_ISSUED: "Memo issued",
    Kind.EXPORT: "Export",
}

# The kinds that belong to a decision (the rest concern accounts and logins).
DECISION_KINDS = (
    Kind.ROLE_CHANGED,
    Kind.ROUND_REVEALED,
    Kind.ROUND_OPENED,
    Kind.MEMO_ISSUED,
    Kind.EXPORT,
)

_remote_addr: ContextVar[str | None] = ContextVar("audit_remote_addr", default=None)


@contextmanager
def remote_addr(address: str | None) -> Iterator[None]:
    """Events recorded inside the block come from ``address``."""
    token = _remote_addr.set(address)
    try:
        yield
    finally:
        _remote_addr.reset(token)


def set_remote_addr(address: str | None) -> None:
    """Events recorded from now on in this context (one request) come from ``address``."""
    _remote_addr.set(address)


def record(
    *,
    session: Session,
    kind: Kind,
    actor_id: int | None = None,
    decision_id: int | None = None,
    username: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an event to the caller's transaction."""
    event = AuditEvent(
        kind=kind.value,
        actor_id=actor_id,
        decision_id=decision_id,
        username=username[:USERNAME_MAX] if username is not None else None,
        remote_addr=(_remote_addr.get() or None),
        details=details or None,
    )
    session.add(event)
    session.flush()
    return event


def record_alone(
    *,
    kind: Kind,
    actor_id: int | None = None,
    decision_id: int | None = None,
    username: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record an event in a short write transaction of its own: for requests answered with
    4xx (whose own work rolls back), and for reads such as exports (a read transaction on
    SQLite must not turn into a writer)."""
    with unit_of_work() as session:
        record(
            session=session,
            kind=kind,
            actor_id=actor_id,
            decision_id=decision_id,
            username=username,
            details=details,
        )


@dataclass(frozen=True)
class Entry:
    """One line of the audit log as a reader sees it."""

    id: int
    created_at: datetime
    kind: str
    label: str
    actor: str | None
    username: str | None
    remote_addr: str | None
    decision_id: int | None
    decision_title: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    older: int | None  # the ``before`` of the next page, None on the last one


def whole_log(
    *, session: Session, user: User, kind: Kind | None = None, before: int | None = None
) -> Page:
    """Every event, newest first (administrators only)."""
    require_admin(user.is_admin, Action.VIEW_AUDIT)
    return _page(session=session, kind=kind, decision_id=None, before=before)


def decision_log(
    *,
    session: Session,
    decision_id: int,
    user_id: int,
    kind: Kind | None = None,
    before: int | None = None,
) -> Page:
    """The events of one decision, newest first (its facilitators only; reading it is
    allowed while the decision is closed)."""
    role = role_of(session=session, decision_id=decision_id, user_id=user_id)
    if role is None:
        raise NotFound("That decision does not exist or you are not a member of it.")
    require(Actor(user_id=user_id, role=role), Action.VIEW_AUDIT)
    return _page(session=session, kind=kind, decision_id=decision_id, before=before)


def _page(
    *, session: Session, kind: Kind | None, decision_id: int | None, before: int | None
) -> Page:
    statement = (
        select(AuditEvent, User, Decision)
        .outerjoin(User, col(User.id) == col(AuditEvent.actor_id))
        .outerjoin(Decision, col(Decision.id) == col(AuditEvent.decision_id))
        .order_by(col(AuditEvent.id).desc())
        .limit(PAGE_SIZE + 1)
    )
    if kind is not None:
        statement = statement.where(col(AuditEvent.kind) == kind.value)
    if decision_id is not None:
        statement = statement.where(col(AuditEvent.decision_id) == decision_id)
    if before is not None:
        statement = statement.where(col(AuditEvent.id) < before)
    rows = session.execute(statement).all()
    entries = [_entry(event, actor, decision) for event, actor, decision in rows[:PAGE_SIZE]]
    older = entries[-1].id if len(rows) > PAGE_SIZE else None
    return Page(entries=entries, older=older)


def _entry(event: AuditEvent, actor: User | None, decision: Decision | None) -> Entry:
    try:
        label = Kind(event.kind).label
    except ValueError:
        label = event.kind
    return Entry(
        id=event.id,
        created_at=event.created_at,
        kind=event.kind,
        label=label,
        actor=f"{actor.display_name} ({actor.username})" if actor is not None else None,
        username=event.username,
        remote_addr=event.remote_addr,
        decision_id=event.decision_id,
        decision_title=decision.title if decision is not None else None,
        details=dict(event.details or {}),
    )
