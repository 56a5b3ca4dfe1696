"""Private what-if weights: any member tries weights out and sees totals, ranks and the
verdict change, nothing saved; the facilitator may adopt the weights tried as the decision's.

Every figure is computed on the server by the matrix's own rule (:mod:`app.services.what_if`),
so what the page prints is what the matrix would print under those weights. The page asks
again as the sliders move (htmx, ``HX-Target: what-if-results``) and gets the ranking only.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.domain.errors import InvalidInput, ServiceError
from app.domain.policy import Action
from app.domain.vocabulary import DecisionStatus
from app.services import what_if as what_if_service
from app.services.matrix import Matrix
from app.services.what_if import WhatIfBasis
from app.web.access import Access, load_decision
from app.web.htmx import hx_target, is_htmx, make_response
from app.web.live import with_live_matrix
from app.web.presenters import what_if as present
from app.web.transaction import get_session

bp = Blueprint("what_if", __name__, url_prefix="/decisions/<int:decision_id>")

RESULTS = "what-if-results"


def _raw_weights(basis: WhatIfBasis) -> dict[int, Any]:
    """The weights tried (``w-<criterion id>``), for the criteria the page shows."""
    return {
        c.id: request.values[f"w-{c.id}"] for c in basis.criteria if f"w-{c.id}" in request.values
    }


def _context(
    access: Access, m: Matrix, raw: dict[int, Any] | None = None
) -> tuple[dict[str, Any], int]:
    basis = what_if_service.basis_from_matrix(m)
    raw = _raw_weights(basis) if raw is None else raw
    weights, errors = what_if_service.parse_weights(basis.criteria, raw)
    tried = what_if_service.outcome(basis, weights)
    agreed = what_if_service.outcome(basis, basis.agreed)
    can_adopt = access.can(Action.EDIT_CRITERIA) and (
        m.decision.status != DecisionStatus.CLOSED.value
    )
    context = {
        "access": access,
        "decision": m.decision,
        "m": m,
        "basis": basis,
        "inputs": {c.id: raw.get(c.id, present.weight_text(c.weight)) for c in basis.criteria},
        "values": {c.id: w for c, w in zip(basis.criteria, weights, strict=True)},
        "errors": errors,
        "tried": tried,
        "agreed": agreed,
        "rows": present.rows(basis, tried, agreed),
        "verdict": present.verdict(basis, tried, agreed),
        "note": present.basis_note(basis),
        "changed": weights != basis.agreed,
        "can_adopt": can_adopt,
        "slider_max": _slider_max(basis.agreed),
        "weight_text": present.weight_text,
    }
    return context, 422 if errors else 200


def _slider_max(weights: list[float]) -> int:
    """The sliders run from 0 to 100, or to a round figure of twice the largest weight."""
    top = max(weights, default=0.0) * 2
    limit = 100
    while limit < top and limit < 1_000_000:
        limit *= 10
    return limit


def _render(
    access: Access,
    raw: dict[int, Any] | None = None,
    *,
    adopt_error: str | None = None,
    status: int | None = None,
) -> Response:
    def then(m: Matrix) -> Response:
        context, computed = _context(access, m, raw)
        fragment = hx_target() == RESULTS
        context |= {"adopt_error": adopt_error, "oob": fragment}
        template = "what_if/_results.html" if fragment else "what_if/page.html"
        return make_response(render_template(template, **context), status or computed)

    return with_live_matrix(
        decision_id=access.decision.id,
        viewer_id=access.user_id,
        role=access.role,
        round_number=None,
        method=None,
        then=then,
    )


@bp.get("/what-if")
def page(decision_id: int) -> ResponseReturnValue:
    """The page (or, for the sliders' requests, its ranking) under the weights tried."""
    return _render(load_decision(decision_id))


@bp.post("/what-if/adopt")
def adopt(decision_id: int) -> ResponseReturnValue:
    """The facilitator makes the weights tried the decision's weights (recorded changes)."""
    access = load_decision(decision_id, Action.EDIT_CRITERIA)
    weights: dict[int, Any] = {}
    versions: dict[int, int] = {}
    for key, value in request.form.items():
        kind, _, ident = key.partition("-")
        if kind in ("w", "v") and ident.isdigit() and len(ident) < 10:
            if kind == "w":
                weights[int(ident)] = value
            elif value.strip().isdigit() and len(value.strip()) < 10:
                versions[int(ident)] = int(value)
            else:
                versions[int(ident)] = -1
    try:
        changed = what_if_service.adopt_weights(
            session=get_session(),
            decision_id=decision_id,
            actor_id=access.user_id,
            weights=weights,
            versions=versions,
        )
    except ServiceError as exc:
        errors = exc.errors if isinstance(exc, InvalidInput) else {}
        message = exc.message if not errors else "Nothing was adopted: " + " ".join(errors.values())
        if is_htmx():
            body = render_template("what_if/_adopt_message.html", message=message, error=True)
            return make_response(body, exc.status)
        return _render(access, weights, adopt_error=message, status=exc.status)
    if changed:
        noun = "weight" if len(changed) == 1 else "weights"
        flash(
            f"The what-if weights are now the decision's weights ({len(changed)} {noun} "
            "changed, recorded in the history).",
            "success",
        )
    else:
        flash("These were already the decision's weights: nothing changed.", "success")
    target = url_for("matrix.page", decision_id=decision_id)
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)
