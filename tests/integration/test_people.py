"""People in the app: a person changes their own password (current once, new twice), which
ends their other sessions but not this one and is recorded in the audit log; administrators
create accounts one at a time or from a pasted list, each with a one-time set-password link
that works once and expires (a clock the tests move)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.db.models import AuditEvent, PasswordLink, User
from app.db.uow import unit_of_work
from app.services.audit import Kind
from app.services.users import LINK_LIFETIME
from app.web.clock import set_clock
from tests.conftest import Actions, csrf_token
from tests.factories import PASSWORD, World

NEW_PASSWORD = "a much newer passphrase"


def change(acts: Actions, current: str, new: str, repeated: str | None = None) -> object:
    return acts.post(
        "/password",
        {"current": current, "new": new, "repeated": new if repeated is None else repeated},
    )


def password_events(app: Flask) -> list[AuditEvent]:
    with app.app_context(), unit_of_work(write=False) as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.kind == Kind.PASSWORD_SET.value)
                .order_by(AuditEvent.id)
            )
        )


def stored_hash(app: Flask, username: str) -> str:
    with app.app_context(), unit_of_work(write=False) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return user.password_hash


def test_the_password_page_is_linked_from_the_header(as_role) -> None:  # type: ignore[no-untyped-def]
    acts = as_role("analyst-a")
    home = acts.client.get("/").get_data(as_text=True)
    assert 'href="/password"' in home
    page = acts.client.get("/password")
    assert page.status_code == 200
    assert "Current password" in page.get_data(as_text=True)


def test_changing_ones_password_ends_other_sessions_and_keeps_this_one(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    here, elsewhere = as_role("analyst-a"), as_role("analyst-a")
    response = change(here, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 200
    assert "Your password was changed" in response.get_data(as_text=True)
    assert here.client.get("/").status_code == 200  # this session continues
    assert elsewhere.client.get("/").status_code == 302  # the other one ended
    [event] = password_events(app)
    assert event.actor_id == world.users["analyst-a"]
    assert event.username == "analyst-a"
    # The new password logs in; the old one no longer does.
    fresh = Actions(app.test_client())
    fresh.login("analyst-a", NEW_PASSWORD)
    old = app.test_client()
    refused = old.post(
        "/login",
        data={"username": "analyst-a", "password": PASSWORD, "csrf_token": csrf_token(old)},
    )
    assert refused.status_code == 401


def test_a_wrong_current_password_or_mismatched_new_ones_change_nothing(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    acts = as_role("analyst-a")
    before = stored_hash(app, "analyst-a")
    cases = [
        ("not my password", NEW_PASSWORD, None, "That is not your current password."),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "The two new passwords differ."),
        (PASSWORD, "short", None, "at least 10 characters"),
    ]
    for current, new, repeated, message in cases:
        response = change(acts, current, new, repeated)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert stored_hash(app, "analyst-a") == before
    assert password_events(app) == []
    assert acts.client.get("/").status_code == 200


def test_changing_ones_password_needs_the_csrf_token_and_a_login(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    acts = as_role("analyst-a")
    data = {"current": PASSWORD, "new": NEW_PASSWORD, "repeated": NEW_PASSWORD}
    assert acts.client.post("/password", data=data).status_code == 400
    anonymous = app.test_client().post("/password", data=data)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert password_events(app) == []


T0 = 1_800_000_000.0
LINK_RE = re.compile(r'value="http://localhost(/login\?token=[^"]+)"')


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: Flask) -> Clock:
    found = Clock()
    set_clock(app, found)
    return found


def links_on(page: str) -> list[str]:
    return LINK_RE.findall(page)


def count(app: Flask, model: type) -> int:
    with app.app_context(), unit_of_work(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_people_is_for_administrators_only(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    admin = as_role("facilitator")
    assert 'href="/people"' in admin.client.get("/").get_data(as_text=True)
    assert admin.client.get("/people").status_code == 200
    for username in ("analyst-a", "observer", "outsider"):
        acts = as_role(username)
        assert 'href="/people"' not in acts.client.get("/").get_data(as_text=True)
        assert acts.client.get("/people").status_code == 403
        one = {"username": "newcomer", "name": "New Comer"}
        assert acts.post("/people", one).status_code == 403
        assert acts.post("/people/list", {"accounts": "newcomer, New Comer"}).status_code == 403
    before = count(app, User)
    no_token = admin.client.post("/people", data={"username": "newcomer", "name": "New Comer"})
    assert no_token.status_code == 400
    assert count(app, User) == before and count(app, PasswordLink) == 0


def test_an_administrator_creates_one_account_whose_link_sets_its_password_once(
    app: Flask,
    world: World,
    clock: Clock,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    admin = as_role("facilitator")
    response = admin.post(
        "/people", {"username": "Dana", "name": "Dana Diaz", "email": "dana@example.org"}
    )
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    [link] = links_on(page)
    assert "dana@example.org" in page and "1 account created" in page
    with app.app_context(), unit_of_work(write=False) as session:
        stored = session.scalars(select(PasswordLink)).one()
        assert link.rsplit("=", 1)[1] not in stored.token_hash  # only a hash is kept
    [created] = [e for e in events(app, Kind.ACCOUNT_CREATED) if e.username == "dana"]
    assert created.actor_id == world.users["facilitator"]

    person = Actions(app.test_client())
    # Before the password is set, no password logs in.
    assert person.client.get(link).status_code == 200
    token = csrf_token(person.client)
    data = {"new": NEW_PASSWORD, "repeated": NEW_PASSWORD, "csrf_token": token}
    assert person.client.post(link, data={**data, "csrf_token": ""}).status_code == 400
    mismatch = person.client.post(link, data={**data, "repeated": "something else entirely"})
    assert mismatch.status_code == 422
    done = person.client.post(link, data=data)
    assert done.status_code == 200
    assert "Your password is set" in done.get_data(as_text=True)
    person.login("dana", NEW_PASSWORD)
    [event] = [e for e in events(app, Kind.PASSWORD_SET) if e.username == "dana"]
    assert event.details and event.details["via"] == "set-password link"
    # The link works once.
    again = Actions(app.test_client())
    assert again.client.get(link).status_code == 410
    data["csrf_token"] = csrf_token(again.client)
    assert again.client.post(link, data=data).status_code == 410


def test_a_link_expires(
    app: Flask,
    world: World,
    clock: Clock,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    admin = as_role("facilitator")
    [link] = links_on(admin.post("/people", {"username": "late", "name": "Late"}).get_data(True))
    clock.now = T0 + LINK_LIFETIME.total_seconds() - 1
    person = app.test_client()
    assert person.get(link).status_code == 200
    clock.now = T0 + LINK_LIFETIME.total_seconds()
    assert person.get(link).status_code == 410
    data = {"new": NEW_PASSWORD, "repeated": NEW_PASSWORD, "csrf_token": csrf_token(person)}
    assert person.post(link, data=data).status_code == 410
    assert [e for e in events(app, Kind.PASSWORD_SET) if e.username == "late"] == []


def test_an_unknown_link_opens_nothing(app: Flask, world: World) -> None:
    person = app.test_client()
    assert person.get("/login?token=not-a-real-link").status_code == 410
    data = {"new": NEW_PASSWORD, "repeated": NEW_PASSWORD, "csrf_token": csrf_token(person)}
    assert person.post("/login?token=not-a-real-link", data=data).status_code == 410


def test_an_administrator_creates_accounts_from_a_pasted_list(
    app: Flask,
    world: World,
    clock: Clock,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    admin = as_role("facilitator")
    pasted = 'analyst-d, Dana Diaz, dana@example.org\n\nanalyst-e, "Eve, Jr."\n'
    response = admin.post("/people/list", {"accounts": pasted})
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    assert len(links_on(page)) == 2
    assert "Eve, Jr." in page and "2 accounts created" in page
    assert count(app, PasswordLink) == 2


@pytest.mark.parametrize(
    ("pasted", "message"),
    [
        ("analyst-d", "Line 1: write"),
        ("analyst-d, Dana\nanalyst-a, Taken", "is taken"),
        ("analyst-d, Dana\nanalyst-d, Dana again", "is taken"),
        ("Bad Name!, Someone", "a username is 2–64 characters"),
        ("analyst-d, Dana, not-an-email", "is not an email address"),
    ],
)
def test_a_list_with_any_bad_line_creates_nobody(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
    pasted: str,
    message: str,
) -> None:
    admin = as_role("facilitator")
    before = count(app, User)
    response = admin.post("/people/list", {"accounts": pasted})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, User) == before and count(app, PasswordLink) == 0


def events(app: Flask, kind: Kind) -> list[AuditEvent]:
    with app.app_context(), unit_of_work(write=False) as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.kind == kind.value).order_by(AuditEvent.id)
            )
        )


def test_the_member_form_clears_after_success_and_says_what_was_done(
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    facilitator = as_role("facilitator")
    url = f"/decisions/{world.decision_id}/members"
    done = facilitator.post(
        url, {"username": "outsider", "role": "analyst"}, htmx=True, target="members"
    )
    assert done.status_code == 200
    fragment = done.get_data(as_text=True)
    assert "<html" not in fragment
    assert "Outsider (outsider) is now an analyst in this decision." in fragment
    assert 'value="outsider"' not in fragment  # the form starts empty again
    refused = facilitator.post(
        url, {"username": "nobody-here", "role": "observer"}, htmx=True, target="members"
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "is now" not in page
    assert 'value="nobody-here"' in page  # kept for correction
