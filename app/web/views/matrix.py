"""The decision matrix: scoring in place, live group values, weights, rounds and reveal."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.domain.policy import Action
from app.services import criteria as criteria_service
from app.services import scores as score_service
from app.services.matrix import Matrix, build_matrix, latest_revision
from app.web.access import Access, load_decision
from app.web.htmx import hx_target, is_htmx, make_response
from app.web.params import int_arg, method_arg
from app.web.transaction import get_session

bp = Blueprint("matrix", __name__, url_prefix="/decisions/<int:decision_id>")


def load_matrix(access: Access, *, round_number: int | None = None) -> Matrix:
    """The matrix for this request (``?method=``), 400/404 on bad parameters."""
    return build_matrix(
        session=get_session(),
        decision=access.decision,
        viewer_id=access.user_id,
        role=access.role,
        round_number=round_number,
        method=method_arg(),
    )


@bp.get("/matrix")
def page(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id)
    matrix = load_matrix(access, round_number=int_arg("round"))
    return make_response(
        render_template("matrix/page.html", access=access, decision=access.decision, m=matrix)
    )


@bp.get("/matrix/poll")
def poll(decision_id: int) -> ResponseReturnValue:
    """Cheap change check: 204 when nothing changed since ``since``; otherwise fresh values."""
    access = load_decision(decision_id)
    since = int_arg("since") or 0
    if latest_revision(session=get_session(), decision_id=decision_id) <= since:
        return Response(status=204)
    matrix = load_matrix(access, round_number=int_arg("round"))
    if request.args.get("layout") != matrix.layout:
        # Options, criteria, round or visibility changed: the page reloads itself unless the
        # viewer has unsaved text, in which case it offers the reload (static/app.js).
        return make_response("", 200, trigger="matrix-layout-changed")
    return make_response(
        render_template("matrix/_updates.html", access=access, decision=access.decision, m=matrix)
    )


@bp.post("/matrix/scores")
def save_score(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.SCORE)
    option_id, criterion_id = int_arg("option_id"), int_arg("criterion_id")
    if option_id is None or criterion_id is None:
        abort(400, "option_id and criterion_id are required.")
    db = get_session()
    score_service.save_score(
        session=db,
        decision=access.decision,
        analyst_id=access.user_id,
        option_id=option_id,
        criterion_id=criterion_id,
        value=request.form.get("value"),
        rationale=request.form.get("rationale"),
    )
    matrix = load_matrix(access)
    cell = matrix.cell_context(option_id, criterion_id)
    assert cell is not None  # the service accepted the cell, so the matrix shows it
    context = {"access": access, "decision": access.decision, "m": matrix, **cell}
    if hx_target() == "cell-detail":
        # Saved from the details drawer: redraw the drawer with the new rationale.
        return make_response(
            render_template(
                "matrix/_detail_saved.html", **context, saved_message="Rationale saved."
            )
        )
    return make_response(render_template("matrix/_saved.html", **context))


@bp.get("/matrix/cells/<int:option_id>/<int:criterion_id>")
def cell_detail(decision_id: int, option_id: int, criterion_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id)
    matrix = load_matrix(access, round_number=int_arg("round"))
    cell = matrix.cell_context(option_id, criterion_id)
    if cell is None:
        abort(404, "That cell is not in this decision's matrix.")
    template = "matrix/_detail.html" if is_htmx() else "matrix/detail_page.html"
    return make_response(
        render_template(template, access=access, decision=access.decision, m=matrix, **cell)
    )


@bp.post("/matrix/weights/<int:criterion_id>")
def set_weight(decision_id: int, criterion_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.EDIT_CRITERIA)
    db = get_session()
    criteria_service.set_weight(
        session=db,
        decision_id=decision_id,
        criterion_id=criterion_id,
        actor_id=access.user_id,
        weight=request.form.get("weight", ""),
    )
    if not is_htmx():
        return redirect(url_for("matrix.page", decision_id=decision_id), 303)
    matrix = load_matrix(access)
    return make_response(
        render_template("matrix/_updates.html", access=access, decision=access.decision, m=matrix)
    )


@bp.post("/matrix/done")
def mark_done(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.MARK_DONE)
    db = get_session()
    score_service.set_done(
        session=db,
        decision=access.decision,
        analyst_id=access.user_id,
        done=request.form.get("done", "1") == "1",
    )
    return _back_to_matrix(decision_id)


@bp.post("/rounds/reveal")
def reveal(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.REVEAL_ROUND)
    db = get_session()
    score_service.reveal_round(session=db, decision=access.decision, actor_id=access.user_id)
    return _back_to_matrix(decision_id)


@bp.post("/rounds")
def open_round(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.OPEN_ROUND)
    db = get_session()
    score_service.open_next_round(
        session=db,
        decision=access.decision,
        actor_id=access.user_id,
        expected_round=int_arg("round"),
    )
    return _back_to_matrix(decision_id)


@bp.post("/settings")
def settings(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.CHANGE_SETTINGS)
    db = get_session()
    score_service.update_settings(
        session=db, decision=access.decision, actor_id=access.user_id, data=request.form.to_dict()
    )
    return _back_to_matrix(decision_id)


def _back_to_matrix(decision_id: int) -> ResponseReturnValue:
    target = url_for("matrix.page", decision_id=decision_id)
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Location"] = target
        return response
    return redirect(target, 303)
