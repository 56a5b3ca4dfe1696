"""Options and criteria: role rules, one revision per change, validation, conflicts."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.db.models import Criterion, Option, Revision
from app.db.uow import unit_of_work
from tests.factories import World


def revision_count(app: Flask, decision_id: int) -> int:
    with app.app_context(), unit_of_work() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Revision)
                .where(Revision.decision_id == decision_id)
            )
        )


def load(app: Flask, model: Any, id_: int) -> Any:
    with app.app_context(), unit_of_work() as session:
        return session.get(model, id_)


# --- role matrix -------------------------------------------------------------------------------

OPTION_ACTIONS = {
    "create": ("post", "/options", {"title": "New option"}),
    "edit_form": ("get", "/options/{option}/edit", None),
    "update": ("post", "/options/{option}", {"title": "Changed", "version": "1"}),
    "withdraw": ("post", "/options/{option}/withdraw", {}),
    "restore": ("post", "/options/{option}/restore", {}),
    "criterion_create": (
        "post",
        "/criteria",
        {"name": "New criterion", "weight": "5", "direction": "benefit"},
    ),
    "criterion_edit_form": ("get", "/criteria/{criterion}/edit", None),
    "criterion_update": (
        "post",
        "/criteria/{criterion}",
        {"name": "Renamed", "weight": "5", "direction": "cost", "version": "1"},
    ),
}

# Expected status per role; the facilitator created the options, so analysts may not edit them.
EXPECTED = {
    "observer": dict.fromkeys(OPTION_ACTIONS, 403),
    "outsider": dict.fromkeys(OPTION_ACTIONS, 404),
    "analyst-a": {
        "create": 201,
        "edit_form": 403,
        "update": 403,
        "withdraw": 403,
        "restore": 403,
        "criterion_create": 403,
        "criterion_edit_form": 403,
        "criterion_update": 403,
    },
    "facilitator": {
        "create": 201,
        "edit_form": 200,
        "update": 200,
        "withdraw": 200,
        "restore": 200,
        "criterion_create": 201,
        "criterion_edit_form": 200,
        "criterion_update": 200,
    },
}


@pytest.mark.parametrize("role", list(EXPECTED))
@pytest.mark.parametrize("action", list(OPTION_ACTIONS))
def test_role_matrix(as_role, world: World, role: str, action: str) -> None:  # type: ignore[no-untyped-def]
    acts = as_role(role)
    method, path, data = OPTION_ACTIONS[action]
    url = f"/decisions/{world.decision_id}" + path.format(
        option=world.options[0], criterion=world.criteria[0]
    )
    response = acts.get(url, htmx=True) if method == "get" else acts.post(url, data, htmx=True)
    assert response.status_code == EXPECTED[role][action], response.get_data(as_text=True)[:300]


def test_analyst_may_edit_the_option_they_proposed(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    acts = as_role("analyst-a")
    base = f"/decisions/{world.decision_id}/options"
    assert acts.post(base, {"title": "Mine"}, htmx=True).status_code == 201
    with app.app_context(), unit_of_work() as session:
        option_id = session.scalar(select(Option.id).where(Option.title == "Mine"))
    response = acts.post(
        f"{base}/{option_id}", {"title": "Mine, better", "version": "1"}, htmx=True
    )
    assert response.status_code == 200
    assert "Mine, better" in response.get_data(as_text=True)
    assert (
        as_role("analyst-b")
        .post(f"{base}/{option_id}", {"title": "Theirs", "version": "2"}, htmx=True)
        .status_code
        == 403
    )


# --- revisions ------------------------------------------------------------------------------


def test_each_change_writes_exactly_one_revision(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    acts = as_role("facilitator")
    base = f"/decisions/{world.decision_id}"
    option = world.options[0]
    steps = [
        (f"{base}/options", {"title": "Created"}),
        (f"{base}/options/{option}", {"title": "Edited", "summary": "s", "version": "1"}),
        (f"{base}/options/{option}/withdraw", {}),
        (f"{base}/options/{option}/restore", {}),
        (f"{base}/criteria", {"name": "Speed", "weight": "3", "direction": "benefit"}),
        (
            f"{base}/criteria/{world.criteria[0]}",
            {"name": "Acceptability", "weight": "70", "direction": "benefit", "version": "1"},
        ),
    ]
    for url, data in steps:
        before = revision_count(app, world.decision_id)
        response = acts.post(url, data, htmx=True)
        assert response.status_code in (200, 201), (url, response.get_data(as_text=True)[:200])
        assert revision_count(app, world.decision_id) == before + 1, url
    with app.app_context(), unit_of_work() as session:
        last = session.scalars(
            select(Revision).where(Revision.option_id == option).order_by(Revision.id)
        ).all()
    assert [r.action for r in last] == ["create", "update", "withdraw", "restore"]
    update = last[1]
    assert update.before["title"] == "Intelligence sharing" and update.after["title"] == "Edited"
    assert update.actor_id == world.users["facilitator"]


def test_saving_unchanged_option_writes_no_revision(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    acts = as_role("facilitator")
    before = revision_count(app, world.decision_id)
    url = f"/decisions/{world.decision_id}/options/{world.options[0]}"
    acts.post(
        url,
        {
            "title": "Intelligence sharing",
            "summary": "Intelligence sharing summary",
            "version": "1",
        },
        htmx=True,
    )
    assert revision_count(app, world.decision_id) == before


# --- validation -----------------------------------------------------------------------------

INVALID_OPTIONS = [
    ({"title": ""}, "Title is required"),
    ({"title": "   "}, "Title is required"),
    ({"title": "x" * 201}, "at most 200"),
    ({"title": "ok", "summary": "s" * 501}, "at most 500"),
    ({"title": "ok", "description": "d" * 20_001}, "at most 20000"),
]


@pytest.mark.parametrize(("data", "message"), INVALID_OPTIONS)
def test_invalid_option_is_refused_and_nothing_written(
    as_role, world: World, app: Flask, data, message
) -> None:  # type: ignore[no-untyped-def]
    acts = as_role("facilitator")
    before = revision_count(app, world.decision_id)
    response = acts.post(f"/decisions/{world.decision_id}/options", data, htmx=True)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert revision_count(app, world.decision_id) == before


INVALID_CRITERIA = [
    ({"name": "", "weight": "1", "direction": "benefit"}, "Name is required"),
    ({"name": "W", "weight": "-1", "direction": "benefit"}, "Weight must be at least 0"),
    ({"name": "W", "weight": "heavy", "direction": "benefit"}, "Weight must be a number"),
    ({"name": "W", "weight": "nan", "direction": "benefit"}, "Weight must be a finite number"),
    ({"name": "W", "weight": "1", "direction": "sideways"}, "Direction must be one of"),
    ({"name": "n" * 201, "weight": "1", "direction": "cost"}, "at most 200"),
]


@pytest.mark.parametrize(("data", "message"), INVALID_CRITERIA)
def test_invalid_criterion_is_refused_and_nothing_written(
    as_role, world: World, app: Flask, data, message
) -> None:  # type: ignore[no-untyped-def]
    acts = as_role("facilitator")
    before = revision_count(app, world.decision_id)
    response = acts.post(f"/decisions/{world.decision_id}/criteria", data, htmx=True)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert revision_count(app, world.decision_id) == before


def test_invalid_criterion_edit_keeps_the_stored_values(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    acts = as_role("facilitator")
    url = f"/decisions/{world.decision_id}/criteria/{world.criteria[0]}"
    response = acts.post(
        url,
        {"name": "Acceptability", "weight": "-5", "direction": "benefit", "version": "1"},
        htmx=True,
    )
    assert response.status_code == 422
    assert load(app, Criterion, world.criteria[0]).weight == 60


def test_ids_from_another_decision_are_not_found(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    from app.db.models import User
    from app.services import decisions as decision_service
    from app.services import options as option_service

    with app.app_context(), unit_of_work() as session:
        facilitator = session.get(User, world.users["facilitator"])
        other = decision_service.create_decision(
            session=session, actor=facilitator, data={"title": "Other"}
        )
        foreign = option_service.create_option(
            session=session,
            decision_id=other.id,
            actor_id=facilitator.id,
            data={"title": "Foreign"},
        )
        foreign_id = foreign.id
    acts = as_role("facilitator")
    before = revision_count(app, world.decision_id)
    url = f"/decisions/{world.decision_id}/options/{foreign_id}"
    assert acts.post(url, {"title": "Hijack", "version": "1"}, htmx=True).status_code == 404
    assert acts.post(url + "/withdraw", {}, htmx=True).status_code == 404
    assert acts.get(url).status_code == 404
    assert load(app, Option, foreign_id).title == "Foreign"
    assert revision_count(app, world.decision_id) == before


# --- concurrency ----------------------------------------------------------------------------


def test_second_save_from_a_stale_version_gets_a_conflict(
    as_role, world: World, app: Flask
) -> None:  # type: ignore[no-untyped-def]
    first, second = as_role("facilitator"), as_role("facilitator")
    url = f"/decisions/{world.decision_id}/options/{world.options[0]}"
    assert (
        first.post(
            url, {"title": "First title", "description": "first text", "version": "1"}, htmx=True
        ).status_code
        == 200
    )
    response = second.post(
        url, {"title": "Second title", "description": "second text", "version": "1"}, htmx=True
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone else saved this option" in html
    assert "first text" in html and "second text" in html
    assert load(app, Option, world.options[0]).title == "First title"


# --- pages ----------------------------------------------------------------------------------


def test_observer_sees_options_without_edit_controls(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    html = as_role("observer").get(f"/decisions/{world.decision_id}").get_data(as_text=True)
    assert "Intelligence sharing" in html and "Acceptability" in html
    assert "Edit option" not in html and "Withdraw" not in html and "Add an option" not in html
    assert "Add a criterion" not in html


def test_option_fragment_and_page_shapes(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    acts = as_role("facilitator")
    url = f"/decisions/{world.decision_id}/options/{world.options[0]}"
    fragment = acts.get(url + "?fragment=row", htmx=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers.get("Vary", "")
    page = acts.get(url)
    assert "<html" in page.get_data(as_text=True)


def test_markdown_description_is_sanitised(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    acts = as_role("facilitator")
    description = (
        "**bold** <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>"
    )
    acts.post(
        f"/decisions/{world.decision_id}/options/{world.options[0]}",
        {"title": "T <b>x</b>", "description": description, "version": "1"},
        htmx=True,
    )
    html = acts.get(f"/decisions/{world.decision_id}/options/{world.options[0]}").get_data(
        as_text=True
    )
    assert "<strong>bold</strong>" in html
    # The history diff may quote the raw text, escaped; no live script, link or image survives.
    assert "<script>alert" not in html and 'href="javascript' not in html
    assert "<img" not in html
    assert "T &lt;b&gt;x&lt;/b&gt;" in html


def test_weights_are_shown_normalised(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    html = as_role("analyst-a").get(f"/decisions/{world.decision_id}").get_data(as_text=True)
    assert "60.0 %" in html and "40.0 %" in html


def test_facilitator_edits_decision_details(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    from app.db.models import Decision

    fac = as_role("facilitator")
    url = f"/decisions/{world.decision_id}/edit"
    data = {
        "title": "Renamed decision",
        "question": "Q?",
        "background": "B",
        "classification": "secret",
        "scale_min": "0",
        "scale_max": "10",
        "name_analysts_in_memo": "1",
    }
    assert as_role("analyst-a").post(url, data).status_code == 403
    before = revision_count(app, world.decision_id)
    assert fac.post(url, data).status_code == 303
    decision = load(app, Decision, world.decision_id)
    assert (decision.title, decision.classification, decision.scale_max) == (
        "Renamed decision",
        "SECRET",
        10,
    )
    assert decision.name_analysts_in_memo is True
    assert revision_count(app, world.decision_id) == before + 1
    bad = fac.post(url, data | {"title": ""})
    assert bad.status_code == 422 and "Title is required" in bad.get_data(as_text=True)


def test_scale_is_fixed_once_scores_exist(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    from app.db.models import Decision

    as_role("analyst-a").post(
        f"/decisions/{world.decision_id}/matrix/scores",
        {"option_id": world.options[0], "criterion_id": world.criteria[0], "value": "3"},
        htmx=True,
    )
    response = as_role("facilitator").post(
        f"/decisions/{world.decision_id}/edit",
        {"title": "Test decision", "scale_min": "0", "scale_max": "10"},
    )
    assert response.status_code == 422
    assert "cannot change once scores exist" in response.get_data(as_text=True)
    assert load(app, Decision, world.decision_id).scale_max == 5
