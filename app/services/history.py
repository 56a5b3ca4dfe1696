"""History of a decision: the activity feed, option timelines, word-level diffs, the matrix
"as of" any revision and comparisons between two points.

Everything here is derived from the append-only revision table. Each revision stores the full
state of its entity after the change (``after``), so the decision as it stood after revision
*N* is the latest revision of every entity with ``id <= N`` — picked in SQL, not replayed in
Python. :func:`matrix_as_of` turns that state into the same :class:`~app.services.matrix.Matrix`
view model the live page renders, computed exactly as :func:`~app.services.matrix.build_matrix`
computes it.

Visibility follows the matrix's rule, once, here: in a blind round nobody — facilitator
included — sees another analyst's score revisions until the round is revealed; each analyst
always sees their own. The rule is applied in SQL for the feed and timelines (so pages are
never short) and to the reconstructed matrix for the "as of" and compare views.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import String, and_, cast, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from app.db.models import (
    Criterion,
    Decision,
    Member,
    Option,
    OptionStatus,
    Revision,
    Role,
    Round,
    User,
)
from app.domain.errors import NotFound
from app.services.matrix import (
    Matrix,
    Method,
    assemble_matrix,
    group_visible,
)

PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 30

KINDS: dict[str, str] = {
    "option": "Option texts and status",
    "score": "Scores",
    "criterion": "Criteria and weights",
    "round": "Rounds and reveals",
    "member": "Members",
    "decision": "Decision settings",
}
STATE_ENTITIES = ("decision", "member", "option", "criterion", "score")
TEXT_FIELDS = (("title", "Title"), ("summary", "Summary"), ("description", "Description"))


# --------------------------------------------------------------------------------------------
# Word-level diff
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """``old`` → ``new`` as ``(op, text)`` segments, op ∈ {"equal", "delete", "insert"}.

    Words, punctuation and runs of whitespace are the units. Joining the "equal" and
    "delete" texts gives ``old`` back; joining "equal" and "insert" gives ``new``. A lone
    space between two changes is folded into them, so "the quick fox" → "a slow fox" reads
    as one deletion and one insertion rather than a patchwork.
    """
    a, b = _TOKEN.findall(old or ""), _TOKEN.findall(new or "")
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    raw: list[tuple[str, str, str]] = []  # (op, old text, new text)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        raw.append((tag, "".join(a[i1:i2]), "".join(b[j1:j2])))
    # Fold whitespace-only equal runs that sit between two changes into the changes.
    folded: list[tuple[str, str, str]] = []
    for index, (tag, left, right) in enumerate(raw):
        between = 0 < index < len(raw) - 1 and raw[index - 1][0] != "equal"
        between = between and raw[index + 1][0] != "equal"
        if tag == "equal" and between and left.isspace():
            tag = "replace"
        if folded and tag != "equal" and folded[-1][0] != "equal":
            _, old_left, old_right = folded[-1]
            folded[-1] = ("replace", old_left + left, old_right + right)
        else:
            folded.append((tag, left, right))
    out: list[tuple[str, str]] = []
    for tag, left, right in folded:
        if tag == "equal":
            out.append(("equal", left))
            continue
        if left:
            out.append(("delete", left))
        if right:
            out.append(("insert", right))
    return out


def _lines(text: str) -> Markup:
    return Markup("<br>\n").join(escape(part) for part in text.split("\n"))


def diff_html(old: str, new: str) -> Markup:
    """The word diff as HTML: ``<del>`` and ``<ins>``, each with a spoken label.

    Browsers strike deletions through and underline insertions by default, so the diff reads
    without colour; the visually hidden labels say the same to screen readers.
    """
    parts: list[Markup] = []
    previous = "equal"
    for op, text in word_diff(old, new):
        if op == "insert" and previous == "delete":
            parts.append(Markup(" "))  # keep "old" and "new" apart on screen
        previous = op
        if op == "equal":
            parts.append(_lines(text))
        elif op == "delete":
            parts.append(
                Markup(
                    '<del><span class="sr-only">[deleted: </span>{}'
                    '<span class="sr-only">]</span></del>'
                ).format(_lines(text))
            )
        else:
            parts.append(
                Markup(
                    '<ins><span class="sr-only">[inserted: </span>{}'
                    '<span class="sr-only">]</span></ins>'
                ).format(_lines(text))
            )
    return Markup("").join(parts)


# --------------------------------------------------------------------------------------------
# Visibility of revisions
# --------------------------------------------------------------------------------------------


def hidden_rounds(*, session: Session, decision: Decision) -> set[int]:
    """Round numbers whose scores other analysts may not see yet (blind and unrevealed)."""
    rounds = session.scalars(select(Round).where(Round.decision_id == decision.id))
    return {r.number for r in rounds if not group_visible(decision, r)}


def _score_of(viewer_id: int) -> ColumnElement[bool]:
    """Score revisions are keyed "round:option:criterion:analyst"."""
    return Revision.entity_id.like(f"%:{int(viewer_id)}")


def visible_clause(*, hidden: set[int], viewer_id: int) -> ColumnElement[bool]:
    """SQL condition for the revisions a viewer may see in the feed and timelines.

    Hides (1) other analysts' score revisions of rounds in ``hidden`` and (2) the scores a
    new round copies from the previous one: those are not changes, and the round's "open"
    entry says that analysts start from their previous scores.
    """
    not_carried = or_(
        Revision.entity != "score",
        Revision.action != "create",
        Revision.actor_id.is_(None),
        Revision.entity_id.like(literal("%:", String) + cast(Revision.actor_id, String)),
    )
    if not hidden:
        return not_carried
    return and_(
        not_carried,
        or_(
            Revision.entity != "score",
            Revision.round_number.not_in(sorted(hidden)),
            _score_of(viewer_id),
        ),
    )


# --------------------------------------------------------------------------------------------
# Entries in plain words
# --------------------------------------------------------------------------------------------


@dataclass
class Entry:
    revision: Revision
    actor: str
    sentence: str
    diffs: list[tuple[str, Markup]] = field(default_factory=list)
    restorable: bool = False

    @property
    def id(self) -> int:
        return int(self.revision.id or 0)

    @property
    def when(self) -> datetime:
        return self.revision.created_at

    @property
    def kind(self) -> str:
        return self.revision.entity

    @property
    def option_id(self) -> int | None:
        return self.revision.option_id


@dataclass
class Page:
    entries: list[Entry]
    next_before: int | None


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


def load_names(*, session: Session, decision_id: int, extra_users: Iterable[int] = ()) -> Names:
    users = dict(
        session.execute(
            select(User.id, User.display_name)
            .join(Member, Member.user_id == User.id)
            .where(Member.decision_id == decision_id)
        ).all()
    )
    missing = {int(u) for u in extra_users if u is not None} - set(users)
    if missing:
        users |= dict(
            session.execute(select(User.id, User.display_name).where(User.id.in_(missing))).all()
        )
    options = dict(
        session.execute(
            select(Option.id, Option.title).where(Option.decision_id == decision_id)
        ).all()
    )
    criteria = dict(
        session.execute(
            select(Criterion.id, Criterion.name).where(Criterion.decision_id == decision_id)
        ).all()
    )
    return Names(users=users, options=options, criteria=criteria)


def _num(value: Any) -> str:
    return f"{float(value):g}"


def score_text(state: dict[str, Any] | None) -> str:
    if not state:
        return "no score"
    if state.get("not_applicable"):
        return "N/A"
    if state.get("value") is None:
        return "no score"
    return _num(state["value"])


def _quote(text: str | None) -> str:
    text = (text or "").strip()
    return f" — “{text}”" if text else ""


def _list(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


_SETTING_LABELS = {
    "title": "title",
    "question": "question",
    "background": "background",
    "classification": "classification",
    "status": "status",
    "scoring_mode": "scoring mode",
    "aggregation": "group value",
    "name_analysts_in_memo": "analysts named in memos",
    "scale_min": "scale minimum",
    "scale_max": "scale maximum",
    "current_round": "round",
}
_LONG_SETTINGS = {"question", "background"}


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _num(value)
    return str(value)


def describe(revision: Revision, names: Names) -> Entry:
    """One revision in plain words, with word diffs for option texts."""
    r = revision
    before, after = r.before or {}, r.after or {}
    actor = names.user(r.actor_id)
    entry = Entry(revision=r, actor=actor, sentence="")
    if r.entity == "score":
        analyst = names.user(after.get("analyst_id", before.get("analyst_id", r.actor_id)))
        where = f"{names.option(r.option_id)} on {names.criterion(r.criterion_id)}"
        old, new = score_text(r.before), score_text(r.after)
        rationale_changed = before.get("rationale", "") != after.get("rationale", "")
        if r.before is None and new == "no score":
            entry.sentence = (
                f"{analyst} wrote a rationale for {where}, round {r.round_number}"
                + _quote(after.get("rationale"))
            )
        elif r.before is None:
            entry.sentence = f"{analyst} scored {where}: {new}, round {r.round_number}" + _quote(
                after.get("rationale")
            )
        elif old != new:
            entry.sentence = (
                f"{analyst} changed {where}: {old} → {new}, round {r.round_number}"
                + _quote(after.get("rationale"))
            )
        elif rationale_changed:
            entry.sentence = (
                f"{analyst} changed the rationale for {where}, round {r.round_number}"
                + _quote(after.get("rationale") or "(cleared)")
            )
        else:
            entry.sentence = f"{analyst} saved {where} unchanged, round {r.round_number}"
    elif r.entity == "option":
        title = after.get("title") or names.option(r.option_id)
        if r.action == "create":
            entry.sentence = f"{actor} proposed the option “{title}”" + _quote(after.get("summary"))
        elif r.action == "withdraw":
            entry.sentence = f"{actor} withdrew the option “{title}”"
        elif r.action == "restore" and before.get("status") != after.get("status"):
            entry.sentence = f"{actor} restored the withdrawn option “{title}”"
        else:
            changed = [
                label.lower() for key, label in TEXT_FIELDS if before.get(key) != after.get(key)
            ]
            verb = "restored an earlier text of" if r.action == "restore" else "edited"
            entry.sentence = f"{actor} {verb} “{title}”" + (
                f": {_list(changed)}" if changed else ""
            )
        if r.action in ("update", "restore"):
            entry.diffs = [
                (label, diff_html(str(before.get(key) or ""), str(after.get(key) or "")))
                for key, label in TEXT_FIELDS
                if before.get(key) != after.get(key)
            ]
    elif r.entity == "criterion":
        name = after.get("name") or names.criterion(r.criterion_id)
        if r.action == "create":
            entry.sentence = (
                f"{actor} added the criterion “{name}” ({after.get('direction')}, "
                f"weight {_num(after.get('weight', 0))})"
            )
        else:
            changes = []
            if before.get("weight") != after.get("weight"):
                changes.append(f"weight {_num(before.get('weight', 0))} → {_num(after['weight'])}")
            if before.get("direction") != after.get("direction"):
                changes.append(f"direction {before.get('direction')} → {after.get('direction')}")
            if before.get("name") != after.get("name"):
                changes.append(f"name “{before.get('name')}” → “{after.get('name')}”")
            if before.get("description") != after.get("description"):
                changes.append("description edited")
            entry.sentence = f"{actor} changed the criterion “{name}”" + (
                ": " + "; ".join(changes) if changes else ""
            )
            if before.get("description") != after.get("description"):
                entry.diffs = [
                    (
                        "Description",
                        diff_html(before.get("description") or "", after.get("description") or ""),
                    )
                ]
    elif r.entity == "member":
        person = names.user(r.entity_id) if r.entity_id.isdigit() else after.get("username", "?")
        if r.action == "create":
            entry.sentence = f"{actor} added {person} as {after.get('role')}"
        else:
            entry.sentence = (
                f"{actor} changed {person}’s role: {before.get('role')} → {after.get('role')}"
            )
    elif r.entity == "decision":
        if r.action == "create":
            entry.sentence = f"{actor} created the decision “{after.get('title')}”"
        else:
            changes = []
            for key, label in _SETTING_LABELS.items():
                if before.get(key) == after.get(key):
                    continue
                if key in _LONG_SETTINGS:
                    changes.append(f"{label} edited")
                else:
                    changes.append(f"{label} {_plain(before.get(key))} → {_plain(after.get(key))}")
            entry.sentence = f"{actor} changed the decision settings" + (
                ": " + "; ".join(changes) if changes else ""
            )
    elif r.entity == "round":
        n = r.round_number
        if r.action == "open":
            entry.sentence = (
                f"{actor} opened round {n}; analysts start from their round {(n or 1) - 1} scores"
            )
        elif r.action == "reveal":
            entry.sentence = f"{actor} revealed round {n}"
        elif r.action == "done":
            entry.sentence = f"{actor} marked their round {n} scoring done"
        elif r.action == "undone":
            entry.sentence = f"{actor} reopened their round {n} scoring"
        else:
            entry.sentence = f"{actor} recorded “{r.action}” for round {n}"
    else:
        entry.sentence = f"{actor} recorded “{r.action}” on {r.entity} {r.entity_id}"
    return entry


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


def _page(session: Session, stmt: Any, *, limit: int) -> tuple[list[Revision], int | None]:
    rows = list(session.scalars(stmt.order_by(Revision.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (int(rows[-1].id) if more and rows else None)


def _entries(session: Session, decision_id: int, rows: list[Revision]) -> list[Entry]:
    names = load_names(
        session=session, decision_id=decision_id, extra_users=[r.actor_id for r in rows]
    )
    return [describe(r, names) for r in rows]


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
        raise NotFound("Unknown kind of change.")
    stmt = select(Revision).where(Revision.decision_id == decision.id)
    stmt = stmt.where(
        visible_clause(
            hidden=hidden_rounds(session=session, decision=decision), viewer_id=viewer_id
        )
    )
    if before is not None:
        stmt = stmt.where(Revision.id < before)
    if filters.actor_id is not None:
        stmt = stmt.where(Revision.actor_id == filters.actor_id)
    if filters.option_id is not None:
        stmt = stmt.where(Revision.option_id == filters.option_id)
    if filters.criterion_id is not None:
        stmt = stmt.where(Revision.criterion_id == filters.criterion_id)
    if filters.kind is not None:
        stmt = stmt.where(Revision.entity == filters.kind)
    rows, next_before = _page(session, stmt, limit=limit)
    return Page(_entries(session, decision.id, rows), next_before)


def option_timeline(
    *,
    session: Session,
    decision: Decision,
    option_id: int,
    viewer_id: int,
    before: int | None = None,
    limit: int = TIMELINE_PAGE_SIZE,
) -> Page:
    """Every change to one option — texts, withdrawals, restores — and every score on it."""
    stmt = select(Revision).where(
        Revision.option_id == option_id,
        Revision.decision_id == decision.id,
        visible_clause(
            hidden=hidden_rounds(session=session, decision=decision), viewer_id=viewer_id
        ),
    )
    if before is not None:
        stmt = stmt.where(Revision.id < before)
    rows, next_before = _page(session, stmt, limit=limit)
    return Page(_entries(session, decision.id, rows), next_before)


def text_of(state: dict[str, Any] | None) -> dict[str, str]:
    state = state or {}
    return {key: str(state.get(key) or "") for key, _ in TEXT_FIELDS}


def mark_restorable(entries: list[Entry], option: Option) -> None:
    """Option-text entries whose text differs from the option's current text."""
    current = text_of(
        {"title": option.title, "summary": option.summary, "description": option.description}
    )
    for entry in entries:
        r = entry.revision
        if r.entity == "option" and r.after and r.action in ("create", "update", "restore"):
            entry.restorable = text_of(r.after) != current


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


# --------------------------------------------------------------------------------------------
# The decision as of a revision, from revisions alone
# --------------------------------------------------------------------------------------------


@dataclass
class PastScore:
    """A score as it stood (same attributes the matrix templates read from a Score row)."""

    option_id: int
    criterion_id: int
    analyst_id: int
    value: float | None
    not_applicable: bool
    rationale: str


@dataclass
class RoundState:
    number: int
    opened_at: datetime | None
    revealed_at: datetime | None = None


@dataclass
class DecisionState:
    """Everything the matrix needs, as it stood after revision ``revision``."""

    decision_id: int
    revision: int
    at: datetime
    decision: dict[str, Any]
    created_by: int | None
    members: dict[int, str]
    member_order: dict[int, int]
    options: dict[int, dict[str, Any]]
    criteria: dict[int, dict[str, Any]]
    scores: dict[tuple[int, int, int, int], dict[str, Any]]
    rounds: dict[int, RoundState]
    done: set[tuple[int, int]]


def latest_revision_id(
    *, session: Session, decision_id: int, at_most: int | None = None
) -> int | None:
    stmt = select(func.max(Revision.id)).where(Revision.decision_id == decision_id)
    if at_most is not None:
        stmt = stmt.where(Revision.id <= at_most)
    value = session.scalar(stmt)
    return int(value) if value is not None else None


def revision_at(*, session: Session, decision_id: int, when: datetime) -> int | None:
    """The latest revision recorded at or before ``when`` (UTC if naive)."""
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    value = session.scalar(
        select(Revision.id)
        .where(Revision.decision_id == decision_id, Revision.created_at <= when)
        .order_by(Revision.created_at.desc(), Revision.id.desc())
        .limit(1)
    )
    return int(value) if value is not None else None


def _latest_ids(decision_id: int, last: int) -> Any:
    """Ids of the latest revision ≤ ``last`` of every decision, member, option, criterion and
    score: one pass over ix_revision_entity (decision_id, entity, entity_id, id), without
    touching the table."""
    return (
        select(func.max(Revision.id))
        .where(
            Revision.decision_id == decision_id,
            Revision.id <= last,
            Revision.entity.in_(STATE_ENTITIES),
        )
        .group_by(Revision.entity, Revision.entity_id)
    )


def load_state(*, session: Session, decision_id: int, revision: int) -> DecisionState:
    """The decision after revision ``revision``, from revisions alone: the latest revision of
    each entity up to there holds its state (picked in SQL, see :func:`_latest_ids`); rounds
    are replayed from their few "open", "reveal" and "done" revisions. Raises NotFound when
    nothing of the decision had been recorded by then.
    """
    last = latest_revision_id(session=session, decision_id=decision_id, at_most=revision)
    if last is None:
        raise NotFound("Nothing had been recorded in this decision by that point.")
    rows = session.execute(
        select(Revision.id, Revision.entity, Revision.entity_id, Revision.after).where(
            Revision.id.in_(_latest_ids(decision_id, last))
        )
    ).all()
    round_rows = session.execute(
        select(
            Revision.id,
            Revision.action,
            Revision.round_number,
            Revision.created_at,
            Revision.after,
        )
        .where(
            Revision.decision_id == decision_id,
            Revision.entity == "round",
            Revision.id <= last,
        )
        .order_by(Revision.id)
    ).all()
    # Members are listed in the order they joined: by their first revision.
    member_firsts = dict(
        session.execute(
            select(Revision.entity_id, func.min(Revision.id))
            .where(
                Revision.decision_id == decision_id,
                Revision.entity == "member",
                Revision.id <= last,
            )
            .group_by(Revision.entity_id)
        ).all()
    )
    creation = session.execute(
        select(Revision.actor_id, Revision.created_at).where(
            Revision.decision_id == decision_id,
            Revision.entity == "decision",
            Revision.action == "create",
        )
    ).first()
    at = session.scalar(select(Revision.created_at).where(Revision.id == last))

    decision: dict[str, Any] = {}
    decision_rev = 0
    created_by, created_at = (creation[0], creation[1]) if creation else (None, None)
    members: dict[int, str] = {}
    member_order: dict[int, int] = {}
    options: dict[int, dict[str, Any]] = {}
    criteria: dict[int, dict[str, Any]] = {}
    scores: dict[tuple[int, int, int, int], dict[str, Any]] = {}
    for rid, entity, entity_id, after in rows:
        if after is None:
            continue
        if entity == "decision":
            decision, decision_rev = dict(after), rid
        elif entity == "member":
            members[int(entity_id)] = str(after.get("role"))
            member_order[int(entity_id)] = int(member_firsts.get(entity_id, rid))
        elif entity == "option":
            options[int(entity_id)] = dict(after)
        elif entity == "criterion":
            criteria[int(entity_id)] = dict(after)
        elif entity == "score":
            r, o, c, a = (int(part) for part in entity_id.split(":"))
            scores[(r, o, c, a)] = dict(after)
    # The decision's creator joined as its first facilitator, before anyone else (no member
    # revision records that; a later role change does).
    if created_by is not None:
        members.setdefault(created_by, Role.FACILITATOR.value)
        member_order[created_by] = 0

    rounds: dict[int, RoundState] = {1: RoundState(1, created_at)}
    done: set[tuple[int, int]] = set()
    for rid, action, number, created, after in round_rows:
        if number is None:
            continue
        if action == "open":
            rounds[number] = RoundState(number, created)
            previous = rounds.get(number - 1)
            if previous is not None and previous.revealed_at is None:
                previous.revealed_at = created
            if after and rid > decision_rev:
                decision, decision_rev = dict(after), rid
        elif action == "reveal":
            state = rounds.setdefault(number, RoundState(number, None))
            if state.revealed_at is None:
                state.revealed_at = created
        elif action in ("done", "undone") and after:
            key = (number, int(after.get("analyst_id", 0)))
            if action == "done":
                done.add(key)
            else:
                done.discard(key)
    assert at is not None
    return DecisionState(
        decision_id=decision_id,
        revision=last,
        at=at,
        decision=decision,
        created_by=created_by,
        members=members,
        member_order=member_order,
        options=options,
        criteria=criteria,
        scores=scores,
        rounds=rounds,
        done=done,
    )


def _decision_from(state: DecisionState, live: Decision) -> Decision:
    d = state.decision
    return Decision(
        id=state.decision_id,
        title=d.get("title", live.title),
        question=d.get("question", live.question),
        background=d.get("background", live.background),
        scale_min=d.get("scale_min", live.scale_min),
        scale_max=d.get("scale_max", live.scale_max),
        classification=d.get("classification", live.classification),
        status=d.get("status", live.status),
        scoring_mode=d.get("scoring_mode", live.scoring_mode),
        aggregation=d.get("aggregation", live.aggregation),
        name_analysts_in_memo=d.get("name_analysts_in_memo", live.name_analysts_in_memo),
        current_round=d.get("current_round", 1),
        created_by=state.created_by,
    )


def state_options(state: DecisionState, *, include_withdrawn: bool = True) -> list[Option]:
    """The options as they stood, in list order (position, id), as unsaved Option objects."""
    out = [
        Option(
            id=oid,
            decision_id=state.decision_id,
            title=s.get("title", ""),
            summary=s.get("summary", ""),
            description=s.get("description", ""),
            status=s.get("status", OptionStatus.ACTIVE.value),
            position=s.get("position", 0),
            version=s.get("version", 1),
        )
        for oid, s in state.options.items()
        if include_withdrawn
        or s.get("status", OptionStatus.ACTIVE.value) == OptionStatus.ACTIVE.value
    ]
    return sorted(out, key=lambda o: (o.position, o.id))


def state_criteria(state: DecisionState) -> list[Criterion]:
    out = [
        Criterion(
            id=cid,
            decision_id=state.decision_id,
            name=s.get("name", ""),
            description=s.get("description", ""),
            weight=float(s.get("weight", 0.0)),
            direction=s.get("direction", "benefit"),
            position=s.get("position", 0),
            version=s.get("version", 1),
        )
        for cid, s in state.criteria.items()
    ]
    return sorted(out, key=lambda c: (c.position, c.id))


def matrix_as_of(
    *,
    session: Session,
    decision: Decision,
    state: DecisionState,
    viewer_id: int,
    role: Role,
    round_number: int | None = None,
    method: Method | None = None,
    hidden_now: set[int] | None = None,
) -> Matrix:
    """The matrix as :func:`~app.services.matrix.build_matrix` showed it after the revision.

    Read-only (``can_score`` is False). ``hidden_now`` are the rounds that are blind and
    unrevealed today: their group values and other analysts' scores stay hidden even where
    they were visible at the time, so history never shows more than the live matrix.
    """
    hidden_now = hidden_now or set()
    past = _decision_from(state, decision)
    rounds = [
        Round(
            decision_id=decision.id,
            number=r.number,
            opened_at=r.opened_at,
            revealed_at=r.revealed_at,
        )
        for r in sorted(state.rounds.values(), key=lambda r: r.number)
    ]
    number = round_number or past.current_round
    round_ = next((r for r in rounds if r.number == number), None)
    if round_ is None:
        raise NotFound(f"Round {number} did not exist at that point.")
    member_ids = sorted(state.members, key=lambda uid: (state.member_order.get(uid, 0), uid))
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(member_ids or [-1])))}
    members = [
        (Member(decision_id=decision.id, user_id=uid, role=state.members[uid]), users[uid])
        for uid in member_ids
        if uid in users
    ]

    def visible(r: Round) -> bool:
        return group_visible(past, r) and r.number not in hidden_now

    previous = next((r for r in rounds if r.number == number - 1), None)
    return assemble_matrix(
        decision=past,
        viewer_id=viewer_id,
        role=role,
        round_=round_,
        rounds=rounds,
        method=method,
        visible=visible(round_),
        options=state_options(state, include_withdrawn=False),
        criteria=state_criteria(state),
        members=members,
        scores=_past_scores(state, number),
        done_ids={a for r, a in state.done if r == number},
        previous_scores=(
            _past_scores(state, number - 1) if previous is not None and visible(previous) else None
        ),
        revision=state.revision,
        can_score=False,
    )


def _past_scores(state: DecisionState, number: int) -> list[PastScore]:
    return [
        PastScore(
            option_id=o,
            criterion_id=c,
            analyst_id=a,
            value=s.get("value"),
            not_applicable=bool(s.get("not_applicable")),
            rationale=s.get("rationale") or "",
        )
        for (r, o, c, a), s in state.scores.items()
        if r == number
    ]


# --------------------------------------------------------------------------------------------
# Comparing two points
# --------------------------------------------------------------------------------------------


@dataclass
class ScoreChange:
    analyst: str
    old: str
    new: str
    rationale: str


@dataclass
class CellChange:
    criterion: str
    value_a: float | None
    value_b: float | None
    contribution_a: float | None
    contribution_b: float | None
    weight_changed: bool
    share_moved: bool
    scores: list[ScoreChange]

    @property
    def delta(self) -> float:
        return (self.contribution_b or 0.0) - (self.contribution_a or 0.0)


@dataclass
class OptionMove:
    option_id: int
    title: str
    rank_a: int | None
    rank_b: int | None
    total_a: float | None
    total_b: float | None
    present_a: bool
    present_b: bool
    causes: list[CellChange]

    @property
    def moved(self) -> int | None:
        """Places gained (positive) or lost (negative)."""
        if self.rank_a is None or self.rank_b is None:
            return None
        return self.rank_a - self.rank_b

    @property
    def total_delta(self) -> float | None:
        if self.total_a is None or self.total_b is None:
            return None
        return self.total_b - self.total_a


@dataclass
class WeightChange:
    criterion: str
    weight_a: float | None
    weight_b: float | None
    share_a: float | None
    share_b: float | None

    @property
    def set_directly(self) -> bool:
        """The weight itself changed (or the criterion came or went); otherwise only its
        share moved because another weight changed."""
        return self.weight_a != self.weight_b


@dataclass
class Comparison:
    a: Matrix
    b: Matrix
    moves: list[OptionMove]
    weights: list[WeightChange]

    @property
    def ranked(self) -> bool:
        return self.a.group_visible and self.b.group_visible

    @property
    def rank_moves(self) -> list[OptionMove]:
        return [m for m in self.moves if m.moved]

    @property
    def weights_set(self) -> list[WeightChange]:
        return [w for w in self.weights if w.set_directly]

    @property
    def shares_moved(self) -> list[WeightChange]:
        return [w for w in self.weights if not w.set_directly]


def _score_map(m: Matrix, key: tuple[int, int]) -> dict[int, tuple[str, str]]:
    """Analyst → (score text, rationale) for one cell, as far as the viewer may see."""
    cell = m.cells.get(key)
    if cell is None:
        return {}
    out: dict[int, tuple[str, str]] = {}
    for s in cell.scores or []:
        out[s.analyst_id] = (
            score_text({"value": s.value, "not_applicable": s.not_applicable}),
            s.rationale,
        )
    if cell.mine is not None and m.viewer_id not in out:
        mine = cell.mine
        out[m.viewer_id] = (
            score_text({"value": mine.value, "not_applicable": mine.not_applicable}),
            mine.rationale,
        )
    return out


def compare(a: Matrix, b: Matrix, names: Names) -> Comparison:
    """Which ranks moved from ``a`` to ``b``, and which score and weight changes moved them."""
    crit_a = {c.id: (c, w) for c, w in zip(a.criteria, a.weights, strict=True)}
    crit_b = {c.id: (c, w) for c, w in zip(b.criteria, b.weights, strict=True)}
    weights: list[WeightChange] = []
    changed_weights: set[int] = set()
    set_weights: set[int] = set()
    for cid in list(crit_a) + [c for c in crit_b if c not in crit_a]:
        ca, wa = crit_a.get(cid, (None, None))
        cb, wb = crit_b.get(cid, (None, None))
        if ca is not None and cb is not None and ca.weight == cb.weight and wa == wb:
            continue
        if ca is None or cb is None or ca.weight != cb.weight:
            set_weights.add(cid)
        changed_weights.add(cid)
        weights.append(
            WeightChange(
                criterion=(cb or ca).name,  # type: ignore[union-attr]
                weight_a=ca.weight if ca else None,
                weight_b=cb.weight if cb else None,
                share_a=wa,
                share_b=wb,
            )
        )
    options_a = {o.id: o for o in a.options}
    options_b = {o.id: o for o in b.options}
    moves: list[OptionMove] = []
    for oid in list(options_b) + [o for o in options_a if o not in options_b]:
        title = (options_b.get(oid) or options_a[oid]).title
        causes: list[CellChange] = []
        for cid in list(crit_b) + [c for c in crit_a if c not in crit_b]:
            key = (oid, cid)
            cell_a, cell_b = a.cells.get(key), b.cells.get(key)
            before, after = _score_map(a, key), _score_map(b, key)
            score_changes = [
                ScoreChange(
                    analyst=names.user(analyst),
                    old=before.get(analyst, ("no score", ""))[0],
                    new=after.get(analyst, ("no score", ""))[0],
                    rationale=after.get(analyst, ("", ""))[1],
                )
                for analyst in sorted(set(before) | set(after))
                if before.get(analyst, ("no score", ""))[0]
                != after.get(analyst, ("no score", ""))[0]
            ]
            contribution_a = a.contributions.get(key)
            contribution_b = b.contributions.get(key)
            value_a = cell_a.value if cell_a else None
            value_b = cell_b.value if cell_b else None
            if (
                not score_changes
                and value_a == value_b
                and cid not in changed_weights
                and contribution_a == contribution_b
            ):
                continue
            causes.append(
                CellChange(
                    criterion=names.criterion(cid) if cid not in crit_b else crit_b[cid][0].name,
                    value_a=value_a,
                    value_b=value_b,
                    contribution_a=contribution_a,
                    contribution_b=contribution_b,
                    weight_changed=cid in set_weights,
                    share_moved=cid in changed_weights and cid not in set_weights,
                    scores=score_changes,
                )
            )
        causes.sort(key=lambda c: -abs(c.delta))
        moves.append(
            OptionMove(
                option_id=oid,
                title=title,
                rank_a=a.ranks.get(oid),
                rank_b=b.ranks.get(oid),
                total_a=a.totals.get(oid),
                total_b=b.totals.get(oid),
                present_a=oid in options_a,
                present_b=oid in options_b,
                causes=causes,
            )
        )
    moves.sort(
        key=lambda m: (
            m.rank_b is None,
            m.rank_b or 0,
            m.rank_a is None,
            m.rank_a or 0,
            m.title,
        )
    )
    return Comparison(a=a, b=b, moves=moves, weights=weights)
