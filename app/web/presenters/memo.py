"""The memo's view model: lookups, ordering, dates, the geometry of its stacked-bar chart and
the data of its sections, derived from the snapshot alone (a pure function of it), so the
same snapshot always prints the same memo. Drawn by templates/memo/memo.html and
templates/memo/_chart.html; the Word copy (:mod:`app.web.word`) reads the same functions.

The sections' data are plain functions returning plain data (lists, dicts, strings), the
template only lays them out: :func:`cell_flags` (cells resting on one analyst or holding an
N/A), :func:`convergence` (how the team moved from round to round), :func:`bottom_line_risk`
(the chance the top option ranks first and the weight change that alters it),
:func:`provenance_stamp` (what reproduces the figures) and :func:`download_name`.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from datetime import datetime
from typing import Any

from app.db.models import OptionStatus
from app.domain.vocabulary import Paper
from app.web.presenters import group
from app.web.presenters.memo_chart import (
    BAR_HEIGHT,
    BAR_WIDTH,
    CHART_WIDTH,
    TEXT_HEIGHT,
    Fill,
    chart_figures,
    fill_for,
)
from app.web.presenters.robustness import estimate, percent, threshold_texts

__all__ = ["BAR_HEIGHT", "BAR_WIDTH", "CHART_WIDTH", "Fill", "fill_for"]


def paper_of(snapshot: dict[str, Any]) -> str:
    """The memo's paper ("letter" or "a4"); memos issued before papers were chosen: A4."""
    paper = snapshot["decision"].get("paper", Paper.A4.value)
    return paper if paper in TEXT_HEIGHT else Paper.LETTER.value


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
    paper = paper_of(snapshot)
    flags = cell_flags(snapshot)
    return {
        "options": options,
        "criteria_by_id": {c["id"]: c for c in criteria},
        "ranked": ranked,
        "active": [o for o in snapshot["options"] if o["status"] == OptionStatus.ACTIVE],
        "withdrawn": [o for o in snapshot["options"] if o["status"] != OptionStatus.ACTIVE],
        "fills": fills,
        "figures": chart_figures(ranked, criteria, options, paper),
        "paper": paper,
        "number": snapshot["memo"].get("number"),
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
        "flags": flags,
        "convergence": convergence(snapshot),
        "risk": bottom_line_risk(snapshot),
        "stamp": provenance_stamp(snapshot),
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


# --------------------------------------------------------------------------------------------
# Cells to read with care: one analyst, or an N/A
# --------------------------------------------------------------------------------------------


def cell_flags(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The matrix cells to read with care: ``single`` (the group value is one analyst's score,
    when the panel has more than one) and ``na`` (at least one analyst marked it N/A), as
    ``"option_id:criterion_id"`` keys with their counts, and sentences for the key. Memos
    issued before the counts were kept flag nothing."""
    several = len(snapshot["analysts"]) > 1
    single: list[str] = []
    na: list[str] = []
    for row in snapshot["matrix"]["rows"]:
        for cell in row["cells"]:
            key = f"{row['option_id']}:{cell['criterion_id']}"
            if several and cell.get("values") == 1:
                single.append(key)
            if cell.get("na"):
                na.append(key)
    sentences = []
    if single:
        n = len(single)
        sentences.append(
            f"† {n} cell{'' if n == 1 else 's'} rest{'s' if n == 1 else ''} on a single "
            "analyst's score: the group value is that one judgement."
        )
    if na:
        n = len(na)
        sentences.append(
            f"‡ {n} cell{'' if n == 1 else 's'} {'has' if n == 1 else 'have'} at least one "
            "analyst's N/A (not applicable), counted as the missing-score policy says."
        )
    return {"single": single, "na": na, "sentences": sentences}


# --------------------------------------------------------------------------------------------
# Delphi convergence: how the team moved from round to round
# --------------------------------------------------------------------------------------------

MOVED_AT_LEAST = 0.5  # a group value that moved by this much (scale points) is listed
MOVED_LISTED = 8


def _spread(cells: list[dict[str, Any]]) -> dict[str, Any]:
    judged = [c for c in cells if (c.get("count") or 0) >= 2 and c["min"] is not None]
    ranges = [c["max"] - c["min"] for c in judged]
    return {
        "contested": sum(1 for c in cells if c.get("contested")),
        "judged": len(judged),
        "median_range": statistics.median(ranges) if ranges else None,
        "widest": max(ranges) if ranges else None,
    }


def convergence(snapshot: dict[str, Any]) -> dict[str, Any] | None:
    """How the team converged, when the memo's round follows others the group has seen
    (None otherwise): ``rounds`` (per round: contested cells, cells judged by two analysts or
    more, median and widest range of scores, the top option), ``settled`` (cells contested
    in the round before and no longer), ``newly`` (contested now, not before), ``moved``
    (cells whose group value moved by at least :data:`MOVED_AT_LEAST`, largest first) and
    ``ranks`` (options whose rank changed since the round before)."""
    before = snapshot.get("rounds_before") or []
    if not before:
        return None
    options = {o["id"]: o["title"] for o in snapshot["options"]}
    codes = {c["id"]: f"{c['code']} {c['name']}" for c in snapshot["criteria"]}
    rows = snapshot["matrix"]["rows"]
    now_cells = [{**cell, "option_id": row["option_id"]} for row in rows for cell in row["cells"]]
    now_options = [
        {"option_id": r["option_id"], "total": r["total"], "rank": r["rank"]} for r in rows
    ]
    current = {"number": snapshot["round"]["number"], "cells": now_cells, "options": now_options}

    def top(entry: dict[str, Any]) -> str:
        firsts = [options.get(o["option_id"], "?") for o in entry["options"] if o["rank"] == 1]
        return " and ".join(firsts) if firsts else "–"

    table = [
        {"number": r["number"], "top": top(r), **_spread(r["cells"])} for r in [*before, current]
    ]
    last = before[-1]
    then = {(c["option_id"], c["criterion_id"]): c for c in last["cells"]}

    def where(c: dict[str, Any]) -> str:
        return f"{options.get(c['option_id'], '?')} on {codes.get(c['criterion_id'], '?')}"

    def span(c: dict[str, Any]) -> str:
        if c["min"] is None:
            return "no scores"
        return f"{c['min']:g}–{c['max']:g}"

    settled, newly, moved = [], [], []
    for c in now_cells:
        old = then.get((c["option_id"], c["criterion_id"]))
        if old is None:
            continue
        if old["contested"] and not c["contested"]:
            settled.append({"cell": where(c), "before": span(old), "now": span(c)})
        elif c["contested"] and not old["contested"]:
            newly.append({"cell": where(c), "before": span(old), "now": span(c)})
        if old["value"] is not None and c["value"] is not None:
            delta = c["value"] - old["value"]
            if abs(delta) >= MOVED_AT_LEAST:
                moved.append(
                    {
                        "cell": where(c),
                        "before": f"{old['value']:.1f}",
                        "now": f"{c['value']:.1f}",
                        "delta": delta,
                    }
                )
    moved.sort(key=lambda m: (-abs(m["delta"]), m["cell"]))
    old_ranks = {o["option_id"]: o["rank"] for o in last["options"]}
    ranks = [
        {
            "option": options.get(o["option_id"], "?"),
            "before": old_ranks.get(o["option_id"]),
            "now": o["rank"],
        }
        for o in sorted(now_options, key=lambda o: (o["rank"] is None, o["rank"] or 0))
        if old_ranks.get(o["option_id"]) != o["rank"]
    ]
    return {
        "previous": last["number"],
        "rounds": table,
        "settled": settled,
        "newly": newly,
        "moved": moved[:MOVED_LISTED],
        "moved_more": max(0, len(moved) - MOVED_LISTED),
        "ranks": ranks,
        "moved_at_least": MOVED_AT_LEAST,
    }


# --------------------------------------------------------------------------------------------
# The bottom line's uncertainty, and the provenance stamp
# --------------------------------------------------------------------------------------------


def bottom_line_risk(snapshot: dict[str, Any]) -> dict[str, Any] | None:
    """What the bottom line states of its own uncertainty (None for memos issued before it
    was kept, or with nothing to analyse): ``chance`` (the sentence on the top option's
    chance of ranking first, its standard error rounded up) and ``weight`` (the sentence on
    the smallest single weight change that alters the top, the threshold rounded towards the
    current weight), with the figures behind them."""
    u = snapshot.get("uncertainty")
    if not u:
        return None
    titles = {o["id"]: o["title"] for o in snapshot["options"]}
    criteria = {c["id"]: c for c in snapshot["criteria"]}
    first = {f["option_id"]: f for f in u["first"]}
    top = [t for t in u["top"] if t in first]
    if not top:
        return None
    names = " and ".join(titles.get(t, "?") for t in top)
    shares = [estimate(first[t]["p"] or 0.0, first[t]["se"] or 0.0) for t in top]
    samples = f"{u['samples']:,} simulations of the weights and scores"
    if len(top) == 1:
        chance = (
            f"Chance that {names} ranks first: {shares[0]} ({samples}; “±” is one standard error)."
        )
    else:
        chance = (
            f"{names} are level at the agreed weights; their chances of ranking first: "
            f"{', '.join(shares)} ({samples})."
        )
    n = u.get("nearest")
    if n is None:
        weight = "No single change of one weight alters which option ranks first."
    else:
        c = criteria.get(n["criterion_id"])
        name = f"{c['code']} {c['name']}" if c else "one criterion"
        weight = _weight_sentence(n, name, titles)
    return {"chance": chance, "weight": weight, "top": top}


def _weight_sentence(n: dict[str, Any], name: str, titles: dict[int, str]) -> str:
    ends = []
    for side, verb, threshold, who in (
        ("above", "rises", n["upper"], n["above_option_id"]),
        ("below", "falls", n["lower"], n["below_option_id"]),
    ):
        if who is None or threshold is None:
            continue
        if (threshold >= 1.0) if side == "above" else (threshold <= 0.0):
            continue
        texts = threshold_texts(threshold, n["weight"] or 0.0, side == "above")
        change = abs(threshold - (n["weight"] or 0.0))
        if texts is None:
            clause = f"{verb} at all from {percent(n['weight'] or 0.0)}"
        else:
            clause = f"{verb} from {texts[1]} % to {side} {texts[0]} %"
        ends.append((change, clause, titles.get(who, "another option")))
    if not ends:
        return "No single change of one weight alters which option ranks first."
    _, clause, who = min(ends, key=lambda e: e[0])
    return (
        f"The ranking changes soonest if the weight of {name} {clause} (the other weights "
        f"rescaled in proportion): {who} would then rank first."
    )


def provenance_stamp(snapshot: dict[str, Any]) -> str | None:
    """What reproduces the memo's robustness figures, in one line (None when none were
    computed): the aggregation, missing-score policy, weight and score models, samples, seed
    and version."""
    u = snapshot.get("uncertainty")
    if not u or not u.get("stamp"):
        return None
    s = u["stamp"]
    band = s.get("band_percentage_points")
    weights = "any weighting" if band is None else f"band ± {band:g} points"
    return (
        f"Cells combined by the {s.get('aggregation')}; missing scores: "
        f"{s.get('missing_policy')}; weights: {weights}; scores: {s.get('score_model')} "
        f"model; {s.get('samples'):,} samples; seed {s.get('seed')}; "
        f"Options Matrix {s.get('app_version')}."
    )


# --------------------------------------------------------------------------------------------
# File names
# --------------------------------------------------------------------------------------------

SLUG_MAX = 60


def slug(text: str) -> str:
    """``text`` as a safe ASCII file-name part: accents dropped, lower case, words joined by
    hyphens, at most :data:`SLUG_MAX` characters ("" when nothing ASCII is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(words) > SLUG_MAX:
        words = words[:SLUG_MAX].rsplit("-", 1)[0] or words[:SLUG_MAX]
    return words


def memo_basename(decision_id: int, title: str, number: int, issued: datetime) -> str:
    """The name an issued memo's files share, without the extension:
    ``us-engagement-in-central-asia_memo-3_2026-11-28``; a title with no ASCII letters or
    digits falls back to ``decision-<id>``."""
    return f"{slug(title) or f'decision-{decision_id}'}_memo-{number}_{issued:%Y-%m-%d}"


def download_name(
    decision_id: int, title: str, number: int, issued: datetime, extension: str = "pdf"
) -> str:
    """The name an issued memo's PDF (``extension="docx"``: its Word copy; ``"json"``: its
    snapshot) downloads under."""
    stem = memo_basename(decision_id, title, number, issued)
    return f"{stem}_snapshot.json" if extension == "json" else f"{stem}.{extension}"
