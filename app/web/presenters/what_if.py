"""The what-if page in words: the ranking under the tried weights against the agreed one, and
the verdict sentence ("With these weights, Option B ranks first instead of Option A.").

Totals print as the matrix prints them (one decimal, ``"%.1f"``), shares as the matrix's
weights (``pct(1)``), coverage and ranges with the safe-rounding filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.services.what_if import Basis, Outcome, WhatIfBasis


def weight_text(weight: float) -> str:
    """A weight as a person types it, exact: ``60.0 -> "60"``, ``33.3333333 -> "33.3333333"``
    (never cut to six digits, so an untouched weight goes back exactly as it was)."""
    short = f"{weight:g}"
    return short if float(short) == weight else repr(float(weight))


@dataclass(frozen=True)
class Row:
    option_id: int
    title: str
    total: float | None
    rank: int | None
    agreed_total: float | None
    agreed_rank: int | None
    coverage: float
    bounds: tuple[float | None, float | None]

    @property
    def total_text(self) -> str:
        return "–" if self.total is None else f"{self.total:.1f}"

    @property
    def agreed_total_text(self) -> str:
        return "–" if self.agreed_total is None else f"{self.agreed_total:.1f}"

    @property
    def incomplete(self) -> bool:
        return self.total is not None and self.coverage < 1.0 - 1e-12

    @property
    def moved(self) -> int | None:
        """Places gained (positive) or lost (negative) against the agreed ranking."""
        if self.rank is None or self.agreed_rank is None:
            return None
        return self.agreed_rank - self.rank

    @property
    def change_text(self) -> str:
        moved = self.moved
        if moved is None:
            return "–"
        if moved == 0:
            return "no change"
        places = "place" if abs(moved) == 1 else "places"
        return f"up {moved} {places}" if moved > 0 else f"down {-moved} {places}"


def rows(basis: WhatIfBasis, tried: Outcome, agreed: Outcome) -> list[Row]:
    """The options by their rank under the tried weights (unranked last, then in order)."""
    found = [
        Row(
            option_id=o.id,
            title=o.title,
            total=tried.totals.get(o.id),
            rank=tried.ranks.get(o.id),
            agreed_total=agreed.totals.get(o.id),
            agreed_rank=agreed.ranks.get(o.id),
            coverage=tried.coverage.get(o.id, 0.0),
            bounds=tried.bounds.get(o.id, (None, None)),
        )
        for o in basis.options
    ]
    order = {o.id: n for n, o in enumerate(basis.options)}
    return sorted(found, key=lambda r: (r.rank is None, r.rank or 0, order[r.option_id]))


def names(titles: Sequence[str]) -> str:
    """``["A"] -> "A"``, ``["A", "B"] -> "A and B"``, ``["A", "B", "C"] -> "A, B and C"``."""
    if len(titles) <= 1:
        return "".join(titles)
    return ", ".join(titles[:-1]) + " and " + titles[-1]


def _first(titles: Sequence[str]) -> str:
    return f"{names(titles)} " + ("ranks first" if len(titles) == 1 else "share first place")


def verdict(basis: WhatIfBasis, tried: Outcome, agreed: Outcome) -> str:
    """One plain sentence: which option ranks first with these weights, against the agreed."""
    if basis.basis is Basis.HIDDEN:
        return "Nothing to compare until the round is revealed."
    if not basis.options or not basis.criteria:
        return "Nothing to compare yet: the decision needs options and criteria."
    title = {o.id: o.title for o in basis.options}
    now = [title[o] for o in tried.first]
    before = [title[o] for o in agreed.first]
    if not now and not before:
        return "Nothing to compare yet: no option has a score on a weighted criterion."
    if not now:
        return (
            "With these weights no option has a total: the criteria scored so far carry no weight."
        )
    if not before:
        return f"With these weights, {_first(now)}; the agreed weights rank no option."
    if now == before:
        still = "still ranks first" if len(now) == 1 else "still share first place"
        return f"{names(now)} {still}."
    return f"With these weights, {_first(now)} instead of {names(before)}."


def basis_note(basis: WhatIfBasis) -> str | None:
    """What the figures rest on, when it is not the group's values."""
    if basis.basis is Basis.OWN:
        return (
            f"Round {basis.round_number} is blind: this what-if uses only your own scores "
            "until the facilitator reveals the round."
        )
    if basis.basis is Basis.HIDDEN:
        return (
            f"Round {basis.round_number} is blind: nothing to compare until the round is "
            "revealed. You can still try weights out."
        )
    return None
