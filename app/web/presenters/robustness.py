"""Robustness figures for people and scripts: plain-English sentences, the JSON of
``GET /api/decisions/<id>/analysis``, the memo's robustness section and the geometry of the
decision page's rank-acceptability chart. The numbers come from
:func:`app.services.robustness.compute`; nothing here computes a figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from app.domain import analysis
from app.services.matrix_data import finite
from app.services.robustness import CriterionRobustness, Robustness, Settings

# --------------------------------------------------------------------------------------------
# Plain-English wording
# --------------------------------------------------------------------------------------------


def percent(weight: float) -> str:
    """A weight (0-1) as a percentage: ``0.2 -> "20 %"``, ``0.3062 -> "30.6 %"``."""
    value = round(weight * 100.0, 1)
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} %"


def points(value: float) -> str:
    """Percentage points: ``10 -> "10 percentage points"``, ``1 -> "1 percentage point"``."""
    text = f"{round(value, 1):.1f}".removesuffix(".0")
    return f"{text} percentage point" + ("" if text == "1" else "s")


def join_names(names: list[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def ordinal(n: int) -> str:
    """1 → "1st", 2 → "2nd", 11 → "11th", 23 → "23rd"."""
    if n % 100 in (11, 12, 13):
        return f"{n}th"
    return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def weights_described(settings: Settings) -> str:
    """The weight sampling in plain words."""
    if settings.band is None:
        return "weights drawn at random from every possible weighting"
    if settings.band == 0:
        return "weights fixed at the agreed weights"
    return f"each weight within ± {points(settings.band)} of the agreed weight"


def sensitivity_sentence(
    s: analysis.CriterionSensitivity, titles: list[str], criterion: str
) -> str:
    """One criterion's sensitivity in plain English, e.g.

    "Joint drills stays first unless the weight of Escalation risk rises from 20 % to above
    31 %, when Intelligence sharing overtakes it."
    """
    if s.top_option is None:
        return f"No option has a total yet, so the weight of {criterion} cannot change the top."
    top = titles[s.top_option]
    if s.tied_at_top:
        others = [titles[i] for i in s.top_options if i != s.top_option]
        top = f"{top} (tied for first with {join_names(others)})"
    now = percent(s.weight)
    # Each clause: (wording when it comes first, wording when it follows another, who).
    clauses: list[tuple[str, str, str]] = []
    if s.above_option is not None:
        if s.upper >= 1.0:
            first, then = f"rises from {now} to 100 %", "rises to 100 %"
        elif percent(s.upper) == now:
            first, then = f"rises at all from {now}", "rises at all"
        else:
            first, then = (
                f"rises from {now} to above {percent(s.upper)}",
                f"rises above {percent(s.upper)}",
            )
        clauses.append((first, then, titles[s.above_option]))
    if s.below_option is not None:
        if s.lower <= 0.0:
            first, then = f"falls from {now} to 0 %", "falls to 0 %"
        elif percent(s.lower) == now:
            first, then = f"falls at all from {now}", "falls at all"
        else:
            first, then = (
                f"falls from {now} to below {percent(s.lower)}",
                f"falls below {percent(s.lower)}",
            )
        clauses.append((first, then, titles[s.below_option]))
    if not clauses:
        return f"{top} stays first whatever the weight of {criterion} (now {now})."
    (move, _, who), *rest = clauses
    sentence = f"{top} stays first unless the weight of {criterion} {move}, when {who} overtakes it"
    for _, move, who in rest:
        sentence += f", or {move}, when {who} overtakes it"
    return sentence + "."


def criterion_sentence(r: Robustness, c: CriterionRobustness) -> str:
    return sensitivity_sentence(c.sensitivity, r.titles, c.name)


def tie_sentences(r: Robustness) -> list[str]:
    """A sentence when options tie for first at the agreed weights, else none."""
    if len(r.weighted_sum_top) > 1:
        return [f"{join_names(r.weighted_sum_top)} are tied for first at the agreed weights."]
    return []


def sentences(r: Robustness) -> list[str]:
    """The tie (if any), then one sentence per criterion."""
    return tie_sentences(r) + [criterion_sentence(r, c) for c in r.sensitivity]


def most_sensitive(r: Robustness) -> str | None:
    """A sentence naming the criterion whose weight moves the top soonest; None if not ready."""
    if not r.ready:
        return None
    fragile = [c for c in r.sensitivity if c.smallest_change is not None]
    if not fragile:
        return "No single weight change alters which option comes first."
    c = min(fragile, key=lambda c: c.smallest_change or 0.0)
    change = (c.smallest_change or 0.0) * 100.0
    if round(change, 1) == 0:
        return f"The top is on a knife-edge: any change to the weight of {c.name} alters it."
    return (
        f"The top option is most sensitive to the weight of {c.name}: a change of "
        f"{points(change)} alters which option comes first."
    )


# --------------------------------------------------------------------------------------------
# JSON (the API) and the memo's section
# --------------------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def as_json(r: Robustness) -> dict[str, Any]:
    """The figures as JSON-ready data (probabilities and weights 0-1, rounded to 6 places)."""
    s = r.settings
    return {
        "decision_id": r.decision_id,
        "round": r.round_number,
        "group_visible": True,
        "method": r.method,
        "ready": r.ready,
        "note": r.note,
        "settings": {
            "samples": s.samples,
            "band_percentage_points": s.band,
            "weights": "uniform" if s.band is None else "band",
            "seed": s.seed,
            "described": weights_described(s),
        },
        "criteria": [
            {"id": cid, "name": name, "weight_normalised": _num(w)} for cid, name, w in r.criteria
        ],
        "options": [
            {
                "id": o.option_id,
                "title": o.title,
                "rank": o.rank,
                "total": _num(o.total),
                "first_rank_probability": _num(o.first),
                "rank_acceptability": [_num(p) for p in o.acceptability],
                "confidence": _num(o.confidence),
                "central_weights": None
                if o.central_weights is None
                else {str(cid): _num(w) for cid, w in o.central_weights.items()},
                "topsis_closeness": _num(o.topsis),
            }
            for o in r.options
        ],
        "sensitivity": [
            {
                "criterion_id": c.criterion_id,
                "criterion": c.name,
                "weight": _num(c.weight),
                "top_option_id": c.top_option_id,
                "tied_at_top": c.tied_at_top,
                "lower": _num(c.lower),
                "upper": _num(c.upper),
                "below_option_id": c.below_option_id,
                "below_option": c.below_option,
                "above_option_id": c.above_option_id,
                "above_option": c.above_option,
                "smallest_change": _num(c.smallest_change),
                "sentence": criterion_sentence(r, c),
            }
            for c in r.sensitivity
        ],
        "sentences": sentences(r),
        "most_sensitive": most_sensitive(r),
        "methods": {
            "weighted_sum_top": r.weighted_sum_top,
            "topsis_top": r.topsis_top,
            "agree": r.topsis_agrees,
            "topsis_excluded": r.topsis_excluded,
        },
    }


def memo_section(r: Robustness | None) -> dict[str, Any] | None:
    """The robustness section of a memo snapshot: chance of ranking first and weight
    sensitivity (most sensitive first), in words as well as numbers, since a memo must read
    the same however the wording here changes later."""
    if r is None:
        return None
    if not r.ready:
        return {"ready": False, "note": r.note}
    ordered = sorted(
        r.sensitivity,
        key=lambda c: (c.smallest_change is None, c.smallest_change or 0.0, c.name),
    )
    return {
        "ready": True,
        "note": None,
        "samples": r.settings.samples,
        "seed": r.settings.seed,
        "weights": weights_described(r.settings),
        "first": [{"option_id": o.option_id, "p": finite(o.first)} for o in r.by_first],
        "headline": most_sensitive(r),
        "ties": tie_sentences(r),
        "sensitivity": [
            {
                "criterion_id": c.criterion_id,
                "smallest_change": finite(c.smallest_change),
                "text": criterion_sentence(r, c),
            }
            for c in ordered
        ],
        "methods": {
            "weighted_sum_top": r.weighted_sum_top,
            "topsis_top": r.topsis_top,
            "agree": r.topsis_agrees,
            "topsis_excluded": r.topsis_excluded,
        },
    }


# --------------------------------------------------------------------------------------------
# The decision page's panel: sentences and the rank-acceptability chart
# --------------------------------------------------------------------------------------------

CHART_WIDTH = 1000
CHART_PAD = 4
LEGEND_PER_ROW = 8
LEGEND_ROW_HEIGHT = 24
LEGEND_ITEM_WIDTH = 98
BAR_ROW_HEIGHT = 50
LABEL_MIN_WIDTH = 44  # a segment this wide carries its percentage
DARK_BELOW = 140  # grey levels under this take white ink
INK = "#1d2430"
AXIS_INK = "#5b6473"


@dataclass(frozen=True)
class RankPaint:
    """The fill of one rank: a grey (darkest for 1st) and, for every second rank, hatching."""

    id: str
    grey: str
    hatch: str | None  # the hatching's colour, None for a plain grey
    dark: bool


@dataclass(frozen=True)
class LegendItem:
    x: int
    y: int
    paint_id: str
    text: str
    text_x: int
    text_y: int


@dataclass(frozen=True)
class Segment:
    """One rank's share of an option's bar; ``label`` is None when too narrow to carry it."""

    x: float
    width: float
    paint_id: str
    title: Markup
    label: str | None
    label_x: float
    dark: bool


@dataclass(frozen=True)
class Bar:
    title: str
    title_y: int
    y: int
    label_y: int
    segments: list[Segment]


@dataclass(frozen=True)
class Tick:
    x: float
    text: str
    anchor: str


@dataclass(frozen=True)
class AcceptabilityChart:
    """Rank acceptability as stacked horizontal bars, one per option, in SVG user units."""

    id_prefix: str
    width: int
    height: int
    last_rank: str
    paints: list[RankPaint]
    legend: list[LegendItem]
    bars: list[Bar]
    axis_x1: int
    axis_x2: int
    axis_y: int
    tick_end_y: int
    tick_text_y: int
    ticks: list[Tick]


def _grey_level(k: int, ranks: int) -> int:
    return int(round(34 + (226 - 34) * k / max(ranks - 1, 1)))


def acceptability_chart(
    r: Robustness, *, id_prefix: str = "ra", width: int = CHART_WIDTH
) -> AcceptabilityChart:
    n, pad = r.ranks, CHART_PAD
    bar_w = width - 2 * pad
    legend_rows = (n + LEGEND_PER_ROW - 1) // LEGEND_PER_ROW
    top = legend_rows * LEGEND_ROW_HEIGHT + 8
    paints = []
    for k in range(n):
        level = _grey_level(k, n)
        paints.append(
            RankPaint(
                id=f"{id_prefix}-rank-{k + 1}",
                grey=f"#{level:02x}{level:02x}{level:02x}",
                hatch=("#ffffff" if level < DARK_BELOW else INK) if k % 2 == 1 else None,
                dark=level < DARK_BELOW,
            )
        )
    legend = []
    for k in range(n):
        lx = pad + (k % LEGEND_PER_ROW) * LEGEND_ITEM_WIDTH
        ly = 4 + (k // LEGEND_PER_ROW) * LEGEND_ROW_HEIGHT
        legend.append(LegendItem(lx, ly, paints[k].id, ordinal(k + 1), lx + 22, ly + 13))
    bars = []
    for i, o in enumerate(r.options):
        y = top + i * BAR_ROW_HEIGHT
        x: float = pad
        segments = []
        for k, p in enumerate(o.acceptability):
            w = p * bar_w
            if w <= 0:
                continue
            segments.append(
                Segment(
                    x=x,
                    width=w,
                    paint_id=paints[k].id,
                    title=Markup("{}: {} in {:.1f}&nbsp;% of samples").format(
                        o.title, ordinal(k + 1), p * 100
                    ),
                    label=f"{p * 100:.0f} %" if w >= LABEL_MIN_WIDTH else None,
                    label_x=x + w / 2,
                    dark=paints[k].dark,
                )
            )
            x += w
        bars.append(Bar(o.title, y + 13, y + 19, y + 35, segments))
    axis_y = top + n * BAR_ROW_HEIGHT
    ticks = [
        Tick(
            x=pad + bar_w * t / 100,
            text=f"{t} %",
            anchor="start" if t == 0 else ("end" if t == 100 else "middle"),
        )
        for t in (0, 25, 50, 75, 100)
    ]
    return AcceptabilityChart(
        id_prefix=id_prefix,
        width=width,
        height=axis_y + 26,
        last_rank=ordinal(n),
        paints=paints,
        legend=legend,
        bars=bars,
        axis_x1=pad,
        axis_x2=pad + bar_w,
        axis_y=axis_y,
        tick_end_y=axis_y + 5,
        tick_text_y=axis_y + 19,
        ticks=ticks,
    )


@dataclass(frozen=True)
class RobustnessView:
    """What the robustness panel shows: the figures, their words and the chart."""

    figures: Robustness
    weights_described: str
    sentences: list[str]
    most_sensitive: str | None
    rank_labels: list[str]
    chart: AcceptabilityChart


def present(r: Robustness | RobustnessView | None) -> RobustnessView | None:
    """The panel's view of ``r`` (None stays None: the round's results are not visible)."""
    if r is None or isinstance(r, RobustnessView):
        return r
    return RobustnessView(
        figures=r,
        weights_described=weights_described(r.settings),
        sentences=sentences(r),
        most_sensitive=most_sensitive(r),
        rank_labels=[ordinal(k + 1) for k in range(r.ranks)],
        chart=acceptability_chart(r),
    )
