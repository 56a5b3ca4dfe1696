"""Issued memos (filled out by the memo module)."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from app.db import get_session
from app.models import Memo
from app.views.access import load_decision

bp = Blueprint("memos", __name__, url_prefix="/decisions/<int:decision_id>/memos")


@bp.get("")
def index(decision_id: int):  # type: ignore[no-untyped-def]
    access = load_decision(decision_id)
    memos = get_session().scalars(
        select(Memo).where(Memo.decision_id == decision_id).order_by(Memo.id.desc())
    )
    return render_template("memos/index.html", access=access, decision=access.decision, memos=list(memos))
