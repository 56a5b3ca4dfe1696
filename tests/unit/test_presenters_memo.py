"""The memo's view model from a hand-made snapshot (no database): order, dates, the chart's
stacked bars and their split into page-sized figures; and the print HTML it draws."""

from __future__ import annotations

from typing import Any

import pytest

from app.web.presenters import memo as presenter
from app.web.print import render_memo_html


def snapshot(n_options: int = 3, *, sections: list[str] | None = None) -> dict[str, Any]:
    criteria = [
        {
            "id": 10 + j,
            "code": f"C{j + 1}",
            "name": f"Criterion {j + 1}",
            "description": "",
            "direction": "cost" if j else "benefit",
            "weight": 1.0,
            "share": 0.5,
        }
        for j in range(2)
    ]
    options = [
        {
            "id": i + 1,
            "title": f"Option {i + 1}",
            "summary": "",
            "description": "",
            "status": "active",
            "position": i,
        }
        for i in range(n_options)
    ]
    options.append({**options[0], "id": 99, "title": "Dropped", "status": "withdrawn"})
    rows = [
        {
            "option_id": i + 1,
            "total": 60.0 - i,
            "rank": n_options - i if i else 1,
            "completeness": 1.0,
            "cells": [
                {
                    "criterion_id": 10 + j,
                    "value": 3.0,
                    "std": 0.5,
                    "min": 1.0,
                    "max": 5.0,
                    "count": 2,
                    "contested": i == 0 and j == 0,
                    "contribution": (60.0 - i) / 2,
                }
                for j in range(2)
            ],
        }
        for i in range(n_options)
    ]
    return {
        "format": 1,
        "generated_at": "2026-03-04T05:06:07+00:00",
        "app_version": "1.0",
        "issuer": {"id": 1, "name": "Morgan Hale", "username": "facilitator"},
        "memo": {
            "memorandum_for": "The Principal",
            "from": "Morgan Hale",
            "subject": "Subject <line>",
            "bottom_line": "We recommend **Option 1**.",
            "sections": ["chart", "disagreements"] if sections is None else sections,
        },
        "decision": {
            "id": 7,
            "title": "Decision",
            "question": "What now?",
            "background": "",
            "classification": "UNCLASSIFIED",
            "scale_min": 1,
            "scale_max": 5,
            "scoring_mode": "blind",
            "status": "scoring",
            "name_analysts": False,
        },
        "round": {"number": 1, "revealed": True, "rounds": 1},
        "revision": 42,
        "method": "mean",
        "analysts": ["Analyst A", "Analyst B"],
        "options": options,
        "criteria": criteria,
        "matrix": {"rows": rows},
        "disagreements": [],
        "robustness": None,
        "snapshot_sha256": "ab" * 32,
    }


def test_view_orders_by_rank_and_splits_active_and_withdrawn() -> None:
    v = presenter.memo_view(snapshot())
    assert [r["option_id"] for r in v["ranked"]] == [1, 3, 2]
    assert [o["title"] for o in v["withdrawn"]] == ["Dropped"]
    assert len(v["active"]) == 3
    assert (v["date"], v["generated"], v["created_w3c"]) == (
        "4 March 2026",
        "2026-03-04 05:06:07 UTC",
        "2026-03-04T05:06:07Z",
    )
    assert v["contested_count"] == 1 and v["analyst_count"] == 2
    assert v["include"] == {"chart", "disagreements"} and not v["partial"]


def test_chart_bars_stack_contributions_to_the_total() -> None:
    (figure,) = presenter.memo_view(snapshot())["figures"]
    first = figure["bars"][0]
    assert first["title"] == "1. Option 1"
    assert [s["x"] for s in first["segments"]] == [0.0, pytest.approx(44.4)]
    assert first["end"] == pytest.approx(presenter.BAR_WIDTH * 60 / 100)
    assert [t["label"] for t in figure["ticks"]] == [0, 25, 50, 75, 100]
    assert (figure["first"], figure["last"]) == (1, 3)


def test_a_long_ranking_is_split_into_figures_that_fit_a_page() -> None:
    figures = presenter.memo_view(snapshot(40))["figures"]
    assert [(f["first"], f["last"]) for f in figures] == [(1, 14), (15, 27), (28, 40)]


def test_print_html_escapes_and_leaves_out_sections() -> None:
    html = render_memo_html(snapshot(sections=[]), "/static/")
    assert '<link rel="stylesheet" href="/static/memo.css">' in html
    assert "Subject &lt;line&gt;" in html and "<strong>Option 1</strong>" in html
    assert "<h2>What drives the totals</h2>" not in html and "<h2>Robustness</h2>" not in html
    assert "(blind scoring, revealed)" in html
    assert "Cost: lower is better" in html
    full = render_memo_html(snapshot(), "/static/")
    assert "<h2>What drives the totals</h2>" in full and 'class="chart"' in full
