"""Criteria: add, edit (with verbal anchors), retire, restore, remove from a draft.
Facilitators only; everyone in the decision reads the list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from app.db.models import Decision
from app.domain.anchors import anchors_text, is_editable, labelled_points
from app.domain.errors import Conflict, InvalidInput, ServiceError
from app.domain.policy import Action
from app.domain.vocabulary import CriterionStatus
from app.services import criteria as criteria_service
from app.web.access import Access, load_decision
from app.web.htmx import is_htmx, make_response
from app.web.transaction import get_session

bp = Blueprint("criteria", __name__, url_prefix="/decisions/<int:decision_id>/criteria")


def anchor_points(decision: Decision, direction: str, custom: Any = None) -> list[tuple[int, str]]:
    """(point, anchor) of a criterion's scale, for the forms and the list."""
    return labelled_points(direction, decision.scale_min, decision.scale_max, custom)


def anchor_line(decision: Decision, direction: str, custom: Any = None) -> str:
    """ "1 = very poor · … · 5 = very good": the scale in words, for the list."""
    return anchors_text(direction, decision.scale_min, decision.scale_max, custom)


@bp.record_once
def _template_helpers(state: BlueprintSetupState) -> None:
    # The criteria section is also rendered inside the decision overview.
    state.app.jinja_env.globals.update(
        CriterionStatus=CriterionStatus,
        anchor_points=anchor_points,
        anchor_line=anchor_line,
        anchors_editable=lambda d: is_editable(d.scale_min, d.scale_max),
    )


def _section(access: Access, status: int = 200, **extra: object) -> ResponseReturnValue:
    criteria = criteria_service.list_criteria(
        session=get_session(), decision_id=access.decision.id, include_retired=True
    )
    html = render_template(
        "criteria/_section.html",
        access=access,
        decision=access.decision,
        criteria=criteria,
        **({"errors": {}, "form": {}} | extra),
    )
    return make_response(html, status)


def _form_data() -> dict[str, Any]:
    """The submitted fields; the anchor fields (one per scale point) as ``anchors``."""
    data: dict[str, Any] = request.form.to_dict()
    data.pop("anchor", None)
    if "anchor" in request.form:
        data["anchors"] = request.form.getlist("anchor")
    return data


def _done(access: Access, status: int = 200, **extra: object) -> ResponseReturnValue:
    """After a change: the section again (htmx), or back to the overview."""
    if not is_htmx():
        url = url_for("decisions.overview", decision_id=access.decision.id)
        return redirect(url + "#criteria", 303)
    return _section(access, status, **extra)


@bp.get("")
def index(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id)
    if is_htmx():
        return _section(access)
    return redirect(url_for("decisions.overview", decision_id=decision_id) + "#criteria")


@bp.post("")
def create(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.EDIT_CRITERIA)
    data = _form_data()
    try:
        criterion = criteria_service.create_criterion(
            session=get_session(), decision_id=decision_id, actor_id=access.user_id, data=data
        )
    except InvalidInput as exc:
        return _section(access, 422, errors=exc.errors, form=request.form)
    return _done(access, 201, notice=f"Added the criterion “{criterion.name}”.")


@bp.get("/<int:criterion_id>/edit")
def edit(decision_id: int, criterion_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.EDIT_CRITERIA)
    _get(decision_id, criterion_id)
    return _section(access, editing=criterion_id)


@bp.post("/<int:criterion_id>")
def update(decision_id: int, criterion_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.EDIT_CRITERIA)
    _get(decision_id, criterion_id)
    try:
        criterion = criteria_service.update_criterion(
            session=get_session(),
            decision_id=decision_id,
            criterion_id=criterion_id,
            actor_id=access.user_id,
            data=_form_data(),
        )
    except InvalidInput as exc:
        return _section(
            access, 422, editing=criterion_id, edit_errors=exc.errors, edit_form=request.form
        )
    except Conflict as exc:
        return _section(access, 409, editing=criterion_id, conflict=exc, edit_form=exc.submitted)
    return _done(access, notice=f"Saved the criterion “{criterion.name}”.")


def _lifecycle(
    decision_id: int,
    criterion_id: int,
    change: Callable[..., Any],
    notice: Callable[[Any], str],
) -> ResponseReturnValue:
    """Retire, restore or remove a criterion: one service call, answered with the section."""
    access = load_decision(decision_id, Action.EDIT_CRITERIA)
    try:
        result = change(
            session=get_session(),
            decision_id=decision_id,
            criterion_id=criterion_id,
            actor_id=access.user_id,
        )
    except ServiceError as exc:
        return _refused(access, exc)
    return _done(access, notice=notice(result))


@bp.post("/<int:criterion_id>/retire")
def retire(decision_id: int, criterion_id: int) -> ResponseReturnValue:
    return _lifecycle(
        decision_id,
        criterion_id,
        criteria_service.retire_criterion,
        lambda c: (
            f"Retired “{c.name}”: it is out of totals and the memo, its scores stay "
            "in history, and you can restore it below."
        ),
    )


@bp.post("/<int:criterion_id>/restore")
def restore(decision_id: int, criterion_id: int) -> ResponseReturnValue:
    return _lifecycle(
        decision_id,
        criterion_id,
        criteria_service.restore_criterion,
        lambda c: f"Restored “{c.name}”: it counts in totals and the memo again.",
    )


@bp.post("/<int:criterion_id>/delete")
def delete(decision_id: int, criterion_id: int) -> ResponseReturnValue:
    return _lifecycle(
        decision_id,
        criterion_id,
        criteria_service.delete_criterion,
        lambda name: f"Removed “{name}” from this draft.",
    )


def _refused(access: Access, exc: ServiceError) -> ResponseReturnValue:
    """A refusal the section shows in place (a 404 or 403 stays a plain error)."""
    if exc.status in (403, 404) or not is_htmx():
        raise exc
    return _section(access, exc.status, refusal=exc.message)


def _get(decision_id: int, criterion_id: int) -> None:
    criteria_service.get_criterion(
        session=get_session(), decision_id=decision_id, criterion_id=criterion_id
    )
