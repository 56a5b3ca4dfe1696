"""Read-only JSON API for scripts (same session login as the pages)."""

from __future__ import annotations

from flask import Blueprint, g, jsonify

from app.analysis import normalise_weights
from app.db import get_session
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import options as option_service
from app.views.access import load_decision

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/decisions")
def decisions():  # type: ignore[no-untyped-def]
    rows = decision_service.decisions_for_user(session=get_session(), user_id=g.user.id)
    return jsonify(
        decisions=[
            {"id": d.id, "title": d.title, "status": d.status, "role": role} for d, role in rows
        ]
    )


@bp.get("/decisions/<int:decision_id>")
def decision(decision_id: int):  # type: ignore[no-untyped-def]
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
