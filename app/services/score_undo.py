"""Undoing an analyst's score changes, one at a time, within the current round."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from app.db.models import Decision, Revision, Round, Score, utcnow
from app.domain.errors import ServiceError
from app.services import revisions
from app.services.scores import (
    check_cell,
    get_round,
    lock_for_scoring,
    locked_score,
    score_entity_id,
    score_state,
)

UNDO_DEPTH = 200  # how far back an analyst's changes in a round can be undone, one by one


def undo_last_score(
    *,
    session: Session,
    decision: Decision,
    analyst_id: int,
    option_id: int | None = None,
    criterion_id: int | None = None,
) -> Score:
    """Put back the cell the analyst changed last in the current round as it was before that
    change (value, N/A and rationale), recorded as an "undo" revision. Repeated, it steps
    further back through the analyst's changes of this round.

    ``option_id``/``criterion_id``: the cell the analyst means (an "Undo" beside that cell's
    confirmation); refused if their last change was elsewhere. Refused too when there is
    nothing to undo in this round, or when the cell no longer holds what that change saved.
    """
    decision = lock_for_scoring(session, decision, analyst_id)
    round_ = get_round(session=session, decision_id=decision.id, number=decision.current_round)
    target = _change_to_undo(session, decision, round_, analyst_id)
    if option_id is not None and (target.option_id, target.criterion_id) != (
        option_id,
        criterion_id,
    ):
        raise ServiceError(
            "Your last score change was to another cell; undo that one first (Ctrl+Z).",
            status=409,
        )
    assert target.option_id is not None and target.criterion_id is not None
    check_cell(session, decision, target.option_id, target.criterion_id)
    key = {
        "round_id": round_.id,
        "option_id": target.option_id,
        "criterion_id": target.criterion_id,
        "analyst_id": analyst_id,
    }
    score = locked_score(session, **key)
    before = score_state(score)
    if score is None or before != target.after:
        raise ServiceError(
            "That cell was changed again since; nothing was undone. Refresh the page.",
            status=409,
        )
    restored = target.before or {"value": None, "not_applicable": False, "rationale": ""}
    score.value = restored.get("value")
    score.not_applicable = bool(restored.get("not_applicable"))
    score.rationale = restored.get("rationale") or ""
    score.updated_at = utcnow()
    session.add(score)
    revisions.record(
        session=session,
        decision_id=decision.id,
        actor_id=analyst_id,
        entity="score",
        entity_id=score_entity_id(round_.number, score.option_id, score.criterion_id, analyst_id),
        action="undo",
        option_id=score.option_id,
        criterion_id=score.criterion_id,
        round_number=round_.number,
        before=before,
        after=score_state(score),
    )
    return score


def _change_to_undo(
    session: Session, decision: Decision, round_: Round, analyst_id: int
) -> Revision:
    """The analyst's latest score change in the round not undone yet: each "undo" revision
    cancels the latest change before it that is not cancelled already."""
    recent = session.scalars(
        select(Revision)
        .where(
            col(Revision.decision_id) == decision.id,
            col(Revision.entity) == "score",
            col(Revision.actor_id) == analyst_id,
            col(Revision.round_number) == round_.number,
        )
        .order_by(col(Revision.id).desc())
        .limit(UNDO_DEPTH)
    )
    pending = 0
    for revision in recent:
        if revision.action == "undo":
            pending += 1
        elif pending:
            pending -= 1
        else:
            return revision
    earlier = " (changes in earlier rounds cannot be undone)" if round_.number > 1 else ""
    raise ServiceError(
        f"Nothing to undo: no score change of yours in round {round_.number} is left to "
        f"undo{earlier}.",
        status=409,
    )
