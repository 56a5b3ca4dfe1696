"""People: administrators create accounts, one at a time or from a pasted list, and are
shown each new account's one-time set-password link (it is shown once: only its hash is
stored)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import col, select

from app.db.models import User
from app.domain.errors import InvalidInput
from app.services.users import (
    IssuedLink,
    NewAccount,
    create_accounts_with_links,
    parse_accounts,
)
from app.web.clock import now
from app.web.transaction import get_session

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
    try:
        accounts = parse_accounts(request.form.get("accounts", ""))
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
    return _page(issued=issued), 201


def _page(
    *, issued: list[IssuedLink] | None = None, errors: dict[str, str] | None = None, form: str = ""
) -> str:
    accounts = get_session().exec(select(User).order_by(col(User.username))).all()
    links = [
        (link, url_for("auth.login", token=link.token, _external=True)) for link in issued or []
    ]
    return render_template(
        "people/index.html", accounts=accounts, links=links, errors=errors or {}, form=form
    )
