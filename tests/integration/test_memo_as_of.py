"""An issued memo links to the "as of" view of the revision it reflects; both show one matrix."""

from __future__ import annotations

import re

from flask import Flask

from app.db.models import Memo
from app.db.uow import unit_of_work
from tests.conftest import Actions
from tests.factories import World
from tests.integration.test_memos import FORM, issued_id, score_world


def test_memo_and_its_as_of_view_show_the_same_matrix(as_role, app: Flask, world: World) -> None:  # type: ignore[no-untyped-def]
    score_world(app, world)
    facilitator: Actions = as_role("facilitator")
    memo_id = issued_id(facilitator.post(f"/decisions/{world.decision_id}/memos", FORM))
    with app.app_context(), unit_of_work() as session:
        memo = session.get(Memo, memo_id)
        assert memo is not None
        revision, rows = memo.revision_id, memo.snapshot["matrix"]["rows"]
    # Later changes move the live matrix away from the memo.
    analyst = as_role("analyst-a")
    for option in world.options:
        analyst.post(
            f"/decisions/{world.decision_id}/matrix/scores",
            {"option_id": option, "criterion_id": world.criteria[1], "value": "5"},
            htmx=True,
        )

    listing = facilitator.get(f"/decisions/{world.decision_id}/memos").get_data(as_text=True)
    link = f"/decisions/{world.decision_id}/history/as-of?revision={revision}"
    assert link in listing.replace("&amp;", "&")
    as_of = facilitator.get(link)
    assert as_of.status_code == 200
    html = as_of.get_data(as_text=True)
    live = facilitator.get(f"/api/decisions/{world.decision_id}/matrix").get_json()
    live_totals = {o["id"]: o["total"] for o in live["options"]}
    differs = False
    for row in rows:
        shown = re.search(rf'id="total-{row["option_id"]}"[^>]*>\s*([0-9.]+)', html)
        assert shown, row["option_id"]
        assert shown.group(1) == f"{row['total']:.1f}"
        rank = re.search(rf'id="rank-{row["option_id"]}"[^>]*>\s*(\d+)', html)
        assert rank and int(rank.group(1)) == row["rank"]
        differs |= abs(live_totals[row["option_id"]] - row["total"]) > 0.05
    assert differs, "the later scores should have moved the live matrix"
