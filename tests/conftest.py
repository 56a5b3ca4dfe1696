"""Shared fixtures: every integration test runs against SQLite and PostgreSQL.

Databases (each built only when a test of that backend first asks for it):

- SQLite: every test gets its own copy of a migrated template file (a file copy is cheap).
- PostgreSQL: each test process (xdist worker) migrates one template database and clones one
  working database from it; every test after the first finds it emptied, with its id
  sequences restarted, so ids start at 1 as in a new database. A test marked
  ``@pytest.mark.fresh_db`` gets a database of its own, cloned from the template.
  PostgreSQL must be reachable (TEST_DATABASE_URL); tests fail rather than skip without it.

Passwords are hashed with cheap argon2id parameters (see ``app.adapters.passwords``); a
unit test pins the production defaults. Hypothesis runs with the "ci" profile (no deadline,
the same examples on every run) unless HYPOTHESIS_PROFILE names another.
"""

from __future__ import annotations

import os

# Read when app.adapters.passwords is first imported, so before any import of the app.
os.environ.setdefault("PASSWORD_HASH_TIME_COST", "1")
os.environ.setdefault("PASSWORD_HASH_MEMORY_KIB", "8")

import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.db.uow import unit_of_work
from tests.factories import PASSWORD, World, make_world

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")

settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True, database=None)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Spread tests one by one over the workers (as ``-n``'s default "load" does), except the
    browser tests: they all go to one worker, so the live server and Chromium start once, and
    first, as the largest group, so they never trail. (xdist's ``--dist loadgroup`` would do
    this by marker, but with pytest 9 the group suffix never reaches the scheduler.)"""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BrowserTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "e2e" if nodeid.startswith("tests/e2e/") else nodeid

    return BrowserTestsTogether(config, log)


def _admin_engine() -> Engine:
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def _pg_url(database: str) -> str:
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


OWNED_NAME = re.compile(r"^om_(?:tpl|w|t)_(?:[a-z]+\d*_)?(\d+)_[0-9a-f]{6,12}$")


def _database_name(kind: str) -> str:
    """``om_<kind>_<worker>_<pid>_<random>``: the pid tells a later run whether it is abandoned."""
    return f"om_{kind}_{WORKER}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def _owner_is_gone(name: str) -> bool:
    match = OWNED_NAME.match(name)
    if match is None:
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _migrate(url: str) -> None:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "t", "SKIP_SCHEMA_CHECK": True})
    from app.db.migrate import upgrade

    with app.app_context():
        upgrade(app)
    app.extensions["options_matrix.engine"].dispose()


class TemplateDatabases:
    """Migrated template databases of one test process, each built on first use.

    ``templates["sqlite"]`` is the path of a migrated SQLite file to copy;
    ``templates["postgresql"]`` the name of a migrated PostgreSQL database to clone.
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self._sqlite: str | None = None
        self._postgresql: str | None = None
        self._admin: Engine | None = None

    def __getitem__(self, backend: str) -> str:
        if backend == "sqlite":
            return self.sqlite()
        if backend == "postgresql":
            return self.postgresql()
        raise KeyError(backend)

    @property
    def admin(self) -> Engine:
        if self._admin is None:
            self._admin = _admin_engine()
        return self._admin

    def sqlite(self) -> str:
        if self._sqlite is None:
            path = self.base / "template.sqlite3"
            _migrate(f"sqlite:///{path}")
            self._sqlite = str(path)
        return self._sqlite

    def postgresql(self) -> str:
        if self._postgresql is None:
            self._drop_abandoned()
            name = _database_name("tpl")
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                _migrate(_pg_url(name))
            except BaseException:
                self.drop_postgresql(name)
                raise
            self._postgresql = name
        return self._postgresql

    def _drop_abandoned(self) -> None:
        """Drop the databases of test processes that died before their teardown."""
        with self.admin.connect() as conn:
            names = conn.execute(
                text(r"SELECT datname FROM pg_database WHERE datname LIKE 'om\_%'")
            )
            abandoned = [n for n in names.scalars() if _owner_is_gone(n)]
        for name in abandoned:
            self.drop_postgresql(name)

    def clone_postgresql(self, kind: str) -> str:
        """A new database cloned from the template; commits skip the wait for the disk
        (the same transactions, only crash durability differs)."""
        template = self.postgresql()
        name = _database_name(kind)
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        return name

    def drop_postgresql(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        if self._postgresql is not None:
            self.drop_postgresql(self._postgresql)
        if self._admin is not None:
            self._admin.dispose()


class ReusedPostgresDatabase:
    """One working PostgreSQL database per test process, emptied between tests.

    Emptying deletes every row with triggers off for this one transaction
    (``session_replication_role = replica``), so the append-only triggers on revisions and
    memos stay in force for the tests themselves, and restarts every id sequence.
    """

    def __init__(self, templates: TemplateDatabases) -> None:
        self.templates = templates
        self.name: str | None = None
        self._engine: Engine | None = None
        self._empty_sql = ""
        self.used = False

    def url(self) -> str:
        if self.name is None:
            self.name = self.templates.clone_postgresql("w")
            self._engine = create_engine(_pg_url(self.name), pool_size=1, pool_pre_ping=True)
            self._empty_sql = self._emptying_statements()
        elif self.used:
            self.empty()
        self.used = True
        return _pg_url(self.name)

    def _emptying_statements(self) -> str:
        assert self._engine is not None
        with self._engine.connect() as conn:
            tables = conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            ).scalars()
            sequences = conn.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            ).scalars()
            deletes = " ".join(f'DELETE FROM "{table}";' for table in tables)
            restarts = ", ".join(f"setval('\"{seq}\"', 1, false)" for seq in sequences)
        return (
            "SET LOCAL session_replication_role = replica; "
            f"SET LOCAL synchronous_commit = off; {deletes} SELECT {restarts};"
        )

    def empty(self) -> None:
        assert self._engine is not None
        with self._engine.begin() as conn:
            # A connection the last test left open (a thread, an undisposed engine) must not
            # hold a lock on the rows or see the next test's data.
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            conn.exec_driver_sql(self._empty_sql)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        if self.name is not None:
            self.templates.drop_postgresql(self.name)


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateDatabases]:
    """Migrated template databases, built once per test process when first needed."""
    base = tmp_path_factory.mktemp("db-templates")
    os.environ.setdefault("INSTANCE_PATH", str(base / "instance"))
    found = TemplateDatabases(base)
    yield found
    found.close()


@pytest.fixture(scope="session")
def reused_postgresql(templates: TemplateDatabases) -> Iterator[ReusedPostgresDatabase]:
    database = ReusedPostgresDatabase(templates)
    yield database
    database.close()


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, templates: TemplateDatabases, tmp_path: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        target = tmp_path / "test.sqlite3"
        shutil.copy(templates.sqlite(), target)
        yield f"sqlite:///{target}"
        return
    if request.node.get_closest_marker("fresh_db") is None:
        reused: ReusedPostgresDatabase = request.getfixturevalue("reused_postgresql")
        yield reused.url()
        return
    name = templates.clone_postgresql("t")
    yield _pg_url(name)
    templates.drop_postgresql(name)


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
