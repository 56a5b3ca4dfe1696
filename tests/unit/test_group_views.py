"""The group's own views: Kendall's W, own rankings, leave-one-out influence, convergence, and
the safe printing of W."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import analysis
from app.domain.analysis import (
    Scale,
    convergence,
    kendalls_w,
    leave_one_out,
    midranks,
    own_rankings,
    ranking_agreement,
)
from app.services.group_views import GroupViews, Influence, RoundConvergence
from app.web.presenters.group import (
    agreement_sentence,
    convergence_rows,
    influence_sentences,
    w_printed,
)

# The "anxiety" data of R's irr package (used in the examples of irr::kendall and
# DescTools::KendallW): 20 subjects rated 1-6 by 3 raters; kendall(anxiety, TRUE) = 0.5396569.
ANXIETY = {
    "rater1": [3, 3, 3, 4, 5, 5, 2, 3, 5, 2, 2, 6, 1, 5, 2, 2, 1, 2, 4, 3],
    "rater2": [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4],
    "rater3": [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2],
}
SCALE = Scale(1, 5)


def anxiety_rankings() -> np.ndarray:
    return np.array([midranks(scores) for scores in ANXIETY.values()])


# --- Kendall's W ------------------------------------------------------------------------------


def test_anxiety_data_gives_the_published_coefficients() -> None:
    rankings = anxiety_rankings()
    assert rankings.shape == (3, 20)
    assert round(kendalls_w(rankings, tie_correction=False), 3) == 0.502
    assert round(kendalls_w(rankings), 3) == 0.540
    assert kendalls_w(rankings) == pytest.approx(0.5396569, abs=1e-7)


@pytest.mark.parametrize(
    ("rankings", "plain", "corrected"),
    [
        # Identical rankings: complete agreement.
        ([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]], 1.0, 1.0),
        # Reversed rankings: every rank sum is 4, S = 0.
        ([[1, 2, 3], [3, 2, 1]], 0.0, 0.0),
        # Sums 2, 5, 5 around a mean of 4: S = 6, W = 12 * 6 / (4 * 24) = 0.75.
        ([[1, 2, 3], [1, 3, 2]], 0.75, 0.75),
        # One tie of two: sums 2.5, 3.5, 6, S = 6.5; plain 78 / 96, corrected 78 / (96 - 2 * 6).
        ([[1.5, 1.5, 3], [1, 2, 3]], 78 / 96, 78 / 84),
        # Identical rankings with a tie: sums 3, 3, 6, S = 6; only the corrected W reaches 1.
        ([[1.5, 1.5, 3], [1.5, 1.5, 3]], 72 / 96, 1.0),
        # Every rater ties every subject: 0 plainly, 1.0 by convention when corrected (0 / 0).
        ([[2, 2, 2], [2, 2, 2]], 0.0, 1.0),
    ],
)
def test_hand_computed_coefficients(
    rankings: list[list[float]], plain: float, corrected: float
) -> None:
    assert kendalls_w(rankings, tie_correction=False) == pytest.approx(plain)
    assert kendalls_w(rankings) == pytest.approx(corrected)


@pytest.mark.parametrize("rankings", [[[1, 2, 3]], [[1], [1], [1]], np.empty((0, 3))])
def test_fewer_than_two_raters_or_subjects_is_undefined(rankings: object) -> None:
    assert math.isnan(kendalls_w(rankings))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "rankings",
    [
        [[1, 1, 3], [1, 2, 3]],  # competition ranks, not mid-ranks
        [[1, 2, 4], [1, 2, 3]],  # not 1..n
        [[1, 2, math.nan], [1, 2, 3]],  # incomplete
        [1, 2, 3],  # not raters x subjects
    ],
)
def test_malformed_rankings_are_refused(rankings: object) -> None:
    with pytest.raises(ValueError):
        kendalls_w(rankings)  # type: ignore[arg-type]


def test_midranks_rank_the_highest_first_and_share_ties() -> None:
    assert midranks([90, 90, 80]).tolist() == [1.5, 1.5, 3.0]
    assert midranks([1, 3, 2, 3]).tolist() == [4.0, 1.5, 3.0, 1.5]
    assert midranks([50.0, 50.0 + 1e-12, 10.0]).tolist() == [1.5, 1.5, 3.0]
    with pytest.raises(ValueError):
        midranks([1.0, math.nan])


score_rows = st.integers(min_value=2, max_value=6).flatmap(
    lambda n: st.lists(
        st.lists(st.integers(min_value=1, max_value=5), min_size=n, max_size=n),
        min_size=2,
        max_size=6,
    )
)


@given(score_rows)
def test_w_lies_between_zero_and_one(rows: list[list[int]]) -> None:
    rankings = np.array([midranks(r) for r in rows])
    for correction in (True, False):
        w = kendalls_w(rankings, tie_correction=correction)
        assert 0.0 <= w <= 1.0


@given(score_rows)
def test_w_is_one_when_every_rater_agrees(rows: list[list[int]]) -> None:
    same = np.array([midranks(rows[0])] * len(rows))
    assert kendalls_w(same) == pytest.approx(1.0)


@given(score_rows, st.randoms(use_true_random=False))
def test_w_ignores_the_order_of_raters_and_of_subjects(rows: list[list[int]], rnd) -> None:  # type: ignore[no-untyped-def]
    rankings = np.array([midranks(r) for r in rows])
    raters = list(range(rankings.shape[0]))
    subjects = list(range(rankings.shape[1]))
    rnd.shuffle(raters)
    rnd.shuffle(subjects)
    shuffled = rankings[raters][:, subjects]
    assert kendalls_w(shuffled) == pytest.approx(kendalls_w(rankings))


# --- own rankings, agreement, influence -------------------------------------------------------


def tensor(*analysts: list[list[float]]) -> np.ndarray:
    return np.array(analysts, dtype=float)


def test_each_analyst_ranks_from_their_own_scores() -> None:
    # Two options, two criteria (benefit 60, cost 40) on 1-5.
    scores = tensor([[5, 1], [1, 5]], [[1, 5], [5, 1]], [[3, math.nan], [math.nan, math.nan]])
    own = own_rankings(scores, [60, 40], ["benefit", "cost"], SCALE)
    assert [o.ranks for o in own] == [[1, 2], [2, 1], [1, None]]
    assert own[0].totals.tolist() == pytest.approx([100.0, 0.0])
    assert [o.complete for o in own] == [True, True, False]


def test_agreement_counts_only_complete_rankings() -> None:
    totals = np.array([[80, 60, 40], [70, 65, 10], [10, 60, 80], [50, math.nan, 20]])
    agreement = ranking_agreement(totals)
    assert agreement.counted == (0, 1, 2)
    # Mid-ranks [1, 2, 3], [1, 2, 3], [3, 2, 1]: sums 5, 6, 7, S = 2, W = 24 / (9 * 24).
    assert agreement.w == pytest.approx(24 / 216)
    assert math.isnan(ranking_agreement(totals[2:]).w)
    assert ranking_agreement(totals[2:]).counted == (0,)


def test_leave_one_out_finds_the_analyst_the_top_option_rests_on() -> None:
    # One benefit criterion on 1-5. Means 11/3 against 3: the first option leads, but only
    # because of the first analyst; without them the second option leads.
    scores = tensor([[5], [1]], [[3], [4]], [[3], [4]], [[math.nan], [math.nan]])
    assert analysis.evaluate(scores, [1], ["benefit"], SCALE).top == (0,)
    result = leave_one_out(scores, [1], ["benefit"], SCALE)
    assert [(x.analyst, x.top, x.changes_top) for x in result] == [
        (0, (1,), True),
        (1, (0,), False),
        (2, (0,), False),
    ]


def test_leave_one_out_follows_the_aggregation() -> None:
    scores = tensor([[5], [1]], [[3], [4]], [[3], [4]])
    median = leave_one_out(scores, [1], ["benefit"], SCALE, method="median")
    # Medians 3 against 4: the second option leads with everyone and without the first
    # analyst; without either of the others the medians are 4 against 2.5.
    assert [x.top for x in median] == [(1,), (0,), (0,)]
    assert [x.changes_top for x in median] == [False, True, True]


def test_leave_one_out_needs_two_analysts_with_scores() -> None:
    scores = tensor([[5], [1]], [[math.nan], [math.nan]])
    assert leave_one_out(scores, [1], ["benefit"], SCALE) == []


# --- convergence -------------------------------------------------------------------------------


def test_convergence_takes_the_median_iqr_over_cells_with_two_scores() -> None:
    # One option, three criteria, four analysts. Cell 1: 1, 2, 4, 5 -> quartiles 1.75 and 4.25,
    # IQR 2.5, range 4 (contested on 1-5); cell 2: 3, 3 -> IQR 0; cell 3: one score, not judged.
    nan = math.nan
    scores = tensor([[1, 3, 2]], [[2, 3, nan]], [[4, nan, nan]], [[5, nan, nan]])
    c = convergence(scores, SCALE)
    assert c.median_iqr == pytest.approx(1.25)
    assert (c.contested, c.judged) == (1, 2)
    assert c.contested_share == pytest.approx(0.5)


def test_convergence_with_no_cell_scored_twice() -> None:
    c = convergence(tensor([[1, math.nan]], [[math.nan, 2]]), SCALE)
    assert math.isnan(c.median_iqr) and (c.contested, c.judged) == (0, 0)
    assert math.isnan(c.contested_share)


# --- wording -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("w", "printed", "bound"),
    [
        (0.5396569, "0.54", "0.3 ≤ W < 0.7"),
        (0.6996, "0.69", "0.3 ≤ W < 0.7"),
        (0.7, "0.70", "W ≥ 0.7"),
        (0.7 - 1e-12, "0.70", "W ≥ 0.7"),
        (0.2999, "0.29", "W < 0.3"),
        (0.996, "0.99", "W ≥ 0.7"),
        (1.0, "1.00", "W = 1"),
        (0.003, "< 0.01", "W < 0.3"),
        (0.0, "0.00", "W < 0.3"),
    ],
)
def test_w_is_printed_inside_the_band_its_words_name(w: float, printed: str, bound: str) -> None:
    shown, _, said = w_printed(w)
    assert (shown, said) == (printed, bound)


@given(st.floats(min_value=0.0, max_value=1.0))
def test_printed_w_never_contradicts_its_band(w: float) -> None:
    shown, _, bound = w_printed(w)
    value = 0.0 if shown == "< 0.01" else float(shown)
    if bound == "W ≥ 0.7":
        assert 0.7 <= value < 1.0
    elif bound == "0.3 ≤ W < 0.7":
        assert 0.3 <= value < 0.7
    elif bound == "W < 0.3":
        assert value < 0.3
    else:
        assert value == 1.0
    assert abs(value - w) <= 0.01 + 1e-9


def views(**changes: object) -> GroupViews:
    base: dict[str, object] = {
        "round_number": 1,
        "hidden_round": None,
        "method": "mean",
        "options": [(1, "Intelligence sharing"), (2, "Joint drills")],
        "group_ranks": [1, 2],
        "group_top": [1],
        "analyst_count": 3,
        "w": 0.5396569,
        "w_counted": 3,
    }
    return GroupViews(**(base | changes))  # type: ignore[arg-type]


def test_agreement_sentence_says_how_many_analysts_count() -> None:
    assert agreement_sentence(views()) == (
        "0.54",
        "Kendall's W = 0.54 among all 3 analysts: moderate agreement (0.3 ≤ W < 0.7).",
    )
    _, partial = agreement_sentence(views(w=0.75, w_counted=2))
    assert partial == (
        "Kendall's W = 0.75 among the 2 of 3 analysts whose own scores rank every option: "
        "strong agreement (W ≥ 0.7)."
    )
    assert agreement_sentence(views(w=None, w_counted=1))[0] is None


def test_influence_sentences_name_the_analyst_and_the_new_top() -> None:
    titles = {1: "Intelligence sharing", 2: "Joint drills"}
    keeps = [
        Influence(7, "Analyst A", None, [1], False),
        Influence(8, "Analyst B", None, [1], False),
    ]
    assert influence_sentences(views(influence=keeps), titles) == [
        "Leaving out any one analyst keeps Intelligence sharing first."
    ]
    moves = [keeps[0], Influence(8, "Analyst B", "Bea", [2], True)]
    assert influence_sentences(views(influence=moves), titles) == [
        "The first place changes when Analyst B (Bea) is left out; leaving out any other "
        "analyst keeps it.",
        "Without Analyst B (Bea), Joint drills would rank first instead of Intelligence sharing.",
    ]


def test_influence_sentences_say_when_a_tie_appears_or_breaks() -> None:
    titles = {1: "Intelligence sharing", 2: "Joint drills"}
    keeps = Influence(7, "Analyst A", None, [1], False)
    draws = Influence(8, "Analyst B", None, [1, 2], True)
    assert influence_sentences(views(influence=[keeps, draws]), titles)[1] == (
        "Without Analyst B, Joint drills would draw level with Intelligence sharing in first place."
    )
    breaks = Influence(8, "Analyst B", None, [2], True)
    level = views(group_top=[1, 2], group_ranks=[1, 1], influence=[keeps, breaks])
    assert influence_sentences(level, titles)[1] == (
        "Without Analyst B, Joint drills would rank first ahead of Intelligence sharing."
    )


def test_convergence_rows_compare_each_round_with_the_one_before() -> None:
    rows = convergence_rows(
        views(
            convergence=[
                RoundConvergence(1, 1.5, 3, 4, 4),
                RoundConvergence(2, 1.0, 1, 4, 4),
                RoundConvergence(3, 1.0, 0, 4, 4),
                RoundConvergence(4, None, 0, 0, 4),
            ]
        )
    )
    assert [(r.median_iqr, r.contested, r.change) for r in rows] == [
        ("1.50", "3 of 4 (75 %)", "–"),
        ("1.00", "1 of 4 (25 %)", "narrower by 0.50"),
        ("1.00", "0 of 4 (0 %)", "unchanged"),
        ("–", "–", "–"),
    ]


def test_group_views_survive_a_json_round_trip() -> None:
    import json

    original = views(
        influence=[Influence(8, "Analyst B", None, [2], True)],
        convergence=[RoundConvergence(1, 1.5, 3, 4, 4)],
    )
    data = json.loads(json.dumps(original.to_data(), allow_nan=False))
    assert GroupViews.from_data(data) == original
