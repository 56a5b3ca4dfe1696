"""The blind-round rule as pure functions (no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from app.db.models import Decision, Round
from app.domain.visibility import group_values_visible, group_visible, hidden_rounds

REVEALED = datetime(2021, 8, 5, 14, 30, tzinfo=UTC)


@dataclass
class PlainRound:
    number: int
    revealed_at: datetime | None = None


@dataclass
class PlainDecision:
    scoring_mode: str


@pytest.mark.parametrize(
    ("scoring_mode", "revealed", "visible"),
    [
        ("open", False, True),
        ("open", True, True),
        ("blind", False, False),
        ("blind", True, True),
    ],
)
def test_group_values_are_visible_in_open_scoring_or_once_revealed(
    scoring_mode: str, revealed: bool, visible: bool
) -> None:
    assert group_values_visible(scoring_mode, revealed) is visible
    revealed_at = REVEALED if revealed else None
    assert group_visible(PlainDecision(scoring_mode), PlainRound(1, revealed_at)) is visible


def test_group_visible_reads_the_tables_too() -> None:
    blind = Decision(title="D", scoring_mode="blind")
    assert not group_visible(blind, Round(decision_id=1, number=1))
    assert group_visible(blind, Round(decision_id=1, number=1, revealed_at=REVEALED))
    assert group_visible(Decision(title="D", scoring_mode="open"), Round(decision_id=1, number=1))


def test_hidden_rounds_are_the_blind_unrevealed_ones() -> None:
    rounds = [PlainRound(1, REVEALED), PlainRound(2), PlainRound(3, REVEALED), PlainRound(4)]
    assert hidden_rounds("blind", rounds) == {2, 4}
    assert hidden_rounds("open", rounds) == frozenset()
    assert hidden_rounds("blind", []) == frozenset()
