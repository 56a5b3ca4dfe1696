"""The missing-score policy (app.domain.analysis.missing): totals under skip, midpoint and worst,
weight coverage, the range a total could take, the options that outrank another only through
missing scores, the safe printing of coverage and ranges, and SMAA following the policy.

Hand-worked cases show their arithmetic in comments; scale 1-5, so a score s has utility
(s - 1) / 4: 5 -> 1, 4 -> 0.75, 3 -> 0.5, 1 -> 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.analysis import (
    MissingPolicy,
    Scale,
    coverage_text,
    evaluate,
    missing_report,
    policy_utilities,
    range_text,
    range_texts,
    run_smaa,
    sensitivity,
    smaa,
    totals,
)
from app.domain.labels import missing_policy_sentence, outranks_sentence

NAN = math.nan
B, C = "benefit", "cost"
SCALE = Scale(1, 5)
POLICIES = list(MissingPolicy)


def pair(a: list[float], b: list[float]) -> np.ndarray:
    """One analyst's scores of options A and B."""
    return np.array([[a, b]], dtype=float)


# ----------------------------------------------------------------------------- the case


def test_complete_scores_are_the_same_under_every_policy() -> None:
    # A = [5, 5, 1]: (1 + 1 + 0) / 3 = 66.7; B = [4, 4, 4]: 0.75 = 75.
    for policy in POLICIES:
        ev = evaluate(pair([5, 5, 1], [4, 4, 4]), [1, 1, 1], [B] * 3, SCALE, missing=policy)
        assert ev.totals == pytest.approx([200 / 3, 75.0])
        assert ev.ranks == [2, 1]
        assert list(ev.weight_coverage) == pytest.approx([1.0, 1.0])
        assert list(ev.total_low) == list(ev.totals) == list(ev.total_high)
        assert ev.outranks_without_beating == [] and ev.incomplete == ()


@pytest.mark.parametrize(
    ("policy", "total_a", "ranks"),
    [
        # skip: A's gap counts as its own average elsewhere: (1 + 1) / 2 = 100, first.
        (MissingPolicy.SKIP, 100.0, [1, 2]),
        # midpoint: (1 + 1 + 0.5) / 3 = 83.3, still first.
        (MissingPolicy.MIDPOINT, 250 / 3, [1, 2]),
        # worst: (1 + 1 + 0) / 3 = 66.7, as if the weak score stood: second.
        (MissingPolicy.WORST, 200 / 3, [2, 1]),
    ],
)
def test_a_weak_cell_marked_na(policy: MissingPolicy, total_a: float, ranks: list[int]) -> None:
    ev = evaluate(pair([5, 5, NAN], [4, 4, 4]), [1, 1, 1], [B] * 3, SCALE, missing=policy)
    assert ev.totals == pytest.approx([total_a, 75.0])
    assert ev.ranks == ranks
    assert ev.missing is policy
    # Coverage is by weight, whatever the policy: A rests on two thirds of it.
    assert list(ev.weight_coverage) == pytest.approx([2 / 3, 1.0])
    # A's range: its gap at the worst end (66.7) to the best end (100); B is complete.
    assert list(ev.total_low) == pytest.approx([200 / 3, 75.0])
    assert list(ev.total_high) == pytest.approx([100.0, 75.0])
    assert ev.incomplete == (0,)
    # On the two criteria both were scored on, A (1 + 1) beats B (0.75 + 0.75): no sentence.
    assert ev.outranks_without_beating == []
    # The contributions still stack up to the total.
    assert np.nansum(ev.contributions, axis=1) == pytest.approx(list(ev.totals))


def test_skip_keeps_todays_rule_for_the_weak_cell() -> None:
    ev = evaluate(pair([5, 5, NAN], [4, 4, 4]), [1, 1, 1], [B] * 3, SCALE)
    assert ev.missing is MissingPolicy.SKIP
    assert ev.totals[0] == pytest.approx(100.0)
    assert math.isnan(ev.contributions[0, 2])


def test_an_option_outranks_one_it_does_not_beat() -> None:
    # A = [4, 4, N/A], B = [4, 4, 3]. Skip: A 75, B (0.75 + 0.75 + 0.5) / 3 = 66.7, so A ranks
    # first, yet on the two criteria both were scored on they are level.
    ev = evaluate(pair([4, 4, NAN], [4, 4, 3]), [1, 1, 1], [B] * 3, SCALE)
    assert ev.totals == pytest.approx([75.0, 200 / 3])
    assert ev.outranks_without_beating == [(0, 1)]
    # Midpoint: A (0.75 + 0.75 + 0.5) / 3 = 66.7, tied with B: neither ranks above.
    mid = evaluate(pair([4, 4, NAN], [4, 4, 3]), [1, 1, 1], [B] * 3, SCALE, missing="midpoint")
    assert mid.totals == pytest.approx([200 / 3, 200 / 3]) and mid.ranks == [1, 1]
    assert mid.outranks_without_beating == []
    # Worst: A (0.75 + 0.75) / 3 = 50, second.
    worst = evaluate(pair([4, 4, NAN], [4, 4, 3]), [1, 1, 1], [B] * 3, SCALE, missing="worst")
    assert worst.totals == pytest.approx([50.0, 200 / 3]) and worst.ranks == [2, 1]
    assert worst.outranks_without_beating == []


def test_the_report_words_the_figures() -> None:
    ev = evaluate(pair([4, 4, NAN], [4, 4, 3]), [1, 1, 1], [B] * 3, SCALE)
    report = missing_report(ev, [11, 12], ["Drills", "Do little"], ["Cost", "Speed", "Reach"])
    assert report["policy"] == "skip"
    assert report["sentence"] == missing_policy_sentence("skip")
    a, b = report["options"]
    assert a["option_id"] == 11 and a["coverage_text"] == "66.6 %" and not a["complete"]
    assert a["range_text"] == "50.0–83.4"  # 50 down, 83.33 up
    assert b["complete"] and b["range_text"] is None and b["coverage_text"] == "100 %"
    assert report["incomplete"] == [11]
    assert report["outranks"] == [
        {
            "above_id": 11,
            "below_id": 12,
            "common": ["Cost", "Speed"],
            "sentence": "Drills ranks above Do little only through missing scores: on the "
            "criteria both were scored on (Cost and Speed), Drills does not score higher "
            "than Do little.",
        }
    ]


def test_an_option_without_a_weighted_score_is_unranked_under_every_policy() -> None:
    x = pair([NAN, 3], [4, 4])
    for policy in POLICIES:
        ev = evaluate(x, [1, 0], [B, B], SCALE, missing=policy)  # A is scored only on weight 0
        assert math.isnan(ev.totals[0]) and ev.ranks[0] is None
        assert math.isnan(ev.total_low[0]) and math.isnan(ev.total_high[0])
        assert ev.ranks[1] == 1


def test_a_gap_on_a_criterion_without_weight_leaves_the_option_complete() -> None:
    ev = evaluate(pair([4, NAN], [3, 3]), [1, 0], [B, B], SCALE, missing="worst")
    assert ev.totals == pytest.approx([75.0, 50.0])
    assert ev.incomplete == () and ev.total_low[0] == ev.total_high[0] == ev.totals[0]


def test_cost_criteria_count_the_gap_at_their_worst() -> None:
    # Worst on a cost criterion is the scale's top; utility 0 either way.
    ev = evaluate(pair([5, NAN], [5, 5]), [1, 1], [B, C], SCALE, missing="worst")
    assert ev.totals == pytest.approx([50.0, 50.0])


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError):
        evaluate(pair([4], [3]), [1], [B], SCALE, missing="zero")


# ----------------------------------------------------------------------------- properties


@st.composite
def cases(draw: st.DrawFn) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Integer scores on 0-10 (some missing), directions and integer weights."""
    n_a, n_o, n_c = draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 4))
    size = n_a * n_o * n_c
    x = np.array(draw(st.lists(st.integers(0, 10), min_size=size, max_size=size)), float)
    x = x.reshape(n_a, n_o, n_c)
    mask = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    x[np.array(mask).reshape(x.shape)] = NAN
    dirs = draw(st.lists(st.sampled_from([B, C]), min_size=n_c, max_size=n_c))
    w = np.array(draw(st.lists(st.integers(0, 9), min_size=n_c, max_size=n_c)), float)
    return x, dirs, w


TEN = Scale(0, 10)


def old_totals(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The rule before policies existed, written out: weights rescaled over present cells."""
    w = w / w.sum() if w.sum() else np.full(w.size, 1 / w.size)
    out = []
    for row in u:
        present = ~np.isnan(row)
        den = float(w[present].sum())
        out.append(NAN if den <= 0 else min(100.0, 100.0 * float(row[present] @ w[present]) / den))
    return np.array(out)


@given(cases())
def test_skip_is_the_old_rule(case: tuple[np.ndarray, list[str], np.ndarray]) -> None:
    x, dirs, w = case
    ev = evaluate(x, w, dirs, TEN)
    np.testing.assert_allclose(ev.totals, old_totals(ev.utilities, w), rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(ev.totals, totals(ev.utilities, w))


@given(cases())
def test_every_total_lies_in_its_range(case: tuple[np.ndarray, list[str], np.ndarray]) -> None:
    x, dirs, w = case
    for policy in POLICIES:
        ev = evaluate(x, w, dirs, TEN, missing=policy)
        ranked = ~np.isnan(ev.totals)
        assert (ev.total_low[ranked] <= ev.totals[ranked]).all()
        assert (ev.totals[ranked] <= ev.total_high[ranked]).all()
        assert np.isnan(ev.total_low[~ranked]).all() and np.isnan(ev.total_high[~ranked]).all()
        # The range's width is the unscored weight.
        width = ev.total_high[ranked] - ev.total_low[ranked]
        np.testing.assert_allclose(width, 100 * (1 - ev.weight_coverage[ranked]), atol=1e-9)
        np.testing.assert_allclose(
            np.nansum(ev.contributions, axis=1)[ranked], ev.totals[ranked], atol=1e-9
        )


@given(cases())
def test_worst_never_above_midpoint(case: tuple[np.ndarray, list[str], np.ndarray]) -> None:
    x, dirs, w = case
    worst = evaluate(x, w, dirs, TEN, missing="worst")
    mid = evaluate(x, w, dirs, TEN, missing="midpoint")
    skip = evaluate(x, w, dirs, TEN)
    np.testing.assert_array_equal(np.isnan(worst.totals), np.isnan(skip.totals))
    ranked = ~np.isnan(worst.totals)
    assert (worst.totals[ranked] <= mid.totals[ranked] + 1e-9).all()
    np.testing.assert_array_equal(worst.total_low, mid.total_low)
    np.testing.assert_array_equal(worst.weight_coverage, skip.weight_coverage)
    np.testing.assert_allclose(worst.totals[ranked], worst.total_low[ranked], atol=1e-9)


@given(cases())
def test_outranking_pairs_meet_their_definition(
    case: tuple[np.ndarray, list[str], np.ndarray],
) -> None:
    x, dirs, w = case
    for policy in POLICIES:
        ev = evaluate(x, w, dirs, TEN, missing=policy)
        for a, b in ev.outranks_without_beating:
            ra, rb = ev.ranks[a], ev.ranks[b]
            assert ra is not None and rb is not None and ra < rb
            assert ev.weight_coverage[a] < 1
            common = ~np.isnan(ev.utilities[a]) & ~np.isnan(ev.utilities[b]) & (ev.weights > 0)
            assert common.any()
            mine = float(ev.utilities[a, common] @ ev.weights[common])
            theirs = float(ev.utilities[b, common] @ ev.weights[common])
            assert 100 * mine <= 100 * theirs + 1e-9


@given(cases())
def test_policy_utilities_give_the_policys_totals(
    case: tuple[np.ndarray, list[str], np.ndarray],
) -> None:
    x, dirs, w = case
    for policy in POLICIES:
        ev = evaluate(x, w, dirs, TEN, missing=policy)
        counted = policy_utilities(ev.utilities, ev.weights, policy)
        np.testing.assert_allclose(totals(counted, w), ev.totals, atol=1e-9)


def test_sensitivity_follows_the_policy() -> None:
    # Worst: A = 0.5 * 1 + 0.5 * 0 (gap) = 50 < B 75; skip puts A first at 100.
    ev = evaluate(pair([5, NAN], [4, 4]), [1, 1], [B, B], SCALE, missing="worst")
    counted = policy_utilities(ev.utilities, ev.weights, ev.missing)
    top = {s.top_option for s in sensitivity(counted, ev.weights)}
    assert top == {1}
    skipped = evaluate(pair([5, NAN], [4, 4]), [1, 1], [B, B], SCALE)
    assert {s.top_option for s in sensitivity(skipped.utilities, skipped.weights)} == {0}


# ----------------------------------------------------------------------------- SMAA


@pytest.mark.parametrize(
    ("policy", "first"),
    [("skip", [1.0, 0.0]), ("midpoint", [1.0, 0.0]), ("worst", [0.0, 1.0])],
)
def test_every_sample_follows_the_policy(policy: str, first: list[float]) -> None:
    # Fixed weights and one analyst: every sample is the matrix itself, so each sample's
    # ranking is evaluate's under the same policy.
    result = run_smaa(
        pair([5, 5, NAN], [4, 4, 4]),
        [1, 1, 1],
        [B] * 3,
        SCALE,
        samples=200,
        band=0.0,
        missing=policy,
    )
    assert list(result.first_rank_acceptability) == pytest.approx(first)
    assert list(result.confidence[np.array(first) > 0]) == pytest.approx([1.0])


def test_smaa_policies_agree_on_complete_matrices() -> None:
    rng = np.random.default_rng(3)
    u = rng.random((50, 4, 3))
    w = rng.random((50, 3))
    base = smaa(u, w)
    for policy in POLICIES:
        other = smaa(u, w, missing=policy)
        np.testing.assert_array_equal(other.rank_acceptability, base.rank_acceptability)


@given(cases())
def test_smaa_at_fixed_weights_ranks_as_evaluate(
    case: tuple[np.ndarray, list[str], np.ndarray],
) -> None:
    x, dirs, w = case
    for policy in POLICIES:
        ev = evaluate(x, w, dirs, TEN, missing=policy)
        result = smaa(ev.utilities, ev.weights, missing=policy)
        tops = ev.top
        if tops:
            shares = result.first_rank_acceptability
            assert shares[list(tops)] == pytest.approx([1 / len(tops)] * len(tops))


# ----------------------------------------------------------------------------- printing


@pytest.mark.parametrize(
    ("coverage", "text"),
    [
        (0.6, "60 %"),
        (2 / 3, "66.6 %"),
        (0.3, "30 %"),
        (0.99999, "99.9 %"),
        (1.0, "100 %"),
        (1e-5, "under 0.1 %"),
        (0.0, "0 %"),
    ],
)
def test_coverage_is_printed_rounded_down(coverage: float, text: str) -> None:
    assert coverage_text(coverage) == text


@given(st.floats(0, 1))
def test_printed_coverage_never_overstates(coverage: float) -> None:
    text = coverage_text(coverage)
    if text.startswith("under"):
        assert 0 < coverage < 0.001
    else:
        assert float(text.removesuffix(" %")) <= coverage * 100 + 1e-6
        assert (text == "100 %") == (coverage >= 1 - 1e-12)


@given(st.floats(0, 100), st.floats(0, 100))
def test_printed_range_holds_the_range(x: float, y: float) -> None:
    low, high = min(x, y), max(x, y)
    lo, hi = range_texts(low, high)
    assert float(lo) <= low + 1e-6 and float(hi) >= high - 1e-6
    assert range_text(low, high) == f"{lo}–{hi}"


def test_the_policy_in_words() -> None:
    assert missing_policy_sentence("worst").startswith(
        "Missing scores: counted at the scale's worst. A missing or N/A score counts as the "
        "worst end of the scale"
    )
    assert "(" not in outranks_sentence("A", "B", ["c1", "c2", "c3", "c4"])


def test_the_memo_lists_every_ranked_option_in_rank_order() -> None:
    from app.web.presenters.memo import missing_view

    assert missing_view(None) == {"missing": None, "incomplete": set(), "missing_rows": []}
    ev = evaluate(pair([4, 4, NAN], [4, 4, 3]), [1, 1, 1], [B] * 3, SCALE, missing="worst")
    report = missing_report(ev, [11, 12], ["Drills", "Do little"], ["Cost", "Speed", "Reach"])
    view = missing_view(report)
    assert [o["title"] for o in view["missing_rows"]] == ["Do little", "Drills"]
    assert view["incomplete"] == {11}


def test_the_groups_own_views_follow_the_policy() -> None:
    from app.domain.analysis import leave_one_out, own_rankings

    # analyst 0 leaves A's weak cell empty; analyst 1 scores it 1.
    x = np.array([[[5, 5, NAN], [4, 4, 4]], [[5, 5, 1], [4, 4, 4]]], dtype=float)
    assert own_rankings(x, [1, 1, 1], [B] * 3, SCALE)[0].ranks == [1, 2]
    assert own_rankings(x, [1, 1, 1], [B] * 3, SCALE, missing="worst")[0].ranks == [2, 1]
    # With everyone the weak cell's mean is 1: B first under every policy; without analyst 1
    # the gap decides: A first when skipped, B first at the worst.
    skip = leave_one_out(x, [1, 1, 1], [B] * 3, SCALE)
    worst = leave_one_out(x, [1, 1, 1], [B] * 3, SCALE, missing="worst")
    assert [(r.analyst, r.top) for r in skip] == [(0, (1,)), (1, (0,))]
    assert [(r.analyst, r.top) for r in worst] == [(0, (1,)), (1, (1,))]
