"""SMAA-2 (Lahdelma & Salminen): rank acceptability with its Monte-Carlo standard error,
central weights and confidence factors, vectorised over samples. The samples themselves come
from :mod:`app.domain.analysis.sampling`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from app.domain.analysis.core import (
    RANK_TOL,
    FloatArray,
    IntArray,
    _ratio_total,
)
from app.domain.analysis.missing import fill_utility, policy_totals
from app.domain.vocabulary import MissingPolicy

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
    * ``rank_acceptability_se`` (options x ranks): the Monte-Carlo standard error of each
      share, ``sqrt(var_s(share_s) / (S - 1))`` (0 with a single sample).
    * ``central_weights`` (options x criteria): mean weight vector over the samples where the
      option ranks first (tie-shared samples count with their share); NaN row if never first.
    * ``first_samples`` (options): number of samples in which the option ranks first (alone
      or tied), the samples its central weights rest on.
    * ``confidence`` (options): share of utility samples in which the option ranks first when
      the weights are fixed at its central weights; NaN where there are no central weights.
      ``confidence_se`` is its Monte-Carlo standard error.
    * ``samples``: number of samples used.
    """

    rank_acceptability: FloatArray
    central_weights: FloatArray
    confidence: FloatArray
    samples: int
    rank_acceptability_se: FloatArray
    first_samples: IntArray
    confidence_se: FloatArray

    @property
    def first_rank_acceptability(self) -> FloatArray:
        """``b^1_i``: probability that option ``i`` ranks first."""
        return self.rank_acceptability[:, 0]


def standard_error(mean: FloatArray, mean_square: FloatArray, n: int) -> FloatArray:
    """Standard error of a sample mean from the mean and the mean square of ``n`` values."""
    if n < 2:
        return np.zeros_like(mean)
    var = np.maximum(mean_square - mean * mean, 0.0) * n / (n - 1)
    out: FloatArray = np.sqrt(var / n)
    return out


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


def _batch_totals(u: FloatArray, w: FloatArray, fill: float | None = None) -> FloatArray:
    """Totals for ``u`` (s, options, criteria) and normalised ``w`` (s, criteria) -> (s, options).

    One product for every option; only the (sample, option) pairs with a missing cell, where
    the product is NaN, are redone under the missing-score policy (``fill``: the utility a
    missing cell counts as, None to skip it and rescale the weights).
    """
    num = np.einsum("soc,sc->so", u, w)
    tot = _ratio_total(num, np.broadcast_to(w.sum(axis=1)[:, None], num.shape))
    gaps = np.isnan(num)
    if gaps.any():
        r, o = np.nonzero(gaps)
        ug, wg = u[r, o], w[r]  # (pairs, criteria)
        present = ~np.isnan(ug)
        part_num = (np.where(present, ug, 0.0) * wg).sum(axis=1)
        part_den = (present * wg).sum(axis=1)
        unscored = (~present * wg).sum(axis=1)
        tot[r, o] = policy_totals(part_num, part_den, unscored, fill)
    return tot


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
    *,
    missing: MissingPolicy | str = MissingPolicy.SKIP,
) -> SmaaResult:
    """SMAA-2 rank acceptabilities, central weights and confidence factors.

    ``utilities``: (samples, options, criteria), NaN = missing (a (options, criteria) array is
    used for every sample). ``weights``: (samples, criteria), each row normalised here (an
    all-zero row means equal weights; a single row is used for every sample). Per sample ``s``
    the total follows the missing-score policy ``missing`` (as in :func:`evaluate`, with the
    sample's weights), and::

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
    fill = fill_utility(missing)
    if n_opt == 0 or n_s == 0:
        empty = np.zeros((n_opt, n_opt))
        nan_o = np.full(n_opt, np.nan)
        return SmaaResult(
            empty,
            np.full((n_opt, n_crit), np.nan),
            nan_o,
            n_s,
            empty.copy(),
            np.zeros(n_opt, dtype=np.int64),
            nan_o.copy(),
        )

    chunk = max(1, chunk_elements // (n_opt * max(n_crit, n_opt)))
    width = n_opt + 1
    acc_diff = np.zeros(n_opt * width)
    sq_diff = np.zeros(n_opt * width)
    first_mass = np.zeros(n_opt)
    first_count = np.zeros(n_opt, dtype=np.int64)
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
        tot = _batch_totals(uc, wc, fill)
        order, start, end = _tie_groups(tot, tol)
        share = (1.0 / (end - start + 1)).ravel()
        base = order * width
        opening, closing = (base + start).ravel(), (base + end + 1).ravel()
        acc_diff += np.bincount(opening, share, n_opt * width)
        acc_diff -= np.bincount(closing, share, n_opt * width)
        sq_diff += np.bincount(opening, share * share, n_opt * width)
        sq_diff -= np.bincount(closing, share * share, n_opt * width)
        first = np.zeros(tot.shape)
        np.put_along_axis(first, order, np.where(start == 0, share.reshape(start.shape), 0.0), 1)
        first_mass += first.sum(axis=0)
        first_count += (first > 0).sum(axis=0)
        first_wsum += first.T @ wc

    acceptability = np.cumsum(acc_diff.reshape(n_opt, width), axis=1)[:, :n_opt] / n_s
    acceptability = np.clip(acceptability, 0.0, 1.0)
    mean_square = np.cumsum(sq_diff.reshape(n_opt, width), axis=1)[:, :n_opt] / n_s
    acceptability_se = standard_error(acceptability, np.clip(mean_square, 0.0, 1.0), n_s)
    has_central = first_mass > 0
    central = np.full((n_opt, n_crit), np.nan)
    central[has_central] = first_wsum[has_central] / first_mass[has_central, None]

    confidence = np.full(n_opt, np.nan)
    confidence_se = np.full(n_opt, np.nan)
    idx = np.flatnonzero(has_central)
    if idx.size:
        hits, hits_sq = _confidence_hits(u, central[idx], idx, tol, chunk, fill)
        n_u = u.shape[0]
        confidence[idx] = hits / n_u
        confidence_se[idx] = standard_error(confidence[idx], hits_sq / n_u, n_u)
    return SmaaResult(
        acceptability, central, confidence, n_s, acceptability_se, first_count, confidence_se
    )


def _first_shares(
    uc: FloatArray,
    wc_t: FloatArray,
    idx: IntArray,
    tol: float,
    complete: bool,
    fill: float | None = None,
) -> FloatArray:
    """(samples, I): option ``idx[k]``'s share of first place under weights ``wc_t[:, k]``;
    ``complete`` says that ``uc`` has no missing cell, ``fill`` is the missing-score policy's
    utility for a missing cell (None: skipped, weights rescaled)."""
    tol_k: FloatArray | float = tol
    if complete:
        # Complete rows: every denominator is sum(central weights), so the totals are one
        # matrix product over 100 * that sum; the tie tolerance is scaled instead of them.
        key = uc @ wc_t  # (s, options, I)
        tol_k = tol * wc_t.sum(axis=0) / 100.0
    else:
        present = ~np.isnan(uc)
        num = np.where(present, uc, 0.0) @ wc_t
        den = present.astype(float) @ wc_t
        unscored = (~present).astype(float) @ wc_t
        tot = policy_totals(num, den, unscored, fill)
        key = np.where(np.isnan(tot), -np.inf, tot)
    best = key.max(axis=1)  # (s, I)
    own = key[:, idx, np.arange(idx.size)]  # option idx[k] under weights central[k]
    on_top = own >= best - tol_k
    share = np.zeros(on_top.shape)
    rows, ks = np.nonzero(on_top)
    if rows.size:
        # Ties at the top are rare: count them only where the option is at the top.
        limit = (best - tol_k)[rows, ks][:, None]
        n_top = (key[rows, :, ks] >= limit).sum(axis=1)  # all-unranked: all share it
        share[rows, ks] = 1.0 / n_top
    return share


def _confidence_hits(
    u: FloatArray,
    central: FloatArray,
    idx: IntArray,
    tol: float,
    chunk: int,
    fill: float | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Sum over utility samples of option ``idx[k]``'s share of first place under weights
    ``central[k]`` (and the sum of the squared shares): one matrix product per block scores
    every option under every option's central weights at once."""
    wc_t = central.T  # (criteria, I)
    hits = np.zeros(idx.size)
    hits_sq = np.zeros(idx.size)
    n_u = u.shape[0]
    for lo in range(0, n_u, chunk):
        uc = u[lo : lo + chunk]
        gaps = np.isnan(uc).any(axis=(1, 2))
        parts = [(uc, True)] if not gaps.any() else [(uc[~gaps], True), (uc[gaps], False)]
        for part, complete in parts:
            if part.shape[0]:
                share = _first_shares(part, wc_t, idx, tol, complete, fill)
                hits += share.sum(axis=0)
                hits_sq += (share * share).sum(axis=0)
    return hits, hits_sq
