"""The memo's view model: lookups, ordering, dates and the geometry of its stacked-bar chart,
derived from the snapshot alone (a pure function of it), so the same snapshot always prints
the same memo. Drawn by templates/memo/memo.html and templates/memo/_chart.html.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db.models import OptionStatus
from app.web.presenters import group

CHART_WIDTH = 170.0  # mm, the text block of an A4 page with 20 mm margins
CHART_ROWS_PER_FIGURE = 18
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


def memo_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Lookups, ordering and chart geometry for the template (pure function of the snapshot)."""
    options = {o["id"]: o for o in snapshot["options"]}
    criteria = snapshot["criteria"]
    rows = snapshot["matrix"]["rows"]
    ranked = sorted(
        rows,
        key=lambda r: (r["rank"] is None, r["rank"] or 0, options[r["option_id"]]["position"]),
    )
    fills = [fill_for(j) for j in range(len(criteria))]
    generated = datetime.fromisoformat(snapshot["generated_at"])
    analysts = snapshot["analysts"]
    return {
        "options": options,
        "criteria_by_id": {c["id"]: c for c in criteria},
        "ranked": ranked,
        "active": [o for o in snapshot["options"] if o["status"] == OptionStatus.ACTIVE],
        "withdrawn": [o for o in snapshot["options"] if o["status"] != OptionStatus.ACTIVE],
        "fills": fills,
        "figures": _chart_figures(ranked, criteria, options),
        "date": f"{generated.day} {generated:%B %Y}",
        "generated": generated.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "created_w3c": generated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "contested_count": sum(1 for r in rows for c in r["cells"] if c["contested"]),
        "analyst_count": len(analysts),
        "include": set(snapshot["memo"]["sections"]),
        "group": group.present_data(snapshot.get("group")),
        "matrix_wide": len(criteria) > 8,
        "partial": any(
            r["total"] is not None and r["completeness"] is not None and r["completeness"] < 1
            for r in rows
        ),
        **missing_view(snapshot.get("missing")),
    }


def missing_view(missing: dict[str, Any] | None) -> dict[str, Any]:
    """The missing-score policy's part of the memo: ``missing`` (the snapshot's account, None
    for memos issued before it existed), ``incomplete`` (the ids of options whose totals could
    still move) and ``missing_rows`` (every ranked option, in rank order)."""
    if not missing:
        return {"missing": None, "incomplete": set(), "missing_rows": []}
    rows = sorted(
        (o for o in missing["options"] if o["rank"] is not None),
        key=lambda o: (o["rank"], o["title"]),
    )
    return {"missing": missing, "incomplete": set(missing["incomplete"]), "missing_rows": rows}


def _chart_figures(
    ranked: list[dict[str, Any]], criteria: list[dict[str, Any]], options: dict[int, Any]
) -> list[dict[str, Any]]:
    """Rows of stacked bars, split into figures that each fit on a page."""
    scored = [r for r in ranked if r["total"] is not None]
    figures = []
    for start in range(0, len(scored), CHART_ROWS_PER_FIGURE):
        chunk = scored[start : start + CHART_ROWS_PER_FIGURE]
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
                "last": start + len(chunk),
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


def memo_filename(decision_id: int, memo_id: int | None = None) -> str:
    """The name an issued memo's PDF downloads under."""
    suffix = f"-{memo_id}" if memo_id is not None else ""
    return f"decision-{decision_id}-memo{suffix}.pdf"


def snapshot_filename(decision_id: int, memo_id: int) -> str:
    """The name a memo's snapshot downloads under."""
    return f"decision-{decision_id}-memo-{memo_id}-snapshot.json"
