"""The missing-score policy: how a missing or N/A group value counts, what a total rests on, the
range an incomplete option's total could take, and the options that rank above another only
through missing scores; with the safe rounding of those figures for print.

All weights here are normalised (they sum to 1); utilities are on ``[0, 1]`` with ``NaN`` for
a missing cell. For option ``a`` write ``P_a`` for its present criteria and ``M_a`` for the
others::

    coverage_a = sum_{j in P_a} w_j                       (weight coverage, in [0, 1])
    scored_a   = sum_{j in P_a} w_j u_aj

    skip:      total_a = 100 * scored_a / coverage_a
    midpoint:  total_a = 100 * (scored_a + 0.5 * (1 - coverage_a))
    worst:     total_a = 100 * scored_a

Under every policy an option with ``coverage_a == 0`` (no score on any criterion that carries
weight) has no total and is unranked. The *range* of an option's total is what it could be
once its missing cells are scored, each anywhere on the scale, at full weight::

    low_a  = 100 * scored_a                     (every missing cell at the worst end)
    high_a = 100 * (scored_a + 1 - coverage_a)  (every missing cell at the best end)

so ``low_a <= total_a <= high_a`` under every policy (skip fills a gap with the option's own
average, which lies on the scale), and ``low_a == high_a == total_a`` for a complete option.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from app.domain.analysis.rounding import round_safely
from app.domain.labels import (
    missing_policy_explanation,
    missing_policy_label,
    missing_policy_sentence,
    outranks_sentence,
)
from app.domain.vocabulary import MissingPolicy

if TYPE_CHECKING:
    from app.domain.analysis.core import Evaluation

FloatArray = np.ndarray

FILL_UTILITY: dict[MissingPolicy, float | None] = {
    MissingPolicy.SKIP: None,
    MissingPolicy.MIDPOINT: 0.5,
    MissingPolicy.WORST: 0.0,
}
"""The utility a missing cell counts as under each policy (None: left out, weights rescaled)."""

COMPLETE_TOL = 1e-12
"""Weight left unscored below this (in normalised weight) counts as none: the option is complete."""


def missing_policy(value: MissingPolicy | str) -> MissingPolicy:
    """``value`` as a :class:`MissingPolicy`; an unknown name raises ``ValueError``."""
    return MissingPolicy(value)


def fill_utility(policy: MissingPolicy | str) -> float | None:
    """The utility a missing cell counts as (None under skip)."""
    return FILL_UTILITY[missing_policy(policy)]


def policy_totals(
    scored: FloatArray, coverage: FloatArray, unscored: FloatArray, fill: float | None
) -> FloatArray:
    """Totals on 0-100 from ``scored`` (sum of w u over present cells), ``coverage`` (their
    weight) and ``unscored`` (the weight of the missing cells); NaN where ``coverage <= 0``."""
    ok = coverage > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        if fill is None:
            raw = 100.0 * scored / np.where(ok, coverage, 1.0)
        else:
            raw = 100.0 * (scored + fill * unscored) / np.where(ok, coverage + unscored, 1.0)
    out: FloatArray = np.where(ok, np.clip(raw, 0.0, 100.0), np.nan)
    return out


def total_range(
    scored: FloatArray, coverage: FloatArray, unscored: FloatArray, totals: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``(low, high)`` per option: the total with every missing cell at the worst and at the
    best end of the scale, full weights. Complete options get their total at both ends; options
    without a total get NaN."""
    whole = coverage + unscored
    ok = coverage > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        low = 100.0 * scored / np.where(ok, whole, 1.0)
        high = 100.0 * (scored + unscored) / np.where(ok, whole, 1.0)
    complete = unscored <= COMPLETE_TOL
    low = np.where(ok, np.where(complete, totals, np.clip(low, 0.0, 100.0)), np.nan)
    high = np.where(ok, np.where(complete, totals, np.clip(high, 0.0, 100.0)), np.nan)
    # Rounding noise must never put the total outside its own range.
    return np.minimum(low, totals), np.maximum(high, totals)


def policy_utilities(
    utilities: FloatArray, weights: FloatArray, policy: MissingPolicy | str
) -> FloatArray:
    """The utilities the totals count under ``policy``: missing cells filled with the policy's
    utility in the rows of options that have a total (coverage > 0); unchanged under skip.
    Plain weighted sums of the result (renormalised over present cells, which then are all of
    them) are the policy's totals, so weight sensitivity can take it as it is."""
    fill = fill_utility(policy)
    u = np.asarray(utilities, dtype=float)
    if fill is None:
        return u.copy()
    present = ~np.isnan(u)
    ranked = (present.astype(float) @ np.asarray(weights, dtype=float)) > 0
    out: FloatArray = np.where(ranked[..., None] & ~present, fill, u)
    return out


def outranks_without_beating(
    utilities: FloatArray,
    weights: FloatArray,
    ranks: list[int | None],
    tol: float,
) -> list[tuple[int, int]]:
    """Pairs ``(a, b)`` where ``a`` ranks strictly above ``b``, ``a`` is incomplete (some weight
    unscored), both have scores on at least one common criterion that carries weight, and on
    those common criteria ``a`` does not beat ``b``::

        100 * sum_{j in P_a & P_b} w_j u_aj  <=  100 * sum_{j in P_a & P_b} w_j u_bj + tol

    So ``a``'s place above ``b`` comes from criteria on which one of them has no score. Ordered
    by ``a``'s rank, then ``b``'s, then index.
    """
    u = np.asarray(utilities, dtype=float)
    w = np.asarray(weights, dtype=float)
    present = ~np.isnan(u)
    scored = (present & (w > 0)).astype(float)  # (options, criteria)
    unscored = (~present).astype(float) @ w
    # mine[a, b] = sum over the criteria both a and b were scored on of w_j u_aj; b's own sum
    # over the same criteria is mine[b, a].
    mine = (np.where(present, u, 0.0) * w) @ scored.T
    shared = (scored @ scored.T) > 0
    known = np.array([r is not None for r in ranks], dtype=bool)
    order = np.array([r if r is not None else 0 for r in ranks])
    above = known[:, None] & known[None, :] & (order[:, None] < order[None, :])
    found = (
        above & shared & (unscored > COMPLETE_TOL)[:, None] & (100.0 * mine <= 100.0 * mine.T + tol)
    )
    pairs = [(int(a), int(b)) for a, b in zip(*np.nonzero(found), strict=True)]
    pairs.sort(key=lambda p: (order[p[0]], order[p[1]], p[0], p[1]))
    return pairs


# --------------------------------------------------------------------------------------------
# Printing the figures the safe way
# --------------------------------------------------------------------------------------------


def _fixed(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def coverage_text(coverage: float) -> str:
    """The share of the weight a total rests on, as a percentage rounded **down** (a total
    never claims to rest on more than it does): ``0.6 -> "60 %"``, ``2/3 -> "66.6 %"``.

    Only full coverage prints as ``"100 %"``; a coverage above 0 that would print as 0 reads
    ``"under 0.1 %"``; none reads ``"0 %"``.
    """
    if math.isnan(coverage) or coverage <= 0:
        return "0 %"
    if coverage >= 1.0 - COMPLETE_TOL:
        return "100 %"
    shown = min(round_safely(coverage * 100.0, 1, up=False), 99.9)
    if shown <= 0:
        return "under 0.1 %"
    return f"{_fixed(shown, 1)} %"


def range_texts(low: float, high: float) -> tuple[str, str]:
    """A total's range for print with one decimal, the low end rounded down and the high end
    up, so the printed range always holds every total the option could take:
    ``(66.666, 100) -> ("66.6", "100.0")``."""
    return (
        f"{round_safely(low, 1, up=False):.1f}",
        f"{round_safely(high, 1, up=True):.1f}",
    )


def range_text(low: float, high: float) -> str:
    """``"66.6–100.0"`` (see :func:`range_texts`)."""
    lo, hi = range_texts(low, high)
    return f"{lo}–{hi}"


# --------------------------------------------------------------------------------------------
# The whole account, as plain data with its words
# --------------------------------------------------------------------------------------------


def _number(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else float(value)


def missing_report(
    ev: Evaluation,
    option_ids: Sequence[int],
    titles: Sequence[str],
    criteria: Sequence[str],
) -> dict[str, Any]:
    """What the overview, the memo and the JSON say about missing scores, as JSON-ready data
    (numbers and the sentences that print them the safe way), options in ``ev``'s order:

    * ``policy``, ``label``, ``explanation``, ``sentence``: the policy in words;
    * ``options``: per option ``option_id``, ``title``, ``total``, ``rank``, ``coverage``
      (0-1), ``coverage_text`` ("66.6 %", rounded down), ``complete``, ``low``/``high`` and
      ``range_text`` ("66.6–100.0", low end down, high end up); None where unranked;
    * ``incomplete``: the ids of ranked options whose total could still move;
    * ``outranks``: per pair ``above_id``, ``below_id``, ``common`` (criteria both were scored
      on) and ``sentence``.
    """
    policy = ev.missing
    options = []
    for i, (oid, title) in enumerate(zip(option_ids, titles, strict=True)):
        ranked = ev.ranks[i] is not None
        low, high = float(ev.total_low[i]), float(ev.total_high[i])
        complete = bool(ranked and not high > low)
        options.append(
            {
                "option_id": oid,
                "title": title,
                "total": _number(float(ev.totals[i])),
                "rank": ev.ranks[i],
                "coverage": _number(float(ev.weight_coverage[i])),
                "coverage_text": coverage_text(float(ev.weight_coverage[i])),
                "complete": complete,
                "low": _number(low) if ranked else None,
                "high": _number(high) if ranked else None,
                "range_text": range_text(low, high) if ranked and not complete else None,
            }
        )
    present = ~np.isnan(ev.utilities)
    outranks = []
    for a, b in ev.outranks_without_beating:
        common = [
            name
            for j, name in enumerate(criteria)
            if present[a, j] and present[b, j] and ev.weights[j] > 0
        ]
        outranks.append(
            {
                "above_id": option_ids[a],
                "below_id": option_ids[b],
                "common": common,
                "sentence": outranks_sentence(titles[a], titles[b], common),
            }
        )
    return {
        "policy": policy.value,
        "label": missing_policy_label(policy),
        "explanation": missing_policy_explanation(policy),
        "sentence": missing_policy_sentence(policy),
        "options": options,
        "incomplete": [option_ids[i] for i in ev.incomplete],
        "outranks": outranks,
    }
