"""Tables of the team's conversation: comments on cells and options, and notifications.

Part of the same model family as ``app.db.models`` (which imports this module, so every
table is registered together); the column helpers are shared from there.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from app.db.models import _fk, _ts


class Comment(SQLModel, table=True):
    """One message in a discussion: on a cell (``option_id`` and ``criterion_id``) or on an
    option (``criterion_id`` NULL), in a round, optionally replying to another comment.
    Markdown, rendered sanitised. Append-only: the database rejects UPDATE and DELETE."""

    __table_args__ = (
        Index("ix_comment_thread", "decision_id", "option_id", "criterion_id", "id"),
        Index("ix_comment_round", "decision_id", "round_number", "id"),
    )

    id: int = Field(default=None, primary_key=True)  # set by the database on flush
    decision_id: int = _fk("decision.id", ondelete="RESTRICT")
    round_number: int
    option_id: int = _fk("decision_option.id", ondelete="RESTRICT")
    criterion_id: int | None = _fk("criterion.id", nullable=True)
    parent_id: int | None = _fk("comment.id", nullable=True)
    author_id: int = _fk("user_account.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts()


class Notification(SQLModel, table=True):
    """Something a member should know (NotificationKind): a round opened or revealed, a memo
    issued, a reply to their comment. Shown in the app until read; emailed once
    (``emailed_at``) when SMTP is configured."""

    __table_args__ = (Index("ix_notification_user", "user_id", "read_at", "id"),)

    id: int = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    user_id: int = _fk("user_account.id", ondelete="CASCADE")
    decision_id: int = _fk("decision.id", ondelete="CASCADE")
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    round_number: int | None = None
    # What the notification is about, if a memo or a comment (plain ids, like a revision's:
    # memos and comments are append-only and never go away before their decision).
    memo_id: int | None = None
    comment_id: int | None = None
    created_at: datetime = _ts()
    read_at: datetime | None = _ts(nullable=True)
    emailed_at: datetime | None = _ts(nullable=True)
