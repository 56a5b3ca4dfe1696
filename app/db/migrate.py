"""Alembic glue: upgrade to head, and refuse to serve an un-migrated database."""

from __future__ import annotations

import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from app.config import ROOT
from app.db.engine import get_engine


class SchemaNotCurrent(RuntimeError):
    pass


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", os.path.join(ROOT, "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    command.upgrade(alembic_config(str(app.config["DATABASE_URL"])), revision)


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


def current_revision(app: Flask) -> str | None:
    with get_engine(app).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_current_schema(app: Flask) -> None:
    """Stop at start-up when the database is behind the code's migrations."""
    current = current_revision(app)
    head = head_revision()
    if current != head:
        raise SchemaNotCurrent(
            f"The database is at migration {current or 'none'} but the code needs {head}. "
            "Run `flask --app app init-db` (or `make migrate`) to bring it up to date."
        )
