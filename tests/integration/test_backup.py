"""A whole instance backs up to one file (``export --all``) and restores (``import``) into an
empty database with every row, id, password, memo byte and change number as it was; a restore
into a database that is not empty, or of a file whose rows point outside their decision, is
refused with nothing written."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from app import create_app
from app.cli.transfer import export_command, import_command
from app.db.models import AuditEvent, Decision, DecisionChange, Memo, Option, Revision, User
from app.db.uow import unit_of_work
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import options as option_service
from app.services import scores as score_service
from tests.conftest import PG_URL, Actions, TemplateDatabases
from tests.factories import PASSWORD, World

pytestmark = pytest.mark.slow

# Derived, short-lived or per-person reminders (see app/services/backup.py).
NOT_BACKED_UP = {"group_view_cache", "login_throttle", "password_link", "notification"}
MEMO_FORM = {
    "memorandum_for": "The Principal",
    "from_line": "Morgan Hale, options team",
    "subject": "Restored memo",
    "bottom_line": "We recommend **Joint drills**.",
    "sections": ["chart", "disagreements"],
}


@pytest.fixture
def target(db_url: str, templates: TemplateDatabases, tmp_path: Path) -> Iterator[Flask]:
    """An empty, migrated database of the same backend as the source, to restore into."""
    name = None
    if db_url.startswith("sqlite"):
        path = tmp_path / "restored.sqlite3"
        shutil.copy(templates.sqlite(), path)
        url = f"sqlite:///{path}"
    else:
        name = f"om_t_restore_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{templates.postgresql()}"'))
        admin.dispose()
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "restored-secret"})
    yield app
    app.extensions["options_matrix.engine"].dispose()
    if name:
        templates.drop_postgresql(name)


def run(app: Flask, command: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(command, list(args))


def score(acts: Actions, decision_id: int, option_id: int, criterion_id: int, value: str) -> None:
    response = acts.post(
        f"/decisions/{decision_id}/matrix/scores",
        {"option_id": option_id, "criterion_id": criterion_id, "value": value},
        htmx=True,
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


def second_decision(app: Flask, world: World) -> int:
    """Another decision, with its own member, option, criterion and a score."""
    with app.app_context(), unit_of_work() as session:
        facilitator = session.get(User, world.users["facilitator"])
        assert facilitator is not None
        decision = decision_service.create_decision(
            session=session, actor=facilitator, data={"title": "Second decision"}
        )
        decision_service.set_member(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            username="analyst-b",
            role="analyst",
        )
        option = option_service.create_option(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            data={"title": "Stand pat"},
        )
        criterion = criteria_service.create_criterion(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            data={"name": "Cost", "direction": "cost", "weight": 10},
        )
        # One option is enough here: scoring starts through the settings, past the checklist.
        score_service.update_settings(
            session=session,
            decision=decision,
            actor_id=facilitator.id,
            data={"status": "scoring"},
        )
        score_service.save_score(
            session=session,
            decision=decision,
            analyst_id=world.users["analyst-b"],
            option_id=option.id,
            criterion_id=criterion.id,
            value="3",
        )
        return int(decision.id)


def build_instance(app: Flask, world: World, as_role: Any) -> None:
    """Two decisions; in the first a blind round scored and revealed, an issued memo, a second
    round scored; logins, a reveal, a round opening and the memo in the audit log."""
    d = world.decision_id
    a, b, fac = as_role("analyst-a"), as_role("analyst-b"), as_role("facilitator")
    assert fac.post(f"/decisions/{d}/settings", {"scoring_mode": "blind"}).status_code < 400
    for acts, values in ((a, ("4", "2")), (b, ("5", "1"))):
        score(acts, d, world.options[0], world.criteria[0], values[0])
        score(acts, d, world.options[1], world.criteria[1], values[1])
    assert fac.post(f"/decisions/{d}/rounds/reveal", {}).status_code < 400
    assert fac.post(f"/decisions/{d}/memos", MEMO_FORM).status_code == 303
    assert fac.post(f"/decisions/{d}/rounds", {}).status_code < 400
    score(a, d, world.options[0], world.criteria[0], "3")
    second_decision(app, world)


def moment(value: datetime) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def every_row(app: Flask) -> dict[str, list[dict[str, Any]]]:
    """Every backed-up table's rows, in primary-key order, datetimes in UTC."""
    tables: dict[str, list[dict[str, Any]]] = {}
    with app.app_context(), unit_of_work(write=False) as session:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in NOT_BACKED_UP:
                continue
            rows = session.execute(select(table).order_by(*table.primary_key.columns))
            tables[table.name] = [
                {k: moment(v) if isinstance(v, datetime) else v for k, v in row.items()}
                for row in rows.mappings()
            ]
    return tables


def test_a_backup_restores_the_whole_instance_into_an_empty_database(  # type: ignore[no-untyped-def]
    app: Flask, world: World, as_role, target: Flask, tmp_path: Path
) -> None:
    build_instance(app, world, as_role)
    before = every_row(app)
    assert len(before["decision"]) == 2 and len(before["memo"]) == 1
    assert len(before["scoring_round"]) == 3 and before["audit_event"]
    assert {e["kind"] for e in before["audit_event"]} >= {"login", "memo_issued"}

    path = tmp_path / "backup.json.gz"
    result = run(app, export_command, "--all", "-o", str(path))
    assert result.exit_code == 0, result.output
    assert "password hashes" in result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(gzip.decompress(path.read_bytes()))
    assert data["format"] == "options-matrix/instance"
    assert all(u["password_hash"].startswith("$argon2") for u in data["users"])

    result = run(target, import_command, str(path))
    assert result.exit_code == 0, result.output
    assert "Restored the whole instance: 5 users, 2 decisions" in result.output

    # Every row of every table, ids, change numbers and the audit log included.
    assert every_row(target) == before
    # A backup of the restored instance is the same file (but for when it was written).
    again = tmp_path / "again.json.gz"
    assert run(target, export_command, "--all", "-o", str(again)).exit_code == 0
    assert [
        line
        for line in gzip.decompress(again.read_bytes()).decode().splitlines()
        if '"exported_at"' not in line
    ] == [
        line
        for line in gzip.decompress(path.read_bytes()).decode().splitlines()
        if '"exported_at"' not in line
    ]

    # The memo's bytes are the issued bytes, and a member downloads them.
    memo = before["memo"][0]
    assert hashlib.sha256(memo["pdf"]).hexdigest() == memo["sha256"]
    observer = Actions(target.test_client())
    observer.login("observer", PASSWORD)  # the old password works
    download = observer.get(f"/decisions/{world.decision_id}/memos/{memo['id']}.pdf")
    assert download.status_code == 200 and download.get_data() == memo["pdf"]
    assert observer.get(f"/decisions/{world.decision_id}/matrix").status_code == 200

    # New rows continue after the restored ids, and the change numbers go on rising.
    with target.app_context(), unit_of_work() as session:
        option = option_service.create_option(
            session=session,
            decision_id=world.decision_id,
            actor_id=world.users["facilitator"],
            data={"title": "After the restore"},
        )
        assert option.id > max(o["id"] for o in before["decision_option"])
    with target.app_context(), unit_of_work(write=False) as session:
        newest_event = session.scalar(select(func.max(AuditEvent.id)))
        newest_revision = session.scalar(select(func.max(Revision.id)))
        change = session.get(DecisionChange, world.decision_id)
    assert newest_event > max(e["id"] for e in before["audit_event"])  # the login above
    assert newest_revision > max(r["id"] for r in before["revision"])
    restored_change = next(
        c for c in before["decision_change"] if c["decision_id"] == world.decision_id
    )
    assert change is not None and change.number == restored_change["number"] + 1

    # A second restore finds the database in use and writes nothing.
    counts = {name: len(rows) for name, rows in every_row(target).items()}
    result = run(target, import_command, str(path))
    assert result.exit_code != 0 and "not empty" in result.output
    assert {name: len(rows) for name, rows in every_row(target).items()} == counts


def test_a_damaged_backup_is_refused_with_nothing_written(
    app: Flask, world: World, target: Flask, tmp_path: Path
) -> None:
    other = second_decision(app, world)
    path = tmp_path / "backup.json"
    assert run(app, export_command, "--all", "-o", str(path)).exit_code == 0
    good = json.loads(path.read_text())
    first_option = world.options[0]

    def damaged(change: Any) -> dict[str, Any]:
        data = json.loads(json.dumps(good))
        change(data)
        return data

    def entry(data: dict[str, Any], decision_id: int) -> dict[str, Any]:
        found: dict[str, Any] = next(
            d for d in data["decisions"] if d["decision"]["id"] == decision_id
        )
        return found

    cases: list[tuple[dict[str, Any], str]] = [
        # A score of the second decision pointing at an option of the first.
        (
            damaged(lambda d: entry(d, other)["scores"][0].update(option_id=first_option)),
            f"option_id {first_option} is not in the file",
        ),
        # An option filed under the wrong decision.
        (
            damaged(lambda d: entry(d, other)["options"][0].update(decision_id=1)),
            "not to the file's decision",
        ),
        # The same id in two decisions.
        (
            damaged(
                lambda d: entry(d, other)["members"][0].update(
                    id=entry(d, world.decision_id)["members"][0]["id"]
                )
            ),
            "appears twice",
        ),
        (
            damaged(lambda d: d["audit_events"][0].update(actor_id=999)),
            "its actor is not in the file",
        ),
        (damaged(lambda d: d.update(format_version=2)), "reads version 1"),
        (
            damaged(lambda d: entry(d, other).update(change={"number": "many"})),
            "change numbers must be whole numbers",
        ),
    ]
    for data, message in cases:
        path.write_text(json.dumps(data))
        result = run(target, import_command, str(path))
        assert result.exit_code != 0 and message in result.output, (message, result.output)
    assert all(not rows for rows in every_row(target).values())


def test_export_needs_a_decision_or_all_and_a_named_file_for_a_backup(
    app: Flask, world: World
) -> None:
    result = run(app, export_command)
    assert result.exit_code != 0 and "either a DECISION_ID or --all" in result.output
    result = run(app, export_command, str(world.decision_id), "--all")
    assert result.exit_code != 0 and "either a DECISION_ID or --all" in result.output
    result = run(app, export_command, "--all")
    assert result.exit_code != 0 and "-o FILE" in result.output
    result = run(app, export_command, "--all", "-o", "-")
    assert result.exit_code == 0 and json.loads(result.stdout)["users"]


def test_an_imported_decision_gets_a_change_number_past_its_revisions(
    app: Flask, world: World, target: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "decision.json"
    assert run(app, export_command, str(world.decision_id), "-o", str(path)).exit_code == 0
    assert run(target, import_command, str(path)).exit_code == 0
    with target.app_context(), unit_of_work(write=False) as session:
        change = session.get(DecisionChange, world.decision_id)
        newest = session.scalar(
            select(func.max(Revision.id)).where(Revision.decision_id == world.decision_id)
        )
        decision = session.get(Decision, world.decision_id)
    assert decision is not None and newest is not None
    assert change is not None and change.number >= newest > 0
    with target.app_context(), unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Option)) == len(world.options)
        assert session.scalar(select(func.count()).select_from(Memo)) == 0
