"""Revisions in plain words: one sentence per entity kind, word diffs of edited texts and
score texts (the history presenter; no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.db.models import Revision
from app.services.history import Names, ScoreValue
from app.web.presenters.history import describe, score_text, value_text

NAMES = Names(
    users={1: "Morgan Hale", 2: "Priya Natarajan", 3: "Tom Becker"},
    options={10: "Joint drills"},
    criteria={20: "Escalation risk"},
)


def rev(**values: object) -> Revision:
    base: dict[str, object] = {
        "id": 7,
        "decision_id": 1,
        "actor_id": 1,
        "created_at": datetime(2021, 8, 5, tzinfo=UTC),
        "entity_id": "1",
        "option_id": None,
        "criterion_id": None,
        "round_number": None,
        "before": None,
        "after": None,
    }
    return Revision(**(base | values))


def score(value: float | None, rationale: str = "", na: bool = False) -> dict[str, object]:
    return {"analyst_id": 2, "value": value, "not_applicable": na, "rationale": rationale}


OPTION = {
    "title": "Joint drills",
    "summary": "Hold drills",
    "description": "",
    "status": "active",
    "position": 1,
    "version": 1,
}


@pytest.mark.parametrize(
    ("revision", "sentence"),
    [
        (
            rev(
                entity="score",
                action="update",
                actor_id=2,
                entity_id="2:10:20:2",
                option_id=10,
                criterion_id=20,
                round_number=2,
                before=score(3),
                after=score(4, "Termez drills"),
            ),
            "Priya Natarajan changed Joint drills on Escalation risk: 3 → 4, round 2 — “Termez drills”",
        ),
        (
            rev(
                entity="score",
                action="create",
                actor_id=2,
                entity_id="1:10:20:2",
                option_id=10,
                criterion_id=20,
                round_number=1,
                after=score(2.5),
            ),
            "Priya Natarajan scored Joint drills on Escalation risk: 2.5, round 1",
        ),
        (
            rev(
                entity="score",
                action="update",
                actor_id=2,
                entity_id="1:10:20:2",
                option_id=10,
                criterion_id=20,
                round_number=1,
                before=score(2),
                after=score(None, na=True),
            ),
            "Priya Natarajan changed Joint drills on Escalation risk: 2 → N/A, round 1",
        ),
        (
            rev(
                entity="score",
                action="update",
                actor_id=2,
                entity_id="1:10:20:2",
                option_id=10,
                criterion_id=20,
                round_number=1,
                before=score(2, "a"),
                after=score(2, "b"),
            ),
            "Priya Natarajan changed the rationale for Joint drills on Escalation risk, round 1 — “b”",
        ),
        (
            rev(entity="option", action="create", option_id=10, entity_id="10", after=OPTION),
            "Morgan Hale proposed the option “Joint drills” — “Hold drills”",
        ),
        (
            rev(
                entity="option",
                action="withdraw",
                option_id=10,
                entity_id="10",
                before=OPTION,
                after=OPTION | {"status": "withdrawn"},
            ),
            "Morgan Hale withdrew the option “Joint drills”",
        ),
        (
            rev(
                entity="option",
                action="restore",
                option_id=10,
                entity_id="10",
                before=OPTION | {"status": "withdrawn"},
                after=OPTION,
            ),
            "Morgan Hale restored the withdrawn option “Joint drills”",
        ),
        (
            rev(
                entity="option",
                action="update",
                option_id=10,
                entity_id="10",
                before=OPTION,
                after=OPTION | {"summary": "Hold joint drills", "description": "More."},
            ),
            "Morgan Hale edited “Joint drills”: summary and description",
        ),
        (
            rev(
                entity="criterion",
                action="update",
                criterion_id=20,
                entity_id="20",
                before={
                    "name": "Escalation risk",
                    "weight": 15.0,
                    "direction": "cost",
                    "description": "",
                },
                after={
                    "name": "Escalation risk",
                    "weight": 25.0,
                    "direction": "cost",
                    "description": "",
                },
            ),
            "Morgan Hale changed the criterion “Escalation risk”: weight 15 → 25",
        ),
        (
            rev(entity="round", action="open", round_number=2, entity_id="2"),
            "Morgan Hale opened round 2; analysts start from their round 1 scores",
        ),
        (rev(entity="round", action="reveal", round_number=1), "Morgan Hale revealed round 1"),
        (
            rev(
                entity="member",
                action="update",
                entity_id="3",
                before={"username": "analyst-b", "role": "observer"},
                after={"username": "analyst-b", "role": "analyst"},
            ),
            "Morgan Hale changed Tom Becker’s role: observer → analyst",
        ),
        (
            rev(
                entity="decision",
                action="update",
                entity_id="1",
                before={"scoring_mode": "open", "status": "scoring"},
                after={"scoring_mode": "blind", "status": "scoring"},
            ),
            "Morgan Hale changed the decision settings: scoring mode open → blind",
        ),
        (
            rev(
                entity="score",
                action="update",
                actor_id=None,
                entity_id="1:10:20:2",
                option_id=10,
                criterion_id=20,
                round_number=1,
                before=score(1),
                after=score(5),
            ),
            "Priya Natarajan changed Joint drills on Escalation risk: 1 → 5, round 1",
        ),
    ],
)
def test_sentences_in_plain_words(revision: Revision, sentence: str) -> None:
    assert describe(revision, NAMES).sentence == sentence


def test_option_edit_carries_word_diffs_per_field() -> None:
    entry = describe(
        rev(
            entity="option",
            action="update",
            option_id=10,
            entity_id="10",
            before=OPTION,
            after=OPTION | {"summary": "Hold joint drills"},
        ),
        NAMES,
    )
    [(label, html)] = entry.diffs
    assert label == "Summary" and "<ins>" in str(html) and "joint" in str(html)


def test_score_text() -> None:
    assert score_text(None) == "no score"
    assert score_text({"value": None, "not_applicable": False}) == "no score"
    assert score_text({"value": 4.0, "not_applicable": False}) == "4"
    assert score_text({"value": None, "not_applicable": True}) == "N/A"


@pytest.mark.parametrize(
    ("revision", "sentence"),
    [
        (
            rev(
                entity="criterion",
                action="create",
                criterion_id=20,
                entity_id="20",
                after={"name": "Escalation risk", "weight": 15.0, "direction": "cost"},
            ),
            "Morgan Hale added the criterion “Escalation risk” (cost, weight 15)",
        ),
        (
            rev(entity="decision", action="create", after={"title": "Central Asia"}),
            "Morgan Hale created the decision “Central Asia”",
        ),
        (
            rev(
                entity="decision",
                action="update",
                before={"question": "Why?", "name_analysts_in_memo": False},
                after={"question": "Why not?", "name_analysts_in_memo": True},
            ),
            "Morgan Hale changed the decision settings: question edited; "
            "analysts named in memos no → yes",
        ),
        (
            rev(
                entity="member",
                action="create",
                entity_id="3",
                after={"username": "analyst-b", "role": "analyst"},
            ),
            "Morgan Hale added Tom Becker as analyst",
        ),
        (
            rev(entity="round", action="done", actor_id=2, round_number=1),
            "Priya Natarajan marked their round 1 scoring done",
        ),
        (
            rev(entity="round", action="undone", actor_id=2, round_number=1),
            "Priya Natarajan reopened their round 1 scoring",
        ),
        (
            rev(
                entity="score",
                action="create",
                actor_id=2,
                entity_id="1:10:20:2",
                option_id=10,
                criterion_id=20,
                round_number=1,
                after=score(None, "Too early to say"),
            ),
            "Priya Natarajan wrote a rationale for Joint drills on Escalation risk, round 1"
            " — “Too early to say”",
        ),
        (
            rev(
                entity="score",
                action="update",
                actor_id=2,
                entity_id="1:10:20:2",
                option_id=10,
                criterion_id=20,
                round_number=1,
                before=score(3, "a"),
                after=score(3, "a"),
            ),
            "Priya Natarajan saved Joint drills on Escalation risk unchanged, round 1",
        ),
        (
            rev(
                entity="option",
                action="restore",
                option_id=10,
                entity_id="10",
                before=OPTION | {"summary": "Hold joint drills"},
                after=OPTION,
            ),
            "Morgan Hale restored an earlier text of “Joint drills”: summary",
        ),
        (
            rev(entity="memo", action="issue", entity_id="4"),
            "Morgan Hale recorded “issue” on memo 4",
        ),
    ],
)
def test_every_kind_of_change_reads_as_one_sentence(revision: Revision, sentence: str) -> None:
    assert describe(revision, NAMES).sentence == sentence


def test_criterion_description_edit_carries_a_word_diff() -> None:
    before = {"name": "Escalation risk", "weight": 15.0, "direction": "cost", "description": "Low"}
    entry = describe(
        rev(
            entity="criterion",
            action="update",
            criterion_id=20,
            entity_id="20",
            before=before,
            after=before | {"description": "High"},
        ),
        NAMES,
    )
    assert (
        entry.sentence == "Morgan Hale changed the criterion “Escalation risk”: description edited"
    )
    [(label, html)] = entry.diffs
    assert label == "Description" and "<del>" in str(html) and "<ins>" in str(html)


def test_value_text_reads_like_score_text() -> None:
    assert value_text(ScoreValue()) == "no score"
    assert value_text(ScoreValue(2.5, False)) == "2.5"
    assert value_text(ScoreValue(None, True)) == "N/A"
