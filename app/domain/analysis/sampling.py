"""Where SMAA's samples come from: weight models, score models and :func:`run_smaa`.

Weight models
-------------
* *whole simplex* (``base is None``): every weighting equally likely, Dirichlet(1, ..., 1), the
  SMAA "no weight information" case.
* *band* (``base`` and ``band``): every weighting with each weight within ``+/- band`` of the
  agreed weight equally likely, i.e. uniform on the polytope
  ``{w : sum w = 1, max(0, b_i - band) <= w_i <= min(1, b_i + band)}``. Samples lie exactly in
  the band; nothing is renormalised afterwards.

Score models
------------
* ``"panel"`` (the default): resample the panel. Each sample draws as many analysts as there
  are, with replacement, and aggregates each cell over the drawn analysts' present scores as
  the decision does (mean or median), so every sample is a plausible group matrix.
* ``"analyst"``: one analyst's whole score set per sample (an analyst with at least one score,
  picked uniformly); a cell that analyst left empty takes the group value.
* ``"cell"``: for every cell independently, one of its present scores picked uniformly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from app.domain.analysis.acceptability import SmaaResult, smaa
from app.domain.analysis.core import (
    FloatArray,
    IntArray,
    Scale,
    _as_scores,
    _check_weight_length,
    cell_stats,
    normalise_weights,
    utilities,
)
from app.domain.vocabulary import MissingPolicy

ScoreModel = Literal["panel", "analyst", "cell"]
SCORE_MODELS: tuple[ScoreModel, ...] = ("panel", "analyst", "cell")
BandMethod = Literal["auto", "rejection", "hit-and-run"]

# Below this acceptance rate the band sampler switches from rejection to hit-and-run.
_MIN_ACCEPTANCE = 0.02
_PILOT = 4096
# Elements per block when aggregating resampled panels (about 16 MB of float64).
_BLOCK_ELEMENTS = 2_000_000


# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------


def sample_weights(
    rng: np.random.Generator,
    n: int,
    k: int,
    base: ArrayLike | None = None,
    band: float | None = None,
    *,
    method: BandMethod = "auto",
) -> FloatArray:
    """Draw ``n`` weight vectors over ``k`` criteria; returns (n, k), rows summing to 1.

    * ``base is None``: uniform on the simplex, drawn as normalised standard exponentials.
    * ``base`` and ``band`` given: with ``b = normalise_weights(base)``, uniform on the weightings
      with ``max(0, b_i - band) <= w_i <= min(1, b_i + band)`` for every ``i`` (``band`` in weight
      units, so 0.1 = +/-10 percentage points). ``band = 0`` repeats ``b``.

    The band is sampled by rejection: every coordinate but the one with the widest interval is
    drawn uniformly in its interval and the last one closes the sum to 1; the draw is kept when
    that last weight lies in its own interval. The map from the free coordinates onto the
    hyperplane has a constant Jacobian, so the kept draws are exactly uniform. When fewer than
    2 % of draws would be kept (a band cut hard by the zero floor), the remaining samples come
    from hit-and-run chains started at ``b`` instead (``method`` forces either sampler).
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
    if band == 0 or k == 1 or n == 0:
        return np.tile(b, (n, 1))
    lo = np.maximum(0.0, b - band)
    hi = np.minimum(1.0, b + band)
    if method == "hit-and-run":
        return _hit_and_run(rng, n, b, lo, hi)
    if (lo == 0).all() and (hi == 1).all():  # the band holds the whole simplex
        return sample_weights(rng, n, k)
    return _band_by_rejection(rng, n, b, lo, hi, fallback=method == "auto")


def _band_by_rejection(
    rng: np.random.Generator,
    n: int,
    b: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    *,
    fallback: bool,
) -> FloatArray:
    k = b.size
    last = int(np.argmax(hi - lo))
    free = np.array([i for i in range(k) if i != last], dtype=np.intp)
    kept: list[FloatArray] = []
    got = drawn = 0
    while got < n:
        rate = (got + 1) / (drawn + 2)
        if fallback and drawn >= _PILOT and got / drawn < _MIN_ACCEPTANCE:
            kept.append(_hit_and_run(rng, n - got, b, lo, hi))
            break
        wanted = max((n - got) / rate * 1.2, 1024)
        size = _PILOT if drawn == 0 else int(min(wanted, max(1024, _BLOCK_ELEMENTS // k)))
        x = np.empty((size, k))
        x[:, free] = lo[free] + (hi[free] - lo[free]) * rng.random((size, k - 1))
        x[:, last] = 1.0 - x[:, free].sum(axis=1)
        ok = (x[:, last] >= lo[last]) & (x[:, last] <= hi[last])
        take = x[ok][: n - got]
        kept.append(take)
        got += take.shape[0]
        drawn += size
    return np.concatenate(kept, axis=0) if kept else np.empty((0, k))


def _hit_and_run(
    rng: np.random.Generator, n: int, start: FloatArray, lo: FloatArray, hi: FloatArray
) -> FloatArray:
    """``n`` independent hit-and-run chains on ``{sum w = 1, lo <= w <= hi}`` from ``start``.

    Each step picks a random direction within the hyperplane and moves to a uniform point of
    the chord through the current point; ``100 + 20 k`` steps leave the chains close to
    uniform on the polytope.
    """
    k = start.size
    x = np.tile(start, (n, 1))
    for _ in range(100 + 20 * k):
        d = rng.standard_normal((n, k))
        d -= d.mean(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            to_hi = (hi - x) / d
            to_lo = (lo - x) / d
        pos = d > 0
        neg = d < 0
        t_max = np.min(np.where(pos, to_hi, np.where(neg, to_lo, np.inf)), axis=1)
        t_min = np.max(np.where(pos, to_lo, np.where(neg, to_hi, -np.inf)), axis=1)
        t_max = np.maximum(t_max, 0.0)
        t_min = np.minimum(t_min, 0.0)
        t = t_min + (t_max - t_min) * rng.random(n)
        x = np.clip(x + t[:, None] * d, lo, hi)
    out: FloatArray = x
    return out


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------


def sample_utilities(
    rng: np.random.Generator,
    n: int,
    scores: ArrayLike,
    scale: Scale,
    directions: Sequence[str],
    *,
    model: ScoreModel = "cell",
    method: Literal["mean", "median"] = "mean",
) -> FloatArray:
    """Draw ``n`` utility matrices (n, options, criteria) from the analysts' scores.

    ``model`` is one of the score models of the module docstring; ``method`` is how the
    decision aggregates a cell (used by ``"panel"`` and by ``"analyst"`` for empty cells).
    Cells without any score are NaN in every sample.
    """
    if model not in SCORE_MODELS:
        raise ValueError(f"model must be one of {SCORE_MODELS}, got {model!r}")
    if method not in ("mean", "median"):
        raise ValueError(f"method must be 'mean' or 'median', got {method!r}")
    x = _as_scores(scores)
    n_an, n_opt, n_crit = x.shape
    if n < 0:
        raise ValueError("n must be >= 0")
    u_an = utilities(x, scale, directions)
    if n_an == 0:
        return np.full((n, n_opt, n_crit), np.nan)
    if model == "cell":
        return _one_score_per_cell(rng, n, u_an)
    if model == "analyst":
        group = utilities(cell_stats(x, scale, method).value, scale, directions)
        filled = np.where(np.isnan(u_an), group[None], u_an)
        active = np.flatnonzero((~np.isnan(u_an)).reshape(n_an, -1).any(axis=1))
        if active.size == 0:
            return np.full((n, n_opt, n_crit), np.nan)
        drawn: FloatArray = filled[active[rng.integers(0, active.size, n)]]
        return drawn
    counts = rng.multinomial(n_an, np.full(n_an, 1.0 / n_an), size=n).astype(np.int64)
    # Utilities are a linear map of the scores (decreasing for a cost criterion), so the mean
    # or median of the utilities is the utility of the mean or median score.
    drawn = _aggregate_panels(counts, u_an.reshape(n_an, -1), method)
    return drawn.reshape(n, n_opt, n_crit)


def _one_score_per_cell(rng: np.random.Generator, n: int, u_an: FloatArray) -> FloatArray:
    n_an, n_opt, n_crit = u_an.shape
    cells = n_opt * n_crit
    packed = np.sort(u_an, axis=0).reshape(n_an, cells)  # present values first, NaN last
    count = (~np.isnan(u_an)).sum(axis=0).reshape(cells)
    pick = (rng.random((n, cells)) * count).astype(np.intp)
    np.minimum(pick, np.maximum(count - 1, 0), out=pick)
    drawn: FloatArray = packed[pick, np.arange(cells)]
    return drawn.reshape(n, n_opt, n_crit)


def _aggregate_panels(counts: IntArray, x: FloatArray, method: str) -> FloatArray:
    """Cell values of resampled panels: ``counts`` (n, analysts) says how often each analyst
    was drawn, ``x`` (analysts, cells) holds their scores (NaN = none). Returns (n, cells)."""
    n, n_an = counts.shape
    cells = x.shape[1]
    present = ~np.isnan(x)
    c = counts.astype(float)
    if method == "mean":
        num = c @ np.where(present, x, 0.0)
        den = c @ present.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out: FloatArray = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        return out
    order = np.argsort(np.where(present, x, np.inf), axis=0, kind="stable")  # NaN last
    ordered = np.take_along_axis(x, order, axis=0)
    ordered_present = np.take_along_axis(present, order, axis=0)
    result = np.empty((n, cells))
    block = max(1, _BLOCK_ELEMENTS // max(1, n_an * cells))
    for lo in range(0, n, block):
        cb = counts[lo : lo + block]  # (s, analysts)
        weight = cb[:, order] * ordered_present[None]  # (s, analysts, cells), sorted per cell
        cum = np.cumsum(weight, axis=1)
        total = cum[:, -1, :]  # (s, cells)
        has = total > 0
        low_pos = np.maximum(total - 1, 0) // 2
        high_pos = total // 2
        a = ordered[np.argmax(cum > low_pos[:, None, :], axis=1), np.arange(cells)]
        bb = ordered[np.argmax(cum > high_pos[:, None, :], axis=1), np.arange(cells)]
        result[lo : lo + block] = np.where(has, (a + bb) / 2.0, np.nan)
    return result


# --------------------------------------------------------------------------------------------
# Sampling and SMAA in one call
# --------------------------------------------------------------------------------------------


def run_smaa(
    scores: ArrayLike,
    weights: ArrayLike,
    directions: Sequence[str],
    scale: Scale,
    samples: int = 10_000,
    seed: int | None = 0,
    band: float | None = None,
    *,
    score_model: ScoreModel = "panel",
    method: Literal["mean", "median"] = "mean",
    missing: MissingPolicy | str = MissingPolicy.SKIP,
) -> SmaaResult:
    """Sample weights and utilities with ``np.random.default_rng(seed)`` and run :func:`smaa`.

    ``band is None``: weights uniform on the simplex (classic SMAA-2, ``weights`` only checked);
    otherwise uniform within the band around ``weights`` (:func:`sample_weights`; ``band = 0``
    keeps them fixed). Scores follow ``score_model`` aggregated with ``method``
    (:func:`sample_utilities`). Every sample's totals follow the missing-score policy
    ``missing``, as :func:`evaluate` does. Weights are drawn before utilities, so a given seed
    reproduces the result exactly (whatever the policy: it changes no draw).
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
    us = sample_utilities(rng, samples, x, scale, directions, model=score_model, method=method)
    return smaa(us, ws, missing=missing)
