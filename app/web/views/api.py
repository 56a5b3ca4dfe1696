"""Read-only JSON API for scripts (same session login as the pages)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue

from app.domain.analysis import normalise_weights
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import options as option_service
from app.services import robustness
from app.services.matrix_data import MatrixData, matrix_data
from app.web.access import load_decision
from app.web.params import int_arg
from app.web.presenters import robustness as robustness_presenter
from app.web.transaction import get_session
from app.web.views.matrix import load_matrix

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/decisions")
def decisions() -> ResponseReturnValue:
    rows = decision_service.decisions_for_user(session=get_session(), user_id=g.user.id)
    return jsonify(
        decisions=[
            {"id": d.id, "title": d.title, "status": d.status, "role": role} for d, role in rows
        ]
    )


@bp.get("/decisions/<int:decision_id>")
def decision(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id)
    db = get_session()
    d = access.decision
    criteria = criteria_service.list_criteria(session=db, decision_id=decision_id)
    normalised = (
        [float(w) for w in normalise_weights([c.weight for c in criteria])] if criteria else []
    )
    return jsonify(
        {
            "id": d.id,
            "title": d.title,
            "question": d.question,
            "background": d.background,
            "scale": {"min": d.scale_min, "max": d.scale_max},
            "classification": d.classification,
            "status": d.status,
            "scoring_mode": d.scoring_mode,
            "round": d.current_round,
            "your_role": access.role.value,
            "options": [
                {
                    "id": o.id,
                    "title": o.title,
                    "summary": o.summary,
                    "description": o.description,
                    "status": o.status,
                    "version": o.version,
                }
                for o in option_service.list_options(session=db, decision_id=decision_id)
            ],
            "criteria": [
                {
                    "id": c.id,
                    "name": c.name,
                    "description": c.description,
                    "weight": c.weight,
                    "weight_normalised": w,
                    "direction": c.direction,
                }
                for c, w in zip(criteria, normalised, strict=True)
            ],
            "members": [
                {"username": u.username, "display_name": u.display_name, "role": m.role}
                for m, u in decision_service.list_members(session=db, decision_id=decision_id)
            ],
        }
    )


@bp.get("/decisions/<int:decision_id>/matrix")
def matrix(decision_id: int) -> ResponseReturnValue:
    """The matrix as the caller may see it (same visibility rules as the page)."""
    access = load_decision(decision_id)
    m = load_matrix(access, round_number=int_arg("round"))
    return jsonify(matrix_json(matrix_data(m)))


def _num(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _score(value: float | None, not_applicable: bool) -> float | str | None:
    return "na" if not_applicable else _num(value)


def matrix_json(data: MatrixData) -> dict[str, Any]:
    """The API's shape of :func:`app.services.matrix_data.matrix_data`: numbers rounded to six
    places, "na" for a score marked not applicable; ``scores`` only once group results show."""
    visible = data["group_visible"]
    cells = []
    for cell in data["cells"]:
        mine = cell["mine"]
        entry: dict[str, Any] = {
            "option_id": cell["option_id"],
            "criterion_id": cell["criterion_id"],
            "mine": None if mine is None else _score(mine["value"], mine["not_applicable"]),
            "my_rationale": None if mine is None else mine["rationale"],
            "value": _num(cell["value"]),
            "std": _num(cell["std"]),
            "min": _num(cell["min"]),
            "max": _num(cell["max"]),
            "count": cell["count"],
            "contested": cell["contested"],
            "previous_round_value": _num(cell["previous_round_value"]),
        }
        if visible:
            entry["scores"] = [
                {
                    "analyst": s["analyst"],
                    "value": _score(s["value"], s["not_applicable"]),
                    "rationale": s["rationale"],
                }
                for s in cell["scores"] or []
            ]
        cells.append(entry)
    d = data["decision"]
    return {
        "decision_id": d["id"],
        "round": data["round"],
        "current_round": d["current_round"],
        "revealed": data["revealed"],
        "group_visible": visible,
        "scoring_mode": d["scoring_mode"],
        "method": data["method"],
        "revision": data["revision"],
        "scale": {"min": d["scale_min"], "max": d["scale_max"]},
        "criteria": [
            {
                "id": c["id"],
                "name": c["name"],
                "weight": c["weight"],
                "weight_normalised": c["weight_normalised"],
                "direction": c["direction"],
            }
            for c in data["criteria"]
        ],
        "options": [
            {
                "id": o["id"],
                "title": o["title"],
                "total": _num(o["total"]),
                "rank": o["rank"],
                "completeness": _num(o["completeness"]),
            }
            for o in data["options"]
        ],
        "cells": cells,
        "my_progress": data["my_progress"],
    }


@bp.get("/decisions/<int:decision_id>/analysis")
def analysis(decision_id: int) -> ResponseReturnValue:
    """Robustness of the ranking: SMAA-2, exact weight sensitivity, TOPSIS check.

    Same visibility as the page (before a blind round is revealed: a note only) and the same
    settings: ``?samples=`` (1,000-50,000, default 10,000), ``?band=`` (0-50 percentage points;
    empty: uniform weights), ``?round=`` (default: the current round).
    """
    access = load_decision(decision_id)
    settings = robustness.parse_settings(request.args)
    result = robustness.compute(
        session=get_session(),
        decision=access.decision,
        viewer_id=access.user_id,
        role=access.role,
        samples=settings.samples,
        band=settings.band,
        round_number=int_arg("round"),
    )
    if result is None:
        d = access.decision
        return jsonify(
            {
                "decision_id": d.id,
                "round": int_arg("round") or d.current_round,
                "group_visible": False,
                "note": "Robustness figures appear once the facilitator reveals the round.",
            }
        )
    return jsonify(robustness_presenter.as_json(result))
