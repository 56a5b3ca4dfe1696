"""Every number the robustness words print is true: thresholds rounded the safe way and
checked against the exact ones on random matrices, sampled shares with their standard
errors, and the weighted sum and TOPSIS compared like with like."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from app.domain import analysis
from app.services.robustness import OptionRobustness, Robustness, Settings
from app.web.presenters import robustness as presenter

NAN = math.nan
TITLES = [f"Option {i}" for i in range(8)]
NUMBER = r"([0-9]+(?:\.[0-9]+)?)"


def _totals_at(u: np.ndarray, w: np.ndarray, j: int, t: float) -> np.ndarray:
    return analysis.totals(u, analysis.weights_at(w, j, t))


@pytest.mark.parametrize("seed", range(40))
def test_every_printed_threshold_is_on_the_safe_side_of_the_exact_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_o, n_c = int(rng.integers(2, 7)), int(rng.integers(2, 6))
    u = rng.random((n_o, n_c))
    if seed % 2:
        u = np.round(u * 4) / 4  # coarse scores: ties and round thresholds
    if seed % 5 == 0:
        u[rng.random(u.shape) < 0.15] = NAN
    w = rng.integers(0, 10, n_c).astype(float) if seed % 3 else rng.random(n_c)
    w = analysis.normalise_weights(w)
    for s in analysis.sensitivity(u, w):
        text = presenter.sensitivity_sentence(s, TITLES, "C")
        if s.top_option is None:
            continue
        top = s.top_option
        rises = re.search(rf"rises (?:from {NUMBER} % to )?above {NUMBER} %", text)
        falls = re.search(rf"falls (?:from {NUMBER} % to )?below {NUMBER} %", text)
        reachable_up = s.above_option is not None and s.upper < 1.0
        reachable_down = s.below_option is not None and s.lower > 0.0
        assert ("rises" in text) == reachable_up, text
        assert ("falls" in text) == reachable_down, text
        if not reachable_up and not reachable_down:
            assert "whatever the weight" in text
        if rises:
            shown = float(rises.group(2)) / 100
            assert shown <= s.upper + 1e-9, (text, s.upper)
            assert 0 < shown < 1
            assert shown > s.weight - 5e-7  # beyond the current weight as printed
            if rises.group(1):
                decimals = len(rises.group(1).partition(".")[2])
                assert float(rises.group(1)) < float(rises.group(2))
                assert abs(float(rises.group(1)) - s.weight * 100) <= 0.5 * 10**-decimals + 1e-9
            # Up to the printed threshold the top option is still first ...
            t = _totals_at(u, w, s.criterion, min(shown, s.upper))
            assert t[top] >= np.nanmax(t) - 1e-9
            # ... and just past the exact one the named option has overtaken it.
            t = _totals_at(u, w, s.criterion, min(1.0, s.upper + 1e-6))
            assert t[s.above_option] > t[top] - 1e-9
        if falls:
            shown = float(falls.group(2)) / 100
            assert shown >= s.lower - 1e-9, (text, s.lower)
            assert 0 < shown < 1
            if falls.group(1):
                assert float(falls.group(1)) > float(falls.group(2))
            t = _totals_at(u, w, s.criterion, max(shown, s.lower))
            assert t[top] >= np.nanmax(t) - 1e-9
            t = _totals_at(u, w, s.criterion, max(0.0, s.lower - 1e-6))
            assert t[s.below_option] > t[top] - 1e-9


def test_the_demo_threshold_reads_below_the_exact_one() -> None:
    s = analysis.CriterionSensitivity(0, 0.1, 0, (0,), False, 0.0, 0.68966, None, 1, None)
    text = presenter.sensitivity_sentence(s, TITLES, "Cost")
    assert "rises from 10 % to above 68.9 %" in text


def test_a_round_threshold_is_not_pushed_down_by_rounding_noise() -> None:
    s = analysis.CriterionSensitivity(0, 0.4, 0, (0,), False, 0.0, 0.5 - 1e-15, None, 1, 0.1)
    assert "rises from 40 % to above 50 %" in presenter.sensitivity_sentence(s, TITLES, "C")


@pytest.mark.parametrize(
    ("p", "se", "text"),
    [
        (0.6234, 0.0048, "62.3\u00a0% ± 0.5"),
        (0.6234, 0.0041, "62.3\u00a0% ± 0.5"),  # the error is rounded up, never down
        (0.62, 0.0095, "62\u00a0% ± 1"),
        (0.62, 0.0131, "62\u00a0% ± 2"),
        (1.0, 0.0, "100.0\u00a0%"),
        (0.5, 0.00001, "50.0\u00a0% ± 0.1"),
    ],
)
def test_estimates_carry_their_standard_error(p: float, se: float, text: str) -> None:
    assert presenter.estimate(p, se) == text


def _option(first_samples: int, confidence: float | None) -> OptionRobustness:
    return OptionRobustness(
        option_id=1,
        title="A",
        rank=1,
        total=50.0,
        first=0.5,
        acceptability=[0.5, 0.5],
        acceptability_se=[0.005, 0.005],
        confidence=confidence,
        confidence_se=None if confidence is None else 0.004,
        first_samples=first_samples,
        central_weights=None,
        topsis=None,
    )


def test_a_confidence_factor_on_too_few_samples_is_withheld() -> None:
    assert presenter.confidence_text(_option(0, None)) == "never first"
    assert presenter.confidence_text(_option(99, 0.9)) == "too few samples"
    assert presenter.confidence_text(_option(100, 0.9)) == "90.0\u00a0% ± 0.4"


# ----------------------------------------------------------------------------- agreement


def _figures(totals: np.ndarray, closeness: np.ndarray, titles: list[str]) -> Robustness:
    c = analysis.compare_methods(totals, closeness)
    return Robustness(
        decision_id=1,
        round_number=1,
        method="mean",
        settings=Settings(),
        ready=True,
        note=None,
        criteria=[],
        options=[],
        ranks=len(titles),
        titles=titles,
        sensitivity=[],
        weighted_sum_top=[titles[i] for i in c.weighted_sum_top],
        topsis_top=[titles[i] for i in c.topsis_top],
        topsis_agrees=c.agree,
        topsis_excluded=[titles[i] for i in c.excluded],
        weighted_sum_top_compared=[titles[i] for i in c.weighted_sum_top_compared],
        topsis_leader_excluded=[titles[i] for i in c.leaders_excluded],
    )


def test_topsis_agreement_compares_like_with_like() -> None:
    # Scale 1-5, equal weights: X = [5, 5, N/A], Y = [4, 3, 3], Z = [2, 2, 5].
    values = np.array([[5, 5, NAN], [4, 3, 3], [2, 2, 5]], dtype=float)
    scale, directions = analysis.Scale(1, 5), ["benefit"] * 3
    ev = analysis.evaluate(values[None], [1, 1, 1], directions, scale)
    assert ev.totals == pytest.approx([100, 175 / 3, 50])
    closeness = analysis.topsis(values, [1, 1, 1], directions)
    c = analysis.compare_methods(ev.totals, closeness)
    assert c.weighted_sum_top == (0,) and c.leaders_excluded == (0,)
    assert c.weighted_sum_top_compared == c.topsis_top == (1,) and c.agree is True
    text = presenter.agreement_sentence(_figures(ev.totals, closeness, ["X", "Y", "Z"]))
    assert "cannot rank X, first by the weighted sum: it has unscored cells" in text
    assert "Among the options TOPSIS can rank, it puts Y first, as the weighted sum does." in text
    assert "also puts Y first" not in text and ".TOPSIS" not in text


@pytest.mark.parametrize(
    ("totals", "closeness", "expected"),
    [
        ([90, 80, 70], [0.9, 0.5, 0.1], "Not here: TOPSIS, a second way"),
        ([90, 80, 70], [0.2, 0.9, 0.1], "Yes: TOPSIS,"),
        ([90, 80, 70], [0.2, NAN, 0.1], "also puts A first, as the weighted sum does. TOPSIS "),
        ([90, 80, 70], [NAN, 0.2, 0.5], "while the weighted sum puts B first."),
        ([90, 80, 70], [NAN, NAN, NAN], "none is complete yet"),
    ],
)
def test_agreement_sentences(totals: list[float], closeness: list[float], expected: str) -> None:
    r = _figures(np.array(totals, float), np.array(closeness, float), ["A", "B", "C"])
    text = presenter.agreement_sentence(r)
    assert expected in text
    assert not re.search(r"\.[A-Z]", text)  # a space after every full stop
    memo = presenter.memo_section(r)
    assert memo is not None
    assert memo["methods"]["sentence"] == presenter.agreement_sentence(r, answer=False)
    assert not memo["methods"]["sentence"].startswith(("Yes", "Not here"))
