"""The data of the memo's sections, from hand-made snapshots (no database): flagged cells,
Delphi convergence, the bottom line's uncertainty (rounded the safe way), the provenance
stamp, the chart's page-sized figures per paper, and file names."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from app.web.presenters import memo as presenter
from app.web.presenters import memo_chart
from app.web.print import render_memo_html
from tests.unit.test_presenters_memo import snapshot


def with_rounds(base: dict[str, Any]) -> dict[str, Any]:
    """``base`` as round 2, after a round 1 in which option 1 on C1 was contested (1–5, mean
    3) and option 2 on C2 had a group mean of 2; now option 1 on C1 spans 3–4 (mean 3.5),
    option 2 on C2 moved to 4, and option 3 ranks 1st (3rd in round 1)."""
    s = copy.deepcopy(base)
    s["round"] = {"number": 2, "revealed": True, "rounds": 2}
    rows = s["matrix"]["rows"]
    for row in rows:
        for cell in row["cells"]:
            cell.update(min=3.0, max=3.0, contested=False)
    rows[0]["cells"][0].update(value=3.5, min=3.0, max=4.0)
    rows[1]["cells"][1]["value"] = 4.0
    key = [(r["option_id"], c["criterion_id"]) for r in rows for c in r["cells"]]
    s["rounds_before"] = [
        {
            "number": 1,
            "options": [
                {"option_id": r["option_id"], "total": r["total"], "rank": rank}
                for r, rank in zip(rows, (1, 2, 3), strict=True)
            ],
            "cells": [
                {
                    "option_id": o,
                    "criterion_id": c,
                    "value": 2.0 if (o, c) == (2, 11) else 3.0,
                    "min": 1.0 if (o, c) == (1, 10) else 3.0,
                    "max": 5.0 if (o, c) == (1, 10) else 3.0,
                    "count": 2,
                    "contested": (o, c) == (1, 10),
                }
                for o, c in key
            ],
        }
    ]
    return s


def test_cells_resting_on_one_analyst_or_holding_an_na_are_flagged() -> None:
    s = snapshot()
    s["matrix"]["rows"][0]["cells"][1].update(values=1, na=0)
    s["matrix"]["rows"][1]["cells"][0].update(values=1, na=1)
    flags = presenter.cell_flags(s)
    assert flags["single"] == ["1:11", "2:10"] and flags["na"] == ["2:10"]
    assert flags["sentences"] == [
        "† 2 cells rest on a single analyst's score: the group value is that one judgement.",
        "‡ 1 cell has at least one analyst's N/A (not applicable), counted as the "
        "missing-score policy says.",
    ]
    html = render_memo_html(s, "/static/")
    assert html.count('<span class="mark" title="one analyst\'s score">†</span>') == 2
    assert html.count('<span class="mark" title="an analyst marked N/A">‡</span>') == 1
    # A panel of one analyst: every cell is one judgement, nothing to flag; old snapshots
    # without the counts flag nothing either.
    s["analysts"] = ["Analyst A"]
    assert presenter.cell_flags(s)["single"] == []
    assert presenter.cell_flags(snapshot()) == {"single": [], "na": [], "sentences": []}


def test_convergence_reports_spread_settled_cells_moves_and_ranks() -> None:
    assert presenter.convergence(snapshot()) is None  # a single round: nothing to compare
    cv = presenter.convergence(with_rounds(snapshot()))
    assert cv is not None
    assert [(r["number"], r["contested"], r["judged"]) for r in cv["rounds"]] == [
        (1, 1, 6),
        (2, 0, 6),
    ]
    assert cv["rounds"][0]["widest"] == 4.0 and cv["rounds"][1]["widest"] == 1.0
    assert cv["settled"] == [{"cell": "Option 1 on C1 Criterion 1", "before": "1–5", "now": "3–4"}]
    assert cv["newly"] == []
    assert cv["moved"][0] == {
        "cell": "Option 2 on C2 Criterion 2",
        "before": "2.0",
        "now": "4.0",
        "delta": 2.0,
    }
    assert [m["cell"] for m in cv["moved"]] == [
        "Option 2 on C2 Criterion 2",
        "Option 1 on C1 Criterion 1",
    ]
    assert cv["ranks"] == [{"option": "Option 3", "before": 3, "now": 1}]
    html = render_memo_html(with_rounds(snapshot()), "/static/")
    assert "<h2>How the team converged</h2>" in html
    assert "Option 1 on C1 Criterion 1: scores 1–5 in round 1, 3–4 now." in html


def uncertainty(p: float, se: float, **nearest: Any) -> dict[str, Any]:
    return {
        "samples": 10_000,
        "seed": 0,
        "band": 5.0,
        "score_model": "panel",
        "stamp": {
            "aggregation": "mean",
            "missing_policy": "skip",
            "weight_model": "band",
            "band_percentage_points": 5.0,
            "score_model": "panel",
            "samples": 10_000,
            "seed": 0,
            "app_version": "1.0",
        },
        "top": [1],
        "first": [{"option_id": 1, "p": p, "se": se}, {"option_id": 2, "p": 1 - p, "se": se}],
        "nearest": {
            "criterion_id": 11,
            "weight": 0.15,
            "lower": 0.0,
            "upper": 0.3249,
            "below_option_id": None,
            "above_option_id": 2,
            "smallest_change": 0.1749,
            "top_option_id": 1,
            "tied_at_top": False,
        }
        | nearest,
    }


def test_the_bottom_line_states_the_chance_and_the_weight_change() -> None:
    s = snapshot()
    assert presenter.bottom_line_risk(s) is None  # memos issued before: nothing stated
    s["uncertainty"] = uncertainty(0.8512, 0.00351)
    risk = presenter.bottom_line_risk(s)
    assert risk is not None
    # The standard error is rounded up; the threshold towards the current weight (down).
    assert risk["chance"].startswith("Chance that Option 1 ranks first: 85.1\u00a0% ± 0.4 (")
    assert risk["weight"] == (
        "The ranking changes soonest if the weight of C2 Criterion 2 rises from 15 % to above "
        "32.4 % (the other weights rescaled in proportion): Option 2 would then rank first."
    )
    s["uncertainty"] = uncertainty(1.0, 0.0, above_option_id=None)
    risk = presenter.bottom_line_risk(s)
    assert risk is not None and risk["weight"].startswith("No single change of one weight")
    html = render_memo_html(s, "/static/")
    assert 'class="risk"' in html and "Option 1 ranks first: 100.0\u00a0%" in html


def test_the_provenance_carries_the_reproducibility_stamp() -> None:
    s = snapshot()
    assert presenter.provenance_stamp(s) is None
    s["uncertainty"] = uncertainty(0.5, 0.01)
    stamp = presenter.provenance_stamp(s)
    assert stamp == (
        "Cells combined by the mean; missing scores: skip; weights: band ± 5 points; "
        "scores: panel model; 10,000 samples; seed 0; Options Matrix 1.0."
    )
    html = render_memo_html(s, "/static/")
    assert stamp in html


@pytest.mark.parametrize(
    ("paper", "criteria", "per_figure"),
    [("letter", 15, 14), ("a4", 15, 15), ("letter", 2, 17), ("a4", 7, 17), ("a4", 1, 18)],
)
def test_figures_fit_a_page_of_the_memos_paper(paper: str, criteria: int, per_figure: int) -> None:
    assert memo_chart.rows_per_figure(criteria, paper) == per_figure


def test_a_long_ranking_is_split_into_even_figures_with_their_legend() -> None:
    s = snapshot(40)
    s["decision"]["paper"] = "letter"
    v = presenter.memo_view(s)
    assert v["paper"] == "letter"
    assert [(f["first"], f["last"]) for f in v["figures"]] == [(1, 14), (15, 27), (28, 40)]
    html = render_memo_html(s, "/static/")
    assert html.count('<ul class="legend"') == 3  # one legend in each figure
    assert html.count("<title id=") == 3
    assert 'class="paper-letter"' in html
    first = v["figures"][0]["description"]
    assert first.startswith("Stacked bar chart of each option's total out of 100")
    assert "1. Option 1: 60.0, most from C1 Criterion 1 (30.0)" in first


def test_old_snapshots_print_on_a4_and_new_ones_on_their_paper() -> None:
    s = snapshot()
    assert presenter.paper_of(s) == "a4"  # memos issued before the paper was chosen
    s["decision"]["paper"] = "letter"
    assert presenter.paper_of(s) == "letter"


def test_download_names() -> None:
    when = datetime(2026, 11, 28, 9, tzinfo=UTC)
    assert (
        presenter.download_name(2, "US engagement in Central Asia, 2021", 3, when)
        == "us-engagement-in-central-asia-2021_memo-3_2026-11-28.pdf"
    )
    assert (
        presenter.download_name(2, "Ελλάδα", 1, when, "docx") == "decision-2_memo-1_2026-11-28.docx"
    )
    assert (
        presenter.download_name(2, "A b", 1, when, "json") == "a-b_memo-1_2026-11-28_snapshot.json"
    )
