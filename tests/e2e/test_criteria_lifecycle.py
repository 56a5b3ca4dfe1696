"""Criteria in the browser: verbal anchors worded in the add and edit forms, a criterion
removed from a draft, and one retired (the confirmation answered by keyboard) and restored,
its matrix column leaving and coming back."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Dialog, Page, expect

DEMO = "/decisions/1"
RETIRED = "Speed to implement"  # a demo criterion


def accept_into(asked: list[str]):  # type: ignore[no-untyped-def]
    def handle(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    return handle


def test_anchors_are_worded_and_a_draft_criterion_is_removed(page_as) -> None:  # type: ignore[no-untyped-def]
    page: Page = page_as("facilitator")
    title = f"Anchors {uuid.uuid4().hex[:6]}"
    page.get_by_label("Title").fill(title)
    page.get_by_label("Question").fill("Which port should the aid go through?")
    page.get_by_role("radio", name=re.compile(r"^Open")).check()
    page.get_by_role("button", name="Create decision").click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()

    section = page.locator("#criteria")
    add = page.locator("#criterion-add")
    anchors = add.get_by_role("group", name="What each score means (verbal anchors)")
    # Prefilled with the benefit defaults; choosing "cost" swaps in the cost defaults.
    expect(anchors.get_by_label("1 =", exact=True)).to_have_value("very poor")
    add.get_by_label("Criterion name").fill("Cost to the donor")
    add.get_by_label("Weight").fill("40")
    add.get_by_label("Direction").select_option("cost")
    expect(anchors.get_by_label("1 =", exact=True)).to_have_value("very cheap")
    expect(anchors.get_by_label("5 =", exact=True)).to_have_value("very costly")
    anchors.get_by_label("5 =", exact=True).fill("more than the whole budget")
    add.get_by_role("button", name="Add criterion").click()
    expect(section.get_by_role("status")).to_have_text("Added the criterion “Cost to the donor”.")
    row = section.get_by_role("row", name=re.compile("Cost to the donor"))
    expect(row).to_contain_text("1 = very cheap · 2 = cheap")
    expect(row).to_contain_text("5 = more than the whole budget")

    # Edit: another wording, by keyboard.
    section.get_by_role("button", name="Edit criterion Cost to the donor").click()
    editing = section.locator("tr.editing")
    editing.get_by_label("3 =", exact=True).fill("about what we planned")
    editing.get_by_label("3 =", exact=True).press("Enter")
    expect(section.locator("tr.editing")).to_have_count(0)
    expect(row).to_contain_text("3 = about what we planned")
    expect(row).to_contain_text("5 = more than the whole budget")

    # Too long an anchor: a clear message, nothing saved.
    section.get_by_role("button", name="Edit criterion Cost to the donor").click()
    editing = section.locator("tr.editing")
    editing.get_by_label("2 =", exact=True).fill("x" * 80)
    editing.get_by_label("2 =", exact=True).evaluate("el => { el.removeAttribute('maxlength'); }")
    editing.get_by_label("2 =", exact=True).fill("y" * 81)
    editing.get_by_role("button", name="Save criterion").click()
    expect(editing.locator(".anchors-field .error")).to_have_text(
        "The anchor for 2 must be at most 80 characters (it has 81)."
    )
    editing.get_by_role("button", name="Cancel").click()
    expect(row).to_contain_text("2 = cheap")

    # A mistyped criterion is removed from the draft; the confirmation says what happens.
    add = page.locator("#criterion-add")
    add.get_by_label("Criterion name").fill("Speeed")
    add.get_by_role("button", name="Add criterion").click()
    expect(section.get_by_role("row", name=re.compile("Speeed"))).to_be_visible()
    asked: list[str] = []
    page.once("dialog", accept_into(asked))
    section.get_by_role("button", name="Remove criterion Speeed").focus()
    page.keyboard.press("Enter")
    expect(section.get_by_role("status")).to_have_text("Removed “Speeed” from this draft.")
    assert asked and asked[0].startswith("Remove “Speeed”?")
    expect(section.get_by_role("row", name=re.compile("Speeed"))).to_have_count(0)

    page.reload()
    expect(page.locator("#criteria").get_by_role("row", name=re.compile("Speeed"))).to_have_count(0)
    expect(page.locator("#criteria")).to_contain_text("5 = more than the whole budget")


def test_retire_by_keyboard_and_restore(page_as) -> None:  # type: ignore[no-untyped-def]
    page: Page = page_as("facilitator")
    matrix: Page = page.context.new_page()
    matrix.goto(f"{DEMO}/matrix")
    header = matrix.locator("table.matrix thead th", has_text=RETIRED)
    expect(header).to_have_count(1)

    page.goto(f"{DEMO}#criteria")
    section = page.locator("#criteria")
    asked: list[str] = []
    page.once("dialog", accept_into(asked))
    section.get_by_role("button", name=f"Retire criterion {RETIRED}").focus()
    page.keyboard.press("Enter")
    expect(section.get_by_role("status")).to_contain_text(f"Retired “{RETIRED}”")
    assert asked == [
        f"Retire “{RETIRED}”? It leaves totals and the memo; its scores stay in history; "
        "you can restore it."
    ]
    retired = section.locator("#retired-criteria")
    expect(retired.get_by_role("row", name=re.compile(RETIRED))).to_be_visible()
    expect(section.get_by_role("button", name=f"Retire criterion {RETIRED}")).to_have_count(0)

    # The open matrix follows live: the column leaves without a reload by hand.
    expect(header).to_have_count(0)
    expect(matrix.locator("table.matrix")).to_be_visible()

    # Restore (no confirmation needed), by keyboard too.
    section.get_by_role("button", name=f"Restore criterion {RETIRED}").focus()
    page.keyboard.press("Enter")
    expect(section.get_by_role("status")).to_contain_text(f"Restored “{RETIRED}”")
    expect(section.locator("#retired-criteria")).to_have_count(0)
    expect(section.get_by_role("button", name=f"Retire criterion {RETIRED}")).to_be_visible()
    expect(header).to_have_count(1)
    matrix.close()
