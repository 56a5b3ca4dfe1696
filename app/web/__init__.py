"""Web wiring: extensions, login gate, security headers, error pages, template helpers."""

from __future__ import annotations

from typing import Any

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from app.config import VERSION
from app.db.models import User
from app.domain.errors import ServiceError
from app.domain.policy import Action
from app.services import audit
from app.web import formatting, request_log, transaction
from app.web import print as memo_print
from app.web.clock import now
from app.web.htmx import htmx, is_htmx
from app.web.transaction import get_session
from app.web.views import health

csrf = CSRFProtect()

PUBLIC_ENDPOINTS = frozenset({"auth.login", "static", "health"})

HSTS = "max-age=31536000; includeSubDomains"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def init_app(app: Flask) -> None:
    # Order matters: who is asking is settled before the CSRF check, so an anonymous state
    # change is sent to the login page (or told 401) rather than told about its token.
    request_log.init_app(app)
    transaction.init_app(app)
    app.before_request(_note_remote_addr)
    app.teardown_request(_forget_remote_addr)
    app.before_request(_load_user)
    # Before the login gate, so the login form itself is covered.
    app.before_request(_refuse_nul)
    app.before_request(_require_login)
    htmx.init_app(app)
    csrf.init_app(app)

    from app.web.views import register_blueprints

    register_blueprints(app)
    app.after_request(_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _server_error)

    app.add_url_rule("/healthz", "health", health.health)
    formatting.register(app.jinja_env)
    memo_print.init_app(app)
    app.jinja_env.globals["app_version"] = VERSION
    # The vocabulary comes with the formatting filters; templates ask ``access.can(Action.…)``.
    app.jinja_env.globals["Action"] = Action


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not is_htmx()


# Requests a page makes by itself (the matrix's live-update poll) do not keep a login alive.
PASSIVE_ENDPOINTS = frozenset({"matrix.poll"})
# The last-activity stamp is refreshed at most this often (each refresh re-sends the cookie).
SEEN_RESOLUTION = 60


def _note_remote_addr() -> None:
    """Audit events of this request say where it came from (behind a proxy, gunicorn's
    forwarded settings decide what ``remote_addr`` is)."""
    audit.set_remote_addr(request.remote_addr)


def _forget_remote_addr(_exc: BaseException | None = None) -> None:
    audit.set_remote_addr(None)


def _load_user() -> None:
    """The logged-in user, if the cookie's session version is still the user's (logout and
    password changes raise it) and the login has outlived neither its idle time
    (``SESSION_IDLE_MINUTES`` since the last request of the person's own) nor its whole
    lifetime (``SESSION_MAX_HOURS`` since it began)."""
    g.user = None
    user_id = session.get("user_id")
    if user_id is None or request.endpoint in ("static", "health"):
        return
    moment = int(now())
    started, seen = session.get("started_at"), session.get("seen_at")
    if (
        not isinstance(started, int)
        or not isinstance(seen, int)
        or moment - started > int(current_app.config["SESSION_MAX_HOURS"]) * 3600
        or moment - seen > int(current_app.config["SESSION_IDLE_MINUTES"]) * 60
    ):
        session.clear()
        return
    user = get_session().get(User, user_id)
    if user is None or user.session_version != session.get("session_version"):
        session.clear()
        return
    g.user = user
    if request.endpoint not in PASSIVE_ENDPOINTS and moment - seen >= SEEN_RESOLUTION:
        session["seen_at"] = moment


NUL_MESSAGE = "Text may not contain the NUL character (\\0); remove it and try again."


def _has_nul(value: Any) -> bool:
    """Whether any string in a JSON value (keys included) holds a NUL character."""
    pending = [value]
    while pending:  # no recursion: nesting depth is the sender's choice
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _refuse_nul() -> None:
    """No text with a NUL character gets in: the database cannot store it, so any form
    field, query value or JSON string holding one is refused before a view runs."""
    fields = [*request.args.items(multi=True)]
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        fields += request.form.items(multi=True)
    if any("\x00" in key or "\x00" in value for key, value in fields):
        abort(400, NUL_MESSAGE)
    if request.is_json:
        try:
            data = request.get_json(silent=True)
        except RecursionError:
            abort(400, "The JSON is nested too deeply.")
        if _has_nul(data):
            abort(400, NUL_MESSAGE)


def _require_login() -> ResponseReturnValue | None:
    if g.user is not None or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if wants_json():
        return jsonify(error="Log in first."), 401
    if is_htmx():
        response = Response("Your session has ended. Log in again.", 401)
        response.headers["HX-Redirect"] = url_for("auth.login", next=request.full_path)
        return response
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if g.get("user") is not None and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        # Served over HTTPS only: browsers are told to keep it so for a year.
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _error_response(status: int, message: str, errors: dict[str, str] | None = None) -> Any:
    if wants_json():
        body: dict[str, Any] = {"error": message}
        if errors:
            body["errors"] = errors
        return jsonify(body), status
    if is_htmx():
        response = Response(message, status, mimetype="text/plain")
        response.headers["Vary"] = "HX-Request"
        return response
    return render_template(
        "error.html", status=status, message=message, decision=g.get("decision")
    ), status


def _csrf_error(exc: CSRFError) -> Any:
    return _error_response(
        400, "The form was missing its security token. Reload the page and try again."
    )


def _service_error(exc: ServiceError) -> Any:
    transaction.discard()
    return _error_response(exc.status, exc.message, getattr(exc, "errors", None))


_MESSAGES = {
    400: "The request was not understood.",
    401: "Log in first.",
    403: "Your role in this decision does not allow that.",
    404: "Not found.",
    405: "That action is not allowed here.",
    409: "That conflicts with a newer change.",
    413: "That is too large.",
}


def _http_error(exc: HTTPException) -> Any:
    if exc.code and exc.code >= 500:
        return _server_error(exc)
    code = exc.code or 400
    custom = exc.description and exc.description != type(exc).description
    message = exc.description if custom and exc.description else _MESSAGES.get(code, "Error.")
    return _error_response(code, message)


def _server_error(exc: Exception) -> Any:
    transaction.discard()
    if isinstance(exc, OperationalError):  # unreachable, or too busy to answer in time
        current_app.logger.warning("Database unavailable: %s", exc)
        return _error_response(503, "The database does not answer; nothing was saved. Try again.")

    current_app.logger.exception("Unhandled error: %s", exc)
    return _error_response(500, "Something went wrong on our side; nothing was saved.")
