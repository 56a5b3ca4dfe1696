"""Private what-if weights: the matrix's totals and ranks under weights a member tries out,
and the facilitator's adoption of such weights as the decision's own.

Nothing here is saved until :func:`adopt_weights`. The figures come from what the viewer may
see of the round (:func:`basis_from_matrix`): the group values in an open or revealed round;
in a blind round before its reveal, an analyst's own scores only, and nothing at all for
anyone else. Totals follow the matrix's rule exactly (:func:`app.domain.analysis.evaluate`,
the decision's missing-score policy included): the values are evaluated as a panel of one,
whose group value is the value itself, so at the agreed weights the totals are the matrix's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from sqlmodel import Session

from app.db.models import Criterion, CriterionUpdate, Option, Role
from app.db.schemas import parse
from app.domain import analysis
from app.domain.errors import InvalidInput, ServiceError
from app.domain.policy import Action
from app.domain.vocabulary import CriterionStatus
from app.services import criteria as criteria_service
from app.services.matrix import Matrix
from app.services.permissions import authorize, lock_decision


class Basis(StrEnum):
    """Which scores a what-if rests on."""

    GROUP = "group"  # the group values (open scoring, or a revealed round)
    OWN = "own"  # an analyst's own scores (a blind round before its reveal)
    HIDDEN = "hidden"  # nothing to compare until the round is revealed


@dataclass(frozen=True)
class WhatIfBasis:
    """What a viewer's what-if is computed from: one value per cell (NaN: missing or N/A)."""

    basis: Basis
    round_number: int
    options: list[Option]
    criteria: list[Criterion]
    values: np.ndarray  # options x criteria; empty when hidden
    scale: analysis.Scale
    missing_policy: str

    @property
    def agreed(self) -> list[float]:
        return [float(c.weight) for c in self.criteria]

    @property
    def comparable(self) -> bool:
        """Whether there is anything to rank (figures visible, options and criteria)."""
        return self.basis is not Basis.HIDDEN and bool(self.options) and bool(self.criteria)


@dataclass(frozen=True)
class Outcome:
    """Totals (0–100), ranks and the share of the weight each total rests on, by option id;
    normalised weights by criterion id."""

    shares: dict[int, float]
    totals: dict[int, float | None]
    ranks: dict[int, int | None]
    coverage: dict[int, float]
    bounds: dict[int, tuple[float | None, float | None]]

    @property
    def first(self) -> list[int]:
        """Ids of the options ranked first (in the options' order)."""
        return [o for o, r in self.ranks.items() if r == 1]


def basis_from_matrix(m: Matrix) -> WhatIfBasis:
    """The values a viewer's what-if may use, taken from their matrix of the current round."""
    if m.group_visible:
        basis = Basis.GROUP
    elif m.role is Role.ANALYST:
        basis = Basis.OWN
    else:
        basis = Basis.HIDDEN
    values = np.full((len(m.options), len(m.criteria)), np.nan)
    if basis is not Basis.HIDDEN:
        for i, o in enumerate(m.options):
            for j, c in enumerate(m.criteria):
                cell = m.cells[(o.id, c.id)]
                if basis is Basis.GROUP:
                    value = cell.value if cell.count else None
                else:
                    mine = cell.mine
                    value = None if mine is None or mine.not_applicable else mine.value
                if value is not None:
                    values[i, j] = float(value)
    return WhatIfBasis(
        basis=basis,
        round_number=m.round.number,
        options=list(m.options),
        criteria=list(m.criteria),
        values=values if basis is not Basis.HIDDEN else np.empty((0, 0)),
        scale=m.scale,
        missing_policy=m.decision.missing_policy,
    )


def outcome(basis: WhatIfBasis, weights: Sequence[float]) -> Outcome:
    """Totals and ranks under ``weights`` (raw, one per criterion in the basis's order)."""
    shares: dict[int, float] = {}
    if basis.criteria:
        normalised = analysis.normalise_weights(list(weights))
        shares = {c.id: float(w) for c, w in zip(basis.criteria, normalised, strict=True)}
    if not basis.comparable:
        return Outcome(shares, {}, {}, {}, {})
    ev = analysis.evaluate(
        basis.values[None, :, :],
        list(weights),
        [c.direction for c in basis.criteria],
        basis.scale,
        "mean",
        missing=basis.missing_policy,
    )
    totals: dict[int, float | None] = {}
    ranks: dict[int, int | None] = {}
    coverage: dict[int, float] = {}
    bounds: dict[int, tuple[float | None, float | None]] = {}
    for i, o in enumerate(basis.options):
        total = float(ev.totals[i])
        totals[o.id] = None if math.isnan(total) else total
        ranks[o.id] = ev.ranks[i]
        coverage[o.id] = float(ev.weight_coverage[i])
        low, high = float(ev.total_low[i]), float(ev.total_high[i])
        bounds[o.id] = (
            None if math.isnan(low) else low,
            None if math.isnan(high) else high,
        )
    return Outcome(shares, totals, ranks, coverage, bounds)


def parse_weights(
    criteria: Sequence[Criterion], raw: Mapping[int, Any]
) -> tuple[list[float], dict[str, str]]:
    """The weights given per criterion id, validated as the criteria service validates a
    weight; a criterion left out keeps its agreed weight. Returns ``(weights, errors)`` with
    errors keyed ``"weight-<criterion id>"``."""
    weights: list[float] = []
    errors: dict[str, str] = {}
    for c in criteria:
        if c.id not in raw:
            weights.append(float(c.weight))
            continue
        value = raw[c.id]
        valid, problems = parse(
            CriterionUpdate,
            {"name": c.name, "direction": c.direction, "version": 1, "weight": value},
        )
        if problems:
            message = problems.get("weight", "Weight is not valid.")
            errors[f"weight-{c.id}"] = message.replace("Weight", f"The weight of {c.name}", 1)
            weights.append(float(c.weight))
        else:
            weights.append(float(valid.weight))
    return weights, errors


STALE = (
    "The weights changed since you opened this page ({what}). Nothing was adopted: reload "
    "the page to start from the current weights."
)


def adopt_weights(
    *,
    session: Session,
    decision_id: int,
    actor_id: int,
    weights: Mapping[int, Any],
    versions: Mapping[int, int],
) -> list[Criterion]:
    """Make a what-if the decision's weights: one recorded change per criterion whose weight
    differs, through :func:`app.services.criteria.set_weight`. Refused (409, nothing written)
    when any criterion changed since the what-if was loaded (``versions``: the criteria's
    versions then) or criteria were added, removed or retired; 422 for an invalid weight.
    Returns the criteria whose weight changed."""
    lock_decision(session, decision_id, shared=True)
    authorize(session=session, decision=decision_id, user_id=actor_id, action=Action.EDIT_CRITERIA)
    current = [
        criteria_service.get_criterion(
            session=session, decision_id=decision_id, criterion_id=c.id, for_update=True
        )
        for c in criteria_service.list_criteria(session=session, decision_id=decision_id)
        if c.status == CriterionStatus.ACTIVE.value
    ]
    ids = {c.id for c in current}
    if set(weights) != ids or set(versions) != ids:
        raise ServiceError(STALE.format(what="criteria were added, removed or retired"), status=409)
    moved = [c.name for c in current if c.version != versions[c.id]]
    if moved:
        raise ServiceError(STALE.format(what="changed: " + ", ".join(moved)), status=409)
    new, errors = parse_weights(current, weights)
    if errors:
        raise InvalidInput(errors)
    changed = []
    for criterion, weight in zip(current, new, strict=True):
        if float(criterion.weight) == weight:
            continue
        changed.append(
            criteria_service.set_weight(
                session=session,
                decision_id=decision_id,
                criterion_id=criterion.id,
                actor_id=actor_id,
                weight=weight,
            )
        )
    return changed
