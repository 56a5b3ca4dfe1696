"""Options: list, propose, inline edit (with conflict check), withdraw and restore."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.db.models import Option, OptionStatus
from app.domain import policy
from app.domain.errors import Conflict, InvalidInput
from app.domain.policy import Action
from app.services import comments as comment_service
from app.services import options as option_service
from app.web.access import Access, load_decision
from app.web.htmx import is_htmx, make_response
from app.web.transaction import get_session

bp = Blueprint("options", __name__, url_prefix="/decisions/<int:decision_id>/options")


def _load(decision_id: int, option_id: int, action: Action = Action.VIEW) -> tuple[Access, Option]:
    access = load_decision(decision_id, action)
    option = option_service.get_option(
        session=get_session(), decision_id=decision_id, option_id=option_id
    )
    return access, option


def _row(access: Access, option: Option, status: int = 200, **extra: object) -> ResponseReturnValue:
    html = render_template(
        "options/_option.html",
        access=access,
        decision=access.decision,
        option=option,
        **extra,
    )
    return make_response(html, status)


@bp.get("")
def index(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id)
    options = option_service.list_options(session=get_session(), decision_id=decision_id)
    template = "options/_list.html" if is_htmx() else "options/index.html"
    return make_response(
        render_template(
            template,
            access=access,
            decision=access.decision,
            options=options,
            errors={},
            form={},
        )
    )


@bp.post("")
def create(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.PROPOSE_OPTION)
    db = get_session()
    try:
        option = option_service.create_option(
            session=db,
            decision_id=decision_id,
            actor_id=access.user_id,
            data=request.form.to_dict(),
        )
    except InvalidInput as exc:
        html = render_template(
            "options/_add_form.html", decision=access.decision, errors=exc.errors, form=request.form
        )
        if is_htmx():
            return make_response(html, 422, retarget="#option-add", reswap="outerHTML")
        return html, 422
    if not is_htmx():
        return redirect(url_for("decisions.overview", decision_id=decision_id) + "#options", 303)
    return _row(access, option, 201, fresh_form=True)


@bp.get("/<int:option_id>")
def detail(decision_id: int, option_id: int) -> ResponseReturnValue:
    access, option = _load(decision_id, option_id)
    if is_htmx() and request.args.get("fragment") == "row":
        return _row(access, option)
    from app.web.views.history import timeline_context

    thread = comment_service.thread(
        session=get_session(),
        decision=access.decision,
        viewer_id=access.user_id,
        option_id=option_id,
    )
    return make_response(
        render_template(
            "options/detail.html",
            access=access,
            decision=access.decision,
            option=option,
            thread=thread,
            **timeline_context(access, option_id),
        )
    )


@bp.get("/<int:option_id>/edit")
def edit(decision_id: int, option_id: int) -> ResponseReturnValue:
    access, option = _load(decision_id, option_id, Action.EDIT_OPTION)
    policy.require(access.actor, Action.EDIT_OPTION, is_author=option.created_by == access.user_id)
    return make_response(
        render_template(
            "options/_edit.html", decision=access.decision, option=option, form=option, errors={}
        )
    )


@bp.post("/<int:option_id>")
def update(decision_id: int, option_id: int) -> ResponseReturnValue:
    access, option = _load(decision_id, option_id, Action.EDIT_OPTION)
    db = get_session()
    try:
        option = option_service.update_option(
            session=db,
            decision_id=decision_id,
            option_id=option_id,
            actor_id=access.user_id,
            data=request.form.to_dict(),
        )
    except InvalidInput as exc:
        return _edit_again(access, option, errors=exc.errors, status=422)
    except Conflict as exc:
        return _edit_again(
            access,
            exc.current,
            errors={},
            status=409,
            conflict=exc,
        )
    if not is_htmx():
        return redirect(
            url_for("options.detail", decision_id=decision_id, option_id=option_id), 303
        )
    return _row(access, option)


def _edit_again(
    access: Access,
    option: Option,
    *,
    errors: dict[str, str],
    status: int,
    conflict: Conflict | None = None,
) -> ResponseReturnValue:
    form = conflict.submitted if conflict else request.form
    html = render_template(
        "options/_edit.html",
        decision=access.decision,
        option=option,
        form=form,
        errors=errors,
        conflict=conflict,
    )
    return make_response(html, status)


def _set_status(decision_id: int, option_id: int, status: OptionStatus) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.WITHDRAW_OPTION)
    db = get_session()
    option = option_service.set_status(
        session=db,
        decision_id=decision_id,
        option_id=option_id,
        actor_id=access.user_id,
        status=status,
    )
    if not is_htmx():
        return redirect(url_for("decisions.overview", decision_id=decision_id) + "#options", 303)
    return _row(access, option)


@bp.post("/<int:option_id>/withdraw")
def withdraw(decision_id: int, option_id: int) -> ResponseReturnValue:
    return _set_status(decision_id, option_id, OptionStatus.WITHDRAWN)


@bp.post("/<int:option_id>/restore")
def restore(decision_id: int, option_id: int) -> ResponseReturnValue:
    return _set_status(decision_id, option_id, OptionStatus.ACTIVE)
