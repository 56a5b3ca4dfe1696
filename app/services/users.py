"""Accounts: create users, check and set passwords, log in and out, revoke sessions.

``authenticate`` only reads; ``record_login`` is the write that follows a successful login
(a stronger hash, the audit event; the login view runs it in a unit of work of its own).
Account creation, password changes, logins and logouts are recorded in the audit log.
"""

from __future__ import annotations

import csv
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.adapters.mail import Mail, MailError, MailSettings, send
from app.adapters.passwords import hash_password, needs_rehash, verify_password
from app.db.models import PasswordLink, User
from app.domain.errors import Forbidden, InvalidInput, NotFound
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
    return _replace_password(session, user, password, details=_via({}, via))


PASSWORDS_DIFFER = "The two new passwords differ."
WRONG_CURRENT = "That is not your current password."


def change_own_password(
    *, session: Session, user_id: int, current: str, new: str, repeated: str
) -> User:
    """The person changes their own password: ``current`` must be theirs and ``new`` typed
    twice alike (``InvalidInput`` otherwise, nothing written). Every session of theirs ends;
    the caller keeps the one the change was made from by storing the new session version."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    errors: dict[str, str] = {}
    if not verify_password(user.password_hash, current):
        errors["current"] = WRONG_CURRENT
    if len(new) < MIN_PASSWORD_LENGTH:
        errors["new"] = PASSWORD_TOO_SHORT
    elif new != repeated:
        errors["repeated"] = PASSWORDS_DIFFER
    if errors:
        raise InvalidInput(errors)
    return _replace_password(
        session, user, new, details={"via": "own password form"}, by_themselves=True
    )


def _replace_password(
    session: Session,
    user: User,
    password: str,
    *,
    details: dict[str, object],
    by_themselves: bool = False,
) -> User:
    """The one way a password changes: new hash, every session ended, an audit event."""
    user.password_hash = hash_password(password)
    revoke_sessions(session=session, user=user)
    audit.record(
        session=session,
        kind=audit.Kind.PASSWORD_SET,
        actor_id=user.id if by_themselves else None,
        username=user.username,
        details={"sessions_ended": True, **details},
    )
    return user


def revoke_sessions(*, session: Session, user: User) -> None:
    """Log the user out of every session (each login records the version it was issued at)."""
    user.session_version += 1
    session.add(user)


@cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password-for-timing")


# --- Accounts an administrator creates in the browser, with one-time set-password links ---

LINK_LIFETIME = timedelta(hours=72)
MAX_PASTED_ACCOUNTS = 200
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{1,63}$")
# No argon2 hash looks like this, so no password matches it until the person sets one.
NO_PASSWORD_YET = "!no-password-yet"
LINK_UNUSABLE = "This link has expired or has been used. Ask an administrator for a new one."


@dataclass(frozen=True)
class NewAccount:
    """An account as an administrator typed or pasted it."""

    username: str
    display_name: str
    email: str | None = None
    line: int | None = None  # where it stood in a pasted list or uploaded file

    def problem(self, message: str) -> str:
        """``message`` about this account, prefixed with its line when it came from a list."""
        return f"Line {self.line}: {message}" if self.line is not None else message


@dataclass(frozen=True)
class IssuedLink:
    """A new account and the secret of its one-time link (shown once, never stored)."""

    username: str
    display_name: str
    email: str | None
    token: str
    expires_at: datetime


HEADER_NAMES = {"username", "user", "login"}
MAX_FILE_BYTES = 256 * 1024


def decode_upload(data: bytes) -> str:
    """An uploaded CSV file's text: UTF-8 (with or without the byte-order mark spreadsheets
    write) or, failing that, Windows-1252 (older Excel). ``InvalidInput`` if too large."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput({"file": f"The file is larger than {MAX_FILE_BYTES // 1024} KB."})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_accounts(text: str) -> list[NewAccount]:
    """One account per line: ``username, name`` and optionally ``, email`` (CSV quoting
    allowed; a semicolon works as the separator too, as some spreadsheets save it; a first
    line naming the columns — ``username, name, email`` — is skipped; blank lines skipped).
    ``InvalidInput`` names each line it cannot read, by its number in the text."""
    accounts: list[NewAccount] = []
    errors: dict[str, str] = {}
    text = text.replace("\x00", "")
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if len(numbered) > MAX_PASTED_ACCOUNTS + 1:
        raise InvalidInput({"accounts": f"Paste at most {MAX_PASTED_ACCOUNTS} accounts at once."})
    first = numbered[0][1] if numbered else ""
    delimiter = ";" if ";" in first and "," not in first else ","
    rows = csv.reader([line for _, line in numbered], delimiter=delimiter, skipinitialspace=True)
    for (number, _), row in zip(numbered, rows, strict=True):
        fields = [field.strip() for field in row]
        if not accounts and not errors and fields and fields[0].lower() in HEADER_NAMES:
            continue  # the header row
        if len(fields) not in (2, 3) or not fields[0] or not fields[1]:
            errors[f"line {number}"] = (
                f"Line {number}: write “username, name” or “username, name, email”."
            )
            continue
        email = fields[2] if len(fields) == 3 and fields[2] else None
        accounts.append(NewAccount(fields[0], fields[1], email, line=number))
    if len(accounts) > MAX_PASTED_ACCOUNTS:
        raise InvalidInput({"accounts": f"Paste at most {MAX_PASTED_ACCOUNTS} accounts at once."})
    if not accounts and not errors:
        errors["accounts"] = "Write at least one account."
    if errors:
        raise InvalidInput(errors)
    return accounts


def create_accounts_with_links(
    *, session: Session, actor: User, accounts: list[NewAccount], now: datetime
) -> list[IssuedLink]:
    """Create every account (none if any is refused: ``InvalidInput`` names each problem),
    each with a one-time link to set its password, valid for ``LINK_LIFETIME`` from ``now``."""
    if not actor.is_admin:
        raise Forbidden("Only administrators may create accounts.")
    errors: dict[str, str] = {}
    seen: set[str] = set()
    for account in accounts:
        username = normalise_username(account.username)
        key = f"line {account.line}" if account.line is not None else username or "username"
        if not USERNAME_RE.match(username):
            errors[key] = account.problem(
                f"“{account.username}”: a username is 2–64 characters: lower-case letters, "
                "digits, dot, dash or underscore."
            )
        elif username in seen or find_user(session=session, username=username) is not None:
            errors[key] = account.problem(f"The username “{username}” is taken.")
        elif account.email is not None and (
            len(account.email) > 254 or not EMAIL_RE.match(account.email)
        ):
            errors[key] = account.problem(f"“{account.email}” is not an email address.")
        elif len(account.display_name.strip()) > 120:
            errors[key] = account.problem(f"{username}: a name is at most 120 characters.")
        seen.add(username)
    if errors:
        raise InvalidInput(errors)
    issued: list[IssuedLink] = []
    for account in accounts:
        user = User(
            username=normalise_username(account.username),
            display_name=account.display_name.strip(),
            password_hash=NO_PASSWORD_YET,
            email=account.email,
        )
        session.add(user)
        session.flush()
        audit.record(
            session=session,
            kind=audit.Kind.ACCOUNT_CREATED,
            actor_id=actor.id,
            username=user.username,
            details={"admin": False, "via": "browser"},
        )
        issued.append(
            _issue_link(session=session, actor=actor, user=user, email=account.email, now=now)
        )
    return issued


def _issue_link(
    *, session: Session, actor: User, user: User, email: str | None, now: datetime
) -> IssuedLink:
    token = secrets.token_urlsafe(32)
    link = PasswordLink(
        user_id=user.id,
        token_hash=_token_hash(token),
        email=email,
        created_by_id=actor.id,
        created_at=now,
        expires_at=now + LINK_LIFETIME,
    )
    session.add(link)
    session.flush()
    return IssuedLink(user.username, user.display_name, email, token, link.expires_at)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_user(*, session: Session, token: str, now: datetime) -> User | None:
    """The person a link is for, if it is unused and unexpired; else None."""
    link = session.exec(
        select(PasswordLink).where(col(PasswordLink.token_hash) == _token_hash(token))
    ).first()
    if link is None or link.used_at is not None or _aware(link.expires_at) <= now:
        return None
    return session.get(User, link.user_id)


def set_password_from_link(
    *, session: Session, token: str, new: str, repeated: str, now: datetime
) -> User:
    """Use a one-time link: set its person's password and end their sessions. The link is
    spent by a conditional update, so of two simultaneous uses only one succeeds."""
    user = link_user(session=session, token=token, now=now)
    if user is None:
        raise InvalidInput({"link": LINK_UNUSABLE})
    if len(new) < MIN_PASSWORD_LENGTH:
        raise InvalidInput({"new": PASSWORD_TOO_SHORT})
    if new != repeated:
        raise InvalidInput({"repeated": PASSWORDS_DIFFER})
    spent = session.exec(
        update(PasswordLink)
        .where(col(PasswordLink.token_hash) == _token_hash(token))
        .where(col(PasswordLink.used_at).is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        raise InvalidInput({"link": LINK_UNUSABLE})
    return _replace_password(
        session, user, new, details={"via": "set-password link"}, by_themselves=True
    )


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- Emailing new accounts their links (after the accounts are committed) ---


@dataclass(frozen=True)
class MailOutcome:
    """Whether the link of one new account was emailed (``error`` says why not)."""

    username: str
    email: str
    sent: bool
    error: str | None = None


# After this many failures in a row the server is taken to be unreachable: the remaining
# links are reported unsent without waiting for each connection to time out.
MAX_FAILURES_IN_A_ROW = 3


def email_links(
    settings: MailSettings, issued: list[IssuedLink], link_for: Callable[[str], str]
) -> list[MailOutcome]:
    """Email each new account with an address its one-time link (``link_for(token)``), one
    message each. Call it only after the accounts are committed: a mail server that fails
    never undoes them, and the administrator still has every link on the page."""
    outcomes: list[MailOutcome] = []
    failures = 0
    for link in issued:
        if link.email is None:
            continue
        if failures >= MAX_FAILURES_IN_A_ROW:
            outcomes.append(MailOutcome(link.username, link.email, False, "not tried"))
            continue
        mail = Mail(
            to=link.email,
            subject="Your Options Matrix account",
            body=(
                f"Hello {link.display_name},\n\n"
                f"An account was created for you on Options Matrix (username: {link.username}).\n"
                "Set your password with this link; it works once, until "
                f"{link.expires_at.strftime('%Y-%m-%d %H:%M')} UTC:\n\n"
                f"{link_for(link.token)}\n\n"
                "If you did not expect this message, ignore it.\n"
            ),
        )
        try:
            send(settings, [mail])
        except MailError as exc:
            failures += 1
            outcomes.append(MailOutcome(link.username, link.email, False, str(exc)))
        else:
            failures = 0
            outcomes.append(MailOutcome(link.username, link.email, True))
    return outcomes
