"""Downloads of the matrix as CSV and XLSX — current, or as of a change (``?revision=N``).

They hold what the viewer may see on the matrix page: in an unrevealed blind round, only the
viewer's own scores and no group values, totals or ranks.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response

from app.services import audit, history
from app.services.matrix import Matrix, build_matrix
from app.web.access import Access, load_decision
from app.web.params import int_arg, method_arg
from app.web.presenters import sheets
from app.web.transaction import get_session

bp = Blueprint("exports", __name__, url_prefix="/decisions/<int:decision_id>/export")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _matrix(access: Access, decision_id: int) -> tuple[Matrix, bool]:
    """The matrix the download holds, and whether it is a historical one."""
    db = get_session()
    method = method_arg()
    round_number = int_arg("round")
    revision = int_arg("revision")
    if revision is None:
        matrix = build_matrix(
            session=db,
            decision=access.decision,
            viewer_id=access.user_id,
            role=access.role,
            round_number=round_number,
            method=method,
        )
        return matrix, False
    _, matrix = history.matrix_at(
        session=db,
        decision=access.decision,
        revision=revision,
        viewer_id=access.user_id,
        role=access.role,
        round_number=round_number,
        method=method,
    )
    return matrix, True


def _filename(m: Matrix, historical: bool, ext: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", m.decision.title).strip("-").lower()[:60] or "decision"
    point = f"as-of-{m.revision}" if historical else f"round-{m.round.number}"
    return f"{slug}-{point}.{ext}"


def _record(access: Access, matrix: Matrix, historical: bool, file_format: str) -> None:
    """The export goes into the audit log (a write of its own: this request only reads)."""
    details: dict[str, object] = {"format": file_format, "round": matrix.round.number}
    if historical:
        details["revision"] = matrix.revision
    audit.record_alone(
        kind=audit.Kind.EXPORT,
        actor_id=access.user_id,
        decision_id=access.decision.id,
        details=details,
    )


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/matrix.csv")
def matrix_csv(decision_id: int) -> Response:
    access = load_decision(decision_id)
    matrix, historical = _matrix(access, decision_id)
    body = sheets.matrix_csv(matrix).encode("utf-8-sig")
    _record(access, matrix, historical, "csv")
    return _download(body, "text/csv", _filename(matrix, historical, "csv"))


@bp.get("/matrix.xlsx")
def matrix_xlsx(decision_id: int) -> Response:
    access = load_decision(decision_id)
    matrix, historical = _matrix(access, decision_id)
    body = sheets.matrix_xlsx(matrix, historical=historical)
    _record(access, matrix, historical, "xlsx")
    return _download(body, XLSX, _filename(matrix, historical, "xlsx"))
