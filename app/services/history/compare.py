"""Comparing the matrix at two points: which ranks moved, and which score and weight changes
moved them. Works on two :class:`~app.services.matrix.Matrix` objects as the viewer may see
them (built by :func:`~app.services.history.state.matrix_as_of`), so it shows no more than
either matrix does."""

from __future__ import annotations

from dataclasses import dataclass

from app.db.models import Criterion, Option
from app.services.history.feed import Names
from app.services.matrix import Matrix


@dataclass(frozen=True)
class ScoreValue:
    """One analyst's score in a cell as it reads: a value, N/A, or no score (neither)."""

    value: float | None = None
    not_applicable: bool = False

    @property
    def shown(self) -> tuple[bool, str | None]:
        """What a reader sees, so two values that read the same are the same score."""
        if self.not_applicable:
            return (True, None)
        return (False, None if self.value is None else f"{float(self.value):g}")


NO_SCORE = ScoreValue()


@dataclass
class ScoreChange:
    analyst: str
    old: ScoreValue
    new: ScoreValue
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


def _row_id(row: Option | Criterion) -> int:
    """The id of an option or criterion in a matrix (stored, or rebuilt with its id)."""
    assert row.id is not None, "matrix row without an id"
    return row.id


def _criteria(m: Matrix) -> dict[int, tuple[Criterion, float]]:
    return {_row_id(c): (c, w) for c, w in zip(m.criteria, m.weights, strict=True)}


def _score_map(m: Matrix, key: tuple[int, int]) -> dict[int, tuple[ScoreValue, str]]:
    """Analyst → (score, rationale) for one cell, as far as the viewer may see."""
    cell = m.cells.get(key)
    if cell is None:
        return {}
    out: dict[int, tuple[ScoreValue, str]] = {}
    for s in cell.scores or []:
        out[s.analyst_id] = (ScoreValue(s.value, s.not_applicable), s.rationale)
    if cell.mine is not None and m.viewer_id not in out:
        mine = cell.mine
        out[m.viewer_id] = (ScoreValue(mine.value, mine.not_applicable), mine.rationale)
    return out


def _weight_changes(
    crit_a: dict[int, tuple[Criterion, float]], crit_b: dict[int, tuple[Criterion, float]]
) -> tuple[list[WeightChange], set[int], set[int]]:
    """The weight changes, the criteria whose share changed and those whose weight was set
    (or that came or went)."""
    weights: list[WeightChange] = []
    changed: set[int] = set()
    set_directly: set[int] = set()
    for cid in list(crit_a) + [c for c in crit_b if c not in crit_a]:
        ca, wa = crit_a.get(cid, (None, None))
        cb, wb = crit_b.get(cid, (None, None))
        if ca is not None and cb is not None and ca.weight == cb.weight and wa == wb:
            continue
        if ca is None or cb is None or ca.weight != cb.weight:
            set_directly.add(cid)
        changed.add(cid)
        named = cb or ca
        assert named is not None  # the criterion is at one point at least
        weights.append(
            WeightChange(
                criterion=named.name,
                weight_a=ca.weight if ca else None,
                weight_b=cb.weight if cb else None,
                share_a=wa,
                share_b=wb,
            )
        )
    return weights, changed, set_directly


def _score_changes(a: Matrix, b: Matrix, key: tuple[int, int], names: Names) -> list[ScoreChange]:
    before, after = _score_map(a, key), _score_map(b, key)
    out = []
    for analyst in sorted(set(before) | set(after)):
        old, _ = before.get(analyst, (NO_SCORE, ""))
        new, rationale = after.get(analyst, (NO_SCORE, ""))
        if old.shown != new.shown:
            out.append(ScoreChange(names.user(analyst), old, new, rationale))
    return out


def compare(a: Matrix, b: Matrix, names: Names) -> Comparison:
    """Which ranks moved from ``a`` to ``b``, and which score and weight changes moved them."""
    crit_a, crit_b = _criteria(a), _criteria(b)
    weights, changed_weights, set_weights = _weight_changes(crit_a, crit_b)
    options_a = {_row_id(o): o for o in a.options}
    options_b = {_row_id(o): o for o in b.options}
    moves: list[OptionMove] = []
    for oid in list(options_b) + [o for o in options_a if o not in options_b]:
        title = (options_b.get(oid) or options_a[oid]).title
        causes: list[CellChange] = []
        for cid in list(crit_b) + [c for c in crit_a if c not in crit_b]:
            key = (oid, cid)
            cell_a, cell_b = a.cells.get(key), b.cells.get(key)
            score_changes = _score_changes(a, b, key, names)
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
