"""The events that tell the team what is next leave notifications for every member but the
one who acted: scoring started, a round revealed, a round opened, a memo issued — and the
header's count and list show them to their reader only."""

from __future__ import annotations

from flask import Flask
from sqlmodel import col, select

from app.db.conversation import Notification
from app.db.uow import unit_of_work
from app.domain.vocabulary import NotificationKind
from tests.factories import World
from tests.integration.test_memos import issue, issued_id

MEMBERS = ("facilitator", "analyst-a", "analyst-b", "observer")


def kinds_by_user(app: Flask, world: World) -> dict[str, list[tuple[str, int | None]]]:
    names = {uid: name for name, uid in world.users.items()}
    found: dict[str, list[tuple[str, int | None]]] = {name: [] for name in MEMBERS}
    with app.app_context(), unit_of_work(write=False) as session:
        rows = session.exec(
            select(Notification)
            .where(col(Notification.decision_id) == world.decision_id)
            .order_by(col(Notification.id))
        )
        for n in rows:
            found.setdefault(names[n.user_id], []).append((n.kind, n.round_number))
    return found


def test_reveal_open_and_memo_notify_everyone_but_the_facilitator(
    app: Flask,
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    fac = as_role("facilitator")
    base = f"/decisions/{world.decision_id}"
    before = kinds_by_user(app, world)
    assert fac.post(f"{base}/rounds/reveal", {}).status_code == 303
    assert fac.post(f"{base}/rounds", {}).status_code == 303
    memo_id = issued_id(issue(fac, world))
    after = kinds_by_user(app, world)
    new = {name: after[name][len(before[name]) :] for name in MEMBERS}
    expected = [
        (NotificationKind.ROUND_REVEALED.value, 1),
        (NotificationKind.ROUND_OPENED.value, 2),
        (NotificationKind.MEMO_ISSUED.value, 2),
    ]
    for name in ("analyst-a", "analyst-b", "observer"):
        assert new[name] == expected, name
    assert new["facilitator"] == []  # the one who acted
    assert "outsider" not in after or after["outsider"] == []
    with app.app_context(), unit_of_work(write=False) as session:
        memo_notes = session.exec(
            select(Notification).where(col(Notification.memo_id) == memo_id)
        ).all()
        assert len(memo_notes) == 3


def test_starting_scoring_notifies_the_members_once(
    app: Flask,
    world: World,
) -> None:
    # The world's decision was started through the set-up checklist (start_scoring).
    found = kinds_by_user(app, world)
    for name in ("analyst-a", "analyst-b", "observer"):
        assert found[name].count((NotificationKind.ROUND_OPENED.value, 1)) == 1, name
    assert found["facilitator"] == []


def test_the_header_counts_only_the_readers_own_unread_notifications(
    world: World,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    fac = as_role("facilitator")
    assert fac.post(f"/decisions/{world.decision_id}/rounds/reveal", {}).status_code == 303
    page = as_role("analyst-a").get("/").get_data(as_text=True)
    assert "Notifications (2 unread)" in page  # scoring started, round 1 revealed
    assert "Notifications (2 unread)" not in fac.get("/").get_data(as_text=True)
    listing = as_role("observer").get("/notifications").get_data(as_text=True)
    assert "revealed" in listing
