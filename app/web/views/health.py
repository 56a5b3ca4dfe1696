"""``GET /healthz`` for load balancers: is this process able to reach its database?

Public (no login) and cheap: one ``SELECT 1`` through the application's engine, outside the
request's unit of work, and nothing about any user or decision.
"""

from __future__ import annotations

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from app.db.engine import get_engine, ping


def health() -> ResponseReturnValue:
    """200 ``{"status": "ok"}`` when the database answers, else 503 (the reason goes to the
    error log only: a connection error may name hosts and users)."""
    try:
        ping(get_engine())
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        current_app.logger.warning(
            "Health check: the database does not answer: %s: %s", type(exc).__name__, reason
        )
        response = jsonify(status="unavailable", database="unreachable")
        response.status_code = 503
    else:
        response = jsonify(status="ok")
    response.headers["Cache-Control"] = "no-store"
    return response
