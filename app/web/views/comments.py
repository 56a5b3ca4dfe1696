"""The discussion: read a cell's or an option's thread, post a comment or a reply.

With htmx a post answers the thread again (the new comment in it, the form empty; or the
form with its message and the typed text, 422); without, it redirects to the thread's page.
The thread fragment (``comments/_thread.html``) is the same in the cell drawer, on the
option page and in these answers; pages that include it get the thread from the template
global ``comment_thread(access, option_id, criterion_id)``.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.domain.errors import InvalidInput
from app.services import comments as comment_service
from app.web.access import Access, load_decision
from app.web.htmx import is_htmx, make_response
from app.web.transaction import get_read_session, get_session

bp = Blueprint("comments", __name__, url_prefix="/decisions/<int:decision_id>/discussion")


@bp.app_template_global("comment_thread")
def comment_thread(
    access: Access, option_id: int, criterion_id: int | None = None
) -> comment_service.Thread:
    """The thread for a page that includes ``comments/_thread.html`` (the cell drawer)."""
    return comment_service.thread(
        session=get_read_session(),
        decision=access.decision,
        viewer_id=access.user_id,
        option_id=option_id,
        criterion_id=criterion_id,
    )


def _post_url(thread: comment_service.Thread) -> str:
    if thread.criterion is None:
        return url_for(
            "comments.option", decision_id=thread.decision_id, option_id=thread.option.id
        )
    return url_for(
        "comments.cell",
        decision_id=thread.decision_id,
        option_id=thread.option.id,
        criterion_id=thread.criterion.id,
    )


def _page_url(thread: comment_service.Thread) -> str:
    """The page a thread lives on (the option page, the cell's detail page)."""
    if thread.criterion is None:
        return url_for("options.detail", decision_id=thread.decision_id, option_id=thread.option.id)
    return url_for(
        "matrix.cell_detail",
        decision_id=thread.decision_id,
        option_id=thread.option.id,
        criterion_id=thread.criterion.id,
    )


def _render(
    access: Access, thread: comment_service.Thread, status: int = 200, **extra: object
) -> ResponseReturnValue:
    template = "comments/_thread.html" if is_htmx() else "comments/page.html"
    html = render_template(
        template,
        access=access,
        decision=access.decision,
        thread=thread,
        page_url=_page_url(thread),
        heading_level=3 if is_htmx() else 2,
        **extra,
    )
    return make_response(html, status)


def _thread(access: Access, option_id: int, criterion_id: int | None) -> comment_service.Thread:
    return comment_service.thread(
        session=get_session(),
        decision=access.decision,
        viewer_id=access.user_id,
        option_id=option_id,
        criterion_id=criterion_id,
    )


def _parent_id() -> int | None:
    raw = (request.form.get("parent_id") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise InvalidInput({"body": "The comment you are replying to is not in this discussion."})
    return int(raw)


def _answer(decision_id: int, option_id: int, criterion_id: int | None) -> ResponseReturnValue:
    if request.method == "GET":
        access = load_decision(decision_id)
        return _render(access, _thread(access, option_id, criterion_id))
    access = load_decision(decision_id)
    db = get_session()
    try:
        parent_id = _parent_id()
        comment = comment_service.post_comment(
            session=db,
            decision=access.decision,
            actor_id=access.user_id,
            option_id=option_id,
            criterion_id=criterion_id,
            body=request.form.get("body", ""),
            parent_id=parent_id,
        )
    except InvalidInput as exc:
        thread = _thread(access, option_id, criterion_id)
        return _render(
            access,
            thread,
            422,
            errors=exc.errors,
            typed=request.form.get("body", ""),
            form_parent=(request.form.get("parent_id") or "").strip(),
        )
    thread = _thread(access, option_id, criterion_id)
    if not is_htmx():
        return redirect(_page_url(thread) + f"#comment-{comment.id}", 303)
    return _render(access, thread, posted=comment.id)


@bp.route("/options/<int:option_id>", methods=["GET", "POST"])
def option(decision_id: int, option_id: int) -> ResponseReturnValue:
    """An option's own thread."""
    return _answer(decision_id, option_id, None)


@bp.route("/cells/<int:option_id>/<int:criterion_id>", methods=["GET", "POST"])
def cell(decision_id: int, option_id: int, criterion_id: int) -> ResponseReturnValue:
    """A cell's thread (the option judged on one criterion)."""
    return _answer(decision_id, option_id, criterion_id)


@bp.app_template_global("comment_post_url")
def comment_post_url(thread: comment_service.Thread) -> str:
    return _post_url(thread)
