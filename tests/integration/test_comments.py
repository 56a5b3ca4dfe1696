"""The discussion: threads per cell and per option, replies, Markdown, history, blind rules,
append-only storage and who may write."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from app.db.conversation import Comment, Notification
from app.db.models import Decision, Revision
from app.db.uow import unit_of_work
from app.domain.vocabulary import NotificationKind
from app.services import comments as comment_service
from app.services import notifications as notification_service
from app.services import scores as score_service
from tests.factories import World
from tests.hostile_corpus import SCRIPT_PAYLOADS

READERS = ("facilitator", "analyst-a", "analyst-b", "observer")


def option_url(world: World, option: int = 0) -> str:
    return f"/decisions/{world.decision_id}/discussion/options/{world.options[option]}"


def cell_url(world: World, option: int = 0, criterion: int = 0) -> str:
    return (
        f"/decisions/{world.decision_id}/discussion/cells/"
        f"{world.options[option]}/{world.criteria[criterion]}"
    )


def comments(app: Flask) -> list[Comment]:
    with app.app_context(), unit_of_work(write=False) as session:
        return list(session.exec(select(Comment).order_by(col(Comment.id))))


def notifications_of(app: Flask, user_id: int) -> list[Notification]:
    with app.app_context(), unit_of_work(write=False) as session:
        return list(
            session.exec(
                select(Notification)
                .where(col(Notification.user_id) == user_id)
                .order_by(col(Notification.id))
            )
        )


def replies_to(app: Flask, user_id: int) -> list[Notification]:
    """The user's reply notifications (starting scoring also notified every member)."""
    kind = NotificationKind.COMMENT_REPLY.value
    return [n for n in notifications_of(app, user_id) if n.kind == kind]


def set_blind(app: Flask, world: World) -> None:
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        score_service.update_settings(
            session=session,
            decision=decision,
            actor_id=world.users["facilitator"],
            data={"scoring_mode": "blind"},
        )


def reveal(app: Flask, world: World) -> None:
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        round_ = score_service.reveal_round(
            session=session, decision=decision, actor_id=world.users["facilitator"]
        )
        notification_service.round_revealed(session, world.decision_id, round_.number)


def open_round(app: Flask, world: World) -> None:
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        score_service.open_next_round(
            session=session, decision=decision, actor_id=world.users["facilitator"]
        )


def post(acts: Any, url: str, body: str, **extra: Any) -> Any:
    return acts.post(url, {"body": body, **extra}, htmx=True)


# --------------------------------------------------------------------------------------------
# Posting and reading
# --------------------------------------------------------------------------------------------


def test_analyst_posts_on_an_option_and_gets_the_thread_back(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    analyst = as_role("analyst-a")
    response = post(analyst, option_url(world), "We should **fund** it first.")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert "<strong>fund</strong>" in html
    assert 'id="discussion-' in html
    assert "Discussion (1)" in html
    # The form is empty again for the next comment.
    assert re.search(r'<textarea id="comment-body-[^"]+" name="body"[^>]*></textarea>', html)
    [stored] = comments(app)
    assert stored.author_id == world.users["analyst-a"]
    assert stored.option_id == world.options[0]
    assert stored.criterion_id is None
    assert stored.round_number == 1
    # The option page shows the thread, with the comment.
    page = analyst.get(f"/decisions/{world.decision_id}/options/{world.options[0]}")
    assert "<strong>fund</strong>" in page.get_data(as_text=True)


def test_comment_on_a_cell_without_javascript_redirects_to_the_cell(  # type: ignore[no-untyped-def]
    app: Flask, world: World, as_role
):
    facilitator = as_role("facilitator")
    response = facilitator.post(cell_url(world, 1, 1), {"body": "Check the escalation data."})
    assert response.status_code == 303
    [stored] = comments(app)
    assert stored.criterion_id == world.criteria[1]
    assert response.headers["Location"].endswith(
        f"/matrix/cells/{world.options[1]}/{world.criteria[1]}#comment-{stored.id}"
    )
    # A full page of the thread for a browser without htmx; the fragment for htmx.
    page = facilitator.get(cell_url(world, 1, 1))
    assert "<html" in page.get_data(as_text=True)
    assert "Check the escalation data." in page.get_data(as_text=True)
    fragment = facilitator.get(cell_url(world, 1, 1), htmx=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert "Check the escalation data." in fragment.get_data(as_text=True)


def test_comment_is_recorded_in_history(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    post(as_role("analyst-b"), cell_url(world), "Too optimistic.")
    [stored] = comments(app)
    reply = post(as_role("analyst-a"), cell_url(world), "Agreed.", parent_id=stored.id)
    assert reply.status_code == 200
    with app.app_context(), unit_of_work(write=False) as session:
        revisions = list(
            session.exec(
                select(Revision).where(col(Revision.entity) == "comment").order_by(col(Revision.id))
            )
        )
    assert [(r.action, r.actor_id) for r in revisions] == [
        ("create", world.users["analyst-b"]),
        ("create", world.users["analyst-a"]),
    ]
    first, second = revisions
    assert first.after == {"body": "Too optimistic.", "parent_id": None}
    assert second.after == {"body": "Agreed.", "parent_id": stored.id}
    assert (first.option_id, first.criterion_id, first.round_number) == (
        world.options[0],
        world.criteria[0],
        1,
    )
    assert first.entity_id == str(stored.id)


def test_reply_is_nested_and_notifies_the_author(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    post(as_role("analyst-a"), option_url(world), "Opening thought.")
    [first] = comments(app)
    response = post(as_role("analyst-b"), option_url(world), "A reply.", parent_id=first.id)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    replies = html[html.index('class="comment-replies"') :]
    assert "A reply." in replies
    [note] = replies_to(app, world.users["analyst-a"])
    assert note.kind == NotificationKind.COMMENT_REPLY.value
    assert note.comment_id == comments(app)[1].id
    assert replies_to(app, world.users["analyst-b"]) == []  # not the one who replied
    # A reply to a reply joins the thread of the first comment.
    post(as_role("analyst-a"), option_url(world), "Re-reply.", parent_id=comments(app)[1].id)
    assert comments(app)[2].parent_id == first.id


def test_replying_to_oneself_notifies_nobody(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    analyst = as_role("analyst-a")
    post(analyst, option_url(world), "First.")
    post(analyst, option_url(world), "Second thoughts.", parent_id=comments(app)[0].id)
    assert replies_to(app, world.users["analyst-a"]) == []


def test_reply_to_a_comment_of_another_thread_is_refused(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    analyst = as_role("analyst-a")
    post(analyst, option_url(world, 0), "On option one.")
    response = post(analyst, option_url(world, 1), "Wrong place.", parent_id=comments(app)[0].id)
    assert response.status_code == 404
    assert len(comments(app)) == 1
    response = post(analyst, option_url(world, 1), "Bad id.", parent_id="x1")
    assert response.status_code == 422
    assert len(comments(app)) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [("   \n ", "Write something before posting."), ("x" * 5001, "at most 5,000 characters")],
)
def test_empty_or_too_long_comment_is_refused_with_the_text_kept(  # type: ignore[no-untyped-def]
    app: Flask, world: World, as_role, body: str, message: str
):
    response = post(as_role("analyst-a"), cell_url(world), body)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'aria-invalid="true"' in html
    if body.strip():
        assert body in html  # the typed text stays in the form
    assert comments(app) == []


def test_hostile_markdown_is_sanitised(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    analyst = as_role("analyst-a")
    for payload in SCRIPT_PAYLOADS:
        assert post(analyst, option_url(world), payload).status_code == 200
    html = analyst.get(f"/decisions/{world.decision_id}/options/{world.options[0]}").get_data(
        as_text=True
    )
    thread = html[html.index('class="discussion"') :]
    assert "<script" not in thread
    assert "<iframe" not in thread
    assert "<img" not in thread
    assert "<svg" not in thread
    assert not re.search(r"<[^>]+\son\w+\s*=", thread)
    assert 'href="javascript' not in thread.lower()
    assert "xss-1" in thread  # shown as text, not dropped silently


# --------------------------------------------------------------------------------------------
# Who may write, who may read
# --------------------------------------------------------------------------------------------


def test_observer_reads_but_may_not_write(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    post(as_role("analyst-a"), option_url(world), "Visible to observers.")
    observer = as_role("observer")
    html = observer.get(option_url(world), htmx=True).get_data(as_text=True)
    assert "Visible to observers." in html
    assert "<textarea" not in html
    assert "Observers read the discussion" in html
    response = post(observer, option_url(world), "Let me in.")
    assert response.status_code == 403
    assert len(comments(app)) == 1


def test_outsider_gets_not_found(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    post(as_role("analyst-a"), option_url(world), "Members only.")
    outsider = as_role("outsider")
    assert outsider.get(option_url(world), htmx=True).status_code == 404
    assert post(outsider, cell_url(world), "Hello?").status_code == 404
    assert len(comments(app)) == 1


def test_unknown_option_or_criterion_is_not_found(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    analyst = as_role("analyst-a")
    base = f"/decisions/{world.decision_id}/discussion"
    assert analyst.get(f"{base}/options/999", htmx=True).status_code == 404
    assert post(analyst, f"{base}/cells/{world.options[0]}/999", "x").status_code == 404
    assert comments(app) == []


def test_post_without_csrf_token_is_refused(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    analyst = as_role("analyst-a")
    response = analyst.client.post(option_url(world), data={"body": "No token."})
    assert response.status_code == 400
    assert comments(app) == []


def test_anonymous_post_goes_to_login(app: Flask, world: World, client):  # type: ignore[no-untyped-def]
    response = client.post(option_url(world), data={"body": "Who am I?"})
    assert response.status_code in (302, 401)
    assert comments(app) == []


def test_closed_decision_takes_no_comments(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        score_service.update_settings(
            session=session,
            decision=decision,
            actor_id=world.users["facilitator"],
            data={"status": "closed"},
        )
    analyst = as_role("analyst-a")
    response = post(analyst, option_url(world), "Too late?")
    assert response.status_code == 409
    assert comments(app) == []
    html = analyst.get(option_url(world), htmx=True).get_data(as_text=True)
    assert "This decision is closed" in html
    assert "<textarea" not in html


def test_comments_are_append_only(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    post(as_role("analyst-a"), option_url(world), "Permanent.")
    for statement in ("UPDATE comment SET body = 'changed'", "DELETE FROM comment"):
        with pytest.raises(DBAPIError), app.app_context(), unit_of_work() as session:
            session.execute(text(statement))
    assert [c.body for c in comments(app)] == ["Permanent."]


# --------------------------------------------------------------------------------------------
# Blind rounds
# --------------------------------------------------------------------------------------------


def thread_html(as_role, username: str, url: str) -> str:  # type: ignore[no-untyped-def]
    return str(as_role(username).get(url, htmx=True).get_data(as_text=True))


def test_blind_round_hides_others_comments_until_the_reveal(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    set_blind(app, world)
    post(as_role("analyst-a"), cell_url(world), "Secret cell view.")
    post(as_role("analyst-a"), option_url(world), "Secret option view.")
    for username in READERS:
        cell = thread_html(as_role, username, cell_url(world))
        option = thread_html(as_role, username, option_url(world))
        page = as_role(username).get(f"/decisions/{world.decision_id}/options/{world.options[0]}")
        seen = username == "analyst-a"
        assert ("Secret cell view." in cell) is seen, username
        assert ("Secret option view." in option) is seen, username
        assert ("Secret option view." in page.get_data(as_text=True)) is seen, username
        assert ("Discussion (1)" in cell) is seen, username  # not even a count
        assert "Round 1 is blind" in cell
    with app.app_context(), unit_of_work(write=False) as session:
        decision = session.get(Decision, world.decision_id)
        for username in READERS:
            counts = comment_service.visible_counts(
                session=session, decision=decision, viewer_id=world.users[username]
            )
            expected = (
                {(world.options[0], world.criteria[0]): 1, (world.options[0], None): 1}
                if username == "analyst-a"
                else {}
            )
            assert counts == expected, username
    reveal(app, world)
    for username in READERS:
        assert "Secret cell view." in thread_html(as_role, username, cell_url(world))
        assert "Secret option view." in thread_html(as_role, username, option_url(world))


def test_blind_reply_notifies_only_after_the_reveal(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    set_blind(app, world)
    post(as_role("analyst-a"), cell_url(world), "Round one comment.")
    reveal(app, world)
    open_round(app, world)  # round 2, blind, unrevealed
    first = comments(app)[0]
    response = post(as_role("analyst-b"), cell_url(world), "Round two reply.", parent_id=first.id)
    assert response.status_code == 200
    replies_of_a = [
        n
        for n in notifications_of(app, world.users["analyst-a"])
        if n.kind == NotificationKind.COMMENT_REPLY.value
    ]
    assert replies_of_a == []  # that someone wrote in round 2 stays hidden
    assert "Round two reply." not in thread_html(as_role, "analyst-a", cell_url(world))
    assert "Round one comment." in thread_html(as_role, "analyst-b", cell_url(world))
    reveal(app, world)
    replies_of_a = [
        n
        for n in notifications_of(app, world.users["analyst-a"])
        if n.kind == NotificationKind.COMMENT_REPLY.value
    ]
    assert [n.comment_id for n in replies_of_a] == [comments(app)[1].id]
    assert "Round two reply." in thread_html(as_role, "analyst-a", cell_url(world))


def test_hidden_comment_cannot_be_replied_to(app: Flask, world: World, as_role):  # type: ignore[no-untyped-def]
    set_blind(app, world)
    post(as_role("analyst-a"), cell_url(world), "Hidden.")
    hidden = comments(app)[0]
    response = post(as_role("analyst-b"), cell_url(world), "Guessing.", parent_id=hidden.id)
    assert response.status_code == 404
    assert len(comments(app)) == 1
