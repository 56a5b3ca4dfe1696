"""``flask export`` and ``flask import``: a whole decision as JSON, in and out."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from app.db.uow import unit_of_work
from app.services.transfer import TransferError, dumps, export_decision, import_decision


@click.command("export")
@click.argument("decision_id", type=int)
@click.option(
    "-o",
    "--output",
    "output",
    default="-",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="File to write (default: standard output).",
)
@click.option(
    "--include-password-hashes",
    is_flag=True,
    help="Also carry the users' password hashes (treat the file as a secret).",
)
@with_appcontext
def export_command(decision_id: int, output: str, include_password_hashes: bool) -> None:
    """Write a decision — everything, revisions and memos included — as JSON."""
    with unit_of_work(write=False) as session:
        try:
            data = export_decision(
                session=session,
                decision_id=decision_id,
                include_password_hashes=include_password_hashes,
            )
        except TransferError as exc:
            raise click.ClickException(str(exc)) from None
    payload = dumps(data)
    if output == "-":
        click.echo(payload, nl=False)
        return
    with open(output, "w", encoding="utf-8") as fh:
        fh.write(payload)
    click.echo(
        f"Exported decision {decision_id}: {len(data['revisions'])} revisions, "
        f"{len(data['memos'])} memos → {output}",
        err=True,
    )


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@with_appcontext
def import_command(path: str) -> None:
    """Load a decision exported with `export` into a database that does not hold it yet."""
    with click.open_file(path, encoding="utf-8") as fh:
        try:
            data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{path} is not JSON: {exc}") from None
    try:
        with unit_of_work() as session:
            decision_id = import_decision(session=session, data=data)
    except TransferError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Imported decision {decision_id} with {len(data.get('revisions', []))} revisions and "
        f"{len(data.get('memos', []))} memos."
    )
    if any(not u.get("password_hash") for u in data.get("users", [])):
        click.echo("Imported accounts have no usable password until one is set.")
