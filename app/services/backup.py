"""A whole instance in one file and back: ``flask --app app export --all`` / ``import``.

The backup holds every row a restore needs, with its id: every user account **with its
password hash** (so people log in with their old passwords after a restore: the file is a
secret), every decision with everything the per-decision export carries (members, options,
criteria, rounds, "done" marks, scores, comments, every revision, every issued memo with its
PDF bytes and Word copy in base64) plus its change numbers, and the whole audit log. It is read in one transaction,
so it is one consistent state of the database even while people work.

Not in the file: the computed group views (``group_view_cache``, rebuilt on demand), the
failed-login counters (``login_throttle``, which expire within the hour), the one-time
set-password links (``password_link``: short-lived secrets; an administrator makes new ones)
and the notifications (``notification``: reminders of events the restored history still
holds).

A restore loads the file into an EMPTY, migrated database: one that holds any user, decision
or audit event is refused before anything is written. Every decision's rows are checked as
the per-decision import checks them (see :mod:`app.services.transfer`: each row belongs to its
own decision and points only at rows of that decision or at the file's users); audit events
may name only the file's users and decisions; no id may appear twice; memo bytes must match
their SHA-256. Everything is checked before the first row is written. On PostgreSQL the id
sequences are moved past the restored ids.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, true
from sqlmodel import Session, SQLModel

from app.config import VERSION
from app.db.changes import ensure_change_numbers
from app.db.models import AuditEvent, Decision, DecisionChange, User
from app.db.sequences import advance_sequences
from app.services.transfer import (
    SECTIONS,
    UNUSABLE_PASSWORD,
    Row,
    TransferError,
    check_memo_bytes,
    check_references,
    decision_sections,
    dump_rows,
    iso,
    rows_for,
    section_rows,
    table_of,
)

FORMAT = "options-matrix/instance"
FORMAT_VERSION = 1
# Tables a restore writes, in foreign-key order: the target must hold none of their rows.
RESTORED: list[type[SQLModel]] = [
    User,
    Decision,
    *(model for _, model in SECTIONS),
    DecisionChange,
    AuditEvent,
]


def export_instance(*, session: Session) -> dict[str, Any]:
    """Every user, decision and audit event as a JSON-ready dict (see the module docstring).

    Run it in one read transaction (``consistent_read``) so the file is one state.
    """
    decisions_table = table_of(Decision)
    changes = {
        row["decision_id"]: {"number": row["number"], "structure_number": row["structure_number"]}
        for row in dump_rows(session, table_of(DecisionChange), true())
    }
    decisions = []
    for decision in dump_rows(session, decisions_table, true()):
        entry = decision_sections(session, decision)
        entry["change"] = changes.get(decision["id"])
        decisions.append(entry)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": iso(datetime.now(UTC)),
        "app_version": VERSION,
        "users": dump_rows(session, table_of(User), true()),
        "decisions": decisions,
        "audit_events": dump_rows(session, table_of(AuditEvent), true()),
    }


def is_instance_backup(data: object) -> bool:
    return isinstance(data, dict) and data.get("format") == FORMAT


def counts(data: dict[str, Any]) -> dict[str, int]:
    """What a backup holds, for the messages of the command line."""
    decisions = data.get("decisions", [])
    return {
        "users": len(data.get("users", [])),
        "decisions": len(decisions),
        "revisions": sum(len(d.get("revisions", [])) for d in decisions),
        "memos": sum(len(d.get("memos", [])) for d in decisions),
        "audit events": len(data.get("audit_events", [])),
    }


def _require_empty(session: Session) -> None:
    held = {
        table_of(model).name: int(
            session.scalar(select(func.count()).select_from(table_of(model))) or 0
        )
        for model in RESTORED
    }
    taken = {name: n for name, n in held.items() if n}
    if taken:
        listed = ", ".join(f"{n} {name} rows" for name, n in taken.items())
        raise TransferError(
            f"The target database is not empty (it holds {listed}); a backup restores only "
            "into an empty, migrated database (`flask --app app init-db` on a new one). "
            "Nothing was imported."
        )


def _users(data: dict[str, Any]) -> tuple[list[Row], list[Row]]:
    """(the file's user rows as written, the rows to insert)."""
    written = section_rows(data, "users")
    for row in written:
        if not isinstance(row.get("id"), int) or not isinstance(row.get("username"), str):
            raise TransferError("users: every user needs an integer id and a username.")
    if len({r["id"] for r in written}) != len(written) or len(
        {r["username"] for r in written}
    ) != len(written):
        raise TransferError("users: two users share an id or a username.")
    filled = [
        row
        | {
            "password_hash": row.get("password_hash") or UNUSABLE_PASSWORD,
            "session_version": row.get("session_version") or 1,
        }
        for row in written
    ]
    return written, rows_for(table_of(User), filled)


def _change(entry: Row, decision_id: int) -> Row | None:
    change = entry.get("change")
    if change is None:
        return None
    numbers = (
        (change.get("number"), change.get("structure_number"))
        if isinstance(change, dict)
        else (None, None)
    )
    if not all(isinstance(n, int) and n >= 0 for n in numbers):
        raise TransferError(
            f"Decision {decision_id}: its change numbers must be whole numbers; "
            "nothing was imported."
        )
    return {"decision_id": decision_id, "number": numbers[0], "structure_number": numbers[1]}


def import_instance(*, session: Session, data: object) -> dict[str, int]:
    """Restore a backup (parsed JSON) into an empty database; returns what it restored.

    A :class:`TransferError` leaves the database as it was.
    """
    if not is_instance_backup(data) or not isinstance(data, dict):
        raise TransferError(f"This is not an Options Matrix backup (format {FORMAT!r}).")
    if data.get("format_version") != FORMAT_VERSION:
        raise TransferError(
            f"This backup has format version {data.get('format_version')!r}; this version "
            f"of Options Matrix reads version {FORMAT_VERSION}."
        )
    _require_empty(session)
    written_users, user_rows = _users(data)
    user_ids = {row["id"] for row in written_users}
    decision_rows: list[Row] = []
    change_rows: list[Row] = []
    tables: dict[str, list[Row]] = {section: [] for section, _ in SECTIONS}
    for entry in section_rows(data, "decisions"):
        if not isinstance(entry.get("decision"), dict):
            raise TransferError("decisions: every entry needs its decision object.")
        decision = rows_for(table_of(Decision), [entry["decision"]])[0]
        sections = {
            section: rows_for(table_of(model), section_rows(entry, section))
            for section, model in SECTIONS
        }
        check_memo_bytes(sections["memos"])
        check_references(decision, written_users, sections)
        decision_rows.append(decision)
        change = _change(entry, int(decision["id"]))
        if change is not None:
            change_rows.append(change)
        for section, rows in sections.items():
            tables[section].extend(rows)
    decision_ids = {int(row["id"]) for row in decision_rows}
    _unique_ids("decisions", decision_rows)
    for section, model in SECTIONS:
        if len(table_of(model).primary_key.columns) == 1:
            _unique_ids(section, tables[section])
    events = rows_for(table_of(AuditEvent), section_rows(data, "audit_events"))
    _unique_ids("audit_events", events)
    for event in events:
        if event.get("actor_id") not in user_ids | {None}:
            raise TransferError(f"audit_events row {event['id']}: its actor is not in the file.")
        if event.get("decision_id") not in decision_ids | {None}:
            raise TransferError(f"audit_events row {event['id']}: its decision is not in the file.")

    inserts: list[tuple[type[SQLModel], list[Row]]] = [
        (User, user_rows),
        (Decision, decision_rows),
        *((model, tables[section]) for section, model in SECTIONS),
        (DecisionChange, change_rows),
        (AuditEvent, events),
    ]
    for model, rows in inserts:
        for start in range(0, len(rows), 1000):
            session.execute(table_of(model).insert(), rows[start : start + 1000])
    ensure_change_numbers(session, sorted(decision_ids))
    advance_sequences(session)
    return counts(data)


def _unique_ids(section: str, rows: list[Row]) -> None:
    repeated = [i for i, n in Counter(row.get("id") for row in rows).items() if n > 1]
    if repeated:
        raise TransferError(
            f"{section}: id {repeated[0]} appears twice in the file; nothing was imported."
        )
