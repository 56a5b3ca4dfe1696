"""The group's own views: each analyst's own ranking, agreement among the analysts (Kendall's
W), the influence of any one analyst on the top option, and Delphi convergence per round.

Shapes and vocabulary are the package's (see :mod:`app.domain.analysis`): ``scores`` is an
array ``(analysts, options, criteria)`` with NaN for a missing cell.

Kendall's W
-----------
For ``m`` raters ranking ``n`` subjects (ranks ``r_ki``, ties as mid-ranks)::

    R_i = sum_k r_ki                              (rank sum of subject i)
    S   = sum_i (R_i - m (n + 1) / 2) ** 2
    W   = 12 S / (m**2 (n**3 - n))                (no tie correction)
    W   = 12 S / (m**2 (n**3 - n) - m T)          (with the tie correction)
    T   = sum over raters, over each group of t tied subjects, of (t**3 - t)

W is 0 when the rank sums are all equal (no common ordering) and 1 when every rater ranks
the subjects identically; with the tie correction that holds for identical rankings with
ties too. Conventions for degenerate input: fewer than two raters or fewer than two subjects
give NaN (there is nothing to agree on); when every rater ties every subject the corrected
formula reads 0/0 and W is 1.0 (all rankings are identical).

Convergence
-----------
Per cell, the interquartile range (IQR) of the present scores: the 75th minus the 25th
percentile with linear interpolation between order statistics (NumPy's default, R's type 7).
A round's figure is the median IQR over the cells scored by at least two analysts; its
contested share is the contested cells (:func:`~app.domain.analysis.core.cell_stats`) among
those same cells.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from app.domain.analysis.core import (
    RANK_TOL,
    FloatArray,
    Scale,
    _as_scores,
    cell_stats,
    evaluate,
)
from app.domain.vocabulary import MissingPolicy

TIE_TOL = 1e-9
"""Ranks closer than this are the same rank."""


def midranks(values: ArrayLike, *, tol: float = RANK_TOL) -> FloatArray:
    """Ranks of ``values`` with 1 for the highest; values within ``tol`` of their neighbour in
    sorted order form one tie group and share the mean of the positions it occupies
    (``[90, 90, 80] -> [1.5, 1.5, 3]``). NaN raises ``ValueError``."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1:
        raise ValueError("values must be 1-D")
    if np.isnan(v).any():
        raise ValueError("values must not be NaN: rank complete rows only")
    order = np.argsort(-v, kind="stable")
    out = np.empty(v.size)
    start = 0
    while start < v.size:
        end = start + 1
        while end < v.size and v[order[end - 1]] - v[order[end]] <= tol:
            end += 1
        out[order[start:end]] = (start + 1 + end) / 2.0
        start = end
    return out


def _tie_sum(row: FloatArray) -> float:
    """``sum (t**3 - t)`` over the groups of tied ranks in one rater's row."""
    ordered = np.sort(row)
    total = 0.0
    start = 0
    while start < ordered.size:
        end = start + 1
        while end < ordered.size and ordered[end] - ordered[end - 1] <= TIE_TOL:
            end += 1
        t = end - start
        total += float(t**3 - t)
        start = end
    return total


def kendalls_w(rankings: ArrayLike, *, tie_correction: bool = True) -> float:
    """Kendall's coefficient of concordance of ``rankings`` (raters x subjects).

    Each row must be a ranking of the subjects with ties as mid-ranks (``1..n``; tied
    subjects share the mean of their positions), else ``ValueError``. See the module
    docstring for the formula and the NaN / 1.0 conventions. The result lies in ``[0, 1]``.
    """
    r = np.asarray(rankings, dtype=float)
    if r.ndim != 2:
        raise ValueError(f"rankings must have shape (raters, subjects), got {r.shape}")
    if not np.isfinite(r).all():
        raise ValueError("rankings must be complete and finite")
    m, n = r.shape
    for row in r:
        if not np.allclose(midranks(-row, tol=TIE_TOL), row, rtol=0.0, atol=TIE_TOL):
            raise ValueError("each row must rank the subjects 1..n with ties as mid-ranks")
    if m < 2 or n < 2:
        return math.nan
    sums = r.sum(axis=0)
    s = float(((sums - m * (n + 1) / 2.0) ** 2).sum())
    denominator = float(m * m * (n**3 - n))
    if tie_correction:
        denominator -= m * sum(_tie_sum(row) for row in r)
    if denominator <= TIE_TOL:
        return 1.0  # every rater ties every subject: the rankings are identical
    return float(min(max(12.0 * s / denominator, 0.0), 1.0))


# --------------------------------------------------------------------------------------------
# Each analyst's own ranking and the agreement among them
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnRanking:
    """One analyst's ranking from their own scores alone: totals (0-100, NaN = unranked) and
    competition ranks (None = unranked), indexed by option."""

    totals: FloatArray
    ranks: list[int | None]

    @property
    def complete(self) -> bool:
        """Whether the analyst's scores rank every option."""
        return all(r is not None for r in self.ranks)


def own_rankings(
    scores: ArrayLike,
    weights: ArrayLike,
    directions: Sequence[str],
    scale: Scale,
    *,
    missing: MissingPolicy | str = MissingPolicy.SKIP,
) -> list[OwnRanking]:
    """Each analyst's ranking: :func:`evaluate` on that analyst's slice alone, with the
    decision's weights and missing-score policy (the group value of one score is the score,
    mean or median alike)."""
    x = _as_scores(scores)
    out = []
    for k in range(x.shape[0]):
        evaluation = evaluate(x[k : k + 1], weights, directions, scale, missing=missing)
        out.append(OwnRanking(totals=evaluation.totals, ranks=evaluation.ranks))
    return out


@dataclass(frozen=True)
class Agreement:
    """Kendall's W (tie-corrected) over the options, among the analysts in ``counted`` (the
    indices of those whose own ranking covers every option). ``w`` is NaN when fewer than two
    analysts count or there are fewer than two options."""

    w: float
    counted: tuple[int, ...]


def ranking_agreement(totals: ArrayLike, *, tol: float = RANK_TOL) -> Agreement:
    """Kendall's W of the analysts' own totals ``(analysts, options)``; rows with a NaN (an
    option the analyst's scores leave unranked) are left out. Ties within ``tol`` are tied."""
    t = np.asarray(totals, dtype=float)
    if t.ndim != 2:
        raise ValueError(f"totals must have shape (analysts, options), got {t.shape}")
    counted = tuple(k for k in range(t.shape[0]) if not np.isnan(t[k]).any())
    if len(counted) < 2 or t.shape[1] < 2:
        return Agreement(w=math.nan, counted=counted)
    rankings = np.array([midranks(t[k], tol=tol) for k in counted])
    return Agreement(w=kendalls_w(rankings), counted=counted)


# --------------------------------------------------------------------------------------------
# Influence: leave one analyst out
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaveOneOut:
    """The group's top option(s) without analyst ``analyst`` (an index), and whether they
    differ from the top with everyone."""

    analyst: int
    top: tuple[int, ...]
    changes_top: bool


def leave_one_out(
    scores: ArrayLike,
    weights: ArrayLike,
    directions: Sequence[str],
    scale: Scale,
    method: Literal["mean", "median"] = "mean",
    *,
    missing: MissingPolicy | str = MissingPolicy.SKIP,
) -> list[LeaveOneOut]:
    """For each analyst with at least one score, the top option(s) of the group without
    them (same weights, same aggregation, same missing-score policy). Empty when fewer than
    two analysts have scored: leaving the only one out says nothing about influence."""
    x = _as_scores(scores)
    scored = [k for k in range(x.shape[0]) if not np.isnan(x[k]).all()]
    if len(scored) < 2:
        return []
    everyone = evaluate(x, weights, directions, scale, method, missing).top
    out = []
    for k in scored:
        rest = np.delete(x, k, axis=0)
        top = evaluate(rest, weights, directions, scale, method, missing).top
        out.append(LeaveOneOut(analyst=k, top=top, changes_top=top != everyone))
    return out


# --------------------------------------------------------------------------------------------
# Delphi convergence
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Convergence:
    """One round's spread: ``median_iqr`` (NaN when no cell has two scores), the number of
    ``contested`` cells and of ``judged`` cells (scored by at least two analysts)."""

    median_iqr: float
    contested: int
    judged: int

    @property
    def contested_share(self) -> float:
        """Contested cells among the judged ones (NaN when none is judged)."""
        return self.contested / self.judged if self.judged else math.nan


def convergence(scores: ArrayLike, scale: Scale) -> Convergence:
    """Median interquartile range over the cells scored by at least two analysts, and how
    many of those cells are contested (see the module docstring)."""
    x = _as_scores(scores)
    stats = cell_stats(x, scale)
    judged = stats.count >= 2
    n_judged = int(judged.sum())
    if n_judged == 0:
        return Convergence(median_iqr=math.nan, contested=0, judged=0)
    columns = x[:, judged]  # (analysts, judged cells), each column with >= 2 present scores
    q1, q3 = np.nanpercentile(columns, [25.0, 75.0], axis=0)
    return Convergence(
        median_iqr=float(np.median(q3 - q1)),
        contested=int(stats.contested[judged].sum()),
        judged=n_judged,
    )
