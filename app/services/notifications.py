"""Notifications: what a member should know — a round opened or revealed, a memo issued, a
reply to their comment — shown in the app until read, and emailed when SMTP is configured.

**Creating.** :func:`round_opened`, :func:`round_revealed`, :func:`memo_issued` and
:func:`comment_replied` add one row per member to tell (never the person who acted), in the
caller's transaction: the notification exists exactly when the change it tells of commits.
A reply written in a blind round before its reveal tells nobody yet (that someone wrote in
the round is itself hidden, see :mod:`app.domain.discussion`); :func:`round_revealed` then
adds the notifications of the round's replies that were held back.

**Emailing** (when SMTP is configured) is :mod:`app.services.notification_emails`: each
notification is emailed once, after the transaction that created it has committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.db.conversation import Comment, Notification
from app.db.models import Criterion, Decision, Member, Memo, Option, Round, User, utcnow
from app.domain.errors import NotFound
from app.domain.vocabulary import NotificationKind

PAGE_SIZE = 50

# Whether the current request (or command) created notifications, so the web layer knows to
# deliver after its commit. Reset at the start of every request.
_created: ContextVar[bool] = ContextVar("notifications_created", default=False)


def reset_created() -> None:
    _created.set(False)


def created_any() -> bool:
    """Whether notifications were created since :func:`reset_created`."""
    return _created.get()


# --------------------------------------------------------------------------------------------
# Creating
# --------------------------------------------------------------------------------------------


def _members(session: Session, decision_id: int) -> list[int]:
    return list(
        session.exec(
            select(col(Member.user_id))
            .where(col(Member.decision_id) == decision_id)
            .order_by(col(Member.user_id))
        )
    )


def _is_member(session: Session, decision_id: int, user_id: int) -> bool:
    return user_id in _members(session, decision_id)


def _add(session: Session, user_ids: Iterable[int], **fields: Any) -> int:
    count = 0
    for user_id in user_ids:
        session.add(Notification(user_id=user_id, **fields))
        count += 1
    if count:
        session.flush()
        _created.set(True)
    return count


def _round(session: Session, decision_id: int, number: int) -> Round | None:
    return session.exec(
        select(Round).where(col(Round.decision_id) == decision_id, col(Round.number) == number)
    ).first()


def round_opened(
    session: Session, decision_id: int, round_number: int, *, actor_id: int | None = None
) -> int:
    """Tell every member but the one who opened it (``actor_id``, else the round's opener)
    that round ``round_number`` is open. Returns the number of notifications added."""
    if actor_id is None:
        found = _round(session, decision_id, round_number)
        actor_id = found.opened_by if found else None
    users = [u for u in _members(session, decision_id) if u != actor_id]
    return _add(
        session,
        users,
        decision_id=decision_id,
        kind=NotificationKind.ROUND_OPENED.value,
        round_number=round_number,
    )


def round_revealed(
    session: Session, decision_id: int, round_number: int, *, actor_id: int | None = None
) -> int:
    """Tell every member but the one who revealed it that round ``round_number`` is revealed,
    and add the reply notifications held back while it was hidden."""
    if actor_id is None:
        found = _round(session, decision_id, round_number)
        actor_id = found.revealed_by if found else None
    users = [u for u in _members(session, decision_id) if u != actor_id]
    count = _add(
        session,
        users,
        decision_id=decision_id,
        kind=NotificationKind.ROUND_REVEALED.value,
        round_number=round_number,
    )
    return count + _held_back_replies(session, decision_id, round_number)


def memo_issued(
    session: Session,
    decision_id: int,
    memo_id: int,
    memo_number: int,
    *,
    actor_id: int | None = None,
) -> int:
    """Tell every member but its issuer that memo ``memo_number`` was issued."""
    memo = session.get(Memo, memo_id)
    if actor_id is None and memo is not None:
        actor_id = memo.issued_by
    users = [u for u in _members(session, decision_id) if u != actor_id]
    return _add(
        session,
        users,
        decision_id=decision_id,
        kind=NotificationKind.MEMO_ISSUED.value,
        round_number=memo.round_number if memo is not None else None,
        memo_id=memo_id,
    )


def comment_replied(session: Session, reply: Comment, parent: Comment) -> int:
    """Tell the author of ``parent`` about ``reply`` (not when they replied to themselves,
    nor when they are no longer a member). The caller decides whether it may be told now."""
    if parent.author_id == reply.author_id or not _is_member(
        session, reply.decision_id, parent.author_id
    ):
        return 0
    return _add(
        session,
        [parent.author_id],
        decision_id=reply.decision_id,
        kind=NotificationKind.COMMENT_REPLY.value,
        round_number=reply.round_number,
        comment_id=reply.id,
    )


def _held_back_replies(session: Session, decision_id: int, round_number: int) -> int:
    """The notifications of replies written in the round while it was hidden: every reply
    of the round to someone else's comment that has not told its parent's author yet."""
    parent = aliased(Comment)
    told = (
        select(col(Notification.id))
        .where(
            col(Notification.comment_id) == col(Comment.id),
            col(Notification.kind) == NotificationKind.COMMENT_REPLY.value,
        )
        .exists()
    )
    rows = session.exec(
        select(Comment, parent)
        .join(parent, col(parent.id) == col(Comment.parent_id))
        .where(
            col(Comment.decision_id) == decision_id,
            col(Comment.round_number) == round_number,
            col(parent.author_id) != col(Comment.author_id),
            ~told,
        )
        .order_by(col(Comment.id))
    ).all()
    return sum(comment_replied(session, reply, original) for reply, original in rows)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _shown(user_id: int) -> Any:
    """The notifications a person sees: theirs, in decisions they still belong to and that
    were not deleted."""
    return (
        select(Notification)
        .join(
            Member,
            and_(
                col(Member.decision_id) == col(Notification.decision_id),
                col(Member.user_id) == col(Notification.user_id),
            ),
        )
        .join(Decision, col(Decision.id) == col(Notification.decision_id))
        .where(col(Notification.user_id) == user_id, col(Decision.deleted).is_(False))
    )


def unread_count(session: Session, user_id: int) -> int:
    """How many notifications the person has not read (the header's count)."""
    stmt = _shown(user_id).where(col(Notification.read_at).is_(None))
    return int(session.exec(select(func.count()).select_from(stmt.subquery())).one())


@dataclass(frozen=True)
class Entry:
    """One notification in words, with what it is about (``target``: an endpoint and its
    values, ``anchor``: a fragment of that page)."""

    id: int
    kind: str
    decision_id: int
    decision_title: str
    created_at: datetime
    read: bool
    sentence: str
    subject: str
    target: tuple[str, dict[str, Any]]
    anchor: str = ""


@dataclass
class EntryPage:
    entries: list[Entry]
    next_before: int | None
    unread: int


def recent(
    session: Session, user_id: int, *, before: int | None = None, limit: int = PAGE_SIZE
) -> EntryPage:
    """The person's notifications, newest first (``before``: the next page's cursor)."""
    stmt = _shown(user_id)
    if before is not None:
        stmt = stmt.where(col(Notification.id) < before)
    rows = list(session.exec(stmt.order_by(col(Notification.id).desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return EntryPage(
        entries=describe(session, rows),
        next_before=rows[-1].id if more and rows else None,
        unread=unread_count(session, user_id),
    )


def _own(session: Session, user_id: int, notification_id: int) -> Notification:
    found = session.exec(_shown(user_id).where(col(Notification.id) == notification_id)).first()
    if found is None:
        raise NotFound("That notification does not exist.")
    return found  # type: ignore[no-any-return]


def open_notification(session: Session, user_id: int, notification_id: int) -> Entry:
    """Mark one of the person's notifications read; what it is about."""
    notification = _own(session, user_id, notification_id)
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.add(notification)
        session.flush()
    return describe(session, [notification])[0]


def mark_all_read(session: Session, user_id: int) -> int:
    """Mark every unread notification of the person read; how many there were."""
    result = session.execute(
        update(Notification)
        .where(col(Notification.user_id) == user_id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def describe(session: Session, rows: Sequence[Notification]) -> list[Entry]:
    """Notifications in words (a few queries for all of them together)."""
    decision_ids = {n.decision_id for n in rows}
    titles = dict(
        session.exec(
            select(col(Decision.id), col(Decision.title)).where(col(Decision.id).in_(decision_ids))
        ).all()
    )
    memo_ids = {n.memo_id for n in rows if n.memo_id is not None}
    memos = {
        m.id: (m.number, m.subject)
        for m in session.exec(select(Memo).where(col(Memo.id).in_(memo_ids)))
    }
    comment_ids = {n.comment_id for n in rows if n.comment_id is not None}
    comments = {
        c.id: c for c in session.exec(select(Comment).where(col(Comment.id).in_(comment_ids)))
    }
    people = _names(session, User, col(User.display_name), {c.author_id for c in comments.values()})
    options = _names(session, Option, col(Option.title), {c.option_id for c in comments.values()})
    criteria = _names(
        session,
        Criterion,
        col(Criterion.name),
        {c.criterion_id for c in comments.values() if c.criterion_id is not None},
    )
    entries = []
    for n in rows:
        title = titles.get(n.decision_id, f"decision {n.decision_id}")
        sentence, subject, target, anchor = _words(
            n, title, memos, comments, people, options, criteria
        )
        entries.append(
            Entry(
                id=n.id,
                kind=n.kind,
                decision_id=n.decision_id,
                decision_title=title,
                created_at=n.created_at,
                read=n.read_at is not None,
                sentence=sentence,
                subject=subject,
                target=target,
                anchor=anchor,
            )
        )
    return entries


def _names(session: Session, model: Any, column: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.exec(select(col(model.id), column).where(col(model.id).in_(ids))).all())


def _words(
    n: Notification,
    title: str,
    memos: dict[int, tuple[int, str]],
    comments: dict[int, Comment],
    people: dict[int, str],
    options: dict[int, str],
    criteria: dict[int, str],
) -> tuple[str, str, tuple[str, dict[str, Any]], str]:
    """(sentence, email subject, target, anchor) of one notification."""
    decision = {"decision_id": n.decision_id}
    number = n.round_number
    if n.kind == NotificationKind.ROUND_OPENED.value:
        if number == 1:
            sentence = f"Scoring started in “{title}”: round 1 is open."
        else:
            sentence = (
                f"Round {number} opened in “{title}”: analysts’ round {(number or 1) - 1} "
                "scores are carried over; review and change them where you see it differently."
            )
        return sentence, f"Round {number} opened: {title}", ("matrix.page", decision), ""
    if n.kind == NotificationKind.ROUND_REVEALED.value:
        sentence = (
            f"Round {number} of “{title}” was revealed: every analyst’s scores and the "
            "round’s comments are visible now."
        )
        return sentence, f"Round {number} revealed: {title}", ("matrix.page", decision), ""
    if n.kind == NotificationKind.MEMO_ISSUED.value:
        memo_number, memo_subject = memos.get(n.memo_id or 0, (None, ""))
        label = f"Memo {memo_number}" if memo_number else "A memo"
        sentence = f"{label} of “{title}” was issued" + (
            f": {memo_subject}." if memo_subject else "."
        )
        return sentence, f"{label} issued: {title}", ("memos.index", decision), ""
    comment = comments.get(n.comment_id or 0)
    if n.kind == NotificationKind.COMMENT_REPLY.value and comment is not None:
        who = people.get(comment.author_id, "Someone")
        option = options.get(comment.option_id, "an option")
        if comment.criterion_id is not None:
            where = f"{option} on {criteria.get(comment.criterion_id, 'a criterion')}"
            target = (
                "matrix.cell_detail",
                {**decision, "option_id": comment.option_id, "criterion_id": comment.criterion_id},
            )
        else:
            where = option
            target = ("options.detail", {**decision, "option_id": comment.option_id})
        sentence = f"{who} replied to your comment on {where} in “{title}”."
        return sentence, f"{who} replied to your comment: {title}", target, f"comment-{comment.id}"
    return f"Something happened in “{title}”.", title, ("decisions.overview", decision), ""
