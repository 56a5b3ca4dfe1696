"""Scale, weights, cell statistics, utilities, weighted-sum totals, ranks and ``evaluate``.

The shared vocabulary, missing-cell policy and tie rules are described in the package
docstring (:mod:`app.domain.analysis`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from app.domain.analysis.missing import (
    fill_utility,
    missing_policy,
    outranks_without_beating,
    policy_totals,
    total_range,
)
from app.domain.vocabulary import MissingPolicy

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

BENEFIT = "benefit"
COST = "cost"
RANK_TOL = 1e-9
"""Default tie tolerance, in total points (totals are on 0-100)."""


# --------------------------------------------------------------------------------------------
# Basic types and validation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """A scoring scale ``[min, max]`` with ``min < max`` (e.g. 1-5 or 0-10)."""

    min: float
    max: float

    def __post_init__(self) -> None:
        lo, hi = float(self.min), float(self.max)
        if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
            raise ValueError(f"scale needs finite min < max, got [{self.min}, {self.max}]")

    @property
    def span(self) -> float:
        """``max - min``."""
        return float(self.max) - float(self.min)


def _cost_mask(directions: Sequence[str], n_criteria: int) -> BoolArray:
    """Boolean mask, True for cost criteria; validates length and spelling."""
    if isinstance(directions, str):
        raise ValueError("directions must be a sequence with one entry per criterion")
    dirs = [str(d).strip().lower() for d in directions]
    if len(dirs) != n_criteria:
        raise ValueError(f"expected {n_criteria} directions, got {len(dirs)}")
    bad = [d for d in dirs if d not in (BENEFIT, COST)]
    if bad:
        raise ValueError(f"directions must be 'benefit' or 'cost', got {bad!r}")
    return np.array([d == COST for d in dirs], dtype=bool)


def _as_scores(scores: ArrayLike) -> FloatArray:
    x = np.asarray(scores, dtype=float)
    if x.ndim != 3:
        raise ValueError(f"scores must have shape (analysts, options, criteria), got {x.shape}")
    if np.isinf(x).any():
        raise ValueError("scores must be finite or NaN")
    return x


def _check_weight_length(w: FloatArray, n_criteria: int) -> None:
    if w.size != n_criteria:
        raise ValueError(f"expected {n_criteria} weights, got {w.size}")


def normalise_weights(weights: ArrayLike) -> FloatArray:
    """Return ``w / sum(w)``.

    Raw weights must be a non-empty 1-D sequence of finite, non-negative numbers; a negative,
    NaN or infinite weight raises ``ValueError``. If every weight is zero the criteria are
    treated as equally important and ``1/k`` is returned for each of the ``k`` criteria.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or w.size == 0:
        raise ValueError("weights must be a non-empty 1-D sequence")
    if not np.isfinite(w).all():
        raise ValueError("weights must be finite (no NaN or infinity)")
    if (w < 0).any():
        raise ValueError("weights must be non-negative")
    total = float(w.sum())
    if total == 0.0:
        return np.full(w.size, 1.0 / w.size)
    return w / total


# --------------------------------------------------------------------------------------------
# Cell statistics and utilities
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellStats:
    """Per-cell summary of the analysts' scores; every array has shape (options, criteria).

    ``value`` is the group value (mean or median of the present scores), ``std`` the population
    standard deviation (ddof=0), ``min``/``max`` the extreme present scores, ``count`` the number
    of present scores and ``contested`` flags disagreement. All float fields are ``NaN`` where
    ``count == 0``.
    """

    value: FloatArray
    std: FloatArray
    min: FloatArray
    max: FloatArray
    count: IntArray
    contested: BoolArray
    method: str


def cell_stats(
    scores: ArrayLike, scale: Scale, method: Literal["mean", "median"] = "mean"
) -> CellStats:
    """Summarise ``scores`` (analysts, options, criteria) over the analyst axis, ignoring NaN.

    With ``x_1..x_n`` the present scores of a cell (``n = count``)::

        mean   = (1/n) sum x_k
        median = middle order statistic (mean of the two middle ones when n is even)
        std    = sqrt((1/n) sum (x_k - mean)^2)          (population, ddof = 0)
        contested = n >= 2 and (max - min) >= (scale.max - scale.min) / 2

    ``value`` is the mean or the median according to ``method``. Cells with ``n = 0`` get NaN
    (``count`` 0, ``contested`` False). Emits no NumPy warnings for empty cells.
    """
    if method not in ("mean", "median"):
        raise ValueError(f"method must be 'mean' or 'median', got {method!r}")
    x = _as_scores(scores)
    n_analysts = x.shape[0]
    present = ~np.isnan(x)
    count = present.sum(axis=0).astype(np.int64)
    has = count > 0
    safe_n = np.maximum(count, 1)

    mean = np.where(has, np.where(present, x, 0.0).sum(axis=0) / safe_n, np.nan)
    dev = np.where(present, x - mean, 0.0)
    std = np.where(has, np.sqrt((dev * dev).sum(axis=0) / safe_n), np.nan)
    lo = np.where(has, np.min(np.where(present, x, np.inf), axis=0, initial=np.inf), np.nan)
    hi = np.where(has, np.max(np.where(present, x, -np.inf), axis=0, initial=-np.inf), np.nan)

    if method == "mean":
        value = mean
    elif n_analysts == 0:
        value = np.full(count.shape, np.nan)
    else:
        ordered = np.sort(x, axis=0)  # NaN sorts last, so present scores come first
        lo_idx = np.maximum((count - 1) // 2, 0)[None]
        hi_idx = np.maximum(count // 2, 0)[None]
        lo_idx = np.minimum(lo_idx, n_analysts - 1)
        hi_idx = np.minimum(hi_idx, n_analysts - 1)
        a = np.take_along_axis(ordered, lo_idx, axis=0)[0]
        b = np.take_along_axis(ordered, hi_idx, axis=0)[0]
        value = np.where(has, (a + b) / 2.0, np.nan)

    with np.errstate(invalid="ignore"):
        contested = (count >= 2) & ((hi - lo) >= scale.span / 2.0)
    return CellStats(
        value=value, std=std, min=lo, max=hi, count=count, contested=contested, method=method
    )


def utilities(values: ArrayLike, scale: Scale, directions: Sequence[str]) -> FloatArray:
    """Map values on ``scale`` to utilities in ``[0, 1]``; the last axis must be criteria.

    ``u = (v - scale.min) / (scale.max - scale.min)`` for a benefit criterion and
    ``u = 1 - (v - scale.min) / (scale.max - scale.min) = (scale.max - v) / (scale.max -
    scale.min)`` for a cost criterion. NaN stays NaN. A present value outside the scale (by
    more than ``1e-9`` of its span) or an infinite value raises ``ValueError``; values within
    that rounding margin are clipped onto the scale.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim == 0:
        raise ValueError("values must have a criteria axis")
    cost = _cost_mask(directions, v.shape[-1])
    lo, hi, span = float(scale.min), float(scale.max), scale.span
    margin = 1e-9 * span
    with np.errstate(invalid="ignore"):
        outside = (v < lo - margin) | (v > hi + margin)
    if outside.any():
        raise ValueError(f"values outside the scale [{lo:g}, {hi:g}]")
    u = np.where(cost, (hi - v) / span, (v - lo) / span)
    return np.clip(u, 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# Totals and ranks
# --------------------------------------------------------------------------------------------


def _weighted_parts(u: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return ``(sum_{j present} w_j u_j, sum_{j present} w_j)`` over the last axis."""
    present = ~np.isnan(u)
    num = np.where(present, u, 0.0) @ w
    den = present.astype(float) @ w
    return num, den


def _ratio_total(num: FloatArray, den: FloatArray) -> FloatArray:
    """``100 * num / den`` clipped to ``[0, 100]``; NaN where ``den <= 0``."""
    ok = den > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(ok, 100.0 * num / np.where(ok, den, 1.0), np.nan)
    return np.clip(t, 0.0, 100.0)


def totals(utility_matrix: ArrayLike, weights: ArrayLike) -> FloatArray:
    """Weighted-sum totals on 0-100 under the missing-cell policy.

    ``utility_matrix`` has shape ``(..., options, criteria)`` with utilities in ``[0, 1]`` (NaN
    = missing); ``weights`` are raw weights, normalised with :func:`normalise_weights`::

        total_a = 100 * sum_{j present} w_j u_aj / sum_{j present} w_j

    NaN where the option has no present criterion with positive weight. With no missing cells
    this is the plain weighted sum ``100 * sum_j w_j u_aj``. Returns shape ``(..., options)``.
    """
    u = np.asarray(utility_matrix, dtype=float)
    if u.ndim < 2:
        raise ValueError("utility_matrix must have shape (..., options, criteria)")
    w = normalise_weights(weights)
    _check_weight_length(w, u.shape[-1])
    num, den = _weighted_parts(u, w)
    return _ratio_total(num, den)


def rank(totals: ArrayLike, tol: float = RANK_TOL) -> list[int | None]:
    """Competition ranks (1 = best): ``rank_i = 1 + #{k : total_k > total_i + tol}``.

    Totals within ``tol`` of each other share a rank and the next rank is skipped
    (``[90, 90, 80] -> [1, 1, 3]``). NaN totals get ``None`` (unranked).
    """
    t = np.asarray(totals, dtype=float)
    if t.ndim != 1:
        raise ValueError("totals must be 1-D")
    valid = ~np.isnan(t)
    ordered = np.sort(t[valid])
    better = ordered.size - np.searchsorted(ordered, t + tol, side="right")
    return [int(b) + 1 if ok else None for b, ok in zip(better, valid, strict=True)]


def top_options(values: ArrayLike, tol: float = RANK_TOL) -> tuple[int, ...]:
    """Indices of the options ranked 1 by :func:`rank` (empty if every value is NaN)."""
    return tuple(i for i, r in enumerate(rank(values, tol)) if r == 1)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """Result of :func:`evaluate`; arrays are indexed by option (and criterion).

    * ``stats``: :class:`CellStats` of the analysts' scores.
    * ``utilities`` (options x criteria): utilities of the group values (NaN = missing).
    * ``weights`` (criteria): normalised weights.
    * ``totals`` (options): 0-100 under ``missing`` (the missing-score policy), NaN when
      unranked; ``ranks``: competition ranks / None.
    * ``completeness`` (options): present criteria / all criteria.
    * ``weight_coverage`` (options): ``sum_{j present} w_j``, the share of the weight the total
      rests on actual scores, whatever the policy.
    * ``contributions`` (options x criteria): the points criterion ``j`` adds to option ``a``'s
      total, so ``np.nansum(contributions, axis=1) == totals`` for ranked options. Under skip
      ``100 w_j u_aj / sum_{k present} w_k`` and NaN for a missing cell; under midpoint and
      worst ``100 w_j u_aj``, a missing cell adding ``100 w_j`` times the policy's utility
      (0.5 or 0). NaN throughout for unranked options.
    * ``total_low``/``total_high`` (options): the range the total could take once the missing
      cells are scored, each anywhere on the scale at full weight (see
      :mod:`app.domain.analysis.missing`); equal to the total for a complete option, NaN when
      unranked.
    * ``outranks_without_beating``: pairs ``(a, b)`` in which incomplete option ``a`` ranks
      above ``b`` without beating it on the criteria both were scored on
      (:func:`app.domain.analysis.missing.outranks_without_beating`).
    * ``missing``: the missing-score policy the totals follow.
    """

    stats: CellStats
    utilities: FloatArray
    weights: FloatArray
    totals: FloatArray
    ranks: list[int | None]
    completeness: FloatArray
    weight_coverage: FloatArray
    contributions: FloatArray
    total_low: FloatArray
    total_high: FloatArray
    outranks_without_beating: list[tuple[int, int]]
    missing: MissingPolicy = MissingPolicy.SKIP

    @property
    def top(self) -> tuple[int, ...]:
        """Indices of the options ranked first."""
        return tuple(i for i, r in enumerate(self.ranks) if r == 1)

    @property
    def incomplete(self) -> tuple[int, ...]:
        """Indices of the ranked options whose range is wider than their total."""
        return tuple(
            i
            for i, r in enumerate(self.ranks)
            if r is not None and self.total_high[i] > self.total_low[i]
        )


def evaluate(
    scores: ArrayLike,
    weights: ArrayLike,
    directions: Sequence[str],
    scale: Scale,
    method: Literal["mean", "median"] = "mean",
    missing: MissingPolicy | str = MissingPolicy.SKIP,
) -> Evaluation:
    """Group values -> utilities -> totals, ranks, coverage, contributions and ranges.

    ``missing`` is the missing-score policy (see the package docstring); formulas::

        value_aj        = mean (or median) of the present analyst scores of cell (a, j)
        u_aj            = utility of value_aj on the scale (cost criteria inverted)
        skip:     total_a = 100 * sum_{j present} w_j u_aj / sum_{j present} w_j
        midpoint: total_a = 100 * (sum_{j present} w_j u_aj + 0.5 * sum_{j missing} w_j)
        worst:    total_a = 100 * sum_{j present} w_j u_aj
        skip: contribution_aj = 100 * w_j u_aj / sum_{k present} w_k
        else: contribution_aj = 100 * w_j (u_aj, or the policy's utility where missing)
    """
    policy = missing_policy(missing)
    fill = fill_utility(policy)
    x = _as_scores(scores)
    n_criteria = x.shape[2]
    w = normalise_weights(weights)
    _check_weight_length(w, n_criteria)
    stats = cell_stats(x, scale, method)
    u = utilities(stats.value, scale, directions)
    num, den = _weighted_parts(u, w)
    present = ~np.isnan(u)
    unscored = (~present).astype(float) @ w
    tot = policy_totals(num, den, unscored, fill)
    ok = den > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        if fill is None:
            points = 100.0 * u * w / np.where(ok, den, 1.0)[:, None]
        else:
            points = 100.0 * np.where(present, u, fill) * w / (den + unscored)[:, None]
    contrib = np.where(ok[:, None] & (present | (fill is not None)), points, np.nan)
    completeness = present.sum(axis=1) / n_criteria
    ranks = rank(tot)
    low, high = total_range(num, den, unscored, tot)
    return Evaluation(
        stats=stats,
        utilities=u,
        weights=w,
        totals=tot,
        ranks=ranks,
        completeness=completeness.astype(float),
        weight_coverage=den,
        contributions=contrib,
        total_low=low,
        total_high=high,
        outranks_without_beating=outranks_without_beating(u, w, ranks, RANK_TOL),
        missing=policy,
    )
