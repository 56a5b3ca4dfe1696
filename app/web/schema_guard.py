"""Answer 503 with the fix while the database is behind the code's migrations."""

from __future__ import annotations

from flask import Flask

from app.db.migrate import SchemaNotCurrent, require_current_schema


def install_schema_guard(app: Flask) -> None:
    """Answer 503 with the fix until the schema is current (checked until it first passes).

    The WSGI entry point (``app.wsgi``) refuses to start at all; this guard covers
    ``flask run`` and any other server that builds the app itself.
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
        state["ok"] = True
        return None
