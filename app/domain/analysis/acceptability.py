"""SMAA-2 (Lahdelma & Salminen): weight and utility sampling, rank acceptability, central
weights and confidence factors, vectorised over samples."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from app.domain.analysis.core import (
    RANK_TOL,
    FloatArray,
    IntArray,
    Scale,
    _as_scores,
    _check_weight_length,
    _ratio_total,
    normalise_weights,
    utilities,
)

# Default upper bound on elements of the per-chunk work arrays in SMAA (~16 MB of float64).
_SMAA_CHUNK_ELEMENTS = 2_000_000


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
