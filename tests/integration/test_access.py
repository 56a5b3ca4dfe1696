"""Login, anonymous refusal on every route, CSRF, sessions, non-member and role rules."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.conftest import Actions, csrf_token
from tests.factories import PASSWORD, World

PUBLIC = {"auth.login", "static", "health"}


def _concrete(rule: str) -> str:
    return re.sub(r"<(?:int:)?[a-z_]+>", "1", rule)


def test_every_route_refuses_anonymous_users(app: Flask, world: World) -> None:
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        url = _concrete(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            checked += 1
            if url.startswith("/api/"):
                assert response.status_code == 401, (method, url)
                assert response.is_json
            elif method == "GET":
                assert response.status_code == 302, (method, url)
                assert "/login" in response.headers["Location"], (method, url)
            else:
                # Anonymous state changes are refused (CSRF first, then the login gate).
                assert response.status_code in (302, 400, 401), (method, url)
    assert checked > 20


def test_anonymous_htmx_request_is_told_to_log_in(app: Flask, world: World) -> None:
    response = app.test_client().get(
        f"/decisions/{world.decision_id}/matrix", headers={"HX-Request": "true"}
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_login_with_wrong_password_is_refused(client, world: World) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(client)
    response = client.post(
        "/login", data={"username": "analyst-a", "password": "nope", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Unknown username or wrong password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_form_has_labelled_fields(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/login").get_data(as_text=True)
    assert '<label for="username">Username</label>' in html
    assert '<label for="password">Password</label>' in html
    assert ">Log in</button>" in html


def test_login_does_not_redirect_off_site(client, world: World) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={
            "username": "analyst-a",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
    )
    assert response.headers["Location"] == "/"


def test_logout_revokes_the_old_cookie(app: Flask, world: World) -> None:
    acts = Actions(app.test_client())
    acts.login("analyst-a")
    stolen = acts.client.get_cookie("session")
    assert stolen is not None
    acts.logout()
    thief = app.test_client()
    thief.set_cookie("session", stolen.value)
    assert thief.get("/").status_code == 302


def test_missing_csrf_token_is_refused(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    acts = as_role("facilitator")
    url = f"/decisions/{world.decision_id}/options"
    response = acts.client.post(url, data={"title": "No token"})
    assert response.status_code == 400
    response = acts.client.post(url, data={"title": "No token"}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "No token" not in acts.get(url).get_data(as_text=True)


def test_htmx_request_with_csrf_header_is_accepted(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    acts = as_role("facilitator")
    response = acts.post(
        f"/decisions/{world.decision_id}/options", {"title": "Via header"}, htmx=True
    )
    assert response.status_code == 201


def test_passwords_are_hashed_with_argon2id(app: Flask, world: World) -> None:
    from sqlalchemy import select

    from app.db.models import User
    from app.db.uow import unit_of_work

    with app.app_context(), unit_of_work() as session:
        hashes = session.scalars(select(User.password_hash)).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)


@pytest.mark.parametrize(
    "path",
    ["", "/matrix", "/history", "/memos", "/options/{option}"],
)
def test_non_member_gets_404(as_role, world: World, path: str) -> None:  # type: ignore[no-untyped-def]
    acts = as_role("outsider")
    url = f"/decisions/{world.decision_id}" + path.format(option=world.options[0])
    assert acts.get(url).status_code == 404
    assert acts.get(f"/api/decisions/{world.decision_id}").status_code == 404


def test_security_headers(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    response = as_role("observer").get(f"/decisions/{world.decision_id}")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
