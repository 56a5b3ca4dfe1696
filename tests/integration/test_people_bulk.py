"""Accounts from a CSV file (a header row allowed, per-line errors, nothing created when any
line is wrong), emails kept on the accounts, and each new account emailed its one-time link
after the accounts are committed, against a local SMTP sink (aiosmtpd): a mail server that
fails never undoes the accounts, and the page says which emails went out."""

from __future__ import annotations

import io
import re
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, select

from app.db.models import PasswordLink, User
from app.db.uow import unit_of_work
from tests.conftest import Actions
from tests.factories import World

LINK_RE = re.compile(r'value="http://localhost(/login\?token=[^"]+)"')
PUBLIC_URL = "https://options.example.gov"


class Sink:
    """An SMTP server that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sink(app: Flask) -> Iterator[Sink]:
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=controller.port,
        SMTP_FROM="matrix@example.gov",
        PUBLIC_URL=PUBLIC_URL,
    )
    yield handler
    controller.stop()


def count(app: Flask, model: type) -> int:
    with app.app_context(), unit_of_work(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def emails(app: Flask) -> dict[str, str | None]:
    with app.app_context(), unit_of_work(write=False) as session:
        return {u.username: u.email for u in session.scalars(select(User))}


def upload(admin: Actions, content: bytes, name: str = "people.csv") -> Any:
    return admin.post(
        "/people/list",
        {"accounts": "", "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_accounts_from_a_csv_file_with_a_header_row_keep_their_emails(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    admin = as_role("facilitator")
    # As a spreadsheet saves it: a byte-order mark, a header row, quoting, CRLF.
    csv = (
        '\ufeffusername,name,email\r\ndana,"Diaz, Dana",dana@example.org\r\n\r\neve,Eve Evans,\r\n'
    ).encode()
    response = upload(admin, csv)
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    assert "2 accounts created" in page and "Diaz, Dana" in page
    assert len(LINK_RE.findall(page)) == 2
    stored = emails(app)
    assert stored["dana"] == "dana@example.org" and stored["eve"] is None
    assert "username" not in stored  # the header row is not an account


def test_semicolons_and_windows_1252_are_read(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    admin = as_role("facilitator")
    response = upload(admin, "username;name\r\nrene;René Müller\r\n".encode("cp1252"))
    assert response.status_code == 201
    assert "René Müller" in response.get_data(as_text=True)


def test_a_file_with_any_bad_line_creates_nobody_and_names_each_line(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    admin = as_role("facilitator")
    users, links = count(app, User), count(app, PasswordLink)
    csv = (
        b"username,name,email\n"
        b"dana,Dana Diaz,dana@example.org\n"
        b"analyst-a,Taken Already\n"
        b"frank,Frank,not-an-address\n"
        b"gina\n"
    )
    response = upload(admin, csv)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was created" in page
    assert "Line 5: write" in page  # a line it cannot read, by its number in the file
    assert count(app, User) == users and count(app, PasswordLink) == links
    # With the unreadable line fixed, the other problems are named by line too.
    response = upload(admin, csv.replace(b"gina\n", b"gina,Gina\n"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Line 3: The username “analyst-a” is taken." in page
    assert "Line 4: “not-an-address” is not an email address." in page
    assert count(app, User) == users and count(app, PasswordLink) == links


def test_an_empty_file_falls_back_to_the_pasted_list(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    admin = as_role("facilitator")
    response = admin.post(
        "/people/list",
        {"accounts": "hana, Hana Ito", "file": (io.BytesIO(b""), "")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201
    assert emails(app)["hana"] is None


def test_each_new_account_with_an_address_is_emailed_its_link(
    app: Flask,
    world: World,
    sink: Sink,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    admin = as_role("facilitator")
    pasted = "dana, Dana Diaz, dana@example.org\neve, Eve Evans\nfred, Fred Fox, fred@example.org"
    response = admin.post("/people/list", {"accounts": pasted})
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    assert "sent to dana@example.org" in page and "sent to fred@example.org" in page
    assert "Emailed 2 links" in page
    shown = {path.split("=", 1)[1] for path in LINK_RE.findall(page)}
    assert len(shown) == 3  # every link is still shown to the administrator
    assert sorted(m["To"] for m in sink.messages) == ["dana@example.org", "fred@example.org"]
    for message in sink.messages:
        assert message["From"] == "matrix@example.gov"
        body = message.get_payload(decode=True).decode()
        [link] = re.findall(re.escape(PUBLIC_URL) + r"/login\?token=(\S+)", body)
        assert link in shown  # the same one-time link, at the public address
    dana = next(m for m in sink.messages if m["To"] == "dana@example.org")
    body = dana.get_payload(decode=True).decode()
    assert "Dana Diaz" in body and "username: dana" in body
    # The emailed link opens the set-password page for its person.
    [token] = re.findall(r"token=(\S+)", body)
    opened = Actions(app.test_client()).client.get(f"/login?token={token}")
    assert opened.status_code == 200 and "Dana Diaz" in opened.get_data(as_text=True)


def test_a_mail_server_that_fails_never_undoes_the_accounts(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_free_port(), SMTP_TIMEOUT=2)
    admin = as_role("facilitator")
    before = count(app, User)
    response = admin.post(
        "/people/list", {"accounts": "dana, Dana Diaz, dana@example.org\neve, Eve Evans"}
    )
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    assert "not sent" in page and "Could not email 1 link (dana@example.org)" in page
    assert len(LINK_RE.findall(page)) == 2  # the links are still there to hand out
    assert count(app, User) == before + 2
    assert emails(app)["dana"] == "dana@example.org"


def test_no_email_is_attempted_without_smtp_settings(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    assert not app.config.get("SMTP_HOST")
    admin = as_role("facilitator")
    response = admin.post("/people", {"username": "dana", "name": "Dana", "email": "d@example.org"})
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    assert "Emailed" not in page and "not sent" not in page
    assert emails(app)["dana"] == "d@example.org"
