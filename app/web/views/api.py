"""Read-only JSON API for scripts (same session login as the pages)."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, abort, g, jsonify, request
from flask.typing import ResponseReturnValue

from app.db.models import CriterionRead, DecisionRead, OptionRead
from app.domain.analysis import normalise_weights
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import options as option_service
from app.services import robustness
from app.services.matrix_data import MatrixData, matrix_data
from app.services.robustness import Robustness
from app.web.access import load_decision
from app.web.live import with_live_matrix
from app.web.params import int_arg, method_arg
from app.web.presenters import robustness as robustness_presenter
from app.web.transaction import get_session
from app.web.views.matrix import load_matrix

bp = Blueprint("api", __name__, url_prefix="/api")

# What the API says of each entity, taken from its read model.
DECISION_FIELDS = {
    "id",
    "title",
    "question",
    "background",
    "classification",
    "status",
    "scoring_mode",
}
OPTION_FIELDS = {"id", "title", "summary", "description", "status", "version"}
CRITERION_FIELDS = {"id", "name", "description", "weight", "direction"}


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
            **DecisionRead.model_validate(d).model_dump(include=DECISION_FIELDS),
            "scale": {"min": d.scale_min, "max": d.scale_max},
            "round": d.current_round,
            "your_role": access.role.value,
            "options": [
                OptionRead.model_validate(o).model_dump(include=OPTION_FIELDS)
                for o in option_service.list_options(session=db, decision_id=decision_id)
            ],
            "criteria": [
                CriterionRead.model_validate(c).model_dump(include=CRITERION_FIELDS)
                | {"weight_normalised": w}
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
    """The matrix as the caller may see it (same visibility rules as the page): the group's
    figures from the shared group view and the caller's own scores; ``?include=scores``
    adds every analyst's score and rationale per cell once the group may see them."""
    access = load_decision(decision_id)
    include = request.args.get("include", "")
    if include not in ("", "scores"):
        abort(400, "include must be scores (or left out).")
    if include == "scores":
        data = matrix_data(load_matrix(access, round_number=int_arg("round")))
    else:
        data = with_live_matrix(
            decision_id=decision_id,
            viewer_id=access.user_id,
            role=access.role,
            round_number=int_arg("round"),
            method=method_arg(),
            then=matrix_data,
        )
    return jsonify(matrix_json(data, with_scores=include == "scores"))


def _num(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _score(value: float | None, not_applicable: bool) -> float | str | None:
    return "na" if not_applicable else _num(value)


def matrix_json(data: MatrixData, *, with_scores: bool = False) -> dict[str, Any]:
    """The API's shape of :func:`app.services.matrix_data.matrix_data`: numbers rounded to six
    places, "na" for a score marked not applicable; ``scores`` when asked for and only once
    group results show."""
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
        if visible and with_scores:
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
    settings, only the values the page's form offers (anything else answers 400):
    ``?samples=`` (default 10,000), ``?band=`` (percentage points or ``any``; default 5),
    ``?scores=`` (``panel``, ``analyst`` or ``cell``; default ``panel``), ``?round=``
    (default: the current round).
    """
    access = load_decision(decision_id)
    settings = robustness.parse_settings(request.args)
    result = robustness.compute(
        session=get_session(),
        decision=access.decision,
        viewer_id=access.user_id,
        role=access.role,
        settings=settings,
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
    return jsonify(analysis_json(result))


def _share(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


def analysis_json(r: Robustness) -> dict[str, Any]:
    """The robustness figures as JSON-ready data (probabilities and weights 0-1, rounded to
    six places), each Monte-Carlo figure with its standard error and the models behind it,
    and the decision's missing-score policy with what it says of each option."""
    s = r.settings
    words = robustness_presenter
    return {
        "decision_id": r.decision_id,
        "round": r.round_number,
        "group_visible": True,
        "method": r.method,
        "missing_policy": r.missing_policy,
        "ready": r.ready,
        "note": r.note,
        # Per option: weight coverage, the range its total could take, and the options that
        # rank above another only through missing scores (None until there are totals).
        "missing": r.missing,
        "settings": {
            "samples": s.samples,
            "band_percentage_points": s.band,
            "weights": "uniform" if s.band is None else "band",
            "score_model": s.score_model,
            "seed": s.seed,
            "described": words.weights_described(s),
            "scores_described": words.scores_described(s, r.method),
        },
        "reproducibility": r.stamp,
        "criteria": [
            {"id": cid, "name": name, "weight_normalised": _share(w)} for cid, name, w in r.criteria
        ],
        "options": [
            {
                "id": o.option_id,
                "title": o.title,
                "rank": o.rank,
                "total": _share(o.total),
                "first_rank_probability": _share(o.first),
                "first_rank_probability_se": _share(o.first_se),
                "rank_acceptability": [_share(p) for p in o.acceptability],
                "rank_acceptability_se": [_share(e) for e in o.acceptability_se],
                "confidence": _share(o.confidence),
                "confidence_se": _share(o.confidence_se),
                "confidence_samples": o.first_samples,
                "central_weights": None
                if o.central_weights is None
                else {str(cid): _share(w) for cid, w in o.central_weights.items()},
                "topsis_closeness": _share(o.topsis),
            }
            for o in r.options
        ],
        "sensitivity": [
            {
                "criterion_id": c.criterion_id,
                "criterion": c.name,
                "weight": _share(c.weight),
                "top_option_id": c.top_option_id,
                "tied_at_top": c.tied_at_top,
                "lower": _share(c.lower),
                "upper": _share(c.upper),
                "below_option_id": c.below_option_id,
                "below_option": c.below_option,
                "above_option_id": c.above_option_id,
                "above_option": c.above_option,
                "smallest_change": _share(c.smallest_change),
                "sentence": words.criterion_sentence(r, c),
            }
            for c in r.sensitivity
        ],
        "sentences": words.sentences(r),
        "most_sensitive": words.most_sensitive(r),
        "methods": {
            **r.methods,
            "sentence": words.agreement_sentence(r, answer=False) if r.ready else None,
        },
    }
