"""Issuing decision memos: snapshot → render → store, and reading issued memos back.

Issuing is three steps, none holding a write lock while WeasyPrint works:

1. ``take_snapshot`` reads everything the memo says in **one read transaction** (REPEATABLE
   READ on PostgreSQL; a WAL read snapshot on SQLite) into plain JSON-able data. The matrix
   part comes from :func:`app.services.matrix_data.matrix_data` — the same numbers the
   matrix page and the API show.
2. The snapshot is rendered to HTML by the caller's :class:`MemoPrinter` (the print
   templates belong to the web layer) and the HTML to PDF by ``app.adapters.pdf`` within a
   time bound.
3. ``store_memo`` writes the PDF bytes, their SHA-256 and the snapshot in one transaction.

A failed or overrunning render raises before step 3, so nothing is stored. Issued memos are
never changed or deleted (the database refuses UPDATE and DELETE on the table). Nothing here
commits: :func:`issue_memo` reads in ``consistent_read`` and stores in ``unit_of_work``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError, field_validator
from sqlalchemy import Engine, func, select
from sqlmodel import Field, Session, SQLModel, col

from app.adapters import pdf
from app.config import VERSION
from app.db.models import Decision, Memo, OptionRead, Role, User
from app.db.uow import consistent_read, unit_of_work
from app.domain import analysis
from app.domain.errors import InvalidInput, NotFound, ServiceError
from app.services import audit, robustness
from app.services.decisions import list_members
from app.services.group_views import group_views
from app.services.matrix import Matrix, analyst_letter, build_matrix, group_visible
from app.services.matrix_data import finite, matrix_data, snapshot_matrix
from app.services.options import list_options
from app.services.robustness import Robustness

SNAPSHOT_FORMAT = 1
SECTIONS = ("chart", "disagreements", "robustness")
"""Optional sections a facilitator may leave out; all others are always present."""
PRINTER_EXTENSION = "options_matrix.memo_printer"
"""Where an application keeps its :class:`MemoPrinter` (``app.extensions``)."""
BOTTOM_LINE_MAX = 10_000
LINE_MAX = 300

# What a memo's snapshot records of each option (its list position is the snapshot's own).
SNAPSHOT_OPTION_FIELDS = {"id", "title", "summary", "description", "status"}


class MemoRefused(ServiceError):
    """The decision's state does not allow a memo now (e.g. a blind round not yet revealed)."""

    status = 409


class MemoRenderFailed(ServiceError):
    status = 503


@dataclass(frozen=True)
class MemoPrinter:
    """A memo's words and layout, owned by the web layer: ``robustness_section`` words the
    figures for the snapshot (which keeps the words, so a memo always reads the same);
    ``render_html(snapshot, asset_base)`` renders a snapshot with its ``snapshot_sha256``."""

    robustness_section: Callable[[Robustness | None], dict[str, Any] | None]
    render_html: Callable[[dict[str, Any], str], str]


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
        unknown = set(value) - set(SECTIONS)
        if unknown:
            raise ValueError(f"unknown section {sorted(unknown)[0]!r}")
        return [s for s in SECTIONS if s in value]


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
        "sections": list(SECTIONS),
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
    evaluation = robustness.policy_evaluation(matrix)
    if evaluation is not None:
        follow_policy(part["rows"], evaluation)

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
            "missing_policy": decision.missing_policy,
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
        "robustness": (
            printer.robustness_section(
                robustness.compute(
                    session=session,
                    decision=decision,
                    viewer_id=viewer_id,
                    role=Role.FACILITATOR,
                )
            )
            if "robustness" in form.sections
            else None
        ),
    }


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


@dataclass(frozen=True)
class Rendered:
    snapshot: dict[str, Any]
    snapshot_sha256: str
    html: str
    pdf: bytes


def with_digest(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot as the memo prints it: with its own SHA-256."""
    return {**snapshot, "snapshot_sha256": snapshot_digest(snapshot)}


def preview_html(snapshot: dict[str, Any], *, printer: MemoPrinter, asset_base: str) -> str:
    """The memo's HTML as it will be rendered, its assets found under ``asset_base``."""
    return printer.render_html(with_digest(snapshot), asset_base)


def render_snapshot(
    snapshot: dict[str, Any],
    *,
    printer: MemoPrinter,
    timeout: float,
    cache_dir: str | None = None,
) -> Rendered:
    """HTML, then the PDF within ``timeout`` seconds, or :class:`MemoRenderFailed`."""
    printed = with_digest(snapshot)
    html = printer.render_html(printed, pdf.PDF_ASSET_BASE)
    try:
        document = pdf.render_pdf(html, timeout=timeout, cache_dir=cache_dir)
    except pdf.MemoRenderTimeout as exc:
        raise MemoRenderFailed(
            f"{exc} Nothing was issued. Try again; if it keeps happening, leave out the "
            "optional sections or ask an administrator to raise MEMO_RENDER_TIMEOUT."
        ) from None
    except pdf.MemoRenderError as exc:
        raise MemoRenderFailed(
            f"The memo could not be rendered ({exc}). Nothing was issued."
        ) from None
    return Rendered(snapshot, printed["snapshot_sha256"], html, document)


def store_memo(*, session: Session, rendered: Rendered) -> Memo:
    snapshot = rendered.snapshot
    decision_id = snapshot["decision"]["id"]
    last = session.execute(
        select(func.coalesce(func.max(col(Memo.number)), 0)).where(
            col(Memo.decision_id) == decision_id
        )
    ).scalar_one()
    memo_row = Memo(
        decision_id=decision_id,
        number=int(last or 0) + 1,
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
    audit.record(
        session=session,
        kind=audit.Kind.MEMO_ISSUED,
        actor_id=memo_row.issued_by,
        decision_id=memo_row.decision_id,
        details={
            "memo": memo_row.id,
            "subject": memo_row.subject,
            "round": memo_row.round_number,
            "sha256": memo_row.sha256,
        },
    )
    return memo_row


def issue_memo(
    *,
    engine: Engine,
    decision_id: int,
    issuer: User,
    form: MemoForm,
    printer: MemoPrinter,
    timeout: float,
    cache_dir: str | None = None,
) -> Memo:
    """Snapshot (one read transaction), render (time-bound), store (one write transaction)."""
    snapshot = read_snapshot(
        engine=engine, decision_id=decision_id, issuer=issuer, form=form, printer=printer
    )
    rendered = render_snapshot(snapshot, printer=printer, timeout=timeout, cache_dir=cache_dir)
    with unit_of_work(engine=engine) as session:
        return store_memo(session=session, rendered=rendered)


@dataclass(frozen=True)
class MemoEntry:
    """One line of a decision's memo register (no PDF, no snapshot)."""

    id: int
    subject: str
    issued_at: datetime
    issued_by: int | None
    round_number: int
    revision_id: int | None
    size: int
    sha256: str


def list_memos(*, session: Session, decision_id: int) -> list[MemoEntry]:
    """Newest first, without loading the PDFs or snapshots."""
    rows = session.execute(
        select(
            col(Memo.id),
            col(Memo.subject),
            col(Memo.issued_at),
            col(Memo.issued_by),
            col(Memo.round_number),
            col(Memo.revision_id),
            col(Memo.size),
            col(Memo.sha256),
        )
        .where(col(Memo.decision_id) == decision_id)
        .order_by(col(Memo.id).desc())
    )
    return [MemoEntry(*row) for row in rows]


def issuer_names(*, session: Session, memos: list[MemoEntry]) -> dict[int, str]:
    ids = {m.issued_by for m in memos if m.issued_by is not None}
    if not ids:
        return {}
    users = session.scalars(select(User).where(col(User.id).in_(ids)))
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
        select(col(Memo.pdf), col(Memo.sha256), col(Memo.issued_at)).where(
            col(Memo.id) == memo_id, col(Memo.decision_id) == decision_id
        )
    ).first()
    if row is None:
        raise NotFound("That memo does not exist in this decision.")
    return MemoFile(memo_id, decision_id, bytes(row.pdf), row.sha256, row.issued_at)


def memo_snapshot(
    *, session: Session, decision_id: int, memo_id: int
) -> tuple[dict[str, Any], str]:
    row = session.execute(
        select(col(Memo.snapshot), col(Memo.snapshot_sha256)).where(
            col(Memo.id) == memo_id, col(Memo.decision_id) == decision_id
        )
    ).first()
    if row is None:
        raise NotFound("That memo does not exist in this decision.")
    return row.snapshot, row.snapshot_sha256
