"""Verbal anchors: what each point of a criterion's scale means in words.

A criterion may carry its own anchors (one per scale point, lowest first, set by the
facilitator); otherwise the defaults for its direction apply: for a benefit criterion
"very poor" … "very good", for a cost criterion "very cheap" … "very costly".

What is stored (``CriterionState.anchors``) is the criterion's own wording only: an empty
list when every point keeps its default, else one entry per point where an empty entry
means "the default for this point". Changing a criterion's direction therefore changes
every anchor its facilitator did not word.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from app.domain.errors import InvalidInput

# Five-point wording, lowest point first; other scales take the nearest of these words
# (the two ends always get the extreme words).
BENEFIT_WORDS = ("very poor", "poor", "fair", "good", "very good")
COST_WORDS = ("very cheap", "cheap", "moderate", "costly", "very costly")

# Scales of at most this many points get one editable anchor per point (1–5, 0–10); a longer
# scale keeps the default words, which a form of a hundred fields would not improve.
EDITABLE_POINTS = 11

# Characters an anchor may not contain (besides control characters): bidirectional
# embeddings, overrides and isolates, which would reorder the text around them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters that take no room, stripped from an anchor's edges with the spaces.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u061c"


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


def anchors_text(
    direction: str, scale_min: int, scale_max: int, custom: Sequence[str] | None = None
) -> str:
    """The whole scale in words: "1 = very poor · 2 = poor · … · 5 = very good" (for a long
    scale only its two ends: "0 = very poor … 100 = very good")."""
    points = labelled_points(direction, scale_min, scale_max, custom)
    if len(points) > EDITABLE_POINTS:
        points = [points[0], points[-1]]
        return " … ".join(f"{point} = {text}" for point, text in points)
    return " · ".join(f"{point} = {text}" for point, text in points)


def is_editable(scale_min: int, scale_max: int) -> bool:
    """Whether the scale is short enough for one anchor field per point."""
    return 0 < scale_max - scale_min + 1 <= EDITABLE_POINTS


def clean_anchors(
    direction: str,
    scale_min: int,
    scale_max: int,
    submitted: Sequence[str],
    *,
    max_length: int,
) -> list[str]:
    """What to store of the anchors a facilitator submitted, one per scale point, lowest
    first: ``[]`` when every point keeps its default wording, else one entry per point, empty
    where the point keeps its default.

    An entry left blank or equal to a default word of that point (of either direction: a
    form prefilled for one direction and saved with the other must not keep the old words)
    keeps the default. Raises :class:`InvalidInput` (field ``anchors``) for a wrong number of
    entries, an entry longer than ``max_length`` once stripped, or one with control
    characters; nothing is stored then.
    """
    points = list(range(scale_min, scale_max + 1))
    if not is_editable(scale_min, scale_max):
        if any((text or "").strip() for text in submitted):
            raise InvalidInput(
                {
                    "anchors": f"Verbal anchors can be worded for scales of at most "
                    f"{EDITABLE_POINTS} points; this scale keeps the default words."
                }
            )
        return []
    if len(submitted) != len(points):
        raise InvalidInput(
            {
                "anchors": f"Give one anchor per scale point ({len(points)}, from "
                f"{scale_min} to {scale_max}); {len(submitted)} were sent."
            }
        )
    own = default_anchors(direction, scale_min, scale_max)
    other = default_anchors("benefit" if direction == "cost" else "cost", scale_min, scale_max)
    stored: list[str] = []
    for point, text, mine, theirs in zip(points, submitted, own, other, strict=True):
        if any(unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS for ch in text or ""):
            raise InvalidInput(
                {
                    "anchors": f"The anchor for {point} contains a control character "
                    "(such as a line break or tab); use plain text on one line."
                }
            )
        clean = _strip(text or "")
        if len(clean) > max_length:
            raise InvalidInput(
                {
                    "anchors": f"The anchor for {point} must be at most {max_length} characters "
                    f"(it has {len(clean)})."
                }
            )
        stored.append("" if clean in ("", mine, theirs) else clean)
    return stored if any(stored) else []


def _strip(text: str) -> str:
    stripped = text.strip().strip(_INVISIBLE)
    while stripped != (again := stripped.strip().strip(_INVISIBLE)):
        stripped = again
    return stripped
