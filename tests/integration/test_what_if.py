"""Private what-if weights: who may see the page, what figures it rests on under the blind
rules, that trying weights saves nothing, and the facilitator's adoption (recorded, refused
when stale or invalid, with nothing written).

World: options Intelligence sharing and Joint drills; criteria Acceptability (benefit, weight
60) and Escalation risk (cost, weight 40); scale 1-5. In the open round both analysts score:

    analyst-a: Intelligence sharing 5 / 5, Joint drills 2 / 1
    analyst-b: Intelligence sharing 5 / 4, Joint drills 2 / 2

Group values: Intelligence sharing 5 (utility 1) and 4.5 (cost: 0.125); Joint drills 2 (0.25)
and 1.5 (0.875). Agreed 60/40: Intelligence sharing 65.0, Joint drills 50.0. Tried 20/80:
Intelligence sharing 30.0, Joint drills 75.0 — Joint drills first.
"""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlmodel import col

from app.db.models import Criterion, Decision, Revision, Role
from app.db.uow import unit_of_work
from app.domain import analysis
from app.services import criteria as criteria_service
from app.services import what_if as what_if_service
from app.services.matrix import build_matrix
from tests.factories import World

OPEN_SCORES = [
    ("analyst-a", 0, 0, "5"),
    ("analyst-a", 0, 1, "5"),
    ("analyst-a", 1, 0, "2"),
    ("analyst-a", 1, 1, "1"),
    ("analyst-b", 0, 0, "5"),
    ("analyst-b", 0, 1, "4"),
    ("analyst-b", 1, 0, "2"),
    ("analyst-b", 1, 1, "2"),
]
# Blind round: analyst-a scored only Acceptability; analyst-b everything.
BLIND_SCORES = [
    ("analyst-a", 0, 0, "1"),
    ("analyst-a", 1, 0, "5"),
    ("analyst-b", 0, 0, "5"),
    ("analyst-b", 0, 1, "1"),
    ("analyst-b", 1, 0, "1"),
    ("analyst-b", 1, 1, "5"),
]
TOTAL_RE = re.compile(
    r'<th scope="row">([^<]+?)\s*(?:<span[^>]*>[^<]*</span>)?</th>\s*'
    r'<td class="what-if-total">([^<]*)</td>'
)


def url(world: World, suffix: str = "") -> str:
    return f"/decisions/{world.decision_id}/what-if{suffix}"


def score(as_role: Any, world: World, scores: list[tuple[str, int, int, str]]) -> None:
    for analyst, i, j, value in scores:
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


def go_blind(as_role: Any, world: World) -> None:
    response = as_role("facilitator").post(
        f"/decisions/{world.decision_id}/settings", {"scoring_mode": "blind"}
    )
    assert response.status_code == 303


def text_of(response: Any) -> str:
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html_lib.unescape(text).replace("\u00a0", " ").split())


def totals_of(response: Any) -> dict[str, str]:
    """The what-if ranking's totals by option title, as printed."""
    return {t.strip(): v for t, v in TOTAL_RE.findall(response.get_data(as_text=True))}


def tried(world: World, a: str, b: str) -> dict[str, str]:
    return {f"w-{world.criteria[0]}": a, f"w-{world.criteria[1]}": b}


def versions(app: Flask, world: World) -> dict[str, str]:
    with app.app_context(), unit_of_work() as session:
        return {f"v-{c}": str(session.get_one(Criterion, c).version) for c in world.criteria}


def weights(app: Flask, world: World) -> list[float]:
    with app.app_context(), unit_of_work() as session:
        return [session.get_one(Criterion, c).weight for c in world.criteria]


def criterion_revisions(app: Flask, world: World) -> list[Revision]:
    with app.app_context(), unit_of_work() as session:
        rows = session.scalars(
            select(Revision)
            .where(
                col(Revision.decision_id) == world.decision_id,
                col(Revision.entity) == "criterion",
                col(Revision.action) == "update",
            )
            .order_by(col(Revision.id))
        )
        found = list(rows)
        session.expunge_all()
        return found


def revision_count(app: Flask, world: World) -> int:
    with app.app_context(), unit_of_work() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Revision)
                .where(col(Revision.decision_id) == world.decision_id)
            )
            or 0
        )


# --- who may see it ----------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["facilitator", "analyst-a", "observer"])
def test_every_member_sees_the_page(world: World, as_role: Any, username: str) -> None:
    response = as_role(username).get(url(world))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'type="range"' in page and "Reset to the agreed weights" in page
    for c in world.criteria:  # a labelled slider and a labelled exact box per criterion
        assert re.search(f'<label [^>]*for="wi-range-{c}"', page)
        assert f'<label for="wi-num-{c}"' in page
    assert 'aria-live="polite"' in page
    assert ("Adopt these weights" in page) == (username == "facilitator")


def test_outsiders_and_anonymous_visitors_are_kept_out(
    world: World, as_role: Any, client: Any
) -> None:
    assert as_role("outsider").get(url(world)).status_code == 404
    response = client.get(url(world))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the figures -------------------------------------------------------------------------------


def test_the_agreed_weights_give_the_matrix_totals(world: World, as_role: Any) -> None:
    score(as_role, world, OPEN_SCORES)
    acts = as_role("observer")
    page = acts.get(url(world))
    assert totals_of(page) == {"Intelligence sharing": "65.0", "Joint drills": "50.0"}
    assert "Intelligence sharing still ranks first." in text_of(page)
    matrix = acts.get(f"/decisions/{world.decision_id}/matrix").get_data(as_text=True)
    for option_id, total in zip(world.options, ("65.0", "50.0"), strict=True):
        assert f'<span id="total-{option_id}">{total}' in matrix


def test_tried_weights_change_totals_ranks_and_verdict_and_save_nothing(
    app: Flask, world: World, as_role: Any
) -> None:
    score(as_role, world, OPEN_SCORES)
    before = revision_count(app, world)
    acts = as_role("analyst-a")
    page = acts.get(url(world), query_string=tried(world, "20", "80"))
    assert page.status_code == 200
    assert totals_of(page) == {"Joint drills": "75.0", "Intelligence sharing": "30.0"}
    text = text_of(page)
    assert "With these weights, Joint drills ranks first instead of Intelligence sharing." in text
    assert "up 1 place" in text and "down 1 place" in text
    assert "Not saved: only you see these weights." in text
    assert weights(app, world) == [60.0, 40.0]
    assert revision_count(app, world) == before


def test_the_sliders_fragment_is_the_ranking_with_shares_out_of_band(
    world: World, as_role: Any
) -> None:
    score(as_role, world, OPEN_SCORES)
    response = as_role("observer").get(
        url(world),
        query_string=tried(world, "1", "3"),
        htmx=True,
        target="what-if-results",
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "HX-Request" in response.headers.get("Vary", "")
    assert body.lstrip().startswith('<section id="what-if-results"')
    c1, c2 = world.criteria
    assert f'<output id="wi-share-{c1}"' in body and "25.0 %" in body
    assert f'<output id="wi-share-{c2}"' in body and "75.0 %" in body
    assert 'data-verdict="With these weights, Joint drills ranks first instead of' in body


def test_a_non_trivial_weight_vector_matches_the_domain_maths(world: World, as_role: Any) -> None:
    score(as_role, world, OPEN_SCORES)
    raw = [37.5, 21.25]
    page = as_role("analyst-b").get(url(world), query_string=tried(world, *map(str, raw)))
    group = np.array([[[5.0, 4.5], [2.0, 1.5]]])
    ev = analysis.evaluate(group, raw, ["benefit", "cost"], analysis.Scale(1, 5))
    expected = {
        "Intelligence sharing": f"{ev.totals[0]:.1f}",
        "Joint drills": f"{ev.totals[1]:.1f}",
    }
    assert totals_of(page) == expected


@pytest.mark.parametrize("policy", ["skip", "midpoint", "worst"])
def test_at_the_agreed_weights_the_figures_are_exactly_the_matrix(
    app: Flask, world: World, as_role: Any, policy: str
) -> None:
    score(as_role, world, OPEN_SCORES[:-1])  # one cell missing: the policy counts
    as_role("facilitator").post(
        f"/decisions/{world.decision_id}/settings", {"missing_policy": policy}
    )
    with app.app_context(), unit_of_work() as session:
        decision = session.get_one(Decision, world.decision_id)
        m = build_matrix(
            session=session,
            decision=decision,
            viewer_id=world.users["observer"],
            role=Role.OBSERVER,
        )
        basis = what_if_service.basis_from_matrix(m)
        result = what_if_service.outcome(basis, basis.agreed)
        assert result.totals == m.totals and result.ranks == m.ranks
        assert result.coverage == m.coverage


@pytest.mark.parametrize("value", ["-1", "abc", "", "2000000"])
def test_an_invalid_weight_tried_is_named_and_nothing_is_written(
    app: Flask, world: World, as_role: Any, value: str
) -> None:
    before = revision_count(app, world)
    response = as_role("analyst-a").get(
        url(world), query_string=tried(world, value, "40"), htmx=True, target="what-if-results"
    )
    assert response.status_code == 422
    assert "The weight of Acceptability must be" in text_of(response)
    assert f'data-invalid="wi-num-{world.criteria[0]} "' in response.get_data(as_text=True)
    assert revision_count(app, world) == before


# --- the blind rules ---------------------------------------------------------------------------


def test_in_a_blind_round_an_analyst_sees_only_their_own_scores(world: World, as_role: Any) -> None:
    go_blind(as_role, world)
    score(as_role, world, BLIND_SCORES)
    a = as_role("analyst-a").get(url(world))
    # analyst-a's own: Acceptability 1 and 5, nothing else: 0.0 and 100.0.
    assert totals_of(a) == {"Joint drills": "100.0", "Intelligence sharing": "0.0"}
    assert "uses only your own scores" in text_of(a)
    # analyst-b's own: Intelligence sharing 5 / 1 (cost) = 100.0, Joint drills 1 / 5 = 0.0.
    b = as_role("analyst-b").get(url(world), query_string=tried(world, "50", "50"))
    assert totals_of(b) == {"Intelligence sharing": "100.0", "Joint drills": "0.0"}
    # The group (70.0 and 30.0 at the agreed weights) reaches neither of them.
    for response in (a, b):
        body = response.get_data(as_text=True)
        assert "70.0" not in body and "30.0" not in body


@pytest.mark.parametrize("username", ["facilitator", "observer"])
def test_in_a_blind_round_others_have_nothing_to_compare(
    world: World, as_role: Any, username: str
) -> None:
    go_blind(as_role, world)
    score(as_role, world, BLIND_SCORES)
    for response in (
        as_role(username).get(url(world)),
        as_role(username).get(
            url(world), query_string=tried(world, "1", "9"), htmx=True, target="what-if-results"
        ),
    ):
        assert response.status_code == 200
        assert "Nothing to compare until the round is revealed." in text_of(response)
        assert totals_of(response) == {}
        assert "what-if-total" not in response.get_data(as_text=True)


def test_after_the_reveal_everyone_compares_the_group_values(world: World, as_role: Any) -> None:
    go_blind(as_role, world)
    score(as_role, world, BLIND_SCORES)
    fac = as_role("facilitator")
    assert fac.post(f"/decisions/{world.decision_id}/rounds/reveal").status_code == 303
    for username in ("facilitator", "observer", "analyst-a"):
        page = as_role(username).get(url(world))
        assert totals_of(page) == {"Intelligence sharing": "70.0", "Joint drills": "30.0"}


# --- adopting ----------------------------------------------------------------------------------


def test_the_facilitator_adopts_a_what_if_as_recorded_changes(
    app: Flask, world: World, as_role: Any
) -> None:
    fac = as_role("facilitator")
    response = fac.post(url(world, "/adopt"), tried(world, "20", "40") | versions(app, world))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/decisions/{world.decision_id}/matrix")
    assert weights(app, world) == [20.0, 40.0]
    changes = criterion_revisions(app, world)
    assert len(changes) == 1  # only the weight that changed
    assert changes[0].criterion_id == world.criteria[0]
    assert changes[0].actor_id == world.users["facilitator"]
    assert changes[0].before is not None and changes[0].after is not None
    assert (changes[0].before["weight"], changes[0].after["weight"]) == (60.0, 20.0)
    with fac.client.session_transaction() as session:
        flashes = [message for _, message in session.get("_flashes", [])]
    assert flashes == [
        "The what-if weights are now the decision's weights (1 weight changed, recorded in "
        "the history)."
    ]


def test_adopting_by_htmx_goes_back_to_the_matrix(app: Flask, world: World, as_role: Any) -> None:
    response = as_role("facilitator").post(
        url(world, "/adopt"), tried(world, "1", "3") | versions(app, world), htmx=True
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == f"/decisions/{world.decision_id}/matrix"
    assert weights(app, world) == [1.0, 3.0]
    assert len(criterion_revisions(app, world)) == 2


def test_adopting_the_agreed_weights_changes_nothing(
    app: Flask, world: World, as_role: Any
) -> None:
    before = revision_count(app, world)
    response = as_role("facilitator").post(
        url(world, "/adopt"), tried(world, "60", "40.0") | versions(app, world)
    )
    assert response.status_code == 303
    assert revision_count(app, world) == before


def test_a_stale_what_if_is_refused_and_nothing_is_written(
    app: Flask, world: World, as_role: Any
) -> None:
    seen = versions(app, world)
    with app.app_context(), unit_of_work() as session:  # someone changes a weight meanwhile
        criteria_service.set_weight(
            session=session,
            decision_id=world.decision_id,
            criterion_id=world.criteria[1],
            actor_id=world.users["facilitator"],
            weight="45",
        )
    before = revision_count(app, world)
    fac = as_role("facilitator")
    response = fac.post(url(world, "/adopt"), tried(world, "20", "80") | seen, htmx=True)
    assert response.status_code == 409
    assert "changed: Escalation risk" in text_of(response)
    assert "Nothing was adopted" in text_of(response)
    plain = fac.post(url(world, "/adopt"), tried(world, "20", "80") | seen)
    assert plain.status_code == 409 and "Nothing was adopted" in text_of(plain)
    assert weights(app, world) == [60.0, 45.0]
    assert revision_count(app, world) == before


def test_a_what_if_from_before_a_new_criterion_is_refused(
    app: Flask, world: World, as_role: Any
) -> None:
    seen = versions(app, world)
    fac = as_role("facilitator")
    added = fac.post(
        f"/decisions/{world.decision_id}/criteria",
        {"name": "Cost", "direction": "cost", "weight": "10"},
    )
    assert added.status_code < 400
    before = revision_count(app, world)
    response = fac.post(url(world, "/adopt"), tried(world, "20", "80") | seen, htmx=True)
    assert response.status_code == 409 and "criteria were added" in text_of(response)
    assert weights(app, world) == [60.0, 40.0]
    assert revision_count(app, world) == before


@pytest.mark.parametrize("value", ["-1", "abc", "", "2000000", "nan"])
def test_an_invalid_weight_is_refused_with_nothing_written(
    app: Flask, world: World, as_role: Any, value: str
) -> None:
    before = revision_count(app, world)
    response = as_role("facilitator").post(
        url(world, "/adopt"), tried(world, "10", value) | versions(app, world), htmx=True
    )
    assert response.status_code == 422
    assert "The weight of Escalation risk must be" in text_of(response)
    assert weights(app, world) == [60.0, 40.0]  # not even the valid first weight
    assert revision_count(app, world) == before


@pytest.mark.parametrize(
    ("username", "status"), [("analyst-a", 403), ("observer", 403), ("outsider", 404)]
)
def test_only_the_facilitator_adopts(
    app: Flask, world: World, as_role: Any, username: str, status: int
) -> None:
    before = revision_count(app, world)
    response = as_role(username).post(
        url(world, "/adopt"), tried(world, "1", "1") | versions(app, world)
    )
    assert response.status_code == status
    assert weights(app, world) == [60.0, 40.0]
    assert revision_count(app, world) == before


def test_adopting_needs_the_csrf_token(app: Flask, world: World, as_role: Any) -> None:
    fac = as_role("facilitator")
    response = fac.client.post(
        url(world, "/adopt"), data=tried(world, "1", "1") | versions(app, world)
    )
    assert response.status_code == 400
    assert weights(app, world) == [60.0, 40.0]


def test_a_closed_decision_offers_no_adoption_and_refuses_one(
    app: Flask, world: World, as_role: Any
) -> None:
    fac = as_role("facilitator")
    assert (
        fac.post(f"/decisions/{world.decision_id}/settings", {"status": "closed"}).status_code
        == 303
    )
    page = fac.get(url(world))
    assert page.status_code == 200 and "Adopt these weights" not in page.get_data(as_text=True)
    response = fac.post(url(world, "/adopt"), tried(world, "1", "1") | versions(app, world))
    assert response.status_code == 409
    assert weights(app, world) == [60.0, 40.0]


def test_an_untouched_weight_goes_back_exactly_as_it_was(
    app: Flask, world: World, as_role: Any
) -> None:
    with app.app_context(), unit_of_work() as session:
        criteria_service.set_weight(
            session=session,
            decision_id=world.decision_id,
            criterion_id=world.criteria[1],
            actor_id=world.users["facilitator"],
            weight=str(100 / 3),
        )
    fac = as_role("facilitator")
    page = fac.get(url(world)).get_data(as_text=True)
    match = re.search(rf'name="w-{world.criteria[1]}"[^>]*value="([^"]+)"', page)
    assert match and float(match.group(1)) == 100 / 3
    before = len(criterion_revisions(app, world))
    form = tried(world, "20", match.group(1)) | versions(app, world)
    assert fac.post(url(world, "/adopt"), form).status_code == 303
    assert weights(app, world) == [20.0, 100 / 3]
    assert len(criterion_revisions(app, world)) == before + 1
