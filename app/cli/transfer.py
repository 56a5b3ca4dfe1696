"""``flask export`` and ``flask import``: one decision, or the whole instance, as JSON."""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
from typing import Any

import click
from flask.cli import with_appcontext

from app.db.uow import consistent_read, unit_of_work
from app.services.backup import counts, export_instance, import_instance, is_instance_backup
from app.services.transfer import TransferError, dumps, export_decision, import_decision

GZIP_MAGIC = b"\x1f\x8b"


def _write_private(path: str, payload: str, *, compress: bool) -> None:
    """Write the file readable by its owner only (0600), whole or not at all: a temporary
    file beside it is renamed over it once complete."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".export-", dir=folder)  # created 0600
    try:
        with os.fdopen(fd, "wb") as raw:
            data = payload.encode("utf-8")
            raw.write(gzip.compress(data, mtime=0) if compress else data)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


@click.command("export")
@click.argument("decision_id", type=int, required=False)
@click.option(
    "--all",
    "whole",
    is_flag=True,
    help="Back up the whole instance: every user (with password hashes), decision, memo and "
    "the audit log.",
)
@click.option(
    "-o",
    "--output",
    "output",
    default=None,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="File to write (default: standard output; --all needs -o, `-o -` for standard "
    "output). Files are written with mode 0600.",
)
@click.option("--gzip", "compress", is_flag=True, help="Compress (implied by a .gz name).")
@click.option(
    "--include-password-hashes",
    is_flag=True,
    help="Also carry the users' password hashes (treat the file as a secret; --all always does).",
)
@with_appcontext
def export_command(
    decision_id: int | None,
    whole: bool,
    output: str | None,
    compress: bool,
    include_password_hashes: bool,
) -> None:
    """Write a decision (DECISION_ID) or, with --all, the whole instance as JSON."""
    if whole == (decision_id is not None):
        raise click.UsageError("Give either a DECISION_ID or --all.")
    if whole and output is None:
        raise click.UsageError(
            "A backup holds every password hash: name the file with -o FILE (or `-o -` to "
            "write it to standard output)."
        )
    data: dict[str, Any]
    try:
        if whole:
            with consistent_read() as session:
                data = export_instance(session=session)
        else:
            assert decision_id is not None
            with unit_of_work(write=False) as session:
                data = export_decision(
                    session=session,
                    decision_id=decision_id,
                    include_password_hashes=include_password_hashes,
                )
    except TransferError as exc:
        raise click.ClickException(str(exc)) from None
    payload = dumps(data)
    output = output or "-"
    compress = compress or output.endswith(".gz")
    if output == "-":
        if compress:
            sys.stdout.buffer.write(gzip.compress(payload.encode(), mtime=0))
        else:
            click.echo(payload, nl=False)
        return
    _write_private(output, payload, compress=compress)
    if whole:
        held = ", ".join(f"{n} {what}" for what, n in counts(data).items())
        click.echo(
            f"Backed up the whole instance: {held} → {output} (mode 0600; it holds password "
            "hashes: keep it as safe as the database).",
            err=True,
        )
        return
    click.echo(
        f"Exported decision {decision_id}: {len(data['revisions'])} revisions, "
        f"{len(data['memos'])} memos → {output}",
        err=True,
    )


def _read(path: str) -> object:
    with click.open_file(path, "rb") as fh:
        raw = fh.read()
    try:
        if raw[:2] == GZIP_MAGIC:
            raw = gzip.decompress(raw)
        return json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{path} is not JSON: {exc}") from None


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@with_appcontext
def import_command(path: str) -> None:
    """Load a decision exported with `export`, or restore a backup written by `export --all`
    into an empty database (gzip files are recognised)."""
    data = _read(path)
    if is_instance_backup(data):
        try:
            with unit_of_work() as session:
                restored = import_instance(session=session, data=data)
        except TransferError as exc:
            raise click.ClickException(str(exc)) from None
        held = ", ".join(f"{n} {what}" for what, n in restored.items())
        click.echo(f"Restored the whole instance: {held}.")
        return
    try:
        with unit_of_work() as session:
            decision_id = import_decision(session=session, data=data)
    except TransferError as exc:
        raise click.ClickException(str(exc)) from None
    assert isinstance(data, dict)
    click.echo(
        f"Imported decision {decision_id} with {len(data.get('revisions', []))} revisions and "
        f"{len(data.get('memos', []))} memos."
    )
    if any(not u.get("password_hash") for u in data.get("users", [])):
        click.echo("Imported accounts have no usable password until one is set.")
