"""Unit tests for app.domain.analysis: weights, cell statistics, utilities, totals, ranks, evaluate, TOPSIS.

Sensitivity, SMAA and the cross-checks against pymcdm / scikit-criteria live in the sibling
``test_analysis_*.py`` files. Hand-worked cases show their arithmetic in comments.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.analysis import (
    Scale,
    cell_stats,
    evaluate,
    methods_agree,
    normalise_weights,
    rank,
    top_options,
    topsis,
    totals,
    utilities,
)

NAN = math.nan
B, C = "benefit", "cost"


# ----------------------------------------------------------------------------- strategies


@st.composite
def score_cases(draw, max_analysts=4, max_options=5, max_criteria=4, nan_ok=True):
    """Integer scores on a 0-10 scale (some missing), directions and integer weights."""
    n_a = draw(st.integers(1, max_analysts))
    n_o = draw(st.integers(1, max_options))
    n_c = draw(st.integers(1, max_criteria))
    size = n_a * n_o * n_c
    vals = draw(st.lists(st.integers(0, 10), min_size=size, max_size=size))
    x = np.array(vals, dtype=float).reshape(n_a, n_o, n_c)
    if nan_ok:
        mask = draw(st.lists(st.booleans(), min_size=size, max_size=size))
        x[np.array(mask).reshape(x.shape)] = NAN
    dirs = draw(st.lists(st.sampled_from([B, C]), min_size=n_c, max_size=n_c))
    w = draw(st.lists(st.integers(0, 9), min_size=n_c, max_size=n_c))
    return x, dirs, np.array(w, dtype=float)


# ----------------------------------------------------------------------------- weights


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([1, 1], [0.5, 0.5]),
        ([3, 1], [0.75, 0.25]),
        ([2, 0, 2], [0.5, 0.0, 0.5]),
        ([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]),
        ([7], [1.0]),
        ([0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]),  # all zero -> equal weights (documented)
    ],
)
def test_normalise_weights(raw, expected):
    w = normalise_weights(raw)
    np.testing.assert_allclose(w, expected)
    assert w.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("raw", [[1, -1], [NAN, 1], [math.inf, 1], [], [[1, 2]]])
def test_normalise_weights_rejects(raw):
    with pytest.raises(ValueError):
        normalise_weights(raw)


@pytest.mark.parametrize(("lo", "hi"), [(5, 1), (3, 3), (NAN, 5), (0, math.inf)])
def test_scale_rejects(lo, hi):
    with pytest.raises(ValueError):
        Scale(lo, hi)


def test_scale_span():
    assert Scale(1, 5).span == 4
    assert Scale(0, 10).span == 10


# ----------------------------------------------------------------------------- cell stats

# 3 analysts, 1 option, 6 criteria on a 1-5 scale (span 4, so "contested" needs range >= 2).
#   crit 0: 1, 3, 5  -> mean 3, median 3, std sqrt((4+0+4)/3), range 4 -> contested
#   crit 1: 2, -, 4  -> mean 3, median 3, std 1, range 2 (exactly half the span) -> contested
#   crit 2: 2, 3, -  -> mean 2.5, median 2.5, std 0.5, range 1 -> not contested
#   crit 3: -, -, -  -> all NaN, count 0, not contested
#   crit 4: 5, -, -  -> mean = median = 5, std 0, count 1 -> not contested (needs 2 scores)
#   crit 5: 1, 2, 5  -> mean 8/3, median 2, std sqrt(((5/3)^2+(2/3)^2+(7/3)^2)/3), contested
CELL_SCORES = np.array(
    [
        [[1, 2, 2, NAN, 5, 1]],
        [[3, NAN, 3, NAN, NAN, 2]],
        [[5, 4, NAN, NAN, NAN, 5]],
    ]
)


def test_cell_stats_mean_hand_computed():
    s = cell_stats(CELL_SCORES, Scale(1, 5), "mean")
    np.testing.assert_allclose(s.value[0], [3, 3, 2.5, NAN, 5, 8 / 3])
    std5 = math.sqrt(((5 / 3) ** 2 + (2 / 3) ** 2 + (7 / 3) ** 2) / 3)
    np.testing.assert_allclose(s.std[0], [math.sqrt(8 / 3), 1, 0.5, NAN, 0, std5])
    np.testing.assert_allclose(s.min[0], [1, 2, 2, NAN, 5, 1])
    np.testing.assert_allclose(s.max[0], [5, 4, 3, NAN, 5, 5])
    assert s.count[0].tolist() == [3, 2, 2, 0, 1, 3]
    assert s.contested[0].tolist() == [True, True, False, False, False, True]
    assert s.method == "mean"


def test_cell_stats_median_hand_computed():
    s = cell_stats(CELL_SCORES, Scale(1, 5), "median")
    np.testing.assert_allclose(s.value[0], [3, 3, 2.5, NAN, 5, 2])


@pytest.mark.parametrize(
    ("column", "median"),
    [([4, 1, 3], 3), ([4, 1, 3, 2], 2.5), ([NAN, 7, NAN, 1], 4), ([0], 0), ([9, NAN], 9)],
)
def test_cell_stats_median_orders(column, median):
    x = np.array(column, dtype=float).reshape(-1, 1, 1)
    assert cell_stats(x, Scale(0, 10), "median").value[0, 0] == pytest.approx(median)


def test_cell_stats_contested_threshold_scales_with_scale():
    # Range 5 on a 0-10 scale is exactly half the span -> contested; range 4 is not.
    x = np.array([[[0, 3]], [[5, 7]]], dtype=float)
    assert cell_stats(x, Scale(0, 10)).contested[0].tolist() == [True, False]


def test_cell_stats_no_analysts():
    s = cell_stats(np.empty((0, 2, 3)), Scale(1, 5), "median")
    assert s.value.shape == (2, 3)
    assert np.isnan(s.value).all() and np.isnan(s.std).all()
    assert (s.count == 0).all() and not s.contested.any()


def test_cell_stats_rejects_bad_input():
    with pytest.raises(ValueError):
        cell_stats(np.zeros((2, 2)), Scale(1, 5))
    with pytest.raises(ValueError):
        cell_stats(np.zeros((1, 1, 1)), Scale(1, 5), "mode")  # type: ignore[arg-type]


@given(score_cases())
def test_cell_stats_matches_numpy_nan_functions(case):
    x, _, _ = case
    s = cell_stats(x, Scale(0, 10))
    m = cell_stats(x, Scale(0, 10), "median")
    has = s.count > 0
    with warnings.catch_warnings():  # NumPy warns about all-NaN cells; our code must not
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(s.value[has], np.nanmean(x, axis=0)[has])
        np.testing.assert_allclose(m.value[has], np.nanmedian(x, axis=0)[has])
        np.testing.assert_allclose(s.std[has], np.nanstd(x, axis=0)[has], atol=1e-12)
    assert np.isnan(s.value[~has]).all()
    assert ((s.min <= s.value) | ~has).all() and ((s.value <= s.max) | ~has).all()


# ----------------------------------------------------------------------------- utilities


@pytest.mark.parametrize(
    ("values", "scale", "dirs", "expected"),
    [
        # 1-5 scale: (v - 1) / 4 for benefit, (5 - v) / 4 for cost
        ([1, 5], Scale(1, 5), [B, C], [0.0, 0.0]),
        ([5, 1], Scale(1, 5), [B, C], [1.0, 1.0]),
        ([2, 2], Scale(1, 5), [B, C], [0.25, 0.75]),
        # 0-10 scale
        ([7, 3], Scale(0, 10), [B, C], [0.7, 0.7]),
        ([NAN, 4], Scale(0, 10), [B, B], [NAN, 0.4]),
        # negative scale -5..5
        ([0, -5], Scale(-5, 5), [B, C], [0.5, 1.0]),
    ],
)
def test_utilities_table(values, scale, dirs, expected):
    np.testing.assert_allclose(utilities(values, scale, dirs), expected)


def test_utilities_any_leading_shape():
    x = np.array([[[1, 5], [3, NAN]], [[5, 1], [2, 4]]], dtype=float)  # (2, 2, 2)
    u = utilities(x, Scale(1, 5), [B, C])
    np.testing.assert_allclose(u, [[[0, 0], [0.5, NAN]], [[1, 1], [0.25, 0.25]]])


@pytest.mark.parametrize(
    ("values", "dirs"),
    [([6, 1], [B, B]), ([0, 1], [B, B]), ([1, 1], [B]), ([1, 1], [B, "gain"]), ([1], "b")],
)
def test_utilities_rejects(values, dirs):
    with pytest.raises(ValueError):
        utilities(values, Scale(1, 5), dirs)


def test_utilities_direction_spelling_is_lenient():
    np.testing.assert_allclose(utilities([2, 2], Scale(1, 5), ["Benefit", " COST "]), [0.25, 0.75])


# ----------------------------------------------------------------------------- totals / ranks


@pytest.mark.parametrize(
    ("u", "w", "expected"),
    [
        # w = [.75, .25]: A = 100 * .75 = 75; B = 100 * (.375 + .125) = 50
        ([[1, 0], [0.5, 0.5]], [3, 1], [75, 50]),
        # A misses crit 1: 100 * .75 * 1 / .75 = 100 (not 75 -- missing is not zero);
        # C has nothing -> NaN
        ([[1, NAN], [0.5, 0.5], [NAN, NAN]], [3, 1], [100, 50, NAN]),
        # w = [.25, .5, .25]; present 0,1: (.25*.25 + .5*1) / .75 = .5625 / .75 = .75
        ([[0.25, 1, NAN]], [1, 2, 1], [75]),
        # only present criterion has zero weight -> no coverage -> NaN
        ([[NAN, 0.4], [0.2, 0.6]], [1, 0], [NAN, 20]),
        # all-zero weights -> equal weights: (.2 + .6) / 2
        ([[0.2, 0.6]], [0, 0], [40]),
    ],
)
def test_totals_table(u, w, expected):
    np.testing.assert_allclose(totals(u, w), expected)


def test_totals_leading_axes():
    u = np.array([[[1, 0], [0, 1]], [[0.5, NAN], [NAN, NAN]]])
    np.testing.assert_allclose(totals(u, [1, 3]), [[25, 75], [50, NAN]])


def test_totals_rejects_wrong_lengths():
    with pytest.raises(ValueError):
        totals([[0.5, 0.5]], [1, 1, 1])
    with pytest.raises(ValueError):
        totals([0.5, 0.5], [1, 1])


@pytest.mark.parametrize(
    ("tot", "expected"),
    [
        ([90, 90, 80], [1, 1, 3]),
        ([80, NAN, 90], [2, None, 1]),
        ([1, 2, 3, 3], [4, 3, 1, 1]),
        ([50, 50 + 5e-10, 49], [1, 1, 3]),  # within tol 1e-9 -> tie
        ([50, 50 + 2e-9], [2, 1]),  # beyond tol -> distinct
        ([NAN, NAN], [None, None]),
        ([], []),
        ([70, 70, 70], [1, 1, 1]),
    ],
)
def test_rank_table(tot, expected):
    assert rank(tot) == expected


def test_rank_returns_python_ints_and_custom_tol():
    r = rank(np.array([10.0, 10.4, 9.0]), tol=0.5)
    assert r == [1, 1, 3]
    assert all(type(x) is int for x in r)
    assert top_options([10.0, 10.4, 9.0], tol=0.5) == (0, 1)
    assert top_options([NAN]) == ()


# ----------------------------------------------------------------------------- evaluate


def test_evaluate_hand_computed_mean_with_missing_cells():
    # Scale 1-5, 2 analysts, 3 options, 2 benefit criteria, equal weights.
    #   opt 0: crit0 (5, 4) -> 4.5 -> u .875;  crit1 (1, -) -> 1 -> u 0      total 43.75
    #   opt 1: crit0 (3, 3) -> 3   -> u .5;    crit1 (3, 4) -> 3.5 -> .625   total 56.25
    #   opt 2: crit0 (1, -) -> 1   -> u 0;     crit1 (5, -) -> 5 -> u 1      total 50
    scores = np.array(
        [[[5, 1], [3, 3], [1, 5]], [[4, NAN], [3, 4], [NAN, NAN]]],
    )
    ev = evaluate(scores, [1, 1], [B, B], Scale(1, 5))
    np.testing.assert_allclose(ev.utilities, [[0.875, 0], [0.5, 0.625], [0, 1]])
    np.testing.assert_allclose(ev.totals, [43.75, 56.25, 50])
    assert ev.ranks == [3, 1, 2]
    assert ev.top == (1,)
    np.testing.assert_allclose(ev.weights, [0.5, 0.5])
    np.testing.assert_allclose(ev.completeness, [1, 1, 1])
    np.testing.assert_allclose(ev.weight_coverage, [1, 1, 1])
    np.testing.assert_allclose(ev.contributions, [[43.75, 0], [25, 31.25], [0, 50]])
    assert ev.stats.count.tolist() == [[2, 1], [2, 2], [1, 1]]


def test_evaluate_hand_computed_cost_criterion_and_missing_group_value():
    # Scale 0-10, weights [1, 3] -> [.25, .75]; crit 1 is a cost.
    #   opt 0: crit0 (8, 6) -> 7 -> u .7; crit1 (2, 4) -> 3 -> u (10-3)/10 = .7   total 70
    #   opt 1: crit0 (4, -) -> 4 -> u .4; crit1 missing                          total 40
    #     (renormalised over crit0 only: 100 * .25 * .4 / .25; NOT 100 * .25 * .4 = 10)
    scores = np.array([[[8, 2], [4, NAN]], [[6, 4], [NAN, NAN]]])
    ev = evaluate(scores, [1, 3], [B, C], Scale(0, 10))
    np.testing.assert_allclose(ev.totals, [70, 40])
    assert ev.ranks == [1, 2]
    np.testing.assert_allclose(ev.completeness, [1, 0.5])
    np.testing.assert_allclose(ev.weight_coverage, [1, 0.25])
    np.testing.assert_allclose(ev.contributions, [[17.5, 52.5], [40, NAN]])


def test_evaluate_median_method():
    # one option, one criterion, analysts 1, 2, 9 on 0-10: mean 4 vs median 2
    scores = np.array([1, 2, 9], dtype=float).reshape(3, 1, 1)
    assert evaluate(scores, [1], [B], Scale(0, 10)).totals[0] == pytest.approx(40)
    assert evaluate(scores, [1], [B], Scale(0, 10), "median").totals[0] == pytest.approx(20)


def test_evaluate_unranked_option_and_zero_weight_coverage():
    # opt 1 has only a score on crit 1, whose weight is 0 -> coverage 0 -> unranked
    scores = np.array([[[3, 4], [NAN, 5]]])
    ev = evaluate(scores, [2, 0], [B, B], Scale(1, 5))
    np.testing.assert_allclose(ev.totals, [50, NAN])
    assert ev.ranks == [1, None]
    np.testing.assert_allclose(ev.completeness, [1, 0.5])
    np.testing.assert_allclose(ev.weight_coverage, [1, 0])
    assert np.isnan(ev.contributions[1]).all()
    np.testing.assert_allclose(ev.contributions[0], [50, 0])


def test_evaluate_rejects_out_of_scale_scores_and_bad_shapes():
    with pytest.raises(ValueError):
        evaluate(np.array([[[6.0]]]), [1], [B], Scale(1, 5))
    with pytest.raises(ValueError):
        evaluate(np.array([[[3.0, 3.0]]]), [1], [B, B], Scale(1, 5))
    with pytest.raises(ValueError):
        evaluate(np.array([[3.0, 3.0]]), [1, 1], [B, B], Scale(1, 5))


# ----------------------------------------------------------------------------- missing cells


def test_missing_cell_is_never_zero():
    # Same option with crit 1 missing vs scored at the scale minimum: different totals, and
    # the missing version equals the total over crit 0 alone.
    u_missing = np.array([[0.8, NAN, 0.6]])
    u_zero = np.array([[0.8, 0.0, 0.6]])
    w = np.array([1.0, 2.0, 1.0])
    t_missing = totals(u_missing, w)[0]
    # (.25 * .8 + .25 * .6) / .5 = .7
    assert t_missing == pytest.approx(70)
    # (.25 * .8 + .5 * 0 + .25 * .6) = .35
    assert totals(u_zero, w)[0] == pytest.approx(35)


@given(score_cases())
def test_missing_cell_policy_matches_definition(case):
    x, dirs, w = case
    ev = evaluate(x, w, dirs, Scale(0, 10))
    wn = w / w.sum() if w.sum() > 0 else np.full(w.size, 1 / w.size)
    for a in range(x.shape[1]):
        present = ~np.isnan(ev.utilities[a])
        cover = wn[present].sum()
        assert ev.completeness[a] == pytest.approx(present.mean())
        assert ev.weight_coverage[a] == pytest.approx(cover)
        if cover > 0:
            expected = 100 * (wn[present] * ev.utilities[a, present]).sum() / cover
            assert ev.totals[a] == pytest.approx(expected)
            assert np.nansum(ev.contributions[a]) == pytest.approx(ev.totals[a])
            assert ev.ranks[a] is not None
        else:
            assert np.isnan(ev.totals[a]) and ev.ranks[a] is None


# ----------------------------------------------------------------------------- properties


@given(score_cases(), st.sampled_from(["mean", "median"]))
def test_totals_within_0_100(case, method):
    x, dirs, w = case
    t = evaluate(x, w, dirs, Scale(0, 10), method).totals
    t = t[~np.isnan(t)]
    assert ((t >= 0) & (t <= 100)).all()


@settings(deadline=None)
@given(score_cases(nan_ok=True), st.data(), st.sampled_from(["mean", "median"]))
def test_raising_a_benefit_score_never_lowers_that_total(case, data, method):
    x, dirs, w = case
    present = np.argwhere(~np.isnan(x))
    if present.size == 0:
        return
    k = data.draw(st.integers(0, len(present) - 1))
    an, opt, crit = present[k]
    dirs = list(dirs)
    dirs[crit] = B
    raised = x.copy()
    raised[an, opt, crit] = data.draw(st.integers(int(x[an, opt, crit]), 10))
    before = evaluate(x, w, dirs, Scale(0, 10), method).totals[opt]
    after = evaluate(raised, w, dirs, Scale(0, 10), method).totals[opt]
    if np.isnan(before):
        assert np.isnan(after)
    else:
        assert after >= before - 1e-9


@given(score_cases(), st.floats(1e-3, 1e3))
def test_ranking_invariant_to_weight_scaling(case, factor):
    x, dirs, w = case
    a = evaluate(x, w, dirs, Scale(0, 10))
    b = evaluate(x, w * factor, dirs, Scale(0, 10))
    assert a.ranks == b.ranks
    np.testing.assert_allclose(a.totals, b.totals, atol=1e-9)


@given(st.lists(st.sampled_from([10.0, 20.0, 30.0, NAN]), min_size=1, max_size=8))
def test_ties_share_a_rank(tot):
    r = rank(tot)
    for i, ti in enumerate(tot):
        for k, tk in enumerate(tot):
            if not (math.isnan(ti) or math.isnan(tk)) and ti == tk:
                assert r[i] == r[k]
        if math.isnan(ti):
            assert r[i] is None
        else:
            # competition rank: 1 + number of strictly better totals
            assert r[i] == 1 + sum(1 for t in tot if not math.isnan(t) and t > ti)


# ----------------------------------------------------------------------------- TOPSIS


def test_topsis_tzeng_huang_2011_example():
    # Tzeng & Huang (2011), Multiple Attribute Decision Making, TOPSIS worked example:
    # vector normalisation, weights .3/.4/.3, all benefit.
    m = [[5, 8, 4], [7, 6, 8], [8, 8, 6], [7, 4, 6]]
    c = topsis(m, [0.3, 0.4, 0.3], [B, B, B])
    np.testing.assert_allclose(np.round(c, 4), [0.5037, 0.6581, 0.7482, 0.3340])


def test_topsis_hand_computed_with_cost():
    # x = [[3, 4], [4, 3]], crit 1 cost, equal weights. Column norms are both 5:
    #   r = [[.6, .8], [.8, .6]], v = r / 2 = [[.3, .4], [.4, .3]]
    #   ideal = (max .4, min .3), anti = (min .3, max .4)
    #   opt 1 = ideal -> C = 1; opt 0 = anti -> C = 0
    np.testing.assert_allclose(topsis([[3, 4], [4, 3]], [1, 1], [B, C]), [0, 1], atol=1e-12)
    # Three options: the middle one is equidistant -> .5
    c = topsis([[3, 4], [4, 3], [3.5, 3.5]], [1, 1], [B, C])
    assert c[2] == pytest.approx(0.5)


def test_topsis_missing_rows_are_excluded():
    m = np.array([[5, 8, 4], [7, 6, 8], [8, 8, 6], [7, 4, 6], [NAN, 9, 9]])
    c = topsis(m, [0.3, 0.4, 0.3], [B, B, B])
    assert np.isnan(c[4])
    np.testing.assert_allclose(c[:4], topsis(m[:4], [0.3, 0.4, 0.3], [B, B, B]))
    assert np.isnan(topsis([[NAN, 1.0]], [1, 1], [B, B])).all()


def test_topsis_degenerate_columns():
    # identical options -> d+ = d- = 0 -> .5 (documented); an all-zero column contributes 0
    np.testing.assert_allclose(topsis([[2, 0], [2, 0]], [1, 1], [B, B]), [0.5, 0.5])
    np.testing.assert_allclose(topsis([[1, 0], [3, 0]], [1, 1], [B, C]), [0, 1])


@given(score_cases(max_analysts=1, nan_ok=False))
def test_topsis_closeness_in_unit_interval(case):
    x, dirs, w = case
    c = topsis(x[0], w, dirs)
    assert ((c >= 0) & (c <= 1 + 1e-12)).all()


def test_methods_agree():
    assert methods_agree([70, 50, 60], [0.7, 0.2, 0.5])
    assert not methods_agree([70, 50, 60], [0.5, 0.2, 0.7])
    assert methods_agree([70, 70, 10], [0.7, 0.7, 0.1])
    assert not methods_agree([70, 70, 10], [0.7, 0.6, 0.1])
    # NaN in either array is ignored in both
    assert methods_agree([70, NAN, 60], [0.1, 0.9, 0.05])
    with pytest.raises(ValueError):
        methods_agree([1, 2], [1, 2, 3])
