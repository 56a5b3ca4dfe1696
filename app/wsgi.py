"""WSGI entry point for gunicorn: ``gunicorn app.wsgi:app``. Refuses to start un-migrated.

A database that does not answer at start-up does not stop the worker (gunicorn would then
stop every worker): requests answer 503 until it does (see ``app.web.schema_guard``).
"""

import logging

from sqlalchemy.exc import OperationalError

from app import create_app
from app.db.migrate import require_current_schema

app = create_app()
try:
    require_current_schema(app)
except OperationalError:
    logging.getLogger(__name__).warning("database unreachable at start-up", exc_info=True)
