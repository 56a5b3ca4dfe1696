"""Decision pages: my decisions (what needs me), create a decision, overview, members
(search, role changes confirmed, removal), archive, restore and delete."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.domain.errors import InvalidInput
from app.domain.policy import Action
from app.domain.vocabulary import Role
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import group_views as group_service
from app.services import home as home_service
from app.services import members as member_service
from app.services import options as option_service
from app.services import robustness as robustness_service
from app.services.matrix import build_matrix, spread_by_round
from app.web.access import Access, load_decision
from app.web.clock import now
from app.web.htmx import is_htmx, make_response
from app.web.presenters import group as group_presenter
from app.web.presenters import robustness as robustness_presenter
from app.web.transaction import get_session

bp = Blueprint("decisions", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    return _home(errors={}, form={})


def _home(*, errors: dict[str, str], form: object) -> str:
    rows = home_service.home_rows(
        session=get_session(), user_id=g.user.id, now=datetime.fromtimestamp(now(), UTC)
    )
    return render_template(
        "decisions/index.html",
        rows=[r for r in rows if not r.archived],
        archived=[r for r in rows if r.archived],
        errors=errors,
        form=form,
    )


@bp.post("/decisions")
def create() -> ResponseReturnValue:
    db = get_session()
    try:
        decision = decision_service.create_decision(
            session=db, actor=g.user, data=request.form.to_dict()
        )
    except InvalidInput as exc:
        return _home(errors=exc.errors, form=request.form), 422
    return redirect(url_for("decisions.overview", decision_id=decision.id), 303)


def overview_context(decision_id: int) -> dict[str, object]:
    access = load_decision(decision_id)
    db = get_session()
    # The criteria section lists retired criteria too (with "Restore"); shares count active ones.
    criteria = criteria_service.list_criteria(
        session=db, decision_id=decision_id, include_retired=True
    )
    settings = robustness_service.parse_settings(request.args)
    return {
        "access": access,
        "decision": access.decision,
        "options": option_service.list_options(session=db, decision_id=decision_id),
        "criteria": criteria,
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


# --- Archive, restore, delete -----------------------------------------------------------


@bp.get("/decisions/<int:decision_id>/archive")
def confirm_archive(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.CHANGE_SETTINGS)
    return render_template(
        "decisions/confirm.html", access=access, decision=access.decision, what="archive"
    )


@bp.post("/decisions/<int:decision_id>/archive")
def archive(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.CHANGE_SETTINGS)
    decision_service.set_archived(
        session=get_session(), decision=access.decision, actor_id=access.user_id, archived=True
    )
    flash(
        f"“{access.decision.title}” is archived: it is listed under Archived, where you can restore it."
    )
    return redirect(url_for("decisions.index"), 303)


@bp.post("/decisions/<int:decision_id>/restore")
def restore(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.CHANGE_SETTINGS)
    decision_service.set_archived(
        session=get_session(), decision=access.decision, actor_id=access.user_id, archived=False
    )
    flash(f"“{access.decision.title}” is restored to your decisions.")
    return redirect(url_for("decisions.index"), 303)


@bp.get("/decisions/<int:decision_id>/delete")
def confirm_delete(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.CHANGE_SETTINGS)
    return render_template(
        "decisions/confirm.html", access=access, decision=access.decision, what="delete"
    )


@bp.post("/decisions/<int:decision_id>/delete")
def delete(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.CHANGE_SETTINGS)
    decision_service.delete_decision(
        session=get_session(), decision=access.decision, actor_id=access.user_id
    )
    flash(f"The draft “{access.decision.title}” is deleted.")
    return redirect(url_for("decisions.index"), 303)


# --- Members --------------------------------------------------------------------------------


def _members(access: Access, status: int = 200, **extra: object) -> ResponseReturnValue:
    """The members section: as a fragment for htmx, else within the overview page."""
    if is_htmx():
        members = decision_service.list_members(
            session=get_session(), decision_id=access.decision.id
        )
        body = render_template(
            "decisions/_members.html",
            access=access,
            decision=access.decision,
            members=members,
            **extra,
        )
        return make_response(body, status)
    return render_template(
        "decisions/overview.html", **overview_context(access.decision.id), **extra
    ), status


@bp.get("/decisions/<int:decision_id>/members")
def members(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id)
    if not is_htmx():
        return redirect(url_for("decisions.overview", decision_id=decision_id) + "#members")
    return _members(access)


@bp.get("/decisions/<int:decision_id>/members/search")
def search_people(decision_id: int) -> ResponseReturnValue:
    """People whose name or username contains ``q``: for the member form's results."""
    access = load_decision(decision_id, Action.MANAGE_MEMBERS)
    query = request.args.get("q", request.args.get("username", ""))
    found = member_service.search_people(
        session=get_session(), decision_id=decision_id, actor_id=access.user_id, query=query
    )
    return make_response(
        render_template("decisions/_people_found.html", found=found, query=query.strip())
    )


@bp.post("/decisions/<int:decision_id>/members")
def set_member(decision_id: int) -> ResponseReturnValue:
    """Add a person or change a member's role; a role change is confirmed first."""
    access = load_decision(decision_id, Action.MANAGE_MEMBERS)
    db = get_session()
    role = request.form.get("role", "")
    try:
        person = decision_service.find_person(
            session=db,
            username=request.form.get("username", ""),
            user_id=_int(request.form.get("user_id")),
        )
        current = member_service.current_role(
            session=db, decision_id=decision_id, user_id=person.id
        )
        # The member form asks for a role change to be confirmed (a second submit of the
        # form must not silently change a member's role); the confirmation posts ``confirm``.
        asks = request.form.get("confirm_role_change") and not request.form.get("confirm")
        if asks and current is not None and current.value != role and role in set(Role):
            confirm = {"kind": "role", "person": person, "before": current.value, "after": role}
            return _members(access, confirm=confirm, form={}, errors={})
        decision_service.set_member(
            session=db,
            decision_id=decision_id,
            actor_id=access.user_id,
            user_id=person.id,
            role=role,
        )
    except InvalidInput as exc:
        return _members(access, 422, errors=exc.errors, form=request.form)
    if current is not None and current.value == role:
        notice = f"{person.display_name} ({person.username}) is already {_a(role)} in this decision; nothing changed."
    else:
        notice = f"{person.display_name} ({person.username}) is now {_a(role)} in this decision."
    if not is_htmx():
        flash(notice)
        return redirect(url_for("decisions.overview", decision_id=decision_id) + "#members", 303)
    return _members(access, member_notice=notice, form={}, errors={})


@bp.get("/decisions/<int:decision_id>/members/remove")
def confirm_remove_member(decision_id: int) -> ResponseReturnValue:
    """Ask before removing the member ``?user_id=`` (404 if they are not a member)."""
    access = load_decision(decision_id, Action.MANAGE_MEMBERS)
    person, role = member_service.member_user(
        session=get_session(),
        decision_id=decision_id,
        user_id=_int(request.args.get("user_id")) or 0,
    )
    confirm = {"kind": "remove", "person": person, "before": role.value, "after": None}
    return _members(access, confirm=confirm, form={}, errors={})


@bp.post("/decisions/<int:decision_id>/members/remove")
def remove_member(decision_id: int) -> ResponseReturnValue:
    """Remove the member ``user_id`` (asked first by :func:`confirm_remove_member`)."""
    access = load_decision(decision_id, Action.MANAGE_MEMBERS)
    user_id = _int(request.form.get("user_id")) or 0
    try:
        person = member_service.remove_member(
            session=get_session(), decision_id=decision_id, actor_id=access.user_id, user_id=user_id
        )
    except InvalidInput as exc:
        return _members(access, 422, errors=exc.errors, form={})
    notice = (
        f"{person.display_name} ({person.username}) is no longer a member. Their scores and "
        "revisions stay in the history."
    )
    if user_id == access.user_id:  # they removed themselves: nothing here is theirs to see
        flash(notice)
        return _leave(url_for("decisions.index"))
    if not is_htmx():
        flash(notice)
        return redirect(url_for("decisions.overview", decision_id=decision_id) + "#members", 303)
    return _members(access, member_notice=notice, form={}, errors={})


def _leave(home: str) -> ResponseReturnValue:
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = home
        return response
    return redirect(home, 303)


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _a(role: str) -> str:
    """ "an analyst", "a facilitator"."""
    return f"{'an' if role[:1] in ('a', 'e', 'i', 'o', 'u') else 'a'} {role}"
