"""Decision history: the activity feed, option timelines (and restoring an earlier text),
the matrix "as of" a change or a date and time, and comparing two points."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.domain.policy import Action
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import history
from app.services import options as option_service
from app.services.matrix import Matrix, Method
from app.web.access import Access, load_decision
from app.web.htmx import is_htmx, make_response
from app.web.params import int_arg, method_arg
from app.web.presenters import history as presenter
from app.web.transaction import get_session

bp = Blueprint("history", __name__, url_prefix="/decisions/<int:decision_id>/history")


def _datetime_arg(name: str) -> datetime | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        abort(400, "Date and time must look like 2021-08-05T14:30 (UTC).")
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+14:00 is before the year 1 in UTC
        abort(400, "Date and time must fall between the years 1 and 9999 (UTC).")


def local_input(value: datetime | None) -> str:
    """A timestamp as a ``datetime-local`` value, in UTC."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


# --------------------------------------------------------------------------------------------
# Activity feed
# --------------------------------------------------------------------------------------------


def _filters() -> history.FeedFilter:
    return history.FeedFilter(
        actor_id=int_arg("person"),
        option_id=int_arg("option"),
        criterion_id=int_arg("criterion"),
        kind=request.args.get("kind") or None,
    )


def _filter_args(filters: history.FeedFilter) -> dict[str, Any]:
    args = {
        "person": filters.actor_id,
        "option": filters.option_id,
        "criterion": filters.criterion_id,
        "kind": filters.kind,
    }
    return {k: v for k, v in args.items() if v is not None}


@bp.get("")
def feed(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id)
    db = get_session()
    filters = _filters()
    page = history.feed_page(
        session=db,
        decision=access.decision,
        viewer_id=access.user_id,
        filters=filters,
        before=int_arg("before"),
    )
    more_url = (
        url_for(
            "history.feed",
            decision_id=decision_id,
            before=page.next_before,
            **_filter_args(filters),
        )
        if page.next_before
        else None
    )
    context = {
        "access": access,
        "decision": access.decision,
        "page": presenter.entries(page),
        "more_url": more_url,
        "kinds": presenter.KIND_LABELS,
        "filters": filters,
    }
    if is_htmx() and request.args.get("before"):
        return make_response(render_template("history/_entries.html", **context))
    if is_htmx():
        return make_response(render_template("history/_feed_list.html", **context))
    context |= {
        "members": decision_service.list_members(session=db, decision_id=decision_id),
        "options": option_service.list_options(session=db, decision_id=decision_id),
        "criteria": criteria_service.list_criteria(session=db, decision_id=decision_id),
        "latest": history.latest_revision_id(session=db, decision_id=decision_id),
    }
    return make_response(render_template("history/feed.html", **context))


# --------------------------------------------------------------------------------------------
# Option timeline and restoring an earlier text
# --------------------------------------------------------------------------------------------


def timeline_context(access: Access, option_id: int, before: int | None = None) -> dict[str, Any]:
    """What the option page's history section needs (also used by the option detail view)."""
    page = history.option_timeline(
        session=get_session(),
        decision=access.decision,
        option_id=option_id,
        viewer_id=access.user_id,
        before=before,
    )
    more_url = (
        url_for(
            "history.option_timeline",
            decision_id=access.decision.id,
            option_id=option_id,
            before=page.next_before,
        )
        if page.next_before
        else None
    )
    return {
        "timeline": presenter.entries(page),
        "timeline_more_url": more_url,
        "kinds": presenter.KIND_LABELS,
    }


@bp.get("/options/<int:option_id>")
def option_timeline(decision_id: int, option_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id)
    context = timeline_context(access, option_id, int_arg("before"))
    if is_htmx():
        return make_response(
            render_template(
                "history/_entries.html",
                access=access,
                decision=access.decision,
                page=context["timeline"],
                more_url=context["timeline_more_url"],
                kinds=presenter.KIND_LABELS,
                in_timeline=True,
            )
        )
    target = url_for("options.detail", decision_id=decision_id, option_id=option_id)
    return redirect(target + "#history")


@bp.post("/options/<int:option_id>/restore")
def restore_text(decision_id: int, option_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.RESTORE_OPTION_TEXT)
    revision_id = int_arg("revision")
    if revision_id is None:
        abort(400, "Choose the change whose text to restore.")
    history.restore_option_text(
        session=get_session(),
        decision_id=decision_id,
        option_id=option_id,
        revision_id=revision_id,
        actor_id=access.user_id,
    )
    target = url_for("options.detail", decision_id=decision_id, option_id=option_id) + "#history"
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Location"] = target
        return response
    return redirect(target, 303)


# --------------------------------------------------------------------------------------------
# The matrix as of a point, and comparing two points
# --------------------------------------------------------------------------------------------


def _resolve_point(decision_id: int, revision_name: str, at_name: str | None = None) -> int | None:
    revision = int_arg(revision_name)
    when = _datetime_arg(at_name) if at_name else None
    if revision is None and when is not None:
        revision = history.revision_at(session=get_session(), decision_id=decision_id, when=when)
        if revision is None:
            abort(404, "Nothing had been recorded in this decision by that date and time.")
    return revision


def _matrix_at(
    access: Access,
    decision_id: int,
    revision: int,
    *,
    round_number: int | None,
    method: Method | None,
) -> tuple[history.DecisionState, Matrix]:
    return history.matrix_at(
        session=get_session(),
        decision=access.decision,
        revision=revision,
        viewer_id=access.user_id,
        role=access.role,
        round_number=round_number,
        method=method,
    )


def historical_url_for(decision_id: int, revision: int) -> Callable[..., str]:
    """``url_for`` for the shared matrix partials in a historical view: a cell's "Details"
    opens the cell as it stood at ``revision`` instead of the live cell."""

    def build(endpoint: str, **values: Any) -> str:
        if endpoint == "matrix.cell_detail":
            return url_for(
                "history.as_of_cell",
                decision_id=decision_id,
                option_id=values["option_id"],
                criterion_id=values["criterion_id"],
                revision=revision,
                round=values.get("round"),
                method=values.get("method"),
            )
        return url_for(endpoint, **values)

    return build


@bp.get("/as-of")
def as_of(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id)
    latest = history.latest_revision_id(session=get_session(), decision_id=decision_id)
    revision = _resolve_point(decision_id, "revision", "at")
    if revision is None:
        if latest is None:
            abort(404, "Nothing has been recorded in this decision yet.")
        return redirect(url_for("history.as_of", decision_id=decision_id, revision=latest))
    state, matrix = _matrix_at(
        access, decision_id, revision, round_number=int_arg("round"), method=method_arg()
    )
    return make_response(
        render_template(
            "history/as_of.html",
            access=access,
            decision=matrix.decision,
            live_decision=access.decision,
            m=matrix,
            state=state,
            past_options=history.state_options(state),
            latest=latest,
            requested=revision,
            at_input=local_input(state.at),
            url_for=historical_url_for(decision_id, state.revision),
        )
    )


@bp.get("/as-of/cells/<int:option_id>/<int:criterion_id>")
def as_of_cell(decision_id: int, option_id: int, criterion_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id)
    revision = int_arg("revision")
    if revision is None:
        abort(400, "revision is required.")
    _state, matrix = _matrix_at(
        access, decision_id, revision, round_number=int_arg("round"), method=method_arg()
    )
    cell = matrix.cell_context(option_id, criterion_id)
    if cell is None:
        abort(404, "That cell was not in the matrix at that point.")
    template = "matrix/_detail.html" if is_htmx() else "history/as_of_cell.html"
    return make_response(
        render_template(template, access=access, decision=matrix.decision, m=matrix, **cell)
    )


@bp.get("/compare")
def compare(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id)
    db = get_session()
    latest = history.latest_revision_id(session=db, decision_id=decision_id)
    if latest is None:
        abort(404, "Nothing has been recorded in this decision yet.")
    point_a = _resolve_point(decision_id, "from", "from_at")
    point_b = _resolve_point(decision_id, "to", "to_at") or latest
    if point_a is None:
        abort(400, "Choose the earlier point to compare (a change number or a date and time).")
    method = method_arg()
    round_number = int_arg("round")
    state_a, matrix_a = _matrix_at(
        access, decision_id, point_a, round_number=round_number, method=method
    )
    state_b, matrix_b = _matrix_at(
        access, decision_id, point_b, round_number=round_number, method=method
    )
    names = history.load_names(session=db, decision_id=decision_id)
    return make_response(
        render_template(
            "history/compare.html",
            access=access,
            decision=access.decision,
            c=history.compare(matrix_a, matrix_b, names),
            state_a=state_a,
            state_b=state_b,
            latest=latest,
            round_number=round_number,
            value_text=presenter.value_text,
        )
    )
