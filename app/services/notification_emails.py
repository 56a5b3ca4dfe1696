"""Emailing notifications when SMTP is configured (``SMTP_*`` settings; nothing without
``SMTP_HOST``).

The notification table is its own outbox: a notification is *pending* while its
``emailed_at`` is empty, it is unread, it is younger than ``EMAIL_MAX_AGE`` and its person
has an email address (people without one get no email). :func:`deliver_pending` sends what
is pending, with no transaction open while it talks to the mail server:

1. *claim*: one short transaction sets ``emailed_at`` on up to ``EMAIL_BATCH`` pending rows
   (``UPDATE … WHERE emailed_at IS NULL RETURNING id``: two deliveries running at once never
   claim the same row, so nothing is sent twice);
2. *send*: one message per notification, stopping at the first failure;
3. *release*: one short transaction empties ``emailed_at`` again on what was not sent, so
   the next delivery retries it.

A mail server that is down therefore leaves the notifications pending and changes nothing
else. Deliveries run after a request that created notifications has committed (the web
layer starts one once the response has been sent, see ``app.web.views.notifications``) and
from ``flask send-notifications``, which a scheduler may run every few minutes to retry. A
process that dies between the claim and the send loses those emails (the notification stays
in the app): at most once, never twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, update
from sqlmodel import Session, col, select

from app.adapters import mail
from app.db.conversation import Notification
from app.db.models import Decision, Member, User, utcnow
from app.db.uow import unit_of_work
from app.services.notifications import describe

log = logging.getLogger(__name__)

# Older notifications are never emailed (e.g. when SMTP is configured after months without).
EMAIL_MAX_AGE = timedelta(days=7)
EMAIL_BATCH = 200


@dataclass(frozen=True)
class Delivery:
    """What one delivery did: emails sent, emails left pending, and why (the first error)."""

    sent: int
    pending: int
    error: str | None = None


def _pending_ids(session: Session, now: datetime, limit: int) -> list[int]:
    stmt = (
        _shown_for_email()
        .where(
            col(Notification.emailed_at).is_(None),
            col(Notification.read_at).is_(None),
            col(Notification.created_at) >= now - EMAIL_MAX_AGE,
        )
        .order_by(col(Notification.id))
        .limit(limit)
    )
    return [int(i) for i in session.exec(stmt)]


def _shown_for_email() -> Any:
    return (
        select(col(Notification.id))
        .join(User, col(User.id) == col(Notification.user_id))
        .join(
            Member,
            and_(
                col(Member.decision_id) == col(Notification.decision_id),
                col(Member.user_id) == col(Notification.user_id),
            ),
        )
        .join(Decision, col(Decision.id) == col(Notification.decision_id))
        .where(
            col(User.email).is_not(None),
            col(User.email) != "",
            col(Decision.deleted).is_(False),
        )
    )


def _claim(session: Session, now: datetime, limit: int) -> list[Notification]:
    ids = _pending_ids(session, now, limit)
    if not ids:
        return []
    claimed = session.execute(
        update(Notification)
        .where(col(Notification.id).in_(ids), col(Notification.emailed_at).is_(None))
        .values(emailed_at=now)
        .returning(col(Notification.id))
        .execution_options(synchronize_session=False)
    ).scalars()
    claimed_ids = sorted(int(i) for i in claimed)
    return list(
        session.exec(
            select(Notification)
            .where(col(Notification.id).in_(claimed_ids))
            .order_by(col(Notification.id))
        )
    )


def _mails(
    session: Session,
    rows: list[Notification],
    public_url: str,
    build_path: Callable[[str, dict[str, Any]], str],
) -> list[tuple[int, mail.Mail]]:
    emails = dict(
        session.exec(
            select(col(User.id), col(User.email)).where(col(User.id).in_({n.user_id for n in rows}))
        ).all()
    )
    out = []
    for entry, n in zip(describe(session, rows), rows, strict=True):
        address = emails.get(n.user_id)
        if not address:
            continue
        link = public_url.rstrip("/") + build_path(*entry.target)
        if entry.anchor:
            link += "#" + entry.anchor
        listing = public_url.rstrip("/") + build_path("notifications.index", {})
        body = (
            f"{entry.sentence}\n\nOpen it: {link}\n\n"
            f"All your notifications: {listing}\n\n"
            "You get this email because you are a member of this decision in Options Matrix.\n"
        )
        out.append((entry.id, mail.Mail(to=address, subject=entry.subject, body=body)))
    return out


def deliver_pending(
    *,
    engine: Engine,
    settings: mail.MailSettings,
    public_url: str,
    build_path: Callable[[str, dict[str, Any]], str],
    limit: int = EMAIL_BATCH,
    now: datetime | None = None,
) -> Delivery:
    """Email up to ``limit`` pending notifications (claim, send, release: see the module's
    docstring). ``build_path(endpoint, values)`` gives the path of a page (the web's URL map),
    ``public_url`` what goes in front of it. Never raises for a mail server's failure."""
    now = now or utcnow()
    with unit_of_work(engine=engine) as session:
        mails = _mails(session, _claim(session, now, limit), public_url, build_path)
    sent: list[int] = []
    error = None
    for notification_id, message in mails:
        try:
            mail.send(settings, [message])
        except mail.MailError as exc:
            error = str(exc)
            log.warning("Notification emails left pending: %s", exc)
            break
        sent.append(notification_id)
    unsent = [i for i, _ in mails if i not in set(sent)]
    if unsent:
        with unit_of_work(engine=engine) as session:
            session.execute(
                update(Notification)
                .where(col(Notification.id).in_(unsent))
                .values(emailed_at=None)
                .execution_options(synchronize_session=False)
            )
    return Delivery(sent=len(sent), pending=len(unsent), error=error)
