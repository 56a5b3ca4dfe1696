"""A group view survives the trip through the shared cache unchanged."""

from __future__ import annotations

from app.services.group_view import CellGroup, GroupView


def test_a_view_round_trips_through_json() -> None:
    view = GroupView(
        decision_id=7,
        decision_created=1795863514.663134,
        round_number=2,
        change_number=41,
        revision=118,
        method="median",
        visible=True,
        layout="abc",
        weights={3: 0.25, 4: 0.75},
        previous={(1, 3): 2.5},
        cells={(1, 3): CellGroup(3.0, 0.5, 2.0, 4.0, 3, True), (1, 4): CellGroup()},
        totals={1: 62.5, 2: None},
        ranks={1: 1, 2: None},
        completeness={1: 1.0, 2: 0.5},
        coverage={1: 1.0, 2: 0.25},
        low={1: 62.5, 2: None},
        high={1: 62.5, 2: None},
        outranks=[(2, 1)],
        contributions={(1, 3): 12.5, (1, 4): None},
        scored={10: 2, 11: 0},
        done=frozenset({10}),
        analysts=[(10, "Ada"), (11, "Grace")],
    )
    assert GroupView.from_json(view.to_json()) == view
