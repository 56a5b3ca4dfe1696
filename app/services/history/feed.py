"""The activity feed and option timelines: revisions newest first, as the viewer may see them,
and the memos issued in between.

Pages are keyset pages (``id < before``). The blind-round rule is applied in SQL
(:func:`visible_clause`), so a page is never short of entries the viewer may see.

An issued memo stands in the feed just after the revision it reflects (the latest change its
snapshot read), and in the timeline of every option it cites (the options in its matrix).
Memos are not revisions: a page carries the memos whose revision falls within the page's
span of revision ids, so each memo appears on exactly one page. Every member may see every
memo (a memo only reports a round the group has seen).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, func, literal, or_
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.db.models import Criterion, Decision, Member, Memo, Option, Revision, User
from app.domain.errors import NotFound, ServiceError
from app.services import options as option_service
from app.services.history.state import decision_id_of, hidden_today

PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 30

# The kinds of change a feed can be filtered by: the entities revisions are recorded for.
KINDS = ("option", "score", "criterion", "round", "member", "decision", "memo", "comment")
MEMO_KIND = "memo"
# The texts of an option that a timeline can bring back.
TEXT_KEYS = ("title", "summary", "description")


def revision_id(revision: Revision) -> int:
    """The id of a stored revision (set by the database on insert)."""
    assert revision.id is not None, "revision not stored yet"
    return revision.id


# --------------------------------------------------------------------------------------------
# Names for sentences
# --------------------------------------------------------------------------------------------


@dataclass
class Names:
    """Display names for sentences: people, options (current titles) and criteria."""

    users: dict[int, str]
    options: dict[int, str]
    criteria: dict[int, str]

    def user(self, user_id: Any) -> str:
        if user_id is None:
            return "Someone"
        return self.users.get(int(user_id), f"User {user_id}")

    def option(self, option_id: Any) -> str:
        return self.options.get(int(option_id), f"option {option_id}") if option_id else "?"

    def criterion(self, criterion_id: Any) -> str:
        if not criterion_id:
            return "?"
        return self.criteria.get(int(criterion_id), f"criterion {criterion_id}")


def _by_id(rows: Iterable[tuple[int | None, str]]) -> dict[int, str]:
    return {key: name for key, name in rows if key is not None}


def load_names(*, session: Session, decision_id: int, extra_users: Iterable[int] = ()) -> Names:
    """The decision's members, options and criteria by id (plus ``extra_users``: people who
    acted in the decision but are no longer members)."""
    users = _by_id(
        session.exec(
            select(col(User.id), col(User.display_name))
            .join(Member, col(Member.user_id) == col(User.id))
            .where(col(Member.decision_id) == decision_id)
        )
    )
    missing = {int(u) for u in extra_users if u is not None} - set(users)
    if missing:
        users |= _by_id(
            session.exec(
                select(col(User.id), col(User.display_name)).where(col(User.id).in_(missing))
            )
        )
    options = _by_id(
        session.exec(
            select(col(Option.id), col(Option.title)).where(col(Option.decision_id) == decision_id)
        )
    )
    criteria = _by_id(
        session.exec(
            select(col(Criterion.id), col(Criterion.name)).where(
                col(Criterion.decision_id) == decision_id
            )
        )
    )
    return Names(users=users, options=options, criteria=criteria)


# --------------------------------------------------------------------------------------------
# Visibility of revisions, in SQL
# --------------------------------------------------------------------------------------------


def visible_clause(*, hidden: Iterable[int], viewer_id: int) -> ColumnElement[bool]:
    """SQL condition for the revisions a viewer may see in the feed and timelines.

    Hides (1) other analysts' score revisions and other members' comments of rounds in
    ``hidden`` and (2) the scores a
    new round copies from the previous one: those are not changes, and the round's "open"
    entry says that analysts start from their previous scores. Score revisions are keyed
    "round:option:criterion:analyst".
    """
    entity, entity_id = col(Revision.entity), col(Revision.entity_id)
    not_carried = or_(
        entity != "score",
        col(Revision.action) != "create",
        col(Revision.actor_id).is_(None),
        entity_id.like(literal("%:", String) + cast(col(Revision.actor_id), String)),
    )
    hidden_numbers = sorted(hidden)
    if not hidden_numbers:
        return not_carried
    return and_(
        not_carried,
        or_(
            entity != "score",
            col(Revision.round_number).not_in(hidden_numbers),
            entity_id.like(f"%:{int(viewer_id)}"),
        ),
        # Comments written in a hidden round: only their author's (app.domain.discussion).
        or_(
            entity != "comment",
            col(Revision.round_number).not_in(hidden_numbers),
            col(Revision.actor_id) == int(viewer_id),
        ),
    )


# --------------------------------------------------------------------------------------------
# Feed and timelines (keyset pagination: id < cursor, newest first)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedFilter:
    actor_id: int | None = None
    option_id: int | None = None
    criterion_id: int | None = None
    kind: str | None = None

    @property
    def active(self) -> bool:
        return any(
            v is not None for v in (self.actor_id, self.option_id, self.criterion_id, self.kind)
        )


@dataclass(frozen=True)
class MemoMark:
    """An issued memo as the feed shows it: who issued it when, the round and the revision
    its snapshot reflects (``revision_id``, None for a decision with no revision), the
    options it cites, and whether it has a Word copy."""

    id: int
    number: int
    subject: str
    issued_at: datetime
    issued_by: int | None
    round_number: int
    revision_id: int | None
    option_ids: frozenset[int]
    has_docx: bool

    @property
    def position(self) -> int:
        """The revision the memo follows in the feed (0: before every revision)."""
        return self.revision_id or 0


@dataclass
class Page:
    """One page of revisions, newest first; ``next_before`` is the cursor of the next page.

    ``restorable`` holds the option revisions whose text differs from the option's current
    text (filled for an option's timeline); ``memos`` the memos issued within the page's
    span of revisions."""

    revisions: list[Revision]
    names: Names
    next_before: int | None
    restorable: frozenset[int] = field(default_factory=frozenset)
    memos: list[MemoMark] = field(default_factory=list)


def _page(
    session: Session,
    stmt: SelectOfScalar[Revision] | None,
    *,
    decision_id: int,
    limit: int,
    before: int | None = None,
    memo_filter: MemoFilter | None = None,
) -> Page:
    """A page of the revisions ``stmt`` selects (none for None), with the memos that pass
    ``memo_filter`` (no memos for None)."""
    rows = (
        []
        if stmt is None
        else list(session.exec(stmt.order_by(col(Revision.id).desc()).limit(limit + 1)))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_before = revision_id(rows[-1]) if more and rows else None
    memos = (
        []
        if memo_filter is None
        else memo_marks(
            session=session,
            decision_id=decision_id,
            newest=None if before is None else before - 1,
            oldest=next_before,
            memo_filter=memo_filter,
        )
    )
    names = load_names(
        session=session,
        decision_id=decision_id,
        extra_users=[r.actor_id for r in rows if r.actor_id is not None]
        + [m.issued_by for m in memos if m.issued_by is not None]
        # A removed member who never acted is still named in their membership entries.
        + [int(r.entity_id) for r in rows if r.entity == "member" and r.entity_id.isdigit()],
    )
    return Page(rows, names, next_before, memos=memos)


@dataclass(frozen=True)
class MemoFilter:
    """Which memos a page shows: issued by ``actor_id``, citing ``option_id`` (or criterion
    ``criterion_id``), when given."""

    actor_id: int | None = None
    option_id: int | None = None
    criterion_id: int | None = None


def _cited(snapshot: Mapping[str, Any], key: str) -> frozenset[int]:
    if key == "criteria":
        return frozenset(int(c["id"]) for c in snapshot.get("criteria") or [])
    rows = (snapshot.get("matrix") or {}).get("rows") or []
    return frozenset(int(r["option_id"]) for r in rows)


def memo_marks(
    *,
    session: Session,
    decision_id: int,
    newest: int | None,
    oldest: int | None,
    memo_filter: MemoFilter = MemoFilter(),
) -> list[MemoMark]:
    """The decision's memos whose revision lies in ``[oldest, newest]`` (either end open when
    None), newest first, as ``memo_filter`` lets through."""
    position = func.coalesce(col(Memo.revision_id), 0)
    stmt = sa_select(
        col(Memo.id),
        col(Memo.number),
        col(Memo.subject),
        col(Memo.issued_at),
        col(Memo.issued_by),
        col(Memo.round_number),
        col(Memo.revision_id),
        col(Memo.docx_sha256),
        col(Memo.snapshot),
    ).where(col(Memo.decision_id) == decision_id)
    if newest is not None:
        stmt = stmt.where(position <= newest)
    if oldest is not None:
        stmt = stmt.where(position >= oldest)
    if memo_filter.actor_id is not None:
        stmt = stmt.where(col(Memo.issued_by) == memo_filter.actor_id)
    marks = []
    rows = session.execute(stmt.order_by(position.desc(), col(Memo.id).desc()))
    for mid, number, subject, issued_at, by, round_number, rev, docx, snapshot in rows:
        cited = _cited(snapshot or {}, "options")
        if memo_filter.option_id is not None and memo_filter.option_id not in cited:
            continue
        if memo_filter.criterion_id is not None and memo_filter.criterion_id not in _cited(
            snapshot or {}, "criteria"
        ):
            continue
        marks.append(
            MemoMark(
                mid, number, subject, issued_at, by, round_number, rev, cited, docx is not None
            )
        )
    return marks


def feed_page(
    *,
    session: Session,
    decision: Decision,
    viewer_id: int,
    filters: FeedFilter = FeedFilter(),
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """The decision's activity, newest first, as the viewer may see it."""
    if filters.kind is not None and filters.kind not in KINDS:
        raise ServiceError("Unknown kind of change.")
    decision_id = decision_id_of(decision)
    stmt: SelectOfScalar[Revision] | None = select(Revision).where(
        col(Revision.decision_id) == decision_id,
        visible_clause(
            hidden=hidden_today(session=session, decision=decision), viewer_id=viewer_id
        ),
    )
    assert stmt is not None
    if before is not None:
        stmt = stmt.where(col(Revision.id) < before)
    if filters.actor_id is not None:
        stmt = stmt.where(col(Revision.actor_id) == filters.actor_id)
    if filters.option_id is not None:
        stmt = stmt.where(col(Revision.option_id) == filters.option_id)
    if filters.criterion_id is not None:
        stmt = stmt.where(col(Revision.criterion_id) == filters.criterion_id)
    if filters.kind == MEMO_KIND:
        stmt = None  # memos only
    elif filters.kind is not None:
        stmt = stmt.where(col(Revision.entity) == filters.kind)
    memo_filter = (
        MemoFilter(filters.actor_id, filters.option_id, filters.criterion_id)
        if filters.kind in (None, MEMO_KIND)
        else None
    )
    return _page(
        session,
        stmt,
        decision_id=decision_id,
        limit=limit,
        before=before,
        memo_filter=memo_filter,
    )


def option_timeline(
    *,
    session: Session,
    decision: Decision,
    option_id: int,
    viewer_id: int,
    before: int | None = None,
    limit: int = TIMELINE_PAGE_SIZE,
) -> Page:
    """Every change to one option — texts, withdrawals, restores — and every score on it,
    with the changes whose text could be brought back. NotFound if the option is not in
    the decision."""
    decision_id = decision_id_of(decision)
    option = option_service.get_option(
        session=session, decision_id=decision_id, option_id=option_id
    )
    stmt = select(Revision).where(
        col(Revision.option_id) == option_id,
        col(Revision.decision_id) == decision_id,
        visible_clause(
            hidden=hidden_today(session=session, decision=decision), viewer_id=viewer_id
        ),
    )
    if before is not None:
        stmt = stmt.where(col(Revision.id) < before)
    page = _page(
        session,
        stmt,
        decision_id=decision_id,
        limit=limit,
        before=before,
        memo_filter=MemoFilter(option_id=option_id),
    )
    current = text_of(
        {"title": option.title, "summary": option.summary, "description": option.description}
    )
    page.restorable = frozenset(
        revision_id(r) for r in page.revisions if _has_text(r) and text_of(r.after) != current
    )
    return page


# --------------------------------------------------------------------------------------------
# Bringing back an earlier option text
# --------------------------------------------------------------------------------------------


def text_of(state: Mapping[str, Any] | None) -> dict[str, str]:
    """An option's title, summary and description from a recorded state."""
    state = state or {}
    return {key: str(state.get(key) or "") for key in TEXT_KEYS}


def _has_text(revision: Revision) -> bool:
    return (
        revision.entity == "option"
        and bool(revision.after)
        and revision.action in ("create", "update", "restore")
    )


def option_text_revision(
    *, session: Session, decision_id: int, option_id: int, revision_id: int
) -> Revision:
    """An option revision whose text can be brought back."""
    revision = session.get(Revision, revision_id)
    if (
        revision is None
        or revision.decision_id != decision_id
        or revision.entity != "option"
        or revision.option_id != option_id
        or not revision.after
    ):
        raise NotFound("That change is not a text of this option.")
    return revision


def restore_option_text(
    *, session: Session, decision_id: int, option_id: int, revision_id: int, actor_id: int
) -> Option:
    """Bring back the text an option had after ``revision_id``, as a new change."""
    revision = option_text_revision(
        session=session, decision_id=decision_id, option_id=option_id, revision_id=revision_id
    )
    return option_service.restore_text(
        session=session,
        decision_id=decision_id,
        option_id=option_id,
        actor_id=actor_id,
        state=text_of(revision.after),
    )
