"""The live matrix: the shared group view of a round with one viewer's own scores on top.

Two caches make a live page cheap, both keyed by numbers that never change meaning
(:mod:`app.db.changes`):

- the decision's *structure* (settings, rounds, options, criteria, analysts) per structure
  number, in each process: scores and "done" marks do not change it, so it is read once
  per structural change;
- the round's *group view* per change number, in each process and in the shared cache
  (Redis or the database) for every other worker and host.

A poll or page whose numbers are both cached reads nothing more from the database; otherwise
one snapshot (:func:`app.db.uow.consistent_read`) reads the numbers, the structure and the
scores together, so what is computed is exactly the state its numbers name.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from threading import Lock

import numpy as np
from sqlalchemy import case, select
from sqlmodel import Session, col

from app.adapters.shared_cache import SharedCache
from app.db.changes import Numbers, current_numbers
from app.db.models import (
    Criterion,
    Decision,
    DecisionStatus,
    Member,
    Option,
    Role,
    Round,
    RoundCompletion,
    Score,
    User,
)
from app.db.raw import driver_rows
from app.domain.errors import NotFound
from app.domain.visibility import group_visible
from app.services.criteria import list_criteria
from app.services.group_view import SCORE_COLUMNS, GroupView, Method, compute_group, view_key
from app.services.matrix import Matrix, default_method, latest_revision, matrix_from_group
from app.services.options import list_options

Snapshot = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class Structure:
    """What a decision's matrix is made of at one structure number (read-only)."""

    decision: Decision
    rounds: list[Round]
    options: list[Option]
    criteria: list[Criterion]
    analysts: list[tuple[int, str]]

    def round(self, number: int | None) -> Round:
        number = number or self.decision.current_round
        found = next((r for r in self.rounds if r.number == number), None)
        if found is None:
            raise NotFound(f"Round {number} does not exist.")
        return found


_STRUCTURES = 64
_structures: OrderedDict[tuple[int, float, int], Structure] = OrderedDict()


def _cached_structure(decision_id: int, numbers: Numbers) -> Structure | None:
    key = (decision_id, numbers.created, numbers.structure)
    with _local_lock:
        found = _structures.get(key)
        if found is not None:
            _structures.move_to_end(key)
        return found


def _keep_structure(decision_id: int, numbers: Numbers, structure: Structure) -> None:
    with _local_lock:
        _structures[(decision_id, numbers.created, numbers.structure)] = structure
        while len(_structures) > _STRUCTURES:
            _structures.popitem(last=False)


def read_structure(session: Session, decision_id: int) -> Structure:
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise NotFound("That decision does not exist.")
    rounds = session.scalars(
        select(Round).where(col(Round.decision_id) == decision_id).order_by(col(Round.number))
    )
    return Structure(
        decision=decision,
        rounds=list(rounds),
        options=list_options(session=session, decision_id=decision_id, include_withdrawn=False),
        criteria=list_criteria(session=session, decision_id=decision_id),
        analysts=read_analysts(session, decision_id),
    )


def read_analysts(session: Session, decision_id: int) -> list[tuple[int, str]]:
    """The decision's analysts (id, display name) in the order they joined."""
    rows = session.execute(
        select(col(User.id), col(User.display_name))
        .join(Member, col(Member.user_id) == col(User.id))
        .where(col(Member.decision_id) == decision_id, col(Member.role) == Role.ANALYST.value)
        .order_by(col(Member.id))
    ).all()
    return [(int(a), str(name)) for a, name in rows]


_LOCAL_SIZE = 512
_local: OrderedDict[str, GroupView] = OrderedDict()
_local_lock = Lock()


def _local_get(key: str) -> GroupView | None:
    with _local_lock:
        view = _local.get(key)
        if view is not None:
            _local.move_to_end(key)
        return view


def _local_put(view: GroupView) -> None:
    with _local_lock:
        _local[view.key] = view
        while len(_local) > _LOCAL_SIZE:
            _local.popitem(last=False)


def clear_local() -> None:
    """Forget this process's first level (tests measuring the computation use it)."""
    with _local_lock:
        _local.clear()
        _structures.clear()
        _previous.clear()


def cached_view(
    *,
    cache: SharedCache,
    decision_id: int,
    created: float,
    round_number: int,
    change_number: int,
    method: str,
) -> GroupView | None:
    """A view already computed by this or any other worker, without computing anything."""
    key = view_key(decision_id, created, round_number, change_number, method)
    view = _local_get(key)
    if view is None:
        text = cache.get(key)
        if text is not None:
            try:
                view = GroupView.from_json(text)
            except (ValueError, KeyError, IndexError, TypeError):
                return None  # unreadable (damaged, or from another release): recompute
            _local_put(view)
    return view


def read_scores(session: Session, round_id: int) -> np.ndarray:
    """A round's scores as a :func:`score_table` (no ORM objects: the largest read here)."""
    rows = driver_rows(
        session,
        select(
            col(Score.option_id),
            col(Score.criterion_id),
            col(Score.analyst_id),
            col(Score.value),
            col(Score.not_applicable),
            case((col(Score.rationale) == "", 0), else_=1),
        ).where(col(Score.round_id) == round_id),
    )
    return np.array(rows, dtype=float).reshape(-1, SCORE_COLUMNS)


# A round's scores are final once the next round opens (only the current round is scored),
# so the previous round's table is read once per structure number, not per change.
_PREVIOUS = 32
_previous: OrderedDict[tuple[int, float, int, int], np.ndarray] = OrderedDict()


def previous_round_scores(
    session: Session, decision_id: int, numbers: Numbers | None, round_: Round
) -> np.ndarray:
    """The scores of ``round_`` (a round before the current one), cached per structure."""
    if numbers is None:
        return read_scores(session, round_.id)
    key = (decision_id, numbers.created, numbers.structure, round_.number)
    with _local_lock:
        found = _previous.get(key)
        if found is not None:
            _previous.move_to_end(key)
            return found
    table = read_scores(session, round_.id)
    table.setflags(write=False)
    with _local_lock:
        _previous[key] = table
        while len(_previous) > _PREVIOUS:
            _previous.popitem(last=False)
    return table


def compute_view(
    *,
    session: Session,
    cache: SharedCache,
    decision: Decision,
    rounds: Sequence[Round],
    round_number: int,
    method: Method,
    options: Sequence[Option],
    criteria: Sequence[Criterion],
    analysts: Sequence[tuple[int, str]],
    change_number: int,
    numbers: Numbers | None = None,
) -> GroupView:
    """Compute the round's group view at ``change_number`` and share it.

    ``session`` must read one snapshot (:func:`app.db.uow.consistent_read`) in which the
    decision stands at ``change_number``, and the other arguments must come from it, so the
    view is exactly the state its number names — which is what lets every worker share it.
    ``numbers`` (that snapshot's) let the previous round's scores come from this process's
    cache.
    """
    round_ = next((r for r in rounds if r.number == round_number), None)
    if round_ is None:
        raise NotFound(f"Round {round_number} does not exist.")
    previous = next((r for r in rounds if r.number == round_number - 1), None)
    view = compute_group(
        decision=decision,
        round_=round_,
        method=method,
        visible=group_visible(decision, round_),
        options=options,
        criteria=criteria,
        analysts=analysts,
        scores=read_scores(session, round_.id),
        done_ids=session.scalars(
            select(col(RoundCompletion.analyst_id)).where(
                col(RoundCompletion.round_id) == round_.id
            )
        ),
        previous_scores=(
            previous_round_scores(session, decision.id, numbers, previous)
            if previous is not None and group_visible(decision, previous)
            else None
        ),
        change_number=change_number,
        revision=latest_revision(session=session, decision_id=decision.id),
    )
    _local_put(view)
    cache.put(view.key, view.to_json(), decision_id=decision.id, change_number=change_number)
    return view


def live_matrix(
    *,
    session: Session,
    snapshot: Snapshot,
    cache: SharedCache,
    decision_id: int,
    viewer_id: int,
    role: Role,
    round_number: int | None = None,
    method: Method | None = None,
    own_scores: bool = True,
    numbers: Numbers | None = None,
    fresh: bool = False,
) -> Matrix:
    """The live matrix as the viewer sees it, from the shared group view of the round.

    ``numbers`` (read by the caller's membership check, or here) name the state to show;
    when its structure and group view are cached nothing else is read but the viewer's own
    scores (``own_scores=False`` leaves those out: a poll never redraws them). ``fresh``: the
    caller has just made a change, so its view is not computed yet (go straight to the
    snapshot). A constant number of queries whatever the size of the decision.
    """
    structure, view = None, None
    if not fresh and numbers is None:
        numbers = current_numbers(session=session, decision_id=decision_id)
        if numbers is None:
            raise NotFound("That decision does not exist.")
    if numbers is not None:
        structure = _cached_structure(decision_id, numbers)
    if numbers is not None and structure is not None:
        view = cached_view(
            cache=cache,
            decision_id=decision_id,
            created=numbers.created,
            round_number=structure.round(round_number).number,
            change_number=numbers.change,
            method=method or default_method(structure.decision),
        )
    if structure is None or view is None:
        with snapshot() as snap:
            # The view was looked up (and missed) at these numbers only if the structure
            # was cached; otherwise the snapshot looks in the caches for it.
            looked_up = numbers if structure is not None else None
            structure, view = _read_and_compute(
                snap, cache, decision_id, round_number, method, looked_up=looked_up
            )
    round_ = structure.round(round_number)
    decision = structure.decision
    previous = next((r for r in structure.rounds if r.number == round_.number - 1), None)
    return matrix_from_group(
        view,
        decision=decision,
        viewer_id=viewer_id,
        role=role,
        round_=round_,
        rounds=structure.rounds,
        options=structure.options,
        criteria=structure.criteria,
        mine=_own_scores(session, round_.id, viewer_id) if own_scores else (),
        my_previous=(
            _own_scores(session, previous.id, viewer_id)
            if own_scores and previous is not None and group_visible(decision, previous)
            else None
        ),
        can_score=(
            role is Role.ANALYST
            and round_.number == decision.current_round
            and decision.status == DecisionStatus.SCORING.value
        ),
    )


def _read_and_compute(
    snap: Session,
    cache: SharedCache,
    decision_id: int,
    round_number: int | None,
    method: Method | None,
    looked_up: Numbers | None,
) -> tuple[Structure, GroupView]:
    """Structure and group view as of one snapshot, from the caches where they are there
    (not looking again for a view just missed at the same numbers: ``looked_up``)."""
    numbers = current_numbers(session=snap, decision_id=decision_id)
    if numbers is None:
        raise NotFound("That decision does not exist.")
    structure = _cached_structure(decision_id, numbers)
    if structure is None:
        structure = read_structure(snap, decision_id)
        # Shared read-only by every request of this process from now on: detach the rows, so
        # nothing that happens to this session (a rollback expires what it holds) reaches them.
        snap.expunge_all()
        _keep_structure(decision_id, numbers, structure)
    number = structure.round(round_number).number
    method = method or default_method(structure.decision)
    view = None
    if numbers != looked_up:
        view = cached_view(
            cache=cache,
            decision_id=decision_id,
            created=numbers.created,
            round_number=number,
            change_number=numbers.change,
            method=method,
        )
    if view is None:
        view = compute_view(
            session=snap,
            cache=cache,
            decision=structure.decision,
            rounds=structure.rounds,
            round_number=number,
            method=method,
            options=structure.options,
            criteria=structure.criteria,
            analysts=structure.analysts,
            change_number=numbers.change,
            numbers=numbers,
        )
    return structure, view


@dataclass(frozen=True)
class OwnScore:
    """The viewer's own score of a cell, as the matrix reads it (no ORM object)."""

    option_id: int
    criterion_id: int
    analyst_id: int
    value: float | None
    not_applicable: bool
    rationale: str


def _own_scores(session: Session, round_id: int, analyst_id: int) -> list[OwnScore]:
    rows = session.execute(
        select(
            col(Score.option_id),
            col(Score.criterion_id),
            col(Score.analyst_id),
            col(Score.value),
            col(Score.not_applicable),
            col(Score.rationale),
        ).where(col(Score.round_id) == round_id, col(Score.analyst_id) == analyst_id)
    )
    return [OwnScore(*row) for row in rows]
