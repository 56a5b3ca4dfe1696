"""SMAA: the one-product confidence step against the previous implementation and a plain
per-sample reference, standard errors, sample counts and the score models."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from app.domain.analysis import (
    Scale,
    cell_stats,
    rank,
    run_smaa,
    sample_utilities,
    sample_weights,
    smaa,
    totals,
    utilities,
)

NAN = math.nan
B, C = "benefit", "cost"


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "analysis.py"
    spec = importlib.util.spec_from_file_location("bench_analysis", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _random_case(seed: int, n: int, n_o: int, n_c: int, gaps: float, coarse: bool):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    u = rng.integers(0, 5, (n, n_o, n_c)) / 4 if coarse else rng.random((n, n_o, n_c))
    u[rng.random(u.shape) < gaps] = NAN
    w = sample_weights(rng, n, n_c)
    return u, w


@pytest.mark.parametrize(
    ("seed", "n", "n_o", "n_c", "gaps", "coarse"),
    [
        (1, 3000, 30, 12, 0.0, False),
        (2, 3000, 30, 12, 0.001, False),
        (3, 2000, 8, 5, 0.1, False),
        (4, 2000, 8, 5, 0.0, True),  # many exact ties
        (5, 2000, 6, 3, 0.2, True),
        (6, 500, 1, 4, 0.0, False),
    ],
)
def test_smaa_matches_the_previous_implementation(seed, n, n_o, n_c, gaps, coarse) -> None:  # type: ignore[no-untyped-def]
    u, w = _random_case(seed, n, n_o, n_c, gaps, coarse)
    old_acc, old_central, old_conf = _bench().previous_smaa(u, w)
    new = smaa(u, w)
    np.testing.assert_allclose(new.rank_acceptability, old_acc, atol=1e-12, rtol=0)
    np.testing.assert_allclose(new.central_weights, old_central, atol=1e-12, rtol=0)
    np.testing.assert_allclose(new.confidence, old_conf, atol=1e-12, rtol=0)


def _reference(u: np.ndarray, w: np.ndarray):  # type: ignore[no-untyped-def]
    """One sample at a time: shares of each rank, first-rank counts and confidence."""
    n, n_o, _ = u.shape
    share = np.zeros((n, n_o, n_o))
    first = np.zeros((n, n_o))
    for s in range(n):
        t = totals(u[s], w[s])
        r = rank(t)
        ranked = [i for i in range(n_o) if r[i] is not None]
        for i in range(n_o):
            if r[i] is None:
                g = n_o - len(ranked)
                share[s, i, len(ranked) :] = 1 / g
            else:
                g = sum(1 for k in ranked if r[k] == r[i])
                share[s, i, r[i] - 1 : r[i] - 1 + g] = 1 / g
        first[s] = share[s, :, 0]
    central = (first.T @ w) / first.sum(axis=0)[:, None]
    conf = np.zeros(n_o)
    conf_sq = np.zeros(n_o)
    for i in range(n_o):
        for s in range(n):
            t = totals(u[s], central[i])
            r = rank(t)
            top = [k for k in range(n_o) if r[k] == 1] or list(range(n_o))
            x = 1 / len(top) if i in top else 0.0
            conf[i] += x / n
            conf_sq[i] += x * x / n
    return share, first, central, conf, conf_sq


def test_standard_errors_and_sample_counts_match_a_per_sample_reference() -> None:
    u, w = _random_case(9, 400, 4, 3, 0.05, True)
    res = smaa(u, w)
    share, first, central, conf, conf_sq = _reference(u, w)
    n = u.shape[0]
    np.testing.assert_allclose(res.rank_acceptability, share.mean(axis=0), atol=1e-12)
    se = share.std(axis=0, ddof=1) / math.sqrt(n)
    np.testing.assert_allclose(res.rank_acceptability_se, se, atol=1e-12)
    np.testing.assert_array_equal(res.first_samples, (first > 0).sum(axis=0))
    np.testing.assert_allclose(res.central_weights, central, atol=1e-12)
    np.testing.assert_allclose(res.confidence, conf, atol=1e-12)
    conf_se = np.sqrt(np.maximum(conf_sq - conf**2, 0) * n / (n - 1) / n)
    np.testing.assert_allclose(res.confidence_se, conf_se, atol=1e-12)


def test_standard_error_shrinks_with_the_samples_and_covers_the_truth() -> None:
    # Two options, no score uncertainty, uniform weights over 2 criteria: option 0 wins when
    # w0 > 0.5 exactly half the time.
    u = np.array([[1.0, 0.0], [0.0, 1.0]])
    for n in (1000, 16_000):
        res = smaa(u, sample_weights(np.random.default_rng(n), n, 2))
        p, se = res.rank_acceptability[0, 0], res.rank_acceptability_se[0, 0]
        assert se == pytest.approx(math.sqrt(0.25 / n), rel=0.05)
        assert abs(p - 0.5) < 4 * se


# ----------------------------------------------------------------------------- score models


def test_panel_model_resamples_the_analysts() -> None:
    # Cell (0, 0): analysts score 1 and 5 (scale 1-5): a resampled panel of two is (1, 1),
    # (5, 5) or one of each, so the mean is 1, 5 or 3 with chances 1/4, 1/4, 1/2.
    scores = np.array([[[1.0]], [[5.0]]])
    us = sample_utilities(np.random.default_rng(0), 40_000, scores, Scale(1, 5), [B], model="panel")
    values = us[:, 0, 0]
    assert set(np.unique(values)) == {0.0, 0.5, 1.0}
    assert (values == 0.5).mean() == pytest.approx(0.5, abs=0.01)
    assert (values == 0.0).mean() == pytest.approx(0.25, abs=0.01)


def test_panel_model_aggregates_as_the_decision_does() -> None:
    rng = np.random.default_rng(4)
    x = rng.integers(1, 6, (5, 3, 2)).astype(float)
    x[rng.random(x.shape) < 0.2] = NAN
    for method in ("mean", "median"):
        us = sample_utilities(
            np.random.default_rng(1), 300, x, Scale(1, 5), [B, C], model="panel", method=method
        )
        # Redraw the same panels and aggregate each with cell_stats.
        counts = np.random.default_rng(1).multinomial(5, [0.2] * 5, size=300)
        for s in range(300):
            panel = np.repeat(x, counts[s], axis=0)
            value = cell_stats(panel, Scale(1, 5), method).value  # type: ignore[arg-type]
            expected = utilities(value, Scale(1, 5), [B, C])
            np.testing.assert_allclose(us[s], expected, atol=1e-12)


def test_analyst_model_takes_one_whole_score_set() -> None:
    x = np.array([[[1.0, 5.0], [2.0, NAN]], [[5.0, 1.0], [4.0, 3.0]], [[NAN] * 2] * 2])
    us = sample_utilities(np.random.default_rng(0), 2000, x, Scale(1, 5), [B, B], model="analyst")
    group = cell_stats(x, Scale(1, 5)).value
    a = utilities(np.where(np.isnan(x[0]), group, x[0]), Scale(1, 5), [B, B])
    b = utilities(x[1], Scale(1, 5), [B, B])
    is_a = (us == a).all(axis=(1, 2))
    is_b = (us == b).all(axis=(1, 2))
    assert (is_a | is_b).all()  # never the analyst who scored nothing
    assert is_a.mean() == pytest.approx(0.5, abs=0.05)


def test_run_smaa_names_its_models_and_is_reproducible() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(1, 6, (4, 5, 3)).astype(float)
    args = (x, [1, 2, 3], [B, C, B], Scale(1, 5))
    results = {
        model: run_smaa(*args, samples=1000, band=0.05, score_model=model)
        for model in ("panel", "analyst", "cell")
    }
    for model, res in results.items():
        again = run_smaa(*args, samples=1000, band=0.05, score_model=model)
        np.testing.assert_array_equal(res.rank_acceptability, again.rank_acceptability)
        np.testing.assert_allclose(res.rank_acceptability.sum(axis=1), 1.0)
    assert not np.array_equal(
        results["panel"].rank_acceptability, results["cell"].rank_acceptability
    )
    with pytest.raises(ValueError):
        sample_utilities(rng, 3, x, Scale(1, 5), [B, C, B], model="bogus")  # type: ignore[arg-type]
