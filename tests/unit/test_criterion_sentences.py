"""History sentences for changes to criteria (app.domain.labels.criterion_change_sentence)."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.labels import criterion_change_sentence

STATE: dict[str, Any] = {
    "name": "Escalation risk",
    "description": "How likely a move provokes a response.",
    "weight": 15.0,
    "direction": "cost",
    "status": "active",
    "anchors": [],
    "position": 2,
    "version": 1,
}


def sentence(action: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    return criterion_change_sentence("Morgan Hale", action, before, after, "criterion 20")


def test_create() -> None:
    assert sentence("create", {}, STATE) == (
        "Morgan Hale added the criterion “Escalation risk” (cost, weight 15)"
    )


def test_delete_names_the_criterion_from_its_last_state() -> None:
    assert sentence("delete", STATE, {}) == (
        "Morgan Hale removed the criterion “Escalation risk” from the draft"
    )


def test_delete_without_states_falls_back_to_the_given_name() -> None:
    assert criterion_change_sentence("A", "delete", {}, {}, "Cost") == (
        "A removed the criterion “Cost” from the draft"
    )


def test_retire_and_restore() -> None:
    retired = STATE | {"status": "retired", "version": 2}
    assert sentence("retire", STATE, retired) == (
        "Morgan Hale retired the criterion “Escalation risk”: out of totals and memos, its "
        "scores kept in history"
    )
    assert sentence("restore", retired, STATE | {"version": 3}) == (
        "Morgan Hale restored the retired criterion “Escalation risk”: back in totals and memos"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"weight": 25.0}, "weight 15 → 25"),
        ({"direction": "benefit"}, "direction cost → benefit"),
        ({"name": "Risk"}, "name “Escalation risk” → “Risk”"),
        ({"description": "Other."}, "description edited"),
        (
            {"anchors": ["Calm", "", "", "", ""]},
            "verbal anchors edited: point 1 default → “Calm”",
        ),
        ({"weight": 25.0, "description": ""}, "weight 15 → 25; description edited"),
    ],
)
def test_update(change: dict[str, Any], expected: str) -> None:
    after = STATE | change
    name = after["name"]
    assert sentence("update", STATE, after) == (
        f"Morgan Hale changed the criterion “{name}”: {expected}"
    )


def test_anchor_edits_and_reset() -> None:
    worded = STATE | {"anchors": ["Calm", "", "", "", "War"]}
    again = STATE | {"anchors": ["Calm", "", "Tense", "", ""]}
    assert sentence("update", worded, again).endswith(
        "verbal anchors edited: point 3 default → “Tense”, point 5 “War” → default"
    )
    assert sentence("update", worded, STATE).endswith("verbal anchors back to the defaults")


def test_revisions_from_before_status_and_anchors_read_as_unchanged() -> None:
    old = {k: v for k, v in STATE.items() if k not in ("status", "anchors")}
    assert sentence("update", old, STATE | {"weight": 20.0}) == (
        "Morgan Hale changed the criterion “Escalation risk”: weight 15 → 20"
    )
