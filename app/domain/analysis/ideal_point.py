"""TOPSIS closeness (Hwang & Yoon) and the check that it agrees with the weighted sum."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from app.domain.analysis.core import (
    RANK_TOL,
    FloatArray,
    _check_weight_length,
    _cost_mask,
    normalise_weights,
    top_options,
)

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


@dataclass(frozen=True)
class MethodComparison:
    """The weighted sum's and TOPSIS's first options, compared like with like.

    * ``weighted_sum_top``: options ranked first by the weighted sum over every option.
    * ``excluded``: options TOPSIS cannot rank (a missing cell, or no total).
    * ``leaders_excluded``: the weighted sum's first options among ``excluded``.
    * ``topsis_top``: TOPSIS's first among the options both methods rank.
    * ``weighted_sum_top_compared``: the weighted sum's first among those same options.
    * ``agree``: ``topsis_top == weighted_sum_top_compared``; None when no option is ranked by
      both methods. When ``leaders_excluded`` is not empty the agreement is about the other
      options only, and a sentence must say that TOPSIS could not rank the leader.
    """

    weighted_sum_top: tuple[int, ...]
    excluded: tuple[int, ...]
    leaders_excluded: tuple[int, ...]
    topsis_top: tuple[int, ...]
    weighted_sum_top_compared: tuple[int, ...]
    agree: bool | None


def compare_methods(
    totals: ArrayLike, closeness: ArrayLike, tol: float = RANK_TOL
) -> MethodComparison:
    """Compare the weighted sum's and TOPSIS's first options over the same set of options."""
    t = np.asarray(totals, dtype=float)
    c = np.asarray(closeness, dtype=float)
    if t.shape != c.shape or t.ndim != 1:
        raise ValueError("totals and closeness must be 1-D arrays of the same length")
    both = ~(np.isnan(t) | np.isnan(c))
    ws_top = top_options(t, tol)
    excluded = tuple(int(i) for i in np.flatnonzero(~both))
    if not both.any():
        return MethodComparison(
            ws_top, excluded, tuple(i for i in ws_top if i in excluded), (), (), None
        )
    topsis_top = top_options(np.where(both, c, np.nan), tol)
    compared = top_options(np.where(both, t, np.nan), tol)
    return MethodComparison(
        weighted_sum_top=ws_top,
        excluded=excluded,
        leaders_excluded=tuple(i for i in ws_top if i in excluded),
        topsis_top=topsis_top,
        weighted_sum_top_compared=compared,
        agree=topsis_top == compared,
    )
