"""Notifications: created for rounds, reveals, memos and replies; counted in the header;
listed, opened and marked read; emailed once through a local SMTP sink when SMTP is set."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import delete
from sqlmodel import col, select

from app.db.conversation import Notification
from app.db.models import Decision, Memo, User
from app.db.uow import unit_of_work
from app.domain.vocabulary import NotificationKind
from app.services import notification_emails
from app.services import notifications as notification_service
from tests.factories import World

MEMBERS = ("facilitator", "analyst-a", "analyst-b", "observer")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """Collects every message handed to the SMTP server."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def use_smtp(app: Flask, port: int) -> None:
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TIMEOUT=5, PUBLIC_URL="https://om.example"
    )


def give_email(app: Flask, world: World, *usernames: str) -> None:
    with app.app_context(), unit_of_work() as session:
        for username in usernames:
            user = session.get(User, world.users[username])
            assert user is not None
            user.email = f"{username}@example.test"
            session.add(user)


@pytest.fixture(autouse=True)
def _from_a_clean_slate(app: Flask, world: World) -> None:
    """Each test starts with no notification: the world's "scoring started" ones (pinned in
    test_notification_events.py) would blur what each test counts."""
    with app.app_context(), unit_of_work() as session:
        session.execute(delete(Notification))


def rows(app: Flask, user_id: int | None = None) -> list[Notification]:
    with app.app_context(), unit_of_work(write=False) as session:
        stmt = select(Notification).order_by(col(Notification.id))
        if user_id is not None:
            stmt = stmt.where(col(Notification.user_id) == user_id)
        return list(session.exec(stmt))


def notify_round_opened(app: Flask, world: World, number: int = 2) -> int:
    with app.app_context(), unit_of_work() as session:
        return notification_service.round_opened(
            session, world.decision_id, number, actor_id=world.users["facilitator"]
        )


def add_memo(app: Flask, world: World) -> tuple[int, int]:
    pdf = b"%PDF-1.7 test"
    with app.app_context(), unit_of_work() as session:
        memo = Memo(
            decision_id=world.decision_id,
            number=1,
            round_number=1,
            issued_by=world.users["facilitator"],
            subject="Options for the ministers",
            pdf=pdf,
            size=len(pdf),
            sha256=hashlib.sha256(pdf).hexdigest(),
            snapshot={},
            snapshot_sha256="0" * 64,
            app_version="test",
        )
        session.add(memo)
        session.flush()
        notification_service.memo_issued(session, world.decision_id, memo.id, memo.number)
        return memo.id, memo.number


def reply_to_analyst_a(app: Flask, world: World, as_role) -> Any:  # type: ignore[no-untyped-def]
    """analyst-a comments on option 1; analyst-b replies (analyst-a is notified)."""
    url = f"/decisions/{world.decision_id}/discussion/options/{world.options[0]}"
    as_role("analyst-a").post(url, {"body": "First."}, htmx=True)
    with app.app_context(), unit_of_work(write=False) as session:
        from app.db.conversation import Comment

        first = session.exec(select(Comment)).one()
    return as_role("analyst-b").post(url, {"body": "Reply.", "parent_id": first.id}, htmx=True)


# --------------------------------------------------------------------------------------------
# Creating
# --------------------------------------------------------------------------------------------


def test_each_event_notifies_every_member_but_the_actor(app: Flask, world: World):  # type: ignore[no-untyped-def]
    assert notify_round_opened(app, world) == 3
    with app.app_context(), unit_of_work() as session:
        notification_service.round_revealed(
            session, world.decision_id, 2, actor_id=world.users["facilitator"]
        )
    memo_id, _ = add_memo(app, world)  # the actor is the memo's issuer
    assert rows(app, world.users["facilitator"]) == []
    for username in ("analyst-a", "analyst-b", "observer"):
        found = rows(app, world.users[username])
        assert [(n.kind, n.round_number) for n in found] == [
            (NotificationKind.ROUND_OPENED.value, 2),
            (NotificationKind.ROUND_REVEALED.value, 2),
            (NotificationKind.MEMO_ISSUED.value, 1),
        ]
        assert found[2].memo_id == memo_id
        assert all(n.read_at is None and n.emailed_at is None for n in found)
    assert rows(app, world.users["outsider"]) == []


def test_actor_defaults_to_who_opened_the_round(app: Flask, world: World):  # type: ignore[no-untyped-def]
    with app.app_context(), unit_of_work() as session:
        notification_service.round_opened(session, world.decision_id, 1)
    # Round 1 was opened by the facilitator when scoring started.
    assert rows(app, world.users["facilitator"]) == []
    assert len(rows(app)) == 3


# --------------------------------------------------------------------------------------------
# Header count, list, open, mark all read
# --------------------------------------------------------------------------------------------


def test_header_counts_unread_notifications(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    notify_round_opened(app, world)
    add_memo(app, world)
    analyst = as_role("analyst-a")
    html = analyst.get("/").get_data(as_text=True)
    assert 'aria-label="Notifications (2 unread)"' in html
    assert 'Notifications <span class="count">(2)</span></a>' in html
    facilitator_html = as_role("facilitator").get("/").get_data(as_text=True)
    assert ">Notifications</a>" in facilitator_html  # nothing unread: no number


def test_list_is_newest_first_and_opening_marks_read(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    notify_round_opened(app, world)
    add_memo(app, world)
    analyst = as_role("analyst-a")
    page = analyst.get("/notifications").get_data(as_text=True)
    memo_at = page.index("Memo 1 of “Test decision” was issued: Options for the ministers.")
    round_at = page.index("Round 2 opened in “Test decision”")
    assert memo_at < round_at
    assert "2 unread." in page
    memo_note, round_note = sorted(rows(app, world.users["analyst-a"]), key=lambda n: -n.id)
    response = analyst.post(f"/notifications/{memo_note.id}/open")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/decisions/{world.decision_id}/memos")
    assert [n.read_at is not None for n in rows(app, world.users["analyst-a"])] == [False, True]
    response = analyst.post(f"/notifications/{round_note.id}/open")
    assert response.headers["Location"].endswith(f"/decisions/{world.decision_id}/matrix")
    page = analyst.get("/notifications").get_data(as_text=True)
    assert "Nothing unread." in page


def test_mark_all_read_needs_csrf_and_touches_only_mine(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    notify_round_opened(app, world)
    add_memo(app, world)
    analyst = as_role("analyst-a")
    assert analyst.client.post("/notifications/read").status_code == 400
    assert all(n.read_at is None for n in rows(app))
    response = analyst.post("/notifications/read")
    assert response.status_code == 303
    mine = rows(app, world.users["analyst-a"])
    assert mine and all(n.read_at is not None for n in mine)
    others = [n for n in rows(app) if n.user_id != world.users["analyst-a"]]
    assert others and all(n.read_at is None for n in others)


def test_someone_elses_notification_is_not_found(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    notify_round_opened(app, world)
    theirs = rows(app, world.users["analyst-b"])[0]
    analyst = as_role("analyst-a")
    assert analyst.post(f"/notifications/{theirs.id}/open").status_code == 404
    assert rows(app, world.users["analyst-b"])[0].read_at is None
    assert analyst.client.post(f"/notifications/{theirs.id}/open").status_code == 400  # no token


def test_reply_notification_links_to_the_comment(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    assert reply_to_analyst_a(app, world, as_role).status_code == 200
    [note] = rows(app, world.users["analyst-a"])
    analyst = as_role("analyst-a")
    page = analyst.get("/notifications").get_data(as_text=True)
    assert "Analyst B replied to your comment on Intelligence sharing in “Test decision”." in page
    response = analyst.post(f"/notifications/{note.id}/open")
    assert response.headers["Location"].endswith(
        f"/decisions/{world.decision_id}/options/{world.options[0]}#comment-{note.comment_id}"
    )


def test_deleted_decision_notifications_are_not_shown(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    notify_round_opened(app, world)
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        decision.deleted = True
        session.add(decision)
    analyst = as_role("analyst-a")
    assert "No notifications yet." in analyst.get("/notifications").get_data(as_text=True)
    assert ">Notifications</a>" in analyst.get("/").get_data(as_text=True)


# --------------------------------------------------------------------------------------------
# Emails
# --------------------------------------------------------------------------------------------


def test_nothing_is_emailed_without_smtp_host(app: Flask, world: World, as_role, smtp):  # type: ignore[no-untyped-def]
    sink, port = smtp
    app.config.update(SMTP_HOST=None, SMTP_PORT=port)
    give_email(app, world, "analyst-a")
    response = reply_to_analyst_a(app, world, as_role)
    response.close()
    assert response.status_code == 200
    assert sink.messages == []
    assert [n.emailed_at for n in rows(app)] == [None]
    result = app.test_cli_runner().invoke(args=["send-notifications"])
    assert result.exit_code != 0
    assert "SMTP_HOST is not set" in result.output


def test_reply_is_emailed_once_after_the_request(app: Flask, world: World, as_role, smtp):  # type: ignore[no-untyped-def]
    sink, port = smtp
    use_smtp(app, port)
    give_email(app, world, "analyst-a")
    response = reply_to_analyst_a(app, world, as_role)
    response.close()  # the delivery runs when the response is closed, after the commit
    assert response.status_code == 200
    [message] = sink.messages
    assert message["To"] == "analyst-a@example.test"
    assert message["Subject"] == "Analyst B replied to your comment: Test decision"
    body = message.get_payload(decode=True).decode()
    assert "Analyst B replied to your comment on Intelligence sharing" in body
    assert f"https://om.example/decisions/{world.decision_id}/options/" in body
    assert "https://om.example/notifications" in body
    [note] = rows(app)
    assert note.emailed_at is not None
    # A later delivery finds nothing pending: sent once.
    result = app.test_cli_runner().invoke(args=["send-notifications"])
    assert result.exit_code == 0, result.output
    assert "Emails sent: 0" in result.output
    assert len(sink.messages) == 1


def test_people_without_email_get_none(app: Flask, world: World, smtp):  # type: ignore[no-untyped-def]
    sink, port = smtp
    use_smtp(app, port)
    give_email(app, world, "analyst-b")
    notify_round_opened(app, world)
    result = app.test_cli_runner().invoke(args=["send-notifications"])
    assert result.exit_code == 0, result.output
    assert [m["To"] for m in sink.messages] == ["analyst-b@example.test"]
    assert sink.messages[0]["Subject"] == "Round 2 opened: Test decision"
    emailed = {n.user_id: n.emailed_at is not None for n in rows(app)}
    assert emailed == {
        world.users["analyst-a"]: False,
        world.users["analyst-b"]: True,
        world.users["observer"]: False,
    }


def test_read_notifications_are_not_emailed(app: Flask, world: World, as_role, smtp):  # type: ignore[no-untyped-def]
    sink, port = smtp
    use_smtp(app, port)
    give_email(app, world, "analyst-a")
    notify_round_opened(app, world)
    as_role("analyst-a").post("/notifications/read")
    result = app.test_cli_runner().invoke(args=["send-notifications"])
    assert result.exit_code == 0
    assert sink.messages == []


def test_mail_server_down_leaves_emails_pending(app: Flask, world: World, as_role, smtp):  # type: ignore[no-untyped-def]
    sink, port = smtp
    use_smtp(app, _free_port())  # nobody listens there
    give_email(app, world, "analyst-a", "analyst-b", "observer")
    response = reply_to_analyst_a(app, world, as_role)
    response.close()
    assert response.status_code == 200  # the reply is saved whatever the mail server does
    assert len(rows(app, world.users["analyst-a"])) == 1
    result = app.test_cli_runner().invoke(args=["send-notifications"])
    assert result.exit_code != 0
    assert "could not be sent" in result.output
    assert all(n.emailed_at is None for n in rows(app))
    # The server is back: the pending email goes out, once.
    use_smtp(app, port)
    notify_round_opened(app, world)
    result = app.test_cli_runner().invoke(args=["send-notifications"])
    assert result.exit_code == 0, result.output
    assert "Emails sent: 4" in result.output
    assert sorted(m["To"] for m in sink.messages) == [
        "analyst-a@example.test",
        "analyst-a@example.test",
        "analyst-b@example.test",
        "observer@example.test",
    ]
    assert all(n.emailed_at is not None for n in rows(app))
    result = app.test_cli_runner().invoke(args=["send-notifications"])
    assert "Emails sent: 0" in result.output
    assert len(sink.messages) == 4


def test_two_deliveries_never_send_twice(app: Flask, world: World, smtp):  # type: ignore[no-untyped-def]
    sink, port = smtp
    use_smtp(app, port)
    give_email(app, world, "analyst-a", "analyst-b")
    notify_round_opened(app, world)
    from app.adapters.mail import MailSettings
    from app.db.engine import get_engine

    with app.app_context():
        settings = MailSettings.from_config(app.config)
        assert settings is not None
        adapter = app.url_map.bind("localhost")
        first = notification_emails.deliver_pending(
            engine=get_engine(),
            settings=settings,
            public_url="https://om.example",
            build_path=lambda e, v: str(adapter.build(e, v)),
            limit=1,
        )
        second = notification_emails.deliver_pending(
            engine=get_engine(),
            settings=settings,
            public_url="https://om.example",
            build_path=lambda e, v: str(adapter.build(e, v)),
        )
    assert (first.sent, second.sent) == (1, 1)
    assert sorted(m["To"] for m in sink.messages) == [
        "analyst-a@example.test",
        "analyst-b@example.test",
    ]


def test_old_notifications_are_not_emailed(app: Flask, world: World, smtp):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from app.adapters.mail import MailSettings
    from app.db.engine import get_engine
    from app.db.models import utcnow

    sink, port = smtp
    use_smtp(app, port)
    give_email(app, world, "analyst-a")
    notify_round_opened(app, world)
    with app.app_context():
        settings = MailSettings.from_config(app.config)
        assert settings is not None
        adapter = app.url_map.bind("localhost")
        later = notification_emails.deliver_pending(
            engine=get_engine(),
            settings=settings,
            public_url="https://om.example",
            build_path=lambda e, v: str(adapter.build(e, v)),
            now=utcnow() + notification_emails.EMAIL_MAX_AGE + timedelta(minutes=1),
        )
    assert (later.sent, later.pending) == (0, 0)
    assert sink.messages == []
