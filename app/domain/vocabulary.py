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


class Direction(StrEnum):
    BENEFIT = "benefit"
    COST = "cost"


class Aggregation(StrEnum):
    MEAN = "mean"
    MEDIAN = "median"
