"""The memo's stacked-bar chart: criteria's fills (greys and patterns, legible in black and
white) and the geometry of each figure, sized so that a figure fits one page of the memo's
paper with its legend. A pure function of the snapshot's rows; drawn by
templates/memo/_chart.html.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.domain.vocabulary import Paper

CHART_WIDTH = 170.0  # mm: fits the text block of Letter (177.8 mm) and A4 (170 mm)
CHART_ROWS_PER_FIGURE = 18
# The text block's height on each paper (mm), as static/memo.css sets the page margins.
TEXT_HEIGHT = {Paper.LETTER.value: 279.4 - 22.0 - 20.0, Paper.A4.value: 297.0 - 24.0 - 22.0}
# What a figure's page holds besides its bars (mm): heading, introduction, caption, spacing.
FIGURE_ALLOWANCE = 36.0
LEGEND_LINE = 4.6  # mm per line of the legend (two columns)
ROW_HEIGHT = 11.0
BAR_HEIGHT = 5.2
BAR_WIDTH = 148.0
AXIS_HEIGHT = 6.0


@dataclass(frozen=True)
class Fill:
    """One criterion's look in the chart: a grey or a pattern, legible in black and white."""

    kind: str  # solid, hatch, back, cross, dots, hlines, vlines
    ground: str
    ink: str

    @property
    def label_on_dark(self) -> bool:
        return self.kind == "solid" and self.ground in DARK


DARK = {"#2b2b2b", "#555555", "#6e6e6e"}
FILLS = [
    Fill("solid", "#2b2b2b", "#2b2b2b"),
    Fill("hatch", "#ffffff", "#2b2b2b"),
    Fill("solid", "#a8a8a8", "#a8a8a8"),
    Fill("dots", "#ffffff", "#2b2b2b"),
    Fill("solid", "#6e6e6e", "#6e6e6e"),
    Fill("cross", "#ffffff", "#3a3a3a"),
    Fill("solid", "#d6d6d6", "#d6d6d6"),
    Fill("back", "#c4c4c4", "#2b2b2b"),
    Fill("hlines", "#ffffff", "#2b2b2b"),
    Fill("solid", "#555555", "#555555"),
    Fill("vlines", "#e2e2e2", "#2b2b2b"),
    Fill("dots", "#a8a8a8", "#1a1a1a"),
    Fill("hatch", "#d6d6d6", "#555555"),
    Fill("solid", "#8c8c8c", "#8c8c8c"),
    Fill("cross", "#c4c4c4", "#1a1a1a"),
    Fill("back", "#ffffff", "#555555"),
]


def fill_for(index: int) -> Fill:
    return FILLS[index % len(FILLS)]


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --------------------------------------------------------------------------------------------
# The chart
# --------------------------------------------------------------------------------------------


def rows_per_figure(criteria_count: int, paper: str) -> int:
    """How many bars a figure holds so that it fits one page with its legend, its caption and
    (for the first) the section's heading and introduction."""
    legend = math.ceil(criteria_count / 2) * LEGEND_LINE
    room = TEXT_HEIGHT.get(paper, TEXT_HEIGHT[Paper.LETTER.value]) - FIGURE_ALLOWANCE - legend
    return max(4, min(CHART_ROWS_PER_FIGURE, int((room - AXIS_HEIGHT - 1.0) // ROW_HEIGHT)))


def _chunks(count: int, per_figure: int) -> list[tuple[int, int]]:
    """``count`` bars in figures of at most ``per_figure``, as even as possible."""
    if count == 0:
        return []
    figures = math.ceil(count / per_figure)
    size, extra = divmod(count, figures)
    out, start = [], 0
    for k in range(figures):
        end = start + size + (1 if k < extra else 0)
        out.append((start, end))
        start = end
    return out


def chart_description(bars: list[dict[str, Any]], criteria: list[dict[str, Any]]) -> str:
    """What a figure shows, in words (its alternative text): each option's total and the
    criterion that contributes most to it."""
    parts = []
    for bar in bars:
        text = f"{bar['title']}: {bar['total']:.1f}"
        if bar["segments"]:
            top = max(bar["segments"], key=lambda seg: seg["points"])
            name = criteria[top["fill"]]["name"]
            text += f", most from {top['code']} {name} ({top['points']:.1f})"
        parts.append(text)
    return (
        "Stacked bar chart of each option's total out of 100, split into the points each "
        "criterion contributes. " + "; ".join(parts) + "."
    )


def chart_figures(
    ranked: list[dict[str, Any]],
    criteria: list[dict[str, Any]],
    options: dict[int, Any],
    paper: str = Paper.LETTER.value,
) -> list[dict[str, Any]]:
    """Rows of stacked bars, split into figures that each fit on a page with their legend."""
    scored = [r for r in ranked if r["total"] is not None]
    figures = []
    for start, stop in _chunks(len(scored), rows_per_figure(len(criteria), paper)):
        chunk = scored[start:stop]
        bars = []
        for i, row in enumerate(chunk):
            y = AXIS_HEIGHT + i * ROW_HEIGHT
            x = 0.0
            segments = []
            for j, cell in enumerate(row["cells"]):
                points = cell["contribution"]
                if not points or points <= 0:
                    continue
                width = BAR_WIDTH * points / 100.0
                seg_x, seg_width = round(x, 3), round(width, 3)
                segments.append(
                    {
                        "x": seg_x,
                        "width": seg_width,
                        "fill": j,
                        "code": criteria[j]["code"],
                        "label": width >= 6.5,
                        "points": points,
                        # The criterion's code in a small white box centred on the segment.
                        "label_x": seg_x + seg_width / 2,
                        "label_box_x": seg_x + seg_width / 2 - 2.9,
                    }
                )
                x += width
            title = options[row["option_id"]]["title"]
            end = round(x, 3)
            bars.append(
                {
                    "y": y,
                    "title": _shorten(f"{row['rank']}. {title}", 95),
                    "total": row["total"],
                    "end": end,
                    "segments": segments,
                    # Title above the bar; the bar; grid lines across it; labels; the total.
                    "title_y": y + 3.1,
                    "bar_y": y + 4.1,
                    "grid_y1": y + 3.8,
                    "grid_y2": y + 9.6,
                    "label_box_y": y + 5.05,
                    "label_y": y + 7.55,
                    "total_x": end + 1.6,
                    "total_y": y + 7.9,
                }
            )
        height = AXIS_HEIGHT + len(chunk) * ROW_HEIGHT + 1.0
        figures.append(
            {
                "bars": bars,
                "height": round(height, 3),
                "first": start + 1,
                "last": stop,
                "description": chart_description(bars, criteria),
                "ticks": [
                    {
                        "x": BAR_WIDTH * t / 100,
                        "label": t,
                        "anchor": "start" if t == 0 else ("end" if t == 100 else "middle"),
                    }
                    for t in (0, 25, 50, 75, 100)
                ],
            }
        )
    return figures
