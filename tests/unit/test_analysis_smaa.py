"""SMAA-2 (app.domain.analysis.smaa, sample_weights, sample_utilities, run_smaa)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.analysis import (
    Scale,
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


def fair_split(tot):
    """Expected acceptability for one deterministic sample: tie groups split their ranks."""
    n = len(tot)
    r = rank(tot)
    out = np.zeros((n, n))
    ranked = [i for i in range(n) if r[i] is not None]
    unranked = [i for i in range(n) if r[i] is None]
    for i in ranked:
        g = sum(1 for k in ranked if r[k] == r[i])
        out[i, r[i] - 1 : r[i] - 1 + g] = 1 / g
    for i in unranked:  # options without a total share the last places
        out[i, n - len(unranked) :] = 1 / len(unranked)
    return out


# ----------------------------------------------------------------------------- hand cases


def test_hand_computed_explicit_weight_samples():
    # A = [1, 0], B = [0, 1]; totals are 100 w1 and 100 w2.
    #   sample 0: w = (1, 0)     -> A first
    #   sample 1: w = (.8, .2)   -> A first
    #   sample 2: w = (0, 1)     -> B first
    #   sample 3: w = (.5, .5)   -> tie: A and B each get 1/2 of rank 1 and of rank 2
    # b^1_A = (1 + 1 + 0 + .5)/4 = .625; b^2_A = .375; B mirrored.
    # Central weights weight each sample by the option's share of rank 1:
    #   A: (1*(1,0) + 1*(.8,.2) + .5*(.5,.5)) / 2.5 = (2.05, .45)/2.5 = (.82, .18)
    #   B: (1*(0,1) + .5*(.5,.5)) / 1.5 = (.25, 1.25)/1.5 = (1/6, 5/6)
    # Confidence: utilities are certain, so at its central weights each option is first: 1.
    u = np.array([[1.0, 0.0], [0.0, 1.0]])
    w = np.array([[1, 0], [0.8, 0.2], [0, 1], [0.5, 0.5]])
    res = smaa(np.broadcast_to(u, (4, 2, 2)), w)
    np.testing.assert_allclose(res.rank_acceptability, [[0.625, 0.375], [0.375, 0.625]])
    np.testing.assert_allclose(res.central_weights, [[0.82, 0.18], [1 / 6, 5 / 6]])
    np.testing.assert_allclose(res.confidence, [1, 1])
    np.testing.assert_allclose(res.first_rank_acceptability, [0.625, 0.375])
    assert res.samples == 4


def test_uniform_weights_two_options_two_criteria():
    # With w uniform on the simplex, A = [1, 0] beats B = [0, 1] iff w1 > 1/2: b^1 = 1/2 each,
    # central weight of A = E[w | w1 > 1/2] = (3/4, 1/4), and confidence 1 (certain utilities).
    rng = np.random.default_rng(7)
    w = sample_weights(rng, 20_000, 2)
    res = smaa(np.array([[1.0, 0.0], [0.0, 1.0]]), w)
    np.testing.assert_allclose(res.rank_acceptability, 0.5, atol=0.02)
    np.testing.assert_allclose(res.central_weights, [[0.75, 0.25], [0.25, 0.75]], atol=0.01)
    np.testing.assert_allclose(res.confidence, [1, 1])


def test_dominated_option_never_first():
    u = np.array([[0.9, 0.9, 0.9], [0.1, 0.2, 0.3], [0.5, 0.95, 0.2]])
    res = smaa(u, sample_weights(np.random.default_rng(1), 2000, 3))
    assert res.rank_acceptability[1, 0] == 0
    assert np.isnan(res.central_weights[1]).all() and np.isnan(res.confidence[1])
    assert res.rank_acceptability[1, 2] > 0.5


def test_confidence_reflects_score_uncertainty():
    # Option 0 is certain (.6, .6); option 1 is (1, 1) or (0, 0) with equal chance.
    # Whatever the weights, option 0 is first in half of the utility samples.
    u = np.empty((4, 2, 2))
    u[:, 0] = 0.6
    u[:, 1] = np.array([1.0, 0.0, 1.0, 0.0])[:, None]
    res = smaa(u, np.array([[0.3, 0.7]] * 4))
    np.testing.assert_allclose(res.rank_acceptability, [[0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_allclose(res.confidence, [0.5, 0.5])
    np.testing.assert_allclose(res.central_weights, [[0.3, 0.7], [0.3, 0.7]])


def test_missing_cells_follow_the_total_policy_and_unranked_options_are_last():
    # Option 2 has no cells -> always in the last place; option 0 misses crit 1 so its total is
    # its crit-0 utility (.7) for every weight, never 0-padded.
    u = np.array([[0.7, NAN], [0.6, 0.8], [NAN, NAN]])
    w = sample_weights(np.random.default_rng(3), 5000, 2)
    res = smaa(u, w)
    np.testing.assert_allclose(res.rank_acceptability[2], [0, 0, 1])
    # Option 1 (60 w1 + 80 w2 with w2 = 1 - w1) beats 70 iff w1 < 1/2: probability 1/2.
    np.testing.assert_allclose(res.rank_acceptability[:2, :2], 0.5, atol=0.03)
    expected = np.array([totals(u, wi) for wi in w[:50]])
    assert (np.argmax(np.nan_to_num(expected, nan=-1), axis=1) != 2).all()


def test_all_options_missing_everything():
    res = smaa(np.full((3, 2, 2), NAN), np.ones((3, 2)))
    np.testing.assert_allclose(res.rank_acceptability, 0.5)
    # Nobody has a total: one tie group holding every place, so each option has half of
    # rank 1 -- consistently in the central weights and the confidence factors too.
    np.testing.assert_allclose(res.central_weights, 0.5)
    np.testing.assert_allclose(res.confidence, 0.5)


def test_smaa_shapes_and_validation():
    u = np.zeros((5, 3, 2))
    with pytest.raises(ValueError):
        smaa(u, np.ones((4, 2)))  # sample counts differ
    with pytest.raises(ValueError):
        smaa(u, np.ones((5, 3)))  # criteria differ
    with pytest.raises(ValueError):
        smaa(u, -np.ones((5, 2)))
    with pytest.raises(ValueError):
        smaa(np.zeros(3), np.ones(3))
    res = smaa(np.zeros((0, 2)), np.ones((4, 2)))
    assert res.rank_acceptability.shape == (0, 0)


def test_chunking_does_not_change_the_result():
    rng = np.random.default_rng(5)
    u = rng.random((300, 6, 4))
    u[rng.random(u.shape) < 0.1] = NAN
    w = sample_weights(rng, 300, 4)
    a = smaa(u, w)
    b = smaa(u, w, chunk_elements=50)  # one sample per chunk
    np.testing.assert_allclose(a.rank_acceptability, b.rank_acceptability, atol=1e-12)
    np.testing.assert_allclose(a.central_weights, b.central_weights, atol=1e-12)
    np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-12)


# ----------------------------------------------------------------------------- properties


@st.composite
def smaa_cases(draw):
    n_s = draw(st.integers(1, 12))
    n_o = draw(st.integers(1, 6))
    n_c = draw(st.integers(1, 4))
    size = n_s * n_o * n_c
    u = np.array(draw(st.lists(st.integers(0, 4), min_size=size, max_size=size)), float)
    u = u.reshape(n_s, n_o, n_c) / 4  # coarse grid -> many ties
    mask = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    u[np.array(mask).reshape(u.shape)] = NAN
    w = draw(st.lists(st.integers(0, 3), min_size=n_s * n_c, max_size=n_s * n_c))
    return u, np.array(w, dtype=float).reshape(n_s, n_c)


@settings(deadline=None)
@given(smaa_cases())
def test_rank_acceptability_rows_and_columns_sum_to_one(case):
    u, w = case
    res = smaa(u, w)
    ra = res.rank_acceptability
    np.testing.assert_allclose(ra.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(ra.sum(axis=1), 1.0, atol=1e-12)
    assert ((ra >= 0) & (ra <= 1)).all()
    has = ~np.isnan(res.central_weights).any(axis=1)
    np.testing.assert_array_equal(has, ra[:, 0] > 0)
    np.testing.assert_allclose(res.central_weights[has].sum(axis=1), 1.0)
    assert ((res.confidence[has] >= 0) & (res.confidence[has] <= 1 + 1e-12)).all()


@settings(deadline=None)
@given(smaa_cases(), st.integers(1, 6))
def test_repeated_weights_without_score_uncertainty_give_the_deterministic_rank(case, reps):
    u, w = case
    u0, w0 = u[0], w[0]
    res = smaa(np.broadcast_to(u0, (reps, *u0.shape)), np.broadcast_to(w0, (reps, w0.size)))
    # Probability 1 on the deterministic rank (ties split evenly over the tied places).
    np.testing.assert_allclose(res.rank_acceptability, fair_split(totals(u0, w0)), atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_deterministic_rank_has_probability_one(seed):
    rng = np.random.default_rng(seed)
    u = rng.random((8, 5))
    w = rng.random(5)
    res = smaa(np.broadcast_to(u, (50, 8, 5)), np.tile(w, (50, 1)))
    r = rank(totals(u, w))
    for i in range(8):
        assert res.rank_acceptability[i, r[i] - 1] == 1.0


# ----------------------------------------------------------------------------- samplers


def test_sample_weights_uniform_simplex():
    rng = np.random.default_rng(11)
    w = sample_weights(rng, 40_000, 3)
    assert w.shape == (40_000, 3)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert (w >= 0).all()
    # Dirichlet(1,1,1): each marginal is Beta(1, 2): mean 1/3, P(w_i > 1/2) = 1/4
    np.testing.assert_allclose(w.mean(axis=0), 1 / 3, atol=0.01)
    np.testing.assert_allclose((w > 0.5).mean(axis=0), 0.25, atol=0.01)


def test_sample_weights_band():
    rng = np.random.default_rng(12)
    base = [5, 3, 2]
    w = sample_weights(rng, 20_000, 3, base=base, band=0.05)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w.mean(axis=0), [0.5, 0.3, 0.2], atol=0.01)
    # each raw weight within +/- .05, so after renormalising (row sum in [.85, 1.15]) within
    # a slightly wider band
    assert (np.abs(w - [0.5, 0.3, 0.2]) <= 0.05 + 0.1).all()
    assert (np.abs(w - [0.5, 0.3, 0.2]) > 0.001).any()
    # band 0 repeats the base weights; band never makes a weight negative
    np.testing.assert_allclose(sample_weights(rng, 3, 3, base=base, band=0), [[0.5, 0.3, 0.2]] * 3)
    w = sample_weights(rng, 1000, 2, base=[1, 0], band=0.3)
    assert (w >= 0).all() and (w[:, 1] > 0).any()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"band": 0.1},  # band without base
        {"base": [1, 1, 1]},  # base without band
        {"base": [1, 1, 1], "band": -0.1},
        {"base": [1, 1], "band": 0.1},  # wrong length
    ],
)
def test_sample_weights_rejects(kwargs):
    with pytest.raises(ValueError):
        sample_weights(np.random.default_rng(0), 5, 3, **kwargs)


def test_sample_utilities_draws_present_scores_uniformly():
    # cell (0, 0): scores 1, 5, - (1-5 scale) -> utilities 0 or 1, half each
    # cell (0, 1): cost, scores 2, 2, 4 -> utilities .75 (p 2/3) or .25 (p 1/3)
    # cell (1, 0): no scores -> NaN; cell (1, 1): one score 3 -> always .5
    scores = np.array(
        [[[1, 2], [NAN, 3]], [[5, 2], [NAN, NAN]], [[NAN, 4], [NAN, NAN]]], dtype=float
    )
    us = sample_utilities(np.random.default_rng(2), 30_000, scores, Scale(1, 5), [B, C])
    assert us.shape == (30_000, 2, 2)
    assert set(np.unique(us[:, 0, 0])) == {0.0, 1.0}
    assert (us[:, 0, 0] == 1.0).mean() == pytest.approx(0.5, abs=0.015)
    assert set(np.unique(us[:, 0, 1])) == {0.25, 0.75}
    assert (us[:, 0, 1] == 0.75).mean() == pytest.approx(2 / 3, abs=0.015)
    assert np.isnan(us[:, 1, 0]).all()
    assert (us[:, 1, 1] == 0.5).all()


def test_sample_utilities_single_analyst_is_deterministic():
    scores = np.array([[[1, 5], [3, NAN]]], dtype=float)
    us = sample_utilities(np.random.default_rng(0), 4, scores, Scale(1, 5), [B, C])
    expected = utilities(scores[0], Scale(1, 5), [B, C])
    np.testing.assert_array_equal(us, np.broadcast_to(expected, (4, 2, 2)))


def test_sample_utilities_no_analysts():
    us = sample_utilities(np.random.default_rng(0), 3, np.empty((0, 2, 2)), Scale(1, 5), [B, B])
    assert us.shape == (3, 2, 2) and np.isnan(us).all()


# ----------------------------------------------------------------------------- run_smaa


def _scores(seed=0, shape=(4, 6, 3)):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 6, shape).astype(float)
    x[rng.random(shape) < 0.15] = NAN
    return x


def test_run_smaa_is_reproducible_with_a_seed():
    x = _scores()
    args = (x, [1, 2, 3], [B, C, B], Scale(1, 5))
    a = run_smaa(*args, samples=2000, seed=42)
    b = run_smaa(*args, samples=2000, seed=42)
    np.testing.assert_array_equal(a.rank_acceptability, b.rank_acceptability)
    np.testing.assert_array_equal(a.central_weights, b.central_weights)
    np.testing.assert_array_equal(a.confidence, b.confidence)
    c = run_smaa(*args, samples=2000, seed=43)
    assert not np.array_equal(a.rank_acceptability, c.rank_acceptability)
    d = run_smaa(*args, samples=2000, seed=42, band=0.1)
    assert not np.array_equal(a.rank_acceptability, d.rank_acceptability)
    np.testing.assert_allclose(d.rank_acceptability.sum(axis=0), 1.0)


def test_run_smaa_band_zero_and_single_analyst_is_the_deterministic_ranking():
    x = _scores(1, (1, 6, 3))
    w = [1, 2, 3]
    from app.domain.analysis import evaluate

    ev = evaluate(x, w, [B, C, B], Scale(1, 5))
    res = run_smaa(x, w, [B, C, B], Scale(1, 5), samples=100, band=0.0)
    np.testing.assert_allclose(res.rank_acceptability, fair_split(ev.totals), atol=1e-12)


def test_run_smaa_large_case_runs():
    # 10,000 samples x 30 options x 12 criteria x 10 analysts (timing lives in bench/).
    rng = np.random.default_rng(0)
    x = rng.integers(0, 11, (10, 30, 12)).astype(float)
    x[rng.random(x.shape) < 0.1] = NAN
    res = run_smaa(x, np.arange(1, 13), [B] * 6 + [C] * 6, Scale(0, 10), samples=10_000)
    assert res.rank_acceptability.shape == (30, 30)
    np.testing.assert_allclose(res.rank_acceptability.sum(axis=1), 1.0)
    np.testing.assert_allclose(res.rank_acceptability.sum(axis=0), 1.0)
