"""``flask --app app send-notifications``: email the notifications still pending.

The web application emails notifications right after the request that created them; this
command sends whatever is left (a mail server that was down, a process that stopped), so a
scheduler may run it every few minutes. Nothing is sent twice, and nothing is sent without
``SMTP_HOST`` (see :mod:`app.services.notifications`).
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from app.adapters.mail import MailSettings
from app.db.engine import get_engine
from app.services import notification_emails


@click.command("send-notifications")
@with_appcontext
@click.option(
    "--limit",
    default=notification_emails.EMAIL_BATCH,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Send at most this many emails.",
)
def send_notifications_command(limit: int) -> None:
    """Email pending notifications (needs SMTP_HOST; exits 1 if the mail server fails)."""
    settings = MailSettings.from_config(current_app.config)
    if settings is None:
        raise click.ClickException("SMTP_HOST is not set: no email can be sent.")
    adapter = current_app.url_map.bind("localhost")
    result = notification_emails.deliver_pending(
        engine=get_engine(),
        settings=settings,
        public_url=str(current_app.config.get("PUBLIC_URL") or ""),
        build_path=lambda endpoint, values: str(adapter.build(endpoint, values)),
        limit=limit,
    )
    click.echo(f"Emails sent: {result.sent}; still pending: {result.pending}.")
    if result.error:
        raise click.ClickException(result.error)
