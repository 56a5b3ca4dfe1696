"""Issuing decision memos: snapshot → render → store, and reading issued memos back.

Issuing is three steps, none holding a write lock while WeasyPrint works:

1. ``take_snapshot`` (:mod:`app.services.memo_snapshot`) reads everything the memo says in
   **one read transaction** (REPEATABLE READ on PostgreSQL; a WAL read snapshot on SQLite)
   into plain JSON-able data, including the number the memo will carry.
2. The snapshot is rendered to HTML by the caller's :class:`MemoPrinter` (the print
   templates belong to the web layer) and the HTML to PDF by ``app.adapters.pdf`` within a
   time bound.
3. ``store_memo`` locks the decision's row and writes the PDF bytes (and the Word copy),
   their SHA-256 and the snapshot in one transaction. Memos count from 1 per decision; if
   another memo took the number meanwhile, the memo is rendered again under the next one.

A failed or overrunning render raises before step 3, so nothing is stored. Issued memos are
never changed or deleted (the database refuses UPDATE and DELETE on the table). Nothing here
commits: :func:`issue_memo` reads in ``consistent_read`` and stores in ``unit_of_work``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError, field_validator
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col

from app.adapters import pdf
from app.db.models import Decision, Memo, User
from app.db.uow import unit_of_work
from app.domain.errors import InvalidInput, NotFound, ServiceError
from app.services import audit, notifications
from app.services.matrix import Matrix
from app.services.memo_snapshot import (
    SNAPSHOT_FORMAT,
    MemoRefused,
    check_issuable,
    next_number,
    read_snapshot,
    take_snapshot,
)
from app.services.permissions import lock_decision
from app.services.robustness import Robustness

__all__ = [
    "SNAPSHOT_FORMAT",
    "MemoRefused",
    "check_issuable",
    "read_snapshot",
    "take_snapshot",
]

SECTIONS = ("chart", "disagreements", "robustness")
"""Optional sections a facilitator may leave out; all others are always present."""
PRINTER_EXTENSION = "options_matrix.memo_printer"
"""Where an application keeps its :class:`MemoPrinter` (``app.extensions``)."""
BOTTOM_LINE_MAX = 10_000
LINE_MAX = 300


class MemoRenderFailed(ServiceError):
    status = 503


@dataclass(frozen=True)
class MemoPrinter:
    """A memo's words and layout, owned by the web layer: ``robustness_section`` words the
    figures for the snapshot (which keeps the words, so a memo always reads the same);
    ``render_html(snapshot, asset_base)`` renders a snapshot with its ``snapshot_sha256``."""

    robustness_section: Callable[[Robustness | None], dict[str, Any] | None]
    render_html: Callable[[dict[str, Any], str], str]
    render_docx: Callable[[dict[str, Any], str], bytes] | None = None
    """``render_docx(snapshot, pdf_sha256)``: the Word copy of a snapshot (with its
    ``snapshot_sha256``) that goes with the PDF of that SHA-256; None: no Word copy."""


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


@dataclass(frozen=True)
class Rendered:
    snapshot: dict[str, Any]
    snapshot_sha256: str
    html: str
    pdf: bytes
    docx: bytes | None = None


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
    """HTML, then the PDF within ``timeout`` seconds, or :class:`MemoRenderFailed`; and the
    Word copy from the same printed snapshot when the printer makes one."""
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
    docx = None
    if printer.render_docx is not None:
        try:
            docx = printer.render_docx(printed, hashlib.sha256(document).hexdigest())
        except Exception as exc:  # a Word copy that cannot be made issues nothing
            raise MemoRenderFailed(
                f"The memo's Word copy could not be made ({type(exc).__name__}). "
                "Nothing was issued."
            ) from None
    return Rendered(snapshot, printed["snapshot_sha256"], html, document, docx)


class NumberTaken(Exception):
    """Another memo of the decision took the number the rendered memo carries."""


def store_memo(*, session: Session, rendered: Rendered) -> Memo:
    """Store the rendered memo under the number it carries. The decision's row is locked
    first, so two memos of one decision are numbered one after the other; if another memo
    took the number meanwhile, :class:`NumberTaken` (nothing is written)."""
    snapshot = rendered.snapshot
    decision_id = snapshot["decision"]["id"]
    lock_decision(session, decision_id)
    number = next_number(session=session, decision_id=decision_id)
    carried = snapshot["memo"].get("number")
    if carried is not None and carried != number:
        raise NumberTaken
    memo_row = Memo(
        decision_id=decision_id,
        number=number,
        round_number=snapshot["round"]["number"],
        revision_id=snapshot["revision"] or None,
        issued_by=snapshot["issuer"]["id"],
        issued_at=datetime.fromisoformat(snapshot["generated_at"]),
        subject=snapshot["memo"]["subject"],
        pdf=rendered.pdf,
        size=len(rendered.pdf),
        sha256=hashlib.sha256(rendered.pdf).hexdigest(),
        docx=rendered.docx,
        docx_sha256=None if rendered.docx is None else hashlib.sha256(rendered.docx).hexdigest(),
        snapshot=snapshot,
        snapshot_sha256=rendered.snapshot_sha256,
        app_version=snapshot["app_version"],
    )
    session.add(memo_row)
    try:
        session.flush()
    except IntegrityError:  # uq_memo_decision_number: numbered meanwhile after all
        raise NumberTaken from None
    audit.record(
        session=session,
        kind=audit.Kind.MEMO_ISSUED,
        actor_id=memo_row.issued_by,
        decision_id=memo_row.decision_id,
        details={
            "memo": memo_row.id,
            "number": memo_row.number,
            "subject": memo_row.subject,
            "round": memo_row.round_number,
            "sha256": memo_row.sha256,
        },
    )
    notifications.memo_issued(
        session,
        memo_row.decision_id,
        memo_row.id,
        memo_row.number,
        actor_id=memo_row.issued_by,
    )
    return memo_row


NUMBER_ATTEMPTS = 3


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
    """Snapshot (one read transaction), render (time-bound), store (one write transaction).

    The memo prints its own number, so when another memo of the decision is stored between
    the snapshot and the store, it is rendered again under the next number (a few times at
    most, then a refusal that says to try again)."""
    snapshot = read_snapshot(
        engine=engine, decision_id=decision_id, issuer=issuer, form=form, printer=printer
    )
    for _ in range(NUMBER_ATTEMPTS):
        rendered = render_snapshot(snapshot, printer=printer, timeout=timeout, cache_dir=cache_dir)
        try:
            with unit_of_work(engine=engine) as session:
                return store_memo(session=session, rendered=rendered)
        except NumberTaken:
            with unit_of_work(engine=engine, write=False) as session:
                number = next_number(session=session, decision_id=decision_id)
            snapshot = {**snapshot, "memo": {**snapshot["memo"], "number": number}}
    raise MemoRefused(
        "Other memos of this decision were being issued at the same moment. "
        "Nothing was issued; issue the memo again."
    )


@dataclass(frozen=True)
class MemoEntry:
    """One line of a decision's memo register (no PDF, no snapshot)."""

    id: int
    number: int
    subject: str
    issued_at: datetime
    issued_by: int | None
    round_number: int
    revision_id: int | None
    size: int
    sha256: str
    has_docx: bool


def list_memos(*, session: Session, decision_id: int) -> list[MemoEntry]:
    """Newest first, without loading the PDFs or snapshots."""
    rows = session.execute(
        select(
            col(Memo.id),
            col(Memo.number),
            col(Memo.subject),
            col(Memo.issued_at),
            col(Memo.issued_by),
            col(Memo.round_number),
            col(Memo.revision_id),
            col(Memo.size),
            col(Memo.sha256),
            col(Memo.docx_sha256).is_not(None),
        )
        .where(col(Memo.decision_id) == decision_id)
        .order_by(col(Memo.number).desc(), col(Memo.id).desc())
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
    """An issued memo's bytes (``data``: the PDF, or the Word copy) and what names them."""

    id: int
    decision_id: int
    number: int
    title: str
    data: bytes
    sha256: str
    issued_at: datetime

    @property
    def pdf(self) -> bytes:
        return self.data


def memo_file(*, session: Session, decision_id: int, memo_id: int, docx: bool = False) -> MemoFile:
    """The PDF as issued (or, with ``docx``, its Word copy: NotFound for memos issued
    without one), with the decision's title and the memo's number for its file name."""
    content = (col(Memo.docx), col(Memo.docx_sha256)) if docx else (col(Memo.pdf), col(Memo.sha256))
    row = session.execute(
        select(*content, col(Memo.number), col(Memo.issued_at), col(Decision.title))
        .join(Decision, col(Decision.id) == col(Memo.decision_id))
        .where(col(Memo.id) == memo_id, col(Memo.decision_id) == decision_id)
    ).first()
    if row is None:
        raise NotFound("That memo does not exist in this decision.")
    data, digest, number, issued_at, title = row
    if data is None or digest is None:
        raise NotFound(
            f"Memo {number} has no Word copy: it was issued before Word copies were made. "
            "Its PDF is the memo as issued."
        )
    return MemoFile(memo_id, decision_id, number, title, bytes(data), digest, issued_at)


def memo_snapshot(
    *, session: Session, decision_id: int, memo_id: int
) -> tuple[dict[str, Any], str, int, datetime]:
    """An issued memo's snapshot, its SHA-256, the memo's number and when it was issued."""
    row = session.execute(
        select(
            col(Memo.snapshot), col(Memo.snapshot_sha256), col(Memo.number), col(Memo.issued_at)
        ).where(col(Memo.id) == memo_id, col(Memo.decision_id) == decision_id)
    ).first()
    if row is None:
        raise NotFound("That memo does not exist in this decision.")
    return row.snapshot, row.snapshot_sha256, row.number, row.issued_at
