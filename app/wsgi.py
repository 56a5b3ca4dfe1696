"""WSGI entry point for gunicorn: ``gunicorn app.wsgi:app``. Refuses to start un-migrated."""

from app import create_app
from app.db.migrate import require_current_schema

app = create_app()
require_current_schema(app)
