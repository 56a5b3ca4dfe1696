"""People: administrators create accounts, one at a time, from a pasted list or from an
uploaded CSV file, and are shown each new account's one-time set-password link (it is shown
once: only its hash is stored). When SMTP is configured, each new account with an email
address is also sent its link, after the accounts are committed: a mail failure never undoes
them, and the page says which emails were sent and which were not."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import col, select

from app.adapters.mail import MailSettings
from app.db.models import User
from app.domain.errors import InvalidInput
from app.services.users import (
    IssuedLink,
    MailOutcome,
    NewAccount,
    create_accounts_with_links,
    decode_upload,
    email_links,
    parse_accounts,
)
from app.web.clock import now
from app.web.transaction import end_transaction, get_session

bp = Blueprint("people", __name__, url_prefix="/people")


@bp.before_request
def _administrators_only() -> None:
    if not g.user.is_admin:
        abort(403, "Only administrators may manage accounts.")


@bp.get("")
def index() -> ResponseReturnValue:
    return _page()


@bp.post("")
def create_one() -> ResponseReturnValue:
    email = request.form.get("email", "").strip() or None
    account = NewAccount(
        request.form.get("username", ""), request.form.get("name", "").strip(), email
    )
    if not account.display_name:
        return _page(errors={"name": "Write the person's name."}, form="one"), 422
    return _create([account], form="one")


@bp.post("/list")
def create_many() -> ResponseReturnValue:
    """Accounts from the pasted list or, if one is chosen, the uploaded CSV file."""
    upload = request.files.get("file")
    try:
        if upload is not None and upload.filename:
            text = decode_upload(upload.read())
        else:
            text = request.form.get("accounts", "")
        accounts = parse_accounts(text)
    except InvalidInput as exc:
        return _page(errors=exc.errors, form="list"), 422
    return _create(accounts, form="list")


def _create(accounts: list[NewAccount], *, form: str) -> ResponseReturnValue:
    try:
        issued = create_accounts_with_links(
            session=get_session(),
            actor=g.user,
            accounts=accounts,
            now=datetime.fromtimestamp(now(), UTC),
        )
    except InvalidInput as exc:
        return _page(errors=exc.errors, form=form), 422
    mailed: list[MailOutcome] = []
    settings = MailSettings.from_config(current_app.config)
    if settings is not None and any(link.email for link in issued):
        end_transaction()  # the accounts exist whatever the mail server does
        public = str(current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")
        mailed = email_links(
            settings, issued, lambda token: public + url_for("auth.login", token=token)
        )
    return _page(issued=issued, mailed=mailed), 201


def _page(
    *,
    issued: list[IssuedLink] | None = None,
    errors: dict[str, str] | None = None,
    form: str = "",
    mailed: list[MailOutcome] | None = None,
) -> str:
    accounts = get_session().exec(select(User).order_by(col(User.username))).all()
    links = [
        (link, url_for("auth.login", token=link.token, _external=True)) for link in issued or []
    ]
    return render_template(
        "people/index.html",
        accounts=accounts,
        links=links,
        errors=errors or {},
        form=form,
        mailed={m.username: m for m in mailed or []},
        mail_configured=MailSettings.from_config(current_app.config) is not None,
    )
