"""The missing-score policy end to end: the facilitator's setting (recorded as a revision,
refused to others), the overview and the memo stating the policy, weight coverage, ranges and
the "ranks above only through missing scores" sentence, and robustness following the policy.

World: options Intelligence sharing (0) and Joint drills (1); criteria Acceptability (benefit,
weight 60) and Escalation risk (cost, weight 40); scale 1-5. Both analysts score Acceptability
4 for both options (utility 0.75) and Escalation risk 3 for Joint drills (cost: utility 0.5);
Intelligence sharing's Escalation risk is N/A for analyst-a and empty for analyst-b:

* skip:     Intelligence sharing 75 (first), Joint drills 0.6 * 0.75 + 0.4 * 0.5 = 65;
* midpoint: Intelligence sharing 0.6 * 0.75 + 0.4 * 0.5 = 65, level with Joint drills;
* worst:    Intelligence sharing 0.6 * 0.75 = 45, second.

Intelligence sharing's total rests on 60 % of the weight and could lie anywhere from 45 (its
gap at the worst) to 85 (at the best). Under skip it ranks above Joint drills though on the
one criterion both were scored on (Acceptability) they are level.
"""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import select
from sqlmodel import col

from app.db.models import Decision, Revision
from app.db.uow import unit_of_work
from app.domain import analysis
from tests.factories import World

SENTENCE = (
    "Intelligence sharing ranks above Joint drills only through missing scores: on the "
    "criteria both were scored on (Acceptability), Intelligence sharing does not score higher "
    "than Joint drills."
)
# (analyst, option index, criterion index) → value ("na": N/A)
SCORES = [
    ("analyst-a", 0, 0, "4"),
    ("analyst-b", 0, 0, "4"),
    ("analyst-a", 0, 1, "na"),
    ("analyst-a", 1, 0, "4"),
    ("analyst-b", 1, 0, "4"),
    ("analyst-a", 1, 1, "3"),
    ("analyst-b", 1, 1, "3"),
]
MEMO_FORM = {
    "memorandum_for": "The Principal",
    "from_line": "Morgan Hale",
    "subject": "Test decision",
    "bottom_line": "We recommend **Joint drills**.",
    "sections": ["chart", "robustness"],
}


def score(as_role: Any, world: World) -> None:
    for analyst, i, j, value in SCORES:
        response = as_role(analyst).post(
            f"/decisions/{world.decision_id}/matrix/scores",
            {
                "option_id": str(world.options[i]),
                "criterion_id": str(world.criteria[j]),
                "value": value,
            },
            htmx=True,
        )
        assert response.status_code == 200


def set_policy(acts: Any, world: World, policy: str) -> Any:
    return acts.post(f"/decisions/{world.decision_id}/settings", {"missing_policy": policy})


def stored_policy(app: Flask, world: World) -> str:
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        return decision.missing_policy


def text_of(response: Any) -> str:
    """The page's text without tags, spaces collapsed."""
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html_lib.unescape(text).replace("\u00a0", " ").split())


# --- the setting -------------------------------------------------------------------------------


def test_a_new_decision_skips_missing_scores(app: Flask, world: World) -> None:
    assert stored_policy(app, world) == "skip"


def test_the_facilitator_sets_the_policy_and_it_is_recorded(
    app: Flask, world: World, as_role: Any
) -> None:
    fac = as_role("facilitator")
    page = text_of(fac.get(f"/decisions/{world.decision_id}/matrix"))
    assert "Missing or N/A scores" in page and "Counted at the scale's midpoint" in page
    assert set_policy(fac, world, "midpoint").status_code == 303
    assert stored_policy(app, world) == "midpoint"
    with app.app_context(), unit_of_work() as session:
        last = session.scalars(
            select(Revision)
            .where(
                col(Revision.decision_id) == world.decision_id, col(Revision.entity) == "decision"
            )
            .order_by(col(Revision.id).desc())
        ).first()
        assert last is not None and last.actor_id == world.users["facilitator"]
        assert last.before is not None and last.after is not None
        assert (last.before["missing_policy"], last.after["missing_policy"]) == ("skip", "midpoint")
    overview = text_of(fac.get(f"/decisions/{world.decision_id}"))
    assert "Missing scores counted at the scale's midpoint" in overview


@pytest.mark.parametrize("username", ["analyst-a", "observer"])
def test_only_the_facilitator_may_change_it(
    app: Flask, world: World, as_role: Any, username: str
) -> None:
    assert set_policy(as_role(username), world, "worst").status_code == 403
    assert stored_policy(app, world) == "skip"


def test_an_unknown_policy_is_refused(app: Flask, world: World, as_role: Any) -> None:
    response = set_policy(as_role("facilitator"), world, "zero")
    assert response.status_code == 422
    assert stored_policy(app, world) == "skip"


# --- what the overview and the memo say --------------------------------------------------------


def test_the_overview_shows_coverage_range_and_the_sentence(world: World, as_role: Any) -> None:
    score(as_role, world)
    page = text_of(as_role("observer").get(f"/decisions/{world.decision_id}"))
    assert "Missing scores: skipped, weights rescaled." in page
    assert "Intelligence sharing 75.0 60 % 45.0–85.0" in page
    assert "Joint drills 65.0 100 % fully scored" in page
    assert SENTENCE in page
    # Under the worst policy Intelligence sharing drops to 45 and the sentence goes.
    set_policy(as_role("facilitator"), world, "worst")
    page = text_of(as_role("observer").get(f"/decisions/{world.decision_id}"))
    assert "Missing scores: counted at the scale's worst." in page
    assert "Intelligence sharing 45.0 60 % 45.0–85.0" in page
    assert SENTENCE not in page


def test_the_memo_states_the_policy_and_the_figures(app: Flask, world: World, as_role: Any) -> None:
    score(as_role, world)
    fac = as_role("facilitator")
    memo = text_of(fac.post(f"/decisions/{world.decision_id}/memos/preview", MEMO_FORM))
    assert "Missing scores: skipped, weights rescaled." in memo
    assert "Intelligence sharing 75.0 60 % 45.0–85.0" in memo
    assert "Joint drills 65.0 100 % fully scored" in memo
    assert SENTENCE in memo
    assert "missing scores: skip;" in memo  # the reproducibility stamp
    set_policy(fac, world, "midpoint")
    memo = text_of(fac.post(f"/decisions/{world.decision_id}/memos/preview", MEMO_FORM))
    assert "Missing scores: counted at the scale's midpoint." in memo
    # The memo's matrix follows the policy: 65.0 level with Joint drills, both first.
    assert "Intelligence sharing 65.0 60 % 45.0–85.0" in memo
    assert SENTENCE not in memo
    assert "missing scores: midpoint;" in memo


# --- robustness --------------------------------------------------------------------------------


def tensor() -> np.ndarray:
    x = np.full((2, 2, 2), np.nan)
    for analyst, i, j, value in SCORES:
        if value != "na":
            x[("analyst-a", "analyst-b").index(analyst), i, j] = float(value)
    return x


@pytest.mark.parametrize(
    ("policy", "totals"),
    [("skip", [75.0, 65.0]), ("midpoint", [65.0, 65.0]), ("worst", [45.0, 65.0])],
)
def test_robustness_follows_the_policy(
    world: World, as_role: Any, policy: str, totals: list[float]
) -> None:
    score(as_role, world)
    set_policy(as_role("facilitator"), world, policy)
    data = as_role("observer").get(f"/api/decisions/{world.decision_id}/analysis").get_json()
    assert data["missing_policy"] == policy
    assert data["reproducibility"]["missing_policy"] == policy
    by_id = {o["id"]: o for o in data["options"]}
    assert [by_id[o]["total"] for o in world.options] == pytest.approx(totals)
    expected = analysis.run_smaa(
        tensor(),
        [60, 40],
        ["benefit", "cost"],
        analysis.Scale(1, 5),
        samples=10_000,
        seed=0,
        band=0.05,
        score_model="panel",
        method="mean",
        missing=policy,
    )
    for i, option_id in enumerate(world.options):
        assert by_id[option_id]["first_rank_probability"] == pytest.approx(
            expected.first_rank_acceptability[i], abs=1e-6
        )
    missing = data["missing"]
    assert missing["policy"] == policy
    assert missing["incomplete"] == [world.options[0]]
    first = next(o for o in missing["options"] if o["option_id"] == world.options[0])
    assert first["coverage"] == pytest.approx(0.6)
    assert (first["low"], first["high"]) == pytest.approx((45.0, 85.0))
    assert [x["sentence"] for x in missing["outranks"]] == ([SENTENCE] if policy == "skip" else [])
