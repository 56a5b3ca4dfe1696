"""Moving decisions in and out: a lossless JSON export/import, and the matrix as CSV and XLSX.

JSON (``flask --app app export <decision-id> -o FILE`` / ``flask --app app import FILE``)
---------------------------------------------------------------------------------------
One file holds one decision with everything stored about it: the decision, its members,
options, criteria, rounds, "done" marks, scores, every revision and every issued memo —
metadata, snapshot and the PDF bytes themselves (base64, checked against their SHA-256 on
import) — plus the user accounts it refers to. Row ids are kept, so revision numbers, the
ids inside score keys and memo snapshots, and the "as of" links stay valid.

Not exported: password hashes (pass ``--include-password-hashes`` to carry them; otherwise
imported accounts get an unusable password and must be given a new one) and each user's
session version (sessions do not travel). ``exported_at`` is the only field that differs
between two exports of the same data.

Import loads into a database that does not hold the decision yet — an empty one, or one
whose existing users match the file's by id *and* username. Anything else is refused before
a row is written.

The file is a full record for operators; it ignores blind-round visibility. The CSV and XLSX
downloads below are for members and show only what the viewer may see on the matrix.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, LargeBinary, Table, func, select, text
from sqlalchemy import Integer as SAInteger
from sqlmodel import Session

from app.config import VERSION
from app.db.models import (
    Criterion,
    Decision,
    Member,
    Memo,
    Option,
    Revision,
    Round,
    RoundCompletion,
    Score,
    User,
)

FORMAT = "options-matrix/decision"
FORMAT_VERSION = 1
UNUSABLE_PASSWORD = "!imported: set a new password"
USER_FIELDS = ("id", "username", "display_name", "is_admin", "created_at")

# (section in the file, table) in foreign-key order; memos and revisions last.
SECTIONS: list[tuple[str, Any]] = [
    ("members", Member),
    ("options", Option),
    ("criteria", Criterion),
    ("rounds", Round),
    ("round_completions", RoundCompletion),
    ("scores", Score),
    ("revisions", Revision),
    ("memos", Memo),
]


class TransferError(Exception):
    """The file cannot be imported; nothing was written."""


def _table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------
# Values <-> JSON
# --------------------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _dump_value(column: Any, value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, DateTime):
        return _iso(value)
    if isinstance(kind, LargeBinary):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(kind, Boolean):
        return bool(value)
    if isinstance(kind, Float):
        return float(value)
    return value


def _load_value(column: Any, value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value)
    if isinstance(kind, Boolean):
        return bool(value)
    if isinstance(kind, Float):
        return float(value)
    if isinstance(kind, JSON):
        return value
    if isinstance(kind, SAInteger):
        return int(value)
    return value


def _dump_rows(session: Session, table: Table, where: Any) -> list[dict[str, Any]]:
    order = list(table.primary_key.columns)
    rows = session.execute(select(table).where(where).order_by(*order)).mappings()
    return [{c.name: _dump_value(c, row[c.name]) for c in table.columns} for row in rows]


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def _user_ids(session: Session, decision_id: int) -> set[int]:
    ids: set[int] = set()
    queries = [
        select(Decision.created_by).where(Decision.id == decision_id),
        select(Member.user_id).where(Member.decision_id == decision_id),
        select(Option.created_by).where(Option.decision_id == decision_id),
        select(Round.opened_by).where(Round.decision_id == decision_id),
        select(Round.revealed_by).where(Round.decision_id == decision_id),
        select(RoundCompletion.analyst_id)
        .join(Round, Round.id == RoundCompletion.round_id)
        .where(Round.decision_id == decision_id),
        select(Score.analyst_id)
        .join(Round, Round.id == Score.round_id)
        .where(Round.decision_id == decision_id),
        select(Revision.actor_id).where(Revision.decision_id == decision_id).distinct(),
        select(Memo.issued_by).where(Memo.decision_id == decision_id),
    ]
    for query in queries:
        ids.update(int(v) for v in session.scalars(query) if v is not None)
    return ids


def export_decision(
    *, session: Session, decision_id: int, include_password_hashes: bool = False
) -> dict[str, Any]:
    """Everything about one decision as a JSON-ready dict (see the module docstring)."""
    decision_table = _table(Decision)
    decisions = _dump_rows(session, decision_table, decision_table.c.id == decision_id)
    if not decisions:
        raise TransferError(f"There is no decision {decision_id}.")
    round_ids = select(Round.id).where(Round.decision_id == decision_id)
    user_table = _table(User)
    fields = USER_FIELDS + (("password_hash",) if include_password_hashes else ())
    users = [
        {k: v for k, v in row.items() if k in fields}
        for row in _dump_rows(
            session, user_table, user_table.c.id.in_(sorted(_user_ids(session, decision_id)))
        )
    ]
    data: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": _iso(datetime.now(UTC)),
        "app_version": VERSION,
        "decision": decisions[0],
        "users": users,
    }
    for section, model in SECTIONS:
        table = _table(model)
        if "decision_id" in table.c:
            where = table.c.decision_id == decision_id
        else:
            where = table.c.round_id.in_(round_ids)
        data[section] = _dump_rows(session, table, where)
    return data


def dumps(data: dict[str, Any]) -> str:
    """Stable text: the same data always gives the same bytes."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


def _rows_for(table: Table, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        unknown = set(row) - set(table.c.keys())
        if unknown:
            raise TransferError(f"{table.name}: unknown fields {sorted(unknown)}.")
        out.append(
            {c.name: _load_value(c, row.get(c.name)) for c in table.columns if c.name in row}
        )
    return out


def _check_free(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    pk = list(table.primary_key.columns)
    if len(pk) != 1 or not rows:
        return
    ids = [row[pk[0].name] for row in rows]
    taken = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        taken += (
            session.scalar(select(func.count()).select_from(table).where(pk[0].in_(chunk))) or 0
        )
    if taken:
        raise TransferError(
            f"The database already holds {taken} of the file's {table.name} rows; "
            "import into an empty database."
        )


def import_decision(*, session: Session, data: dict[str, Any]) -> int:
    """Load an exported decision with its ids; returns the decision id. All or nothing."""
    if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        raise TransferError(
            f"This is not an Options Matrix decision export (format {FORMAT!r} version "
            f"{FORMAT_VERSION})."
        )
    users = _table(User)
    new_users = []
    for row in data.get("users", []):
        existing = session.execute(
            select(users.c.id, users.c.username).where(
                (users.c.id == row["id"]) | (users.c.username == row["username"])
            )
        ).all()
        if any((uid, name) != (row["id"], row["username"]) for uid, name in existing):
            raise TransferError(
                f"User {row['username']!r} (id {row['id']}) clashes with an existing account; "
                "import into an empty database."
            )
        if not existing:
            new_users.append(
                row
                | {
                    "password_hash": row.get("password_hash") or UNUSABLE_PASSWORD,
                    "session_version": 1,
                }
            )
    decision_table = _table(Decision)
    decision_rows = _rows_for(decision_table, [data["decision"]])
    _check_free(session, decision_table, decision_rows)
    sections = {
        section: _rows_for(_table(model), data.get(section, [])) for section, model in SECTIONS
    }
    for section, model in SECTIONS:
        _check_free(session, _table(model), sections[section])
    for memo in sections["memos"]:
        if hashlib.sha256(memo["pdf"]).hexdigest() != memo["sha256"]:
            raise TransferError(f"Memo {memo['id']}: the PDF does not match its SHA-256.")

    if new_users:
        session.execute(users.insert(), _rows_for(users, new_users))
    session.execute(decision_table.insert(), decision_rows)
    for section, model in SECTIONS:
        if sections[section]:
            session.execute(_table(model).insert(), sections[section])
    _advance_sequences(session)
    return int(decision_rows[0]["id"])


def _advance_sequences(session: Session) -> None:
    """PostgreSQL: move each id sequence past the ids just inserted (SQLite needs nothing)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in (User, Decision, Member, Option, Criterion, Round, Revision, Memo):
        name = _table(model).name
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {name}), 1), "
                f"(SELECT COUNT(*) > 0 FROM {name}))"
            )
        )
