"""Login throttling: failures per username and per address slow down and then stop login
attempts (429, the right password too) for every worker; only failures count; a refused
attempt computes no hash. Windows move with a clock the tests set, never by sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import create_app
from app.adapters.limiter_storage import DatabaseStorage
from app.db.engine import get_engine
from app.db.models import AuditEvent, LoginThrottle
from app.db.uow import unit_of_work
from app.services import users
from app.web.clock import set_clock
from app.web.throttle import login_throttle
from tests.conftest import csrf_token
from tests.factories import PASSWORD, World

T0 = 1_800_000_000.0
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


class Clock:
    """A clock moved by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def configure(app: Flask, clock: Clock | None, *, username: str, address: str) -> None:
    app.config["LOGIN_LIMIT_PER_USERNAME"] = username
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = address
    if clock is not None:
        set_clock(app, clock)


@pytest.fixture
def clock(app: Flask) -> Clock:
    found = Clock()
    configure(app, found, username="3 per minute; 5 per hour", address="50 per minute")
    return found


def attempt(client: FlaskClient, username: str, password: str) -> Any:
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )


def events(app: Flask, kind: str) -> list[AuditEvent]:
    with app.app_context(), unit_of_work(write=False) as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)
            )
        )


def test_failures_for_one_username_slow_down_then_stop_its_logins(
    app: Flask, world: World, client: FlaskClient, clock: Clock
) -> None:
    for _ in range(3):
        assert attempt(client, "analyst-a", "wrong password").status_code == 401
    refused = attempt(client, "analyst-a", PASSWORD)  # the right password, refused all the same
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    page = refused.get_data(as_text=True)
    assert "Too many failed logins for this username" in page and "try again in 1 minute" in page
    assert "session" not in (refused.headers.get("Set-Cookie") or "")

    clock.advance(61)  # the minute is over: slowed, not stopped
    assert attempt(client, "analyst-a", "wrong again").status_code == 401
    assert attempt(client, "analyst-a", "and again").status_code == 401
    clock.advance(61)
    stopped = attempt(client, "analyst-a", PASSWORD)  # 5 failures this hour: stopped
    assert stopped.status_code == 429
    assert int(stopped.headers["Retry-After"]) == 3600 - 122
    assert "try again in 58 minutes" in stopped.get_data(as_text=True)
    assert attempt(client, "analyst-b", PASSWORD).status_code == 302  # other usernames log in

    clock.advance(3600)
    assert attempt(client, "analyst-a", PASSWORD).status_code == 302


def test_usernames_are_counted_as_the_login_reads_them(
    app: Flask, world: World, client: FlaskClient, clock: Clock
) -> None:
    for spelling in ("Analyst-A", " analyst-a", "ANALYST-A "):
        assert attempt(client, spelling, "wrong password").status_code == 401
    assert attempt(client, "analyst-a", PASSWORD).status_code == 429


def test_many_failures_from_one_address_stop_every_username_from_it(
    app: Flask, world: World, client: FlaskClient
) -> None:
    clock = Clock()
    configure(app, clock, username="100 per minute", address="4 per minute")
    for name in ("alpha", "bravo", "charlie", "delta"):  # unknown usernames count too
        assert attempt(client, name, "guess").status_code == 401
    refused = attempt(client, "analyst-a", PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed logins for your network address" in refused.get_data(as_text=True)
    other = app.test_client()
    other_address = other.post(
        "/login",
        data={"username": "analyst-a", "password": PASSWORD, "csrf_token": csrf_token(other)},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert other_address.status_code == 302


def test_only_failures_count(app: Flask, world: World, clock: Clock) -> None:
    for _ in range(10):
        client = app.test_client()
        assert attempt(client, "analyst-a", PASSWORD).status_code == 302
    with app.app_context(), unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(LoginThrottle)) == 0


def test_a_refused_attempt_computes_no_hash(
    app: Flask, world: World, client: FlaskClient, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real = users.verify_password

    def counting(password_hash: str, password: str) -> bool:
        checked.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(users, "verify_password", counting)
    for _ in range(3):
        attempt(client, "analyst-a", "wrong password")
    assert len(checked) == 3
    assert attempt(client, "analyst-a", PASSWORD).status_code == 429
    assert attempt(client, "nobody-at-all", "guess").status_code == 401  # counted, and hashed
    assert len(checked) == 4


def test_throttling_is_recorded_once_when_it_begins(
    app: Flask, world: World, client: FlaskClient, clock: Clock
) -> None:
    for _ in range(3):
        attempt(client, "analyst-a", "wrong password")
    for _ in range(3):
        assert attempt(client, "analyst-a", "wrong password").status_code == 429
    failed = events(app, "login_failed")
    assert [(e.username, e.remote_addr, e.actor_id) for e in failed] == [
        ("analyst-a", "127.0.0.1", None)
    ] * 3
    [throttled] = events(app, "login_throttled")
    assert throttled.username == "analyst-a" and throttled.remote_addr == "127.0.0.1"
    assert throttled.details == {"scope": "username", "limit": "3 per 1 minute", "seconds": 60}


def second_app(db_url: str, **config: Any) -> Flask:
    return create_app(
        {"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret", **config}
    )


@pytest.fixture
def other_worker(db_url: str) -> Iterator[Flask]:
    """A second application on the same database: another worker or host."""
    other = second_app(db_url)
    yield other
    other.extensions["options_matrix.engine"].dispose()


def test_workers_on_one_database_share_the_counters(
    app: Flask, world: World, other_worker: Flask
) -> None:
    clock = Clock()
    for instance in (app, other_worker):
        configure(instance, clock, username="3 per minute", address="50 per minute")
    first, second = app.test_client(), other_worker.test_client()
    assert attempt(first, "analyst-a", "wrong").status_code == 401
    assert attempt(second, "analyst-a", "wrong").status_code == 401
    assert attempt(first, "analyst-a", "wrong").status_code == 401
    assert attempt(second, "analyst-a", PASSWORD).status_code == 429
    assert attempt(first, "analyst-a", PASSWORD).status_code == 429
    clock.advance(60)
    assert attempt(second, "analyst-a", PASSWORD).status_code == 302


@pytest.fixture
def redis_workers(db_url: str) -> Iterator[tuple[Flask, Flask]]:
    """Two applications on one database whose counters live in Redis (database 15)."""
    apps = (
        second_app(db_url, REDIS_URL=REDIS_TEST_URL),
        second_app(db_url, REDIS_URL=REDIS_TEST_URL),
    )
    for instance in apps:
        configure(instance, None, username="3 per minute", address="50 per minute")
    with apps[0].app_context():
        login_throttle().storage.reset()
    yield apps
    with apps[0].app_context():
        login_throttle().storage.reset()
    for instance in apps:
        instance.extensions["options_matrix.engine"].dispose()


def test_with_redis_workers_share_the_counters_there(
    redis_workers: tuple[Flask, Flask], world: World
) -> None:
    first_app, second_app_ = redis_workers
    first, second = first_app.test_client(), second_app_.test_client()
    for client in (first, second, first):
        assert attempt(client, "analyst-a", "wrong").status_code == 401
    refused = attempt(second, "analyst-a", PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert attempt(first, "analyst-b", PASSWORD).status_code == 302
    keys = redis.Redis.from_url(REDIS_TEST_URL).keys("options-matrix:*login*")
    assert keys, "the counters are in Redis"
    with first_app.app_context(), unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(LoginThrottle)) == 0


def test_database_counters_expire_with_their_window(app: Flask) -> None:
    clock = Clock()
    with app.app_context():
        storage = DatabaseStorage(get_engine(), clock=clock)
        assert storage.check()
        assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
        assert storage.get("k") == 3 and storage.get_expiry("k") == T0 + 60
        clock.advance(30)
        assert storage.incr("k", 60, amount=2) == 5
        assert storage.get_expiry("k") == T0 + 60  # a fixed window: hits do not extend it
        clock.advance(30)
        assert storage.get("k") == 0 and storage.get_expiry("k") == clock.now
        assert storage.incr("k", 60) == 1  # a new window
        assert storage.get_expiry("k") == clock.now + 60
        storage.incr("other", 10)
        clock.advance(11)
        storage.incr("k", 60)  # prunes what has expired
        with unit_of_work(write=False) as session:
            assert session.scalars(select(LoginThrottle.key)).all() == ["k"]
        storage.clear("k")
        assert storage.get("k") == 0
        storage.incr("a", 60)
        assert storage.reset() == 1
