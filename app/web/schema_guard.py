"""Answer 503 with the fix while the database is behind the code's migrations."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.exc import OperationalError

from app.db.migrate import SchemaNotCurrent, require_current_schema

log = logging.getLogger(__name__)


def install_schema_guard(app: Flask) -> None:
    """Answer 503 with the fix until the schema is current (checked until it first passes).

    The WSGI entry point (``app.wsgi``) refuses to start on an old schema; this guard covers
    ``flask run``, any other server that builds the app itself, and a worker that started
    while the database was unreachable (503 until it answers; the health route says so too).
    """
    state = {"ok": False}

    @app.before_request
    def _guard() -> tuple[str, int, dict[str, str]] | None:
        if state["ok"]:
            return None
        try:
            require_current_schema(app)
        except SchemaNotCurrent as exc:
            return str(exc), 503, {"Content-Type": "text/plain; charset=utf-8"}
        except OperationalError:
            log.warning("database unreachable", exc_info=True)
            return (
                "The database does not answer; try again in a moment.",
                503,
                {"Content-Type": "text/plain; charset=utf-8", "Retry-After": "5"},
            )
        state["ok"] = True
        return None
