"""Log in and log out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from app.adapters.passwords import needs_rehash
from app.db.uow import unit_of_work
from app.services.users import authenticate, rehash_password, revoke_sessions
from app.web.transaction import get_session

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
    error = None
    if request.method == "POST":
        # A read transaction: the slow password check must never hold SQLite's write lock.
        password = request.form.get("password", "")
        with unit_of_work(write=False) as db:
            user = authenticate(
                session=db, username=request.form.get("username", ""), password=password
            )
        if user is not None and needs_rehash(user.password_hash):
            with unit_of_work() as db:  # a stronger hash replaces an old one
                rehash_password(session=db, user_id=user.id, password=password)
        if user is None:
            error = "Unknown username or wrong password."
        else:
            session.clear()
            session["user_id"] = user.id
            session["session_version"] = user.session_version
            session.permanent = False
            return redirect(_safe_next(request.form.get("next")))
    status = 401 if error else 200
    return (
        render_template("auth/login.html", error=error, next=request.values.get("next", "")),
        status,
    )


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    revoke_sessions(session=get_session(), user=g.user)
    session.clear()
    return redirect(url_for("auth.login"))
