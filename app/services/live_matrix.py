"""The live matrix: the shared group view of a round with one viewer's own scores on top."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from app.adapters.shared_cache import SharedCache
from app.db.models import Decision, DecisionStatus, Role, Round, Score
from app.domain.errors import NotFound
from app.domain.visibility import group_visible
from app.services.criteria import list_criteria
from app.services.decisions import list_members
from app.services.group_view import Method, group_view
from app.services.matrix import Matrix, analyst_ids, default_method, matrix_from_group
from app.services.options import list_options


def live_matrix(
    *,
    session: Session,
    cache: SharedCache,
    decision_id: int,
    viewer_id: int,
    role: Role,
    round_number: int | None = None,
    method: Method | None = None,
) -> Matrix:
    """The live matrix as the viewer sees it, from the shared group view of the round.

    ``session`` reads one snapshot (:func:`app.db.uow.consistent_read`): the decision, its
    options, criteria and members, the group view and the viewer's own scores all describe
    the same change number, which the page then polls with. A constant number of queries
    whatever the size of the decision (none for the group figures when already computed).
    """
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise NotFound("That decision does not exist.")
    rounds = list(
        session.scalars(
            select(Round).where(col(Round.decision_id) == decision.id).order_by(col(Round.number))
        )
    )
    number = round_number or decision.current_round
    round_ = next((r for r in rounds if r.number == number), None)
    if round_ is None:
        raise NotFound(f"Round {number} does not exist.")
    options = list_options(session=session, decision_id=decision.id, include_withdrawn=False)
    criteria = list_criteria(session=session, decision_id=decision.id)
    members = list_members(session=session, decision_id=decision.id)
    view = group_view(
        session=session,
        cache=cache,
        decision=decision,
        rounds=rounds,
        round_number=number,
        method=method or default_method(decision),
        options=options,
        criteria=criteria,
        analyst_ids=analyst_ids(members),
    )
    previous = next((r for r in rounds if r.number == number - 1), None)
    return matrix_from_group(
        view,
        decision=decision,
        viewer_id=viewer_id,
        role=role,
        round_=round_,
        rounds=rounds,
        options=options,
        criteria=criteria,
        members=members,
        mine=_own_scores(session, round_.id, viewer_id),
        my_previous=(
            _own_scores(session, previous.id, viewer_id)
            if previous is not None and group_visible(decision, previous)
            else None
        ),
        can_score=(
            role is Role.ANALYST
            and number == decision.current_round
            and decision.status == DecisionStatus.SCORING.value
        ),
    )


def _own_scores(session: Session, round_id: int, analyst_id: int) -> list[Score]:
    return list(
        session.scalars(
            select(Score).where(
                col(Score.round_id) == round_id, col(Score.analyst_id) == analyst_id
            )
        )
    )
