"""Comments and Word copies travel with a decision's export: a thread with a reply and a memo
with its Word copy come back identical, and a Word copy that does not match its SHA-256, or a
reply to a comment the file lacks, is refused before anything is written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.cli.transfer import export_command, import_command
from app.db.conversation import Comment
from app.db.models import Decision, Memo, Revision, User
from app.db.uow import unit_of_work
from app.services import comments as comment_service
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from tests.factories import World
from tests.integration.test_history_transfer import run, target  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


def _converse(world: World) -> None:
    with unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        first = comment_service.post_comment(
            session=session,
            decision=decision,
            actor_id=world.users["analyst-a"],
            option_id=world.options[0],
            criterion_id=world.criteria[0],
            body="Why **so low**? <script>x</script>",
        )
        comment_service.post_comment(
            session=session,
            decision=decision,
            actor_id=world.users["facilitator"],
            option_id=world.options[0],
            criterion_id=world.criteria[0],
            body="Because of the basing costs.",
            parent_id=first.id,
        )
        comment_service.post_comment(
            session=session,
            decision=decision,
            actor_id=world.users["analyst-a"],
            option_id=world.options[1],
            criterion_id=None,
            body="On the option as a whole.",
        )
        pdf, docx = b"%PDF-1.7 memo", b"PK\x03\x04 word copy"
        session.add(
            Memo(
                decision_id=world.decision_id,
                number=1,
                round_number=1,
                issued_by=world.users["facilitator"],
                subject="Memo",
                pdf=pdf,
                size=len(pdf),
                sha256=hashlib.sha256(pdf).hexdigest(),
                docx=docx,
                docx_sha256=hashlib.sha256(docx).hexdigest(),
                snapshot={"memo": 1},
                snapshot_sha256="0" * 64,
                app_version="0.1.0",
            )
        )


def _export(app: Flask, world: World, path: Path) -> dict[str, Any]:
    result = run(app, export_command, str(world.decision_id), "-o", str(path))
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_comments_and_word_copies_round_trip(
    app: Flask,
    world: World,
    target: Flask,  # noqa: F811
    tmp_path: Path,
) -> None:
    with app.app_context():
        _converse(world)
    data = _export(app, world, tmp_path / "out.json")
    assert [c["body"] for c in data["comments"]] == [
        "Why **so low**? <script>x</script>",
        "Because of the basing costs.",
        "On the option as a whole.",
    ]
    assert data["comments"][1]["parent_id"] == data["comments"][0]["id"]
    assert [r["entity"] for r in data["revisions"]].count("comment") == 3
    result = run(target, import_command, str(tmp_path / "out.json"))
    assert result.exit_code == 0, result.output
    again = _export(target, world, tmp_path / "again.json")
    assert again["comments"] == data["comments"]
    assert again["memos"] == data["memos"]
    with target.app_context(), unit_of_work() as session:
        memo = session.scalars(select(Memo)).one()
        assert memo.docx == b"PK\x03\x04 word copy"
        entities = session.scalars(select(Revision.entity)).all()
        assert entities.count("comment") == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["memos"][0].update(docx_sha256="f" * 64), "Word copy does not match"),
        (lambda d: d["comments"][1].update(parent_id=999_999), "parent_id 999999 is not in"),
        (lambda d: d["comments"][0].update(author_id=999_999), "author_id 999999 is not in"),
        (
            lambda d: next(r for r in d["revisions"] if r["entity"] == "comment").update(
                entity_id="999999"
            ),
            "comment '999999' is not in the file",
        ),
    ],
)
def test_a_broken_file_is_refused_whole(
    app: Flask,
    world: World,
    target: Flask,  # noqa: F811
    tmp_path: Path,
    change: Any,
    message: str,
) -> None:
    with app.app_context():
        _converse(world)
    data = _export(app, world, tmp_path / "out.json")
    change(data)
    (tmp_path / "bad.json").write_text(json.dumps(data))
    result = run(target, import_command, str(tmp_path / "bad.json"))
    assert result.exit_code != 0
    assert message in result.output
    with target.app_context(), unit_of_work() as session:
        assert session.scalars(select(Comment)).first() is None
        assert session.scalars(select(Memo)).first() is None


def test_a_criterion_removed_from_a_draft_travels_in_its_revisions(
    app: Flask,
    world: World,
    target: Flask,  # noqa: F811
    tmp_path: Path,
) -> None:
    with app.app_context(), unit_of_work() as session:
        admin = session.get(User, world.users["facilitator"])
        assert admin is not None
        draft = decision_service.create_decision(
            session=session, actor=admin, data={"title": "Draft", "scoring_mode": "blind"}
        )
        kept = criteria_service.create_criterion(
            session=session,
            decision_id=draft.id,
            actor_id=admin.id,
            data={"name": "Kept", "weight": "1"},
        )
        typo = criteria_service.create_criterion(
            session=session,
            decision_id=draft.id,
            actor_id=admin.id,
            data={"name": "Cots", "weight": "1"},
        )
        draft_id, kept_id, typo_id = draft.id, kept.id, typo.id
    with app.app_context(), unit_of_work() as session:
        criteria_service.delete_criterion(
            session=session, decision_id=draft_id, criterion_id=typo_id, actor_id=admin.id
        )
    result = run(app, export_command, str(draft_id), "-o", str(tmp_path / "draft.json"))
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "draft.json").read_text())
    assert [c["id"] for c in data["criteria"]] == [kept_id]
    assert any(
        r["entity"] == "criterion" and r["action"] == "delete" and r["entity_id"] == str(typo_id)
        for r in data["revisions"]
    )
    # A revision naming a criterion that neither exists nor was removed is still refused.
    forged = json.loads((tmp_path / "draft.json").read_text())
    next(r for r in forged["revisions"] if r["action"] == "delete").update(action="update")
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    assert "is not in the file" in run(target, import_command, str(tmp_path / "forged.json")).output
    result = run(target, import_command, str(tmp_path / "draft.json"))
    assert result.exit_code == 0, result.output
