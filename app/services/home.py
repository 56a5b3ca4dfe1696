"""The home page: the viewer's decisions and, for each, what needs them now.

Everything is read for all the viewer's decisions at once, in a fixed number of statements
however many decisions there are (one per kind of fact, each over every decision). Counts are
of the viewer's own cells only, so a blind round leaks nothing: no other analyst's scores,
progress or group figures are read here.

"Memo issued" is said for the decision's latest memo while it is at most ``MEMO_RECENT``
old (there is no record of when a member last visited a decision).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session, col

from app.db.models import (
    Criterion,
    Decision,
    Member,
    Memo,
    Option,
    Revision,
    Round,
    RoundCompletion,
    Score,
)
from app.domain.vocabulary import CriterionStatus, DecisionStatus, OptionStatus, Role
from app.services.decisions import checklist_steps, decisions_for_user

MEMO_RECENT = timedelta(days=14)


@dataclass
class HomeRow:
    """One of the viewer's decisions and what needs them in it, in words."""

    decision: Decision
    role: str
    needs: list[str] = field(default_factory=list)

    @property
    def archived(self) -> bool:
        return bool(self.decision.archived)

    @property
    def is_facilitator(self) -> bool:
        return self.role == Role.FACILITATOR.value


@dataclass
class _Facts:
    options: dict[int, int] = field(default_factory=dict)
    criteria: dict[int, int] = field(default_factory=dict)
    weighted: dict[int, int] = field(default_factory=dict)
    unweighted: dict[int, int] = field(default_factory=dict)
    analysts: dict[int, int] = field(default_factory=dict)
    revealed: dict[int, bool] = field(default_factory=dict)
    my_scored: dict[int, int] = field(default_factory=dict)
    my_done: set[int] = field(default_factory=set)
    my_changes: set[int] = field(default_factory=set)
    memos: dict[int, tuple[int, datetime]] = field(default_factory=dict)


def home_rows(*, session: Session, user_id: int, now: datetime) -> list[HomeRow]:
    """The viewer's decisions (never deleted ones), each with what needs them."""
    rows = [HomeRow(d, role) for d, role in decisions_for_user(session=session, user_id=user_id)]
    if not rows:
        return rows
    facts = _read_facts(session, [r.decision.id for r in rows], user_id)
    for row in rows:
        row.needs = _needs(row, facts, now)
    return rows


def _read_facts(session: Session, ids: list[int], user_id: int) -> _Facts:
    facts = _Facts()
    for decision_id, count in session.execute(
        select(col(Option.decision_id), func.count())
        .where(col(Option.decision_id).in_(ids), col(Option.status) == OptionStatus.ACTIVE.value)
        .group_by(col(Option.decision_id))
    ):
        facts.options[decision_id] = int(count)
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for decision_id, weight, status in session.execute(
        select(col(Criterion.decision_id), col(Criterion.weight), col(Criterion.status)).where(
            col(Criterion.decision_id).in_(ids)
        )
    ):
        counts["all"][decision_id] += 1
        counts["weighted" if weight > 0 else "unweighted"][decision_id] += 1
        if status == CriterionStatus.ACTIVE.value:
            counts["active"][decision_id] += 1
    facts.criteria = dict(counts["active"])
    facts.weighted, facts.unweighted = dict(counts["weighted"]), dict(counts["unweighted"])
    for decision_id, count in session.execute(
        select(col(Member.decision_id), func.count())
        .where(col(Member.decision_id).in_(ids), col(Member.role) == Role.ANALYST.value)
        .group_by(col(Member.decision_id))
    ):
        facts.analysts[decision_id] = int(count)
    current = and_(
        col(Round.decision_id) == col(Decision.id),
        col(Round.number) == col(Decision.current_round),
    )
    for decision_id, revealed_at in session.execute(
        select(col(Round.decision_id), col(Round.revealed_at))
        .join(Decision, current)
        .where(col(Decision.id).in_(ids))
    ):
        facts.revealed[decision_id] = revealed_at is not None
    _read_own_facts(session, ids, user_id, current, facts)
    latest = (
        select(func.max(col(Memo.id)))
        .where(col(Memo.decision_id).in_(ids))
        .group_by(col(Memo.decision_id))
    )
    for decision_id, number, issued_at in session.execute(
        select(col(Memo.decision_id), col(Memo.number), col(Memo.issued_at)).where(
            col(Memo.id).in_(latest)
        )
    ):
        facts.memos[decision_id] = (int(number), _aware(issued_at))
    return facts


def _read_own_facts(
    session: Session, ids: list[int], user_id: int, current: Any, facts: _Facts
) -> None:
    """The viewer's own cells scored (or marked N/A) in each current round, their "done"
    marks, and whether they changed anything in the current round."""
    for decision_id, count in session.execute(
        select(col(Round.decision_id), func.count())
        .select_from(Score)
        .join(Round, col(Round.id) == col(Score.round_id))
        .join(Decision, current)
        .join(Option, col(Option.id) == col(Score.option_id))
        .join(Criterion, col(Criterion.id) == col(Score.criterion_id))
        .where(
            col(Decision.id).in_(ids),
            col(Score.analyst_id) == user_id,
            col(Option.status) == OptionStatus.ACTIVE.value,
            col(Criterion.status) == CriterionStatus.ACTIVE.value,
            or_(col(Score.value).is_not(None), col(Score.not_applicable)),
        )
        .group_by(col(Round.decision_id))
    ):
        facts.my_scored[decision_id] = int(count)
    facts.my_done = {
        int(decision_id)
        for (decision_id,) in session.execute(
            select(col(Round.decision_id))
            .select_from(RoundCompletion)
            .join(Round, col(Round.id) == col(RoundCompletion.round_id))
            .join(Decision, current)
            .where(col(Decision.id).in_(ids), col(RoundCompletion.analyst_id) == user_id)
        )
    }
    facts.my_changes = {
        int(decision_id)
        for (decision_id,) in session.execute(
            select(col(Revision.decision_id))
            .join(Decision, col(Decision.id) == col(Revision.decision_id))
            .where(
                col(Revision.decision_id).in_(ids),
                col(Revision.actor_id) == user_id,
                col(Revision.entity) == "score",
                col(Revision.round_number) == col(Decision.current_round),
            )
            .distinct()
        )
    }


def _needs(row: HomeRow, facts: _Facts, now: datetime) -> list[str]:
    d, needs = row.decision, []
    if d.status == DecisionStatus.DRAFT.value:
        if row.is_facilitator:
            steps = checklist_steps(
                d,
                options=facts.options.get(d.id, 0),
                weighted=facts.weighted.get(d.id, 0),
                unweighted=facts.unweighted.get(d.id, 0),
                analysts=facts.analysts.get(d.id, 0),
            )
            done = sum(1 for s in steps if s.done)
            needs.append(
                "set-up complete — start scoring"
                if done == len(steps)
                else f"set-up: {done} of {len(steps)} steps done"
            )
        else:
            needs.append("being set up — scoring has not started")
    elif d.status == DecisionStatus.SCORING.value and row.role == Role.ANALYST.value:
        if d.current_round > 1 and d.id not in facts.my_changes:
            needs.append(f"round {d.current_round} opened — your previous scores are carried over")
        cells = facts.options.get(d.id, 0) * facts.criteria.get(d.id, 0)
        left = max(cells - facts.my_scored.get(d.id, 0), 0)
        if d.id in facts.my_done:
            needs.append("your scoring is marked done")
        elif left:
            needs.append(f"{left} of {cells} cells to score")
        elif cells:
            needs.append("all scored — mark done")
    elif d.status == DecisionStatus.CLOSED.value:
        needs.append("closed")
    if facts.revealed.get(d.id) and d.status != DecisionStatus.DRAFT.value:
        needs.append(f"round {d.current_round} revealed")
    memo = facts.memos.get(d.id)
    if memo is not None and now - memo[1] <= MEMO_RECENT:
        number, issued = memo
        needs.append(f"memo {number} issued on {issued.day} {issued:%b}")
    return needs


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
