"""One unit of work per request: opened on first use, committed when the response is a
success, rolled back otherwise. Views and services never commit or roll back themselves."""

from __future__ import annotations

from flask import Flask, Response, g, request
from sqlmodel import Session

from app.db.engine import new_session

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_session() -> Session:
    """The request's session (write requests begin as writers: SQLite ``BEGIN IMMEDIATE``)."""
    if "db_session" not in g:
        g.db_session = new_session(write=request.method in WRITE_METHODS)
    return g.db_session  # type: ignore[no-any-return]


def get_read_session() -> Session:
    """A read-only session for the request: the request's own on a GET, a second one on a
    write request (used after :func:`end_transaction`, so reading what to answer never takes
    SQLite's write lock again)."""
    if request.method not in WRITE_METHODS:
        return get_session()
    if "db_read_session" not in g:
        g.db_read_session = new_session(write=False)
    return g.db_read_session  # type: ignore[no-any-return]


def end_transaction() -> None:
    """Commit now what the request has done so far (before slow work that must not hold a
    write lock, e.g. rendering a memo); the next :func:`get_session` use begins anew."""
    session = g.get("db_session")
    if session is not None:
        session.commit()


def discard() -> None:
    """Roll back everything the request has done (an error is being answered)."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def _finish(response: Response) -> Response:
    session = g.get("db_session")
    if session is not None:
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
    return response


def _close(_exc: BaseException | None = None) -> None:
    for name in ("db_session", "db_read_session"):
        session = g.pop(name, None)
        if session is not None:
            session.close()  # rolls back whatever was not committed


def init_app(app: Flask) -> None:
    app.after_request(_finish)
    app.teardown_appcontext(_close)
