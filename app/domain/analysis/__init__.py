"""Decision analysis core for Options Matrix: weighted-sum totals, sensitivity, SMAA-2, TOPSIS.

Pure Python + NumPy; no Flask, no database, no other ``app`` imports.

Vocabulary and shapes
---------------------
* An *analyst* scores each *option* against each *criterion* on a *scale* ``[min, max]``.
* ``scores``: float array of shape ``(analysts, options, criteria)``; ``NaN`` marks a cell
  the analyst left empty or marked N/A.
* ``directions``: one of ``"benefit"`` / ``"cost"`` per criterion (case-insensitive).
* ``weights``: raw non-negative *weights* per criterion; only their proportions matter
  (see :func:`normalise_weights`).
* A *utility* is a score mapped linearly onto ``[0, 1]`` with 1 always best
  (:func:`utilities`); a *total* is a weighted mean utility on ``[0, 100]`` (:func:`totals`);
  a *rank* is a competition rank with 1 = best (:func:`rank`).

Missing-cell policy
-------------------
A missing cell (``NaN`` group value or utility) is **never counted as zero**. An option's
total is taken over the criteria it has a value for, with the normalised weights
renormalised among those criteria::

    total_a = 100 * sum_{j present} w_j * u_aj / sum_{j present} w_j

* ``completeness_a = (number of present criteria) / (number of criteria)``.
* ``weight_coverage_a = sum_{j present} w_j`` (normalised weights, so in ``[0, 1]``): how much
  of the decision's weight the total actually rests on.
* An option with no present cell - or whose present cells all carry zero weight
  (``weight_coverage == 0``) - has total ``NaN`` and rank ``None`` (unranked, listed last).

The same policy applies per sample in SMAA and in sensitivity analysis (where it makes the
total a linear-fractional function of the varied weight). TOPSIS is the exception: it needs
a complete row, so options with any missing cell get closeness ``NaN`` and are left out of
the normalisation and ideal points (see :func:`topsis`).

Ties
----
* :func:`rank`: totals within ``tol`` (default ``1e-9`` total points) of each other are tied
  and share the best rank of the group (competition ranking "1, 1, 3").
  Precisely, ``rank_i = 1 + #{k : total_k > total_i + tol}``.
* :func:`smaa`: within each sample, options whose totals are within ``tol`` (chained in sorted
  order) form a tie group occupying ranks ``r .. r+g-1``; each member is credited ``1/g`` of
  each of those ranks. Options with no total in a sample form the last tie group. Rank
  acceptability rows and columns therefore each sum to exactly 1, and no option is favoured
  by its index.
* :func:`sensitivity`: if several options share the top, the lowest-index one is tracked and
  ``tied_at_top`` is set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "BENEFIT",
    "COST",
    "RANK_TOL",
    "CellStats",
    "CriterionSensitivity",
    "Evaluation",
    "Scale",
    "SmaaResult",
    "cell_stats",
    "evaluate",
    "methods_agree",
    "normalise_weights",
    "rank",
    "run_smaa",
    "sample_utilities",
    "sample_weights",
    "sensitivity",
    "smaa",
    "top_options",
    "topsis",
    "totals",
    "utilities",
    "weights_at",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

BENEFIT = "benefit"
COST = "cost"
RANK_TOL = 1e-9
"""Default tie tolerance, in total points (totals are on 0-100)."""

# Relative size below which a polynomial coefficient in the sensitivity analysis is taken as
# rounding noise (coefficients are products of utilities and weights, so at most ~4).
_COEF_RTOL = 1e-12
_COEF_ATOL = 1e-13
# Default upper bound on elements of the per-chunk work arrays in SMAA (~16 MB of float64).
_SMAA_CHUNK_ELEMENTS = 2_000_000


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
    * ``totals`` (options): 0-100, NaN when unranked; ``ranks``: competition ranks / None.
    * ``completeness`` (options): present criteria / all criteria.
    * ``weight_coverage`` (options): ``sum_{j present} w_j``.
    * ``contributions`` (options x criteria): ``100 w_j u_aj / sum_{k present} w_k``, the points
      criterion ``j`` adds to option ``a``'s total; NaN for missing cells and for unranked
      options, so ``np.nansum(contributions, axis=1) == totals`` for ranked options.
    """

    stats: CellStats
    utilities: FloatArray
    weights: FloatArray
    totals: FloatArray
    ranks: list[int | None]
    completeness: FloatArray
    weight_coverage: FloatArray
    contributions: FloatArray

    @property
    def top(self) -> tuple[int, ...]:
        """Indices of the options ranked first."""
        return tuple(i for i, r in enumerate(self.ranks) if r == 1)


def evaluate(
    scores: ArrayLike,
    weights: ArrayLike,
    directions: Sequence[str],
    scale: Scale,
    method: Literal["mean", "median"] = "mean",
) -> Evaluation:
    """Group values -> utilities -> totals, ranks, coverage and per-criterion contributions.

    See the module docstring for the missing-cell policy; formulas::

        value_aj        = mean (or median) of the present analyst scores of cell (a, j)
        u_aj            = utility of value_aj on the scale (cost criteria inverted)
        total_a         = 100 * sum_{j present} w_j u_aj / sum_{j present} w_j
        contribution_aj = 100 * w_j u_aj / sum_{k present} w_k
    """
    x = _as_scores(scores)
    n_criteria = x.shape[2]
    w = normalise_weights(weights)
    _check_weight_length(w, n_criteria)
    stats = cell_stats(x, scale, method)
    u = utilities(stats.value, scale, directions)
    num, den = _weighted_parts(u, w)
    tot = _ratio_total(num, den)
    present = ~np.isnan(u)
    ok = den > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        contrib = np.where(
            present & ok[:, None], 100.0 * u * w / np.where(ok, den, 1.0)[:, None], np.nan
        )
    completeness = present.sum(axis=1) / n_criteria
    return Evaluation(
        stats=stats,
        utilities=u,
        weights=w,
        totals=tot,
        ranks=rank(tot),
        completeness=completeness.astype(float),
        weight_coverage=den,
        contributions=contrib,
    )


# --------------------------------------------------------------------------------------------
# One-at-a-time weight sensitivity (exact)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionSensitivity:
    """How far criterion ``criterion``'s weight can move before the top option changes.

    * ``weight``: current normalised weight ``w_j``.
    * ``top_option``: option tracked (the top at ``w_j``; lowest index if ``tied_at_top``),
      None if no option has a total.
    * ``top_options``: all options ranked first at ``w_j``.
    * ``lower``/``upper``: the maximal interval ``[lower, upper]`` of ``t`` containing ``w_j``
      on which no other option's total strictly exceeds ``top_option``'s.
    * ``below_option``/``above_option``: the option that becomes top just below ``lower`` /
      just above ``upper``; None when that end is 0 / 1 with no takeover.
    * ``smallest_change``: ``min(w_j - lower, upper - w_j)`` over ends with a takeover; None if
      the top never changes on ``[0, 1]``. 0.0 means a tie at the top is broken by any move.
    """

    criterion: int
    weight: float
    top_option: int | None
    top_options: tuple[int, ...]
    tied_at_top: bool
    lower: float
    upper: float
    below_option: int | None
    above_option: int | None
    smallest_change: float | None


def _other_shares(w: FloatArray, j: int) -> FloatArray:
    """Proportions ``p_i`` (i != j, p_j = 0) in which the other criteria share ``1 - t``."""
    p = w.copy()
    p[j] = 0.0
    s = float(p.sum())
    if s > 0:
        return p / s
    if w.size > 1:  # w_j == 1: the others share equally
        p[:] = 1.0 / (w.size - 1)
        p[j] = 0.0
    return p


def weights_at(weights: ArrayLike, criterion: int, t: float) -> FloatArray:
    """Normalised weights after setting criterion ``j``'s weight to ``t`` in ``[0, 1]``.

    ``w_j' = t`` and ``w_i' = (1 - t) * w_i / sum_{k != j} w_k`` (= ``w_i (1-t)/(1-w_j)``) for
    ``i != j``. If every other weight is zero (``w_j = 1``) proportional rescaling is undefined
    and the other criteria share ``1 - t`` equally. With a single criterion the weight vector
    is ``[t]``, and totals do not depend on it.
    """
    w = normalise_weights(weights)
    if not 0 <= criterion < w.size:
        raise IndexError(f"criterion {criterion} out of range")
    if not 0.0 <= t <= 1.0:
        raise ValueError("t must lie in [0, 1]")
    out = (1.0 - t) * _other_shares(w, criterion)
    out[criterion] = t
    return out


def _positive_intervals(c0: float, c1: float, c2: float) -> list[tuple[float, float]]:
    """Open intervals of the real line on which ``c0 + c1 t + c2 t^2 > 0``.

    Coefficients at rounding-noise level must already be zeroed. A double root (or a
    discriminant within rounding of zero) of a downward parabola is a touch, not a crossing.
    """
    inf = math.inf
    if c2 == 0.0:
        if c1 == 0.0:
            return [(-inf, inf)] if c0 > 0 else []
        r = -c0 / c1
        return [(r, inf)] if c1 > 0 else [(-inf, r)]
    disc = c1 * c1 - 4.0 * c2 * c0
    noise = 1e-13 * (c1 * c1 + abs(4.0 * c2 * c0))
    if disc <= noise:
        if c2 < 0:
            return []
        r = -c1 / (2.0 * c2)
        return [(-inf, r), (r, inf)]
    sq = math.sqrt(disc)
    q = -0.5 * (c1 + math.copysign(sq, c1))  # numerically stable quadratic roots
    r1, r2 = sorted((q / c2, c0 / q))
    if c2 > 0:
        return [(-inf, r1), (r2, inf)]
    return [(r1, r2)]


def _snap(x: float, points: tuple[float, ...], tol: float = 1e-12) -> float:
    for p in points:
        if abs(x - p) <= tol:
            return p
    return x


def _pick_takeover(
    at: dict[int, float],
    point: float,
    sign: float,
    coefs: dict[int, tuple[float, float, float]],
    beta: FloatArray,
    gamma: FloatArray,
    delta: FloatArray,
) -> int:
    """Among options taking over at ``point`` pick the one leading just past it.

    ``sign`` is +1 when moving up through ``point`` and -1 moving down. Just past a root of
    ``g_b`` the lead ``T_b - T_a`` is ``sign * h * g_b'(point) / (den_a den_b)`` to first order,
    so the largest ``sign * g_b'(point) / den_b(point)`` wins; an option whose ``den_b`` vanishes
    at ``point`` (it only becomes ranked there) leads by a finite margin and wins first, by its
    limiting total ``100 beta_b / delta_b``. Remaining ties go to the lowest index.
    """
    cands = [b for b, tb in at.items() if abs(tb - point) <= 1e-12]

    def key(b: int) -> tuple[float, float, int]:
        _, c1, c2 = coefs[b]
        den_b = gamma[b] + delta[b] * point
        if den_b <= 1e-15:
            ext = beta[b] / delta[b] if delta[b] != 0 else 0.0
            return (1.0, float(ext), -b)
        return (0.0, float(sign * (c1 + 2.0 * c2 * point) / den_b), -b)

    return max(cands, key=key)


def sensitivity(utility_matrix: ArrayLike, weights: ArrayLike) -> list[CriterionSensitivity]:
    """Exact one-at-a-time weight sensitivity of the top option, one entry per criterion.

    For criterion ``j`` the weights move along ``w(t)`` of :func:`weights_at`, ``t`` in [0, 1].
    Write ``p`` for the other criteria's shares, ``m_aj`` for 1/0 presence and::

        num_a(t) = (1 - t) P_a + t m_aj u_aj,   P_a = sum_{i != j present} p_i u_ai
        den_a(t) = (1 - t) Q_a + t m_aj,        Q_a = sum_{i != j present} p_i
        T_a(t)   = 100 num_a(t) / den_a(t)

    so ``T_a`` is linear-fractional in ``t`` (linear when the option has no missing cells,
    since then ``den_a = 1``). Option ``b`` beats the tracked top ``a`` exactly where::

        g_b(t) = num_b(t) den_a(t) - num_a(t) den_b(t) > 0

    a polynomial of degree <= 2 (degree <= 1 with no missing cells). Its real roots are found in
    closed form, the sets ``{g_b > 0}`` are intersected with [0, 1], and ``lower``/``upper`` are
    the nearest takeover points below/above ``w_j``. When several options take over at the
    same point, the one whose lead grows fastest (largest ``g_b'(t) / den_b(t)``) is reported.

    Conventions: totals are continuous in ``t`` on (0, 1); at ``t = 0`` or ``1`` an option
    whose present criteria all get zero weight is unranked, and the interval is reported by
    continuity. With a single criterion the ranking cannot depend on the weight: the interval
    is [0, 1] with no takeover. If no option has a total, ``top_option`` is None and
    ``lower = upper = w_j``.
    """
    u = np.asarray(utility_matrix, dtype=float)
    if u.ndim != 2:
        raise ValueError("utility_matrix must have shape (options, criteria)")
    n_options, n_criteria = u.shape
    w = normalise_weights(weights)
    _check_weight_length(w, n_criteria)
    current = totals(u, w)
    tops = top_options(current)
    present = ~np.isnan(u)
    u0 = np.where(present, u, 0.0)
    m = present.astype(float)

    results: list[CriterionSensitivity] = []
    for j in range(n_criteria):
        t0 = float(w[j])
        if not tops:
            results.append(CriterionSensitivity(j, t0, None, (), False, t0, t0, None, None, None))
            continue
        a = tops[0]
        if n_criteria == 1:
            results.append(
                CriterionSensitivity(j, t0, a, tops, len(tops) > 1, 0.0, 1.0, None, None, None)
            )
            continue
        p = _other_shares(w, j)
        alpha = u0 @ p  # num(t) = alpha + beta t
        beta = m[:, j] * u0[:, j] - alpha
        gamma = m @ p  # den(t) = gamma + delta t
        delta = m[:, j] - gamma

        up_at: dict[int, float] = {}
        down_at: dict[int, float] = {}
        coefs: dict[int, tuple[float, float, float]] = {}
        for b in range(n_options):
            if b == a:
                continue
            c0 = alpha[b] * gamma[a] - alpha[a] * gamma[b]
            c1 = alpha[b] * delta[a] + beta[b] * gamma[a] - alpha[a] * delta[b] - beta[a] * gamma[b]
            c2 = beta[b] * delta[a] - beta[a] * delta[b]
            size = max(abs(c0), abs(c1), abs(c2))
            if size <= _COEF_ATOL:
                continue  # identical total functions: never strictly ahead
            cut = _COEF_RTOL * size
            c0, c1, c2 = (0.0 if abs(c) <= cut else float(c) for c in (c0, c1, c2))
            coefs[b] = (c0, c1, c2)
            for lo, hi in _positive_intervals(c0, c1, c2):
                # Roots within rounding of 0, w_j or 1 are taken to be exactly there, so a tie
                # at the current weight or at an end is not mistaken for a crossing.
                lo, hi = _snap(lo, (0.0, t0, 1.0)), _snap(hi, (0.0, t0, 1.0))
                if t0 < 1.0 and hi > t0 and lo < 1.0:
                    up_at[b] = min(up_at.get(b, math.inf), max(lo, t0))
                if t0 > 0.0 and lo < t0 and hi > 0.0:
                    down_at[b] = max(down_at.get(b, -math.inf), min(hi, t0))

        upper, above = 1.0, None
        if up_at:
            upper = min(up_at.values())
            above = _pick_takeover(up_at, upper, 1.0, coefs, beta, gamma, delta)
        lower, below = 0.0, None
        if down_at:
            lower = max(down_at.values())
            below = _pick_takeover(down_at, lower, -1.0, coefs, beta, gamma, delta)
        changes = [d for d, o in ((t0 - lower, below), (upper - t0, above)) if o is not None]
        results.append(
            CriterionSensitivity(
                criterion=j,
                weight=t0,
                top_option=a,
                top_options=tops,
                tied_at_top=len(tops) > 1,
                lower=float(lower),
                upper=float(upper),
                below_option=below,
                above_option=above,
                smallest_change=float(min(changes)) if changes else None,
            )
        )
    return results


# --------------------------------------------------------------------------------------------
# SMAA-2
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmaaResult:
    """SMAA-2 descriptive measures (Lahdelma & Salminen 2001).

    * ``rank_acceptability`` (options x ranks): ``[i, r]`` = share of samples in which option
      ``i`` has rank ``r + 1`` (ties split, see module docstring); rows and columns sum to 1.
    * ``central_weights`` (options x criteria): mean weight vector over the samples where the
      option ranks first (tie-shared samples count with their share); NaN row if never first.
    * ``confidence`` (options): share of utility samples in which the option ranks first when
      the weights are fixed at its central weights; NaN where there are no central weights.
    * ``samples``: number of samples used.
    """

    rank_acceptability: FloatArray
    central_weights: FloatArray
    confidence: FloatArray
    samples: int

    @property
    def first_rank_acceptability(self) -> FloatArray:
        """``b^1_i``: probability that option ``i`` ranks first."""
        return self.rank_acceptability[:, 0]


def _normalise_rows(w: FloatArray) -> FloatArray:
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weight samples must be finite and non-negative")
    s = w.sum(axis=1, keepdims=True)
    k = w.shape[1]
    zero = s[:, 0] == 0
    out = w / np.where(s == 0, 1.0, s)
    if zero.any():
        out[zero] = 1.0 / k
    return out


def _batch_totals(u: FloatArray, w: FloatArray) -> FloatArray:
    """Totals for ``u`` (s, options, criteria) and normalised ``w`` (s, criteria) -> (s, options)."""
    present = ~np.isnan(u)
    num = np.matmul(np.where(present, u, 0.0), w[:, :, None])[:, :, 0]
    den = np.matmul(present.astype(float), w[:, :, None])[:, :, 0]
    return _ratio_total(num, den)


def _tie_groups(tot: FloatArray, tol: float) -> tuple[IntArray, IntArray, IntArray]:
    """Sort each row of ``tot`` descending (NaN last) and find tie groups.

    Returns ``(order, start, end)``: ``order[s, k]`` is the option at sorted position ``k``,
    whose tie group occupies positions ``start[s, k] .. end[s, k]`` (inclusive).
    """
    n, n_opt = tot.shape
    key = np.where(np.isnan(tot), -np.inf, tot)
    order = np.argsort(-key, axis=1, kind="stable")
    sv = np.take_along_axis(key, order, axis=1)
    new = np.ones((n, n_opt), dtype=bool)
    with np.errstate(invalid="ignore"):
        new[:, 1:] = (sv[:, :-1] - sv[:, 1:]) > tol  # -inf - -inf = NaN -> same group
    pos = np.arange(n_opt)
    start = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
    is_end = np.ones((n, n_opt), dtype=bool)
    is_end[:, :-1] = new[:, 1:]
    end = np.minimum.accumulate(np.where(is_end, pos, n_opt - 1)[:, ::-1], axis=1)[:, ::-1]
    return order, start, end


def smaa(
    utilities: ArrayLike,
    weights: ArrayLike,
    tol: float = RANK_TOL,
    chunk_elements: int = _SMAA_CHUNK_ELEMENTS,
) -> SmaaResult:
    """SMAA-2 rank acceptabilities, central weights and confidence factors.

    ``utilities``: (samples, options, criteria), NaN = missing (a (options, criteria) array is
    used for every sample). ``weights``: (samples, criteria), each row normalised here (an
    all-zero row means equal weights; a single row is used for every sample). Per sample ``s``
    the total is the missing-cell weighted mean of :func:`totals`, and::

        b^r_i = (1/S) sum_s share_s(i has rank r)               (rank acceptability)
        wc_i  = sum_s f_si w_s / sum_s f_si,  f_si = share_s(i has rank 1)   (central weights)
        p^c_i = (1/S) sum_s share_s(i has rank 1 | weights = wc_i, utilities = u_s)

    where ``share`` is 1, 0, or ``1/g`` for a tie group of size ``g`` (see module docstring).
    Vectorised over samples in chunks of about ``chunk_elements`` array elements.
    """
    u = np.asarray(utilities, dtype=float)
    w = np.asarray(weights, dtype=float)
    if u.ndim == 2:
        u = u[None]
    if w.ndim == 1:
        w = w[None]
    if u.ndim != 3 or w.ndim != 2:
        raise ValueError("utilities must be (samples, options, criteria), weights (samples, k)")
    n_s = max(u.shape[0], w.shape[0])
    if u.shape[0] not in (1, n_s) or w.shape[0] not in (1, n_s):
        raise ValueError("utilities and weights must have the same number of samples")
    _, n_opt, n_crit = u.shape
    if w.shape[1] != n_crit:
        raise ValueError(f"expected {n_crit} weights per sample, got {w.shape[1]}")
    if n_crit == 0:
        raise ValueError("need at least one criterion")
    if np.isinf(u).any():
        raise ValueError("utilities must be finite or NaN")
    w = _normalise_rows(w)
    if n_opt == 0 or n_s == 0:
        empty = np.zeros((n_opt, n_opt))
        return SmaaResult(empty, np.full((n_opt, n_crit), np.nan), np.full(n_opt, np.nan), n_s)

    chunk = max(1, chunk_elements // (n_opt * max(n_crit, n_opt)))
    width = n_opt + 1
    acc_diff = np.zeros(n_opt * width)
    first_mass = np.zeros(n_opt)
    first_wsum = np.zeros((n_opt, n_crit))

    def rows(arr: FloatArray, lo: int, hi: int) -> FloatArray:
        return arr if arr.shape[0] == 1 else arr[lo:hi]

    for lo in range(0, n_s, chunk):
        hi = min(n_s, lo + chunk)
        uc, wc = rows(u, lo, hi), rows(w, lo, hi)
        if uc.shape[0] != hi - lo:
            uc = np.broadcast_to(uc, (hi - lo, n_opt, n_crit))
        if wc.shape[0] != hi - lo:
            wc = np.broadcast_to(wc, (hi - lo, n_crit))
        tot = _batch_totals(uc, wc)
        order, start, end = _tie_groups(tot, tol)
        share = 1.0 / (end - start + 1)
        base = order * width
        acc_diff += np.bincount((base + start).ravel(), share.ravel(), n_opt * width)
        acc_diff -= np.bincount((base + end + 1).ravel(), share.ravel(), n_opt * width)
        first = np.zeros(tot.shape)
        np.put_along_axis(first, order, np.where(start == 0, share, 0.0), axis=1)
        first_mass += first.sum(axis=0)
        first_wsum += first.T @ wc

    acceptability = np.cumsum(acc_diff.reshape(n_opt, width), axis=1)[:, :n_opt] / n_s
    acceptability = np.clip(acceptability, 0.0, 1.0)
    has_central = first_mass > 0
    central = np.full((n_opt, n_crit), np.nan)
    central[has_central] = first_wsum[has_central] / first_mass[has_central, None]

    confidence = np.full(n_opt, np.nan)
    idx = np.flatnonzero(has_central)
    if idx.size:
        wc_t = central[idx].T  # (criteria, I)
        hits = np.zeros(idx.size)
        n_u = u.shape[0]
        for lo in range(0, n_u, chunk):
            uc = u[lo : lo + chunk]
            present = ~np.isnan(uc)
            num = np.where(present, uc, 0.0) @ wc_t  # (s, options, I)
            den = present.astype(float) @ wc_t
            tot = _ratio_total(num, den)
            key = np.where(np.isnan(tot), -np.inf, tot)
            best = key.max(axis=1, keepdims=True)  # (s, 1, I)
            at_top = key >= best - tol  # all-unranked sample: every option shares the top
            n_top = at_top.sum(axis=1)  # (s, I)
            own = at_top[:, idx, np.arange(idx.size)]  # option idx[k] under weights wc_k
            hits += np.where(own, 1.0 / np.maximum(n_top, 1), 0.0).sum(axis=0)
        confidence[idx] = hits / n_u
    return SmaaResult(acceptability, central, confidence, n_s)


def sample_weights(
    rng: np.random.Generator,
    n: int,
    k: int,
    base: ArrayLike | None = None,
    band: float | None = None,
) -> FloatArray:
    """Draw ``n`` weight vectors over ``k`` criteria; returns (n, k), rows summing to 1.

    * ``base is None``: uniform on the simplex, i.e. Dirichlet(1, ..., 1), drawn as normalised
      standard exponentials ``e_i / sum e`` (the SMAA "no weight information" case).
    * ``base`` and ``band`` given: with ``b = normalise_weights(base)``, each weight is drawn
      independently from ``Uniform[max(0, b_i - band), b_i + band]`` (``band`` in weight units,
      so 0.1 = +/-10 percentage points) and the row is then renormalised; renormalisation can
      move a weight slightly outside its band. ``band = 0`` repeats ``b``.
    """
    if n < 0 or k < 1:
        raise ValueError("need n >= 0 samples and k >= 1 criteria")
    if base is None:
        if band is not None:
            raise ValueError("band needs base weights")
        e: FloatArray = rng.standard_exponential((n, k))
        out: FloatArray = e / e.sum(axis=1, keepdims=True)
        return out
    if band is None:
        raise ValueError("base weights need a band (use band=0 for fixed weights)")
    if not (math.isfinite(band) and band >= 0):
        raise ValueError("band must be a finite non-negative number")
    b = normalise_weights(base)
    _check_weight_length(b, k)
    lo = np.maximum(0.0, b - band)
    hi = b + band
    draw = lo + (hi - lo) * rng.random((n, k))
    return _normalise_rows(draw)


def sample_utilities(
    rng: np.random.Generator,
    n: int,
    scores: ArrayLike,
    scale: Scale,
    directions: Sequence[str],
) -> FloatArray:
    """Draw ``n`` utility matrices (n, options, criteria) from the analysts' scores.

    For every sample and cell one of that cell's present analyst scores is picked uniformly
    at random (independently across cells and samples) and converted with :func:`utilities`.
    Cells without any score are NaN in every sample.
    """
    x = _as_scores(scores)
    n_an, n_opt, n_crit = x.shape
    if n < 0:
        raise ValueError("n must be >= 0")
    u_an = utilities(x, scale, directions)
    cells = n_opt * n_crit
    if n_an == 0:
        return np.full((n, n_opt, n_crit), np.nan)
    packed = np.sort(u_an, axis=0).reshape(n_an, cells)  # present values first, NaN last
    count = (~np.isnan(u_an)).sum(axis=0).reshape(cells)
    pick = (rng.random((n, cells)) * count).astype(np.intp)
    np.minimum(pick, np.maximum(count - 1, 0), out=pick)
    drawn: FloatArray = packed[pick, np.arange(cells)]
    return drawn.reshape(n, n_opt, n_crit)


def run_smaa(
    scores: ArrayLike,
    weights: ArrayLike,
    directions: Sequence[str],
    scale: Scale,
    samples: int = 10_000,
    seed: int | None = 0,
    band: float | None = None,
) -> SmaaResult:
    """Sample weights and utilities with ``np.random.default_rng(seed)`` and run :func:`smaa`.

    ``band is None``: weights uniform on the simplex (classic SMAA-2, ``weights`` only checked);
    otherwise weights drawn around ``weights`` with :func:`sample_weights` (``band = 0`` keeps
    them fixed, leaving only the analysts' disagreement as uncertainty). Weights are drawn
    before utilities, so a given seed reproduces the result exactly.
    """
    x = _as_scores(scores)
    n_crit = x.shape[2]
    w = normalise_weights(weights)
    _check_weight_length(w, n_crit)
    rng = np.random.default_rng(seed)
    if band is None:
        ws = sample_weights(rng, samples, n_crit)
    else:
        ws = sample_weights(rng, samples, n_crit, base=w, band=band)
    us = sample_utilities(rng, samples, x, scale, directions)
    return smaa(us, ws)


# --------------------------------------------------------------------------------------------
# TOPSIS
# --------------------------------------------------------------------------------------------


def topsis(matrix: ArrayLike, weights: ArrayLike, directions: Sequence[str]) -> FloatArray:
    """TOPSIS closeness coefficients (Hwang & Yoon) with vector normalisation.

    For the complete options (rows with no NaN) and normalised weights ``w``::

        r_ij = x_ij / sqrt(sum_i x_ij^2)          (r_ij = 0 if the column is all zero)
        v_ij = w_j r_ij
        v+_j = max_i v_ij (benefit) / min_i v_ij (cost);  v-_j the opposite
        d+_i = ||v_i - v+||_2,  d-_i = ||v_i - v-||_2
        C_i  = d-_i / (d+_i + d-_i)               (0.5 if d+_i + d-_i = 0: all options alike)

    Options with any missing cell are excluded from the normalisation and ideal points and
    get ``NaN``. Returns shape (options,), higher is better.
    """
    x = np.asarray(matrix, dtype=float)
    if x.ndim != 2:
        raise ValueError("matrix must have shape (options, criteria)")
    if np.isinf(x).any():
        raise ValueError("matrix must be finite or NaN")
    w = normalise_weights(weights)
    _check_weight_length(w, x.shape[1])
    cost = _cost_mask(directions, x.shape[1])
    out = np.full(x.shape[0], np.nan)
    complete = ~np.isnan(x).any(axis=1)
    xc = x[complete]
    if xc.shape[0] == 0:
        return out
    norm = np.sqrt((xc * xc).sum(axis=0))
    r = np.where(norm > 0, xc / np.where(norm > 0, norm, 1.0), 0.0)
    v = r * w
    ideal = np.where(cost, v.min(axis=0), v.max(axis=0))
    anti = np.where(cost, v.max(axis=0), v.min(axis=0))
    d_plus = np.sqrt(((v - ideal) ** 2).sum(axis=1))
    d_minus = np.sqrt(((v - anti) ** 2).sum(axis=1))
    s = d_plus + d_minus
    out[complete] = np.where(s > 0, d_minus / np.where(s > 0, s, 1.0), 0.5)
    return out


def methods_agree(totals: ArrayLike, closeness: ArrayLike, tol: float = RANK_TOL) -> bool:
    """True if weighted-sum totals and TOPSIS closeness put the same option(s) first.

    Compares the sets of rank-1 options (:func:`top_options`, ties within ``tol``); options
    that are NaN in either array are ignored in both.
    """
    t = np.asarray(totals, dtype=float)
    c = np.asarray(closeness, dtype=float)
    if t.shape != c.shape or t.ndim != 1:
        raise ValueError("totals and closeness must be 1-D arrays of the same length")
    both = ~(np.isnan(t) | np.isnan(c))
    t = np.where(both, t, np.nan)
    c = np.where(both, c, np.nan)
    return top_options(t, tol) == top_options(c, tol)
