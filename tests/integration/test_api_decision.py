"""The decision as JSON: its fields come from the read models, in the shape clients rely on."""

from __future__ import annotations

from typing import Any

from tests.factories import World


def test_decision_json_shape(as_role: Any, world: World) -> None:
    data = as_role("observer").get(f"/api/decisions/{world.decision_id}").get_json()
    assert set(data) == {
        "id",
        "title",
        "question",
        "background",
        "scale",
        "classification",
        "status",
        "scoring_mode",
        "round",
        "your_role",
        "options",
        "criteria",
        "members",
    }
    assert data["id"] == world.decision_id
    assert data["title"] == "Test decision"
    assert data["scale"] == {"min": 1, "max": 5}
    assert data["your_role"] == "observer"
    assert [o["id"] for o in data["options"]] == world.options
    assert set(data["options"][0]) == {"id", "title", "summary", "description", "status", "version"}
    assert data["options"][0]["title"] == "Intelligence sharing"
    assert data["options"][0]["status"] == "active"
    assert [c["id"] for c in data["criteria"]] == world.criteria
    first = data["criteria"][0]
    assert set(first) == {"id", "name", "description", "weight", "direction", "weight_normalised"}
    assert (first["name"], first["weight"], first["direction"]) == ("Acceptability", 60, "benefit")
    assert abs(first["weight_normalised"] - 0.6) < 1e-12
