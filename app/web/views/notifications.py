"""Notifications: the header's unread count, the list page, opening one (marks it read) and
"Mark all read"; and emailing them after the request that created them has committed.

The count is one indexed query, made only when a full page renders its header (never by
fragments or the matrix's poll). Emails go out after the response has been sent (see
:mod:`app.services.notifications` for the claim → send → release design): a mail server
that is slow or down delays no one and undoes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from app.adapters.mail import MailSettings
from app.db.engine import get_engine
from app.services import notification_emails
from app.services import notifications as notification_service
from app.web.htmx import make_response
from app.web.params import int_arg
from app.web.transaction import get_read_session, get_session

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


# --------------------------------------------------------------------------------------------
# The header's count
# --------------------------------------------------------------------------------------------


def unread_notifications() -> int | None:
    """The logged-in user's unread count (None when it cannot be read: the header then
    shows the link without a number)."""
    user = g.get("user")
    if user is None or user.id is None:
        return None
    try:
        return notification_service.unread_count(get_read_session(), user.id)
    except SQLAlchemyError:
        return None


@bp.app_context_processor
def _header() -> dict[str, Any]:
    return {"unread_notifications": unread_notifications}


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


def _href(entry: notification_service.Entry) -> str:
    endpoint, values = entry.target
    return url_for(endpoint, **values) + (f"#{entry.anchor}" if entry.anchor else "")


@bp.get("")
def index() -> ResponseReturnValue:
    page = notification_service.recent(get_session(), g.user.id, before=int_arg("before"))
    more_url = url_for("notifications.index", before=page.next_before) if page.next_before else None
    return make_response(render_template("notifications/index.html", page=page, more_url=more_url))


@bp.post("/<int:notification_id>/open")
def open_(notification_id: int) -> ResponseReturnValue:
    entry = notification_service.open_notification(get_session(), g.user.id, notification_id)
    return redirect(_href(entry), 303)


@bp.post("/read")
def mark_all_read() -> ResponseReturnValue:
    notification_service.mark_all_read(get_session(), g.user.id)
    return redirect(url_for("notifications.index"), 303)


# --------------------------------------------------------------------------------------------
# Emails, after the commit
# --------------------------------------------------------------------------------------------


def path_builder(app: Flask) -> Callable[[str, dict[str, Any]], str]:
    """The path of a page by endpoint and values, outside any request (for emails)."""
    adapter = app.url_map.bind("localhost")

    def build(endpoint: str, values: dict[str, Any]) -> str:
        return str(adapter.build(endpoint, values))

    return build


def deliver(app: Flask) -> notification_emails.Delivery | None:
    """Email what is pending, if SMTP is configured (None when it is not)."""
    settings = MailSettings.from_config(app.config)
    if settings is None:
        return None
    return notification_emails.deliver_pending(
        engine=get_engine(app),
        settings=settings,
        public_url=str(app.config.get("PUBLIC_URL") or ""),
        build_path=path_builder(app),
    )


def _deliver_quietly(app: Flask) -> None:
    try:
        with app.app_context():
            deliver(app)
    except Exception:  # noqa: BLE001 - an email problem must never reach the person
        app.logger.exception("Emailing notifications failed; they stay pending.")


@bp.before_app_request
def _forget_created() -> None:
    notification_service.reset_created()


@bp.after_app_request
def _deliver_after_commit(response: Response) -> Response:
    """Runs before the request's commit (after-request handlers run in reverse order); the
    delivery itself runs when the response is closed, after the commit."""
    if response.status_code >= 400 or not notification_service.created_any():
        return response
    notification_service.reset_created()
    if MailSettings.from_config(current_app.config) is None:
        return response
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    response.call_on_close(lambda: _deliver_quietly(app))
    return response
