"""Criteria that can be removed (from a draft), retired and restored, and explained by verbal
anchors: what each change writes, who may make it, and what retired criteria leave out."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from app.db.models import Criterion, Decision, Revision, Score
from app.db.uow import unit_of_work
from app.services import criteria as criteria_service
from app.services import scores as score_service
from tests.factories import World
from tests.integration.test_memos import FORM


def revisions(app: Flask, decision_id: int) -> list[Revision]:
    with app.app_context(), unit_of_work() as session:
        stmt = select(Revision).where(Revision.decision_id == decision_id).order_by(Revision.id)
        return list(session.scalars(stmt))


def criterion(app: Flask, criterion_id: int) -> Criterion | None:
    with app.app_context(), unit_of_work() as session:
        return session.get(Criterion, criterion_id)


def set_status(app: Flask, world: World, status: str) -> None:
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        score_service.update_settings(
            session=session,
            decision=decision,
            actor_id=world.users["facilitator"],
            data={"status": status},
        )


def score_all(app: Flask, world: World) -> None:
    """analyst-a scores every cell: option 0 = 5 and 1, option 1 = 1 and 5 (criteria 60/40)."""
    values = {(0, 0): "5", (0, 1): "5", (1, 0): "1", (1, 1): "1"}
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        for (o, c), value in values.items():
            score_service.save_score(
                session=session,
                decision=decision,
                analyst_id=world.users["analyst-a"],
                option_id=world.options[o],
                criterion_id=world.criteria[c],
                value=value,
            )


def url(world: World, tail: str = "") -> str:
    return f"/decisions/{world.decision_id}/criteria{tail}"


# --- list_criteria: the one point every consumer reads ------------------------------------------


def test_list_criteria_gives_active_ones_unless_asked(
    as_role: Any, world: World, app: Flask
) -> None:
    facilitator = as_role("facilitator")
    assert (
        facilitator.post(url(world, f"/{world.criteria[1]}/retire"), htmx=True).status_code == 200
    )
    with app.app_context(), unit_of_work() as session:
        active = criteria_service.list_criteria(session=session, decision_id=world.decision_id)
        every = criteria_service.list_criteria(
            session=session, decision_id=world.decision_id, include_retired=True
        )
    assert [c.id for c in active] == [world.criteria[0]]
    assert [c.id for c in every] == world.criteria


# --- retire and restore --------------------------------------------------------------------------


def test_retire_records_a_revision_and_leaves_totals_exports_and_memo(
    as_role: Any, world: World, app: Flask
) -> None:
    score_all(app, world)
    facilitator = as_role("facilitator")
    api = f"/api/decisions/{world.decision_id}"
    before = facilitator.get(f"{api}/matrix").get_json()
    ranked = {o["id"]: o["rank"] for o in before["options"]}
    assert ranked[world.options[0]] == 1  # 5 on both criteria

    response = facilitator.post(url(world, f"/{world.criteria[0]}/retire"), htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert "Retired “Acceptability”" in html and 'id="retired-criteria"' in html
    assert "Restore criterion Acceptability" in html
    # The share is over active criteria: Escalation risk alone carries 100 %.
    assert "100.0 %" in html

    stored = criterion(app, world.criteria[0])
    assert stored is not None and stored.status == "retired" and stored.version == 2
    last = revisions(app, world.decision_id)[-1]
    assert (last.entity, last.action, last.criterion_id) == (
        "criterion",
        "retire",
        world.criteria[0],
    )
    assert last.before is not None and last.before["status"] == "active"
    assert last.after is not None and last.after["status"] == "retired"

    decision = facilitator.get(api).get_json()
    assert [c["id"] for c in decision["criteria"]] == [world.criteria[1]]
    assert decision["criteria"][0]["weight_normalised"] == pytest.approx(1.0)
    after = facilitator.get(f"{api}/matrix").get_json()
    assert {c["criterion_id"] for c in after["cells"]} == {world.criteria[1]}
    ranked = {o["id"]: o["rank"] for o in after["options"]}
    assert ranked[world.options[1]] == 1  # a cost criterion alone: the cheaper option wins

    csv = facilitator.get(f"/decisions/{world.decision_id}/export/matrix.csv")
    assert csv.status_code == 200 and "Acceptability" not in csv.get_data(as_text=True)
    memo = facilitator.post(f"/decisions/{world.decision_id}/memos/preview", FORM)
    assert memo.status_code == 200
    body = memo.get_data(as_text=True)
    assert "Escalation risk" in body and "Acceptability" not in body

    # Its scores stay: the score rows are untouched.
    with app.app_context(), unit_of_work() as session:
        kept = session.scalar(
            select(func.count()).select_from(Score).where(Score.criterion_id == world.criteria[0])
        )
    assert kept == 2


def test_restore_brings_the_criterion_back(as_role: Any, world: World, app: Flask) -> None:
    facilitator = as_role("facilitator")
    facilitator.post(url(world, f"/{world.criteria[0]}/retire"), htmx=True)
    response = facilitator.post(url(world, f"/{world.criteria[0]}/restore"), htmx=True)
    assert response.status_code == 200
    assert "Restored “Acceptability”" in response.get_data(as_text=True)
    stored = criterion(app, world.criteria[0])
    assert stored is not None and stored.status == "active" and stored.version == 3
    last = revisions(app, world.decision_id)[-1]
    assert (last.action, last.after and last.after["status"]) == ("restore", "active")
    decision = facilitator.get(f"/api/decisions/{world.decision_id}").get_json()
    assert [c["id"] for c in decision["criteria"]] == world.criteria


def test_retiring_twice_or_restoring_an_active_one_is_refused(
    as_role: Any, world: World, app: Flask
) -> None:
    facilitator = as_role("facilitator")
    facilitator.post(url(world, f"/{world.criteria[0]}/retire"), htmx=True)
    count = len(revisions(app, world.decision_id))
    again = facilitator.post(url(world, f"/{world.criteria[0]}/retire"), htmx=True)
    assert again.status_code == 409
    assert "“Acceptability” is already retired." in again.get_data(as_text=True)
    active = facilitator.post(url(world, f"/{world.criteria[1]}/restore"), htmx=True)
    assert active.status_code == 409
    assert "is not retired" in active.get_data(as_text=True)
    assert len(revisions(app, world.decision_id)) == count


def test_non_htmx_retire_redirects_to_the_overview(as_role: Any, world: World, app: Flask) -> None:
    response = as_role("facilitator").post(url(world, f"/{world.criteria[0]}/retire"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/decisions/{world.decision_id}#criteria")


def test_a_retired_criterion_takes_no_weight_changes(
    as_role: Any, world: World, app: Flask
) -> None:
    facilitator = as_role("facilitator")
    facilitator.post(url(world, f"/{world.criteria[0]}/retire"), htmx=True)
    response = facilitator.post(
        f"/decisions/{world.decision_id}/matrix/weights/{world.criteria[0]}",
        {"weight": "5"},
        htmx=True,
    )
    assert response.status_code == 409
    stored = criterion(app, world.criteria[0])
    assert stored is not None and stored.weight == 60


# --- removing from a draft ------------------------------------------------------------------------


def test_remove_is_only_for_drafts(as_role: Any, world: World, app: Flask) -> None:
    facilitator = as_role("facilitator")
    count = len(revisions(app, world.decision_id))
    response = facilitator.post(url(world, f"/{world.criteria[0]}/delete"), htmx=True)
    assert response.status_code == 409
    assert "Retire it instead" in response.get_data(as_text=True)
    assert criterion(app, world.criteria[0]) is not None
    assert len(revisions(app, world.decision_id)) == count


def test_remove_from_a_draft_deletes_the_row_and_its_scores_keeps_history(
    as_role: Any, world: World, app: Flask
) -> None:
    score_all(app, world)
    set_status(app, world, "draft")
    facilitator = as_role("facilitator")
    page = facilitator.get(url(world), htmx=True).get_data(as_text=True)
    assert "Remove criterion Acceptability" in page and "Retire criterion" not in page

    response = facilitator.post(url(world, f"/{world.criteria[0]}/delete"), htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Removed “Acceptability” from this draft." in html
    assert f'id="criterion-{world.criteria[0]}"' not in html

    assert criterion(app, world.criteria[0]) is None
    with app.app_context(), unit_of_work() as session:
        gone = session.scalar(
            select(func.count()).select_from(Score).where(Score.criterion_id == world.criteria[0])
        )
    assert gone == 0
    history = [r for r in revisions(app, world.decision_id) if r.criterion_id == world.criteria[0]]
    assert [r.action for r in history if r.entity == "criterion"] == ["create", "delete"]
    deleted = history[-1]
    assert deleted.after is None and deleted.before is not None
    assert deleted.before["name"] == "Acceptability"
    # The score revisions stay too (history is append-only).
    assert sum(1 for r in history if r.entity == "score") == 2

    decision = facilitator.get(f"/api/decisions/{world.decision_id}").get_json()
    assert [c["id"] for c in decision["criteria"]] == [world.criteria[1]]


def test_remove_a_new_criterion_of_a_draft(as_role: Any, world: World, app: Flask) -> None:
    set_status(app, world, "draft")
    facilitator = as_role("facilitator")
    created = facilitator.post(url(world), {"name": "Typo", "weight": "1"}, htmx=True)
    assert created.status_code == 201
    with app.app_context(), unit_of_work() as session:
        typo = session.scalar(select(Criterion.id).where(Criterion.name == "Typo"))
    assert facilitator.post(url(world, f"/{typo}/delete"), htmx=True).status_code == 200
    assert criterion(app, typo) is None


# --- who may -----------------------------------------------------------------------------------

ACTIONS = ("retire", "restore", "delete")


@pytest.mark.parametrize(
    ("role", "status"), [("analyst-a", 403), ("observer", 403), ("outsider", 404)]
)
@pytest.mark.parametrize("action", ACTIONS)
def test_only_the_facilitator_retires_restores_or_removes(
    as_role: Any, world: World, app: Flask, role: str, status: int, action: str
) -> None:
    count = len(revisions(app, world.decision_id))
    response = as_role(role).post(url(world, f"/{world.criteria[0]}/{action}"), htmx=True)
    assert response.status_code == status
    assert len(revisions(app, world.decision_id)) == count


@pytest.mark.parametrize("action", ACTIONS)
def test_a_closed_decision_is_frozen(as_role: Any, world: World, app: Flask, action: str) -> None:
    set_status(app, world, "closed")
    count = len(revisions(app, world.decision_id))
    response = as_role("facilitator").post(url(world, f"/{world.criteria[0]}/{action}"), htmx=True)
    assert response.status_code == 409
    assert "closed" in response.get_data(as_text=True)
    assert len(revisions(app, world.decision_id)) == count


def test_a_criterion_of_another_decision_is_not_found(
    as_role: Any, world: World, app: Flask
) -> None:
    response = as_role("facilitator").post(
        f"/decisions/{world.decision_id}/criteria/999999/retire", htmx=True
    )
    assert response.status_code == 404


def test_missing_csrf_token_is_refused(as_role: Any, world: World, app: Flask) -> None:
    facilitator = as_role("facilitator")
    response = facilitator.client.post(
        url(world, f"/{world.criteria[0]}/retire"), headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    stored = criterion(app, world.criteria[0])
    assert stored is not None and stored.status == "active"


# --- verbal anchors ---------------------------------------------------------------------------

DEFAULTS = ["very poor", "poor", "fair", "good", "very good"]


def post_form(acts: Any, path: str, fields: dict[str, Any], anchors: list[str]) -> Any:
    """A form post with the anchor fields repeated, as the browser sends them."""
    data = MultiDict([*fields.items(), *(("anchor", a) for a in anchors)])
    data.add("csrf_token", acts.token())
    return acts.client.post(path, data=data, headers={"HX-Request": "true"})


def test_the_forms_are_prefilled_with_the_default_anchors(as_role: Any, world: World) -> None:
    facilitator = as_role("facilitator")
    html = facilitator.get(url(world, f"/{world.criteria[1]}/edit"), htmx=True).get_data(
        as_text=True
    )
    for number, word in enumerate(["very cheap", "cheap", "moderate", "costly", "very costly"]):
        assert f'id="criterion-{world.criteria[1]}-anchor-{number + 1}" name="anchor"' in html
        assert f'value="{word}"' in html
    assert '<label for="new-criterion-anchor-1">1 =</label>' in html
    # Read mode states the scale in words.
    assert "1 = very poor · 2 = poor · 3 = fair · 4 = good · 5 = very good" in html


def test_anchors_are_stored_as_own_wording_and_recorded(
    as_role: Any, world: World, app: Flask
) -> None:
    facilitator = as_role("facilitator")
    fields = {"name": "Speed", "weight": "10", "direction": "benefit"}
    created = post_form(facilitator, url(world), fields, ["Years", *DEFAULTS[1:4], "Days"])
    assert created.status_code == 201
    assert "1 = Years · 2 = poor · 3 = fair · 4 = good · 5 = Days" in created.get_data(as_text=True)
    with app.app_context(), unit_of_work() as session:
        speed = session.scalars(select(Criterion).where(Criterion.name == "Speed")).one()
    assert speed.anchors == ["Years", "", "", "", "Days"]

    count = len(revisions(app, world.decision_id))
    edit = {**fields, "version": "1"}
    changed = post_form(
        facilitator, url(world, f"/{speed.id}"), edit, ["Years", "", "", "", "Hours"]
    )
    assert changed.status_code == 200
    stored = criterion(app, speed.id)
    assert stored is not None and stored.anchors == ["Years", "", "", "", "Hours"]
    new = revisions(app, world.decision_id)[count:]
    assert [(r.entity, r.action) for r in new] == [("criterion", "update")]
    assert new[0].before and new[0].before["anchors"] == ["Years", "", "", "", "Days"]
    assert new[0].after and new[0].after["anchors"] == ["Years", "", "", "", "Hours"]

    # Back to the defaults stores nothing of its own; switching direction takes the
    # defaults of the new direction even from a form prefilled with the old ones.
    reset = post_form(
        facilitator,
        url(world, f"/{speed.id}"),
        {**fields, "direction": "cost", "version": "2"},
        DEFAULTS,
    )
    assert reset.status_code == 200
    stored = criterion(app, speed.id)
    assert stored is not None and stored.anchors == [] and stored.direction == "cost"
    assert "1 = very cheap · 2 = cheap" in reset.get_data(as_text=True)


def test_an_edit_without_anchor_fields_keeps_the_anchors(
    as_role: Any, world: World, app: Flask
) -> None:
    facilitator = as_role("facilitator")
    fields = {"name": "Acceptability", "weight": "60", "direction": "benefit", "version": "1"}
    post_form(facilitator, url(world, f"/{world.criteria[0]}"), fields, ["Hostile", "", "", "", ""])
    response = facilitator.post(
        url(world, f"/{world.criteria[0]}"), {**fields, "weight": "50", "version": "2"}, htmx=True
    )
    assert response.status_code == 200
    stored = criterion(app, world.criteria[0])
    assert (
        stored is not None and stored.weight == 50 and stored.anchors == ["Hostile", "", "", "", ""]
    )


@pytest.mark.parametrize(
    ("anchors", "message"),
    [
        (["x" * 81, "", "", "", ""], "The anchor for 1 must be at most 80 characters"),
        (["", "tab\there", "", "", ""], "The anchor for 2 contains a control character"),
        (["", "", "", "", "del\x7f"], "The anchor for 5 contains a control character"),
        (["a", "b", "c"], "Give one anchor per scale point (5, from 1 to 5); 3 were sent."),
    ],
)
def test_bad_anchors_are_refused_and_nothing_is_written(
    as_role: Any, world: World, app: Flask, anchors: list[str], message: str
) -> None:
    facilitator = as_role("facilitator")
    count = len(revisions(app, world.decision_id))
    fields = {"name": "Renamed", "weight": "5", "direction": "benefit", "version": "1"}
    response = post_form(facilitator, url(world, f"/{world.criteria[0]}"), fields, anchors)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    stored = criterion(app, world.criteria[0])
    assert stored is not None and stored.name == "Acceptability" and stored.anchors == []
    created = post_form(facilitator, url(world), {"name": "New", "weight": "5"}, anchors)
    assert created.status_code == 422
    assert message in created.get_data(as_text=True)
    assert len(revisions(app, world.decision_id)) == count


def test_anchor_and_field_errors_are_shown_together(as_role: Any, world: World) -> None:
    response = post_form(
        as_role("facilitator"), url(world), {"name": "", "weight": "-1"}, ["x" * 81] * 5
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Name is required." in html and "at most 80 characters" in html
    assert "Weight must be at least 0." in html


def test_anchor_text_is_escaped(as_role: Any, world: World) -> None:
    facilitator = as_role("facilitator")
    fields = {"name": "Acceptability", "weight": "60", "direction": "benefit", "version": "1"}
    response = post_form(
        facilitator, url(world, f"/{world.criteria[0]}"), fields, ["<b>bold</b>", "", "", "", ""]
    )
    html = response.get_data(as_text=True)
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


def test_a_conflicting_edit_keeps_both_and_shows_the_anchors_sent(
    as_role: Any, world: World, app: Flask
) -> None:
    facilitator = as_role("facilitator")
    fields = {"name": "Acceptability", "weight": "60", "direction": "benefit", "version": "1"}
    first = post_form(
        facilitator, url(world, f"/{world.criteria[0]}"), fields, ["Hostile", *DEFAULTS[1:]]
    )
    assert first.status_code == 200
    stale = post_form(
        facilitator, url(world, f"/{world.criteria[0]}"), fields, ["Cold", *DEFAULTS[1:]]
    )
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Someone else saved this criterion" in html
    assert (
        f'id="criterion-{world.criteria[0]}-anchor-1" name="anchor" type="text" maxlength="80" value="Cold"'
        in html
    )
    assert (
        f'id="criterion-{world.criteria[0]}-anchor-2" name="anchor" type="text" maxlength="80" value="poor"'
        in html
    )
    stored = criterion(app, world.criteria[0])
    assert stored is not None and stored.anchors == ["Hostile", "", "", "", ""]
