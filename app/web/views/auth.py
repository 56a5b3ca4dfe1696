"""Log in and log out; change one's own password.

A login attempt first asks the throttle (:mod:`app.web.throttle`) whether failures have used
up a limit for the username or the address: then it is refused with 429 before any password
is hashed. A failure is counted and recorded in the audit log in a short transaction of its
own (the 401 answer rolls the request's work back); a success starts a session stamped with
its start and last activity (see ``_load_user`` for the lifetimes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from app.db.uow import unit_of_work
from app.domain.errors import InvalidInput
from app.services import audit
from app.services.users import (
    authenticate,
    change_own_password,
    link_user,
    log_out,
    normalise_username,
    record_login,
    set_password_from_link,
)
from app.web.clock import now
from app.web.throttle import Refusal, login_throttle
from app.web.transaction import end_transaction, get_session

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site, else the home page. Control
    characters (a CR or LF could split the redirect's header), backslashes (which browsers
    read as ``/``) and anything naming another site fall back to the home page."""
    home = url_for("decisions.index")
    if not target or any(ord(c) < 32 or ord(c) == 127 or c == "\\" for c in target):
        return home
    if not target.startswith("/") or target.startswith("//"):
        return home
    try:
        parts = urlsplit(target)
    except ValueError:
        return home
    if parts.scheme or parts.netloc:
        return home
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    # A one-time set-password link (``/login?token=…``) opens on the login page: both are
    # open to people who are not logged in.
    token = request.args.get("token")
    if token is not None:
        return _set_password_from_link(token)
    if request.method == "GET":
        return _form(None, 200)
    # Someone already logged in may log in again: looking up their user began the request's
    # write transaction (SQLite's write lock), which the writes below must not wait for.
    end_transaction()
    username = normalise_username(request.form.get("username", ""))
    password = request.form.get("password", "")
    address = request.remote_addr
    throttle = login_throttle()
    refusal = throttle.refusal(username, address)
    if refusal is not None:
        return _refused(refusal)
    # A read transaction: the slow password check must never hold SQLite's write lock.
    with unit_of_work(write=False) as db:
        user = authenticate(session=db, username=username, password=password)
    if user is None:
        reached = throttle.record_failure(username, address)
        audit.record_alone(kind=audit.Kind.LOGIN_FAILED, username=username)
        for limit in reached:  # throttling begins: recorded once, when a limit is used up
            audit.record_alone(
                kind=audit.Kind.LOGIN_THROTTLED,
                username=username,
                details={"scope": limit.scope, "limit": limit.limit, "seconds": limit.retry_after},
            )
        return _form("Unknown username or wrong password.", 401)
    with unit_of_work() as db:  # a stronger hash may replace an old one; the audit event
        record_login(session=db, user_id=user.id, password=password)
    session.clear()
    session["user_id"] = user.id
    session["session_version"] = user.session_version
    session["started_at"] = session["seen_at"] = int(now())
    session.permanent = False
    return redirect(_safe_next(request.form.get("next")))


def _form(error: str | None, status: int) -> tuple[str, int]:
    page = render_template("auth/login.html", error=error, next=request.values.get("next", ""))
    return page, status


def _refused(refusal: Refusal) -> ResponseReturnValue:
    """429 with the wait in words and in ``Retry-After``; no password was checked."""
    page, status = _form(refusal.message, 429)
    return page, status, {"Retry-After": str(refusal.retry_after)}


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    log_out(session=get_session(), user=g.user)
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
def password() -> ResponseReturnValue:
    """The person changes their own password; their other sessions end, this one stays."""
    if request.method == "GET":
        return render_template("auth/password.html", errors={}, changed=False)
    try:
        user = change_own_password(
            session=get_session(),
            user_id=g.user.id,
            current=request.form.get("current", ""),
            new=request.form.get("new", ""),
            repeated=request.form.get("repeated", ""),
        )
    except InvalidInput as exc:
        return render_template("auth/password.html", errors=exc.errors, changed=False), 422
    session["session_version"] = user.session_version
    return render_template("auth/password.html", errors={}, changed=True)


def _set_password_from_link(token: str) -> ResponseReturnValue:
    """The page a one-time link opens: the person sets their password, once."""
    moment = datetime.fromtimestamp(now(), UTC)
    db = get_session()
    if request.method == "GET":
        user = link_user(session=db, token=token, now=moment)
        status = 200 if user is not None else 410
        return _link_page(token, user, {}, done=False), status
    try:
        user = set_password_from_link(
            session=db,
            token=token,
            new=request.form.get("new", ""),
            repeated=request.form.get("repeated", ""),
            now=moment,
        )
    except InvalidInput as exc:
        status = 410 if "link" in exc.errors else 422
        found = None if "link" in exc.errors else link_user(session=db, token=token, now=moment)
        return _link_page(token, found, exc.errors, done=False), status
    return _link_page(token, user, {}, done=True)


def _link_page(token: str, user: object, errors: dict[str, str], *, done: bool) -> str:
    return render_template(
        "auth/set_password.html", token=token, person=user, errors=errors, done=done
    )
