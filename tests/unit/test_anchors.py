"""Verbal anchors (app.domain.anchors): defaults per direction and scale, the anchors in use,
and what a facilitator's submitted wording stores."""

from __future__ import annotations

import pytest

from app.domain.anchors import (
    EDITABLE_POINTS,
    anchors_for,
    anchors_text,
    clean_anchors,
    default_anchors,
    is_editable,
    labelled_points,
)
from app.domain.errors import InvalidInput

BENEFIT_5 = ["very poor", "poor", "fair", "good", "very good"]
COST_5 = ["very cheap", "cheap", "moderate", "costly", "very costly"]


@pytest.mark.parametrize(
    ("direction", "low", "high", "expected"),
    [
        ("benefit", 1, 5, BENEFIT_5),
        ("cost", 1, 5, COST_5),
        ("benefit", 0, 4, BENEFIT_5),
        ("benefit", 1, 3, ["very poor", "fair", "very good"]),
        ("cost", 1, 2, ["very cheap", "very costly"]),
        ("benefit", 3, 3, ["very good"]),
        ("cost", -2, 2, COST_5),
    ],
)
def test_default_anchors(direction: str, low: int, high: int, expected: list[str]) -> None:
    assert default_anchors(direction, low, high) == expected


@pytest.mark.parametrize("direction", ["benefit", "cost"])
@pytest.mark.parametrize(("low", "high"), [(0, 10), (1, 7), (-5, 5), (0, 100)])
def test_defaults_have_one_word_per_point_and_extreme_ends(
    direction: str, low: int, high: int
) -> None:
    words = default_anchors(direction, low, high)
    assert len(words) == high - low + 1
    ends = (BENEFIT_5 if direction == "benefit" else COST_5)[::4]
    assert [words[0], words[-1]] == ends


def test_custom_anchors_replace_defaults_point_by_point() -> None:
    custom = ["", "weak", "", "  strong ", ""]
    assert anchors_for("benefit", 1, 5, custom) == [
        "very poor",
        "weak",
        "fair",
        "strong",
        "very good",
    ]


@pytest.mark.parametrize("custom", [None, [], ["a", "b"], ["x"] * 6])
def test_anchors_of_the_wrong_length_fall_back_to_defaults(custom: list[str] | None) -> None:
    """A scale changed after anchors were worded: the defaults of the new scale apply."""
    assert anchors_for("cost", 1, 5, custom) == COST_5


def test_labelled_points_and_text() -> None:
    assert labelled_points("benefit", 0, 2) == [(0, "very poor"), (1, "fair"), (2, "very good")]
    assert anchors_text("benefit", 1, 5) == (
        "1 = very poor · 2 = poor · 3 = fair · 4 = good · 5 = very good"
    )
    assert anchors_text("cost", 0, 100) == "0 = very cheap … 100 = very costly"


@pytest.mark.parametrize(
    ("low", "high", "editable"),
    [(1, 5, True), (0, 10, True), (1, 11, True), (0, 11, False), (0, 100, False)],
)
def test_long_scales_are_not_editable(low: int, high: int, editable: bool) -> None:
    assert is_editable(low, high) is editable
    assert EDITABLE_POINTS == 11


def clean(
    submitted: list[str], direction: str = "benefit", low: int = 1, high: int = 5
) -> list[str]:
    return clean_anchors(direction, low, high, submitted, max_length=80)


def test_defaults_store_nothing() -> None:
    assert clean(BENEFIT_5) == []
    assert clean([""] * 5) == []
    assert clean(["  very poor ", *BENEFIT_5[1:]]) == []


def test_own_wording_is_stored_with_blanks_for_default_points() -> None:
    assert clean(["Nothing works", "poor", "", "good", "Fully meets the aim"]) == [
        "Nothing works",
        "",
        "",
        "",
        "Fully meets the aim",
    ]


def test_the_other_directions_defaults_count_as_default() -> None:
    """A form prefilled for a benefit criterion and saved as cost keeps no benefit words."""
    assert clean(BENEFIT_5, direction="cost") == []
    assert clean(COST_5, direction="benefit") == []
    assert anchors_for("cost", 1, 5, clean(BENEFIT_5, direction="cost")) == COST_5


def test_anchor_text_is_stripped_of_spaces_and_invisible_characters() -> None:
    assert clean(["\u200b Dire \u200b", "", "", "", ""]) == ["Dire", "", "", "", ""]


@pytest.mark.parametrize(
    ("submitted", "message"),
    [
        (["x" * 81, "", "", "", ""], "The anchor for 1 must be at most 80 characters (it has 81)."),
        (["", "", "a\x0bb", "", ""], "The anchor for 3 contains a control character"),
        (["", "", "", "line\nbreak", ""], "The anchor for 4 contains a control character"),
        (["", "", "", "", "\u202egood"], "The anchor for 5 contains a control character"),
        (["", "", "nul\x00", "", ""], "The anchor for 3 contains a control character"),
        (["a", "b"], "Give one anchor per scale point (5, from 1 to 5); 2 were sent."),
    ],
)
def test_bad_anchors_are_refused_with_a_clear_message(submitted: list[str], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        clean(submitted)
    assert set(caught.value.errors) == {"anchors"}
    assert caught.value.errors["anchors"].startswith(message)


def test_exactly_the_limit_is_accepted() -> None:
    assert clean(["x" * 80, "", "", "", ""]) == ["x" * 80, "", "", "", ""]
    assert clean(["  " + "y" * 80 + "  ", "", "", "", ""])[0] == "y" * 80


def test_long_scales_refuse_own_wording_but_accept_blanks() -> None:
    assert clean_anchors("benefit", 0, 100, [], max_length=80) == []
    assert clean_anchors("benefit", 0, 100, ["", ""], max_length=80) == []
    with pytest.raises(InvalidInput):
        clean_anchors("benefit", 0, 100, ["mine"], max_length=80)
