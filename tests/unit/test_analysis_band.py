"""The band weight model: every sample within the band, uniform over the weightings in it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from app.domain.analysis import sample_weights


def _inside(w: np.ndarray, base: np.ndarray, band: float) -> None:
    b = base / base.sum()
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)
    assert (w >= -1e-15).all()
    assert (np.abs(w - b) <= band + 1e-12).all()


def test_the_demo_weights_stay_in_their_band() -> None:
    # The renormalising sampler put 23 %, 24 % and 7 % of these samples outside the band.
    base = np.array([20, 20, 15, 10, 10, 15, 10], dtype=float)
    for band in (0.05, 0.10, 0.20):
        w = sample_weights(np.random.default_rng(0), 200_000, 7, base=base, band=band)
        assert w.shape == (200_000, 7)
        _inside(w, base, band)


def _reference(rng: np.random.Generator, n: int, base: np.ndarray, band: float) -> np.ndarray:
    """Uniform on the band by brute force: uniform weightings kept when inside the band."""
    b = base / base.sum()
    kept = []
    total = 0
    while total < n:
        e = rng.standard_exponential((200_000, b.size))
        w = e / e.sum(axis=1, keepdims=True)
        w = w[(np.abs(w - b) <= band).all(axis=1)]
        kept.append(w)
        total += w.shape[0]
    return np.concatenate(kept)[:n]


@pytest.mark.parametrize("method", ["auto", "hit-and-run"])
@pytest.mark.parametrize("case", range(8))
def test_band_samples_are_uniform_and_contained(method: str, case: int) -> None:
    """Over random base weights and bands, every marginal matches the brute-force uniform
    reference (two-sample Kolmogorov-Smirnov, Bonferroni-corrected), as do the pairwise
    products that a correlated sampler would get wrong."""
    rng = np.random.default_rng(1000 + case)
    k = int(rng.integers(2, 5))
    base = rng.integers(1, 10, k).astype(float)
    if case % 3 == 0:
        base[0] = 0.0  # a zero weight: the band is cut by the floor
    band = float(rng.choice([0.05, 0.1, 0.2, 0.3]))
    n = 6000
    w = sample_weights(rng, n, k, base=base, band=band, method=method)  # type: ignore[arg-type]
    _inside(w, base, band)
    ref = _reference(np.random.default_rng(case), n, base, band)
    tests = [(w[:, i], ref[:, i]) for i in range(k)]
    tests += [(w[:, 0] * w[:, -1], ref[:, 0] * ref[:, -1])]
    for ours, theirs in tests:
        p = stats.ks_2samp(ours, theirs).pvalue
        assert p > 1e-4 / len(tests), (case, method, p)


def test_hard_bands_fall_back_and_stay_inside() -> None:
    # One dominant weight with a floor-cut band: rejection keeps too few draws.
    base = np.array([90.0] + [1.0] * 10)
    w = sample_weights(np.random.default_rng(3), 2000, 11, base=base, band=0.2)
    _inside(w, base, 0.2)
    assert w[:, 0].std() > 0.01  # it does move


def test_band_edge_cases() -> None:
    rng = np.random.default_rng(0)
    base = np.array([5.0, 3.0, 2.0])
    np.testing.assert_allclose(sample_weights(rng, 3, 3, base=base, band=0), [[0.5, 0.3, 0.2]] * 3)
    assert sample_weights(rng, 0, 3, base=base, band=0.1).shape == (0, 3)
    np.testing.assert_allclose(sample_weights(rng, 4, 1, base=[2.0], band=0.1), [[1.0]] * 4)
    wide = sample_weights(rng, 5000, 3, base=base, band=1.0)  # the whole simplex
    _inside(wide, base, 1.0)
    assert wide.min() < 0.01 and wide.max() > 0.9


def test_containment_over_many_random_bases() -> None:
    rng = np.random.default_rng(77)
    for _ in range(60):
        k = int(rng.integers(2, 13))
        base = rng.integers(0, 20, k).astype(float)
        base[int(rng.integers(0, k))] += 1.0  # never all zero
        band = float(rng.choice([0.02, 0.05, 0.1, 0.15, 0.2, 0.3]))
        w = sample_weights(rng, 500, k, base=base, band=band)
        assert w.shape == (500, k)
        _inside(w, base, band)
