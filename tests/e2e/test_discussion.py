"""The discussion by keyboard: an analyst comments on an option, another replies, and the
first sees the reply counted in the header, listed, and opens it."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect


def csrf(page: Page) -> str:
    return page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")


def post(page: Page, url: str, form: dict[str, str]):  # type: ignore[no-untyped-def]
    response = page.request.post(url, form=form, headers={"X-CSRFToken": csrf(page)})
    assert response.ok, (url, response.status, response.text()[:300])
    return response


def fresh_decision(page: Page) -> tuple[int, str]:
    """An open decision of our own with two analysts and an observer; its id and title."""
    page.goto("/")
    title = f"Discussion {uuid.uuid4().hex[:6]}"
    response = post(
        page,
        "/decisions",
        {"title": title, "question": "What should we do?", "scoring_mode": "open"},
    )
    match = re.search(r"/decisions/(\d+)", response.url)
    assert match
    base = f"/decisions/{match.group(1)}"
    for username in ("analyst-a", "analyst-b"):
        post(page, f"{base}/members", {"username": username, "role": "analyst"})
    post(page, f"{base}/members", {"username": "observer", "role": "observer"})
    for option in ("Intelligence sharing", "Joint drills"):
        post(page, f"{base}/options", {"title": option})
    for name, direction in (("Acceptability", "benefit"), ("Escalation risk", "cost")):
        post(page, f"{base}/criteria", {"name": name, "direction": direction, "weight": "50"})
    post(page, f"{base}/start", {})
    return int(match.group(1)), title


def open_option(page: Page, decision_id: int, title: str) -> None:
    page.goto(f"/decisions/{decision_id}")
    page.get_by_role("link", name=title, exact=True).first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()


def test_comment_reply_and_notification_by_keyboard(page_as) -> None:  # type: ignore[no-untyped-def]
    decision_id, decision_title = fresh_decision(page_as("facilitator"))

    priya = page_as("analyst-a")
    open_option(priya, decision_id, "Intelligence sharing")
    priya.get_by_label("Your comment on Intelligence sharing").focus()
    priya.keyboard.type("Start **small**: one liaison cell first.")
    priya.keyboard.press("Tab")
    priya.keyboard.press("Enter")
    thread = priya.locator("section.discussion")
    expect(thread.locator("strong", has_text="small")).to_be_visible()
    expect(thread.get_by_role("heading", name=re.compile(r"^Discussion \(1\)"))).to_be_visible()
    expect(priya.get_by_label("Your comment on Intelligence sharing")).to_have_value("")
    # Focus lands on the new comment, so the keyboard user continues from there.
    expect(thread.locator("article:focus")).to_contain_text("one liaison cell first")

    tom = page_as("analyst-b")
    open_option(tom, decision_id, "Intelligence sharing")
    thread = tom.locator("section.discussion")
    expect(thread).to_contain_text("one liaison cell first")
    thread.locator("summary", has_text="Reply").focus()
    tom.keyboard.press("Enter")
    reply_box = tom.get_by_label("Your reply to Priya Natarajan")
    expect(reply_box).to_be_visible()
    tom.keyboard.press("Tab")
    expect(reply_box).to_be_focused()
    tom.keyboard.type("Agreed, and share the *border* data too.")
    tom.keyboard.press("Tab")
    tom.keyboard.press("Enter")
    replies = tom.locator("ol.comment-replies")
    expect(replies.locator("em", has_text="border")).to_be_visible()

    # Priya sees the reply counted in the header and opens it from the list.
    priya.goto("/")
    link = priya.get_by_role("link", name=re.compile(r"^Notifications \(\d+ unread\)$"))
    expect(link).to_have_text(re.compile(r"^Notifications \(\d+\)$"))
    link.focus()
    priya.keyboard.press("Enter")
    expect(priya.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    sentence = f"Tom Becker replied to your comment on Intelligence sharing in “{decision_title}”."
    opener = priya.get_by_role("button", name=f"Unread: {sentence}")
    opener.focus()
    priya.keyboard.press("Enter")
    priya.wait_for_url(re.compile(rf"/decisions/{decision_id}/options/\d+#comment-\d+$"))
    expect(priya.locator("ol.comment-replies")).to_contain_text("share the border data too")

    priya.goto("/notifications")
    expect(priya.get_by_role("button", name=sentence, exact=True)).to_be_visible()


def test_observer_reads_the_discussion_without_a_form(page_as) -> None:  # type: ignore[no-untyped-def]
    fac = page_as("facilitator")
    decision_id, _ = fresh_decision(fac)
    open_option(fac, decision_id, "Joint drills")
    fac.get_by_label("Your comment on Joint drills").fill("Scope the drills with the hosts.")
    fac.get_by_role("button", name="Post comment").click()
    expect(fac.locator("section.discussion")).to_contain_text("Scope the drills")

    observer = page_as("observer")
    open_option(observer, decision_id, "Joint drills")
    thread = observer.locator("section.discussion")
    expect(thread).to_contain_text("Scope the drills with the hosts.")
    expect(thread.locator("textarea")).to_have_count(0)
    expect(thread).to_contain_text("Observers read the discussion")
