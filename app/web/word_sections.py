"""The later sections of the memo's Word copy (:mod:`app.web.word`): the chart, where the
team disagrees, the group's own views, robustness and provenance — as templates/memo/memo.html
and templates/decisions/_group_views.html word and order them.
"""

from __future__ import annotations

from typing import Any

from app.adapters import chart_images
from app.adapters.word import Picture, Run, Text, WordDocument
from app.domain.vocabulary import Direction, ScoringMode
from app.web.formatting import num, prob, score_text
from app.web.presenters import memo as memo_presenter

CHART_DPI = 200


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def chart(doc: WordDocument, s: dict[str, Any], v: dict[str, Any]) -> None:
    doc.heading("What drives the totals", 1)
    doc.paragraph(
        "Each bar is an option's total (0–100); its segments show how many points each "
        "criterion contributes, so a long segment is a criterion on which the option scores "
        "well and which carries weight."
    )
    figures, criteria = v["figures"], s["criteria"]
    if not figures:
        doc.paragraph("No option has a total yet, so there is nothing to chart.", note=True)
        return
    paints = [chart_images.Paint(f.kind, f.ground, f.ink) for f in v["fills"]]
    doc.caption("Key to the figures")
    doc.table(
        ["Fill", "Code", "Criterion", "Weight"],
        [
            [
                Picture(
                    chart_images.swatch_png(paints[j], dpi=CHART_DPI),
                    8.0,
                    alt=f"The fill of criterion {c['code']} in the figures.",
                ),
                c["code"],
                c["name"],
                f"{(c['share'] or 0) * 100:.0f} %",
            ]
            for j, c in enumerate(criteria)
        ],
        numeric=(3,),
        widths_mm=(14.0, 17.0, 119.0, 20.0),
        title="Key to the figures: each criterion's fill",
    )
    many = len(figures) > 1
    for number, fig in enumerate(figures, start=1):
        png = chart_images.stacked_bars_png(_stacked_bars(fig, paints), dpi=CHART_DPI)
        span = f" (options {fig['first']}–{fig['last']} by rank)" if many else ""
        doc.picture(
            Picture(
                png,
                memo_presenter.CHART_WIDTH,
                # The words the PDF gives the same figure (its SVG's title).
                alt=f"Figure {number}{span}. {fig['description']}",
                title=f"Figure {number}",
            )
        )
        doc.caption(
            f"Figure {number}{span}. Totals by option, stacked by each criterion's contribution."
        )


def _stacked_bars(
    fig: dict[str, Any], paints: list[chart_images.Paint]
) -> chart_images.StackedBars:
    """The presenter's figure (millimetres) as the chart adapter draws it."""
    return chart_images.StackedBars(
        width=memo_presenter.CHART_WIDTH,
        height=fig["height"],
        bar_height=memo_presenter.BAR_HEIGHT,
        ticks=[(t["x"], str(t["label"])) for t in fig["ticks"]],
        bars=[
            chart_images.Bar(
                title=b["title"],
                total=f"{b['total']:.1f}",
                title_y=b["title_y"],
                bar_y=b["bar_y"],
                end=b["end"],
                segments=[
                    chart_images.Segment(
                        x=seg["x"],
                        width=seg["width"],
                        paint=seg["fill"],
                        code=seg["code"],
                        label=seg["label"],
                    )
                    for seg in b["segments"]
                ],
            )
            for b in fig["bars"]
        ],
        paints=paints,
    )


def disagreements(doc: WordDocument, s: dict[str, Any], v: dict[str, Any]) -> None:
    doc.heading("Where the team disagrees", 1)
    disputes = s["disagreements"]
    if not disputes:
        settled = (
            f" How the team got there from round {v['convergence']['previous']} is set out "
            "under “How the team converged”."
            if v["convergence"]
            else ""
        )
        doc.paragraph(
            f"No cell is contested in round {s['round']['number']}: on every cell the analysts' "
            f"scores span less than half the scale.{settled}"
        )
        return
    one = len(disputes) == 1
    doc.paragraph(
        f"{plural(len(disputes), 'cell', 'cells')} {'is' if one else 'are'} contested: the "
        "analysts' scores span at least half the scale. Widest disagreements first; each "
        "analyst's score and reasoning as recorded."
    )
    for d in disputes:
        criterion = v["criteria_by_id"][d["criterion_id"]]
        title = v["options"][d["option_id"]]["title"]
        doc.heading(f"{title} on {criterion['code']} {criterion['name']}", 2)
        cost = " (cost: lower is better)" if criterion["direction"] == Direction.COST else ""
        doc.paragraph(
            f"Group {s['method']} {num(d['value'])}; scores range from {score_text(d['min'])} "
            f"to {score_text(d['max'])}{cost}."
        )
        doc.table(
            ["Analyst", "Score", "Rationale"],
            [
                [
                    sc["analyst"],
                    "N/A" if sc.get("not_applicable") else score_text(sc["value"]),
                    sc["rationale"] or "—",
                ]
                for sc in d["scores"]
            ],
            numeric=(1,),
            widths_mm=(35.0, 18.0, 117.0),
            title="Each analyst's score and rationale",
        )


def group_views(doc: WordDocument, view: Any) -> None:
    """The group's own views, as templates/decisions/_group_views.html draws them in a memo."""
    doc.heading("The group's own views", 1)
    if view.notice:
        doc.paragraph(view.notice)
        return
    if view.later_round_note:
        doc.paragraph(view.later_round_note, note=True)
    if len(view.columns) <= 10:
        doc.caption(
            f"Each analyst's own ranking beside the group's, round {view.round_number} "
            "(1 = first; ties share a rank; – = not ranked)"
        )
        rows: list[list[Text]] = []
        if view.group_row:
            rows.append([view.group_row.label, *view.group_row.ranks])
        for row in view.rows:
            label = row.label + (" (you)" if row.you else "") + ("" if row.counted else " *")
            rows.append([label, *row.ranks])
        doc.table(
            ["Ranking", *view.columns],
            rows,
            numeric=range(1, len(view.columns) + 1),
            row_headers=True,
            small=len(view.columns) > 5,
            title="Each analyst's own ranking beside the group's",
        )
        if view.incomplete_note:
            doc.paragraph(view.incomplete_note, note=True)
    else:
        doc.paragraph(
            f"Each analyst's own ranking of the {len(view.columns)} options is on the "
            "decision page.",
            note=True,
        )
    if view.agreement:
        doc.paragraph(view.agreement)
        doc.paragraph(
            "Kendall's W measures how alike the analysts' own rankings are: 0 means no common "
            "ordering, 1 means every analyst ranks the options the same way. Tied ranks are "
            "corrected for.",
            note=True,
        )
    for sentence in view.influence:
        doc.paragraph(sentence)
    if view.convergence:
        doc.caption("Convergence round by round (rounds still blind are left out)")
        doc.table(
            [
                "Round",
                "Median interquartile range per cell",
                "Contested cells",
                "Since the round before",
            ],
            [
                [f"Round {c.round_number}", c.median_iqr, c.contested, c.change]
                for c in view.convergence
            ],
            numeric=(1, 2),
            row_headers=True,
            title="Spread of the scores round by round",
        )
        doc.paragraph(
            "The interquartile range is the spread of the middle half of the analysts' scores "
            "in a cell; its median is taken over the cells scored by at least two analysts, and "
            "a smaller figure means closer scores. A cell counts as contested when its scores "
            "span at least half the scale.",
            note=True,
        )


def convergence(doc: WordDocument, s: dict[str, Any], cv: dict[str, Any]) -> None:
    """How the team converged over Delphi rounds (the presenter's :func:`convergence`)."""
    doc.heading("How the team converged", 1)
    previous = cv["previous"]
    doc.paragraph(
        f"The analysts scored in {len(cv['rounds'])} rounds, each starting from their previous "
        "scores after seeing the group's (Delphi style). The spread of their scores, round by "
        "round:"
    )
    doc.table(
        [
            "Round",
            "Contested cells",
            "Cells with 2+ scores",
            "Median range",
            "Widest range",
            "Ranked first",
        ],
        [
            [
                f"Round {r['number']}",
                str(r["contested"]),
                str(r["judged"]),
                num(r["median_range"]),
                num(r["widest"]),
                r["top"],
            ]
            for r in cv["rounds"]
        ],
        numeric=(1, 2, 3, 4),
        row_headers=True,
        widths_mm=(20.0, 26.0, 24.0, 20.0, 20.0, 60.0),
        title="Convergence round by round",
    )
    doc.paragraph(
        "A cell's range is its highest score minus its lowest, in scale points; the median and "
        "widest are over the cells at least two analysts scored. Contested: a range of at least "
        "half the scale.",
        note=True,
    )

    def moves(cells: list[dict[str, Any]]) -> list[str]:
        return [
            f"{c['cell']}: scores {c['before']} in round {previous}, {c['now']} now." for c in cells
        ]

    doc.heading(f"No longer contested since round {previous}", 2)
    if cv["settled"]:
        doc.items(moves(cv["settled"]))
    elif cv["rounds"][-2]["contested"]:
        doc.paragraph(f"None: every cell contested in round {previous} still is.")
    else:
        doc.paragraph(f"None: no cell was contested in round {previous}.")
    if cv["newly"]:
        doc.heading("Newly contested", 2)
        doc.items(moves(cv["newly"]))
    doc.heading("What moved", 2)
    if cv["moved"]:
        doc.items(
            f"{c['cell']}: group {s['method']} {c['before']} → {c['now']}." for c in cv["moved"]
        )
        more = cv["moved_more"]
        if more:
            doc.paragraph(
                f"And {plural(more, 'more cell', 'more cells')} moved by "
                f"{cv['moved_at_least']} points or more.",
                note=True,
            )
    else:
        doc.paragraph(
            f"No group value moved by {cv['moved_at_least']} points or more since round {previous}."
        )
    if cv["ranks"]:
        changes = "; ".join(
            f"{r['option']} {'unranked' if r['before'] is None else r['before']} → "
            f"{'unranked' if r['now'] is None else r['now']}"
            for r in cv["ranks"]
        )
        doc.paragraph(f"Ranks that changed since round {previous}: {changes}.")
    else:
        doc.paragraph(f"No option's rank changed since round {previous}.")


def robustness(doc: WordDocument, s: dict[str, Any], v: dict[str, Any]) -> None:
    doc.heading("Robustness", 1)
    rb = s["robustness"]
    if not (rb and rb.get("ready")):
        note = rb.get("note") if rb else None
        doc.paragraph(note or "Robustness figures are not available: no option has a total yet.")
        return
    if rb.get("headline"):
        doc.paragraph(Run(rb["headline"], bold=True))
    for tie in rb.get("ties") or []:
        doc.paragraph(tie)
    doc.caption("Chance of ranking first")
    doc.table(
        ["Option", "Probability", "Bar"],
        [
            [
                v["options"][f["option_id"]]["title"],
                f["text"] or prob(f["p"]),
                Picture(
                    chart_images.share_bar_png(f["p"] or 0.0, dpi=CHART_DPI),
                    30.0,
                    alt=(
                        f"A bar {prob(f['p'])} long: {v['options'][f['option_id']]['title']}'s "
                        "chance of ranking first"
                    ),
                ),
            ]
            for f in rb["first"]
        ],
        numeric=(1,),
        widths_mm=(100.0, 30.0, 40.0),
        title="Chance of ranking first",
    )
    doc.heading("Sensitivity to each weight", 2)
    doc.items(x["text"] for x in rb["sensitivity"])
    m = rb["methods"]
    second = Run("A second method. ", bold=True)
    if m.get("sentence"):
        doc.paragraph([second, Run(m["sentence"])])
    elif m.get("agree") is not None:
        topsis = " and ".join(m["topsis_top"])
        if m["agree"]:
            text = (
                "TOPSIS, which ranks options by their distance from the ideal and the worst "
                f"values, also puts {topsis} first."
            )
        else:
            text = (
                "TOPSIS, which ranks options by their distance from the ideal and the worst "
                f"values, puts {topsis} first instead of {' and '.join(m['weighted_sum_top'])}: "
                "the recommendation depends on how the scores are combined."
            )
        if m.get("topsis_excluded"):
            text += f" ({', '.join(m['topsis_excluded'])} left out for missing scores.)"
        doc.paragraph([second, Run(text)])
    samples = f"{rb['samples']:,}"
    if rb.get("scores"):
        doc.paragraph(
            f"Method: {samples} simulations, each with {rb['weights']} (the weight model) and "
            f"{rb['scores']} (the score model); “±” is one standard error of the sampling. The "
            "samples are drawn from a fixed seed, so the figures are reproducible and match the "
            "decision page's robustness panel with the same settings. Sensitivity moves one "
            "weight at a time, rescaling the others in proportion, and reports where the "
            "first-ranked option changes; it is exact, not sampled, and its thresholds are "
            "rounded towards the current weight.",
            note=True,
        )
        doc.paragraph(f"To reproduce: {rb['stamp_text']}", note=True)
    else:
        doc.paragraph(
            f"Method: {samples} simulations with {rb['weights']}, and each cell's score drawn "
            f"from one of the analysts' own scores (fixed seed {rb['seed']}, so the figures are "
            "reproducible and match the decision page's robustness panel). Sensitivity moves one "
            "weight at a time, rescaling the others in proportion, and reports where the "
            "first-ranked option changes; it is exact, not sampled.",
            note=True,
        )


def provenance(
    doc: WordDocument, s: dict[str, Any], v: dict[str, Any], pdf_sha256: str | None
) -> None:
    doc.heading("Provenance", 1)
    decision, issuer = s["decision"], s["issuer"]
    revealed = ", revealed" if decision["scoring_mode"] == ScoringMode.BLIND else ""
    by = issuer["name"] + (f" ({issuer['username']})" if issuer.get("username") else "")
    number = v["number"]
    memo = (
        f"No. {number} of decision #{decision['id']}" if number else f"Decision #{decision['id']}"
    )
    rows: list[list[Text]] = [
        ["Memo", f"{memo} · {decision['title']}"],
        [
            "Round",
            f"{s['round']['number']} ({decision['scoring_mode']} scoring{revealed}) · Revision "
            f"{s['revision']} — the latest recorded change this memo reflects",
        ],
        ["Generated", f"{v['generated']} by {by} · Options Matrix {s['app_version']}"],
        ["Snapshot SHA-256", Run(s.get("snapshot_sha256", ""), mono=True)],
    ]
    if v["stamp"]:
        rows.append(["Figures", v["stamp"]])
    if pdf_sha256:
        rows.append(["PDF SHA-256", Run(pdf_sha256, mono=True)])
    doc.table(None, rows, row_headers=True, widths_mm=(48.0, 122.0), title="Provenance")
    doc.paragraph(
        "The snapshot is the exact data this memo was rendered from, archived with the PDF "
        "and its SHA-256 in the decision's memo register; the same snapshot always renders "
        "the same memo. An issued memo is never changed; a later memo supersedes it.",
        note=True,
    )
    doc.paragraph(
        "This Word copy is for clearance: it is rendered from the same snapshot as the PDF, "
        "and the same snapshot always gives the same file. The issued PDF remains the memo of "
        "record.",
        note=True,
    )
