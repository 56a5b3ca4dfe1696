"""People in the app, by keyboard: an administrator creates two accounts from a pasted list;
the facilitator finds them by name in the member form of a new decision, adds them, confirms
a role change, removes one, then archives the decision and restores it from the home page."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect


def press(page: Page, key: str, times: int = 1) -> None:
    for _ in range(times):
        page.keyboard.press(key)


def test_a_facilitator_builds_a_team_in_the_browser_by_keyboard(page_as) -> None:  # type: ignore[no-untyped-def]
    page: Page = page_as("facilitator")
    tag = uuid.uuid4().hex[:6]
    surname = f"Quist{tag}"
    alma, bo = f"Alma {surname}", f"Bo {surname}"

    # Two accounts from a pasted list.
    page.goto("/people")
    page.get_by_label("Paste a list").focus()
    page.keyboard.type(f"username, name\nalma-{tag}, {alma}\nbo-{tag}, {bo}, bo@example.org")
    press(page, "Tab", 2)  # past the file chooser to the button
    expect(page.get_by_role("button", name="Create accounts")).to_be_focused()
    press(page, "Enter")
    expect(page.get_by_role("heading", name="2 accounts created")).to_be_visible()
    expect(page.get_by_label(f"Set-password link for alma-{tag}")).to_have_value(
        re.compile(r"/login\?token=")
    )

    # A new decision to staff.
    page.goto("/")
    title = f"Staffing test {tag}"
    page.get_by_label("Title").focus()
    page.keyboard.type(title)
    page.get_by_label("Open: analysts see").focus()
    press(page, "Space")
    page.get_by_role("button", name="Create decision").focus()
    press(page, "Enter")
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    members = page.locator("#members")

    def add(name: str, role_key: str) -> None:
        members.get_by_label("Person: search by name or username").focus()
        page.keyboard.type(surname)
        choices = members.get_by_role("radio")
        expect(choices).to_have_count(2)
        press(page, "Tab")  # into the results: the first is chosen
        expect(members.get_by_role("radio", name=alma)).to_be_focused()
        if name == bo:
            press(page, "ArrowDown")
        expect(members.get_by_role("radio", name=name)).to_be_checked()
        press(page, "Tab")
        expect(members.get_by_label("Role", exact=True)).to_be_focused()
        page.keyboard.type(role_key)
        press(page, "Tab")
        expect(members.get_by_role("button", name="Add or change member")).to_be_focused()
        press(page, "Enter")

    add(alma, "a")
    expect(members.locator(".notice")).to_have_text(
        f"{alma} (alma-{tag}) is now an analyst in this decision."
    )
    expect(members.get_by_label("Person: search by name or username")).to_have_value("")
    add(bo, "o")
    expect(members.locator(".notice")).to_contain_text(f"{bo} (bo-{tag}) is now an observer")

    # A role change is confirmed first.
    add(bo, "a")
    expect(members.locator(".confirm-box")).to_contain_text(
        f"Change {bo} (bo-{tag}) from observer to analyst?"
    )
    row = members.get_by_role("row", name=re.compile(bo))
    expect(row).to_contain_text("observer")  # not yet
    confirm = members.get_by_role("button", name="Change role to analyst")
    expect(confirm).to_be_focused()
    press(page, "Enter")
    expect(members.locator(".notice")).to_contain_text(f"{bo} (bo-{tag}) is now an analyst")
    expect(members.get_by_role("row", name=re.compile(bo))).to_contain_text("analyst")

    # Removing Alma, confirmed.
    members.get_by_role("link", name=f"Remove {alma} (alma-{tag}) from this decision").focus()
    press(page, "Enter")
    expect(members.locator(".confirm-box")).to_contain_text(
        f"Remove {alma} (alma-{tag}), analyst, from this decision?"
    )
    expect(members.get_by_role("button", name=f"Remove {alma}")).to_be_focused()
    press(page, "Enter")
    expect(members.locator(".notice")).to_contain_text(f"{alma} (alma-{tag}) is no longer a member")
    expect(members.get_by_role("row", name=re.compile(alma))).to_have_count(0)
    expect(members.get_by_role("row", name=re.compile(bo))).to_have_count(1)

    # Archive the decision (confirmed), then restore it from the home page.
    page.locator("#decision-details summary").focus()
    press(page, "Enter")
    page.get_by_role("link", name="Archive this decision…").focus()
    press(page, "Enter")
    expect(page.get_by_role("heading", name=f"Archive “{title}”?")).to_be_visible()
    expect(page.get_by_role("button", name="Archive this decision")).to_be_focused()
    press(page, "Enter")
    expect(page.locator(".flashes")).to_contain_text(f"“{title}” is archived")
    main_list = page.locator("table.home")
    expect(main_list.get_by_role("link", name=title)).to_have_count(0)
    archived = page.locator("#archived")
    archived.locator("summary").focus()
    press(page, "Enter")
    restore = archived.get_by_role("button", name=f"Restore {title}")
    restore.focus()
    press(page, "Enter")
    expect(page.locator(".flashes")).to_contain_text(f"“{title}” is restored")
    expect(page.locator("table.home").get_by_role("link", name=title)).to_be_visible()
