"""The matrix as plain data: the one serialisation of the matrix view model.

:func:`matrix_data` walks a :class:`~app.services.matrix.Matrix` once and keeps its visibility
rule: while the group's results are hidden (a blind round not yet revealed) every group
figure — value, spread, count, contribution, each analyst's score, total, rank — is None and
only the viewer's own scores are there. The JSON API, the memo snapshot and the spreadsheet
downloads all read the matrix through it; each then picks its fields and rounds as its
format needs. Numbers are passed through as the matrix holds them (no rounding here).
"""

from __future__ import annotations

import math
from typing import Any, TypedDict

from app.services.matrix import Matrix


class ScoreData(TypedDict):
    """One analyst's score of a cell, labelled as the viewer sees analysts ("Analyst A")."""

    analyst_id: int
    analyst: str
    value: float | None
    not_applicable: bool
    rationale: str


class MineData(TypedDict):
    """The viewer's own score of a cell."""

    value: float | None
    not_applicable: bool
    rationale: str


class CellData(TypedDict):
    option_id: int
    criterion_id: int
    mine: MineData | None
    previous_round_value: float | None
    value: float | None
    std: float | None
    min: float | None
    max: float | None
    count: int | None
    contested: bool | None
    contribution: float | None
    scores: list[ScoreData] | None


class OptionData(TypedDict):
    id: int
    title: str
    total: float | None
    rank: int | None
    completeness: float | None


class CriterionData(TypedDict):
    id: int
    name: str
    description: str
    direction: str
    weight: float
    weight_normalised: float


class DecisionData(TypedDict):
    id: int
    title: str
    question: str
    classification: str
    scoring_mode: str
    current_round: int
    scale_min: int
    scale_max: int


class ProgressData(TypedDict):
    scored: int
    total: int
    done: bool


class MatrixData(TypedDict):
    """``cells`` run option by option, criteria in order (``len(criteria)`` per option)."""

    decision: DecisionData
    round: int
    rounds: int
    revealed: bool
    group_visible: bool
    method: str
    revision: int
    criteria: list[CriterionData]
    options: list[OptionData]
    cells: list[CellData]
    my_progress: ProgressData


def finite(value: float | None) -> float | None:
    """A float that JSON (and PostgreSQL's JSON) accepts: None for None, NaN and infinities."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def _id(value: int | None) -> int:
    """A stored row's id (rows in a matrix are always stored)."""
    assert value is not None
    return value


def matrix_data(m: Matrix) -> MatrixData:
    """Everything the viewer may see of the matrix, as plain data."""
    visible = m.group_visible
    d = m.decision
    cells: list[CellData] = []
    for o in m.options:
        for c in m.criteria:
            cell = m.cells[(o.id, c.id)]
            mine = cell.mine
            cells.append(
                {
                    "option_id": _id(o.id),
                    "criterion_id": _id(c.id),
                    "mine": None
                    if mine is None
                    else {
                        "value": mine.value,
                        "not_applicable": mine.not_applicable,
                        "rationale": mine.rationale,
                    },
                    # The previous round's group value is already revealed: shown in a blind round.
                    "previous_round_value": cell.previous_value,
                    "value": cell.value if visible else None,
                    "std": cell.std if visible else None,
                    "min": cell.min if visible else None,
                    "max": cell.max if visible else None,
                    "count": cell.count if visible else None,
                    "contested": cell.contested if visible else None,
                    "contribution": m.contributions.get((o.id, c.id)) if visible else None,
                    "scores": [
                        {
                            "analyst_id": s.analyst_id,
                            "analyst": s.label,
                            "value": s.value,
                            "not_applicable": s.not_applicable,
                            "rationale": s.rationale,
                        }
                        for s in cell.scores or []
                    ]
                    if visible
                    else None,
                }
            )
    return {
        "decision": {
            "id": _id(d.id),
            "title": d.title,
            "question": d.question,
            "classification": d.classification,
            "scoring_mode": d.scoring_mode,
            "current_round": d.current_round,
            "scale_min": d.scale_min,
            "scale_max": d.scale_max,
        },
        "round": m.round.number,
        "rounds": len(m.rounds),
        "revealed": m.revealed,
        "group_visible": visible,
        "method": m.method,
        "revision": m.revision,
        "criteria": [
            {
                "id": _id(c.id),
                "name": c.name,
                "description": c.description,
                "direction": c.direction,
                "weight": c.weight,
                "weight_normalised": w,
            }
            for c, w in zip(m.criteria, m.weights, strict=True)
        ],
        "options": [
            {
                "id": _id(o.id),
                "title": o.title,
                "total": m.totals.get(o.id) if visible else None,
                "rank": m.ranks.get(o.id) if visible else None,
                "completeness": m.completeness.get(o.id) if visible else None,
            }
            for o in m.options
        ],
        "cells": cells,
        "my_progress": {"scored": m.my_scored, "total": m.cell_count, "done": m.my_done},
    }


def cells_by_key(data: MatrixData) -> dict[tuple[int, int], CellData]:
    """The cells by ``(option_id, criterion_id)``."""
    return {(c["option_id"], c["criterion_id"]): c for c in data["cells"]}


def snapshot_matrix(data: MatrixData, analysts: dict[int, str]) -> dict[str, Any]:
    """The matrix part of a memo snapshot: ``criteria`` (with their codes C1, C2, …),
    ``rows`` (one per option, cells in criterion order) and ``disagreements`` (contested
    cells, widest spread first, with each analyst's score under the name in ``analysts``).
    JSON-safe: NaN and infinities become None. Its shape is fixed by the snapshot format."""
    per_option = len(data["criteria"])
    cells = data["cells"]
    criteria = [
        {
            "id": c["id"],
            "code": f"C{j + 1}",
            "name": c["name"],
            "description": c["description"],
            "direction": c["direction"],
            "weight": finite(c["weight"]),
            "share": finite(c["weight_normalised"]),
        }
        for j, c in enumerate(data["criteria"])
    ]
    rows = [
        {
            "option_id": o["id"],
            "total": finite(o["total"]),
            "rank": o["rank"],
            "completeness": finite(o["completeness"]),
            "cells": [
                {
                    "criterion_id": cell["criterion_id"],
                    "value": finite(cell["value"]),
                    "std": finite(cell["std"]),
                    "min": finite(cell["min"]),
                    "max": finite(cell["max"]),
                    "count": cell["count"],
                    "contested": cell["contested"],
                    "contribution": finite(cell["contribution"]),
                }
                for cell in cells[i * per_option : (i + 1) * per_option]
            ],
        }
        for i, o in enumerate(data["options"])
    ]
    disagreements: list[dict[str, Any]] = [
        {
            "option_id": cell["option_id"],
            "criterion_id": cell["criterion_id"],
            "value": finite(cell["value"]),
            "min": finite(cell["min"]),
            "max": finite(cell["max"]),
            "scores": [
                {
                    "analyst": analysts.get(s["analyst_id"], "Analyst"),
                    "value": finite(s["value"]),
                    "not_applicable": s["not_applicable"],
                    "rationale": s["rationale"],
                }
                for s in cell["scores"] or []
            ],
        }
        for cell in cells
        if cell["contested"]
    ]
    rank_of = {o["id"]: o["rank"] for o in data["options"]}
    position = {o["id"]: i for i, o in enumerate(data["options"])}
    disagreements.sort(
        key=lambda d: (
            -((d["max"] or 0) - (d["min"] or 0)),
            rank_of[d["option_id"]] or 10**6,
            position[d["option_id"]],
        )
    )
    return {"criteria": criteria, "rows": rows, "disagreements": disagreements}
