"""Accounts: create users, check and set passwords, log in and out, revoke sessions.

``authenticate`` only reads; ``record_login`` is the write that follows a successful login
(a stronger hash, the audit event; the login view runs it in a unit of work of its own).
Account creation, password changes, logins and logouts are recorded in the audit log.
"""

from __future__ import annotations

import re
from functools import cache

from sqlmodel import Session, col, select

from app.adapters.passwords import hash_password, needs_rehash, verify_password
from app.db.models import User
from app.domain.errors import InvalidInput, NotFound
from app.services import audit

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10
PASSWORD_TOO_SHORT = f"Password must be at least {MIN_PASSWORD_LENGTH} characters."


def normalise_username(username: str) -> str:
    """Usernames are compared trimmed and in lower case."""
    return username.strip().lower()


def find_user(*, session: Session, username: str) -> User | None:
    """The account called ``username`` (trimmed, any case), or None."""
    return session.exec(
        select(User).where(col(User.username) == normalise_username(username))
    ).first()


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    display_name: str | None = None,
    is_admin: bool = False,
    via: str | None = None,
) -> User:
    """A new account; the username and password are checked first (``InvalidInput``).
    ``via`` says in the audit log how it was created (e.g. ``command line``)."""
    username = normalise_username(username)
    errors: dict[str, str] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = (
            "Username must be 2–64 characters: lower-case letters, digits, dot, dash or underscore."
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = PASSWORD_TOO_SHORT
    if not errors and find_user(session=session, username=username) is not None:
        errors["username"] = f"The username “{username}” is taken."
    if errors:
        raise InvalidInput(errors)
    user = User(
        username=username,
        display_name=(display_name or username).strip()[:120],
        password_hash=hash_password(password),
        is_admin=is_admin,
    )
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        kind=audit.Kind.ACCOUNT_CREATED,
        username=user.username,
        details=_via({"admin": is_admin}, via),
    )
    return user


def _via(details: dict[str, object], via: str | None) -> dict[str, object]:
    return {**details, "via": via} if via else details


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """The user if ``password`` is theirs, else None. Only reads (see ``rehash_password``)."""
    user = find_user(session=session, username=username)
    if user is None:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    return user


def record_login(*, session: Session, user_id: int, password: str) -> None:
    """After a successful login: rehash ``password`` if the parameters grew, and record it."""
    rehash_password(session=session, user_id=user_id, password=password)
    user = session.get(User, user_id)
    audit.record(
        session=session,
        kind=audit.Kind.LOGIN,
        actor_id=user_id,
        username=user.username if user is not None else None,
    )


def log_out(*, session: Session, user: User) -> None:
    """End every session of the user (this one included), and record it."""
    revoke_sessions(session=session, user=user)
    audit.record(session=session, kind=audit.Kind.LOGOUT, actor_id=user.id, username=user.username)


def rehash_password(*, session: Session, user_id: int, password: str) -> None:
    """Store ``password`` (just verified) under the current, stronger hash parameters."""
    user = session.get(User, user_id)
    if user is not None and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)


def set_password(*, session: Session, username: str, password: str, via: str | None = None) -> User:
    """Give a user a new password and log them out everywhere."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput({"password": PASSWORD_TOO_SHORT})
    user = find_user(session=session, username=username)
    if user is None:
        raise NotFound(f"No user is called {username!r}.")
    user.password_hash = hash_password(password)
    revoke_sessions(session=session, user=user)
    audit.record(
        session=session,
        kind=audit.Kind.PASSWORD_SET,
        username=user.username,
        details=_via({"sessions_ended": True}, via),
    )
    return user


def revoke_sessions(*, session: Session, user: User) -> None:
    """Log the user out of every session (each login records the version it was issued at)."""
    user.session_version += 1
    session.add(user)


@cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password-for-timing")
