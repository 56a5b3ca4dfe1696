"""Email through an SMTP server (``SMTP_*`` settings); nothing is sent without ``SMTP_HOST``.

Messages are plain text. A failure to send is reported to the caller as :class:`MailError`;
callers send after their transaction has committed, so a mail server that is down never
undoes or delays what a person saved.
"""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    sender: str = "options-matrix@localhost"
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings | None:
        """The settings in a Flask config, or None when no SMTP server is configured."""
        host = config.get("SMTP_HOST")
        if not host:
            return None
        return cls(
            host=str(host),
            port=int(config.get("SMTP_PORT") or 25),
            username=config.get("SMTP_USERNAME") or None,
            password=config.get("SMTP_PASSWORD") or None,
            starttls=bool(config.get("SMTP_STARTTLS")),
            sender=str(config.get("SMTP_FROM") or "options-matrix@localhost"),
            timeout=float(config.get("SMTP_TIMEOUT") or 10.0),
        )


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def _header_safe(text: str) -> str:
    """No line breaks in a header (a subject built from a decision's title)."""
    return " ".join(text.split())


def send(settings: MailSettings, mails: list[Mail]) -> None:
    """Send ``mails`` over one SMTP connection; :class:`MailError` if any could not be sent."""
    if not mails:
        return
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.username and settings.password:
                smtp.login(settings.username, settings.password)
            for mail in mails:
                message = EmailMessage()
                message["From"] = settings.sender
                message["To"] = _header_safe(mail.to)
                message["Subject"] = _header_safe(mail.subject)
                message["Date"] = formatdate(localtime=False, usegmt=True)
                message["Message-ID"] = make_msgid(domain="options-matrix")
                message.set_content(mail.body)
                smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"The email could not be sent ({exc}).") from exc
