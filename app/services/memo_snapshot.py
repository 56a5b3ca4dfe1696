"""A memo's snapshot: everything the memo says, read in one transaction as plain data.

The matrix part comes from :func:`app.services.matrix_data.matrix_data` — the same numbers the
matrix page and the API show. Beside it the snapshot keeps what the memo's later sections are
computed from, so that everything the memo prints follows from the snapshot alone:

* each cell's count of N/A scores and of analysts who gave a value (the matrix flags cells
  resting on a single analyst or holding an N/A);
* ``rounds_before``: the group figures of every earlier round the group has seen (the Delphi
  convergence section compares them with the memo's round);
* ``uncertainty``: the robustness figures the bottom line states (the chance the top option
  ranks first, the smallest weight change that alters it) and the stamp that reproduces them;
* ``memo.number``: the number the memo will carry (its decision's next), checked again when
  the memo is stored (:func:`app.services.memos.store_memo`).

Nothing here commits or writes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from app.config import VERSION
from app.db.models import Decision, Memo, OptionRead, Role, Round, User
from app.db.uow import consistent_read
from app.domain import analysis
from app.domain.errors import NotFound, ServiceError
from app.domain.visibility import group_visible
from app.services import robustness
from app.services.decisions import list_members
from app.services.group_views import group_views
from app.services.matrix import Matrix, analyst_letter, build_matrix
from app.services.matrix_data import MatrixData, finite, matrix_data, snapshot_matrix
from app.services.options import list_options
from app.services.robustness import Robustness

if TYPE_CHECKING:
    from app.services.memos import MemoForm, MemoPrinter

SNAPSHOT_FORMAT = 1

# What a memo's snapshot records of each option (its list position is the snapshot's own).
SNAPSHOT_OPTION_FIELDS = {"id", "title", "summary", "description", "status"}


class MemoRefused(ServiceError):
    """The decision's state does not allow a memo now (e.g. a blind round not yet revealed)."""

    status = 409


def next_number(*, session: Session, decision_id: int) -> int:
    """The number the decision's next memo carries (its memos count from 1)."""
    last = session.execute(
        select(func.coalesce(func.max(col(Memo.number)), 0)).where(
            col(Memo.decision_id) == decision_id
        )
    ).scalar_one()
    return int(last or 0) + 1


def read_snapshot(
    *,
    engine: Engine,
    decision_id: int,
    issuer: User | None,
    form: MemoForm,
    printer: MemoPrinter,
    now: datetime | None = None,
) -> dict[str, Any]:
    """``take_snapshot`` in a session and transaction of its own, read-only."""
    with consistent_read(engine) as session:
        return take_snapshot(
            session=session,
            decision_id=decision_id,
            issuer=issuer,
            form=form,
            printer=printer,
            now=now,
        )


def take_snapshot(
    *,
    session: Session,
    decision_id: int,
    issuer: User | None,
    form: MemoForm,
    printer: MemoPrinter,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything the memo says, as plain data. Refuses a blind round that is not revealed."""
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise NotFound("That decision does not exist.")
    viewer_id = issuer.id if issuer is not None and issuer.id is not None else 0
    matrix = build_matrix(
        session=session, decision=decision, viewer_id=viewer_id, role=Role.FACILITATOR
    )
    check_issuable(decision, matrix)
    members = list_members(session=session, decision_id=decision_id)
    names = {u.id: u.display_name for _, u in members}
    analyst_ids = [u.id for m, u in members if m.role == Role.ANALYST.value]
    labels = {
        uid: (names[uid] if decision.name_analysts_in_memo else f"Analyst {analyst_letter(k)}")
        for k, uid in enumerate(analyst_ids)
    }
    all_options = list_options(session=session, decision_id=decision_id, include_withdrawn=True)
    generated = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    data = matrix_data(matrix)
    part = snapshot_matrix(data, labels)
    count_scores(part["rows"], data)
    evaluation = robustness.policy_evaluation(matrix)
    if evaluation is not None:
        follow_policy(part["rows"], evaluation)
    figures = robustness.compute(
        session=session, decision=decision, viewer_id=viewer_id, role=Role.FACILITATOR
    )

    return {
        "format": SNAPSHOT_FORMAT,
        "generated_at": generated.isoformat(),
        "app_version": VERSION,
        "issuer": {
            "id": issuer.id if issuer is not None else None,
            "name": issuer.display_name if issuer is not None else "command line",
            "username": issuer.username if issuer is not None else None,
        },
        "memo": {
            "number": next_number(session=session, decision_id=decision_id),
            "memorandum_for": form.memorandum_for,
            "from": form.from_line,
            "subject": form.subject,
            "bottom_line": form.bottom_line,
            "sections": list(form.sections),
        },
        "decision": {
            "id": decision.id,
            "title": decision.title,
            "question": decision.question,
            "background": decision.background,
            "classification": decision.classification,
            "scale_min": decision.scale_min,
            "scale_max": decision.scale_max,
            "scoring_mode": decision.scoring_mode,
            "status": decision.status,
            "name_analysts": decision.name_analysts_in_memo,
            "missing_policy": decision.missing_policy,
            "paper": decision.paper,
        },
        "round": {
            "number": data["round"],
            "revealed": data["revealed"],
            "rounds": data["rounds"],
        },
        "revision": data["revision"],
        "method": data["method"],
        "analysts": [labels[uid] for uid in analyst_ids],
        "options": [
            OptionRead.model_validate(o).model_dump(include=SNAPSHOT_OPTION_FIELDS)
            | {"position": i}
            for i, o in enumerate(all_options)
        ],
        "criteria": part["criteria"],
        "matrix": {"rows": part["rows"]},
        "disagreements": part["disagreements"],
        # The missing-score policy, each option's weight coverage and range, and the options
        # ranked above another only through missing scores (memos issued before have none).
        "missing": None
        if evaluation is None
        else analysis.missing_report(
            evaluation,
            [o["option_id"] for o in part["rows"]],
            [o.title for o in matrix.options],
            [c.name for c in matrix.criteria],
        ),
        # Under the memo's analyst labels; memos issued before group views existed have none.
        "group": group_views(
            session=session,
            decision=decision,
            viewer_id=viewer_id,
            labels=labels,
            show_names=False,
        ).to_data(),
        "rounds_before": rounds_before(
            session=session, decision=decision, matrix=matrix, viewer_id=viewer_id
        ),
        "uncertainty": uncertainty(figures),
        "robustness": (
            printer.robustness_section(figures) if "robustness" in form.sections else None
        ),
    }


def count_scores(rows: list[dict[str, Any]], data: MatrixData) -> None:
    """Add to each snapshot cell ``values`` (analysts who gave a value) and ``na`` (analysts
    who marked it N/A), from the analysts' scores in ``data`` (rows and cells in its order)."""
    cells = iter(data["cells"])
    for row in rows:
        for cell in row["cells"]:
            scores = next(cells)["scores"] or []
            cell["na"] = sum(1 for s in scores if s["not_applicable"])
            cell["values"] = sum(
                1 for s in scores if not s["not_applicable"] and s["value"] is not None
            )


def follow_policy(rows: list[dict[str, Any]], evaluation: analysis.Evaluation) -> None:
    """Set the snapshot's totals, ranks and contributions (rows in the evaluation's option
    order) to those of the decision's missing-score policy; under skip they are unchanged."""
    for i, row in enumerate(rows):
        row["total"] = finite(float(evaluation.totals[i]))
        row["rank"] = evaluation.ranks[i]
        for j, cell in enumerate(row["cells"]):
            cell["contribution"] = finite(float(evaluation.contributions[i, j]))


def check_issuable(decision: Decision, matrix: Matrix) -> None:
    if not group_visible(decision, matrix.round):
        raise MemoRefused(
            f"Round {matrix.round.number} is scored blind and has not been revealed. "
            "Reveal the round on the matrix page before issuing a memo: a memo may only report "
            "scores the team has seen. Nothing was issued."
        )
    if not matrix.options or not matrix.criteria:
        raise MemoRefused(
            "This decision needs at least one active option and one criterion before a memo "
            "can be issued. Nothing was issued."
        )


def rounds_before(
    *, session: Session, decision: Decision, matrix: Matrix, viewer_id: int
) -> list[dict[str, Any]]:
    """The group figures of each round before the memo's that the group has seen (a blind
    round not revealed is left out), on the memo's options and criteria: per cell its group
    value, lowest and highest score and whether it was contested; per option its total and
    rank. Oldest first."""
    rounds = session.scalars(
        select(Round)
        .where(col(Round.decision_id) == decision.id, col(Round.number) < matrix.round.number)
        .order_by(col(Round.number))
    )
    out = []
    for round_ in rounds:
        if not group_visible(decision, round_):
            continue
        past = build_matrix(
            session=session,
            decision=decision,
            viewer_id=viewer_id,
            role=Role.FACILITATOR,
            round_number=round_.number,
        )
        data = matrix_data(past)
        out.append(
            {
                "number": round_.number,
                "options": [
                    {"option_id": o["id"], "total": finite(o["total"]), "rank": o["rank"]}
                    for o in data["options"]
                ],
                "cells": [
                    {
                        "option_id": c["option_id"],
                        "criterion_id": c["criterion_id"],
                        "value": finite(c["value"]),
                        "min": finite(c["min"]),
                        "max": finite(c["max"]),
                        "count": c["count"],
                        "contested": bool(c["contested"]),
                    }
                    for c in data["cells"]
                ],
            }
        )
    return out


def uncertainty(r: Robustness | None) -> dict[str, Any] | None:
    """What the bottom line states of its own uncertainty, as numbers: each option's chance of
    ranking first (with its standard error), the criterion whose weight alters the top soonest
    (its weight, the range within which the top stays first and who takes over beyond it),
    and the stamp that reproduces the figures. None when there is nothing to analyse."""
    if r is None or not r.ready:
        return None
    fragile = [c for c in r.sensitivity if c.smallest_change is not None]
    nearest = min(fragile, key=lambda c: (c.smallest_change or 0.0, c.name), default=None)
    return {
        "samples": r.settings.samples,
        "seed": r.settings.seed,
        "band": r.settings.band,
        "score_model": r.settings.score_model,
        "stamp": r.stamp,
        "top": [o.option_id for o in r.options if o.rank == 1],
        "first": [
            {"option_id": o.option_id, "p": finite(o.first), "se": finite(o.first_se)}
            for o in r.by_first
        ],
        "nearest": None
        if nearest is None
        else {
            "criterion_id": nearest.criterion_id,
            "weight": finite(nearest.weight),
            "lower": finite(nearest.lower),
            "upper": finite(nearest.upper),
            "below_option_id": nearest.below_option_id,
            "above_option_id": nearest.above_option_id,
            "smallest_change": finite(nearest.smallest_change),
            "top_option_id": nearest.top_option_id,
            "tied_at_top": nearest.tied_at_top,
        },
    }
