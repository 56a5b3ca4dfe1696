"""Log in and log out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from app.db import get_session, new_session
from app.services.users import authenticate, revoke_sessions

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("decisions.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("decisions.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    error = None
    if request.method == "POST":
        # A read transaction: the slow password check must never hold SQLite's write lock.
        with new_session(write=False) as db:
            user = authenticate(
                session=db,
                username=request.form.get("username", ""),
                password=request.form.get("password", ""),
            )
            if user is not None and db.dirty:
                db.commit()  # a stronger hash replaced an old one
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
    db = get_session()
    revoke_sessions(session=db, user=g.user)
    db.commit()
    session.clear()
    return redirect(url_for("auth.login"))
