"""``/healthz``: 200 while the database answers, 503 (saying nothing secret) when it does not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from app import create_app
from app.db.engine import ENGINE_KEY, get_engine, is_sqlite, make_engine

CLOSED_PORT_URL = "postgresql+psycopg://postgres@127.0.0.1:1/x"


def unreachable_url(app: Flask, tmp_path: Path) -> str:
    """A database of the app's own kind that cannot be reached."""
    if is_sqlite(get_engine(app)):
        return f"sqlite:///{tmp_path / 'missing-folder' / 'gone.sqlite3'}"
    return CLOSED_PORT_URL


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}
    body = response.get_data(as_text=True)
    for secret in ("127.0.0.1", "postgres", "sqlite", "gone", "port", "Error"):
        assert secret not in body


def test_health_is_ok_without_login(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_health_asks_the_database_one_select_and_nothing_else(
    app: Flask, client: FlaskClient
) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    client.get("/healthz")  # the schema check runs once per process, on its first request
    event.listen(get_engine(app), "before_cursor_execute", record)
    try:
        assert client.get("/healthz").status_code == 200
    finally:
        event.remove(get_engine(app), "before_cursor_execute", record)
    # SQLite's connections emit their own BEGIN (see app/db/engine.py).
    assert [sql for sql in statements if sql != "BEGIN"] == ["SELECT 1"]


def test_health_answers_503_when_the_database_goes_away(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    assert client.get("/healthz").status_code == 200
    reachable = app.extensions[ENGINE_KEY]
    app.extensions[ENGINE_KEY] = make_engine(unreachable_url(app, tmp_path))
    try:
        assert_unavailable(client.get("/healthz"))
    finally:
        app.extensions[ENGINE_KEY].dispose()
        app.extensions[ENGINE_KEY] = reachable
    assert client.get("/healthz").status_code == 200


@pytest.fixture
def unreachable_app(tmp_path: Path) -> Iterator[Flask]:
    """A process whose database was never reachable (past the start-up schema check)."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": CLOSED_PORT_URL,
            "SECRET_KEY": "test-secret",
            "SKIP_SCHEMA_CHECK": True,
        }
    )
    yield app
    get_engine(app).dispose()


def test_health_answers_503_on_a_closed_port(unreachable_app: Flask) -> None:
    response = unreachable_app.test_client().get("/healthz")
    assert_unavailable(response)
    assert response.headers["Cache-Control"] == "no-store"
