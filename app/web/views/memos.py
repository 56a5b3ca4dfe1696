"""Decision memos: the register (all members), the issue form and preview (facilitators),
issuing, and downloads of the exact bytes issued. No route edits or deletes a memo.

Registering this blueprint also sets up memo printing for the application
(:func:`app.web.print.init_app`), which the ``render-memo`` command uses too.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from app.db.engine import get_engine
from app.domain.errors import InvalidInput, ServiceError
from app.domain.policy import Action
from app.services import memos as memo_service
from app.services.matrix import Matrix, build_matrix
from app.web import transaction
from app.web.access import Access, load_decision
from app.web.htmx import is_htmx, make_response
from app.web.params import int_arg
from app.web.presenters.memo import download_name
from app.web.print import DOCX_MIMETYPE, MEMO_PRINTER
from app.web.transaction import get_session

bp = Blueprint("memos", __name__, url_prefix="/decisions/<int:decision_id>/memos")


FRAME_CSP = (
    "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


@bp.get("")
def index(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id)
    memos = memo_service.list_memos(session=get_session(), decision_id=decision_id)
    issued = int_arg("issued")
    just_issued = next((m for m in memos if m.id == issued), None)
    # The PDF downloads by itself once, right after issuing; a reload only shows the notice.
    auto_download = just_issued is not None and session.pop("memo_download", None) == issued
    return render_template(
        "memos/index.html",
        access=access,
        decision=access.decision,
        memos=memos,
        issuers=memo_service.issuer_names(session=get_session(), memos=memos),
        just_issued=just_issued,
        auto_download=auto_download,
    )


@bp.get("/new")
def new(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.ISSUE_MEMO)
    matrix = _matrix(access)
    form = memo_service.default_form(access.decision, access.user, matrix)
    return _form_page(access, form, {}, refusal=_refusal(access, matrix))


@bp.post("/preview")
def preview(decision_id: int) -> ResponseReturnValue:
    """The memo's HTML as it will be rendered, for the preview frame; nothing is stored."""
    access = load_decision(decision_id, Action.ISSUE_MEMO)
    transaction.end_transaction()  # the snapshot reads in a transaction of its own
    try:
        form = memo_service.parse_form(_posted())
        snapshot = memo_service.read_snapshot(
            engine=get_engine(),
            decision_id=decision_id,
            issuer=access.user,
            form=form,
            printer=MEMO_PRINTER,
        )
    except ServiceError as exc:  # shown inside the preview frame
        return _framed(render_template("memos/preview_error.html", message=exc.message), exc.status)
    html = memo_service.preview_html(
        snapshot, printer=MEMO_PRINTER, asset_base=url_for("static", filename="")
    )
    return _framed(html, 200)


@bp.post("")
def issue(decision_id: int) -> ResponseReturnValue:
    access = load_decision(decision_id, Action.ISSUE_MEMO)
    transaction.end_transaction()  # no lock is held while the memo renders
    data = _posted()
    try:
        form = memo_service.parse_form(data)
        issued = memo_service.issue_memo(
            engine=get_engine(),
            decision_id=decision_id,
            issuer=access.user,
            form=form,
            printer=MEMO_PRINTER,
            timeout=float(current_app.config.get("MEMO_RENDER_TIMEOUT", 60)),
            cache_dir=os.path.join(current_app.instance_path, "cache"),
        )
    except ServiceError as exc:
        if not is_htmx():
            if isinstance(exc, InvalidInput):
                return _form_page(access, data, exc.errors, status=exc.status)
            raise
        # htmx swaps 422 answers: the form comes back with the message next to it.
        errors = exc.errors if isinstance(exc, InvalidInput) else {}
        message = None if isinstance(exc, InvalidInput) else exc.message
        body = render_template(
            "memos/_form.html",
            access=access,
            decision=access.decision,
            form=data,
            errors=errors,
            message=message,
            refusal=None,
        )
        return make_response(body, 422)
    session["memo_download"] = issued.id
    target = url_for("memos.index", decision_id=decision_id, issued=issued.id)
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)


@bp.get("/<int:memo_id>.pdf")
def download(decision_id: int, memo_id: int) -> ResponseReturnValue:
    """The bytes as issued, with their SHA-256 as ETag and digest header."""
    load_decision(decision_id)
    f = memo_service.memo_file(session=get_session(), decision_id=decision_id, memo_id=memo_id)
    return _issued_file(f, "application/pdf", "pdf")


@bp.get("/<int:memo_id>.docx")
def download_docx(decision_id: int, memo_id: int) -> ResponseReturnValue:
    """The memo's Word copy as issued, beside its PDF (404 with a reason for memos issued
    before Word copies were made)."""
    load_decision(decision_id)
    f = memo_service.memo_file(
        session=get_session(), decision_id=decision_id, memo_id=memo_id, docx=True
    )
    return _issued_file(f, DOCX_MIMETYPE, "docx")


def _issued_file(f: memo_service.MemoFile, mimetype: str, extension: str) -> Response:
    etag = f'"{f.sha256}"'
    if etag in request.headers.get("If-None-Match", ""):
        response = Response(status=304)
    else:
        response = Response(f.data, mimetype=mimetype)
        name = download_name(f.decision_id, f.title, f.number, f.issued_at, extension)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        digest = base64.b64encode(bytes.fromhex(f.sha256)).decode()
        response.headers["Repr-Digest"] = f"sha-256=:{digest}:"
    response.headers["ETag"] = etag
    # Kept by no browser on disk; the ETag still lets a client ask whether it changed.
    response.headers["Cache-Control"] = "private, no-store"
    # The register page starts the download from a hidden frame of ours.
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
    return response


@bp.get("/<int:memo_id>/snapshot.json")
def snapshot(decision_id: int, memo_id: int) -> ResponseReturnValue:
    """The data the memo was rendered from (its SHA-256 is printed in the memo)."""
    access = load_decision(decision_id)
    data, digest, number, issued = memo_service.memo_snapshot(
        session=get_session(), decision_id=decision_id, memo_id=memo_id
    )
    response = Response(memo_service.canonical_json(data), mimetype="application/json")
    name = download_name(decision_id, access.decision.title, number, issued, "json")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["ETag"] = f'"{digest}"'
    return response


# --------------------------------------------------------------------------------------------


def _posted() -> dict[str, Any]:
    data: dict[str, Any] = {
        k: request.form.get(k, "")
        for k in ("memorandum_for", "from_line", "subject", "bottom_line")
    }
    data["sections"] = request.form.getlist("sections")
    return data


def _matrix(access: Access) -> Matrix:
    return build_matrix(
        session=get_session(),
        decision=access.decision,
        viewer_id=access.user_id,
        role=access.role,
    )


def _refusal(access: Access, matrix: Matrix) -> str | None:
    try:
        memo_service.check_issuable(access.decision, matrix)
    except ServiceError as exc:
        return exc.message
    return None


def _form_page(
    access: Access,
    form: dict[str, Any],
    errors: dict[str, str],
    *,
    refusal: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    body = render_template(
        "memos/new.html",
        access=access,
        decision=access.decision,
        form=form,
        errors=errors,
        message=None,
        refusal=refusal,
    )
    return body, status


def _framed(html: str, status: int) -> Response:
    response = Response(html, status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = FRAME_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
