"""Decision history: the activity feed of revisions (filled out by the history module)."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from app.db import get_session
from app.models import Revision
from app.views.access import load_decision

bp = Blueprint("history", __name__, url_prefix="/decisions/<int:decision_id>/history")


@bp.get("")
def feed(decision_id: int):  # type: ignore[no-untyped-def]
    access = load_decision(decision_id)
    revisions = get_session().scalars(
        select(Revision).where(Revision.decision_id == decision_id).order_by(Revision.id.desc()).limit(50)
    )
    return render_template("history/feed.html", access=access, decision=access.decision, revisions=list(revisions))
