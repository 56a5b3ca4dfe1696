"""History in the browser: an option's timeline with word diffs and a text restore, the
filterable feed with "load more", the matrix as of a change (read-only) and a comparison."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

DEMO = "/decisions/1"


def edit_description(page: Page, title: str, text: str) -> None:
    page.get_by_role("button", name=f"Edit option {title}").click()
    card = page.locator("li.editing")
    card.get_by_label("Description (Markdown)").fill(text)
    card.get_by_role("button", name="Save").click()
    expect(page.locator("li.editing")).to_have_count(0)


def test_option_timeline_diff_and_restore(page_as) -> None:  # type: ignore[no-untyped-def]
    page: Page = page_as("facilitator")
    page.goto(DEMO)
    title = f"Border patrol mentoring {uuid.uuid4().hex[:6]}"
    page.get_by_label("Option title").fill(title)
    page.get_by_role("button", name="Add option").click()
    expect(page.locator("#option-list li", has_text=title)).to_be_visible()
    edit_description(page, title, "Mentor Tajik border units on the Panj.")
    edit_description(page, title, "Mentor Tajik and Uzbek border units along the Panj river.")

    page.get_by_role("link", name=title, exact=True).first.click()
    history = page.locator("#history")
    expect(history.get_by_role("heading", name="History of this option")).to_be_visible()
    newest = history.locator("li.entry").first
    expect(newest).to_contain_text(f"Morgan Hale edited “{title}”: description.")
    expect(newest.locator("ins", has_text="and Uzbek")).to_be_visible()
    expect(newest.locator("del", has_text="on")).to_be_visible()
    expect(history.locator("li.entry")).to_have_count(3)  # proposed and two edits
    # Restore the first description (saved in the older edit) as a new change.
    older_edit = history.locator("li.entry").nth(1)
    expect(older_edit).to_contain_text("edited")
    older_edit.get_by_role(
        "button", name=re.compile(r"Restore this text \(saved in change")
    ).click()
    expect(page).to_have_url(re.compile(r"/options/\d+#history$"))
    expect(history.locator("li.entry").first).to_contain_text(
        f"Morgan Hale restored an earlier text of “{title}”: description."
    )
    expect(
        page.locator("ul.cards.single").get_by_text("Mentor Tajik border units on the Panj.")
    ).to_be_attached()
    expect(history.locator("li.entry")).to_have_count(4)
    # Leave the shared demo matrix as it was: withdraw the option again (also a timeline entry).
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Withdraw option {title}").click()
    expect(page.locator("ul.cards.single").get_by_text("Withdrawn")).to_be_visible()
    page.reload()
    expect(history.locator("li.entry").first).to_contain_text(
        f"Morgan Hale withdrew the option “{title}”."
    )


def test_feed_filters_and_loads_more_without_reloading(page_as) -> None:  # type: ignore[no-untyped-def]
    page: Page = page_as("observer")
    page.goto(f"{DEMO}/history")
    # Pages of 50 changes (a memo issued in between stands beside them, not instead).
    entries = page.locator("#feed-list li.entry:not(.memo-entry)")
    expect(entries).to_have_count(50)
    page.evaluate("window.__noReload = true")
    page.get_by_role("link", name="Load older changes").click()
    expect(entries).not_to_have_count(50)
    assert entries.count() > 50
    page.get_by_label("Kind of change").select_option("criterion")
    expect(page).to_have_url(re.compile(r"kind=criterion"))
    expect(entries.first).to_contain_text("criterion")
    for text in entries.all_inner_texts():
        assert "Criteria and weights" in text
    assert page.evaluate("window.__noReload") is True
    page.reload()  # the pushed URL is a full page with the same filter
    expect(page.get_by_label("Kind of change")).to_have_value("criterion")


def test_matrix_as_of_a_change_is_read_only_and_compares(page_as) -> None:  # type: ignore[no-untyped-def]
    page: Page = page_as("analyst-a")
    page.goto(f"{DEMO}/history?kind=criterion")
    page.get_by_role("link", name="Matrix as of this change").first.click()
    expect(page.get_by_text("Historical view — read-only.")).to_be_visible()
    expect(page.locator("table.matrix")).to_be_visible()
    expect(page.locator("select.score")).to_have_count(0)
    page.locator("table.matrix").get_by_role(
        "button", name=re.compile("^Details for ")
    ).first.click()
    expect(page.locator("#cell-detail")).to_contain_text("Every analyst’s score")
    page.get_by_role("button", name="Compare").click()
    expect(
        page.get_by_role("heading", name=re.compile(r"What changed between change #\d+"))
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Ranking")).to_be_visible()
