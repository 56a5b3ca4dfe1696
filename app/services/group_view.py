"""The group view of a round: what the team's scores add up to, computed once per change.

A group view holds everything on the matrix that does not depend on who is looking: each
cell's group value and spread, each option's total, rank and completeness, the previous
round's group values, the weights, and each analyst's progress. It is computed once for a
(decision, round, change number, method) — the visibility of the round follows from those —
and shared by every viewer, worker and host (:mod:`app.adapters.shared_cache`, with a
per-process first level), so the cost of a change does not grow with the number of pages
open. A viewer's own scores are merged on top (:func:`app.services.matrix.viewer_matrix`).

Blind rounds: a view of a round whose group values are hidden carries no group value,
spread, total or rank at all — only the weights and the progress counts the facilitator
sees — so nothing shared can carry what a viewer may not see.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from threading import Lock
from typing import Any, Literal, Protocol

import numpy as np
from sqlalchemy import select
from sqlmodel import Session, col

from app.adapters.shared_cache import SharedCache
from app.db.changes import current_number
from app.db.models import Criterion, Decision, Option, Round, RoundCompletion, Score
from app.domain import analysis
from app.domain.errors import NotFound
from app.domain.visibility import group_visible

Method = Literal["mean", "median"]
CellKey = tuple[int, int]


@dataclass(frozen=True)
class CellGroup:
    """The group's figures for one cell (``count`` 0: nobody scored it)."""

    value: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    count: int = 0
    contested: bool = False


class ScoreFigures(Protocol):
    """What the group computation reads of a score: a stored row or a reconstructed one."""

    @property
    def option_id(self) -> int: ...
    @property
    def criterion_id(self) -> int: ...
    @property
    def analyst_id(self) -> int: ...
    @property
    def value(self) -> float | None: ...
    @property
    def not_applicable(self) -> bool: ...


@dataclass(frozen=True)
class ScoreRow:
    """A score as the group computation reads it from the database (no rationale)."""

    option_id: int
    criterion_id: int
    analyst_id: int
    value: float | None
    not_applicable: bool


@dataclass
class GroupView:
    decision_id: int
    decision_created: float  # with the id, names this decision even if an id is reused
    round_number: int
    change_number: int
    method: Method
    visible: bool
    layout: str
    weights: dict[int, float]
    previous: dict[CellKey, float] = field(default_factory=dict)
    cells: dict[CellKey, CellGroup] = field(default_factory=dict)
    totals: dict[int, float | None] = field(default_factory=dict)
    ranks: dict[int, int | None] = field(default_factory=dict)
    completeness: dict[int, float] = field(default_factory=dict)
    contributions: dict[CellKey, float | None] = field(default_factory=dict)
    scored: dict[int, int] = field(default_factory=dict)
    done: frozenset[int] = frozenset()
    # Kept by the process that computed the view (the overview's analysis uses them); never
    # shared, never compared.
    evaluation: analysis.Evaluation | None = field(default=None, compare=False, repr=False)
    tensor: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        return view_key(
            self.decision_id,
            self.decision_created,
            self.round_number,
            self.change_number,
            self.method,
        )

    def to_json(self) -> str:
        def cells(d: dict[CellKey, Any]) -> list[list[Any]]:
            return [[o, c, v] for (o, c), v in d.items()]

        return json.dumps(
            {
                "d": self.decision_id,
                "dc": self.decision_created,
                "r": self.round_number,
                "n": self.change_number,
                "m": self.method,
                "v": self.visible,
                "l": self.layout,
                "w": list(self.weights.items()),
                "p": cells(self.previous),
                "c": [
                    [o, c, g.value, g.std, g.min, g.max, g.count, g.contested]
                    for (o, c), g in self.cells.items()
                ],
                "t": [
                    [o, self.totals[o], self.ranks[o], self.completeness[o]] for o in self.totals
                ],
                "k": cells(self.contributions),
                "s": list(self.scored.items()),
                "f": sorted(self.done),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> GroupView:
        data = json.loads(text)
        return cls(
            decision_id=data["d"],
            decision_created=data["dc"],
            round_number=data["r"],
            change_number=data["n"],
            method=data["m"],
            visible=data["v"],
            layout=data["l"],
            weights={int(c): float(w) for c, w in data["w"]},
            previous={(o, c): v for o, c, v in data["p"]},
            cells={(row[0], row[1]): CellGroup(*row[2:]) for row in data["c"]},
            totals={o: t for o, t, _, _ in data["t"]},
            ranks={o: r for o, _, r, _ in data["t"]},
            completeness={o: q for o, _, _, q in data["t"]},
            contributions={(o, c): v for o, c, v in data["k"]},
            scored={int(a): n for a, n in data["s"]},
            done=frozenset(data["f"]),
        )


def view_key(
    decision_id: int, decision_created: float, round_number: int, change_number: int, method: str
) -> str:
    return (
        f"group-view:{decision_id}:{decision_created:.6f}:{round_number}:{change_number}:{method}"
    )


def layout_key(
    decision: Decision,
    round_: Round,
    visible: bool,
    option_ids: Iterable[int],
    criterion_ids: Iterable[int],
) -> str:
    """Changes when the page's structure or visibility changes (the page then reloads)."""
    parts = [
        decision.current_round,
        round_.number,
        round_.revealed_at is not None,
        visible,
        decision.status,
        decision.scoring_mode,
        list(option_ids),
        list(criterion_ids),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def compute_group(
    *,
    decision: Decision,
    round_: Round,
    method: Method,
    visible: bool,
    options: Sequence[Option],
    criteria: Sequence[Criterion],
    analyst_ids: Sequence[int],
    scores: Iterable[ScoreFigures],
    done_ids: Iterable[int],
    previous_scores: Iterable[ScoreFigures] | None,
    change_number: int,
) -> GroupView:
    """The group view from plain inputs (no database): the live matrix and the "as of"
    views rebuilt from revisions both come through here, so both show the same numbers."""
    view = GroupView(
        decision_id=decision.id,
        decision_created=decision.created_at.timestamp(),
        round_number=round_.number,
        change_number=change_number,
        method=method,
        visible=visible,
        layout=layout_key(
            decision, round_, visible, (o.id for o in options), (c.id for c in criteria)
        ),
        weights={},
        done=frozenset(done_ids),
    )
    if criteria:
        normalised = analysis.normalise_weights([c.weight for c in criteria])
        view.weights = {c.id: float(w) for c, w in zip(criteria, normalised, strict=True)}
    option_index = {o.id: i for i, o in enumerate(options)}
    criterion_index = {c.id: j for j, c in enumerate(criteria)}
    analyst_index = {a: k for k, a in enumerate(analyst_ids)}
    tensor = np.full((len(analyst_index), len(options), len(criteria)), np.nan)
    scored = dict.fromkeys(analyst_index, 0)
    for s in scores:
        i, j = option_index.get(s.option_id), criterion_index.get(s.criterion_id)
        k = analyst_index.get(s.analyst_id)
        if i is None or j is None or k is None:
            continue
        if s.value is not None or s.not_applicable:
            scored[s.analyst_id] += 1
        if s.value is not None:
            tensor[k, i, j] = s.value
    view.scored = scored
    if previous_scores is not None:
        # The previous round's group value (Delphi): shown even while this round is blind.
        values: dict[CellKey, list[float]] = {}
        for s in previous_scores:
            inside = s.option_id in option_index and s.criterion_id in criterion_index
            if s.value is not None and inside:
                values.setdefault((s.option_id, s.criterion_id), []).append(float(s.value))
        for key, vals in values.items():
            arr = np.array(vals)
            view.previous[key] = float(np.median(arr) if method == "median" else arr.mean())
    if not visible or not options or not criteria:
        return view
    evaluation = analysis.evaluate(
        tensor,
        [c.weight for c in criteria],
        [c.direction for c in criteria],
        analysis.Scale(float(decision.scale_min), float(decision.scale_max)),
        method,
    )
    fill_from_evaluation(view, evaluation, options, criteria)
    view.evaluation, view.tensor = evaluation, tensor
    return view


def fill_from_evaluation(
    view: GroupView,
    evaluation: analysis.Evaluation,
    options: Sequence[Option],
    criteria: Sequence[Criterion],
) -> None:
    st = evaluation.stats
    for i, o in enumerate(options):
        total = evaluation.totals[i]
        view.totals[o.id] = None if np.isnan(total) else float(total)
        view.ranks[o.id] = evaluation.ranks[i]
        view.completeness[o.id] = float(evaluation.completeness[i])
        for j, c in enumerate(criteria):
            count = int(st.count[i, j])
            view.cells[(o.id, c.id)] = (
                CellGroup(
                    float(st.value[i, j]),
                    float(st.std[i, j]),
                    float(st.min[i, j]),
                    float(st.max[i, j]),
                    count,
                    bool(st.contested[i, j]),
                )
                if count
                else CellGroup()
            )
            contribution = evaluation.contributions[i, j]
            view.contributions[(o.id, c.id)] = (
                None if np.isnan(contribution) else float(contribution)
            )


# --- reading and sharing ------------------------------------------------------------------

_LOCAL_SIZE = 512
_local: OrderedDict[str, GroupView] = OrderedDict()
_local_lock = Lock()


def _local_get(key: str) -> GroupView | None:
    with _local_lock:
        view = _local.get(key)
        if view is not None:
            _local.move_to_end(key)
        return view


def _local_put(view: GroupView) -> None:
    with _local_lock:
        _local[view.key] = view
        while len(_local) > _LOCAL_SIZE:
            _local.popitem(last=False)


def clear_local() -> None:
    """Forget this process's first level (tests measuring the computation use it)."""
    with _local_lock:
        _local.clear()


def cached_view(
    *, cache: SharedCache, decision: Decision, round_number: int, change_number: int, method: str
) -> GroupView | None:
    """A view already computed by this or any other worker, without computing anything."""
    key = view_key(
        decision.id, decision.created_at.timestamp(), round_number, change_number, method
    )
    view = _local_get(key)
    if view is None:
        text = cache.get(key)
        if text is not None:
            view = GroupView.from_json(text)
            _local_put(view)
    return view


def read_scores(session: Session, round_id: int) -> list[ScoreRow]:
    rows = session.execute(
        select(
            col(Score.option_id),
            col(Score.criterion_id),
            col(Score.analyst_id),
            col(Score.value),
            col(Score.not_applicable),
        ).where(col(Score.round_id) == round_id)
    )
    return [ScoreRow(*row) for row in rows]


def group_view(
    *,
    session: Session,
    cache: SharedCache,
    decision: Decision,
    rounds: Sequence[Round],
    round_number: int,
    method: Method,
    options: Sequence[Option],
    criteria: Sequence[Criterion],
    analyst_ids: Sequence[int],
) -> GroupView:
    """The round's group view at the change number ``session`` sees.

    ``session`` must read one snapshot (:func:`app.db.uow.consistent_read`) and the other
    arguments must come from it, so the view computed here is exactly the state its change
    number names — which is what lets every worker share it under that number.
    """
    number = current_number(session=session, decision_id=decision.id)
    view = cached_view(
        cache=cache,
        decision=decision,
        round_number=round_number,
        change_number=number,
        method=method,
    )
    if view is not None:
        return view
    round_ = next((r for r in rounds if r.number == round_number), None)
    if round_ is None:
        raise NotFound(f"Round {round_number} does not exist.")
    previous = next((r for r in rounds if r.number == round_number - 1), None)
    view = compute_group(
        decision=decision,
        round_=round_,
        method=method,
        visible=group_visible(decision, round_),
        options=options,
        criteria=criteria,
        analyst_ids=analyst_ids,
        scores=read_scores(session, round_.id),
        done_ids=session.scalars(
            select(col(RoundCompletion.analyst_id)).where(
                col(RoundCompletion.round_id) == round_.id
            )
        ),
        previous_scores=(
            read_scores(session, previous.id)
            if previous is not None and group_visible(decision, previous)
            else None
        ),
        change_number=number,
    )
    _local_put(view)
    cache.put(view.key, view.to_json(), decision_id=decision.id, change_number=number)
    return view


@dataclass(frozen=True)
class ViewChanges:
    """What a page must redraw: cells, totals and ranks (by id), weights, progress."""

    cells: frozenset[CellKey] = frozenset()
    totals: frozenset[int] = frozenset()
    ranks: frozenset[int] = frozenset()
    weights: bool = False
    progress: bool = False

    @property
    def ranking(self) -> bool:
        return bool(self.totals or self.ranks) or self.weights


def changes_between(old: GroupView, new: GroupView) -> ViewChanges:
    """What moved from ``old`` to ``new`` (two views of one round with the same layout)."""
    keys = set(old.cells) | set(new.cells) | set(old.previous) | set(new.previous)
    option_ids = set(old.totals) | set(new.totals)
    return ViewChanges(
        cells=frozenset(
            k
            for k in keys
            if old.cells.get(k) != new.cells.get(k) or old.previous.get(k) != new.previous.get(k)
        ),
        totals=frozenset(
            o
            for o in option_ids
            if (old.totals.get(o), old.completeness.get(o))
            != (new.totals.get(o), new.completeness.get(o))
        ),
        ranks=frozenset(o for o in option_ids if old.ranks.get(o) != new.ranks.get(o)),
        weights=old.weights != new.weights,
        progress=(old.scored, old.done) != (new.scored, new.done),
    )
