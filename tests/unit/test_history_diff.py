"""Word-level diffs and plain-word descriptions of revisions (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.db.models import Revision
from app.services.history import Names, describe, diff_html, score_text, word_diff

words = st.lists(
    st.sampled_from(["the", "quick", "fox", "border", "drills", "CSTO", ",", ".", "–", "Ünïcode"]),
    max_size=25,
)
texts = st.builds(
    lambda ws, seps: "".join(w + s for w, s in zip(ws, seps, strict=False)),
    words,
    st.lists(st.sampled_from([" ", "  ", "\n", ""]), min_size=25, max_size=25),
)


@settings(deadline=None, max_examples=300)
@given(old=texts, new=texts)
def test_diff_gives_back_both_texts(old: str, new: str) -> None:
    segments = word_diff(old, new)
    assert "".join(t for op, t in segments if op != "insert") == old
    assert "".join(t for op, t in segments if op != "delete") == new
    assert all(t for _, t in segments)
    if old == new:
        assert all(op == "equal" for op, _ in segments)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("Hold drills", "Hold drills", [("equal", "Hold drills")]),
        ("", "New text", [("insert", "New text")]),
        ("Old text", "", [("delete", "Old text")]),
        (
            "Hold bilateral or multilateral exercises",
            "Hold bilateral exercises",
            [("equal", "Hold bilateral "), ("delete", "or multilateral "), ("equal", "exercises")],
        ),
        (
            "the quick brown fox",
            "a slow red fox",
            [("delete", "the quick brown"), ("insert", "a slow red"), ("equal", " fox")],
        ),
        (
            "risk is low.",
            "risk is high.",
            [("equal", "risk is "), ("delete", "low"), ("insert", "high"), ("equal", ".")],
        ),
    ],
)
def test_diff_examples(old: str, new: str, expected: list[tuple[str, str]]) -> None:
    assert word_diff(old, new) == expected


def test_diff_html_marks_changes_without_colour_and_escapes() -> None:
    html = str(diff_html("Keep <b>old</b> & go", "Keep <i>new</i> & go\nnext"))
    assert "<del>" in html and "<ins>" in html
    assert "[deleted: " in html and "[inserted: " in html  # spoken labels
    assert "<b>" not in html and "<i>" not in html
    assert "&lt;" in html and "&gt;" in html and "&amp;" in html
    assert "<br>" in html
    # A deletion followed by an insertion stays visibly apart.
    assert "</del> <ins>" in html


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
