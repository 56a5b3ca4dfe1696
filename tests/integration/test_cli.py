"""flask commands: create-user, set-password, seed-demo (idempotent), and the un-migrated
database guard."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from app.db.models import Decision, Member, Option, Revision, Score, User
from app.db.uow import unit_of_work


def count(app: Flask, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context(), unit_of_work() as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def test_seed_demo_is_idempotent(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "facilitator" in first.output and "demo-pass-123" in first.output
    counts = {m: count(app, m) for m in (User, Decision, Member, Option, Score, Revision)}
    assert counts[Decision] == 1 and counts[Option] == 5 and counts[Score] == 5 * 7 * 3
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "already present" in second.output
    assert {m: count(app, m) for m in counts} == counts


def test_demo_scores_differ_between_analysts(app: Flask) -> None:
    app.test_cli_runner().invoke(args=["seed-demo"])
    data_client = app.test_client()
    from tests.conftest import csrf_token

    with app.app_context(), unit_of_work() as session:
        from app.adapters.passwords import hash_password

        user = session.scalar(select(User).where(User.username == "observer"))
        user.password_hash = hash_password("observer-password")
    token = csrf_token(data_client)
    data_client.post(
        "/login",
        data={"username": "observer", "password": "observer-password", "csrf_token": token},
    )
    matrix = data_client.get("/api/decisions/1/matrix?include=scores").get_json()
    assert len(matrix["options"]) == 5 and len(matrix["criteria"]) == 7
    contested = [c for c in matrix["cells"] if c["contested"]]
    agreed = [c for c in matrix["cells"] if c["std"] == 0]
    assert contested and agreed
    assert all(
        len(c["scores"]) == 3 and all(s["rationale"] for s in c["scores"]) for c in matrix["cells"]
    )


def test_random_demo_passwords_are_printed_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"]).output
    assert "analyst-a" in first and "shown once" in first
    second = runner.invoke(args=["seed-demo"]).output
    assert "already exist" in second and "analyst-a " not in second


def test_create_user(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "dana", "--admin", "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    with app.app_context(), unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == "dana"))
        assert user.is_admin and user.password_hash.startswith("$argon2id$")
    again = runner.invoke(args=["create-user", "dana", "--password", "a-long-password"])
    assert again.exit_code != 0 and "taken" in again.output
    short = runner.invoke(args=["create-user", "eve", "--password", "short"])
    assert short.exit_code != 0 and "at least 10" in short.output


def test_set_password_logs_the_user_out_everywhere(app: Flask) -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(args=["create-user", "dana", "--password", "a-long-password"])
    assert created.exit_code == 0, created.output
    with app.app_context(), unit_of_work() as session:
        before = session.scalar(select(User).where(User.username == "dana"))
        old_hash, old_version = before.password_hash, before.session_version
    result = runner.invoke(args=["set-password", " Dana ", "--password", "another-long-password"])
    assert result.exit_code == 0, result.output
    assert "sessions are logged out" in result.output
    with app.app_context(), unit_of_work() as session:
        after = session.scalar(select(User).where(User.username == "dana"))
        assert after.password_hash != old_hash and after.password_hash.startswith("$argon2id$")
        assert after.session_version == old_version + 1
    short = runner.invoke(args=["set-password", "dana", "--password", "short"])
    assert short.exit_code != 0 and "at least 10" in short.output
    nobody = runner.invoke(args=["set-password", "nobody", "--password", "a-long-password"])
    assert nobody.exit_code != 0 and "No user is called 'nobody'" in nobody.output


def test_unmigrated_database_is_refused_with_the_fix(tmp_path: Path) -> None:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "SECRET_KEY": "x"})
    response = app.test_client().get("/login")
    assert response.status_code == 503
    assert "flask --app app init-db" in response.get_data(as_text=True)
    from app.db.migrate import SchemaNotCurrent, require_current_schema

    with pytest.raises(SchemaNotCurrent, match="init-db"):
        require_current_schema(app)
