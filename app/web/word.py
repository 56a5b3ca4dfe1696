"""The memo's Word copy for clearance: the same memo as the PDF, as an editable ``.docx``.

:func:`render_memo_docx` takes the printed snapshot (the one the HTML printer gets, with its
``snapshot_sha256``; see :func:`app.services.memos.with_digest`) and writes the sections of
templates/memo/memo.html in the same order, from the same view model
(:func:`app.web.presenters.memo.memo_view`) and the same number formats
(:mod:`app.web.formatting`): the marking in every page's header and footer, the memo's
addressing, each section under a Word heading, tables as Word tables, the chart as PNG
images with alternative text, and the provenance. The same snapshot always gives the same
bytes. The Word building blocks are :mod:`app.adapters.word` (documents),
:mod:`app.adapters.word_markdown` (Markdown as paragraphs) and
:mod:`app.adapters.chart_images` (the chart's pictures).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.adapters.markdown import render_markdown
from app.adapters.word import Properties, Run, Text, WordDocument
from app.adapters.word_markdown import write_html
from app.domain.vocabulary import Direction
from app.web import word_sections as later
from app.web.formatting import num, pct
from app.web.presenters.memo import memo_view
from app.web.word_sections import plural


def render_memo_docx(snapshot: dict[str, Any], *, pdf_sha256: str | None = None) -> bytes:
    """The memo's ``.docx`` for the printed ``snapshot`` (with its ``snapshot_sha256``),
    byte-identical for the same snapshot; ``pdf_sha256``, when given, names the issued PDF
    this copy goes with in its provenance."""
    s, v = snapshot, memo_view(snapshot)
    decision, memo = s["decision"], s["memo"]
    reference = (
        f"Decision {decision['id']} · round {s['round']['number']} · revision {s['revision']}"
    )
    if v["number"]:
        reference = f"Memo {v['number']} · {reference}"
    doc = WordDocument(
        properties=Properties(
            title=memo["subject"],
            author=memo["from"],
            subject=f"{decision['title']} — decision memo, round {s['round']['number']}",
            keywords=f"decision memo, {decision['classification']}",
            created=datetime.fromisoformat(s["generated_at"]),
            comments=f"Snapshot SHA-256 {s.get('snapshot_sha256', '')}",
            category=decision["classification"],
        ),
        paper=v["paper"],
        marking=decision["classification"],
        footer_line=reference,
    )
    _head(doc, s, v)
    _bottom_line(doc, s, v)
    _background(doc, s)
    _options(doc, v)
    _criteria(doc, s)
    _matrix(doc, s, v)
    if "chart" in v["include"]:
        later.chart(doc, s, v)
    if "disagreements" in v["include"]:
        later.disagreements(doc, s, v)
    if v["convergence"]:
        later.convergence(doc, s, v["convergence"])
    if v["group"] is not None:
        later.group_views(doc, v["group"])
    if "robustness" in v["include"]:
        later.robustness(doc, s, v)
    later.provenance(doc, s, v, pdf_sha256)
    return doc.to_bytes()


def _markdown(doc: WordDocument, text: str | None) -> None:
    write_html(doc, str(render_markdown(text, links=False)))


def _head(doc: WordDocument, s: dict[str, Any], v: dict[str, Any]) -> None:
    memo = s["memo"]
    number = f" · Memo {v['number']}" if v["number"] else ""
    doc.paragraph(Run(f"DECISION MEMORANDUM{number.upper()}", bold=True))
    doc.title(memo["subject"])
    rows: list[list[Text]] = [
        ["MEMORANDUM FOR", memo["memorandum_for"]],
        ["FROM", memo["from"]],
        ["DATE", v["date"]],
        ["SUBJECT", memo["subject"]],
    ]
    doc.table(None, rows, row_headers=True, widths_mm=(48.0, 122.0), title="Addressing")


def _bottom_line(doc: WordDocument, s: dict[str, Any], v: dict[str, Any]) -> None:
    doc.heading("Bottom line", 1)
    _markdown(doc, s["memo"]["bottom_line"])
    rounds = s["round"]["rounds"]
    active, criteria = len(v["active"]), len(s["criteria"])
    doc.paragraph(
        " · ".join(
            [
                f"Round {s['round']['number']}" + (f" of {rounds}" if rounds > 1 else ""),
                plural(v["analyst_count"], "analyst", "analysts"),
                plural(active, "option", "options"),
                plural(criteria, "criterion", "criteria"),
                f"scale {s['decision']['scale_min']}–{s['decision']['scale_max']}, "
                f"group {s['method']}",
                plural(v["contested_count"], "contested cell", "contested cells"),
            ]
        ),
        note=True,
    )
    if v["ranked"] and v["ranked"][0]["total"] is not None:
        top = [r for r in v["ranked"][:3] if r["total"] is not None]
        doc.table(
            ["Rank", "Option", "Total"],
            [[str(r["rank"]), v["options"][r["option_id"]]["title"], num(r["total"])] for r in top],
            numeric=(0, 2),
            widths_mm=(15.0, 135.0, 20.0),
            title="The first-ranked options",
        )
    if v["risk"]:
        doc.items([v["risk"]["chance"], v["risk"]["weight"]])


def _background(doc: WordDocument, s: dict[str, Any]) -> None:
    doc.heading("Background and question", 1)
    if s["decision"]["question"]:
        doc.paragraph([Run("The question. ", bold=True), Run(s["decision"]["question"])])
    _markdown(doc, s["decision"]["background"])


def _options(doc: WordDocument, v: dict[str, Any]) -> None:
    doc.heading("Options considered", 1)
    for index, option in enumerate(v["active"], start=1):
        doc.heading(f"{index}. {option['title']}", 2)
        if option["summary"]:
            doc.paragraph(Run(option["summary"], italic=True))
        if option["description"]:
            _markdown(doc, option["description"])
    if v["withdrawn"]:
        doc.heading("Withdrawn options", 2)
        doc.items(
            [
                Run(o["title"], bold=True),
                Run(" (withdrawn)" + (f" — {o['summary']}" if o["summary"] else "")),
            ]
            for o in v["withdrawn"]
        )
        doc.paragraph(
            "Withdrawn options are not scored and do not appear in the matrix.", note=True
        )


def _direction(criterion: dict[str, Any]) -> str:
    if criterion["direction"] == Direction.BENEFIT:
        return "Benefit: higher is better"
    return "Cost: lower is better"


def _criteria(doc: WordDocument, s: dict[str, Any]) -> None:
    doc.heading("Criteria and weights", 1)
    rows: list[list[Text]] = []
    for c in s["criteria"]:
        name: list[Run] = [Run(c["name"], bold=True)]
        if c.get("description"):
            name += [Run("\n"), Run(c["description"], small=True)]
        rows.append([c["code"], name, _direction(c), pct(c["share"], 1)])
    rows.append(["", "Weights are normalised to sum to 100 %.", "", "100.0 %"])
    doc.table(
        ["Code", "Criterion", "Direction", "Weight"],
        rows,
        numeric=(3,),
        widths_mm=(17.0, 93.0, 40.0, 20.0),
        title="Criteria and weights",
    )


def _matrix(doc: WordDocument, s: dict[str, Any], v: dict[str, Any]) -> None:
    wide = v["matrix_wide"]
    if wide:
        doc.new_section(landscape=True)
    doc.heading("The matrix", 1)
    low, high = s["decision"]["scale_min"], s["decision"]["scale_max"]
    flags = v["flags"]
    single, na = set(flags["single"]), set(flags["na"])
    doc.paragraph(
        f"Group {s['method']} of the analysts' scores (scale {low}–{high}) per option and "
        "criterion, in rank order. Totals are weighted means of the scores mapped onto 0–100, "
        "with cost criteria inverted; ties share a rank. ▲ shaded cells are contested: the "
        "analysts' scores span at least half the scale."
        + (" † marks a cell resting on one analyst's score." if flags["single"] else "")
        + (" ‡ marks a cell with an N/A." if flags["na"] else "")
    )
    criteria = s["criteria"]
    header: list[Text] = ["Rank", "Option"]
    for c in criteria:
        arrow = "↑" if c["direction"] == Direction.BENEFIT else "↓"
        header.append(
            [
                Run(c["code"], bold=True),
                Run("\n"),
                Run(f"{arrow}\u00a0{pct(c['share'], 0)}".replace(" ", "\u00a0")),
            ]
        )
    header.append("Total")
    rows: list[list[Text]] = []
    shaded: list[tuple[int, int]] = []
    missing, incomplete = v["missing"], v["incomplete"]
    for i, r in enumerate(v["ranked"]):
        row: list[Text] = [
            "–" if r["rank"] is None else str(r["rank"]),
            v["options"][r["option_id"]]["title"],
        ]
        for j, cell in enumerate(r["cells"]):
            key = f"{r['option_id']}:{cell['criterion_id']}"
            row.append(
                ("▲" if cell["contested"] else "")
                + num(cell["value"])
                + ("†" if key in single else "")
                + ("‡" if key in na else "")
            )
            if cell["contested"]:
                shaded.append((i, j + 2))
        partial = (
            r["option_id"] in incomplete
            if missing
            else r["total"] is not None and r["completeness"] is not None and r["completeness"] < 1
        )
        row.append(num(r["total"]) + ("*" if partial else ""))
        rows.append(row)
    page = doc.text_width_mm
    small = len(criteria) > 5
    rank_width, option_width, total_width = (12.0, 42.0, 14.0) if small else (15.0, 45.0, 17.0)
    rest = page - rank_width - option_width - total_width
    cell_width = min(22.0, max(9.0, rest / max(1, len(criteria))))
    option_width = max(option_width, page - rank_width - total_width - cell_width * len(criteria))
    doc.table(
        header,
        rows,
        numeric=[0, *range(2, len(criteria) + 3)],
        shaded=shaded,
        widths_mm=[rank_width, option_width, *([cell_width] * len(criteria)), total_width],
        small=small,
        title=f"The matrix: group {s['method']} per option and criterion, in rank order",
    )
    key = " · ".join(f"{c['code']} {c['name']}" for c in criteria)
    note = (
        key + ". ↑ benefit (higher is better), ↓ cost (lower is better); percentages are weights."
    )
    if missing:
        if incomplete:
            note += (
                " * Not every criterion was scored for this option; how its total counts the "
                "gaps, and the range it could still take, are under “Missing scores” below."
            )
    elif v["partial"]:
        note += (
            " * Not every criterion was scored for this option; its total rests on the "
            "criteria that were."
        )
    for sentence in flags["sentences"]:
        note += f" {sentence}"
    doc.paragraph(note, note=True)
    if missing:
        _missing(doc, v)
    if wide:
        doc.new_section(landscape=False)


def _missing(doc: WordDocument, v: dict[str, Any]) -> None:
    missing = v["missing"]
    doc.heading("Missing scores", 2)
    doc.paragraph(missing["sentence"])
    if v["incomplete"]:
        doc.table(
            ["Option", "Total", "Weight scored", "Total once fully scored"],
            [
                [o["title"], num(o["total"]), o["coverage_text"], o["range_text"] or "fully scored"]
                for o in v["missing_rows"]
            ],
            numeric=(1, 2, 3),
            title="Missing scores: each option's weight scored and possible range",
        )
        doc.paragraph(
            "“Weight scored” is the share of the weight the total rests on actual scores "
            "(rounded down). “Total once fully scored” is the range the total could take once "
            "the missing scores are given, each anywhere from the worst to the best end of the "
            "scale at full weight (low end rounded down, high end up).",
            note=True,
        )
    else:
        doc.paragraph(
            "Every ranked option was scored on every criterion that carries weight: each total "
            "rests on 100 % of the weight.",
            note=True,
        )
    for x in missing["outranks"]:
        doc.paragraph(x["sentence"])
