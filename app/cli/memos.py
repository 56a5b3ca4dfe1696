"""``flask --app app render-memo <decision-id> -o memo.pdf [--html]``: a memo for automation.

Renders the decision's current matrix exactly as the app would issue it, but stores nothing:
issue memos from the app to archive them in the decision's memo register. The memo's words
and print templates are the application's (its :class:`~app.services.memos.MemoPrinter`, set
up with the web pages), so the command prints what the app would.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlmodel import col

from app.adapters.pdf import PDF_ASSET_BASE
from app.db.engine import get_engine
from app.db.models import Decision, Role, User
from app.db.uow import unit_of_work
from app.domain.errors import ServiceError
from app.services import memos as memo_service
from app.services.matrix import build_matrix


@click.command("render-memo")
@click.argument("decision_id", type=int)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="File to write.",
)
@click.option(
    "--html", "as_html", is_flag=True, help="Write the HTML that is rendered, not the PDF."
)
@click.option(
    "--for",
    "memorandum_for",
    default="The decision-maker",
    show_default=True,
    help="MEMORANDUM FOR line.",
)
@click.option("--from", "from_line", default=None, help="FROM line (default: --by's name).")
@click.option("--subject", default=None, help="SUBJECT line (default: from the decision).")
@click.option(
    "--bottom-line",
    default=None,
    help="Recommendation in Markdown (default: drafted from the ranking).",
)
@click.option(
    "--section",
    "sections",
    multiple=True,
    type=click.Choice(memo_service.SECTIONS),
    help="Optional section to include (repeatable; default: all).",
)
@click.option(
    "--by",
    "username",
    default=None,
    help="Username recorded as the memo's author in its provenance.",
)
@with_appcontext
def render_memo_command(
    decision_id: int,
    output: Path,
    as_html: bool,
    memorandum_for: str,
    from_line: str | None,
    subject: str | None,
    bottom_line: str | None,
    sections: tuple[str, ...],
    username: str | None,
) -> None:
    """Render a decision memo to OUTPUT (PDF, or the HTML with --html). Nothing is stored."""
    printer = current_app.extensions.get(memo_service.PRINTER_EXTENSION)
    if not isinstance(printer, memo_service.MemoPrinter):
        raise click.ClickException("This application does not print memos.")
    with unit_of_work(write=False) as session:
        decision = session.get(Decision, decision_id)
        if decision is None:
            raise click.ClickException(f"Decision {decision_id} does not exist.")
        issuer = None
        if username:
            issuer = session.scalar(select(User).where(col(User.username) == username))
            if issuer is None:
                raise click.ClickException(f"No user named {username!r}.")
            session.expunge(issuer)
        matrix = build_matrix(
            session=session, decision=decision, viewer_id=0, role=Role.FACILITATOR
        )
        author = issuer or User(username="", display_name="Options Matrix", password_hash="")
        defaults = memo_service.default_form(decision, author, matrix)
    try:
        form = memo_service.parse_form(
            {
                "memorandum_for": memorandum_for,
                "from_line": from_line or defaults["from_line"],
                "subject": subject or defaults["subject"],
                "bottom_line": bottom_line or defaults["bottom_line"] or "See the analysis below.",
                "sections": list(sections) if sections else list(memo_service.SECTIONS),
            }
        )
        snapshot = memo_service.read_snapshot(
            engine=get_engine(),
            decision_id=decision_id,
            issuer=issuer,
            form=form,
            printer=printer,
        )
        if as_html:
            html = memo_service.preview_html(snapshot, printer=printer, asset_base=PDF_ASSET_BASE)
            output.write_text(html, encoding="utf-8")
            click.echo(f"Wrote {output} (HTML, {len(html.encode()):,} bytes).")
            return
        rendered = memo_service.render_snapshot(
            snapshot,
            printer=printer,
            timeout=float(current_app.config.get("MEMO_RENDER_TIMEOUT", 60)),
            cache_dir=os.path.join(current_app.instance_path, "cache"),
        )
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    output.write_bytes(rendered.pdf)
    click.echo(
        f"Wrote {output} ({len(rendered.pdf):,} bytes, SHA-256 "
        f"{hashlib.sha256(rendered.pdf).hexdigest()}; snapshot {rendered.snapshot_sha256})."
    )
