"""Analyst letters used when names are withheld (app.domain.labels)."""

from __future__ import annotations

import pytest

from app.domain.labels import analyst_letter


@pytest.mark.parametrize(
    ("index", "letter"),
    [
        (0, "A"),
        (1, "B"),
        (25, "Z"),
        (26, "AA"),
        (27, "AB"),
        (51, "AZ"),
        (52, "BA"),
        (701, "ZZ"),
        (702, "AAA"),
    ],
)
def test_analyst_letter(index: int, letter: str) -> None:
    assert analyst_letter(index) == letter


def test_analyst_letters_are_distinct_and_in_order() -> None:
    letters = [analyst_letter(i) for i in range(2000)]
    assert len(set(letters)) == len(letters)
    assert letters == sorted(letters, key=lambda s: (len(s), s))


def test_negative_position_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        analyst_letter(-1)
