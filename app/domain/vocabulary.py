"""The product's words as values: roles, statuses, scoring modes, directions."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OBSERVER = "observer"
    ANALYST = "analyst"
    FACILITATOR = "facilitator"

    @property
    def level(self) -> int:
        return {"observer": 0, "analyst": 1, "facilitator": 2}[self.value]


class DecisionStatus(StrEnum):
    DRAFT = "draft"
    SCORING = "scoring"
    CLOSED = "closed"


class ScoringMode(StrEnum):
    OPEN = "open"
    BLIND = "blind"


class OptionStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class CriterionStatus(StrEnum):
    """A criterion in use, or retired: out of totals and memo, kept in history."""

    ACTIVE = "active"
    RETIRED = "retired"


class Paper(StrEnum):
    """The memo's paper: US Letter (the default) or A4."""

    LETTER = "letter"
    A4 = "a4"


class NotificationKind(StrEnum):
    ROUND_OPENED = "round_opened"
    ROUND_REVEALED = "round_revealed"
    MEMO_ISSUED = "memo_issued"
    COMMENT_REPLY = "comment_reply"


class Direction(StrEnum):
    BENEFIT = "benefit"
    COST = "cost"


class Aggregation(StrEnum):
    MEAN = "mean"
    MEDIAN = "median"


class MissingPolicy(StrEnum):
    """How a missing or N/A group value counts in an option's total.

    * ``SKIP``: left out, the option's other weights rescaled to fill the gap (the gap counts
      as the option's own weighted average elsewhere);
    * ``MIDPOINT``: counted at the scale's midpoint (utility 0.5) with its full weight;
    * ``WORST``: counted at the scale's worst end (utility 0) with its full weight.
    """

    SKIP = "skip"
    MIDPOINT = "midpoint"
    WORST = "worst"
