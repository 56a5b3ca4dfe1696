"""Accounts: create users, check passwords, revoke sessions."""

from __future__ import annotations

import re
from functools import cache

from sqlalchemy import select
from sqlmodel import Session

from app.adapters.passwords import hash_password, needs_rehash, verify_password
from app.db.models import User
from app.domain.errors import InvalidInput

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    display_name: str | None = None,
    is_admin: bool = False,
) -> User:
    username = username.strip().lower()
    errors: dict[str, str] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = (
            "Username must be 2–64 characters: lower-case letters, digits, dot, dash or underscore."
        )
    if len(password) < 10:
        errors["password"] = "Password must be at least 10 characters."
    if not errors and session.scalar(select(User.id).where(User.username == username)):
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
    return user


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    return user


def rehash_password(*, session: Session, user_id: int, password: str) -> None:
    """Store ``password`` (just verified) under the current, stronger hash parameters."""
    user = session.get(User, user_id)
    if user is not None and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)


def revoke_sessions(*, session: Session, user: User) -> None:
    user.session_version += 1
    session.add(user)


@cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password-for-timing")
