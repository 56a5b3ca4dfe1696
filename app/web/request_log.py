"""One JSON line per request, and a request id on every answer.

A WSGI middleware wraps the Flask application, so every request is seen exactly once whatever
answers it: a view, an error page, an unhandled exception turned into a 500, a static file or a
404 from the router. Each answer carries ``X-Request-ID``: the caller's own id when it is a sane
token (1–64 characters of ``A-Z a-z 0-9 . _ -``), else a new ``uuid4`` hex. With the
``LOG_REQUESTS`` setting on, the logger ``options_matrix.request`` writes a line to stderr::

    {"time": "2026-11-28T09:30:54.123Z", "method": "GET", "path": "/healthz", "status": 200,
     "duration_ms": 1.4, "request_id": "3f9c…", "user_id": null}

``time`` is when the request arrived (UTC), ``duration_ms`` the time until the answer's status
and headers were ready (a large file's transfer is not counted), ``path`` carries no query
string, and ``user_id`` is the logged-in user's id (``null`` when anonymous and for static files,
which are served without looking the user up).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, g, request
from sqlalchemy import inspect
from werkzeug.wrappers import Request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

LOGGER_NAME = "options_matrix.request"
HEADER = "X-Request-ID"
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Keys this module keeps in the WSGI environment of a request.
ID_KEY = "options_matrix.request_id"
USER_KEY = "options_matrix.user_id"
# A path or method longer than this is cut (an ellipsis marks the cut): lines stay short.
MAX_PATH = 200
MAX_METHOD = 16

log = logging.getLogger(LOGGER_NAME)


class StderrHandler(logging.Handler):
    """Writes each record as one line to ``sys.stderr`` as it is when the record is written."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def init_app(app: Flask) -> None:
    """Wrap ``app.wsgi_app``; lines are written while ``app.config["LOG_REQUESTS"]`` is true."""
    if not any(isinstance(handler, StderrHandler) for handler in log.handlers):
        log.addHandler(StderrHandler())
    log.setLevel(logging.INFO)
    log.propagate = False  # one line per request, even where the root logger has a handler
    app.teardown_request(_remember_user)
    app.wsgi_app = RequestLog(app.wsgi_app, app)  # type: ignore[method-assign]


def request_id() -> str | None:
    """The current request's id (the one sent back in ``X-Request-ID``)."""
    value = request.environ.get(ID_KEY)
    return value if isinstance(value, str) else None


def _remember_user(_exc: BaseException | None = None) -> None:
    """Note who asked, for the line written once the answer is ready.

    The id comes from the row's identity, which needs no query even after a rollback has
    expired the row's attributes."""
    user = g.get("user")
    identity = inspect(user).identity if user is not None else None
    request.environ[USER_KEY] = identity[0] if identity else None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RequestLog:
    """WSGI middleware: request id in and out, and the request's line once it is answered."""

    def __init__(self, wsgi_app: WSGIApplication, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        arrived = datetime.now(UTC)
        started = time.perf_counter()
        incoming = Request(environ, shallow=True)  # headers and path only; the body is not read
        supplied = incoming.headers.get(HEADER, "")
        request_id = supplied if SANE_ID.fullmatch(supplied) else uuid.uuid4().hex
        environ[ID_KEY] = request_id
        status = [500]  # what an exception that escapes before any answer amounts to

        def start(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = int(status_line.split(" ", 1)[0])
            headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers.append((HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            if self.app.config.get("LOG_REQUESTS"):
                line = {
                    "time": arrived.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "method": _cut(incoming.method, MAX_METHOD),
                    "path": _cut(incoming.root_path + incoming.path, MAX_PATH),
                    "status": status[0],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "request_id": request_id,
                    "user_id": environ.get(USER_KEY),
                }
                log.info(json.dumps(line))
