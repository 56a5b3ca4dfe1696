"""Engine and per-request session handling.

SQLite gets WAL, foreign keys and a busy timeout on every connection, and write transactions
start with ``BEGIN IMMEDIATE`` so a read-then-write transaction never fails on lock upgrade.
PostgreSQL uses a normal pool built in each worker process (so no gunicorn ``--preload``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g, request
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import Connection
from sqlmodel import Session, create_engine

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (pysqlite's own transaction handling is off).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def get_engine(app: Flask | None = None) -> Engine:
    app = app or current_app
    return app.extensions["options_matrix.engine"]


def new_session(*, write: bool, engine: Engine | None = None) -> Session:
    """A session; ``write=True`` begins its transactions as writers (SQLite: IMMEDIATE)."""
    engine = engine or get_engine()
    bind = engine.execution_options(write=True) if write else engine
    return Session(bind=bind, expire_on_commit=False)


def get_session() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = new_session(write=request.method in WRITE_METHODS)
    return g.db_session


@contextmanager
def session_scope(*, write: bool = True) -> Iterator[Session]:
    """A session for CLI commands and scripts: commit on success, roll back on error."""
    session = new_session(write=write)
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    engine = make_engine(str(app.config["DATABASE_URL"]))
    app.extensions["options_matrix.engine"] = engine
    app.teardown_appcontext(close_session)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
