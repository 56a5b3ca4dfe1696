"""How people are labelled when their names are withheld."""

from __future__ import annotations


def analyst_letter(index: int) -> str:
    """0 → "A", 25 → "Z", 26 → "AA", 701 → "ZZ", 702 → "AAA": an analyst's letter by position.

    Bijective base-26, like spreadsheet column names, so every position gets a distinct label.
    A negative position raises ``ValueError``.
    """
    if index < 0:
        raise ValueError(f"analyst position must be non-negative, got {index}")
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out
