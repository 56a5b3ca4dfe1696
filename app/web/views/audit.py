"""The audit log: the whole of it for administrators (``/audit``), one decision's events for
that decision's facilitators (``/decisions/<id>/audit``). Filter by kind; newest first, in
pages (``?before=<id>`` continues after the last one shown)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.domain.policy import Action
from app.services import audit
from app.web.access import load_decision
from app.web.params import int_arg
from app.web.transaction import get_session

bp = Blueprint("audit", __name__)


def _kind() -> audit.Kind | None:
    raw = request.args.get("kind") or ""
    if not raw:
        return None
    try:
        return audit.Kind(raw)
    except ValueError:
        abort(400, "Unknown kind of event.")


def _older_url(endpoint: str, page: audit.Page, kind: audit.Kind | None, **values: Any) -> str:
    if page.older is None:
        return ""
    if kind is not None:
        values["kind"] = kind.value
    return url_for(endpoint, before=page.older, **values)


@bp.get("/audit")
def whole_log() -> ResponseReturnValue:
    kind = _kind()
    page = audit.whole_log(session=get_session(), user=g.user, kind=kind, before=int_arg("before"))
    return render_template(
        "audit/log.html",
        page=page,
        kind=kind,
        kinds=audit.LABELS,
        decision=None,
        form_action=url_for("audit.whole_log"),
        older_url=_older_url("audit.whole_log", page, kind),
    )


@bp.get("/decisions/<int:decision_id>/audit")
def decision_log(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.VIEW_AUDIT)
    kind = _kind()
    page = audit.decision_log(
        session=get_session(),
        decision_id=decision_id,
        user_id=access.user_id,
        kind=kind,
        before=int_arg("before"),
    )
    return render_template(
        "audit/log.html",
        page=page,
        kind=kind,
        kinds={kind: audit.LABELS[kind] for kind in audit.DECISION_KINDS},
        access=access,
        decision=access.decision,
        form_action=url_for("audit.decision_log", decision_id=decision_id),
        older_url=_older_url("audit.decision_log", page, kind, decision_id=decision_id),
    )
