"""Shared fixtures: every integration test runs against SQLite and PostgreSQL.

Each test gets its own freshly migrated database: SQLite files are copied from a migrated
template; PostgreSQL databases are created from a migrated template database.
PostgreSQL must be reachable (TEST_DATABASE_URL); tests fail rather than skip without it.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.db.uow import unit_of_work
from tests.factories import PASSWORD, World, make_world

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def _admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def _migrate(url: str, instance: Path) -> None:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "t", "SKIP_SCHEMA_CHECK": True})
    from app.db.migrate import upgrade

    with app.app_context():
        upgrade(app)
    app.extensions["options_matrix.engine"].dispose()


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Migrated template databases, built once per test run."""
    base = tmp_path_factory.mktemp("db-templates")
    os.environ.setdefault("INSTANCE_PATH", str(base / "instance"))
    sqlite_file = base / "template.sqlite3"
    _migrate(f"sqlite:///{sqlite_file}", base)
    template_db = f"om_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{template_db}"'))
    _migrate(str(make_url(PG_URL).set(database=template_db)), base)
    yield {"sqlite": str(sqlite_file), "postgresql": template_db}
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{template_db}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, templates: dict[str, str], tmp_path: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        target = tmp_path / "test.sqlite3"
        shutil.copy(templates["sqlite"], target)
        yield f"sqlite:///{target}"
        return
    name = f"om_t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{templates["postgresql"]}"'))
    yield str(make_url(PG_URL).set(database=name))
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret"})
    yield app
    app.extensions["options_matrix.engine"].dispose()


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context(), unit_of_work() as session:
        return make_world(session)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token(client: FlaskClient) -> str:
    """The CSRF token of the client's session, read from a page like a browser would."""
    response = client.get("/login")
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, "no CSRF token on the login page"
    return match.group(1) or match.group(2)


class Actions:
    """Log in as a role; post with the CSRF token (as a form field or, for htmx, a header)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = PASSWORD) -> Any:
        token = csrf_token(self.client)
        response = self.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )
        assert response.status_code == 302, f"login as {username} failed"
        return response

    def logout(self) -> Any:
        return self.post("/logout")

    def token(self) -> str:
        response = self.client.get("/")
        match = CSRF_RE.search(response.get_data(as_text=True))
        assert match, "no CSRF token on the page"
        return match.group(1) or match.group(2)

    def post(
        self,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        htmx: bool = False,
        target: str | None = None,
        **kwargs: Any,
    ) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        payload = dict(data or {})
        if htmx:
            headers["HX-Request"] = "true"
            if target:
                headers["HX-Target"] = target
            headers["X-CSRFToken"] = self.token()
        else:
            payload.setdefault("csrf_token", self.token())
        return self.client.post(url, data=payload, headers=headers, **kwargs)

    def get(self, url: str, *, htmx: bool = False, target: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if htmx:
            headers["HX-Request"] = "true"
            if target:
                headers["HX-Target"] = target
        return self.client.get(url, headers=headers, **kwargs)


@pytest.fixture
def actions(client: FlaskClient) -> Actions:
    return Actions(client)


@pytest.fixture
def as_role(app: Flask, world: World):  # type: ignore[no-untyped-def]
    """``as_role("analyst-a")`` → Actions for a fresh client logged in as that user."""

    def login(username: str) -> Actions:
        acts = Actions(app.test_client())
        acts.login(username)
        return acts

    return login
