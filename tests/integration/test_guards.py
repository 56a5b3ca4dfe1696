"""Guards found in review: closed decisions, blind reveal by switching mode, double submits,
the last facilitator, out-of-range ids, "as of" times with offsets, the instance secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.db.models import Decision, Revision, Round
from app.db.uow import unit_of_work
from tests.factories import World


def count_rounds(app: Flask, world: World) -> int:
    with app.app_context(), unit_of_work() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Round)
                .where(Round.decision_id == world.decision_id)
            )
        )


def test_closed_decision_is_frozen_but_can_be_reopened(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    fac, analyst = as_role("facilitator"), as_role("analyst-a")
    base = f"/decisions/{world.decision_id}"
    assert fac.post(f"{base}/settings", {"status": "closed"}).status_code == 303
    refused = [
        fac.post(f"{base}/matrix/weights/{world.criteria[0]}", {"weight": "3"}, htmx=True),
        fac.post(
            f"{base}/criteria", {"name": "New", "weight": "1", "direction": "benefit"}, htmx=True
        ),
        fac.post(f"{base}/options/{world.options[0]}/withdraw", {}, htmx=True),
        fac.post(f"{base}/rounds/reveal", {}),
        fac.post(f"{base}/members", {"username": "outsider", "role": "analyst"}),
        analyst.post(f"{base}/options", {"title": "Late idea"}, htmx=True),
        analyst.post(f"{base}/matrix/done", {"done": "1"}),
    ]
    assert [r.status_code for r in refused] == [409] * len(refused)
    assert "closed" in refused[0].get_data(as_text=True)
    assert fac.post(f"{base}/settings", {"status": "scoring"}).status_code == 303
    assert (
        fac.post(
            f"{base}/matrix/weights/{world.criteria[0]}", {"weight": "3"}, htmx=True
        ).status_code
        == 200
    )


def test_switching_a_blind_round_to_open_is_a_recorded_reveal(
    as_role, world: World, app: Flask
) -> None:  # type: ignore[no-untyped-def]
    fac = as_role("facilitator")
    base = f"/decisions/{world.decision_id}"
    fac.post(f"{base}/settings", {"scoring_mode": "blind"})
    as_role("analyst-a").post(
        f"{base}/matrix/scores",
        {"option_id": world.options[0], "criterion_id": world.criteria[0], "value": "4"},
        htmx=True,
    )
    fac.post(f"{base}/settings", {"scoring_mode": "open"})
    fac.post(f"{base}/settings", {"scoring_mode": "blind"})
    data = as_role("analyst-b").get(f"/api/decisions/{world.decision_id}/matrix").get_json()
    assert data["revealed"] is True and data["group_visible"] is True
    with app.app_context(), unit_of_work() as session:
        actions = session.scalars(select(Revision.action).where(Revision.entity == "round")).all()
    assert "reveal" in actions


def test_opening_a_round_twice_from_one_page_opens_it_once(
    as_role, world: World, app: Flask
) -> None:  # type: ignore[no-untyped-def]
    fac = as_role("facilitator")
    url = f"/decisions/{world.decision_id}/rounds"
    assert fac.post(url, {"round": "1"}).status_code == 303
    second = fac.post(url, {"round": "1"})
    assert second.status_code == 409 and "already open" in second.get_data(as_text=True)
    assert count_rounds(app, world) == 2


def test_the_last_facilitator_cannot_step_down(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    fac = as_role("facilitator")
    url = f"/decisions/{world.decision_id}/members"
    response = fac.post(url, {"username": "facilitator", "role": "observer"})
    assert response.status_code == 422 and "needs a facilitator" in response.get_data(as_text=True)
    assert fac.post(url, {"username": "analyst-a", "role": "facilitator"}).status_code == 303
    assert fac.post(url, {"username": "facilitator", "role": "observer"}).status_code == 303


@pytest.mark.parametrize(
    "path",
    [
        "/decisions/99999999999999999999",
        "/api/decisions/99999999999999999999",
        "/decisions/{d}/options/99999999999999999999",
    ],
)
def test_huge_ids_are_not_found(as_role, world: World, path: str) -> None:  # type: ignore[no-untyped-def]
    assert as_role("facilitator").get(path.format(d=world.decision_id)).status_code == 404


@pytest.mark.parametrize(
    "query", ["?revision=99999999999999999999", "?person=99999999999999999999", "?revision=-3"]
)
def test_huge_query_numbers_are_refused(as_role, world: World, query: str) -> None:  # type: ignore[no-untyped-def]
    path = "/as-of" if "revision" in query else ""
    response = as_role("facilitator").get(f"/decisions/{world.decision_id}/history{path}{query}")
    assert response.status_code == 400
    assert "out of range" in response.get_data(as_text=True)


def test_as_of_a_time_with_an_offset(app: Flask, world: World) -> None:
    from app.services.history import revision_at

    with app.app_context(), unit_of_work() as session:
        created = session.scalar(
            select(Decision.created_at).where(Decision.id == world.decision_id)
        )
        created = created if created.tzinfo else created.replace(tzinfo=UTC)
        plus_five = timezone(timedelta(hours=5))
        before = (created - timedelta(hours=1)).astimezone(plus_five)
        after = (created + timedelta(hours=1)).astimezone(plus_five)
        assert revision_at(session=session, decision_id=world.decision_id, when=before) is None
        assert revision_at(session=session, decision_id=world.decision_id, when=after) is not None
        assert (
            revision_at(session=session, decision_id=world.decision_id, when=datetime.now(UTC))
            is not None
        )


def test_instance_secret_is_created_once(tmp_path: Path) -> None:
    from app.config import _instance_secret

    first = _instance_secret(str(tmp_path))
    assert first == _instance_secret(str(tmp_path)) and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
