"""`flask import` takes nothing on trust: a file that describes a new decision but has rows
pointing into a decision already in the database (a member, a score revision, an issued memo,
a score), reuses an id, or carries a malformed score key is refused with a clear message and
nothing written."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.cli.transfer import export_command, import_command
from app.db.models import Decision, Member, Memo, Option, Revision, Role, Score
from app.db.uow import unit_of_work
from app.services import scores as score_service
from app.services.decisions import MAX_OPTIONS
from tests.factories import World

pytestmark = pytest.mark.slow

SHIFT = 1000
TABLES = (Decision, Member, Option, Score, Revision, Memo)


def run(app: Flask, command: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(command, list(args))


def counts(app: Flask) -> dict[str, int]:
    with app.app_context(), unit_of_work(write=False) as session:
        return {
            model.__name__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in TABLES
        }


def as_new_decision(data: dict[str, Any]) -> dict[str, Any]:
    """The export moved to ids the database does not hold: a genuine new decision's file
    (its users are the database's own, matching by id and username)."""
    new = copy.deepcopy(data)
    new["decision"]["id"] += SHIFT
    for section in ("members", "options", "criteria", "rounds", "revisions", "memos"):
        for row in new[section]:
            row["id"] += SHIFT
            row["decision_id"] += SHIFT
    for section in ("round_completions", "scores"):
        for row in new[section]:
            for key in ("round_id", "option_id", "criterion_id"):
                if key in row:
                    row[key] += SHIFT
    for row in new["revisions"]:
        for key in ("option_id", "criterion_id"):
            if row[key] is not None:
                row[key] += SHIFT
        if row["entity"] in ("decision", "option", "criterion"):
            row["entity_id"] = str(int(row["entity_id"]) + SHIFT)
        elif row["entity"] == "score":
            r, o, c, a = (int(part) for part in row["entity_id"].split(":"))
            row["entity_id"] = f"{r}:{o + SHIFT}:{c + SHIFT}:{a}"
    for row in new["memos"]:
        if row["revision_id"] is not None:
            row["revision_id"] += SHIFT
    return new


@pytest.fixture
def exported(app: Flask, world: World, tmp_path: Path) -> dict[str, Any]:
    """The world's decision with scores and an issued memo, exported."""
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        for analyst, value in (("analyst-a", "4"), ("analyst-b", "2")):
            score_service.save_score(
                session=session,
                decision=decision,
                analyst_id=world.users[analyst],
                option_id=world.options[0],
                criterion_id=world.criteria[0],
                value=value,
            )
        pdf = b"%PDF-1.7 issued memo"
        last = session.scalar(select(func.max(Revision.id)))
        session.add(
            Memo(
                decision_id=world.decision_id,
                number=1,
                round_number=1,
                revision_id=last,
                issued_by=world.users["facilitator"],
                subject="Memo",
                pdf=pdf,
                size=len(pdf),
                sha256=hashlib.sha256(pdf).hexdigest(),
                snapshot={"totals": {}},
                snapshot_sha256="0" * 64,
                app_version="0.1.0",
            )
        )
    path = tmp_path / "export.json"
    assert run(app, export_command, str(world.decision_id), "-o", str(path)).exit_code == 0
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def forgeries(world: World, good: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(what, change to the new decision's file, expected message)."""
    old = world.decision_id
    users = world.users
    member = dict(good["members"][0])
    revision = dict(good["revisions"][-1])
    memo = dict(good["memos"][0])
    score = dict(good["scores"][0])
    forged_pdf = b"%PDF-1.7 forged"
    outsider = dict(good["users"][0]) | {
        "id": users["outsider"],
        "username": "outsider",
        "is_admin": False,
    }

    def add(section: str, row: dict[str, Any]) -> Any:
        return lambda data: data[section].append(row)

    def make_outsider_facilitator(data: dict[str, Any]) -> None:
        # The outsider's account matches the database's, so the file may name it.
        data["users"].append(outsider)
        data["members"].append(
            member
            | {"id": 5000, "decision_id": old, "user_id": outsider["id"], "role": "facilitator"}
        )

    def set_key(key: str) -> Any:
        def change(data: dict[str, Any]) -> None:
            data["revisions"][-1].update(entity="score", entity_id=key)

        return change

    return [
        (
            "a member row making an outsider facilitator of the existing decision",
            make_outsider_facilitator,
            f"members row 5000: it belongs to decision {old}, not to the file's decision "
            f"{old + SHIFT}",
        ),
        (
            "a score revision in the existing decision attributed to another analyst",
            add(
                "revisions",
                revision
                | {
                    "id": 90000,
                    "decision_id": old,
                    "actor_id": users["analyst-b"],
                    "entity": "score",
                    "entity_id": f"1:{world.options[0]}:{world.criteria[0]}:{users['analyst-a']}",
                },
            ),
            f"revisions row 90000: it belongs to decision {old}",
        ),
        (
            "an issued memo of the existing decision with a matching SHA-256",
            add(
                "memos",
                memo
                | {
                    "id": 5001,
                    "decision_id": old,
                    "revision_id": None,
                    "pdf": base64.b64encode(forged_pdf).decode(),
                    "size": len(forged_pdf),
                    "sha256": hashlib.sha256(forged_pdf).hexdigest(),
                },
            ),
            f"memos row 5001: it belongs to decision {old}",
        ),
        (
            "a score in the existing decision's round and option",
            add("scores", score | {"round_id": 1, "option_id": world.options[1]}),
            "round_id 1 is not in the file",
        ),
        (
            "a memo citing a revision of the existing decision",
            lambda data: data["memos"][0].update(revision_id=1),
            "revision_id 1 is not in the file",
        ),
        (
            "a member who is not one of the file's users",
            add("members", member | {"id": 5002, "user_id": users["outsider"] + 50}),
            "user_id",
        ),
        ("a score key that is not round:option:criterion:analyst", set_key("1:x:2"), "score key"),
        ("a score key with too many parts", set_key("1:2:3:4:5"), "score key"),
        ("a score key naming an option of the existing decision", set_key("1:1:1:2"), "score key"),
        (
            "an option id the database already holds",
            lambda data: data["options"][0].update(id=world.options[0]),
            "already holds",
        ),
        (
            "two rows with one id",
            add("options", dict(good["options"][0])),
            "options: two rows share the same id",
        ),
        (
            "two users with one id",
            lambda data: data["users"].extend(
                dict(data["users"][-1]) | {"id": 999, "username": name} for name in ("one", "two")
            ),
            "users: two users share an id or a username",
        ),
        (
            "a revision of an entity the product does not know",
            lambda data: data["revisions"][-1].update(entity="account", entity_id="1"),
            "unknown entity 'account'",
        ),
        (
            "more options than a decision may hold",
            lambda data: data["options"].extend(
                dict(good["options"][0]) | {"id": 20000 + n} for n in range(MAX_OPTIONS)
            ),
            f"at most {MAX_OPTIONS} options",
        ),
    ]


def test_rows_pointing_outside_the_file_are_refused_with_nothing_written(
    app: Flask, world: World, exported: dict[str, Any], tmp_path: Path
) -> None:
    good = as_new_decision(exported)
    before = counts(app)
    path = tmp_path / "forged.json"
    for what, change, message in forgeries(world, good):
        data = copy.deepcopy(good)
        change(data)
        path.write_text(json.dumps(data))
        result = run(app, import_command, str(path))
        assert result.exit_code != 0, what
        assert message in result.output, (what, result.output)
        assert isinstance(result.exception, SystemExit), (what, result.exception)
        assert counts(app) == before, what
    with app.app_context(), unit_of_work(write=False) as session:
        member = session.scalar(
            select(Member).where(
                Member.decision_id == world.decision_id,
                Member.user_id == world.users["analyst-b"],
            )
        )
        assert member is not None and member.role == Role.ANALYST.value
        outsider = session.scalar(
            select(Member).where(
                Member.decision_id == world.decision_id, Member.user_id == world.users["outsider"]
            )
        )
        assert outsider is None

    # The same file without a forgery is a genuine new decision, and imports.
    path.write_text(json.dumps(good))
    result = run(app, import_command, str(path))
    assert result.exit_code == 0, result.output
    after = counts(app)
    assert after["Decision"] == before["Decision"] + 1
    assert after["Revision"] == before["Revision"] + len(good["revisions"])


def test_the_imported_decision_answers_its_history(
    app: Flask, world: World, exported: dict[str, Any], tmp_path: Path, as_role: Any
) -> None:
    path = tmp_path / "new.json"
    path.write_text(json.dumps(as_new_decision(exported)))
    assert run(app, import_command, str(path)).exit_code == 0
    observer = as_role("observer")
    decision_id = world.decision_id + SHIFT
    for url in (f"/decisions/{decision_id}/history", f"/decisions/{decision_id}/matrix"):
        assert observer.get(url).status_code == 200, url
