"""Verbal anchors: what each point of a criterion's scale means in words.

A criterion may carry its own anchors (one per scale point, lowest first, set by the
facilitator); otherwise the defaults for its direction apply: for a benefit criterion
"very poor" … "very good", for a cost criterion "very cheap" … "very costly".
"""

from __future__ import annotations

from collections.abc import Sequence

# Five-point wording, lowest point first; other scales take the nearest of these words
# (the two ends always get the extreme words).
BENEFIT_WORDS = ("very poor", "poor", "fair", "good", "very good")
COST_WORDS = ("very cheap", "cheap", "moderate", "costly", "very costly")


def default_anchors(direction: str, scale_min: int, scale_max: int) -> list[str]:
    """One default anchor per integer point from ``scale_min`` to ``scale_max``."""
    words = COST_WORDS if direction == "cost" else BENEFIT_WORDS
    points = scale_max - scale_min
    if points <= 0:
        return [words[-1]]
    last = len(words) - 1
    return [words[round(step * last / points)] for step in range(points + 1)]


def anchors_for(
    direction: str, scale_min: int, scale_max: int, custom: Sequence[str] | None = None
) -> list[str]:
    """The anchors in use: the criterion's own when it has one per scale point, else the
    defaults (blank custom entries fall back to the default word for that point)."""
    defaults = default_anchors(direction, scale_min, scale_max)
    if not custom or len(custom) != len(defaults):
        return defaults
    return [(text or "").strip() or default for text, default in zip(custom, defaults, strict=True)]


def labelled_points(
    direction: str, scale_min: int, scale_max: int, custom: Sequence[str] | None = None
) -> list[tuple[int, str]]:
    """(point, anchor) for every integer point of the scale, lowest first."""
    anchors = anchors_for(direction, scale_min, scale_max, custom)
    return list(zip(range(scale_min, scale_max + 1), anchors, strict=True))
