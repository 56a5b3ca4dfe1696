"""``flask --app app <command>``: schema, accounts, demo data, memos, export and import."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from app.db.uow import unit_of_work


def register_cli(app: Flask) -> None:
    from app.cli.memos import render_memo_command
    from app.cli.notifications import send_notifications_command
    from app.cli.transfer import export_command, import_command

    for command in (
        init_db,
        create_user,
        set_password,
        seed_demo,
        render_memo_command,
        export_command,
        import_command,
        send_notifications_command,
    ):
        app.cli.add_command(command)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema (Alembic upgrade to head)."""
    from flask import current_app

    from app.db.migrate import upgrade

    upgrade(current_app)
    click.echo("Database is at the latest migration.")


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name", default=None, help="Name shown to others.")
@click.option("--admin", is_flag=True, help="May create decisions.")
def create_user(username: str, password: str, display_name: str | None, admin: bool) -> None:
    """Create a user account."""
    from app.domain.errors import InvalidInput
    from app.services.users import create_user as create

    try:
        with unit_of_work() as session:
            user = create(
                session=session,
                username=username,
                password=password,
                display_name=display_name,
                is_admin=admin,
                via="command line",
            )
            name = user.username
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Created user {name}{' (admin)' if admin else ''}.")


@click.command("set-password")
@with_appcontext
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def set_password(username: str, password: str) -> None:
    """Set a user's password (and log them out everywhere)."""
    from app.domain.errors import ServiceError
    from app.services.users import set_password as set_user_password

    try:
        with unit_of_work() as session:
            set_user_password(
                session=session, username=username, password=password, via="command line"
            )
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Password set for {username}; their existing sessions are logged out.")


@click.command("seed-demo")
@with_appcontext
@click.option("--reset-passwords", is_flag=True, help="Give every demo user a new password.")
def seed_demo(reset_passwords: bool) -> None:
    """Create the demo decision and its users (idempotent)."""
    from app.services.demo import seed

    with unit_of_work() as session:
        result = seed(session=session, reset_passwords=reset_passwords)
    if result.created:
        click.echo(f"Demo decision created: {result.decision_title} (id {result.decision_id}).")
    else:
        click.echo(
            f"Demo decision already present: {result.decision_title} (id {result.decision_id})."
        )
    if result.passwords:
        click.echo("Demo logins (shown once; set DEMO_PASSWORD to choose your own):")
        for username, password in result.passwords.items():
            click.echo(f"  {username:<12} {password}")
    else:
        click.echo(
            "Demo users already exist; their passwords were printed when they were created "
            "(`flask --app app seed-demo --reset-passwords` issues new ones)."
        )
