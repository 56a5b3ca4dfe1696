"""The engine and its sessions.

SQLite gets WAL, foreign keys and a busy timeout on every connection, and write transactions
start with ``BEGIN IMMEDIATE`` so a read-then-write transaction never fails on lock upgrade.
PostgreSQL uses a normal pool built in each worker process (so no gunicorn ``--preload``).
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import Connection
from sqlmodel import Session, create_engine

ENGINE_KEY = "options_matrix.engine"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    # A request may hold up to three connections at once (its own, a read-only snapshot and
    # the shared cache's), and every gunicorn thread may be in one: a pool smaller than that
    # opens and closes connections all the time, and PostgreSQL forks a process for each.
    threads = int(os.environ.get("THREADS") or 4)  # gunicorn's threads per worker
    size = int(os.environ.get("DATABASE_POOL_SIZE") or 3 * threads)
    return create_engine(url, pool_pre_ping=True, pool_size=size, max_overflow=4)


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
    engine: Engine = (app or current_app).extensions[ENGINE_KEY]
    return engine


def new_session(*, write: bool, engine: Engine | None = None) -> Session:
    """A session; ``write=True`` begins its transactions as writers (SQLite: IMMEDIATE)."""
    engine = engine or get_engine()
    bind = engine.execution_options(write=True) if write else engine
    return Session(bind=bind, expire_on_commit=False)


def init_app(app: Flask) -> None:
    from app.db import changes

    changes.install()
    app.extensions[ENGINE_KEY] = make_engine(str(app.config["DATABASE_URL"]))


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
