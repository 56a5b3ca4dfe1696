"""Issuing decision memos: snapshot → render → store, and reading issued memos back.

Issuing is three steps, none holding a write lock while WeasyPrint works:

1. ``take_snapshot`` reads everything the memo says in **one read transaction** (REPEATABLE
   READ on PostgreSQL; a WAL read snapshot on SQLite) into plain JSON-able data. The matrix
   part comes from ``build_matrix`` — the same numbers the matrix page shows.
2. ``app.adapters.pdf`` renders the snapshot to HTML and the HTML to PDF within a time bound.
3. ``store_memo`` writes the PDF bytes, their SHA-256 and the snapshot in one transaction.

A failed or overrunning render raises before step 3, so nothing is stored. Issued memos are
never changed or deleted (the database refuses UPDATE and DELETE on the table).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError, field_validator
from sqlalchemy import Engine, select
from sqlalchemy.orm import defer
from sqlmodel import Field, Session, SQLModel

from app.adapters import pdf as memo
from app.config import VERSION
from app.db.models import Decision, Memo, Role, User
from app.db.uow import consistent_read, unit_of_work
from app.domain.errors import InvalidInput, NotFound, ServiceError
from app.services import robustness
from app.services.decisions import list_members
from app.services.matrix import Matrix, analyst_letter, build_matrix, group_visible
from app.services.options import list_options

SNAPSHOT_FORMAT = 1
BOTTOM_LINE_MAX = 10_000
LINE_MAX = 300


class MemoRefused(ServiceError):
    """The decision's state does not allow a memo now (e.g. a blind round not yet revealed)."""

    status = 409


class MemoRenderFailed(ServiceError):
    status = 503


class MemoForm(SQLModel):
    """What the facilitator fills in; validated before anything is read or rendered."""

    memorandum_for: str = Field(min_length=1, max_length=LINE_MAX)
    from_line: str = Field(min_length=1, max_length=LINE_MAX)
    subject: str = Field(min_length=1, max_length=LINE_MAX)
    bottom_line: str = Field(min_length=1, max_length=BOTTOM_LINE_MAX)
    sections: list[str] = Field(default_factory=list)

    _strip = field_validator(
        "memorandum_for", "from_line", "subject", "bottom_line", mode="before"
    )(lambda v: v.strip() if isinstance(v, str) else v)

    @field_validator("sections")
    @classmethod
    def _known_sections(cls, value: list[str]) -> list[str]:
        unknown = set(value) - set(memo.SECTIONS)
        if unknown:
            raise ValueError(f"unknown section {sorted(unknown)[0]!r}")
        return [s for s in memo.SECTIONS if s in value]


LABELS = {
    "memorandum_for": "MEMORANDUM FOR",
    "from_line": "FROM",
    "subject": "SUBJECT",
    "bottom_line": "Bottom line",
    "sections": "Sections",
}


def parse_form(data: Mapping[str, Any]) -> MemoForm:
    """``data`` as posted (``sections`` a list); InvalidInput with one message per field."""
    raw = {k: data.get(k, "") for k in ("memorandum_for", "from_line", "subject", "bottom_line")}
    raw["sections"] = list(data.get("sections") or [])
    try:
        return MemoForm.model_validate(raw)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "form"
            label = LABELS.get(field, field)
            if error["type"] == "string_too_short":
                message = f"{label} is required."
            elif error["type"] == "string_too_long":
                limit = error.get("ctx", {}).get("max_length")
                message = f"{label} must be at most {limit} characters."
            else:
                message = f"{label}: {error['msg']}"
            errors.setdefault(field, message)
        raise InvalidInput(errors) from None


def default_form(decision: Decision, user: User, matrix: Matrix | None) -> dict[str, Any]:
    """The form as first shown: subject from the decision, a drafted bottom line."""
    return {
        "memorandum_for": "",
        "from_line": user.display_name,
        "subject": f"{decision.title}: options and recommendation"[:LINE_MAX],
        "bottom_line": draft_bottom_line(matrix) if matrix is not None else "",
        "sections": list(memo.SECTIONS),
    }


def draft_bottom_line(matrix: Matrix) -> str:
    """A neutral first draft for the facilitator to edit: what the matrix ranks first."""
    ranking = [(o, t, r) for o, t, r in matrix.ranking if t is not None]
    if not matrix.group_visible or not ranking:
        return ""
    first = [o.title for o, _, r in ranking if r == 1]
    top_total = ranking[0][1] or 0.0
    if len(first) > 1:
        return (
            f"The team's scores put **{' and '.join(first)}** level in first place "
            f"({top_total:.1f} of 100). We recommend deciding between them on the points "
            "set out under *Where the team disagrees*."
        )
    text = f"We recommend **{first[0]}**. It ranks first in the team's analysis ({top_total:.1f} of 100)"
    if len(ranking) > 1:
        runner = ranking[1]
        text += f", ahead of {runner[0].title} ({(runner[1] or 0.0):.1f})"
    return text + "."


# --------------------------------------------------------------------------------------------
# Snapshot
# --------------------------------------------------------------------------------------------


def _f(value: Any) -> float | None:
    """A JSON-safe float (no NaN, which PostgreSQL's JSON refuses)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def canonical_json(data: Any) -> bytes:
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def snapshot_digest(snapshot: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(snapshot)).hexdigest()


def read_snapshot(
    *,
    engine: Engine,
    decision_id: int,
    issuer: User | None,
    form: MemoForm,
    now: datetime | None = None,
) -> dict[str, Any]:
    """``take_snapshot`` in a session and transaction of its own, read-only."""
    with consistent_read(engine) as session:
        return take_snapshot(
            session=session, decision_id=decision_id, issuer=issuer, form=form, now=now
        )


def take_snapshot(
    *,
    session: Session,
    decision_id: int,
    issuer: User | None,
    form: MemoForm,
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
    members = list_members(session=session, decision_id=decision.id)
    names = {u.id: u.display_name for _, u in members}
    analyst_ids = [u.id for m, u in members if m.role == Role.ANALYST.value]
    labels = {
        uid: (names[uid] if decision.name_analysts_in_memo else f"Analyst {analyst_letter(k)}")
        for k, uid in enumerate(analyst_ids)
    }
    all_options = list_options(session=session, decision_id=decision.id, include_withdrawn=True)
    criteria = matrix.criteria
    generated = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)

    rows = []
    for o in matrix.options:
        cells = []
        for c in criteria:
            cell = matrix.cells[(o.id, c.id)]
            cells.append(
                {
                    "criterion_id": c.id,
                    "value": _f(cell.value),
                    "std": _f(cell.std),
                    "min": _f(cell.min),
                    "max": _f(cell.max),
                    "count": cell.count,
                    "contested": cell.contested,
                    "contribution": _f(matrix.contributions.get((o.id, c.id))),
                }
            )
        rows.append(
            {
                "option_id": o.id,
                "total": _f(matrix.totals.get(o.id)),
                "rank": matrix.ranks.get(o.id),
                "completeness": _f(matrix.completeness.get(o.id)),
                "cells": cells,
            }
        )

    disagreements = []
    for o in matrix.options:
        for c in criteria:
            cell = matrix.cells[(o.id, c.id)]
            if not cell.contested:
                continue
            disagreements.append(
                {
                    "option_id": o.id,
                    "criterion_id": c.id,
                    "value": _f(cell.value),
                    "min": _f(cell.min),
                    "max": _f(cell.max),
                    "scores": [
                        {
                            "analyst": labels.get(s.analyst_id, "Analyst"),
                            "value": _f(s.value),
                            "not_applicable": s.not_applicable,
                            "rationale": s.rationale,
                        }
                        for s in cell.scores or []
                    ],
                }
            )
    rank_of = {o.id: matrix.ranks.get(o.id) for o in matrix.options}
    position = {o.id: i for i, o in enumerate(matrix.options)}
    disagreements.sort(
        key=lambda d: (
            -((d["max"] or 0) - (d["min"] or 0)),
            rank_of[d["option_id"]] or 10**6,
            position[d["option_id"]],
        )
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
        },
        "round": {
            "number": matrix.round.number,
            "revealed": matrix.revealed,
            "rounds": len(matrix.rounds),
        },
        "revision": matrix.revision,
        "method": matrix.method,
        "analysts": [labels[uid] for uid in analyst_ids],
        "options": [
            {
                "id": o.id,
                "title": o.title,
                "summary": o.summary,
                "description": o.description,
                "status": o.status,
                "position": i,
            }
            for i, o in enumerate(all_options)
        ],
        "criteria": [
            {
                "id": c.id,
                "code": f"C{j + 1}",
                "name": c.name,
                "description": c.description,
                "direction": c.direction,
                "weight": _f(c.weight),
                "share": _f(matrix.weights[j]) if matrix.weights else None,
            }
            for j, c in enumerate(criteria)
        ],
        "matrix": {"rows": rows},
        "disagreements": disagreements,
        "robustness": (
            robustness_section(session=session, decision=decision, viewer_id=viewer_id)
            if "robustness" in form.sections
            else None
        ),
    }


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


# --------------------------------------------------------------------------------------------
# Robustness: the decision page's figures (app.services.robustness), fixed seed
# --------------------------------------------------------------------------------------------


def robustness_section(
    *, session: Session, decision: Decision, viewer_id: int
) -> dict[str, Any] | None:
    """Chance of ranking first and weight sensitivity, with the robustness panel's default
    settings (so the memo and the decision page agree); seeded, hence reproducible."""
    r = robustness.compute(
        session=session, decision=decision, viewer_id=viewer_id, role=Role.FACILITATOR
    )
    if r is None:
        return None
    if not r.ready:
        return {"ready": False, "note": r.note}
    sensitivity = sorted(
        r.sensitivity,
        key=lambda c: (c.smallest_change is None, c.smallest_change or 0.0, c.name),
    )
    tie = [x for x in r.sentences if x not in {c.sentence for c in r.sensitivity}]
    return {
        "ready": True,
        "note": None,
        "samples": r.settings.samples,
        "seed": r.settings.seed,
        "weights": r.settings.weights_described,
        "first": [{"option_id": o.option_id, "p": _f(o.first)} for o in r.by_first],
        "headline": r.most_sensitive,
        "ties": tie,
        "sensitivity": [
            {
                "criterion_id": c.criterion_id,
                "smallest_change": _f(c.smallest_change),
                "text": c.sentence,
            }
            for c in sensitivity
        ],
        "methods": {
            "weighted_sum_top": r.weighted_sum_top,
            "topsis_top": r.topsis_top,
            "agree": r.topsis_agrees,
            "topsis_excluded": r.topsis_excluded,
        },
    }


# --------------------------------------------------------------------------------------------
# Issue, list, read
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    snapshot: dict[str, Any]
    snapshot_sha256: str
    html: str
    pdf: bytes


def render_snapshot(
    snapshot: dict[str, Any], *, timeout: float, cache_dir: str | None = None
) -> Rendered:
    digest = snapshot_digest(snapshot)
    html = memo.render_html({**snapshot, "snapshot_sha256": digest})
    try:
        pdf = memo.render_pdf(html, timeout=timeout, cache_dir=cache_dir)
    except memo.MemoRenderTimeout as exc:
        raise MemoRenderFailed(
            f"{exc} Nothing was issued. Try again; if it keeps happening, leave out the "
            "optional sections or ask an administrator to raise MEMO_RENDER_TIMEOUT."
        ) from None
    except memo.MemoRenderError as exc:
        raise MemoRenderFailed(
            f"The memo could not be rendered ({exc}). Nothing was issued."
        ) from None
    return Rendered(snapshot, digest, html, pdf)


def preview_html(snapshot: dict[str, Any], *, asset_base: str) -> str:
    return memo.render_html(
        {**snapshot, "snapshot_sha256": snapshot_digest(snapshot)}, asset_base=asset_base
    )


def store_memo(*, session: Session, rendered: Rendered) -> Memo:
    snapshot = rendered.snapshot
    memo_row = Memo(
        decision_id=snapshot["decision"]["id"],
        round_number=snapshot["round"]["number"],
        revision_id=snapshot["revision"] or None,
        issued_by=snapshot["issuer"]["id"],
        issued_at=datetime.fromisoformat(snapshot["generated_at"]),
        subject=snapshot["memo"]["subject"],
        pdf=rendered.pdf,
        size=len(rendered.pdf),
        sha256=hashlib.sha256(rendered.pdf).hexdigest(),
        snapshot=snapshot,
        snapshot_sha256=rendered.snapshot_sha256,
        app_version=snapshot["app_version"],
    )
    session.add(memo_row)
    session.flush()
    return memo_row


def issue_memo(
    *,
    engine: Engine,
    decision_id: int,
    issuer: User,
    form: MemoForm,
    timeout: float,
    cache_dir: str | None = None,
) -> Memo:
    """Snapshot (one read transaction), render (time-bound), store (one write transaction)."""
    snapshot = read_snapshot(engine=engine, decision_id=decision_id, issuer=issuer, form=form)
    rendered = render_snapshot(snapshot, timeout=timeout, cache_dir=cache_dir)
    with unit_of_work(engine=engine) as session:
        return store_memo(session=session, rendered=rendered)


def list_memos(*, session: Session, decision_id: int) -> list[Memo]:
    """Newest first, without loading the PDFs or snapshots."""
    stmt = (
        select(Memo)
        .where(Memo.decision_id == decision_id)
        .options(defer(Memo.pdf), defer(Memo.snapshot))  # type: ignore[arg-type]
        .order_by(Memo.id.desc())  # type: ignore[union-attr]
    )
    return list(session.scalars(stmt))


def issuer_names(*, session: Session, memos: list[Memo]) -> dict[int, str]:
    ids = {m.issued_by for m in memos if m.issued_by is not None}
    if not ids:
        return {}
    users = session.scalars(select(User).where(User.id.in_(ids)))  # type: ignore[union-attr]
    return {u.id: u.display_name for u in users if u.id is not None}


@dataclass(frozen=True)
class MemoFile:
    id: int
    decision_id: int
    pdf: bytes
    sha256: str
    issued_at: datetime


def memo_file(*, session: Session, decision_id: int, memo_id: int) -> MemoFile:
    row = session.execute(
        select(Memo.pdf, Memo.sha256, Memo.issued_at).where(
            Memo.id == memo_id, Memo.decision_id == decision_id
        )
    ).first()
    if row is None:
        raise NotFound("That memo does not exist in this decision.")
    return MemoFile(memo_id, decision_id, bytes(row.pdf), row.sha256, row.issued_at)


def memo_snapshot(
    *, session: Session, decision_id: int, memo_id: int
) -> tuple[dict[str, Any], str]:
    row = session.execute(
        select(Memo.snapshot, Memo.snapshot_sha256).where(
            Memo.id == memo_id, Memo.decision_id == decision_id
        )
    ).first()
    if row is None:
        raise NotFound("That memo does not exist in this decision.")
    return row.snapshot, row.snapshot_sha256
