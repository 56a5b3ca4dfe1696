"""The one serialisation of the matrix: its visibility rule, and the API, the CSV download and
the memo snapshot reading the same numbers from it."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask import Flask

from app.db.models import Decision, Role
from app.db.uow import unit_of_work
from app.services import memos as memo_service
from app.services import scores as score_service
from app.services.matrix import build_matrix
from app.services.matrix_data import MatrixData, finite, matrix_data
from app.web.print import MEMO_PRINTER
from tests.factories import World

# (option index, criterion index) → (analyst-a, analyst-b); criteria: benefit 60, cost 40.
SCORES = {(0, 0): (1, 5), (0, 1): (2, 2), (1, 0): (4, 3), (1, 1): (3, 4)}


def score(app: Flask, world: World, *, blind: bool = False) -> None:
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        if blind:
            decision.scoring_mode = "blind"
            session.add(decision)
        for (i, j), pair in SCORES.items():
            for analyst, value in zip(("analyst-a", "analyst-b"), pair, strict=True):
                score_service.save_score(
                    session=session,
                    decision=decision,
                    analyst_id=world.users[analyst],
                    option_id=world.options[i],
                    criterion_id=world.criteria[j],
                    value=str(value),
                    rationale=f"{analyst} on {i}/{j}",
                )


def data_for(app: Flask, world: World, username: str, role: Role) -> MatrixData:
    with app.app_context(), unit_of_work(write=False) as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        m = build_matrix(
            session=session, decision=decision, viewer_id=world.users[username], role=role
        )
        return matrix_data(m)


def test_an_unrevealed_blind_round_shows_only_the_viewers_own_scores(
    app: Flask, world: World
) -> None:
    score(app, world, blind=True)
    data = data_for(app, world, "analyst-a", Role.ANALYST)
    assert data["group_visible"] is False
    assert all(o["total"] is None and o["rank"] is None for o in data["options"])
    for cell in data["cells"]:
        assert cell["value"] is None and cell["count"] is None and cell["scores"] is None
        assert cell["contribution"] is None and cell["contested"] is None
        assert cell["mine"] is not None and cell["mine"]["rationale"].startswith("analyst-a")
    facilitator = data_for(app, world, "facilitator", Role.FACILITATOR)
    assert all(c["mine"] is None and c["value"] is None for c in facilitator["cells"])


def test_cells_run_option_by_option_in_criterion_order(app: Flask, world: World) -> None:
    score(app, world)
    data = data_for(app, world, "observer", Role.OBSERVER)
    assert [(c["option_id"], c["criterion_id"]) for c in data["cells"]] == [
        (o, c) for o in world.options for c in world.criteria
    ]
    contested = [c for c in data["cells"] if c["contested"]]
    assert [(c["option_id"], c["criterion_id"]) for c in contested] == [
        (world.options[0], world.criteria[0])
    ]
    assert [s["analyst"] for s in contested[0]["scores"] or []] == ["Analyst A", "Analyst B"]
    assert [c["weight_normalised"] for c in data["criteria"]] == pytest.approx([0.6, 0.4])


def test_api_csv_and_snapshot_read_the_same_numbers(app: Flask, world: World, as_role: Any) -> None:
    score(app, world)
    observer = as_role("observer")
    data = data_for(app, world, "observer", Role.OBSERVER)
    totals = {o["id"]: o["total"] for o in data["options"]}

    api = observer.get(f"/api/decisions/{world.decision_id}/matrix").get_json()
    assert {o["id"]: o["total"] for o in api["options"]} == {
        k: round(v or 0, 6) for k, v in totals.items()
    }

    body = observer.get(f"/decisions/{world.decision_id}/export/matrix.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    by_title = {row[0]: row for row in rows[2:]}
    for o in data["options"]:
        assert float(by_title[o["title"]][-2]) == pytest.approx(o["total"] or 0, abs=0.01)

    with app.app_context():
        form = memo_service.parse_form(
            {
                "memorandum_for": "x",
                "from_line": "y",
                "subject": "z",
                "bottom_line": "b",
                "sections": [],
            }
        )
        with unit_of_work(write=False) as session:
            snapshot = memo_service.take_snapshot(
                session=session,
                decision_id=world.decision_id,
                issuer=None,
                form=form,
                printer=MEMO_PRINTER,
            )
    rows_ = {r["option_id"]: r for r in snapshot["matrix"]["rows"]}
    assert {k: r["total"] for k, r in rows_.items()} == {k: finite(v) for k, v in totals.items()}
    first = rows_[world.options[0]]["cells"][0]
    cell = data["cells"][0]
    assert (first["value"], first["min"], first["max"], first["count"]) == (
        cell["value"],
        cell["min"],
        cell["max"],
        cell["count"],
    )
