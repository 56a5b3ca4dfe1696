"""Settings read from the environment (every key is documented in README.md)."""

from __future__ import annotations

import os
import secrets
import time
from importlib import metadata
from pathlib import Path

# The checkout: templates/, static/ and migrations/ live here.
ROOT = str(Path(__file__).resolve().parents[1])

try:
    VERSION = metadata.version("options-matrix")
except metadata.PackageNotFoundError:  # running from a checkout that was never installed
    VERSION = "0.1.0"


def load_settings(instance_path: str) -> dict[str, object]:
    """Return Flask config values taken from the environment, with safe defaults.

    - ``DATABASE_URL``: SQLAlchemy URL; default is a SQLite file in ``instance/``.
    - ``SECRET_KEY``: signs session cookies; default is a random key kept in
      ``instance/secret_key`` so restarts and several workers share it.
    - ``SESSION_COOKIE_SECURE``: ``1`` behind HTTPS (cookies go over HTTPS only, and every
      answer carries ``Strict-Transport-Security: max-age=31536000; includeSubDomains``).
    - ``MEMO_RENDER_TIMEOUT``: seconds a memo render may take (default 60).
    - ``LOG_REQUESTS``: ``1`` writes one JSON line per request to stderr (default ``0``; the
      gunicorn settings in ``app/web/serving.py``, used by ``make serve`` and ``make run``,
      turn it on).
    - ``SESSION_IDLE_MINUTES``: a login ends after this many minutes without a request of the
      person's own (live-update polls do not count; default 60).
    - ``SESSION_MAX_HOURS``: a login ends this many hours after it began, whatever happens
      (default 12).
    - ``LOGIN_LIMIT_PER_USERNAME``, ``LOGIN_LIMIT_PER_ADDRESS``: failed logins allowed per
      username and per network address before logging in is paused (defaults
      ``5 per minute; 20 per hour`` and ``20 per minute; 100 per hour``).
    - ``SMTP_HOST`` (no email without it), ``SMTP_PORT`` (default 25), ``SMTP_USERNAME``,
      ``SMTP_PASSWORD``, ``SMTP_STARTTLS`` (``1``: upgrade the connection), ``SMTP_FROM``
      (default ``options-matrix@localhost``), ``SMTP_TIMEOUT`` (seconds, default 10): where
      set-password links and notifications are emailed.
    - ``PUBLIC_URL``: the address people reach the service at, for links in emails
      (default ``http://localhost:5000``).
    """
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{Path(instance_path) / 'options_matrix.sqlite3'}"
    )
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _instance_secret(instance_path),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "0") == "1",
        # CSRF tokens live as long as the login session (pages are left open for hours).
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        "MEMO_RENDER_TIMEOUT": float(os.environ.get("MEMO_RENDER_TIMEOUT", "60")),
        "LOG_REQUESTS": os.environ.get("LOG_REQUESTS", "0") == "1",
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "SESSION_IDLE_MINUTES": _positive_int("SESSION_IDLE_MINUTES", 60),
        "SESSION_MAX_HOURS": _positive_int("SESSION_MAX_HOURS", 12),
        "LOGIN_LIMIT_PER_USERNAME": os.environ.get("LOGIN_LIMIT_PER_USERNAME")
        or "5 per minute; 20 per hour",
        "LOGIN_LIMIT_PER_ADDRESS": os.environ.get("LOGIN_LIMIT_PER_ADDRESS")
        or "20 per minute; 100 per hour",
        "SMTP_HOST": os.environ.get("SMTP_HOST", "").strip() or None,
        "SMTP_PORT": _positive_int("SMTP_PORT", 25),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": os.environ.get("SMTP_STARTTLS", "0") == "1",
        "SMTP_FROM": os.environ.get("SMTP_FROM") or "options-matrix@localhost",
        "SMTP_TIMEOUT": float(os.environ.get("SMTP_TIMEOUT", "10")),
        "PUBLIC_URL": (os.environ.get("PUBLIC_URL") or "http://localhost:5000").rstrip("/"),
    }


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {raw!r}.")
    return int(raw)


def _instance_secret(instance_path: str) -> str:
    """A random key created once (atomically, mode 0600) and shared by every process."""
    path = Path(instance_path) / "secret_key"
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it this very moment
            existing = path.read_text().strip()
            if existing:
                return existing
            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty; delete it or set SECRET_KEY.") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
