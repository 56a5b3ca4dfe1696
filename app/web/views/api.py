"""Read-only JSON API for scripts (same session login as the pages)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, jsonify, request
from flask.typing import ResponseReturnValue

from app.domain.analysis import normalise_weights
from app.domain.errors import NotFound
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import options as option_service
from app.services.matrix import Matrix
from app.web.access import load_decision
from app.web.params import int_arg
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
    normalised = normalise_weights([c.weight for c in criteria]) if criteria else []
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
                    "weight_normalised": float(w),
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
    return jsonify(matrix_json(m))


def _num(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def matrix_json(m: Matrix) -> dict[str, Any]:
    visible = m.group_visible
    cells = []
    for (option_id, criterion_id), cell in m.cells.items():
        mine = cell.mine
        entry: dict[str, Any] = {
            "option_id": option_id,
            "criterion_id": criterion_id,
            "mine": None if mine is None else ("na" if mine.not_applicable else _num(mine.value)),
            "my_rationale": None if mine is None else mine.rationale,
            "value": None,
            "std": None,
            "min": None,
            "max": None,
            "count": None,
            "contested": None,
            # The previous round's group value is already revealed, so it shows in a blind round.
            "previous_round_value": _num(cell.previous_value),
        }
        if visible:
            entry |= {
                "value": _num(cell.value),
                "std": _num(cell.std),
                "min": _num(cell.min),
                "max": _num(cell.max),
                "count": cell.count,
                "contested": cell.contested,
                "scores": [
                    {
                        "analyst": s.label,
                        "value": "na" if s.not_applicable else _num(s.value),
                        "rationale": s.rationale,
                    }
                    for s in cell.scores or []
                ],
            }
        cells.append(entry)
    return {
        "decision_id": m.decision.id,
        "round": m.round.number,
        "current_round": m.decision.current_round,
        "revealed": m.revealed,
        "group_visible": visible,
        "scoring_mode": m.decision.scoring_mode,
        "method": m.method,
        "revision": m.revision,
        "scale": {"min": m.decision.scale_min, "max": m.decision.scale_max},
        "criteria": [
            {
                "id": c.id,
                "name": c.name,
                "weight": c.weight,
                "weight_normalised": w,
                "direction": c.direction,
            }
            for c, w in zip(m.criteria, m.weights, strict=True)
        ],
        "options": [
            {
                "id": o.id,
                "title": o.title,
                "total": _num(m.totals.get(o.id)) if visible else None,
                "rank": m.ranks.get(o.id) if visible else None,
                "completeness": _num(m.completeness.get(o.id)) if visible else None,
            }
            for o in m.options
        ],
        "cells": cells,
        "my_progress": {"scored": m.my_scored, "total": m.cell_count, "done": m.my_done},
    }


@bp.get("/decisions/<int:decision_id>/analysis")
def analysis(decision_id: int) -> ResponseReturnValue:
    """Robustness of the ranking: SMAA-2, exact weight sensitivity, TOPSIS check.

    Same visibility as the page (before a blind round is revealed: a note only) and the same
    settings: ``?samples=`` (1,000-50,000, default 10,000), ``?band=`` (0-50 percentage points;
    empty: uniform weights), ``?round=`` (default: the current round).
    """
    from app.services import robustness

    access = load_decision(decision_id)
    settings = robustness.parse_settings(request.args)
    try:
        result = robustness.compute(
            session=get_session(),
            decision=access.decision,
            viewer_id=access.user.id,
            role=access.role,
            samples=settings.samples,
            band=settings.band,
            round_number=int_arg("round"),
        )
    except NotFound as exc:
        abort(404, exc.message)
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
    return jsonify(robustness.as_json(result))
