"""The matrix as spreadsheet tables: what the viewer sees on the matrix page, no more.

Built on :func:`app.services.matrix_data.matrix_data`, the serialisation the API and memos
read too, which keeps the visibility rule.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.adapters.spreadsheets import Sheet, to_csv, to_xlsx
from app.services.matrix import Matrix
from app.services.matrix_data import CellData, MatrixData, cells_by_key, matrix_data


def _cell_text(cell: CellData, visible: bool) -> float | str | None:
    if visible:
        return round(cell["value"], 4) if cell["value"] is not None else None
    mine = cell["mine"]
    if mine is None:
        return None
    if mine["not_applicable"]:
        return "N/A"
    return mine["value"]


def matrix_table(data: MatrixData) -> list[list[Any]]:
    """Header, weight row, one row per option: group values (or the viewer's own scores
    while a blind round is unrevealed), total and rank."""
    visible = data["group_visible"]
    criteria = data["criteria"]
    cells = cells_by_key(data)
    value_kind = f"group {data['method']}" if visible else "your score (round not revealed)"
    header: list[Any] = ["Option"]
    header += [f"{c['name']} ({c['direction']})" for c in criteria]
    header += ["Total (0-100)", "Rank"]
    weights: list[Any] = [f"Weight share; cells: {value_kind}"]
    weights += [round(c["weight_normalised"] * 100, 2) for c in criteria] + [None, None]
    rows = [header, weights]
    for o in data["options"]:
        row: list[Any] = [o["title"]]
        row += [_cell_text(cells[(o["id"], c["id"])], visible) for c in criteria]
        total = o["total"]
        row += [round(total, 2) if total is not None else None, o["rank"]]
        rows.append(row)
    return rows


def _about(data: MatrixData, *, historical: bool) -> list[list[Any]]:
    d = data["decision"]
    return [
        ["Decision", d["title"]],
        ["Question", d["question"]],
        ["Classification", d["classification"]],
        ["Round", data["round"]],
        ["Scoring", d["scoring_mode"] + (", revealed" if data["revealed"] else "")],
        ["Group value", data["method"]],
        ["Scale", f"{d['scale_min']}–{d['scale_max']}"],
        ["As of change", data["revision"]],
        ["Historical", "yes" if historical else "no (current)"],
        ["Exported at (UTC)", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")],
    ]


def _score_rows(data: MatrixData) -> list[list[Any]]:
    rows: list[list[Any]] = [["Option", "Criterion", "Analyst", "Score", "Rationale"]]
    cells = cells_by_key(data)
    for o in data["options"]:
        for c in data["criteria"]:
            cell = cells[(o["id"], c["id"])]
            mine = cell["mine"]
            if data["group_visible"]:
                for s in cell["scores"] or []:
                    value = "N/A" if s["not_applicable"] else s["value"]
                    rows.append([o["title"], c["name"], s["analyst"], value, s["rationale"]])
            elif mine is not None:
                value = "N/A" if mine["not_applicable"] else mine["value"]
                rows.append([o["title"], c["name"], "You", value, mine["rationale"]])
    return rows


def matrix_csv(m: Matrix) -> str:
    return to_csv(matrix_table(matrix_data(m)))


def matrix_xlsx(m: Matrix, *, historical: bool = False) -> bytes:
    """A workbook: the matrix, the criteria, the visible scores with rationales, and provenance."""
    data = matrix_data(m)
    criteria: list[list[Any]] = [["Criterion", "Direction", "Weight", "Share (%)", "Description"]]
    criteria += [
        [
            c["name"],
            c["direction"],
            c["weight"],
            round(c["weight_normalised"] * 100, 2),
            c["description"],
        ]
        for c in data["criteria"]
    ]
    return to_xlsx(
        [
            Sheet("Matrix", matrix_table(data), widths={"A": 48}, freeze="B3"),
            Sheet("Criteria", criteria),
            Sheet("Scores", _score_rows(data)),
            Sheet(
                "About",
                [["Field", "Value"], *_about(data, historical=historical)],
                widths={"A": 22, "B": 80},
            ),
        ]
    )
