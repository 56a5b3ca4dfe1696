"""Sessions: cookie flags, idle and absolute lifetimes (a clock the tests move), and logout
and password changes ending every session of the user on every worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.db.uow import unit_of_work
from app.services.users import set_password
from app.web.clock import set_clock
from tests.conftest import Actions
from tests.factories import World

T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, *, minutes: float = 0, hours: float = 0) -> None:
        self.now += minutes * 60 + hours * 3600


@pytest.fixture
def clock(app: Flask) -> Clock:
    found = Clock()
    set_clock(app, found)
    return found


def logged_in(client: FlaskClient) -> bool:
    """Whether the home page answers (a logged-out client is sent to the login page)."""
    response = client.get("/")
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


def set_cookie_header(response: Any) -> str:
    [cookie] = [v for v in response.headers.getlist("Set-Cookie") if v.startswith("session=")]
    return str(cookie)


def test_the_session_cookie_is_httponly_and_samesite_lax(
    app: Flask, world: World, actions: Actions
) -> None:
    cookie = set_cookie_header(actions.login("analyst-a"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    assert "Strict-Transport-Security" not in actions.client.get("/").headers


def test_behind_https_the_cookie_is_secure_and_hsts_is_sent(
    app: Flask, world: World, actions: Actions
) -> None:
    app.config["SESSION_COOKIE_SECURE"] = True
    response = actions.login("analyst-a")
    assert "Secure" in set_cookie_header(response)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_a_session_ends_after_its_idle_time(
    app: Flask, world: World, actions: Actions, clock: Clock
) -> None:
    assert app.config["SESSION_IDLE_MINUTES"] == 60
    actions.login("analyst-a")
    clock.advance(minutes=59)
    assert logged_in(actions.client)  # activity: the idle time starts again
    clock.advance(minutes=59)
    assert logged_in(actions.client)
    clock.advance(minutes=61)
    assert not logged_in(actions.client)
    clock.advance(minutes=1)
    assert not logged_in(actions.client)  # the cookie was cleared, not revived


def test_live_update_polls_do_not_keep_a_session_alive(
    app: Flask, world: World, actions: Actions, clock: Clock
) -> None:
    actions.login("analyst-a")
    poll = f"/decisions/{world.decision_id}/matrix/poll"
    for _ in range(3):
        clock.advance(minutes=20)
        assert actions.client.get(poll).status_code != 401
    clock.advance(minutes=1)  # 61 minutes since the person last did anything
    response = actions.client.get(poll, headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_a_session_ends_at_its_absolute_lifetime_however_active(
    app: Flask, world: World, actions: Actions, clock: Clock
) -> None:
    assert app.config["SESSION_MAX_HOURS"] == 12
    actions.login("analyst-a")
    for _ in range(14):  # active every 50 minutes for 11 h 40 min
        clock.advance(minutes=50)
        assert logged_in(actions.client)
    clock.advance(minutes=21)
    assert not logged_in(actions.client)
    actions.login("analyst-a")  # a new login starts a new lifetime
    assert logged_in(actions.client)


def test_lifetimes_follow_the_settings(app: Flask, world: World, actions: Actions) -> None:
    clock = Clock()
    set_clock(app, clock)
    app.config.update(SESSION_IDLE_MINUTES=5, SESSION_MAX_HOURS=1)
    actions.login("analyst-a")
    clock.advance(minutes=4)
    assert logged_in(actions.client)
    clock.advance(minutes=6)
    assert not logged_in(actions.client)


@pytest.fixture
def other_worker(db_url: str) -> Iterator[Flask]:
    """A second application on the same database with the same secret: another worker."""
    other = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret"})
    yield other
    other.extensions["options_matrix.engine"].dispose()


def copy_session(source: FlaskClient, target: FlaskClient) -> None:
    cookie = source.get_cookie("session")
    assert cookie is not None
    target.set_cookie("session", cookie.value)


def test_logout_ends_every_session_of_the_user_on_every_worker(
    app: Flask, world: World, other_worker: Flask
) -> None:
    here = Actions(app.test_client())
    here.login("analyst-a")
    there = Actions(other_worker.test_client())
    there.login("analyst-a")  # a second login, served by the other worker
    stolen = other_worker.test_client()
    copy_session(here.client, stolen)  # a copy of the first cookie, sent to the other worker
    bystander = Actions(other_worker.test_client())
    bystander.login("analyst-b")
    assert logged_in(there.client) and logged_in(stolen)

    assert here.logout().status_code == 302
    assert not logged_in(here.client)
    assert not logged_in(there.client)
    assert not logged_in(stolen)
    assert logged_in(bystander.client)  # other users stay logged in


def test_a_password_change_ends_every_session_of_the_user(
    app: Flask, world: World, other_worker: Flask
) -> None:
    here = Actions(app.test_client())
    here.login("analyst-a")
    there = Actions(other_worker.test_client())
    there.login("analyst-a")
    with app.app_context(), unit_of_work() as session:
        set_password(session=session, username="analyst-a", password="a brand new password")
    assert not logged_in(here.client)
    assert not logged_in(there.client)
    there.login("analyst-a", "a brand new password")
    assert logged_in(there.client)


def test_a_cookie_without_the_login_times_is_refused(
    app: Flask, world: World, actions: Actions
) -> None:
    """A session signed before lifetimes existed (or forged without them) is not a login."""
    actions.login("analyst-a")
    with actions.client.session_transaction() as session:
        del session["started_at"]
    assert not logged_in(actions.client)
