"""Tables of Options Matrix (SQLModel on SQLAlchemy 2).

Vocabulary follows the product: a decision has members (facilitator, analyst, observer),
options, criteria, rounds of scores, an append-only list of revisions and issued memos.
Input is validated with the non-table models in ``app.db.schemas`` before rows are built.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


def _fk(
    target: str, *, nullable: bool = False, ondelete: str = "RESTRICT", index: bool = False
) -> Any:
    return Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
        ),
    )


class Role(StrEnum):
    OBSERVER = "observer"
    ANALYST = "analyst"
    FACILITATOR = "facilitator"

    @property
    def level(self) -> int:
        return {"observer": 0, "analyst": 1, "facilitator": 2}[self.value]


class DecisionStatus(StrEnum):
    DRAFT = "draft"
    SCORING = "scoring"
    CLOSED = "closed"


class ScoringMode(StrEnum):
    OPEN = "open"
    BLIND = "blind"


class OptionStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class Direction(StrEnum):
    BENEFIT = "benefit"
    COST = "cost"


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    display_name: str = Field(sa_column=Column(String(120), nullable=False))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    is_admin: bool = False
    # Bumped by logout and password changes: every signed cookie carrying an older value dies.
    session_version: int = 1
    created_at: datetime = _ts()


class Decision(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_column=Column(String(200), nullable=False))
    question: str = Field(default="", sa_column=Column(Text, nullable=False))
    background: str = Field(default="", sa_column=Column(Text, nullable=False))
    scale_min: int = 1
    scale_max: int = 5
    classification: str = Field(
        default="UNCLASSIFIED", sa_column=Column(String(80), nullable=False)
    )
    status: str = Field(
        default=DecisionStatus.SCORING.value, sa_column=Column(String(16), nullable=False)
    )
    scoring_mode: str = Field(
        default=ScoringMode.OPEN.value, sa_column=Column(String(16), nullable=False)
    )
    aggregation: str = Field(default="mean", sa_column=Column(String(16), nullable=False))
    name_analysts_in_memo: bool = False
    current_round: int = 1
    version: int = 1
    created_by: int | None = _fk("user_account.id", nullable=True)
    created_at: datetime = _ts()


class Member(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("decision_id", "user_id", name="uq_member_decision_user"),)

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = _fk("decision.id", ondelete="CASCADE", index=True)
    user_id: int = _fk("user_account.id", ondelete="CASCADE", index=True)
    role: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = _ts()


class Option(SQLModel, table=True):
    __tablename__ = "decision_option"

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = _fk("decision.id", ondelete="CASCADE", index=True)
    title: str = Field(sa_column=Column(String(200), nullable=False))
    summary: str = Field(default="", sa_column=Column(String(500), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(
        default=OptionStatus.ACTIVE.value, sa_column=Column(String(16), nullable=False)
    )
    position: int = 0
    version: int = 1
    created_by: int | None = _fk("user_account.id", nullable=True)
    created_at: datetime = _ts()


class Criterion(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = _fk("decision.id", ondelete="CASCADE", index=True)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    weight: float = 1.0
    direction: str = Field(
        default=Direction.BENEFIT.value, sa_column=Column(String(16), nullable=False)
    )
    position: int = 0
    version: int = 1
    created_at: datetime = _ts()


class Round(SQLModel, table=True):
    __tablename__ = "scoring_round"
    __table_args__ = (UniqueConstraint("decision_id", "number", name="uq_round_decision_number"),)

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = _fk("decision.id", ondelete="CASCADE", index=True)
    number: int
    opened_at: datetime = _ts()
    opened_by: int | None = _fk("user_account.id", nullable=True)
    revealed_at: datetime | None = _ts(nullable=True)
    revealed_by: int | None = _fk("user_account.id", nullable=True)


class RoundCompletion(SQLModel, table=True):
    """An analyst's "my scoring is done" mark for one round."""

    __tablename__ = "round_completion"

    round_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("scoring_round.id", ondelete="CASCADE"), primary_key=True
        )
    )
    analyst_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
        )
    )
    done_at: datetime = _ts()


class Score(SQLModel, table=True):
    """One analyst's judgement of one option on one criterion in one round.

    ``value`` is NULL when the cell is empty or marked N/A (``not_applicable``).
    """

    __table_args__ = (Index("ix_score_round_option", "round_id", "option_id"),)

    round_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("scoring_round.id", ondelete="CASCADE"), primary_key=True
        )
    )
    option_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("decision_option.id", ondelete="CASCADE"), primary_key=True
        )
    )
    criterion_id: int = Field(
        sa_column=Column(Integer, ForeignKey("criterion.id", ondelete="CASCADE"), primary_key=True)
    )
    analyst_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
        )
    )
    value: float | None = None
    not_applicable: bool = False
    rationale: str = Field(default="", sa_column=Column(Text, nullable=False))
    updated_at: datetime = _ts()


class Revision(SQLModel, table=True):
    """One recorded change. Append-only: the database rejects UPDATE and DELETE."""

    __table_args__ = (
        Index("ix_revision_decision_id", "decision_id", "id"),
        Index("ix_revision_option", "option_id", "id"),
        Index("ix_revision_actor", "decision_id", "actor_id", "id"),
        Index("ix_revision_entity", "decision_id", "entity", "entity_id", "id"),
        Index("ix_revision_kind", "decision_id", "entity", "id"),
        Index("ix_revision_criterion", "criterion_id", "id"),
        Index("ix_revision_created", "decision_id", "created_at"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    decision_id: int = _fk("decision.id", ondelete="RESTRICT")
    actor_id: int | None = _fk("user_account.id", nullable=True)
    created_at: datetime = _ts()
    entity: str = Field(sa_column=Column(String(32), nullable=False))
    entity_id: str = Field(sa_column=Column(String(64), nullable=False))
    action: str = Field(sa_column=Column(String(32), nullable=False))
    option_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    criterion_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    round_number: int | None = None
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Memo(SQLModel, table=True):
    """An issued PDF memo: immutable bytes, their SHA-256 and the snapshot they came from."""

    __table_args__ = (Index("ix_memo_decision", "decision_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = _fk("decision.id", ondelete="RESTRICT")
    round_number: int
    revision_id: int | None = None
    issued_by: int | None = _fk("user_account.id", nullable=True)
    issued_at: datetime = _ts()
    subject: str = Field(sa_column=Column(String(300), nullable=False))
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    snapshot: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    snapshot_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    app_version: str = Field(sa_column=Column(String(32), nullable=False))
