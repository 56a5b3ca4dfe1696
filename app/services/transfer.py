"""Moving a decision in and out of a database: a lossless JSON export and import.

JSON (``flask --app app export <decision-id> -o FILE`` / ``flask --app app import FILE``)
---------------------------------------------------------------------------------------
One file holds one decision with everything stored about it: the decision, its members,
options, criteria, rounds, "done" marks, scores, comments, every revision and every issued
memo — metadata, snapshot, the PDF bytes themselves and the Word copy (base64, checked against
their SHA-256 on import) — plus the user accounts it refers to. Row ids are kept, so revision numbers, the
ids inside score keys and memo snapshots, and the "as of" links stay valid.

Not exported: password hashes (pass ``--include-password-hashes`` to carry them; otherwise
imported accounts get an unusable password and must be given a new one) and each user's
session version (sessions do not travel). ``exported_at`` is the only field that differs
between two exports of the same data.

Import loads into a database that does not hold the decision yet — an empty one, or one
whose existing users match the file's by id *and* username. Every row must belong to the
file's own decision and refer only to rows in the file (its options, criteria, rounds,
revisions and users), no id may be taken already, score keys must read
``round:option:criterion:analyst``, and the decision must keep within the limits of
``app.services.decisions``. Anything else is refused before a row is written. The imported
decision gets a change number past its newest revision (live pages start from it).

A whole instance (every decision, user and the audit log) travels in a backup file instead:
see :mod:`app.services.backup`, which reuses the checks and helpers below.

The file is a full record for operators; it ignores blind-round visibility (the CSV and XLSX
downloads of the matrix are for members and show only what the viewer may see).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ColumnElement,
    DateTime,
    Float,
    LargeBinary,
    Select,
    Table,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy import Integer as SAInteger
from sqlalchemy.orm import class_mapper
from sqlmodel import Session, SQLModel, col

from app.config import VERSION
from app.db.changes import ensure_change_numbers
from app.db.conversation import Comment
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
from app.db.sequences import advance_sequences
from app.services.decisions import MAX_CRITERIA, MAX_MEMBERS, MAX_OPTIONS

FORMAT = "options-matrix/decision"
FORMAT_VERSION = 1
UNUSABLE_PASSWORD = "!imported: set a new password"
USER_FIELDS = ("id", "username", "display_name", "is_admin", "created_at")

Row = dict[str, Any]
"""One table row as it appears in the file: column name -> JSON value."""

# (section in the file, table) in foreign-key order; memos and revisions last.
SECTIONS: list[tuple[str, type[SQLModel]]] = [
    ("members", Member),
    ("options", Option),
    ("criteria", Criterion),
    ("rounds", Round),
    ("round_completions", RoundCompletion),
    ("scores", Score),
    ("comments", Comment),
    ("revisions", Revision),
    ("memos", Memo),
]


class TransferError(Exception):
    """The file cannot be imported; nothing was written."""


def table_of(model: type[SQLModel]) -> Table:
    """The SQLAlchemy table behind a SQLModel table model."""
    table = class_mapper(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


# --------------------------------------------------------------------------------------------
# Values <-> JSON
# --------------------------------------------------------------------------------------------


def iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _dump_value(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, DateTime):
        return iso(value)
    if isinstance(kind, LargeBinary):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(kind, Boolean):
        return bool(value)
    if isinstance(kind, Float):
        return float(value)
    return value


def _load_value(column: Column[Any], value: Any) -> Any:
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


def dump_rows(session: Session, table: Table, where: ColumnElement[bool]) -> list[Row]:
    order = list(table.primary_key.columns)
    rows = session.execute(select(table).where(where).order_by(*order)).mappings()
    return [{c.name: _dump_value(c, row[c.name]) for c in table.columns} for row in rows]


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def _user_ids(session: Session, decision_id: int) -> set[int]:
    ids: set[int] = set()
    in_decision = col(Round.decision_id) == decision_id
    queries: list[Select[tuple[int]] | Select[tuple[int | None]]] = [
        select(col(Decision.created_by)).where(col(Decision.id) == decision_id),
        select(col(Member.user_id)).where(col(Member.decision_id) == decision_id),
        select(col(Option.created_by)).where(col(Option.decision_id) == decision_id),
        select(col(Round.opened_by)).where(in_decision),
        select(col(Round.revealed_by)).where(in_decision),
        select(col(RoundCompletion.analyst_id))
        .join(Round, col(Round.id) == col(RoundCompletion.round_id))
        .where(in_decision),
        select(col(Score.analyst_id))
        .join(Round, col(Round.id) == col(Score.round_id))
        .where(in_decision),
        select(col(Revision.actor_id)).where(col(Revision.decision_id) == decision_id).distinct(),
        select(col(Memo.issued_by)).where(col(Memo.decision_id) == decision_id),
        select(col(Comment.author_id)).where(col(Comment.decision_id) == decision_id),
    ]
    for query in queries:
        ids.update(int(v) for v in session.scalars(query) if v is not None)
    return ids


def export_decision(
    *, session: Session, decision_id: int, include_password_hashes: bool = False
) -> dict[str, Any]:
    """Everything about one decision as a JSON-ready dict (see the module docstring)."""
    decision_table = table_of(Decision)
    decisions = dump_rows(session, decision_table, decision_table.c.id == decision_id)
    if not decisions:
        raise TransferError(f"There is no decision {decision_id}.")
    user_table = table_of(User)
    fields = USER_FIELDS + (("password_hash",) if include_password_hashes else ())
    users = [
        {k: v for k, v in row.items() if k in fields}
        for row in dump_rows(
            session, user_table, user_table.c.id.in_(sorted(_user_ids(session, decision_id)))
        )
    ]
    data: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": iso(datetime.now(UTC)),
        "app_version": VERSION,
        "users": users,
    }
    return data | decision_sections(session, decisions[0])


def decision_sections(session: Session, decision: Row) -> dict[str, Any]:
    """The decision's row (as dumped) and every section of its rows, keyed as in the file."""
    round_ids = select(col(Round.id)).where(col(Round.decision_id) == decision["id"])
    data: dict[str, Any] = {"decision": decision}
    for section, model in SECTIONS:
        table = table_of(model)
        if "decision_id" in table.c:
            where = table.c.decision_id == decision["id"]
        else:
            where = table.c.round_id.in_(round_ids)
        data[section] = dump_rows(session, table, where)
    return data


def dumps(data: dict[str, Any]) -> str:
    """Stable text: the same data always gives the same bytes."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


def section_rows(data: Row, name: str) -> list[Row]:
    """The rows of one section of the file: a list of objects (absent = none)."""
    rows = data.get(name, [])
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise TransferError(f"{name}: expected a list of objects.")
    return rows


def rows_for(table: Table, rows: Iterable[Row]) -> list[Row]:
    out: list[Row] = []
    for row in rows:
        unknown = set(row) - set(table.c.keys())
        if unknown:
            raise TransferError(f"{table.name}: unknown fields {sorted(unknown)}.")
        missing = [c.name for c in table.primary_key.columns if row.get(c.name) is None]
        if missing:
            raise TransferError(f"{table.name}: a row lacks its {', '.join(missing)}.")
        loaded: Row = {}
        for c in table.columns:
            if c.name not in row:
                continue
            try:
                loaded[c.name] = _load_value(c, row[c.name])
            except (TypeError, ValueError):
                raise TransferError(
                    f"{table.name}.{c.name}: {row[c.name]!r} is not a valid value."
                ) from None
        out.append(loaded)
    return out


def _check_free(session: Session, table: Table, rows: list[Row]) -> None:
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


def check_memo_bytes(memos: list[Row]) -> None:
    for memo in memos:
        pdf = memo.get("pdf")
        if not isinstance(pdf, bytes) or hashlib.sha256(pdf).hexdigest() != memo.get("sha256"):
            raise TransferError(f"Memo {memo['id']}: the PDF does not match its SHA-256.")
        docx = memo.get("docx")
        if (docx is None) != (memo.get("docx_sha256") is None) or (
            isinstance(docx, bytes) and hashlib.sha256(docx).hexdigest() != memo["docx_sha256"]
        ):
            raise TransferError(f"Memo {memo['id']}: the Word copy does not match its SHA-256.")


def import_decision(*, session: Session, data: object) -> int:
    """Load an exported decision (parsed JSON) with its ids; returns the decision id.

    Everything is checked before the first row is written; a :class:`TransferError` leaves the
    database as it was.
    """
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or data.get("format_version") != FORMAT_VERSION
    ):
        raise TransferError(
            f"This is not an Options Matrix decision export (format {FORMAT!r} version "
            f"{FORMAT_VERSION})."
        )
    users = table_of(User)
    new_users: list[Row] = []
    for row in section_rows(data, "users"):
        if not isinstance(row.get("id"), int) or not isinstance(row.get("username"), str):
            raise TransferError("users: every user needs an integer id and a username.")
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
    user_rows = rows_for(users, new_users)
    decision_table = table_of(Decision)
    if not isinstance(data.get("decision"), dict):
        raise TransferError("decision: expected an object.")
    decision_rows = rows_for(decision_table, [data["decision"]])
    _check_free(session, decision_table, decision_rows)
    sections = {
        section: rows_for(table_of(model), section_rows(data, section))
        for section, model in SECTIONS
    }
    for section, model in SECTIONS:
        _check_free(session, table_of(model), sections[section])
    check_memo_bytes(sections["memos"])
    check_references(decision_rows[0], section_rows(data, "users"), sections)

    if user_rows:
        session.execute(users.insert(), user_rows)
    session.execute(decision_table.insert(), decision_rows)
    for section, model in SECTIONS:
        if sections[section]:
            session.execute(table_of(model).insert(), sections[section])
    ensure_change_numbers(session, [int(decision_rows[0]["id"])])
    advance_sequences(session)
    return int(decision_rows[0]["id"])


ID_KEY, SCORE_KEY = re.compile(r"[0-9]{1,9}"), re.compile(r"([0-9]{1,9}):" * 3 + r"([0-9]{1,9})")
# The columns of each section that refer to another row: empty, or a row of the same file.
REFERENCES: dict[str, tuple[str, ...]] = {
    "members": ("user_id",),
    "options": ("created_by",),
    "rounds": ("opened_by", "revealed_by"),
    "round_completions": ("round_id", "analyst_id"),
    "scores": ("round_id", "option_id", "criterion_id", "analyst_id"),
    "revisions": ("actor_id", "option_id", "criterion_id", "round_number"),
    "memos": ("issued_by", "round_number", "revision_id"),
    "comments": ("option_id", "criterion_id", "author_id", "parent_id", "round_number"),
}
USER_COLUMNS = (
    "user_id",
    "created_by",
    "opened_by",
    "revealed_by",
    "analyst_id",
    "actor_id",
    "author_id",
)
LIMITS = {"options": MAX_OPTIONS, "criteria": MAX_CRITERIA, "members": MAX_MEMBERS}


def _refuse(section: str, row: Row, problem: str) -> TransferError:
    which = row.get("id", f"for round {row.get('round_id')}")
    return TransferError(f"{section} row {which}: {problem}; nothing was imported.")


def check_references(decision: Row, users: list[Row], sections: dict[str, list[Row]]) -> None:
    """Every row belongs to the file's decision and points only at rows in the file."""
    decision_id = decision["id"]
    user_ids = {row.get("id") for row in users}
    rounds = {row.get("id"): row.get("number") for row in sections["rounds"]}
    known: dict[str, set[Any]] = {
        "round_id": set(rounds),
        "option_id": {row.get("id") for row in sections["options"]},
        "criterion_id": {row.get("id") for row in sections["criteria"]},
        "round_number": set(rounds.values()),
        "revision_id": {row.get("id") for row in sections["revisions"]},
        "parent_id": {row.get("id") for row in sections["comments"]},
    } | dict.fromkeys(("issued_by", *USER_COLUMNS), user_ids)
    # A criterion removed from a draft is gone from the criteria but stays in its revisions.
    removed = {
        int(row["entity_id"])
        for row in sections["revisions"]
        if row.get("entity") == "criterion"
        and row.get("action") == "delete"
        and ID_KEY.fullmatch(str(row.get("entity_id"))) is not None
    }
    in_history = known | {"criterion_id": known["criterion_id"] | removed}
    if len(user_ids) != len(users) or len({row.get("username") for row in users}) != len(users):
        raise TransferError("users: two users share an id or a username.")
    if decision.get("created_by") not in user_ids | {None}:
        raise TransferError("The decision's creator is not among the file's users.")
    for section, model in SECTIONS:
        rows, table = sections[section], table_of(model)
        limit = LIMITS.get(section, len(rows))
        if len(rows) > limit:
            raise TransferError(f"A decision can hold at most {limit} {section}, not {len(rows)}.")
        uniques = [list(table.primary_key.columns)] + [
            list(c.columns) for c in table.constraints if isinstance(c, UniqueConstraint)
        ]
        for unique in uniques:
            keys = [tuple(row.get(c.name) for c in unique) for row in rows]
            if len(set(keys)) != len(keys):
                names = ", ".join(c.name for c in unique)
                raise TransferError(f"{section}: two rows share the same {names}.")
        for row in rows:
            if "decision_id" in table.c and row.get("decision_id") != decision_id:
                raise _refuse(
                    section,
                    row,
                    f"it belongs to decision {row.get('decision_id')}, not to the file's "
                    f"decision {decision_id}",
                )
            refs = in_history if section == "revisions" else known
            for column in REFERENCES.get(section, ()):
                if row.get(column) is not None and row[column] not in refs[column]:
                    raise _refuse(section, row, f"{column} {row[column]} is not in the file")
    for row in sections["revisions"]:
        _check_revision(row, decision_id, in_history)


def _check_revision(row: Row, decision_id: int, known: dict[str, set[Any]]) -> None:
    """A revision's key names an entity of the file; its before and after are objects."""
    entity, key = row.get("entity"), str(row.get("entity_id"))
    if any(not isinstance(row.get(k), dict | None) for k in ("before", "after")):
        raise _refuse("revisions", row, "its before and after must be objects")
    if entity == "score":
        match = SCORE_KEY.fullmatch(key)
        columns = ("round_number", "option_id", "criterion_id", "analyst_id")
        if match is None or any(
            int(part) not in known[column]
            for part, column in zip(match.groups(), columns, strict=True)
        ):
            raise _refuse(
                "revisions",
                row,
                f"score key {key!r} is not round:option:criterion:analyst ids of the file",
            )
        return
    allowed = {
        "decision": {decision_id},
        "member": known["user_id"],
        "option": known["option_id"],
        "criterion": known["criterion_id"],
        "round": known["round_number"],
        "comment": known["parent_id"],  # the file's comment ids
    }.get(str(entity))
    if allowed is None:
        raise _refuse("revisions", row, f"unknown entity {entity!r}")
    if ID_KEY.fullmatch(key) is None or int(key) not in allowed:
        raise _refuse("revisions", row, f"{entity} {key!r} is not in the file")
