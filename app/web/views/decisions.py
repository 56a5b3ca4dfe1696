"""Decision pages: my decisions, create a decision, overview, members."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.domain.errors import InvalidInput
from app.domain.policy import Action
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import group_views as group_service
from app.services import options as option_service
from app.services import robustness as robustness_service
from app.services.matrix import build_matrix, spread_by_round
from app.web.access import load_decision
from app.web.htmx import is_htmx, make_response
from app.web.presenters import group as group_presenter
from app.web.presenters import robustness as robustness_presenter
from app.web.transaction import get_session

bp = Blueprint("decisions", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    rows = decision_service.decisions_for_user(session=get_session(), user_id=g.user.id)
    return render_template("decisions/index.html", rows=rows, errors={}, form={})


@bp.post("/decisions")
def create() -> ResponseReturnValue:
    db = get_session()
    try:
        decision = decision_service.create_decision(
            session=db, actor=g.user, data=request.form.to_dict()
        )
    except InvalidInput as exc:
        rows = decision_service.decisions_for_user(session=db, user_id=g.user.id)
        return render_template(
            "decisions/index.html", rows=rows, errors=exc.errors, form=request.form
        ), 422
    return redirect(url_for("decisions.overview", decision_id=decision.id), 303)


def overview_context(decision_id: int) -> dict[str, object]:
    access = load_decision(decision_id)
    db = get_session()
    criteria = criteria_service.list_criteria(session=db, decision_id=decision_id)
    settings = robustness_service.parse_settings(request.args)
    return {
        "access": access,
        "decision": access.decision,
        "options": option_service.list_options(session=db, decision_id=decision_id),
        "criteria": criteria,
        "weight_total": sum(c.weight for c in criteria),
        "members": decision_service.list_members(session=db, decision_id=decision_id),
        "checklist": decision_service.setup_checklist(session=db, decision=access.decision),
        "spread": spread_by_round(session=db, decision=access.decision),
        "m": build_matrix(
            session=db, decision=access.decision, viewer_id=access.user_id, role=access.role
        ),
        # ?samples=&band= choose the robustness sampling (bad values answer 400).
        "robustness": robustness_presenter.present(
            robustness_service.compute(
                session=db,
                decision=access.decision,
                viewer_id=access.user_id,
                role=access.role,
                settings=settings,
            )
        ),
        "group": group_presenter.present(
            group_service.group_views(
                session=db, decision=access.decision, viewer_id=access.user_id
            )
        ),
    }


@bp.get("/decisions/<int:decision_id>")
def overview(decision_id: int) -> ResponseReturnValue:
    return render_template("decisions/overview.html", **overview_context(decision_id))


@bp.post("/decisions/<int:decision_id>/start")
def start(decision_id: int) -> ResponseReturnValue:
    """Start scoring a draft decision (refused while its set-up checklist is incomplete)."""
    access = load_decision(decision_id, Action.CHANGE_SETTINGS)
    decision_service.start_scoring(
        session=get_session(), decision=access.decision, actor_id=access.user_id
    )
    return redirect(url_for("decisions.overview", decision_id=decision_id), 303)


@bp.post("/decisions/<int:decision_id>/edit")
def edit(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.EDIT_DECISION)
    db = get_session()
    try:
        decision_service.update_decision(
            session=db,
            decision=access.decision,
            actor_id=access.user_id,
            data=request.form.to_dict(),
        )
    except InvalidInput as exc:
        context = overview_context(decision_id)
        return render_template(
            "decisions/overview.html",
            **context,
            edit_errors=exc.errors,
            edit_form=request.form,
            edit_open=True,
        ), 422
    return redirect(url_for("decisions.overview", decision_id=decision_id), 303)


@bp.post("/decisions/<int:decision_id>/members")
def set_member(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.MANAGE_MEMBERS)
    db = get_session()
    errors: dict[str, str] = {}
    try:
        decision_service.set_member(
            session=db,
            decision_id=decision_id,
            actor_id=access.user_id,
            username=request.form.get("username", ""),
            role=request.form.get("role", ""),
        )
    except InvalidInput as exc:
        errors = exc.errors
    status = 422 if errors else 200
    if is_htmx():
        # After a success the form starts empty again and says what was done.
        context = overview_context(decision_id)
        done = None if errors else _member_notice()
        return make_response(
            render_template(
                "decisions/_members.html",
                **context,
                errors=errors,
                form=request.form if errors else {},
                member_notice=done,
            ),
            status,
        )
    if errors:
        context = overview_context(decision_id)
        return render_template("decisions/overview.html", **context, errors=errors), status
    return redirect(url_for("decisions.overview", decision_id=decision_id), 303)


def _member_notice() -> str:
    """What a successful add or role change did, in words."""
    username = request.form.get("username", "").strip()
    role = request.form.get("role", "")
    article = "an" if role[:1] in ("a", "e", "i", "o", "u") else "a"
    return f"“{username}” is now {article} {role} in this decision."
