"""The blind-round rule, once: who may see the group's scores of a round.

In open scoring every member sees every analyst's scores and the group values. In blind
scoring nobody — facilitator included — sees another analyst's scores, the group values,
totals or ranks of a round until the facilitator reveals it; each analyst always sees their
own. Pure: the functions read plain values or any object with the named attributes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from app.domain.vocabulary import ScoringMode


class HasScoringMode(Protocol):
    """A decision, as far as the rule needs it."""

    @property
    def scoring_mode(self) -> str: ...


class HasRevealTime(Protocol):
    """A round, as far as the rule needs it (None: not revealed)."""

    @property
    def revealed_at(self) -> datetime | None: ...


class NumberedRound(HasRevealTime, Protocol):
    @property
    def number(self) -> int: ...


def group_values_visible(scoring_mode: str, revealed: bool) -> bool:
    """Whether everyone sees the round's scores and group values: open scoring, or a blind
    round that has been revealed."""
    return scoring_mode == ScoringMode.OPEN.value or revealed


def group_visible(decision: HasScoringMode, round_: HasRevealTime) -> bool:
    """:func:`group_values_visible` for a decision and one of its rounds."""
    return group_values_visible(decision.scoring_mode, round_.revealed_at is not None)


def hidden_rounds(scoring_mode: str, rounds: Iterable[NumberedRound]) -> frozenset[int]:
    """Numbers of the rounds whose scores other analysts may not see yet (blind and
    unrevealed)."""
    return frozenset(
        r.number
        for r in rounds
        if not group_values_visible(scoring_mode, r.revealed_at is not None)
    )
