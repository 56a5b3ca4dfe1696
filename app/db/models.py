"""Tables of Options Matrix (SQLModel on SQLAlchemy 2).

Vocabulary follows the product: a decision has members (facilitator, analyst, observer),
options, criteria, rounds of scores, an append-only list of revisions and issued memos.
Input is validated with the non-table models in ``app.db.schemas`` before rows are built.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from pydantic import field_validator
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
    false,
)
from sqlmodel import Field, SQLModel

from app.domain.vocabulary import (  # noqa: F401  (re-exported: the tables' vocabulary)
    Aggregation,
    CriterionStatus,
    DecisionStatus,
    Direction,
    MissingPolicy,
    OptionStatus,
    Paper,
    Role,
    ScoringMode,
)

TITLE_MAX = 200
SUMMARY_MAX = 500
TEXT_MAX = 20_000
RATIONALE_MAX = 2_000
ANCHOR_MAX = 80
COMMENT_MAX = 5_000


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


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int = Field(default=None, primary_key=True)  # set by the database on flush
    username: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    display_name: str = Field(sa_column=Column(String(120), nullable=False))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    # Where one-time password links and notifications may be emailed (optional).
    email: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    is_admin: bool = False
    # Bumped by logout and password changes: every signed cookie carrying an older value dies.
    session_version: int = 1
    created_at: datetime = _ts()


class Member(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("decision_id", "user_id", name="uq_member_decision_user"),)

    id: int = Field(default=None, primary_key=True)  # set by the database on flush
    decision_id: int = _fk("decision.id", ondelete="CASCADE", index=True)
    user_id: int = _fk("user_account.id", ondelete="CASCADE", index=True)
    role: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = _ts()


# --------------------------------------------------------------------------------------------
# Versioned entities, one family each: Base (the constrained fields a person writes), State (what
# a revision records), the table, Read (with its id), Create and Update (input, validated).
# Table models skip validation in ``__init__``: input is parsed with Create/Update first.
# --------------------------------------------------------------------------------------------


# Characters that take no room on the page: zero-width spaces and joiners, word joiner, BOM,
# and the bidirectional marks, embeddings, overrides and isolates.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def strip_text(value: Any) -> Any:
    """Text without spaces or invisible characters at its edges, so a title of nothing
    visible is empty (and refused where a title is required)."""
    if not isinstance(value, str):
        return value
    stripped = value.strip(" \t\r\n\f\v" + INVISIBLE)
    while stripped != (again := stripped.strip().strip(INVISIBLE)):
        stripped = again
    return stripped


class DecisionBase(SQLModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX, sa_type=String(TITLE_MAX))
    question: str = Field(default="", max_length=TEXT_MAX, sa_type=Text)
    background: str = Field(default="", max_length=TEXT_MAX, sa_type=Text)
    scale_min: int = Field(default=1, ge=-100, le=100)
    scale_max: int = Field(default=5, ge=-100, le=100)
    classification: str = Field(
        default="UNCLASSIFIED", min_length=1, max_length=80, sa_type=String(80)
    )

    _strip_title = field_validator("title", "classification", mode="before")(strip_text)


class DecisionSettings(DecisionBase):
    """What a revision records of a decision (and what history rebuilds from it)."""

    status: str = Field(default=DecisionStatus.SCORING.value, sa_type=String(16))
    scoring_mode: str = Field(default=ScoringMode.OPEN.value, sa_type=String(16))
    aggregation: str = Field(default=Aggregation.MEAN.value, sa_type=String(16))
    # How a missing or N/A score counts in a total (MissingPolicy); existing rows: skip.
    missing_policy: str = Field(
        default=MissingPolicy.SKIP.value,
        sa_type=String(16),
        sa_column_kwargs={"server_default": MissingPolicy.SKIP.value},
    )
    name_analysts_in_memo: bool = False
    current_round: int = 1
    # The memo's paper (Paper); existing rows: letter.
    paper: str = Field(
        default=Paper.LETTER.value,
        sa_type=String(16),
        sa_column_kwargs={"server_default": Paper.LETTER.value},
    )
    # Archived: hidden from home pages, restorable. Deleted: a draft removed by its
    # facilitator, gone from every page (its revisions stay: history is append-only).
    archived: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    deleted: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class Decision(DecisionSettings, table=True):
    id: int = Field(default=None, primary_key=True)  # set by the database on flush
    version: int = 1
    created_by: int | None = _fk("user_account.id", nullable=True)
    created_at: datetime = _ts()


class DecisionRead(DecisionSettings):
    id: int
    version: int = 1
    created_by: int | None = None
    created_at: datetime | None = None


class DecisionCreate(DecisionBase):
    pass


class OptionBase(SQLModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX, sa_type=String(TITLE_MAX))
    summary: str = Field(default="", max_length=SUMMARY_MAX, sa_type=String(SUMMARY_MAX))
    description: str = Field(default="", max_length=TEXT_MAX, sa_type=Text)

    _strip_title = field_validator("title", "summary", mode="before")(strip_text)


class OptionState(OptionBase):
    """What a revision records of an option (and what history rebuilds from it)."""

    status: str = Field(default=OptionStatus.ACTIVE.value, sa_type=String(16))
    position: int = 0
    version: int = 1


class Option(OptionState, table=True):
    __tablename__ = "decision_option"

    id: int = Field(default=None, primary_key=True)  # set by the database on flush
    decision_id: int = _fk("decision.id", ondelete="CASCADE", index=True)
    created_by: int | None = _fk("user_account.id", nullable=True)
    created_at: datetime = _ts()


class OptionRead(OptionState):
    id: int
    decision_id: int
    created_by: int | None = None
    created_at: datetime | None = None


class OptionCreate(OptionBase):
    pass


class OptionUpdate(OptionBase):
    version: int = Field(ge=1)


class CriterionBase(SQLModel):
    name: str = Field(min_length=1, max_length=TITLE_MAX, sa_type=String(TITLE_MAX))
    description: str = Field(default="", max_length=TEXT_MAX, sa_type=Text)
    weight: float = Field(default=1.0, ge=0, le=1_000_000)

    _strip_name = field_validator("name", mode="before")(strip_text)

    @field_validator("weight", mode="before")
    @classmethod
    def _finite(cls, value: Any) -> Any:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return value  # reported as "must be a number"
        if not math.isfinite(number):
            raise ValueError("must be a finite number")
        return value


class CriterionState(CriterionBase):
    """What a revision records of a criterion (and what history rebuilds from it)."""

    direction: str = Field(default=Direction.BENEFIT.value, sa_type=String(16))
    status: str = Field(
        default=CriterionStatus.ACTIVE.value,
        sa_type=String(16),
        sa_column_kwargs={"server_default": CriterionStatus.ACTIVE.value},
    )
    # Verbal anchors, one per scale point from the lowest up ("very poor" … "very good");
    # empty: the defaults for the criterion's direction (app.domain.anchors).
    anchors: list[str] = Field(default_factory=list, sa_type=JSON)
    position: int = 0
    version: int = 1


class Criterion(CriterionState, table=True):
    id: int = Field(default=None, primary_key=True)  # set by the database on flush
    decision_id: int = _fk("decision.id", ondelete="CASCADE", index=True)
    created_at: datetime = _ts()


class CriterionRead(CriterionState):
    id: int
    decision_id: int
    created_at: datetime | None = None


class CriterionCreate(CriterionBase):
    weight: float = Field(ge=0, le=1_000_000)
    direction: Direction = Direction.BENEFIT


class CriterionUpdate(CriterionCreate):
    version: int = Field(ge=1)


class Round(SQLModel, table=True):
    __tablename__ = "scoring_round"
    __table_args__ = (UniqueConstraint("decision_id", "number", name="uq_round_decision_number"),)

    id: int = Field(default=None, primary_key=True)  # set by the database on flush
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

    __table_args__ = (
        Index("ix_score_round_option", "round_id", "option_id"),
        Index("ix_score_round_analyst", "round_id", "analyst_id"),
    )

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

    id: int = Field(
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


class DecisionChange(SQLModel, table=True):
    """A decision's change numbers: ``number`` is raised by one in every transaction that
    records a revision of the decision, as that transaction's last statement, and
    ``structure_number`` when one of those revisions changes more than scores (see
    ``app.db.changes``).

    Live pages poll with the number they show; the row lock taken by the raise orders the
    numbers as the transactions commit, so a page never skips a change committed late.
    """

    __tablename__ = "decision_change"

    decision_id: int = Field(
        sa_column=Column(Integer, ForeignKey("decision.id", ondelete="CASCADE"), primary_key=True)
    )
    number: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    # Raised only by changes to the matrix's structure (the decision's settings, rounds,
    # options, criteria, weights, members): not by scores or "done" marks.
    structure_number: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class GroupViewCache(SQLModel, table=True):
    """Computed group views shared by every worker and host when no Redis is configured.

    A key names a decision, a round, a change number, a method and a visibility, so its
    payload never changes once written; old change numbers are pruned as new ones arrive.
    """

    __tablename__ = "group_view_cache"
    __table_args__ = (Index("ix_group_view_cache_decision", "decision_id", "change_number"),)

    key: str = Field(sa_column=Column(String(120), primary_key=True))
    decision_id: int = Field(
        sa_column=Column(Integer, ForeignKey("decision.id", ondelete="CASCADE"), nullable=False)
    )
    change_number: int = Field(sa_column=Column(BigInteger, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts()


class Memo(SQLModel, table=True):
    """An issued memo: immutable PDF bytes (and its Word copy), their SHA-256 and the
    snapshot they came from. ``number`` counts the decision's memos from 1."""

    __table_args__ = (
        Index("ix_memo_decision", "decision_id", "id"),
        UniqueConstraint("decision_id", "number", name="uq_memo_decision_number"),
    )

    id: int = Field(default=None, primary_key=True)  # set by the database on flush
    decision_id: int = _fk("decision.id", ondelete="RESTRICT")
    number: int
    round_number: int
    revision_id: int | None = None
    issued_by: int | None = _fk("user_account.id", nullable=True)
    issued_at: datetime = _ts()
    subject: str = Field(sa_column=Column(String(300), nullable=False))
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    # The Word copy for clearance, rendered from the same snapshot (absent for memos issued
    # before Word copies existed).
    docx: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    docx_sha256: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    snapshot: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    snapshot_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    app_version: str = Field(sa_column=Column(String(32), nullable=False))


class AuditEvent(SQLModel, table=True):
    """One security-relevant event: who (``actor_id``, or the ``username`` a failed login
    tried), when, from where (``remote_addr``), what (``kind`` and ``details``) and in which
    decision, if any. Append-only: the database rejects UPDATE and DELETE."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_kind", "kind", "id"),
        Index("ix_audit_event_decision", "decision_id", "id"),
    )

    id: int = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    created_at: datetime = _ts()
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    actor_id: int | None = _fk("user_account.id", nullable=True)
    username: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    remote_addr: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    decision_id: int | None = _fk("decision.id", nullable=True)
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class LoginThrottle(SQLModel, table=True):
    """Counters of failed logins (per username, per address) when no Redis is configured:
    the storage behind the rate limiter (``app.adapters.limiter_storage``). A counter holds
    ``hits`` until ``expires_ms`` (milliseconds since the epoch), then starts again."""

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_expires", "expires_ms"),)

    key: str = Field(sa_column=Column(String(255), primary_key=True))
    hits: int = Field(sa_column=Column(Integer, nullable=False))
    expires_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class PasswordLink(SQLModel, table=True):
    """A one-time link that lets a person set their password (a new account's first one).
    Only the SHA-256 of the link's secret is stored; the link works once (``used_at``) and
    until ``expires_at``. ``email`` is where the link may be sent, if anywhere."""

    __tablename__ = "password_link"

    id: int = Field(default=None, primary_key=True)
    user_id: int = _fk("user_account.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    email: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    created_by_id: int | None = _fk("user_account.id", nullable=True)
    created_at: datetime = _ts()
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = _ts(nullable=True)


# The team's conversation (comments, notifications) lives in its own module; importing it
# here registers its tables with everything else's.
from app.db.conversation import Comment, Notification  # noqa: E402, F401
