"""Scoring that forgives and explains: Undo by button and by Ctrl+Z, the keys that never change
a score, verbal anchors in the select and the header's tooltip, marks for rationales and for
cells contested in the previous round."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.e2e.test_scoring import fresh_decision, post

CELL = "Joint drills on Acceptability"


def matrix(page: Page, decision_id: int) -> None:
    page.goto(f"/decisions/{decision_id}/matrix")
    expect(page.locator("#matrix-table")).to_be_visible()


def choose(page: Page, select: Locator, value: str) -> None:
    """Pick a score and wait for its save to be answered."""
    with page.expect_response(lambda r: r.url.endswith("/matrix/scores")):
        select.select_option(value)


def status_of(page: Page, label: str):  # type: ignore[no-untyped-def]
    return page.get_by_label(f"Your score for {label}").locator("xpath=..").locator(".save-status")


def test_undo_by_the_button_beside_the_confirmation_and_by_keyboard(
    page_as: Callable[[str], Page],
) -> None:
    decision_id = fresh_decision(page_as("facilitator"), blind=False)
    a = page_as("analyst-a")
    matrix(a, decision_id)
    select = a.get_by_label(f"Your score for {CELL}")
    choose(a, select, "4")
    expect(status_of(a, CELL)).to_contain_text("Saved")
    choose(a, select, "2")
    undo = status_of(a, CELL).get_by_role("button", name=f"Undo your change to {CELL}")
    expect(undo).to_be_visible()
    undo.click()
    expect(status_of(a, CELL)).to_have_text("Undone: back to 4 — good")
    expect(select).to_have_value("4")
    expect(select).to_be_focused()  # focus comes back to the cell, not the page's top
    # By keyboard: Tab from the cell reaches the Undo, Enter undoes.
    choose(a, select, "1")
    expect(status_of(a, CELL).get_by_role("button", name="Undo")).to_be_visible()
    select.focus()
    a.keyboard.press("Tab")
    expect(status_of(a, CELL).get_by_role("button", name="Undo")).to_be_focused()
    a.keyboard.press("Enter")
    expect(select).to_have_value("4")
    a.reload()
    expect(a.get_by_label(f"Your score for {CELL}")).to_have_value("4")


def test_ctrl_z_undoes_the_last_change_wherever_it_was(page_as: Callable[[str], Page]) -> None:
    decision_id = fresh_decision(page_as("facilitator"), blind=False)
    a = page_as("analyst-a")
    matrix(a, decision_id)
    first = a.get_by_label("Your score for Intelligence sharing on Acceptability")
    second = a.get_by_label(f"Your score for {CELL}")
    choose(a, first, "3")
    expect(status_of(a, "Intelligence sharing on Acceptability")).to_contain_text("Saved")
    choose(a, second, "5")
    expect(status_of(a, CELL)).to_contain_text("Saved")
    first.focus()  # focus elsewhere: Ctrl+Z still takes back the last change (the second)
    a.keyboard.press("Control+z")
    expect(status_of(a, CELL)).to_have_text("Undone: back to no score")
    expect(second).to_have_value("")
    a.keyboard.press("Control+z")
    expect(first).to_have_value("")
    # Nothing left: a clear message, nothing changed.
    a.keyboard.press("Control+z")
    expect(a.locator("#flash")).to_contain_text("Nothing to undo")
    # In a text field Ctrl+Z is the field's own undo, not a score's.
    choose(a, second, "2")
    expect(status_of(a, CELL)).to_contain_text("Saved")
    a.get_by_role("button", name=f"Details for {CELL}").click()
    rationale = a.get_by_label(f"Your rationale for {CELL}")
    rationale.fill("draft")
    rationale.press("Control+z")
    expect(second).to_have_value("2")


def test_home_end_page_up_and_page_down_never_change_a_score(
    page_as: Callable[[str], Page],
) -> None:
    decision_id = fresh_decision(page_as("facilitator"), blind=False)
    a = page_as("analyst-a")
    matrix(a, decision_id)
    select = a.get_by_label(f"Your score for {CELL}")
    choose(a, select, "3")
    expect(status_of(a, CELL)).to_contain_text("Saved")
    a.reload()
    select = a.get_by_label(f"Your score for {CELL}")
    saves: list[str] = []
    a.on("request", lambda r: saves.append(r.url) if "/matrix/scores" in r.url else None)
    select.focus()
    for key in ("Home", "End", "PageUp", "PageDown", "x", "Control+End", "Shift+Home"):
        a.keyboard.press(key)
        expect(select).to_have_value("3")
    expect(status_of(a, CELL)).to_have_text("")
    assert saves == []
    # The keys that do act: a digit, "n", Delete, Backspace (each saved before the next).
    for key, value in (("5", "5"), ("n", "na"), ("Delete", ""), ("2", "2"), ("Backspace", "")):
        with a.expect_response(lambda r: r.url.endswith("/matrix/scores")):
            a.keyboard.press(key)
        expect(select).to_have_value(value)
    a.reload()
    expect(a.get_by_label(f"Your score for {CELL}")).to_have_value("")


def test_anchors_show_in_the_select_and_the_header_tooltip(
    page_as: Callable[[str], Page],
) -> None:
    decision_id = fresh_decision(page_as("facilitator"), blind=False)
    a = page_as("analyst-a")
    matrix(a, decision_id)
    risk = a.get_by_label("Your score for Joint drills on Escalation risk")
    assert risk.locator("option").all_inner_texts() == [
        "—",
        "1 — very cheap",
        "2 — cheap",
        "3 — moderate",
        "4 — costly",
        "5 — very costly",
        "N/A — can’t judge",
    ]
    header = a.locator("#matrix-table th.crit", has_text="Escalation risk")
    expect(header).to_contain_text("5 = very costly")
    tip = header.get_by_role("tooltip")
    expect(tip).to_be_hidden()
    about = header.get_by_role("button", name="About Escalation risk")
    about.focus()
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("Cost: score the size of the cost; lower is better.")
    expect(tip).to_contain_text("1 = very cheap")
    expect(about).to_have_accessible_description(
        "Cost: score the size of the cost; lower is better. 1 = very cheap; 2 = cheap; "
        "3 = moderate; 4 = costly; 5 = very costly."
    )
    a.keyboard.press("Escape")
    expect(tip).to_be_hidden()
    a.keyboard.press("Tab")
    header.locator(".cname").hover()
    expect(tip).to_be_visible()
    # The drawer names the points too.
    a.get_by_role("button", name="Details for Joint drills on Escalation risk").click()
    expect(a.locator("#cell-detail dl.anchors")).to_contain_text("very costly")


def test_round_two_marks_contested_cells_and_rationales(page_as: Callable[[str], Page]) -> None:
    fac = page_as("facilitator")
    decision_id = fresh_decision(fac, blind=True)
    a, b = page_as("analyst-a"), page_as("analyst-b")
    base = f"/decisions/{decision_id}"
    matrix(a, decision_id)
    matrix(b, decision_id)
    a.get_by_label(f"Your score for {CELL}").select_option("1")
    expect(status_of(a, CELL)).to_contain_text("Saved")
    b.get_by_label(f"Your score for {CELL}").select_option("5")
    expect(status_of(b, CELL)).to_contain_text("Saved")
    b.get_by_role("button", name=f"Details for {CELL}").click()
    b.get_by_label(f"Your rationale for {CELL}").fill("Hosts would welcome it.")
    b.get_by_role("button", name="Save rationale").click()
    expect(b.get_by_text("Rationale saved.")).to_be_visible()
    # Blind: a sees no count of b's rationale; b's own cell carries the corner mark.
    a.reload()
    expect(a.locator(".rationale-count")).to_have_count(0)
    b.reload()
    expect(b.locator("#matrix-table td.cell.has-rationale")).to_have_count(1)
    a.goto("/")
    b.goto("/")
    fac.goto(base + "/matrix")
    post(fac, base + "/rounds/reveal", {})
    post(fac, base + "/rounds", {"round": "1"})
    matrix(a, decision_id)
    cell = a.get_by_role("button", name=f"Details for {CELL}").locator("..")
    expect(cell.locator(".prev-contested")).to_have_text("contested in round 1")
    expect(a.locator("#matrix-table .prev-contested")).to_have_count(1)
    expect(a.locator(".legend")).to_contain_text("contested in round 1")
    # Round 2 is blind again: the rationale count waits for its reveal.
    expect(a.locator(".rationale-count")).to_have_count(0)
    fac.goto(base + "/matrix")
    post(fac, base + "/rounds/reveal", {})
    a.reload()
    expect(
        a.get_by_role("button", name=f"Details for {CELL}")
        .locator("..")
        .locator(".rationale-count")
    ).to_have_text("✎ 1 rationale")
