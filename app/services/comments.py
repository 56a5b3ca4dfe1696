"""The discussion: a thread of comments per cell (option × criterion) and per option.

A comment is written in the decision's current round, in Markdown (rendered sanitised where
it is shown), at most ``COMMENT_MAX`` characters; a reply answers a top-level comment (a
reply to a reply joins the same thread). Comments are append-only, recorded as revisions
(entity ``comment``) in the same transaction, and shown under the blind-round rule of
:mod:`app.domain.discussion`: in a blind round before its reveal each member sees only their
own comments of the round — in threads, counts and notifications alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from app.db.conversation import Comment
from app.db.models import COMMENT_MAX, Criterion, Decision, Option, Round, User, strip_text
from app.domain import discussion, visibility
from app.domain.errors import Forbidden, InvalidInput, NotFound, ServiceError
from app.domain.policy import Action
from app.domain.vocabulary import DecisionStatus, Role
from app.services import criteria as criteria_service
from app.services import notifications, revisions
from app.services import options as option_service
from app.services.permissions import authorize, lock_decision, role_of

KIND = "comment"
CLOSED = (
    "This decision is closed. The facilitator can reopen it (status: scoring) to continue "
    "the discussion."
)

CellKey = tuple[int, int | None]  # (option, criterion or None for the option's own thread)


def hidden_rounds(*, session: Session, decision: Decision) -> frozenset[int]:
    """Numbers of the decision's rounds that are blind and unrevealed now."""
    rounds = session.exec(select(Round).where(col(Round.decision_id) == decision.id))
    return visibility.hidden_rounds(decision.scoring_mode, rounds)


def visible_clause(*, hidden: frozenset[int], viewer_id: int) -> ColumnElement[bool]:
    """SQL for :func:`app.domain.discussion.comment_visible`."""
    if not hidden:
        return col(Comment.id).is_not(None)
    return or_(
        col(Comment.author_id) == viewer_id, col(Comment.round_number).not_in(sorted(hidden))
    )


@dataclass
class CommentView:
    id: int
    author_id: int
    author: str
    round_number: int
    created_at: datetime
    body: str
    parent_id: int | None
    mine: bool
    replies: list[CommentView] = field(default_factory=list)


@dataclass
class Thread:
    """One thread as a viewer may see it: top-level comments oldest first, each with its
    replies. ``hidden_round``: the current round, if it is blind and unrevealed (others'
    comments of it are not shown); ``can_write``: the viewer may post here now."""

    decision_id: int
    option: Option
    criterion: Criterion | None
    comments: list[CommentView]
    count: int
    current_round: int
    hidden_round: int | None
    can_write: bool

    @property
    def key(self) -> str:
        """A stable id fragment for this thread's elements."""
        return f"{self.option.id}-{self.criterion.id if self.criterion else 'o'}"


def _place(
    *, session: Session, decision_id: int, option_id: int, criterion_id: int | None
) -> tuple[Option, Criterion | None]:
    option = option_service.get_option(
        session=session, decision_id=decision_id, option_id=option_id
    )
    criterion = (
        criteria_service.get_criterion(
            session=session, decision_id=decision_id, criterion_id=criterion_id
        )
        if criterion_id is not None
        else None
    )
    return option, criterion


def _in_thread(option_id: int, criterion_id: int | None) -> list[ColumnElement[bool]]:
    where = [col(Comment.option_id) == option_id]
    if criterion_id is None:
        where.append(col(Comment.criterion_id).is_(None))
    else:
        where.append(col(Comment.criterion_id) == criterion_id)
    return where


def may_write(decision: Decision, role: Role | None) -> bool:
    return (
        role is not None
        and discussion.may_comment(role)
        and decision.status != DecisionStatus.CLOSED.value
    )


def thread(
    *,
    session: Session,
    decision: Decision,
    viewer_id: int,
    option_id: int,
    criterion_id: int | None = None,
) -> Thread:
    """The thread of a cell (``criterion_id`` given) or of an option, as the viewer may see
    it. NotFound for a non-member or an option or criterion not in the decision."""
    assert decision.id is not None
    role = role_of(session=session, decision_id=decision.id, user_id=viewer_id)
    if role is None:
        raise NotFound("That decision does not exist or you are not a member of it.")
    option, criterion = _place(
        session=session, decision_id=decision.id, option_id=option_id, criterion_id=criterion_id
    )
    hidden = hidden_rounds(session=session, decision=decision)
    rows = session.exec(
        select(Comment, col(User.display_name))
        .join(User, col(User.id) == col(Comment.author_id))
        .where(
            col(Comment.decision_id) == decision.id,
            *_in_thread(option_id, criterion_id),
            visible_clause(hidden=hidden, viewer_id=viewer_id),
        )
        .order_by(col(Comment.id))
    ).all()
    top: list[CommentView] = []
    by_id: dict[int, CommentView] = {}
    for comment, author in rows:
        view = CommentView(
            id=comment.id,
            author_id=comment.author_id,
            author=author,
            round_number=comment.round_number,
            created_at=comment.created_at,
            body=comment.body,
            parent_id=comment.parent_id,
            mine=comment.author_id == viewer_id,
        )
        by_id[comment.id] = view
        parent = by_id.get(comment.parent_id) if comment.parent_id is not None else None
        if parent is not None:
            parent.replies.append(view)
        else:
            top.append(view)
    current = decision.current_round
    return Thread(
        decision_id=decision.id,
        option=option,
        criterion=criterion,
        comments=top,
        count=len(rows),
        current_round=current,
        hidden_round=current if current in hidden else None,
        can_write=may_write(decision, role),
    )


def visible_counts(*, session: Session, decision: Decision, viewer_id: int) -> dict[CellKey, int]:
    """How many comments the viewer may see per thread: ``(option_id, criterion_id)`` for a
    cell, ``(option_id, None)`` for an option's own thread (threads without any are absent).
    One grouped query, for the matrix's marks."""
    hidden = hidden_rounds(session=session, decision=decision)
    rows = session.exec(
        select(col(Comment.option_id), col(Comment.criterion_id), func.count())
        .where(
            col(Comment.decision_id) == decision.id,
            visible_clause(hidden=hidden, viewer_id=viewer_id),
        )
        .group_by(col(Comment.option_id), col(Comment.criterion_id))
    ).all()
    return {(int(o), int(c) if c is not None else None): int(n) for o, c, n in rows}


def parse_body(raw: Any) -> str:
    body = strip_text(raw if isinstance(raw, str) else "")
    if not body:
        raise InvalidInput({"body": "Write something before posting."})
    if len(body) > COMMENT_MAX:
        raise InvalidInput(
            {
                "body": f"A comment has at most {COMMENT_MAX:,} characters; this one has "
                f"{len(body):,}. Shorten it or split it in two."
            }
        )
    return str(body)


def post_comment(
    *,
    session: Session,
    decision: Decision,
    actor_id: int,
    option_id: int,
    criterion_id: int | None,
    body: Any,
    parent_id: int | None = None,
) -> Comment:
    """Post a comment (or a reply to ``parent_id``) in the current round, with its revision
    and, for a reply, the notification of the comment's author (at once, or at the reveal
    when the round is hidden)."""
    decision = lock_decision(session, decision, shared=True)
    assert decision.id is not None
    actor = authorize(session=session, decision=decision, user_id=actor_id, action=Action.VIEW)
    if not discussion.may_comment(actor.role):
        raise Forbidden(discussion.COMMENT_REFUSAL)
    if decision.status == DecisionStatus.CLOSED.value:
        raise ServiceError(CLOSED, status=409)
    _place(session=session, decision_id=decision.id, option_id=option_id, criterion_id=criterion_id)
    text = parse_body(body)
    hidden = hidden_rounds(session=session, decision=decision)
    parent = None
    if parent_id is not None:
        parent = _parent(session, decision.id, option_id, criterion_id, parent_id, actor_id, hidden)
    comment = Comment(
        decision_id=decision.id,
        round_number=decision.current_round,
        option_id=option_id,
        criterion_id=criterion_id,
        parent_id=parent.id if parent else None,
        author_id=actor_id,
        body=text,
    )
    session.add(comment)
    session.flush()
    revisions.record(
        session=session,
        decision_id=decision.id,
        actor_id=actor_id,
        entity=KIND,
        entity_id=comment.id,
        action="create",
        option_id=option_id,
        criterion_id=criterion_id,
        round_number=comment.round_number,
        before=None,
        after={"body": text, "parent_id": comment.parent_id},
    )
    if parent is not None and discussion.reply_notice_now(
        round_number=comment.round_number, hidden=hidden
    ):
        notifications.comment_replied(session, comment, parent)
    return comment


def _parent(
    session: Session,
    decision_id: int,
    option_id: int,
    criterion_id: int | None,
    parent_id: int,
    viewer_id: int,
    hidden: frozenset[int],
) -> Comment:
    """The comment a reply answers: in the same thread and visible to the one replying; a
    reply to a reply answers the thread's first comment."""
    parent = session.get(Comment, parent_id)
    if (
        parent is None
        or parent.decision_id != decision_id
        or parent.option_id != option_id
        or parent.criterion_id != criterion_id
        or not discussion.comment_visible(
            author_id=parent.author_id,
            round_number=parent.round_number,
            viewer_id=viewer_id,
            hidden=hidden,
        )
    ):
        raise NotFound("The comment you are replying to is not in this discussion.")
    if parent.parent_id is not None:
        root = session.get(Comment, parent.parent_id)
        if root is not None:
            return root
    return parent
