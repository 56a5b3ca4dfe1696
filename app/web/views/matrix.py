"""The decision matrix: scoring in place, live group values, weights, rounds and reveal."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.db.changes import committed_number, numbers_for_member
from app.db.models import User
from app.domain.errors import NotFound
from app.domain.policy import Action
from app.domain.vocabulary import Role
from app.services import criteria as criteria_service
from app.services import scores as score_service
from app.services.group_view import ViewChanges, changes_between
from app.services.live_matrix import cached_view
from app.services.matrix import Matrix, build_matrix
from app.services.score_undo import undo_last_score
from app.web.access import Access, load_decision
from app.web.htmx import hx_target, is_htmx, make_response
from app.web.live import shared_cache, with_live_matrix
from app.web.params import int_arg, method_arg
from app.web.transaction import end_transaction, get_session

bp = Blueprint("matrix", __name__, url_prefix="/decisions/<int:decision_id>")


def load_matrix(access: Access, *, round_number: int | None = None) -> Matrix:
    """The matrix with every analyst's score per cell (a cell's details), 400/404 on bad
    parameters."""
    return build_matrix(
        session=get_session(),
        decision=access.decision,
        viewer_id=access.user_id,
        role=access.role,
        round_number=round_number,
        method=method_arg(),
    )


def render_live(access: Access, template: str, **context: object) -> ResponseReturnValue:
    """Render ``template`` with the viewer's live matrix (``?round=``, ``?method=``)."""
    return with_live_matrix(
        decision_id=access.decision.id,
        viewer_id=access.user_id,
        role=access.role,
        round_number=int_arg("round"),
        method=method_arg(),
        then=lambda m: make_response(
            render_template(template, access=access, decision=m.decision, m=m, **context)
        ),
    )


@bp.get("/matrix")
def page(decision_id: int) -> ResponseReturnValue:
    return render_live(load_decision(decision_id), "matrix/page.html")


@bp.get("/matrix/poll")
def poll(decision_id: int) -> ResponseReturnValue:
    """Live updates: 204 when nothing changed since ``since`` (one indexed lookup); otherwise
    only what moved since then, from the shared group views."""
    user: User = g.user
    found = numbers_for_member(session=get_session(), decision_id=decision_id, user_id=user.id)
    if found is None:
        raise NotFound("That decision does not exist or you are not a member of it.")
    numbers, role = found
    since = int_arg("since")
    if numbers.change == since:
        return Response(status=204)
    layout = request.args.get("layout")

    def answer(m: Matrix) -> ResponseReturnValue:
        if layout != m.layout:
            # Options, criteria, round or visibility changed: the page reloads itself unless
            # the viewer has unsaved text, in which case it offers the reload (static/app.js).
            return make_response("", 200, trigger="matrix-layout-changed")
        assert m.group is not None
        before = (
            None
            if since is None
            else cached_view(
                cache=shared_cache(),
                decision_id=decision_id,
                created=numbers.created,
                round_number=m.round.number,
                change_number=since,
                method=m.method,
            )
        )
        changes = None if before is None else changes_between(before, m.group)
        access = Access(decision=m.decision, role=Role(role), user=user)
        return make_response(
            render_template(
                "matrix/_updates.html", access=access, decision=m.decision, m=m, changes=changes
            )
        )

    return with_live_matrix(
        decision_id=decision_id,
        viewer_id=user.id,
        role=Role(role),
        round_number=int_arg("round"),
        method=method_arg(),
        then=answer,
        own_scores=False,
        numbers=numbers,
    )


@bp.post("/matrix/scores")
def save_score(decision_id: int) -> ResponseReturnValue:
    """Save one cell. The page sends the change number it shows (``since``); the answer
    brings the page from there to the state right after this save (see :func:`_cell_answer`)
    and offers to undo it."""
    access = load_decision(decision_id, Action.SCORE)
    option_id, criterion_id = int_arg("option_id"), int_arg("criterion_id")
    if option_id is None or criterion_id is None:
        abort(400, "option_id and criterion_id are required.")
    since = int_arg("since")
    score_service.save_score(
        session=get_session(),
        decision=access.decision,
        analyst_id=access.user_id,
        option_id=option_id,
        criterion_id=criterion_id,
        value=request.form.get("value"),
        rationale=request.form.get("rationale"),
    )
    end_transaction()  # acknowledged only once committed; the answer reads a fresh snapshot
    changed = committed_number(get_session(), decision_id)
    if hx_target() == "cell-detail":
        # Saved from the details drawer (a rationale): redraw the drawer; the page's poll
        # brings any figure that moved.
        matrix = load_matrix(access)
        context = _cell_context(access, matrix, option_id, criterion_id)
        context |= {"changes": ViewChanges(), "saved_message": "Rationale saved."}
        return make_response(render_template("matrix/_detail_saved.html", **context))
    return _cell_answer(access, option_id, criterion_id, since, changed, undone=False)


@bp.post("/matrix/scores/undo")
def undo_score(decision_id: int) -> ResponseReturnValue:
    """Undo the analyst's last score change in this round (the "Undo" beside a cell's
    confirmation sends that cell; Ctrl+Z sends none). Answered like a save of that cell,
    with the restored value for the cell's select."""
    access = load_decision(decision_id, Action.SCORE)
    option_id, criterion_id = int_arg("option_id"), int_arg("criterion_id")
    if (option_id is None) != (criterion_id is None):
        abort(400, "Give both option_id and criterion_id, or neither.")
    score = undo_last_score(
        session=get_session(),
        decision=access.decision,
        analyst_id=access.user_id,
        option_id=option_id,
        criterion_id=criterion_id,
    )
    option_id, criterion_id = score.option_id, score.criterion_id
    end_transaction()
    changed = committed_number(get_session(), decision_id)
    response = _cell_answer(access, option_id, criterion_id, int_arg("since"), changed, undone=True)
    # Ctrl+Z does not know which cell it undoes: the answer says where it goes.
    response.headers["HX-Retarget"] = f"#st-{option_id}-{criterion_id}"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


def _cell_answer(
    access: Access,
    option_id: int,
    criterion_id: int,
    since: int | None,
    changed: int | None,
    *,
    undone: bool,
) -> Response:
    """The answer to a change of one cell: its status, and what moved from the change number
    the page shows (``since``) to the state right after the change — this cell's group value,
    total and ranks included — so the poll carries on from there."""
    decision_id = access.decision.id

    def answer(m: Matrix) -> Response:
        assert m.group is not None
        context = _cell_context(access, m, option_id, criterion_id)
        if undone:
            context |= {"undone": True}
        else:  # a save: offer to undo it, if it changed anything
            context |= {"status_text": "Saved", "undo": changed is not None}
        before = None
        if since is not None:
            before = cached_view(
                cache=shared_cache(),
                decision_id=decision_id,
                created=m.group.decision_created,
                round_number=m.round.number,
                change_number=since,
                method=m.method,
            )
        trigger = None
        # A client that does not say what it shows (no ``since``) gets this cell's figures
        # only, and its poll stays where it was: the poll brings the rest.
        if since is not None and before is not None and before.layout == m.group.layout:
            context |= {"changes": changes_between(before, m.group), "poll": True}
        elif since is not None:
            context |= {"changes": None, "poll": True}  # redraw everything the page shows
            if before is not None:
                trigger = "matrix-layout-changed"
        return make_response(render_template("matrix/_saved.html", **context), trigger=trigger)

    response = with_live_matrix(
        decision_id=decision_id,
        viewer_id=access.user_id,
        role=access.role,
        round_number=None,
        method=None,
        fresh=changed is not None,
        then=answer,
    )
    if changed is not None:  # the change this save made (none when nothing changed)
        response.headers["X-Change-Number"] = str(changed)
    return response


def _cell_context(
    access: Access, matrix: Matrix, option_id: int, criterion_id: int
) -> dict[str, object]:
    cell = matrix.cell_context(option_id, criterion_id)
    assert cell is not None  # the service accepted the cell, so the matrix shows it
    return {
        "access": access,
        "decision": matrix.decision,
        "m": matrix,
        "poll": False,
        "changes": ViewChanges(
            cells=frozenset({(option_id, criterion_id)}),
            totals=frozenset({option_id}),
            ranks=frozenset(matrix.ranks),
            progress=True,
        ),
        **cell,
    }


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
    end_transaction()
    return render_live(access, "matrix/_updates.html")


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
