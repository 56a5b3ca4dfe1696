"""Rounding a figure the safe way before it is printed.

A threshold the top option stays first *up to* must be printed no higher than it is, and one
it stays first *down to* no lower; a standard error must not be printed smaller than it is.
"""

from __future__ import annotations

import math

# Figures are exact up to floating-point rounding: a value this close (in units of the last
# printed digit) to a round number is that number.
NOISE = 1e-6
MAX_DECIMALS = 4


def round_safely(value: float, decimals: int, up: bool) -> float:
    """``value`` rounded up (``up``) or down at ``decimals`` places, rounding noise aside."""
    scale = 10.0**decimals
    q = value * scale
    near = round(q)
    if abs(q - near) > NOISE:
        near = math.ceil(q) if up else math.floor(q)
    return float(near) / scale


def separated(threshold: float, current: float, rising: bool) -> tuple[float, float, int] | None:
    """A threshold and the current value rounded for print, and the decimals used.

    A threshold the value rises above is rounded down and one it falls below is rounded up;
    the current value is rounded to nearest. One decimal is used, or more (up to
    :data:`MAX_DECIMALS`) where needed for the printed threshold to lie strictly beyond the
    printed current value; None when even that many cannot tell them apart.
    """
    for decimals in range(1, MAX_DECIMALS + 1):
        shown = round_safely(threshold, decimals, up=not rising)
        now = round(current, decimals)
        if (shown > now) if rising else (shown < now):
            return shown, now, decimals
    return None
