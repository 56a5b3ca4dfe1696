"""The discussion's rules, once: who may write, and which comments a member may see.

Comments follow the blind-round rule of scores (:mod:`app.domain.visibility`): in a blind
round that is not revealed yet, nobody — facilitator included — sees a comment another member
wrote in that round, on a cell or on an option, nor anything that shows it exists (counts,
history entries, notifications); each member sees their own. Once the round is revealed, or
in open scoring, everyone sees everything. Comments of earlier rounds stay visible: a round
is revealed before the next one opens.

A reply notifies the author of the comment it answers. A reply written in a hidden round
would tell that author that someone wrote in the round, so its notification waits for the
reveal (:func:`reply_notice_now`).

Pure: plain values in, answers out.
"""

from __future__ import annotations

from collections.abc import Collection

from app.domain.vocabulary import Role

# The roles that write comments; observers read them.
WRITERS = frozenset({Role.ANALYST, Role.FACILITATOR})

COMMENT_REFUSAL = "Observers read the discussion; analysts and the facilitator write in it."


def may_comment(role: Role) -> bool:
    """Whether a member with ``role`` may write comments and replies."""
    return role in WRITERS


def comment_visible(
    *, author_id: int, round_number: int, viewer_id: int, hidden: Collection[int]
) -> bool:
    """Whether ``viewer_id`` may see a comment by ``author_id`` written in ``round_number``,
    given the numbers of the rounds that are blind and unrevealed (``hidden``, see
    :func:`app.domain.visibility.hidden_rounds`)."""
    return author_id == viewer_id or round_number not in hidden


def reply_notice_now(*, round_number: int, hidden: Collection[int]) -> bool:
    """Whether a reply written in ``round_number`` may notify the author it answers now; if
    not, the notification is created when the round is revealed."""
    return round_number not in hidden
