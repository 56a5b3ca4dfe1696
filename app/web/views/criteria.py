"""Criteria: add and edit (name, description, weight, direction). Facilitators only."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.domain.errors import Conflict, InvalidInput
from app.domain.policy import Action
from app.services import criteria as criteria_service
from app.web.access import Access, load_decision
from app.web.htmx import is_htmx, make_response
from app.web.transaction import get_session

bp = Blueprint("criteria", __name__, url_prefix="/decisions/<int:decision_id>/criteria")


def _section(access: Access, status: int = 200, **extra: object) -> ResponseReturnValue:
    criteria = criteria_service.list_criteria(session=get_session(), decision_id=access.decision.id)
    html = render_template(
        "criteria/_section.html",
        access=access,
        decision=access.decision,
        criteria=criteria,
        weight_total=sum(c.weight for c in criteria),
        **({"errors": {}, "form": {}} | extra),
    )
    return make_response(html, status)


@bp.get("")
def index(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id)
    if is_htmx():
        return _section(access)
    return redirect(url_for("decisions.overview", decision_id=decision_id) + "#criteria")


@bp.post("")
def create(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.EDIT_CRITERIA)
    db = get_session()
    try:
        criteria_service.create_criterion(
            session=db,
            decision_id=decision_id,
            actor_id=access.user_id,
            data=request.form.to_dict(),
        )
    except InvalidInput as exc:
        return _section(access, 422, errors=exc.errors, form=request.form)
    if not is_htmx():
        return redirect(url_for("decisions.overview", decision_id=decision_id) + "#criteria", 303)
    return _section(access, 201)


@bp.get("/<int:criterion_id>/edit")
def edit(decision_id: int, criterion_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.EDIT_CRITERIA)
    _get(decision_id, criterion_id)
    return _section(access, editing=criterion_id)


@bp.post("/<int:criterion_id>")
def update(decision_id: int, criterion_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.EDIT_CRITERIA)
    _get(decision_id, criterion_id)
    db = get_session()
    try:
        criteria_service.update_criterion(
            session=db,
            decision_id=decision_id,
            criterion_id=criterion_id,
            actor_id=access.user_id,
            data=request.form.to_dict(),
        )
    except InvalidInput as exc:
        return _section(
            access, 422, editing=criterion_id, edit_errors=exc.errors, edit_form=request.form
        )
    except Conflict as exc:
        return _section(access, 409, editing=criterion_id, conflict=exc, edit_form=exc.submitted)
    if not is_htmx():
        return redirect(url_for("decisions.overview", decision_id=decision_id) + "#criteria", 303)
    return _section(access)


def _get(decision_id: int, criterion_id: int) -> None:
    criteria_service.get_criterion(
        session=get_session(), decision_id=decision_id, criterion_id=criterion_id
    )
