"""The audit log: what is recorded (who, when, from where), in the action's own transaction,
append-only, and who may read which part of it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from app.db.models import AuditEvent, Decision
from app.db.uow import unit_of_work
from app.services import audit
from app.services import scores as score_service
from app.services.users import create_user, set_password
from tests.conftest import Actions, csrf_token
from tests.factories import World


def all_events(app: Flask) -> list[AuditEvent]:
    with app.app_context(), unit_of_work(write=False) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def kinds_after(app: Flask, first_id: int) -> list[str]:
    return [e.kind for e in all_events(app) if e.id > first_id]


def last_id(app: Flask) -> int:
    events = all_events(app)
    return events[-1].id if events else 0


def test_logins_logouts_and_failures_say_who_when_and_from_where(
    app: Flask, world: World, client: FlaskClient
) -> None:
    start = last_id(app)
    wrong = client.post(
        "/login",
        data={"username": "Analyst-A", "password": "wrong", "csrf_token": csrf_token(client)},
        environ_base={"REMOTE_ADDR": "198.51.100.4"},
    )
    assert wrong.status_code == 401  # answered with 4xx, recorded all the same
    actions = Actions(client)
    actions.login("analyst-a")
    actions.logout()
    failed, login, logout = [e for e in all_events(app) if e.id > start]
    assert (failed.kind, failed.actor_id, failed.username, failed.remote_addr) == (
        "login_failed",
        None,
        "analyst-a",
        "198.51.100.4",
    )
    user_id = world.users["analyst-a"]
    assert (login.kind, login.actor_id, login.username, login.remote_addr) == (
        "login",
        user_id,
        "analyst-a",
        "127.0.0.1",
    )
    assert (logout.kind, logout.actor_id) == ("logout", user_id)
    assert login.created_at is not None and login.created_at <= logout.created_at


def test_account_creation_and_password_changes_are_recorded(app: Flask, world: World) -> None:
    start = last_id(app)
    with app.app_context(), unit_of_work() as session:
        create_user(
            session=session,
            username="new-analyst",
            password="a long enough password",
            via="command line",
        )
        set_password(session=session, username="new-analyst", password="another long one")
    created, password = [e for e in all_events(app) if e.id > start]
    assert (created.kind, created.username, created.remote_addr) == (
        "account_created",
        "new-analyst",
        None,
    )
    assert created.details == {"admin": False, "via": "command line"}
    assert (password.kind, password.username) == ("password_set", "new-analyst")


def test_a_refused_account_leaves_no_event(app: Flask, world: World) -> None:
    start = last_id(app)
    with pytest.raises(Exception, match="taken"), app.app_context(), unit_of_work() as session:
        create_user(session=session, username="analyst-a", password="a long enough password")
    assert kinds_after(app, start) == []


def test_role_changes_reveals_rounds_and_exports_are_recorded_in_their_decision(
    app: Flask, world: World, as_role: Any
) -> None:
    facilitator = as_role("facilitator")
    start = last_id(app)
    base = f"/decisions/{world.decision_id}"
    assert (
        facilitator.post(f"{base}/members", {"username": "outsider", "role": "analyst"}).status_code
        < 400
    )
    assert (
        facilitator.post(
            f"{base}/members", {"username": "outsider", "role": "observer"}
        ).status_code
        < 400
    )
    assert facilitator.post(f"{base}/rounds/reveal").status_code < 400
    assert facilitator.post(f"{base}/rounds", {"round": "1"}).status_code < 400
    assert facilitator.get(f"{base}/export/matrix.csv").status_code == 200
    assert facilitator.get(f"{base}/export/matrix.xlsx").status_code == 200
    events = [e for e in all_events(app) if e.id > start and e.kind != "login"]
    assert [(e.kind, e.details) for e in events] == [
        ("role_changed", {"member": "outsider", "role_before": None, "role": "analyst"}),
        ("role_changed", {"member": "outsider", "role_before": "analyst", "role": "observer"}),
        ("round_revealed", {"round": 1}),
        ("round_opened", {"round": 2}),
        ("export", {"format": "csv", "round": 2}),
        ("export", {"format": "xlsx", "round": 2}),
    ]
    for event in events:
        assert event.actor_id == world.users["facilitator"]
        assert event.decision_id == world.decision_id
        assert event.remote_addr == "127.0.0.1"


def test_a_refused_action_leaves_no_event(app: Flask, world: World, as_role: Any) -> None:
    facilitator = as_role("facilitator")
    analyst = as_role("analyst-a")
    start = last_id(app)
    base = f"/decisions/{world.decision_id}"
    assert analyst.post(f"{base}/rounds/reveal").status_code == 403
    assert facilitator.post(f"{base}/rounds/reveal").status_code < 400
    assert facilitator.post(f"{base}/rounds/reveal").status_code >= 400  # already revealed
    assert kinds_after(app, start) == ["round_revealed"]


def test_issuing_a_memo_is_recorded(app: Flask, world: World, as_role: Any) -> None:
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        score_service.save_score(
            session=session,
            decision=decision,
            analyst_id=world.users["analyst-a"],
            option_id=world.options[0],
            criterion_id=world.criteria[0],
            value="4",
        )
    facilitator = as_role("facilitator")
    start = last_id(app)
    response = facilitator.post(
        f"/decisions/{world.decision_id}/memos",
        {
            "memorandum_for": "The Principal",
            "from_line": "The options team",
            "subject": "Audited memo",
            "bottom_line": "We recommend nothing yet.",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    memo_id = int(re.search(r"issued=(\d+)", response.headers["Location"]).group(1))  # type: ignore[union-attr]
    [event] = [e for e in all_events(app) if e.id > start]
    assert event.kind == "memo_issued"
    assert event.actor_id == world.users["facilitator"]
    assert event.decision_id == world.decision_id
    assert event.details is not None
    assert event.details["memo"] == memo_id and event.details["subject"] == "Audited memo"
    assert len(event.details["sha256"]) == 64


def test_the_database_refuses_to_change_or_delete_an_event(app: Flask, world: World) -> None:
    [first, *_] = all_events(app)
    with app.app_context():
        for statement in (
            update(AuditEvent).where(AuditEvent.id == first.id).values(kind="login"),
            delete(AuditEvent).where(AuditEvent.id == first.id),
        ):
            with pytest.raises(DBAPIError, match="append-only"), unit_of_work() as session:
                session.execute(statement)
    assert all_events(app)[0] == first


def test_the_log_cannot_be_emptied(app: Flask, world: World, db_url: str) -> None:
    statement = (
        "TRUNCATE audit_event" if db_url.startswith("postgresql") else "DELETE FROM audit_event"
    )
    with (
        app.app_context(),
        pytest.raises(DBAPIError, match="append-only"),
        unit_of_work() as session,
    ):
        session.execute(text(statement))
    assert all_events(app)


# --- reading it ------------------------------------------------------------------------------


def test_administrators_read_every_event_filtered_by_kind(
    app: Flask, world: World, as_role: Any, client: FlaskClient
) -> None:
    client.post(
        "/login",
        data={"username": "observer", "password": "wrong", "csrf_token": csrf_token(client)},
    )
    admin = as_role("facilitator")  # the world's facilitator is an administrator
    page = admin.get("/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<table class="data" id="audit-log">' in html
    assert '<label for="audit-kind">Kind of event</label>' in html
    assert "Failed login" in html and "Member added or role changed" in html
    assert 'href="/audit"' in admin.get("/").get_data(as_text=True)  # linked from the header

    failed_only = admin.get("/audit?kind=login_failed").get_data(as_text=True)
    rows = re.findall(r'<tr id="audit-\d+">', failed_only)
    assert len(rows) == 1 and "observer" in failed_only
    assert admin.get("/audit?kind=nonsense").status_code == 400


def test_the_log_pages_back_fifty_at_a_time(app: Flask, world: World, as_role: Any) -> None:
    with app.app_context(), unit_of_work() as session:
        for number in range(60):
            audit.record(
                session=session, kind=audit.Kind.EXPORT, details={"format": "csv", "n": number}
            )
    admin = as_role("facilitator")
    first = admin.get("/audit?kind=export").get_data(as_text=True)
    assert len(re.findall(r'<tr id="audit-\d+">', first)) == 50
    older = re.search(r'<a href="([^"]+)" rel="next">Older events</a>', first)
    assert older is not None
    second = admin.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert len(re.findall(r'<tr id="audit-\d+">', second)) == 10
    assert "Older events" not in second


def test_only_administrators_read_the_whole_log(app: Flask, world: World, as_role: Any) -> None:
    analyst = as_role("analyst-a")
    assert analyst.get("/audit").status_code == 403
    assert 'href="/audit"' not in analyst.get("/").get_data(as_text=True)


def test_facilitators_read_their_decisions_events_only(
    app: Flask, world: World, as_role: Any
) -> None:
    with app.app_context(), unit_of_work() as session:
        other = Decision(
            title="Another decision", question="?", created_by=world.users["analyst-a"]
        )
        session.add(other)
        session.flush()
        audit.record(session=session, kind=audit.Kind.EXPORT, decision_id=other.id)
    facilitator = as_role("facilitator")
    url = f"/decisions/{world.decision_id}/audit"
    page = facilitator.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = re.findall(r'<tr id="audit-(\d+)">', html)
    mine = [e.id for e in all_events(app) if e.decision_id == world.decision_id]
    assert sorted(int(r) for r in rows) == sorted(mine) and mine
    assert "Logged in" not in html  # logins belong to no decision
    overview = facilitator.get(f"/decisions/{world.decision_id}").get_data(as_text=True)
    assert f'href="{url}"' in overview  # in the decision's navigation

    analyst = as_role("analyst-a")
    assert analyst.get(url).status_code == 403
    assert f'href="{url}"' not in analyst.get(f"/decisions/{world.decision_id}").get_data(
        as_text=True
    )
    assert as_role("outsider").get(url).status_code == 404
