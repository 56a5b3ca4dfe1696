"""Robustness figures in words (for the panel, the memo and, via :mod:`app.web.views.api`,
the JSON) and the geometry of the panel's rank-acceptability chart. The numbers come from
:func:`app.services.robustness.compute`. Every printed number errs on the safe side:
thresholds are rounded towards the current weight, standard errors up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from app.domain import analysis
from app.domain.analysis.rounding import round_safely, separated
from app.services.matrix_data import finite
from app.services.robustness import CriterionRobustness, OptionRobustness, Robustness, Settings

# Plain-English wording


def _fixed(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(weight: float) -> str:
    """A weight (0-1) as a percentage: ``0.2 -> "20 %"``, ``0.3062 -> "30.6 %"``."""
    return f"{_fixed(round(weight * 100.0, 1), 1)} %"


def points(value: float) -> str:
    """Percentage points: ``10 -> "10 percentage points"``, ``1 -> "1 percentage point"``."""
    text = _fixed(round(value, 1), 1)
    return f"{text} percentage point" + ("" if text == "1" else "s")


def threshold_texts(threshold: float, weight: float, rising: bool) -> tuple[str, str] | None:
    """The threshold and the current weight as percentages rounded the safe way
    (:func:`app.domain.analysis.rounding.separated`), e.g. ``("68.9", "10")``."""
    found = separated(threshold * 100.0, weight * 100.0, rising)
    return None if found is None else (_fixed(found[0], found[2]), _fixed(found[1], found[2]))


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
    """The weight model in plain words."""
    if settings.band is None:
        return "weights drawn at random from every possible weighting"
    if settings.band == 0:
        return "weights fixed at the agreed weights"
    return f"each weight within ± {points(settings.band)} of the agreed weight"


SCORE_MODELS = {
    "panel": "the panel of analysts drawn again with replacement and each cell combined by the "
    "{method}, as the decision does",
    "analyst": "one analyst's whole set of scores picked at random (the group value where that "
    "analyst left a cell empty)",
    "cell": "for every cell, the score of one analyst picked at random",
}


def scores_described(settings: Settings, method: str) -> str:
    """The score model in plain words; ``method`` is the decision's way of combining a cell."""
    return SCORE_MODELS[settings.score_model].format(method=method)


def stamp_text(r: Robustness) -> str:
    s = r.settings
    band = "any weighting" if s.band is None else f"band ± {_fixed(s.band, 2)} points"
    return (
        f"Cells combined by the {r.method}; missing scores: {r.missing_policy}; weights: {band}; "
        f"scores: {s.score_model} model; {s.samples:,} samples; seed {s.seed}; "
        f"Options Matrix {r.app_version}."
    )


def estimate(p: float, se: float) -> str:
    """A sampled share with its standard error rounded up: ``"62 % ± 1"``, ``"3.4 % ± 0.2"``;
    a share with no sampling error alone (``"100.0 %"``)."""
    value, error = p * 100.0, se * 100.0
    if error <= 0:
        return f"{value:.1f}\u00a0%"
    if error > 0.9:
        return f"{value:.0f}\u00a0% ± {round_safely(error, 0, up=True):.0f}"
    return f"{value:.1f}\u00a0% ± {round_safely(error, 1, up=True):.1f}"


def confidence_text(o: OptionRobustness) -> str:
    if o.confidence is None:
        return "never first"
    if not o.confidence_shown:
        return "too few samples"
    return estimate(o.confidence, o.confidence_se or 0.0)


def _clause(
    verb: str, side: str, threshold: float, weight: float, who: int | None, titles: list[str]
) -> tuple[str, str, str] | None:
    rising = side == "above"
    if who is None or (threshold >= 1.0 if rising else threshold <= 0.0):
        return None
    texts = threshold_texts(threshold, weight, rising)
    if texts is None:
        return f"{verb} at all from {percent(weight)}", f"{verb} at all", titles[who]
    if (float(texts[0]) >= 100.0) if rising else (float(texts[0]) <= 0.0):
        return None
    first = f"{verb} from {texts[1]} % to {side} {texts[0]} %"
    return first, f"{verb} {side} {texts[0]} %", titles[who]


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
    # A takeover only at 0 % or 100 % (or beyond) cannot be reached and is left out.
    ends = (
        ("rises", "above", s.upper, s.above_option),
        ("falls", "below", s.lower, s.below_option),
    )
    clauses = [c for v, side, t, o in ends if (c := _clause(v, side, t, s.weight, o, titles))]
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
    """A sentence naming the criterion whose weight moves the top soonest; None if not ready.
    The change is rounded up: a change of the printed size does reach the threshold."""
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
        f"{points(round_safely(change, 1, up=True))} alters which option comes first."
    )


TOPSIS = "TOPSIS, a second way of combining the scores (closeness to the best and distance \
from the worst possible option),"


def agreement_sentence(r: Robustness, answer: bool = True) -> str:
    """Whether TOPSIS puts the same option first as the weighted sum, like with like;
    ``answer`` opens with "Not here:" or "Yes:" (the page asks whether the method matters)."""
    if r.topsis_agrees is None:
        return (
            "TOPSIS, a second way of combining the scores, needs options scored on every "
            "criterion; none is complete yet."
        )
    they = join_names(r.topsis_top)
    compared = join_names(r.weighted_sum_top_compared)
    leaders = r.topsis_leader_excluded
    if leaders:
        text = (
            f"{TOPSIS} cannot rank {join_names(leaders)}, first by the weighted sum: "
            f"{_have(leaders)} unscored cells. Among the options TOPSIS can rank, it puts {they} "
            "first"
        )
        text += (
            ", as the weighted sum does."
            if r.topsis_agrees
            else f", while the weighted sum puts {compared} first."
        )
    elif r.topsis_agrees:
        text = f"{TOPSIS} also puts {they} first, as the weighted sum does."
        text = f"Not here: {text}" if answer else text
    else:
        text = f"{TOPSIS} puts {they} first, while the weighted sum puts {compared} first. "
        text = ("Yes: " if answer else "") + text + "Treat the top of the ranking with care."
    others = [t for t in r.topsis_excluded if t not in leaders]
    if others:
        text += f" TOPSIS also leaves out {join_names(others)}: {_have(others)} unscored cells."
    return text


def _have(names: list[str]) -> str:
    return "it has" if len(names) == 1 else "they have"


def memo_section(r: Robustness | None) -> dict[str, Any] | None:
    """The robustness section of a memo snapshot, in words as well as numbers, since a memo
    must read the same however the wording here changes later."""
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
        "scores": scores_described(r.settings, r.method),
        "stamp": r.stamp,
        "stamp_text": stamp_text(r),
        "first": [
            {"option_id": o.option_id, "p": finite(o.first), "text": estimate(o.first, o.first_se)}
            for o in r.by_first
        ],
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
        "methods": {**r.methods, "sentence": agreement_sentence(r, answer=False)},
    }


# The decision page's panel: sentences and the rank-acceptability chart

CHART_WIDTH = 1000
CHART_PAD = 4
LEGEND_PER_ROW = 8
LEGEND_ROW_HEIGHT = 24
LEGEND_ITEM_WIDTH = 98
BAR_ROW_HEIGHT = 50
LABEL_MIN_WIDTH = 44  # a segment this wide carries its percentage
DARK_BELOW = 140  # grey levels under this take white ink
INK = "#1d2430"


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
    levels = [_grey_level(k, n) for k in range(n)]
    paints = [
        RankPaint(
            id=f"{id_prefix}-rank-{k + 1}",
            grey=f"#{level:02x}{level:02x}{level:02x}",
            hatch=("#ffffff" if level < DARK_BELOW else INK) if k % 2 == 1 else None,
            dark=level < DARK_BELOW,
        )
        for k, level in enumerate(levels)
    ]
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
            title = Markup("{}: {} in {:.1f}&nbsp;% of samples").format(
                o.title, ordinal(k + 1), p * 100
            )
            label = f"{p * 100:.0f} %" if w >= LABEL_MIN_WIDTH else None
            segments.append(Segment(x, w, paints[k].id, title, label, x + w / 2, paints[k].dark))
            x += w
        bars.append(Bar(o.title, y + 13, y + 19, y + 35, segments))
    axis_y = top + n * BAR_ROW_HEIGHT
    anchors = {0: "start", 100: "end"}
    ticks = [
        Tick(pad + bar_w * t / 100, f"{t} %", anchors.get(t, "middle"))
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
    scores_described: str
    stamp: str
    agreement: str
    first: dict[int, str]  # option id -> "62 % ± 1"
    confidence: dict[int, str]  # option id -> "48 % ± 1", "too few samples" or "never first"
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
        scores_described=scores_described(r.settings, r.method),
        stamp=stamp_text(r),
        agreement=agreement_sentence(r),
        first={o.option_id: estimate(o.first, o.first_se) for o in r.options},
        confidence={o.option_id: confidence_text(o) for o in r.options},
        sentences=sentences(r),
        most_sensitive=most_sensitive(r),
        rank_labels=[ordinal(k + 1) for k in range(r.ranks)],
        chart=acceptability_chart(r),
    )
