"""The discussion's rules: who writes, which comments a member sees, when a reply may tell."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from app.domain import discussion, visibility
from app.domain.vocabulary import Role

AUTHOR, OTHER = 1, 2
REVEALED = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class R:
    number: int
    revealed_at: datetime | None


@pytest.mark.parametrize(
    ("role", "writes"),
    [(Role.OBSERVER, False), (Role.ANALYST, True), (Role.FACILITATOR, True)],
)
def test_who_writes(role: Role, writes: bool) -> None:
    assert discussion.may_comment(role) is writes


@pytest.mark.parametrize(
    ("mode", "rounds", "comment_round", "viewer", "visible"),
    [
        # Open scoring: everyone sees everything, revealed or not.
        ("open", [R(1, None)], 1, OTHER, True),
        ("open", [R(1, None)], 1, AUTHOR, True),
        # Blind and unrevealed: only the author, whoever else asks.
        ("blind", [R(1, None)], 1, OTHER, False),
        ("blind", [R(1, None)], 1, AUTHOR, True),
        # Blind and revealed: everyone.
        ("blind", [R(1, REVEALED)], 1, OTHER, True),
        # An earlier, revealed round stays visible while the next one is hidden.
        ("blind", [R(1, REVEALED), R(2, None)], 1, OTHER, True),
        ("blind", [R(1, REVEALED), R(2, None)], 2, OTHER, False),
        ("blind", [R(1, REVEALED), R(2, None)], 2, AUTHOR, True),
    ],
)
def test_comment_visibility_follows_the_blind_rule(
    mode: str, rounds: list[R], comment_round: int, viewer: int, visible: bool
) -> None:
    hidden = visibility.hidden_rounds(mode, rounds)
    assert (
        discussion.comment_visible(
            author_id=AUTHOR, round_number=comment_round, viewer_id=viewer, hidden=hidden
        )
        is visible
    )


@pytest.mark.parametrize(
    ("hidden", "round_number", "now"),
    [(frozenset(), 1, True), (frozenset({2}), 2, False), (frozenset({2}), 1, True)],
)
def test_reply_notice_waits_for_the_reveal(
    hidden: frozenset[int], round_number: int, now: bool
) -> None:
    assert discussion.reply_notice_now(round_number=round_number, hidden=hidden) is now
