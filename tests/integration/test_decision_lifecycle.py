"""A decision's life beyond scoring: a draft deleted by its facilitator is gone from every
page and URL for everyone (its history kept); other decisions are archived (off the home
page's list, still readable, restorable) and restored; both ask first and are recorded. The
memo's paper is one of the decision's settings."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select
from sqlmodel import col

from app.db.models import Decision, Revision
from app.db.uow import unit_of_work
from app.domain.errors import NotFound
from app.services import decisions as decision_service
from tests.factories import World


def create_draft(fac, title: str = "Basing options") -> int:  # type: ignore[no-untyped-def]
    response = fac.post(
        "/decisions", {"title": title, "question": "Where?", "scoring_mode": "blind"}
    )
    assert response.status_code == 303
    match = re.search(r"/decisions/(\d+)$", response.headers["Location"])
    assert match
    return int(match.group(1))


def stored(app: Flask, decision_id: int) -> Decision:
    with app.app_context(), unit_of_work(write=False) as session:
        decision = session.get(Decision, decision_id)
        assert decision is not None
        session.expunge(decision)
        return decision


def decision_revisions(app: Flask, decision_id: int) -> list[Revision]:
    with app.app_context(), unit_of_work(write=False) as session:
        return list(
            session.scalars(
                select(Revision)
                .where(col(Revision.decision_id) == decision_id, col(Revision.entity) == "decision")
                .order_by(col(Revision.id))
            )
        )


def home_sections(page: str) -> tuple[str, str]:
    """(the main list, the archived list) of the home page."""
    main, _, archived = page.partition('id="archived"')
    return main, archived


def test_a_draft_is_deleted_after_confirmation_and_is_gone_for_everyone(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    fac = as_role("facilitator")
    decision_id = create_draft(fac, "Mistyped duplicate")
    fac.post(f"/decisions/{decision_id}/members", {"username": "analyst-a", "role": "analyst"})
    analyst = as_role("analyst-a")
    assert "Mistyped duplicate" in analyst.client.get("/").get_data(as_text=True)
    overview = fac.client.get(f"/decisions/{decision_id}").get_data(as_text=True)
    assert f'href="/decisions/{decision_id}/delete"' in overview

    asked = fac.client.get(f"/decisions/{decision_id}/delete")
    assert asked.status_code == 200
    assert "Delete the draft “Mistyped duplicate”?" in asked.get_data(as_text=True)
    assert not stored(app, decision_id).deleted  # asking deletes nothing

    done = fac.post(f"/decisions/{decision_id}/delete")
    assert done.status_code == 303 and done.headers["Location"] == "/"
    home = fac.client.get("/").get_data(as_text=True)
    assert "The draft “Mistyped duplicate” is deleted." in home
    assert f"/decisions/{decision_id}" not in home
    assert stored(app, decision_id).deleted
    for acts in (fac, analyst):
        assert f"/decisions/{decision_id}" not in acts.client.get("/").get_data(as_text=True)
        assert decision_id not in [
            d["id"] for d in acts.get("/api/decisions").get_json()["decisions"]
        ]
        for path in ("", "/matrix", "/history", "/memos", "/options", "/delete", "/archive"):
            assert acts.client.get(f"/decisions/{decision_id}{path}").status_code == 404, path
        assert acts.get(f"/api/decisions/{decision_id}").status_code == 404
    assert fac.post(f"/decisions/{decision_id}/delete").status_code == 404
    assert fac.post(f"/decisions/{decision_id}/restore").status_code == 404
    # Recorded; the history before it is kept.
    actions = [r.action for r in decision_revisions(app, decision_id)]
    assert actions[0] == "create" and actions[-1] == "delete"
    last = decision_revisions(app, decision_id)[-1]
    assert last.before and last.after
    assert (last.before["deleted"], last.after["deleted"]) == (False, True)


def test_only_a_draft_can_be_deleted(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    fac = as_role("facilitator")
    overview = fac.client.get(f"/decisions/{world.decision_id}").get_data(as_text=True)
    assert "/delete" not in overview  # scoring has started: archive is offered instead
    assert f'href="/decisions/{world.decision_id}/archive"' in overview
    refused = fac.post(f"/decisions/{world.decision_id}/delete")
    assert refused.status_code == 409
    assert "Only a draft can be deleted" in refused.get_data(as_text=True)
    assert not stored(app, world.decision_id).deleted


@pytest.mark.parametrize(
    ("username", "status"), [("analyst-a", 403), ("observer", 403), ("outsider", 404)]
)
def test_only_facilitators_archive_restore_or_delete(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
    username: str,
    status: int,
) -> None:
    acts = as_role(username)
    for path in ("archive", "restore", "delete"):
        assert acts.post(f"/decisions/{world.decision_id}/{path}").status_code == status
    for path in ("archive", "delete"):
        assert acts.client.get(f"/decisions/{world.decision_id}/{path}").status_code == status
    decision = stored(app, world.decision_id)
    assert not decision.archived and not decision.deleted
    assert "Archive this decision" not in acts.client.get(
        f"/decisions/{world.decision_id}"
    ).get_data(as_text=True)


def test_an_archived_decision_leaves_the_home_list_stays_readable_and_is_restored(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    fac, analyst = as_role("facilitator"), as_role("analyst-a")
    link = f'href="/decisions/{world.decision_id}"'
    asked = fac.client.get(f"/decisions/{world.decision_id}/archive")
    assert asked.status_code == 200
    assert "Archive “Test decision”?" in asked.get_data(as_text=True)
    assert not stored(app, world.decision_id).archived

    done = fac.post(f"/decisions/{world.decision_id}/archive")
    assert done.status_code == 303 and done.headers["Location"] == "/"
    assert stored(app, world.decision_id).archived
    home = fac.client.get("/").get_data(as_text=True)
    assert "“Test decision” is archived" in home
    main, archived = home_sections(home)
    assert link not in main and link in archived
    assert 'aria-label="Restore Test decision"' in archived
    # Members still find it under Archived (without a Restore button) and read it by its URL.
    main, archived = home_sections(analyst.client.get("/").get_data(as_text=True))
    assert link not in main and link in archived and "Restore" not in archived
    page = analyst.client.get(f"/decisions/{world.decision_id}")
    assert page.status_code == 200 and "This decision is archived" in page.get_data(as_text=True)
    assert analyst.client.get(f"/decisions/{world.decision_id}/matrix").status_code == 200

    restored = fac.post(f"/decisions/{world.decision_id}/restore")
    assert restored.status_code == 303
    assert not stored(app, world.decision_id).archived
    main, archived = home_sections(analyst.client.get("/").get_data(as_text=True))
    assert link in main and link not in archived
    actions = [r.action for r in decision_revisions(app, world.decision_id)]
    assert actions[-2:] == ["archive", "restore"]
    # Restoring what is not archived records nothing more.
    assert fac.post(f"/decisions/{world.decision_id}/restore").status_code == 303
    assert len(decision_revisions(app, world.decision_id)) == len(actions)


def test_a_closed_decision_can_be_archived(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    fac = as_role("facilitator")
    closed = fac.post(f"/decisions/{world.decision_id}/settings", {"status": "closed"})
    assert closed.status_code == 303
    assert fac.post(f"/decisions/{world.decision_id}/archive").status_code == 303
    decision = stored(app, world.decision_id)
    assert decision.archived and decision.status == "closed"


def test_the_memo_paper_is_a_recorded_setting(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    fac = as_role("facilitator")
    page = fac.client.get(f"/decisions/{world.decision_id}").get_data(as_text=True)
    assert '<label for="decision-paper">Memo paper</label>' in page
    assert '<option value="letter" selected>US Letter</option>' in page
    assert stored(app, world.decision_id).paper == "letter"
    form = {"title": "Test decision", "question": "What should we do?", "paper": "a4"}
    assert fac.post(f"/decisions/{world.decision_id}/edit", form).status_code == 303
    assert stored(app, world.decision_id).paper == "a4"
    last = decision_revisions(app, world.decision_id)[-1]
    assert last.before and last.after
    assert (last.before["paper"], last.after["paper"]) == ("letter", "a4")
    page = fac.client.get(f"/decisions/{world.decision_id}").get_data(as_text=True)
    assert '<option value="a4" selected>A4</option>' in page
    refused = fac.post(f"/decisions/{world.decision_id}/edit", form | {"paper": "legal"})
    assert refused.status_code == 422
    assert "Memo paper must be US Letter or A4." in refused.get_data(as_text=True)
    assert stored(app, world.decision_id).paper == "a4"


def test_services_refuse_a_deleted_decision(app: Flask, world: World, as_role) -> None:  # type: ignore[no-untyped-def]
    fac = as_role("facilitator")
    decision_id = create_draft(fac)
    assert fac.post(f"/decisions/{decision_id}/delete").status_code == 303
    with (
        app.app_context(),
        unit_of_work() as session,
        pytest.raises(NotFound, match="does not exist"),
    ):
        decision_service.set_member(
            session=session,
            decision_id=decision_id,
            actor_id=world.users["facilitator"],
            username="analyst-a",
            role="analyst",
        )
