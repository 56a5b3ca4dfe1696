"""The decision matrix as a viewer may see it: cells, group values, totals, ranks, progress.

Visibility lives here, once, for the page, its fragments and the JSON API: in blind mode
nobody (facilitator included) sees group values, spreads, totals or other analysts' scores of
a round until that round is revealed; each analyst always sees their own scores.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from sqlalchemy import func, select
from sqlmodel import Session, col

from app.db.models import (
    Criterion,
    Decision,
    DecisionStatus,
    Member,
    Option,
    Revision,
    Role,
    Round,
    RoundCompletion,
    Score,
    User,
)
from app.domain import analysis
from app.domain.anchors import EDITABLE_POINTS, labelled_points
from app.domain.errors import NotFound
from app.domain.labels import analyst_letter
from app.domain.visibility import group_visible
from app.services.criteria import list_criteria
from app.services.decisions import list_members
from app.services.group_view import GroupView, Method, ScoreFigures, compute_group, layout_key
from app.services.options import list_options


class ScoreLike(ScoreFigures, Protocol):
    """What the matrix reads of a score (its figures and rationale): a stored ``Score`` row,
    a viewer's own score or one rebuilt from revisions."""

    @property
    def rationale(self) -> str: ...


@dataclass
class AnalystScore:
    analyst_id: int
    label: str
    value: float | None
    not_applicable: bool
    rationale: str


@dataclass
class Cell:
    option_id: int
    criterion_id: int
    mine: ScoreLike | None = None
    value: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    count: int = 0
    contested: bool = False
    scores: list[AnalystScore] | None = None
    previous_value: float | None = None
    # Contested in the previous round (revealed): the cell to talk about in this one.
    previous_contested: bool = False
    # How many analysts wrote a rationale (0 while the round's scores are hidden).
    rationales: int = 0
    my_previous: ScoreLike | None = None

    @property
    def has_my_rationale(self) -> bool:
        return bool(self.mine is not None and self.mine.rationale)

    @property
    def reason_missing(self) -> bool:
        """Round 2 onwards: my score moved but my rationale is still last round's."""
        mine, before = self.mine, self.my_previous
        if mine is None or before is None:
            return False
        moved = (mine.value, mine.not_applicable) != (before.value, before.not_applicable)
        return moved and mine.rationale.strip() == before.rationale.strip()


@dataclass
class Progress:
    analyst_id: int
    name: str
    label: str
    scored: int
    total: int
    done: bool


@dataclass
class Matrix:
    decision: Decision
    role: Role
    viewer_id: int
    round: Round
    rounds: list[Round]
    method: Method
    group_visible: bool
    can_score: bool
    options: list[Option]
    criteria: list[Criterion]
    weights: list[float]
    cells: dict[tuple[int, int], Cell]
    totals: dict[int, float | None] = field(default_factory=dict)
    ranks: dict[int, int | None] = field(default_factory=dict)
    completeness: dict[int, float] = field(default_factory=dict)
    coverage: dict[int, float] = field(default_factory=dict)
    bounds: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)
    # Incomplete options ranked above one they do not beat where both were scored (ids).
    outranks: list[tuple[int, int]] = field(default_factory=list)
    contributions: dict[tuple[int, int], float | None] = field(default_factory=dict)
    progress: list[Progress] = field(default_factory=list)
    my_scored: int = 0
    my_done: bool = False
    revision: int = 0
    # The decision's change number this matrix shows (live pages poll with it).
    change_number: int = 0
    evaluation: analysis.Evaluation | None = None
    score_tensor: np.ndarray | None = None
    group: GroupView | None = None
    # Each criterion's scale points in words, lowest first: criterion id → [(point, anchor)].
    anchors: dict[int, list[tuple[int, str]]] = field(default_factory=dict)

    def cell_context(self, option_id: int, criterion_id: int) -> dict[str, object] | None:
        """``{"cell", "option", "criterion"}`` for one cell's details, or None if not shown."""
        cell = self.cells.get((option_id, criterion_id))
        if cell is None:
            return None
        return {
            "cell": cell,
            "option": next(o for o in self.options if o.id == option_id),
            "criterion": next(c for c in self.criteria if c.id == criterion_id),
        }

    def option_title(self, option_id: int) -> str:
        return next(o.title for o in self.options if o.id == option_id)

    def common_criteria(self, a: int, b: int) -> list[str]:
        """Names of the criteria on which both options have a group value."""
        return [
            c.name
            for c in self.criteria
            if self.cells[(a, c.id)].count and self.cells[(b, c.id)].count
        ]

    def scale_words(self, criterion: Criterion) -> str:
        """Which way the scale runs, plainly: "5 = very costly" (the top point's anchor)."""
        points = self.anchors.get(criterion.id) or []
        if not points:
            return ""
        top, word = points[-1]
        return f"{top} = {word}"

    def anchors_shown(self, criterion_id: int) -> list[tuple[int, str]]:
        """The anchors a header or the drawer lists: every point of a short scale, the two
        ends of a long one (0–100)."""
        points = self.anchors.get(criterion_id) or []
        return points if len(points) <= EDITABLE_POINTS else [points[0], points[-1]]

    def anchor_of(self, criterion_id: int, value: float | None) -> str:
        """The anchor of a whole scale point ("" for none or a point between two)."""
        if value is None or value != int(value):
            return ""
        return dict(self.anchors.get(criterion_id) or []).get(int(value), "")

    @property
    def is_current_round(self) -> bool:
        return self.round.number == self.decision.current_round

    @property
    def revealed(self) -> bool:
        return self.round.revealed_at is not None

    @property
    def cell_count(self) -> int:
        return len(self.options) * len(self.criteria)

    @property
    def scale(self) -> analysis.Scale:
        return analysis.Scale(float(self.decision.scale_min), float(self.decision.scale_max))

    @property
    def ranking(self) -> list[tuple[Option, float | None, int | None]]:
        rows = [(o, self.totals.get(o.id), self.ranks.get(o.id)) for o in self.options]
        return sorted(rows, key=lambda r: (r[2] is None, r[2] or 0, r[0].position))

    @property
    def layout(self) -> str:
        """Changes when the page's structure or visibility changes (the page then reloads)."""
        return layout_key(
            self.decision,
            self.round,
            self.group_visible,
            (o.id for o in self.options),
            (c.id for c in self.criteria),
        )


def latest_revision(*, session: Session, decision_id: int) -> int:
    return int(
        session.scalar(
            select(func.max(col(Revision.id))).where(col(Revision.decision_id) == decision_id)
        )
        or 0
    )


def analyst_labels(members: Sequence[tuple[Member, User]]) -> dict[int, str]:
    """Analysts as "Analyst A", "Analyst B", … in the order they joined the decision."""
    labels: dict[int, str] = {}
    for m, u in members:
        if m.role == Role.ANALYST.value:
            labels[u.id] = f"Analyst {analyst_letter(len(labels))}"
    return labels


def build_matrix(
    *,
    session: Session,
    decision: Decision,
    viewer_id: int,
    role: Role,
    round_number: int | None = None,
    method: Method | None = None,
) -> Matrix:
    """The live matrix of ``round_number`` (default: the current round) as the viewer sees it."""
    rounds = list(
        session.scalars(
            select(Round).where(col(Round.decision_id) == decision.id).order_by(col(Round.number))
        )
    )
    number = round_number or decision.current_round
    round_ = next((r for r in rounds if r.number == number), None)
    if round_ is None:
        raise NotFound(f"Round {number} does not exist.")
    visible = group_visible(decision, round_)
    previous = next((r for r in rounds if r.number == number - 1), None)
    previous_scores: list[Score] | None = None
    if previous is not None and group_visible(decision, previous):
        previous_scores = list(
            session.scalars(select(Score).where(col(Score.round_id) == previous.id))
        )
    return assemble_matrix(
        decision=decision,
        viewer_id=viewer_id,
        role=role,
        round_=round_,
        rounds=rounds,
        method=method,
        visible=visible,
        options=list_options(session=session, decision_id=decision.id, include_withdrawn=False),
        criteria=list_criteria(session=session, decision_id=decision.id),
        members=list_members(session=session, decision_id=decision.id),
        scores=list(session.scalars(select(Score).where(col(Score.round_id) == round_.id))),
        done_ids=set(
            session.scalars(
                select(col(RoundCompletion.analyst_id)).where(
                    col(RoundCompletion.round_id) == round_.id
                )
            )
        ),
        previous_scores=previous_scores,
        revision=latest_revision(session=session, decision_id=decision.id),
        can_score=(
            role is Role.ANALYST
            and number == decision.current_round
            and decision.status == DecisionStatus.SCORING.value
        ),
    )


def assemble_matrix(
    *,
    decision: Decision,
    viewer_id: int,
    role: Role,
    round_: Round,
    rounds: list[Round],
    method: Method | None,
    visible: bool,
    options: list[Option],
    criteria: list[Criterion],
    members: Sequence[tuple[Member, User]],
    scores: Iterable[ScoreLike],
    done_ids: set[int],
    previous_scores: Iterable[ScoreLike] | None,
    revision: int,
    can_score: bool,
) -> Matrix:
    """Compute the matrix from plain inputs (no database), with every analyst's score per
    cell: used for a cell's details, the overview and the "as of" views rebuilt from
    revisions. The group figures come from :func:`compute_group`, as on the live page."""
    method = method or default_method(decision)
    scores = list(scores)
    previous_scores = None if previous_scores is None else list(previous_scores)
    view = compute_group(
        decision=decision,
        round_=round_,
        method=method,
        visible=visible,
        options=options,
        criteria=criteria,
        analysts=[(u.id, u.display_name) for m, u in members if m.role == Role.ANALYST.value],
        scores=scores,
        done_ids=done_ids,
        previous_scores=previous_scores,
        change_number=revision,
        revision=revision,
    )
    matrix = matrix_from_group(
        view,
        decision=decision,
        viewer_id=viewer_id,
        role=role,
        round_=round_,
        rounds=rounds,
        options=options,
        criteria=criteria,
        mine=[s for s in scores if s.analyst_id == viewer_id],
        my_previous=(
            None
            if previous_scores is None
            else [s for s in previous_scores if s.analyst_id == viewer_id]
        ),
        can_score=can_score,
    )
    if visible and options and criteria:
        labels = analyst_labels(members)
        order = {a: k for k, (a, _) in enumerate(view.analysts)}
        per_cell: dict[tuple[int, int], list[ScoreLike]] = {}
        for s in scores:
            if s.analyst_id in order and (s.option_id, s.criterion_id) in matrix.cells:
                per_cell.setdefault((s.option_id, s.criterion_id), []).append(s)
        for key, cell in matrix.cells.items():
            cell.scores = [
                AnalystScore(
                    s.analyst_id,
                    labels.get(s.analyst_id, "Analyst"),
                    s.value,
                    s.not_applicable,
                    s.rationale,
                )
                for s in sorted(per_cell.get(key, []), key=lambda s: order[s.analyst_id])
            ]
    return matrix


def default_method(decision: Decision) -> Method:
    return "median" if decision.aggregation == "median" else "mean"


def matrix_from_group(
    view: GroupView,
    *,
    decision: Decision,
    viewer_id: int,
    role: Role,
    round_: Round,
    rounds: list[Round],
    options: list[Option],
    criteria: list[Criterion],
    mine: Iterable[ScoreLike],
    my_previous: Iterable[ScoreLike] | None,
    can_score: bool,
) -> Matrix:
    """The matrix one viewer sees: the shared group view with their own scores on top."""
    matrix = Matrix(
        decision=decision,
        role=role,
        viewer_id=viewer_id,
        round=round_,
        rounds=rounds,
        method=view.method,
        group_visible=view.visible,
        can_score=can_score,
        options=options,
        criteria=criteria,
        weights=[view.weights[c.id] for c in criteria],
        cells={(o.id, c.id): Cell(o.id, c.id) for o in options for c in criteria},
        totals=dict(view.totals),
        ranks=dict(view.ranks),
        completeness=dict(view.completeness),
        coverage=dict(view.coverage),
        bounds={o: (view.low.get(o), view.high.get(o)) for o in view.totals},
        outranks=list(view.outranks),
        contributions=dict(view.contributions),
        revision=view.revision,
        change_number=view.change_number,
        evaluation=view.evaluation,
        score_tensor=view.tensor,
        group=view,
        anchors={
            c.id: labelled_points(
                c.direction, decision.scale_min, decision.scale_max, c.anchors or None
            )
            for c in criteria
        },
    )
    for key, cell in matrix.cells.items():
        figures = view.cells.get(key)
        if figures is not None and figures.count:
            cell.value, cell.std = figures.value, figures.std
            cell.min, cell.max = figures.min, figures.max
            cell.count, cell.contested = figures.count, figures.contested
        cell.previous_value = view.previous.get(key)
        cell.previous_contested = key in view.previous_contested
        cell.rationales = view.rationales.get(key, 0) if view.visible else 0
    for s in mine:
        if (s.option_id, s.criterion_id) in matrix.cells:
            matrix.cells[(s.option_id, s.criterion_id)].mine = s
    for s in my_previous or ():
        if (s.option_id, s.criterion_id) in matrix.cells:
            matrix.cells[(s.option_id, s.criterion_id)].my_previous = s
    matrix.my_scored = view.scored.get(viewer_id, 0)
    matrix.my_done = viewer_id in view.done
    if role is Role.FACILITATOR:
        matrix.progress = [
            Progress(
                analyst_id,
                name,
                f"Analyst {analyst_letter(n)}",
                view.scored.get(analyst_id, 0),
                matrix.cell_count,
                analyst_id in view.done,
            )
            for n, (analyst_id, name) in enumerate(view.analysts)
        ]
    return matrix


def spread_by_round(*, session: Session, decision: Decision) -> list[tuple[int, float | None, int]]:
    """Mean standard deviation over cells, per visible round: (round, mean std, contested)."""
    out: list[tuple[int, float | None, int]] = []
    rounds = session.scalars(
        select(Round).where(col(Round.decision_id) == decision.id).order_by(col(Round.number))
    )
    scale = analysis.Scale(float(decision.scale_min), float(decision.scale_max))
    active = {
        o.id
        for o in list_options(session=session, decision_id=decision.id, include_withdrawn=False)
    }
    for r in rounds:
        if not group_visible(decision, r):
            continue
        cells: dict[tuple[int, int], list[float]] = {}
        for s in session.scalars(
            select(Score).where(col(Score.round_id) == r.id, col(Score.value).is_not(None))
        ):
            if s.option_id in active and s.value is not None:
                cells.setdefault((s.option_id, s.criterion_id), []).append(float(s.value))
        if not cells:
            out.append((r.number, None, 0))
            continue
        width = max(len(v) for v in cells.values())
        tensor = np.full((width, 1, len(cells)), np.nan)
        for j, vals in enumerate(cells.values()):
            tensor[: len(vals), 0, j] = vals
        stats = analysis.cell_stats(tensor, scale)
        out.append((r.number, float(np.nanmean(stats.std)), int(stats.contested.sum())))
    return out
