"""Exact one-at-a-time weight sensitivity (app.domain.analysis.sensitivity / weights_at).

Every reported interval end is re-checked against :func:`totals` directly: just inside the
interval the tracked top option is not beaten, just outside it the reported option beats it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.analysis import sensitivity, totals, weights_at

NAN = math.nan
EPS = 1e-7


def _totals_at(u, w, j, t):
    return totals(u, weights_at(w, j, t))


def _beaten(u, w, j, t, a, by=None):
    """Does some option (or option ``by``) strictly exceed option ``a``'s total at ``t``?"""
    tot = _totals_at(u, w, j, t)
    others = [b for b in range(len(tot)) if b != a] if by is None else [by]
    return any(not np.isnan(tot[b]) and (np.isnan(tot[a]) or tot[b] > tot[a]) for b in others)


def _max_lead(u, w, j, t, a):
    tot = _totals_at(u, w, j, t)
    others = np.delete(tot, a)
    others = others[~np.isnan(others)]
    return (others.max() if others.size else -math.inf) - tot[a], tot


def check_sensitivity(u, w, eps=EPS):
    """Verify every CriterionSensitivity of ``sensitivity(u, w)`` against totals()."""
    u = np.asarray(u, dtype=float)
    res = sensitivity(u, w)
    assert [r.criterion for r in res] == list(range(u.shape[1]))
    for r in res:
        if r.top_option is None:
            assert np.isnan(totals(u, w)).all()
            continue
        a, j = r.top_option, r.criterion
        assert r.top_options[0] == a and r.tied_at_top == (len(r.top_options) > 1)
        assert 0.0 <= r.lower <= r.weight <= r.upper <= 1.0
        # Just inside (and at the current weight, and the middle) nobody beats the top.
        inside = [r.weight]
        if r.upper - r.lower > 2 * eps:
            inside += [r.lower + eps, r.upper - eps, (r.lower + r.upper) / 2]
        for t in inside:
            if 0.0 < t < 1.0:  # t = 0 / 1 follow the documented continuity convention
                lead, tot = _max_lead(u, w, j, t, a)
                assert not np.isnan(tot[a])
                assert lead <= 1e-9, (r, t, tot)
        # Just outside, the reported option beats the top.
        if r.above_option is not None:
            assert r.upper < 1.0
            pts = [r.upper + e for e in (eps, 1e-9, 1e-11) if r.upper + e < 1.0]
            pts = pts or [(r.upper + 1.0) / 2]
            assert any(_beaten(u, w, j, t, a, by=r.above_option) for t in pts), r
        else:
            assert r.upper == 1.0
        if r.below_option is not None:
            assert r.lower > 0.0
            pts = [r.lower - e for e in (eps, 1e-9, 1e-11) if r.lower - e > 0.0]
            pts = pts or [r.lower / 2]
            assert any(_beaten(u, w, j, t, a, by=r.below_option) for t in pts), r
        else:
            assert r.lower == 0.0
        ends = [r.weight - r.lower] if r.below_option is not None else []
        ends += [r.upper - r.weight] if r.above_option is not None else []
        if ends:
            assert r.smallest_change == pytest.approx(min(ends), abs=1e-15)
        else:
            assert r.smallest_change is None
    return res


# ----------------------------------------------------------------------------- weights_at


@pytest.mark.parametrize(
    ("w", "j", "t", "expected"),
    [
        # others rescaled in proportion: w_i (1 - t) / (1 - w_j)
        ([0.5, 0.3, 0.2], 0, 0.8, [0.8, 0.12, 0.08]),
        ([0.5, 0.3, 0.2], 2, 0.0, [0.625, 0.375, 0.0]),
        ([2, 2], 1, 1.0, [0.0, 1.0]),
        # w_j = 1: proportional rescaling impossible -> others share 1 - t equally
        ([1, 0, 0], 0, 0.4, [0.4, 0.3, 0.3]),
        ([5], 0, 0.3, [0.3]),
    ],
)
def test_weights_at(w, j, t, expected):
    np.testing.assert_allclose(weights_at(w, j, t), expected)


@pytest.mark.parametrize(("j", "t"), [(2, 0.5), (-1, 0.5), (0, 1.5), (0, -0.1)])
def test_weights_at_rejects(j, t):
    with pytest.raises((ValueError, IndexError)):
        weights_at([1, 1], j, t)


# ----------------------------------------------------------------------------- hand cases


def test_linear_case_hand_computed():
    # Equal weights, no missing cells. Varying crit 0's weight t (crit 1 gets 1 - t):
    #   T0 = 87.5 t, T1 = 50 t + 62.5 (1 - t) = 62.5 - 12.5 t, T2 = 100 (1 - t)
    # At t = .5: 43.75, 56.25, 50 -> option 1 on top.
    #   T1 = T0 at 100 t = 62.5 -> t = .625 (option 0 takes over above)
    #   T1 = T2 at 87.5 t = 37.5 -> t = 3/7 (option 2 takes over below)
    u = [[0.875, 0.0], [0.5, 0.625], [0.0, 1.0]]
    res = check_sensitivity(u, [1, 1])
    r = res[0]
    assert (r.top_option, r.tied_at_top, r.weight) == (1, False, 0.5)
    assert r.lower == pytest.approx(3 / 7) and r.below_option == 2
    assert r.upper == pytest.approx(0.625) and r.above_option == 0
    assert r.smallest_change == pytest.approx(0.5 - 3 / 7)
    # crit 1 is the mirror image: t' = 1 - t
    r = res[1]
    assert r.lower == pytest.approx(0.375) and r.below_option == 0
    assert r.upper == pytest.approx(4 / 7) and r.above_option == 2


def test_missing_cell_case_is_linear_fractional_hand_computed():
    # Equal weights on 3 criteria; vary crit 0 (t), the others get (1 - t)/2 each.
    #   A = [.9, -, .4]: num = .9 t + .2 (1 - t), den = t + .5 (1 - t)
    #                    T_A = 100 (.4 + 1.4 t) / (1 + t)            (65 at t = 1/3)
    #   B = [.3, .9, .7]: T_B = 100 (.3 t + .8 (1 - t)) = 80 - 50 t   (63.33 at 1/3)
    #   C = [1, .4, .4]:  T_C = 100 (t + .4 (1 - t)) = 40 + 60 t      (60 at 1/3)
    # B > A: .4 + 1.4 t < (.8 - .5 t)(1 + t)  <=>  .5 t^2 + 1.1 t - .4 < 0
    #        root t = -1.1 + sqrt(2.01) = .317745...   -> lower, B takes over below
    # C > A: (.4 + .6 t)(1 + t) > .4 + 1.4 t   <=>  .6 t^2 - .4 t > 0  <=>  t > 2/3
    #        -> upper = 2/3, C takes over above (at t = 2/3 both are 80)
    u = [[0.9, NAN, 0.4], [0.3, 0.9, 0.7], [1.0, 0.4, 0.4]]
    r = check_sensitivity(u, [1, 1, 1])[0]
    assert r.top_option == 0
    assert r.lower == pytest.approx(math.sqrt(2.01) - 1.1, abs=1e-12) and r.below_option == 1
    assert r.upper == pytest.approx(2 / 3, abs=1e-12) and r.above_option == 2
    assert r.smallest_change == pytest.approx(1 / 3 - (math.sqrt(2.01) - 1.1), abs=1e-12)


def test_touching_at_the_end_is_not_a_takeover():
    # A = [1, -, .4], C = [1, .5, .5] (equal weights, vary crit 0):
    #   T_A = 100 (.4 + 1.6 t) / (1 + t), T_C = 50 + 50 t; C > A <=> t^2 - 1.2 t + .2 > 0
    #   <=> t < .2 or t > 1. At t = 1 both are 100 (a tie, not a takeover).
    #   B = [.3, .9, .7]: B > A <=> .5 t^2 + 1.3 t - .4 < 0 -> t < sqrt(2.49) - 1.3
    u = [[1.0, NAN, 0.4], [0.3, 0.9, 0.7], [1.0, 0.5, 0.5]]
    r = check_sensitivity(u, [1, 1, 1])[0]
    assert r.top_option == 0
    assert r.upper == 1.0 and r.above_option is None
    assert r.lower == pytest.approx(math.sqrt(2.49) - 1.3, abs=1e-12) and r.below_option == 1


def test_tie_at_top():
    # A = [1, 0], B = [0, 1], equal weights: both 50. A (lowest index) is tracked.
    # Vary crit 0: T_A = 100 t, T_B = 100 (1 - t): B ahead for any t < .5.
    u = [[1.0, 0.0], [0.0, 1.0]]
    r = check_sensitivity(u, [1, 1])[0]
    assert r.tied_at_top and r.top_options == (0, 1) and r.top_option == 0
    assert r.lower == pytest.approx(0.5) and r.below_option == 1
    assert r.upper == 1.0 and r.above_option is None
    assert r.smallest_change == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize(
    "u",
    [
        [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]],
        # same total 50 for every t in (0, 1) despite different missing patterns
        [[0.5, NAN], [0.5, 0.5], [NAN, 0.5]],
    ],
)
def test_all_options_tied(u):
    for r in check_sensitivity(u, [1, 3]):
        assert r.tied_at_top and r.top_option == 0
        assert (r.lower, r.upper, r.below_option, r.above_option) == (0.0, 1.0, None, None)
        assert r.smallest_change is None


def test_single_criterion():
    r = check_sensitivity([[0.2], [0.8]], [3])[0]
    assert (r.top_option, r.weight, r.lower, r.upper) == (1, 1.0, 0.0, 1.0)
    assert r.below_option is None and r.above_option is None and r.smallest_change is None


def test_weight_already_one_and_weight_zero():
    # w = [1, 0, 0]. A = [1, 0, 0] total 100, B = [.9, 1, 1] total 90.
    # crit 0 (w = 1): others share 1 - t equally -> T_A = 100 t, T_B = 90 t + 100 (1 - t)
    #   B > A <=> t < 10/11.
    # crit 1 (w = 0): w(t) = [1 - t, t, 0] -> T_A = 100 (1 - t), T_B = 90 + 10 t
    #   B > A <=> t > 1/11.
    u = [[1.0, 0.0, 0.0], [0.9, 1.0, 1.0]]
    res = check_sensitivity(u, [1, 0, 0])
    r0, r1, r2 = res
    assert r0.weight == 1.0 and r0.upper == 1.0 and r0.above_option is None
    assert r0.lower == pytest.approx(10 / 11) and r0.below_option == 1
    assert r1.weight == 0.0 and r1.lower == 0.0 and r1.below_option is None
    assert r1.upper == pytest.approx(1 / 11) and r1.above_option == 1
    assert r1.smallest_change == pytest.approx(1 / 11)
    assert r2.upper == pytest.approx(1 / 11)


def test_option_only_ranked_once_zero_weight_criterion_gets_weight():
    # C has a score only on crit 1 (weight 0) -> unranked now, but for any t > 0 its
    # total is 100 * .9 = 90 > A's 60: takeover right at the current weight.
    u = [[0.6, 0.6], [0.5, 0.5], [NAN, 0.9]]
    r = check_sensitivity(u, [1, 0])[1]
    assert r.top_option == 0 and r.weight == 0.0
    assert r.upper == 0.0 and r.above_option == 2 and r.smallest_change == 0.0


def test_no_option_has_a_total():
    r = sensitivity([[NAN, NAN], [NAN, NAN]], [1, 1])[0]
    assert r.top_option is None and r.top_options == () and r.smallest_change is None
    assert r.lower == r.upper == r.weight == 0.5


def test_sensitivity_rejects_bad_shapes():
    with pytest.raises(ValueError):
        sensitivity([0.5, 0.5], [1, 1])
    with pytest.raises(ValueError):
        sensitivity([[0.5, 0.5]], [1, 1, 1])


# ----------------------------------------------------------------------------- properties


@st.composite
def utility_cases(draw, nan_ok=True):
    """Utilities on a k/20 grid (some missing) with integer weights."""
    n_o = draw(st.integers(1, 6))
    n_c = draw(st.integers(1, 5))
    vals = draw(st.lists(st.integers(0, 20), min_size=n_o * n_c, max_size=n_o * n_c))
    u = np.array(vals, dtype=float).reshape(n_o, n_c) / 20
    if nan_ok:
        mask = draw(st.lists(st.booleans(), min_size=u.size, max_size=u.size))
        u[np.array(mask).reshape(u.shape)] = NAN
    w = draw(st.lists(st.integers(0, 10), min_size=n_c, max_size=n_c))
    return u, np.array(w, dtype=float)


@settings(deadline=None, max_examples=300)
@given(utility_cases(nan_ok=False))
def test_interval_ends_really_change_the_top_complete(case):
    check_sensitivity(*case)


@settings(deadline=None, max_examples=300)
@given(utility_cases(nan_ok=True))
def test_interval_ends_really_change_the_top_with_missing_cells(case):
    check_sensitivity(*case)


@pytest.mark.parametrize("seed", range(40))
def test_interval_ends_continuous_random(seed):
    rng = np.random.default_rng(seed)
    n_o, n_c = rng.integers(2, 9), rng.integers(2, 7)
    u = rng.random((n_o, n_c))
    if seed % 2:
        u[rng.random(u.shape) < 0.25] = NAN
    w = rng.random(n_c)
    check_sensitivity(u, w)
