"""The group's own views of a decision: convergence round by round, and for the latest round
the group may see, each analyst's own ranking, Kendall's W among them and the influence of any
one analyst on the top option.

Blind means blind: only rounds :func:`app.domain.visibility.group_visible` allows are read,
for every role alike, so nothing computed from another analyst's scores of a hidden round is
returned. Everything is loaded in five queries whatever the decision's size (rounds, active
options, criteria, members, the visible rounds' scores).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from sqlalchemy import select
from sqlmodel import Session, col

from app.db.models import Decision, Role, Round, Score
from app.domain import analysis
from app.domain.visibility import group_visible
from app.domain.vocabulary import ScoringMode
from app.services.criteria import list_criteria
from app.services.decisions import list_members
from app.services.matrix import analyst_labels
from app.services.options import list_options


@dataclass(frozen=True)
class RoundConvergence:
    """One visible round's spread: the median interquartile range per cell (None when no
    cell has two scores) and the contested cells among the ``judged`` ones (cells scored by
    at least two analysts) of ``cells`` in all."""

    round_number: int
    median_iqr: float | None
    contested: int
    judged: int
    cells: int


@dataclass(frozen=True)
class AnalystRanking:
    """One analyst's own ranking: ``ranks`` per option in :attr:`GroupViews.options` order
    (None: the analyst's scores leave that option unranked)."""

    analyst_id: int
    label: str
    name: str | None
    ranks: list[int | None]
    complete: bool
    is_viewer: bool


@dataclass(frozen=True)
class Influence:
    """The top option(s) without one analyst, and whether that differs from the group's."""

    analyst_id: int
    label: str
    name: str | None
    top_without: list[int]
    changes_top: bool


@dataclass(frozen=True)
class GroupViews:
    """What the group's own views show; plain data (see :meth:`to_data`).

    ``round_number`` is the latest round the group may see (None: none yet) and
    ``hidden_round`` the current round when it is still blind. ``options`` are the active
    options as ``(id, title)`` in their list order; ``group_ranks`` and each analyst's
    ``ranks`` follow that order. ``w`` is Kendall's W (tie-corrected) over the options among
    the ``w_counted`` analysts whose own ranking covers every option, of ``analyst_count``.
    """

    round_number: int | None
    hidden_round: int | None
    method: str
    options: list[tuple[int, str]] = field(default_factory=list)
    group_ranks: list[int | None] = field(default_factory=list)
    group_top: list[int] = field(default_factory=list)
    analysts: list[AnalystRanking] = field(default_factory=list)
    analyst_count: int = 0
    w: float | None = None
    w_counted: int = 0
    influence: list[Influence] = field(default_factory=list)
    convergence: list[RoundConvergence] = field(default_factory=list)

    def to_data(self) -> dict[str, Any]:
        """JSON-able (lists, no NaN), for a memo's snapshot."""
        return asdict(self)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> GroupViews:
        """The inverse of :meth:`to_data` (also after a JSON round trip)."""
        return cls(
            round_number=data["round_number"],
            hidden_round=data["hidden_round"],
            method=data["method"],
            options=[(int(i), str(t)) for i, t in data["options"]],
            group_ranks=list(data["group_ranks"]),
            group_top=list(data["group_top"]),
            analysts=[AnalystRanking(**a) for a in data["analysts"]],
            analyst_count=data["analyst_count"],
            w=data["w"],
            w_counted=data["w_counted"],
            influence=[Influence(**i) for i in data["influence"]],
            convergence=[RoundConvergence(**c) for c in data["convergence"]],
        )


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def group_views(
    *,
    session: Session,
    decision: Decision,
    viewer_id: int,
    labels: Mapping[int, str] | None = None,
    show_names: bool | None = None,
) -> GroupViews:
    """The group's own views as ``viewer_id`` may see them (the same for every role).

    Analysts are labelled "Analyst A", … (``labels`` overrides, e.g. a memo's); their
    display names ride along only in open scoring (``show_names`` overrides).
    """
    rounds = list(
        session.scalars(
            select(Round).where(col(Round.decision_id) == decision.id).order_by(col(Round.number))
        )
    )
    visible = [r for r in rounds if group_visible(decision, r)]
    current = next((r for r in rounds if r.number == decision.current_round), None)
    hidden = (
        current.number if current is not None and not group_visible(decision, current) else None
    )
    method: Literal["mean", "median"] = "median" if decision.aggregation == "median" else "mean"
    if not visible:
        return GroupViews(round_number=None, hidden_round=hidden, method=method)

    options = list_options(session=session, decision_id=decision.id, include_withdrawn=False)
    criteria = list_criteria(session=session, decision_id=decision.id)
    members = list_members(session=session, decision_id=decision.id)
    analysts = [u for m, u in members if m.role == Role.ANALYST.value]
    names_shown = (
        decision.scoring_mode == ScoringMode.OPEN.value if show_names is None else show_names
    )
    label_of = dict(labels) if labels is not None else analyst_labels(members)

    shape = (len(analysts), len(options), len(criteria))
    tensors = {r.id: np.full(shape, np.nan) for r in visible}
    option_index = {o.id: i for i, o in enumerate(options)}
    criterion_index = {c.id: j for j, c in enumerate(criteria)}
    analyst_index = {u.id: k for k, u in enumerate(analysts)}
    rows = session.execute(
        select(
            col(Score.round_id),
            col(Score.option_id),
            col(Score.criterion_id),
            col(Score.analyst_id),
            col(Score.value),
        ).where(col(Score.round_id).in_(list(tensors)), col(Score.value).is_not(None))
    )
    for round_id, option_id, criterion_id, analyst_id, value in rows:
        i, j = option_index.get(option_id), criterion_index.get(criterion_id)
        k = analyst_index.get(analyst_id)
        if i is None or j is None or k is None or value is None:
            continue
        tensors[round_id][k, i, j] = float(value)

    scale = analysis.Scale(float(decision.scale_min), float(decision.scale_max))
    spread = []
    for r in visible:
        c = analysis.convergence(tensors[r.id], scale)
        spread.append(
            RoundConvergence(
                round_number=r.number,
                median_iqr=_finite(c.median_iqr),
                contested=c.contested,
                judged=c.judged,
                cells=len(options) * len(criteria),
            )
        )
    latest = visible[-1]
    views = GroupViews(
        round_number=latest.number,
        hidden_round=hidden,
        method=method,
        options=[(o.id, o.title) for o in options],
        analyst_count=len(analysts),
        convergence=spread,
    )
    if not options or not criteria or not analysts:
        return views

    tensor = tensors[latest.id]
    weights = [c.weight for c in criteria]
    directions = [c.direction for c in criteria]
    missing = decision.missing_policy
    group = analysis.evaluate(tensor, weights, directions, scale, method, missing=missing)
    own = analysis.own_rankings(tensor, weights, directions, scale, missing=missing)
    agreement = analysis.ranking_agreement(np.array([o.totals for o in own]))
    option_ids = [o.id for o in options]

    def name(uid: int) -> str | None:
        return next(u.display_name for u in analysts if u.id == uid) if names_shown else None

    return GroupViews(
        round_number=views.round_number,
        hidden_round=hidden,
        method=method,
        options=views.options,
        group_ranks=list(group.ranks),
        group_top=[option_ids[i] for i in group.top],
        analysts=[
            AnalystRanking(
                analyst_id=u.id,
                label=label_of.get(u.id, "Analyst"),
                name=name(u.id),
                ranks=list(own[k].ranks),
                complete=own[k].complete,
                is_viewer=u.id == viewer_id,
            )
            for k, u in enumerate(analysts)
        ],
        analyst_count=len(analysts),
        w=_finite(agreement.w),
        w_counted=len(agreement.counted),
        influence=[
            Influence(
                analyst_id=analysts[x.analyst].id,
                label=label_of.get(analysts[x.analyst].id, "Analyst"),
                name=name(analysts[x.analyst].id),
                top_without=[option_ids[i] for i in x.top],
                changes_top=x.changes_top,
            )
            for x in analysis.leave_one_out(
                tensor, weights, directions, scale, method, missing=missing
            )
        ],
        convergence=spread,
    )
