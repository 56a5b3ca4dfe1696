"""Exact one-at-a-time weight sensitivity of the top-ranked option."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from app.domain.analysis.core import (
    FloatArray,
    _check_weight_length,
    normalise_weights,
    top_options,
    totals,
)

# Relative size below which a polynomial coefficient in the sensitivity analysis is taken as
# rounding noise (coefficients are products of utilities and weights, so at most ~4).
_COEF_RTOL = 1e-12
_COEF_ATOL = 1e-13


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
