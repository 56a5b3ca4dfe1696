"""The matrix as spreadsheet tables: what the viewer sees on the matrix page, no more."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.adapters.spreadsheets import Sheet, to_csv, to_xlsx
from app.services.matrix import Matrix


def _cell_text(m: Matrix, option_id: int, criterion_id: int) -> float | str | None:
    cell = m.cells[(option_id, criterion_id)]
    if m.group_visible:
        return round(cell.value, 4) if cell.value is not None else None
    mine = cell.mine
    if mine is None:
        return None
    if mine.not_applicable:
        return "N/A"
    return mine.value


def matrix_table(m: Matrix) -> list[list[Any]]:
    """Header, weight row, one row per option: group values (or the viewer's own scores
    while a blind round is unrevealed), total and rank."""
    value_kind = f"group {m.method}" if m.group_visible else "your score (round not revealed)"
    header: list[Any] = ["Option"]
    header += [f"{c.name} ({c.direction})" for c in m.criteria]
    header += ["Total (0-100)", "Rank"]
    weights: list[Any] = [f"Weight share; cells: {value_kind}"]
    weights += [round(w * 100, 2) for w in m.weights] + [None, None]
    rows = [header, weights]
    for o in m.options:
        row: list[Any] = [o.title]
        row += [_cell_text(m, o.id, c.id) for c in m.criteria]
        total = m.totals.get(o.id)
        row += [round(total, 2) if total is not None else None, m.ranks.get(o.id)]
        rows.append(row)
    return rows


def _about(m: Matrix, *, historical: bool) -> list[list[Any]]:
    d = m.decision
    return [
        ["Decision", d.title],
        ["Question", d.question],
        ["Classification", d.classification],
        ["Round", m.round.number],
        ["Scoring", d.scoring_mode + (", revealed" if m.revealed else "")],
        ["Group value", m.method],
        ["Scale", f"{d.scale_min}–{d.scale_max}"],
        ["As of change", m.revision],
        ["Historical", "yes" if historical else "no (current)"],
        ["Exported at (UTC)", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")],
    ]


def _score_rows(m: Matrix) -> list[list[Any]]:
    rows: list[list[Any]] = [["Option", "Criterion", "Analyst", "Score", "Rationale"]]
    for o in m.options:
        for c in m.criteria:
            cell = m.cells[(o.id, c.id)]
            if m.group_visible:
                for s in cell.scores or []:
                    value = "N/A" if s.not_applicable else s.value
                    rows.append([o.title, c.name, s.label, value, s.rationale])
            elif cell.mine is not None:
                value = "N/A" if cell.mine.not_applicable else cell.mine.value
                rows.append([o.title, c.name, "You", value, cell.mine.rationale])
    return rows


def matrix_csv(m: Matrix) -> str:
    return to_csv(matrix_table(m))


def matrix_xlsx(m: Matrix, *, historical: bool = False) -> bytes:
    """A workbook: the matrix, the criteria, the visible scores with rationales, and provenance."""
    criteria = [["Criterion", "Direction", "Weight", "Share (%)", "Description"]] + [
        [c.name, c.direction, c.weight, round(w * 100, 2), c.description]
        for c, w in zip(m.criteria, m.weights, strict=True)
    ]
    return to_xlsx(
        [
            Sheet("Matrix", matrix_table(m), widths={"A": 48}, freeze="B3"),
            Sheet("Criteria", criteria),
            Sheet("Scores", _score_rows(m)),
            Sheet(
                "About",
                [["Field", "Value"], *_about(m, historical=historical)],
                widths={"A": 22, "B": 80},
            ),
        ]
    )
