"""The group's own views in words and tables, for the decision overview and the memo (both
draw them with the one macro in templates/decisions/_group_views.html). The figures come from
:func:`app.services.group_views.group_views`.

Every printed number stays true with its sentence: Kendall's W is printed to two decimals
rounded into the band its words name (0.699 is printed 0.69 beside "W < 0.7", never 0.70),
and a W below 1 is never printed as 1.00.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.services.group_views import GroupViews, Influence
from app.web.formatting import prob

MISSING = "–"
NOISE = 1e-6  # in hundredths of W: closer than this to a round number is that number

# (lower bound in hundredths of W, words, the bound as printed), strongest first.
BANDS = (
    (70, "strong agreement", "W ≥ 0.7"),
    (30, "moderate agreement", "0.3 ≤ W < 0.7"),
    (0, "weak agreement", "W < 0.3"),
)


@dataclass(frozen=True)
class RankRow:
    label: str
    you: bool
    ranks: list[str]
    counted: bool


@dataclass(frozen=True)
class ConvergenceRow:
    round_number: int
    median_iqr: str
    contested: str
    change: str


@dataclass(frozen=True)
class GroupPanel:
    """What the template draws. ``notice`` alone is shown when there is nothing else."""

    round_number: int | None
    notice: str | None
    later_round_note: str | None
    method: str
    columns: list[str]
    group_row: RankRow | None
    rows: list[RankRow]
    incomplete_note: str | None
    w_text: str | None
    agreement: str | None
    influence: list[str]
    convergence: list[ConvergenceRow]


def w_printed(w: float) -> tuple[str, str, str]:
    """``(W to two decimals, words, bound)`` with the printed W inside the bound, e.g.
    ``(0.54, "moderate agreement", "0.3 ≤ W < 0.7")``."""
    q = w * 100.0
    if abs(q - round(q)) <= NOISE:
        q = float(round(q))
    if q >= 100:
        return "1.00", "identical rankings", "W = 1"
    for index, (low, words, bound) in enumerate(BANDS):
        if q >= low:
            high = 100 if index == 0 else BANDS[index - 1][0]
            shown = min(math.floor(q + 0.5), high - 1)
            if shown == 0 and q > 0:
                return "< 0.01", words, bound
            return f"{shown / 100:.2f}", words, bound
    raise ValueError(f"W must lie in [0, 1], got {w}")


def join_names(names: list[str], word: str = "and") -> str:
    if len(names) <= 2:
        return f" {word} ".join(names)
    return ", ".join(names[:-1]) + f" {word} " + names[-1]


def _who(label: str, name: str | None) -> str:
    return f"{label} ({name})" if name else label


def _titles(ids: list[int], titles: Mapping[int, str]) -> str:
    return join_names([titles[i] for i in ids])


def agreement_sentence(views: GroupViews) -> tuple[str | None, str]:
    """``(printed W or None, the sentence)``."""
    options, counted, total = len(views.options), views.w_counted, views.analyst_count
    if options < 2:
        return None, "Agreement between rankings needs at least two options."
    if views.w is None:
        did = "none does" if counted == 0 else f"only {counted} does"
        return None, (
            f"Kendall's W needs at least two analysts whose own scores rank every option; {did}."
        )
    shown, words, bound = w_printed(views.w)
    among = f"all {total} analysts" if counted == total else f"the {counted} of {total} analysts"
    ranked = "" if counted == total else " whose own scores rank every option"
    return shown, f"Kendall's W = {shown} among {among}{ranked}: {words} ({bound})."


def influence_sentences(views: GroupViews, titles: Mapping[int, str]) -> list[str]:
    if not views.group_top:
        return []
    if not views.influence:
        return ["Leaving one analyst out needs scores from at least two analysts."]
    top = _titles(views.group_top, titles)
    level = " level" if len(views.group_top) > 1 else ""
    changed: list[Influence] = [x for x in views.influence if x.changes_top]
    if not changed:
        return [f"Leaving out any one analyst keeps {top}{level} first."]
    who = [_who(x.label, x.name) for x in changed]
    out = [
        f"The first place changes when {join_names(who, 'or')} is left out; "
        "leaving out any other analyst keeps it."
        if len(changed) < len(views.influence)
        else f"The first place changes when {join_names(who, 'or')} is left out."
    ]
    for x in changed:
        if not x.top_without:
            out.append(f"Without {_who(x.label, x.name)}, no option would have a total.")
            continue
        who_one, old, new = _who(x.label, x.name), set(views.group_top), set(x.top_without)
        if old < new:
            joining = [i for i in x.top_without if i not in old]
            out.append(
                f"Without {who_one}, {_titles(joining, titles)} would draw level with {top} "
                "in first place."
            )
        elif new < old:
            behind = [i for i in views.group_top if i not in new]
            out.append(
                f"Without {who_one}, {_titles(x.top_without, titles)} would rank first ahead "
                f"of {_titles(behind, titles)}."
            )
        else:
            new_level = " level" if len(x.top_without) > 1 else ""
            out.append(
                f"Without {who_one}, {_titles(x.top_without, titles)} would rank{new_level} "
                f"first instead of {top}."
            )
    return out


def _change(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return MISSING
    diff = now - before
    if abs(diff) <= 1e-9:
        return "unchanged"
    size = abs(diff)
    text = "less than 0.01" if size < 0.005 else f"{size:.2f}"
    return f"{'narrower' if diff < 0 else 'wider'} by {text}"


def convergence_rows(views: GroupViews) -> list[ConvergenceRow]:
    rows = []
    before: float | None = None
    for index, c in enumerate(views.convergence):
        rows.append(
            ConvergenceRow(
                round_number=c.round_number,
                median_iqr=MISSING if c.median_iqr is None else f"{c.median_iqr:.2f}",
                contested=(
                    MISSING
                    if not c.judged
                    else f"{c.contested} of {c.judged} ({prob(c.contested / c.judged)})"
                ),
                change=MISSING if index == 0 else _change(c.median_iqr, before),
            )
        )
        before = c.median_iqr
    return rows


def _rank(rank: int | None) -> str:
    return MISSING if rank is None else str(rank)


def present(views: GroupViews | None) -> GroupPanel | None:
    """The view of ``views`` (None stays None)."""
    if views is None:
        return None
    if views.round_number is None:
        hidden = views.hidden_round or 1
        return _notice(
            views,
            f"The group's views appear once the facilitator reveals round {hidden}. In blind "
            "scoring nobody sees them before then.",
        )
    later = (
        f"Round {views.hidden_round} is still blind: these views are of round "
        f"{views.round_number}, the latest round revealed."
        if views.hidden_round is not None and views.hidden_round != views.round_number
        else None
    )
    titles = dict(views.options)
    empty = not views.analysts or not views.options or not views.group_ranks
    group_ranks = views.group_ranks or [None] * len(views.options)
    order = sorted(
        range(len(views.options)),
        key=lambda i: (group_ranks[i] is None, group_ranks[i] or 0, i),
    )
    rows = [
        RankRow(
            label=_who(a.label, a.name),
            you=a.is_viewer,
            ranks=[_rank(a.ranks[i]) for i in order],
            counted=a.complete,
        )
        for a in views.analysts
    ]
    shown, sentence = agreement_sentence(views)
    return GroupPanel(
        round_number=views.round_number,
        notice=(
            "The group's views need at least one option, one criterion and one analyst."
            if empty
            else None
        ),
        later_round_note=later,
        method=views.method,
        columns=[views.options[i][1] for i in order],
        group_row=(
            RankRow(
                label=f"Group ({views.method})",
                you=False,
                ranks=[_rank(views.group_ranks[i]) for i in order],
                counted=True,
            )
            if views.group_ranks
            else None
        ),
        rows=rows,
        incomplete_note=(
            "* Not counted in W: these analysts' own scores leave an option unranked."
            if any(not r.counted for r in rows)
            else None
        ),
        w_text=shown,
        agreement=sentence if views.analysts else None,
        influence=influence_sentences(views, titles),
        convergence=convergence_rows(views),
    )


def _notice(views: GroupViews, text: str) -> GroupPanel:
    return GroupPanel(
        round_number=None,
        notice=text,
        later_round_note=None,
        method=views.method,
        columns=[],
        group_row=None,
        rows=[],
        incomplete_note=None,
        w_text=None,
        agreement=None,
        influence=[],
        convergence=[],
    )


def present_data(data: Mapping[str, Any] | None) -> GroupPanel | None:
    """The view of a memo snapshot's ``group`` part (None for memos issued without one)."""
    return None if data is None else present(GroupViews.from_data(data))
