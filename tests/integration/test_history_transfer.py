"""Export a decision as JSON and import it into an empty database with nothing lost: export →
import → export again gives the same file (only ``exported_at`` differs), across SQLite and
PostgreSQL in both directions."""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.cli.transfer import export_command, import_command
from app.db.models import Decision, Memo, Option, Revision, Role, User
from app.db.uow import unit_of_work
from app.services import options as option_service
from app.services import scores as score_service
from app.services.matrix import build_matrix
from tests.conftest import PG_URL, Actions
from tests.factories import PASSWORD, World

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgresql"])
def target(
    request: pytest.FixtureRequest, templates: dict[str, str], tmp_path: Path
) -> Iterator[Flask]:
    """A second, empty (migrated) database to import into."""
    if request.param == "sqlite":
        path = tmp_path / "target.sqlite3"
        shutil.copy(templates["sqlite"], path)
        url = f"sqlite:///{path}"
        name = None
    else:
        name = f"om_import_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{templates["postgresql"]}"'))
        admin.dispose()
        url = str(make_url(PG_URL).set(database=name))
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "target-secret"})
    yield app
    app.extensions["options_matrix.engine"].dispose()
    if name:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def rich_history(app: Flask, world: World, as_role: Any) -> None:
    """Scores and rationales over two rounds, done marks, a reveal, edits, a withdrawal, a
    blind setting, and an issued memo."""
    b = f"/decisions/{world.decision_id}"
    a, bb, fac = as_role("analyst-a"), as_role("analyst-b"), as_role("facilitator")
    for acts, values in ((a, (4, 2, 1)), (bb, (5, "na", 3))):
        for (o, c), v in zip(((0, 0), (0, 1), (1, 0)), values, strict=True):
            acts.post(
                f"{b}/matrix/scores",
                {
                    "option_id": world.options[o],
                    "criterion_id": world.criteria[c],
                    "value": v,
                    "rationale": f"Reason {v} — “quoted”, ünïcode",
                },
                htmx=True,
            )
    a.post(f"{b}/matrix/done", {"done": "1"})
    fac.post(f"{b}/matrix/weights/{world.criteria[0]}", {"weight": "0.1"})
    fac.post(f"{b}/rounds", {})
    a.post(
        f"{b}/matrix/scores",
        {"option_id": world.options[0], "criterion_id": world.criteria[0], "value": "2.5"},
        htmx=True,
    )
    fac.post(f"{b}/settings", {"scoring_mode": "blind"})
    fac.post(f"{b}/rounds/reveal", {})
    fac.post(f"{b}/options/{world.options[1]}/withdraw", {})
    with app.app_context(), unit_of_work() as session:
        option = session.get(Option, world.options[0])
        option_service.update_option(
            session=session,
            decision_id=world.decision_id,
            option_id=option.id,
            actor_id=world.users["facilitator"],
            data={
                "title": option.title,
                "summary": "Line one\nline two",
                "description": "**Bold**",
                "version": option.version,
            },
        )
        pdf = b"%PDF-1.7 fake memo bytes \x00\xff"
        last = session.scalar(select(Revision.id).order_by(Revision.id.desc()).limit(1))
        session.add(
            Memo(
                decision_id=world.decision_id,
                number=1,
                round_number=2,
                revision_id=last,
                issued_by=world.users["facilitator"],
                subject="Memo on engagement",
                pdf=pdf,
                size=len(pdf),
                sha256=hashlib.sha256(pdf).hexdigest(),
                snapshot={"totals": {"1": 61.25}, "ranks": [1, 2]},
                snapshot_sha256="0" * 64,
                app_version="0.1.0",
            )
        )


def run(app: Flask, command: Any, *args: str) -> Any:
    result = app.test_cli_runner().invoke(command, list(args))
    return result


def without_stamp(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "exported_at"}


def test_export_import_export_round_trips_with_nothing_lost(  # type: ignore[no-untyped-def]
    app: Flask, world: World, as_role, target: Flask, tmp_path: Path
) -> None:
    rich_history(app, world, as_role)
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    result = run(app, export_command, str(world.decision_id), "-o", str(first))
    assert result.exit_code == 0, result.output
    result = run(target, import_command, str(first))
    assert result.exit_code == 0, result.output
    assert "Imported decision" in result.output
    result = run(target, export_command, str(world.decision_id), "-o", str(second))
    assert result.exit_code == 0, result.output

    one, two = json.loads(first.read_text()), json.loads(second.read_text())
    assert without_stamp(one) == without_stamp(two)
    # Byte for byte, apart from the one documented line.
    strip = [line for line in first.read_text().splitlines() if '"exported_at"' not in line]
    assert strip == [
        line for line in second.read_text().splitlines() if '"exported_at"' not in line
    ]

    # What the file holds.
    assert one["format"] == "options-matrix/decision" and one["format_version"] == 1
    assert {s for s in one} >= {
        "decision",
        "users",
        "members",
        "options",
        "criteria",
        "rounds",
        "round_completions",
        "scores",
        "revisions",
        "memos",
    }
    assert len(one["rounds"]) == 2 and one["round_completions"] and len(one["memos"]) == 1
    assert all("password_hash" not in u for u in one["users"])
    assert {r["entity"] for r in one["revisions"]} >= {
        "decision",
        "member",
        "option",
        "criterion",
        "score",
        "round",
    }

    with target.app_context(), unit_of_work(write=False) as session:
        memo = session.scalars(select(Memo)).one()
        assert memo.pdf == b"%PDF-1.7 fake memo bytes \x00\xff"
        # The matrix is the same on both sides (the memo's "as of" link keeps working).
        decision = session.get(Decision, world.decision_id)
        there = build_matrix(
            session=session,
            decision=decision,
            viewer_id=world.users["facilitator"],
            role=Role.FACILITATOR,
        )
        imported_user = session.scalar(select(User).where(User.username == "analyst-a"))
        assert imported_user.password_hash.startswith("!")
    with app.app_context(), unit_of_work(write=False) as session:
        decision = session.get(Decision, world.decision_id)
        here = build_matrix(
            session=session,
            decision=decision,
            viewer_id=world.users["facilitator"],
            role=Role.FACILITATOR,
        )
    assert there.totals == here.totals and there.ranks == here.ranks
    assert [o.title for o in there.options] == [o.title for o in here.options]

    # New changes in the target get fresh ids (sequences moved past the imported ones).
    with target.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        score_service.save_score(
            session=session,
            decision=decision,
            analyst_id=world.users["analyst-b"],
            option_id=world.options[0],
            criterion_id=world.criteria[1],
            value="1",
        )
        option = option_service.create_option(
            session=session,
            decision_id=decision.id,
            actor_id=world.users["facilitator"],
            data={"title": "After import"},
        )
        assert option.id > max(o["id"] for o in one["options"])
    with target.app_context(), unit_of_work(write=False) as session:
        newest = session.scalar(select(Revision.id).order_by(Revision.id.desc()).limit(1))
        assert newest > max(r["id"] for r in one["revisions"])

    # A database that already holds the decision is refused, with nothing written.
    result = run(target, import_command, str(first))
    assert result.exit_code != 0 and "empty database" in result.output


def test_import_refuses_clashing_users_and_foreign_files(  # type: ignore[no-untyped-def]
    app: Flask, world: World, target: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "export.json"
    assert run(app, export_command, str(world.decision_id), "-o", str(path)).exit_code == 0
    with target.app_context(), unit_of_work() as session:
        session.add(User(username="analyst-a", display_name="Someone else", password_hash="!"))
    result = run(target, import_command, str(path))
    assert result.exit_code != 0 and "clashes with an existing account" in result.output
    with target.app_context(), unit_of_work(write=False) as session:
        assert session.scalars(select(Decision)).first() is None
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something-else"}))
    result = run(target, import_command, str(other))
    assert result.exit_code != 0 and "not an Options Matrix decision export" in result.output
    assert run(app, export_command, "999", "-o", str(other)).exit_code != 0


def test_password_hashes_travel_only_when_asked(  # type: ignore[no-untyped-def]
    app: Flask, world: World, target: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "with-hashes.json"
    result = run(
        app, export_command, str(world.decision_id), "-o", str(path), "--include-password-hashes"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(path.read_text())
    assert all(u["password_hash"].startswith("$argon2") for u in data["users"])
    assert run(target, import_command, str(path)).exit_code == 0
    acts = Actions(target.test_client())
    acts.login("observer", PASSWORD)
    assert acts.get(f"/decisions/{world.decision_id}/history").status_code == 200


def test_export_to_standard_output(app: Flask, world: World) -> None:
    result = run(app, export_command, str(world.decision_id))
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["decision"]["id"] == world.decision_id


def test_import_refuses_damaged_files_with_nothing_written(
    app: Flask, world: World, target: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "export.json"
    assert run(app, export_command, str(world.decision_id), "-o", str(path)).exit_code == 0
    good = json.loads(path.read_text())

    def damaged(change: Any) -> dict[str, Any]:
        data = json.loads(json.dumps(good))
        change(data)
        return data

    def forged_memo(data: dict[str, Any]) -> None:
        data["memos"] = [{"id": 1, "pdf": "UERG", "sha256": "0" * 64}]

    cases: list[tuple[Any, str]] = [
        ([], "not an Options Matrix decision export"),
        (damaged(lambda d: d.update(options={"id": 1})), "options: expected a list of objects"),
        (damaged(lambda d: d.update(decision=None)), "decision: expected an object"),
        (damaged(lambda d: d["users"][0].pop("id")), "integer id and a username"),
        (damaged(lambda d: d["options"][0].pop("id")), "lacks its id"),
        (
            damaged(lambda d: d["options"][0].update(created_at="yesterday")),
            "created_at: 'yesterday' is not a valid value",
        ),
        (damaged(forged_memo), "does not match its SHA-256"),
    ]
    for data, message in cases:
        path.write_text(json.dumps(data))
        result = run(target, import_command, str(path))
        assert result.exit_code != 0 and message in result.output, (message, result.output)
    path.write_text("{not json")
    result = run(target, import_command, str(path))
    assert result.exit_code != 0 and "is not JSON" in result.output
    with target.app_context(), unit_of_work(write=False) as session:
        assert session.scalars(select(Decision)).first() is None
        assert session.scalars(select(User)).first() is None
