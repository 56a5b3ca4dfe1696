"""Guided set-up: a new decision is a draft in the mode chosen at creation; its overview lists
what is left to do; scoring starts only when the list is complete; reveal says what is unscored."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask

from app.db.models import Decision
from app.db.uow import unit_of_work
from tests.factories import World


def create(fac, **fields: str) -> int:  # type: ignore[no-untyped-def]
    data = {"title": "Basing options", "scale_min": "1", "scale_max": "5"} | fields
    response = fac.post("/decisions", data)
    assert response.status_code == 303
    match = re.search(r"/decisions/(\d+)$", response.headers["Location"])
    assert match
    return int(match.group(1))


def stored(app: Flask, decision_id: int) -> tuple[str, str]:
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, decision_id)
        assert decision is not None
        return decision.status, decision.scoring_mode


def checklist(page: str) -> dict[str, str]:
    """``{step: "Done" | "To do"}`` as the overview's set-up list shows them."""
    section = page.split('id="setup"', 1)[1].split("</section>", 1)[0]
    return dict(re.findall(r'data-step="(\w+)">\s*<span class="state">([^:<]+):', section))


@pytest.mark.parametrize("mode", ["open", "blind"])
def test_a_new_decision_is_a_draft_in_the_mode_chosen_at_creation(
    as_role, app: Flask, mode: str
) -> None:  # type: ignore[no-untyped-def]
    fac = as_role("facilitator")
    form = fac.get("/").get_data(as_text=True)
    assert 'name="scoring_mode" value="open" required' in form
    assert 'name="scoring_mode" value="blind" required' in form
    decision_id = create(fac, question="Where?", scoring_mode=mode)
    assert stored(app, decision_id) == ("draft", mode)


def test_an_unknown_mode_is_refused_with_the_form(as_role, app: Flask) -> None:  # type: ignore[no-untyped-def]
    fac = as_role("facilitator")
    response = fac.post("/decisions", {"title": "X", "scoring_mode": "secret"})
    assert response.status_code == 422
    assert "Scoring must be open or blind." in response.get_data(as_text=True)


def test_the_checklist_follows_the_set_up_and_start_waits_for_it(as_role, app: Flask) -> None:  # type: ignore[no-untyped-def]
    fac = as_role("facilitator")
    decision_id = create(fac, scoring_mode="blind")
    base = f"/decisions/{decision_id}"
    page = fac.get(base).get_data(as_text=True)
    assert checklist(page) == {
        "question": "To do",
        "options": "To do",
        "criteria": "To do",
        "analysts": "To do",
        "mode": "Done",
    }
    assert 'id="start-scoring" disabled aria-describedby="start-scoring-reason"' in page
    assert 'href="#members">Add analysts</a>' in page
    assert "Still to do: state the question; add at least two options;" in html.unescape(page)

    refused = fac.post(f"{base}/start", {}, htmx=True)
    assert refused.status_code == 422
    assert "Scoring cannot start yet. Still to do: state the question" in refused.get_data(
        as_text=True
    )
    assert stored(app, decision_id) == ("draft", "blind")

    fac.post(f"{base}/edit", {"title": "Basing options", "question": "Where to base?"})
    fac.post(f"{base}/members", {"username": "analyst-a", "role": "analyst"})
    fac.post(f"{base}/options", {"title": "Stay"})
    fac.post(f"{base}/criteria", {"name": "Cost", "direction": "cost", "weight": "0"})
    page = fac.get(base).get_data(as_text=True)
    assert checklist(page) == {
        "question": "Done",
        "options": "To do",
        "criteria": "To do",
        "analysts": "Done",
        "mode": "Done",
    }
    assert "(1 option)" in page and "(0 weighted criteria, 1 at weight 0)" in page
    assert fac.post(f"{base}/start", {}).status_code == 422

    fac.post(f"{base}/options", {"title": "Leave"})
    fac.post(f"{base}/criteria", {"name": "Reach", "direction": "benefit", "weight": "2"})
    page = fac.get(base).get_data(as_text=True)
    assert set(checklist(page).values()) == {"Done"}
    assert 'id="start-scoring">Start scoring</button>' in page

    assert as_role("analyst-a").post(f"{base}/start", {}).status_code == 403
    assert stored(app, decision_id) == ("draft", "blind")
    started = fac.post(f"{base}/start", {})
    assert started.status_code == 303
    assert stored(app, decision_id) == ("scoring", "blind")
    assert 'id="setup"' not in fac.get(base).get_data(as_text=True)
    again = fac.post(f"{base}/start", {}, htmx=True)
    assert again.status_code == 409
    assert "already scoring" in again.get_data(as_text=True)


def test_a_draft_says_so_on_its_overview_and_matrix(as_role, app: Flask) -> None:  # type: ignore[no-untyped-def]
    fac = as_role("facilitator")
    decision_id = create(fac, question="Where?", scoring_mode="open")
    page = fac.get(f"/decisions/{decision_id}").get_data(as_text=True)
    assert "Set-up: a draft, scoring has not started" in page
    matrix = fac.get(f"/decisions/{decision_id}/matrix").get_data(as_text=True)
    assert "draft: scoring has not started" in matrix


def test_reveal_asks_for_confirmation_with_the_unscored_count(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    fac, analyst = as_role("facilitator"), as_role("analyst-a")
    base = f"/decisions/{world.decision_id}"
    assert fac.post(f"{base}/settings", {"scoring_mode": "blind"}).status_code == 303
    for option in world.options:
        saved = analyst.post(
            f"{base}/matrix/scores",
            {"option_id": str(option), "criterion_id": str(world.criteria[0]), "value": "3"},
            htmx=True,
        )
        assert saved.status_code == 200
    page = html.unescape(fac.get(f"{base}/matrix").get_data(as_text=True))
    # 2 options × 2 criteria × 2 analysts = 8 cells; analyst A scored 2 of them.
    confirm = re.search(r'hx-confirm="(Reveal round 1\?[^"]*)"', page)
    assert confirm, "the reveal form asks for confirmation"
    assert "6 of 8 cells are still unscored" in confirm.group(1)
    assert '<p class="hint" id="reveal-unscored">6 of 8 cells are still unscored' in page
