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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from app.db.models import (
    Criterion,
    Decision,
    Option,
    Round,
)
from app.domain import analysis

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


@dataclass
class GroupView:
    decision_id: int
    decision_created: float  # with the id, names this decision even if an id is reused
    round_number: int
    change_number: int
    revision: int  # the decision's latest revision at that change number
    method: Method
    visible: bool
    layout: str
    weights: dict[int, float]
    previous: dict[CellKey, float] = field(default_factory=dict)
    # Cells contested in the previous round (already revealed, so shown in a blind round too).
    previous_contested: frozenset[CellKey] = frozenset()
    cells: dict[CellKey, CellGroup] = field(default_factory=dict)
    totals: dict[int, float | None] = field(default_factory=dict)
    ranks: dict[int, int | None] = field(default_factory=dict)
    completeness: dict[int, float] = field(default_factory=dict)
    # The share of the weight each total rests on, and the range it could take once the
    # missing cells are scored (worst … best); incomplete options ranked above one they do
    # not beat on the criteria both were scored on (option ids, above first).
    coverage: dict[int, float] = field(default_factory=dict)
    low: dict[int, float | None] = field(default_factory=dict)
    high: dict[int, float | None] = field(default_factory=dict)
    outranks: list[tuple[int, int]] = field(default_factory=list)
    contributions: dict[CellKey, float | None] = field(default_factory=dict)
    # How many analysts wrote a rationale for each cell (only in a visible round).
    rationales: dict[CellKey, int] = field(default_factory=dict)
    scored: dict[int, int] = field(default_factory=dict)
    done: frozenset[int] = frozenset()
    # The decision's analysts in the order they joined (their labels follow it): id, name.
    analysts: list[tuple[int, str]] = field(default_factory=list)
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
                "rv": self.revision,
                "m": self.method,
                "v": self.visible,
                "l": self.layout,
                "w": list(self.weights.items()),
                "p": cells(self.previous),
                "pc": sorted([o, c] for o, c in self.previous_contested),
                "c": [
                    [o, c, g.value, g.std, g.min, g.max, g.count, g.contested]
                    for (o, c), g in self.cells.items()
                ],
                "t": [
                    [
                        o,
                        self.totals[o],
                        self.ranks[o],
                        self.completeness[o],
                        self.coverage[o],
                        self.low[o],
                        self.high[o],
                    ]
                    for o in self.totals
                ],
                "x": self.outranks,
                "k": cells(self.contributions),
                "rt": cells(self.rationales),
                "s": list(self.scored.items()),
                "f": sorted(self.done),
                "a": self.analysts,
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
            revision=data["rv"],
            method=data["m"],
            visible=data["v"],
            layout=data["l"],
            weights={int(c): float(w) for c, w in data["w"]},
            previous={(o, c): v for o, c, v in data["p"]},
            previous_contested=frozenset((int(o), int(c)) for o, c in data["pc"]),
            cells={(row[0], row[1]): CellGroup(*row[2:]) for row in data["c"]},
            totals={row[0]: row[1] for row in data["t"]},
            ranks={row[0]: row[2] for row in data["t"]},
            completeness={row[0]: row[3] for row in data["t"]},
            coverage={row[0]: row[4] for row in data["t"]},
            low={row[0]: row[5] for row in data["t"]},
            high={row[0]: row[6] for row in data["t"]},
            outranks=[(a, b) for a, b in data["x"]],
            contributions={(o, c): v for o, c, v in data["k"]},
            rationales={(o, c): int(n) for o, c, n in data["rt"]},
            scored={int(a): n for a, n in data["s"]},
            done=frozenset(data["f"]),
            analysts=[(int(a), str(name)) for a, name in data["a"]],
        )


# Raised whenever the stored form of a view changes, so a new release never reads a view an
# older one stored in a shared cache (nor the reverse).
VIEW_FORMAT = 3


def view_key(
    decision_id: int, decision_created: float, round_number: int, change_number: int, method: str
) -> str:
    return (
        f"group-view:v{VIEW_FORMAT}:{decision_id}:{decision_created:.6f}:{round_number}:"
        f"{change_number}:{method}"
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
    analysts: Sequence[tuple[int, str]],
    scores: Iterable[ScoreFigures] | np.ndarray,
    done_ids: Iterable[int],
    previous_scores: Iterable[ScoreFigures] | np.ndarray | None,
    change_number: int,
    revision: int,
) -> GroupView:
    """The group view from plain inputs (no database): the live matrix and the "as of"
    views rebuilt from revisions both come through here, so both show the same numbers.

    ``scores`` are score objects or a :func:`score_table`; ``analysts`` (id, name) in the
    order they joined the decision."""
    view = GroupView(
        decision_id=decision.id,
        decision_created=decision.created_at.timestamp(),
        round_number=round_.number,
        change_number=change_number,
        revision=revision,
        method=method,
        visible=visible,
        layout=layout_key(
            decision, round_, visible, (o.id for o in options), (c.id for c in criteria)
        ),
        weights={},
        done=frozenset(done_ids),
        analysts=[(int(a), str(name)) for a, name in analysts],
    )
    if criteria:
        normalised = analysis.normalise_weights([c.weight for c in criteria])
        view.weights = {c.id: float(w) for c, w in zip(criteria, normalised, strict=True)}
    option_ids = [o.id for o in options]
    criterion_ids = [c.id for c in criteria]
    analyst_ids = [a for a, _ in view.analysts]
    table = score_table(scores)
    i = _positions(table[:, 0], option_ids)
    j = _positions(table[:, 1], criterion_ids)
    k = _positions(table[:, 2], analyst_ids)
    inside = (i >= 0) & (j >= 0) & (k >= 0)
    value = table[:, 3]
    has_value = ~np.isnan(value)
    counted = inside & (has_value | (table[:, 4] == 1))
    per_analyst = np.bincount(k[counted], minlength=len(analyst_ids))
    view.scored = {a: int(n) for a, n in zip(analyst_ids, per_analyst, strict=True)}
    tensor = np.full((len(analyst_ids), len(options), len(criteria)), np.nan)
    filled = inside & has_value
    tensor[k[filled], i[filled], j[filled]] = value[filled]
    if previous_scores is not None:
        # The previous round's group values and contested cells (Delphi): that round is
        # revealed, so they are shown even while this round is blind.
        view.previous, view.previous_contested = _previous_figures(
            score_table(previous_scores),
            option_ids,
            criterion_ids,
            method,
            float(decision.scale_max - decision.scale_min),
        )
    if not visible or not options or not criteria:
        return view
    wrote = inside & (table[:, 5] == 1)
    for o, c in zip(i[wrote].tolist(), j[wrote].tolist(), strict=True):
        key = (option_ids[o], criterion_ids[c])
        view.rationales[key] = view.rationales.get(key, 0) + 1
    evaluation = analysis.evaluate(
        tensor,
        [c.weight for c in criteria],
        [c.direction for c in criteria],
        analysis.Scale(float(decision.scale_min), float(decision.scale_max)),
        method,
        missing=decision.missing_policy,
    )
    fill_from_evaluation(view, evaluation, options, criteria)
    view.evaluation, view.tensor = evaluation, tensor
    return view


# option id, criterion id, analyst id, value (NaN: none), N/A (1/0), has a rationale (1/0)
SCORE_COLUMNS = 6


def score_table(scores: Iterable[ScoreFigures] | np.ndarray) -> np.ndarray:
    """Scores as one float array, a row each (see ``SCORE_COLUMNS``)."""
    if isinstance(scores, np.ndarray):
        return scores
    rows = [
        (
            s.option_id,
            s.criterion_id,
            s.analyst_id,
            s.value,
            s.not_applicable,
            bool((getattr(s, "rationale", "") or "").strip()),
        )
        for s in scores
    ]
    return np.array(rows, dtype=float).reshape(-1, SCORE_COLUMNS)


def _positions(ids: np.ndarray, wanted: Sequence[int]) -> np.ndarray:
    """Index of each id in ``wanted``, -1 where it is not there."""
    if not wanted or not len(ids):
        return np.full(len(ids), -1, dtype=int)
    order = np.asarray(wanted, dtype=float)
    sorter = np.argsort(order)
    at = np.clip(np.searchsorted(order, ids, sorter=sorter), 0, len(order) - 1)
    found = order[sorter[at]] == ids
    return np.where(found, sorter[at], -1)


def _previous_figures(
    table: np.ndarray,
    option_ids: Sequence[int],
    criterion_ids: Sequence[int],
    method: Method,
    span: float,
) -> tuple[dict[CellKey, float], frozenset[CellKey]]:
    """The previous round's group value per cell, and its contested cells (at least two
    scores whose range is at least half the scale, as :func:`analysis.cell_stats` says)."""
    i, j = _positions(table[:, 0], option_ids), _positions(table[:, 1], criterion_ids)
    keep = (i >= 0) & (j >= 0) & ~np.isnan(table[:, 3])
    values: dict[CellKey, list[float]] = {}
    for o, c, v in table[keep][:, [0, 1, 3]].tolist():
        values.setdefault((int(o), int(c)), []).append(v)
    group = {
        key: float(np.median(vals) if method == "median" else np.mean(vals))
        for key, vals in values.items()
    }
    contested = frozenset(
        key for key, vals in values.items() if len(vals) >= 2 and max(vals) - min(vals) >= span / 2
    )
    return group, contested


def _finite(value: float) -> float | None:
    return None if np.isnan(value) or np.isinf(value) else float(value)


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
        view.coverage[o.id] = float(evaluation.weight_coverage[i])
        view.low[o.id] = _finite(evaluation.total_low[i])
        view.high[o.id] = _finite(evaluation.total_high[i])
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
    view.outranks = [(options[a].id, options[b].id) for a, b in evaluation.outranks_without_beating]


@dataclass(frozen=True)
class ViewChanges:
    """What a page must redraw: cells, totals and ranks (by id), weights, progress."""

    cells: frozenset[CellKey] = frozenset()
    totals: frozenset[int] = frozenset()
    ranks: frozenset[int] = frozenset()
    weights: bool = False
    progress: bool = False

    outranks: bool = False

    @property
    def ranking(self) -> bool:
        return bool(self.totals or self.ranks) or self.weights or self.outranks


def changes_between(old: GroupView, new: GroupView) -> ViewChanges:
    """What moved from ``old`` to ``new`` (two views of one round with the same layout)."""
    keys = set(old.cells) | set(new.cells) | set(old.previous) | set(new.previous)
    keys |= set(old.rationales) | set(new.rationales)
    keys |= old.previous_contested ^ new.previous_contested
    option_ids = set(old.totals) | set(new.totals)
    return ViewChanges(
        cells=frozenset(
            k
            for k in keys
            if old.cells.get(k) != new.cells.get(k)
            or old.previous.get(k) != new.previous.get(k)
            or old.rationales.get(k) != new.rationales.get(k)
            or (k in old.previous_contested) != (k in new.previous_contested)
        ),
        totals=frozenset(
            o
            for o in option_ids
            if (old.totals.get(o), old.completeness.get(o), old.coverage.get(o), old.low.get(o))
            != (new.totals.get(o), new.completeness.get(o), new.coverage.get(o), new.low.get(o))
            or old.high.get(o) != new.high.get(o)
        ),
        ranks=frozenset(o for o in option_ids if old.ranks.get(o) != new.ranks.get(o)),
        weights=old.weights != new.weights,
        progress=(old.scored, old.done) != (new.scored, new.done),
        outranks=old.outranks != new.outranks,
    )
