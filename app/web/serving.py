"""gunicorn settings for ``make serve`` and ``make run``.

    gunicorn -c app/web/serving.py app.wsgi:app

gunicorn reads this file by path, so the master process imports nothing of the application
(``-c python:app.web.serving`` would import the ``app.web`` package into the master, and workers
restarted by ``kill -HUP`` would then keep running the old code). Each worker imports
``app.wsgi`` itself and builds its own database engine: there is no ``preload_app``.

Environment (every value optional):

- ``HOST`` / ``PORT``: where to listen (``127.0.0.1:5000``).
- ``WORKERS``: processes; default 2 per CPU core, at least 2 and at most 8. Each worker holds its
  own connection pool (up to 16 PostgreSQL connections) and its own memo renderer.
- ``THREADS``: threads per worker (default 4): a thread waiting on the database or a memo
  render does not hold up the worker's other requests.
- ``FORWARDED_ALLOW_IPS``: comma-separated addresses of the reverse proxies whose
  ``X-Forwarded-Proto`` is believed (default ``127.0.0.1``: a proxy on the same host).
- ``LOG_REQUESTS``: ``1`` (the default here) writes one JSON line per request to stderr, and
  gunicorn's own access log stays off; ``0`` turns it off and gunicorn's access log on.
- ``MEMO_RENDER_TIMEOUT``: read to let a memo render in progress finish on shutdown.
"""

from __future__ import annotations

import os

MAX_WORKERS = 8


def _number(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def default_workers(cores: int | None) -> int:
    """Two workers per core, at least 2 (one slow request never stalls the host) and at most
    8 (memory and PostgreSQL connections grow with every worker, not with threads)."""
    return max(2, min(2 * (cores or 1), MAX_WORKERS))


def bind_address(host: str, port: str) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


_host = os.environ.get("HOST", "").strip() or "127.0.0.1"
_port = os.environ.get("PORT", "").strip() or "5000"
# The application reads LOG_REQUESTS from the environment each worker inherits.
os.environ.setdefault("LOG_REQUESTS", "1")
_log_requests = os.environ["LOG_REQUESTS"] == "1"

bind = [bind_address(_host, _port)]
workers = _number("WORKERS", default_workers(os.cpu_count()))
threads = _number("THREADS", 4)
worker_class = "gthread"
preload_app = False

# Every open matrix page polls every 2 s: an idle connection is kept 5 s, so a page's polls
# reuse one connection (gthread parks idle connections without holding a thread).
keepalive = 5
# A worker that stops reporting for this long is restarted (requests run in threads, so a
# slow request alone does not trigger it).
timeout = 30
# On shutdown or restart, requests in progress get this long to finish: enough for a memo
# render that has just started.
graceful_timeout = int(float(os.environ.get("MEMO_RENDER_TIMEOUT", "60"))) + 15

forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1"

accesslog = None if _log_requests else "-"
errorlog = "-"
loglevel = "info"
proc_name = "options-matrix"
