"""Two analysts score side by side: live updates, blind rounds, keyboard scoring, round 2."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

DEMO = "/decisions/1"


def csrf(page: Page) -> str:
    return page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")


def post(page: Page, url: str, form: dict[str, str]):  # type: ignore[no-untyped-def]
    response = page.request.post(url, form=form, headers={"X-CSRFToken": csrf(page)})
    assert response.ok, (url, response.status, response.text()[:300])
    return response


def fresh_decision(page: Page, *, blind: bool) -> int:
    """A small decision of our own, so these tests never depend on each other's changes."""
    page.goto("/")
    response = post(
        page,
        "/decisions",
        {
            "title": f"E2E decision {uuid.uuid4().hex[:6]}",
            "question": "What should we do?",
            "scale_min": "1",
            "scale_max": "5",
            "scoring_mode": "blind" if blind else "open",
        },
    )
    decision_id = int(re.search(r"/decisions/(\d+)", response.url).group(1))
    base = f"/decisions/{decision_id}"
    for username in ("analyst-a", "analyst-b"):
        post(page, f"{base}/members", {"username": username, "role": "analyst"})
    post(page, f"{base}/members", {"username": "observer", "role": "observer"})
    for title in ("Intelligence sharing", "Joint drills"):
        post(page, f"{base}/options", {"title": title})
    for name, direction in (("Acceptability", "benefit"), ("Escalation risk", "cost")):
        post(page, f"{base}/criteria", {"name": name, "direction": direction, "weight": "50"})
    post(page, f"{base}/start", {})
    return decision_id


def group_text(page: Page, option: str, criterion: str) -> str:
    return (
        page.get_by_role("button", name=f"Details for {option} on {criterion}")
        .locator("..")
        .locator(".group")
        .inner_text()
    )


def test_a_save_appears_in_the_other_analysts_matrix_without_reload(page_as) -> None:  # type: ignore[no-untyped-def]
    fac = page_as("facilitator")
    decision_id = fresh_decision(fac, blind=False)
    a, b = page_as("analyst-a"), page_as("analyst-b")
    a.goto(f"/decisions/{decision_id}/matrix")
    b.goto(f"/decisions/{decision_id}/matrix")
    b.evaluate("window.__noReload = true")
    b.get_by_label("Your score for Joint drills on Acceptability").select_option("1")
    expect(b.locator(".save-status", has_text="Saved")).to_have_count(1)
    # b starts typing a rationale in the detail panel; a's change must not disturb it.
    b.get_by_role("button", name="Details for Joint drills on Acceptability").click()
    rationale = b.get_by_label("Your rationale for Joint drills on Acceptability")
    rationale.fill("Half-written thought")

    a.get_by_label("Your score for Joint drills on Acceptability").select_option("5")
    cell = (
        b.locator("#matrix-table")
        .get_by_role("button", name="Details for Joint drills on Acceptability")
        .locator("..")
    )
    expect(cell.locator(".gv")).to_have_text("3.0")
    expect(cell.locator(".spread")).to_contain_text("n 2")
    expect(cell.locator(".flag")).to_have_text("contested")
    assert b.evaluate("window.__noReload") is True
    expect(rationale).to_have_value("Half-written thought")
    expect(b.get_by_label("Your score for Joint drills on Acceptability")).to_have_value("1")


def test_blind_mode_hides_until_reveal(page_as) -> None:  # type: ignore[no-untyped-def]
    fac = page_as("facilitator")
    decision_id = fresh_decision(fac, blind=True)
    a, b = page_as("analyst-a"), page_as("analyst-b")
    url = f"/decisions/{decision_id}/matrix"
    a.goto(url)
    a.get_by_label("Your score for Intelligence sharing on Acceptability").select_option("4")
    expect(a.locator(".save-status", has_text="Saved")).to_have_count(1)
    b.goto(url)
    expect(b.get_by_text("stay hidden until the facilitator reveals round 1")).to_be_visible()
    expect(b.locator(".group .gv")).to_have_count(0)
    expect(b.locator("#ranking")).not_to_contain_text("Intelligence sharing")
    fac.goto(url)
    expect(
        fac.get_by_role("row", name=re.compile("Analyst A")).get_by_text("1 / 4")
    ).to_be_visible()
    expect(fac.locator(".group .gv")).to_have_count(0)
    asked: list[str] = []

    def confirm(dialog) -> None:  # type: ignore[no-untyped-def]
        asked.append(dialog.message)
        dialog.accept()

    fac.once("dialog", confirm)  # "Reveal round 1? 7 of 8 cells … cannot be undone."
    fac.get_by_role("button", name="Reveal round 1").click()
    expect(fac.locator(".group .gv").first).to_be_visible()
    assert "7 of 8 cells are still unscored" in asked[0]
    # b's open page reloads itself on reveal and now shows the group value.
    expect(b.locator("#matrix-table .gv").first).to_have_text("4.0")
    expect(b.locator("#ranking")).to_contain_text("Intelligence sharing")


def test_keyboard_only_scoring_of_a_full_row(page_as) -> None:  # type: ignore[no-untyped-def]
    page: Page = page_as("analyst-c")
    page.goto(DEMO + "/matrix")
    first = page.locator("table.matrix tbody tr").nth(1).locator("select.score").first
    first.focus()
    row_selects = page.locator("table.matrix tbody tr").nth(1).locator("select.score")
    count = row_selects.count()
    assert count == 7
    # A value different from the stored one in every cell, so every key press is a change.
    values = [str(int(row_selects.nth(i).input_value() or "0") % 5 + 1) for i in range(count)]
    for i, value in enumerate(values):
        page.keyboard.press(value)
        expect(row_selects.nth(i)).to_have_value(value)
        expect(row_selects.nth(i).locator("xpath=..").locator(".save-status")).to_contain_text(
            "Saved"
        )
        if i < count - 1:
            page.keyboard.press("ArrowRight")
            expect(row_selects.nth(i + 1)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(
        page.locator("table.matrix tbody tr").nth(2).locator("select.score").nth(count - 1)
    ).to_be_focused()
    page.reload()
    row_selects = page.locator("table.matrix tbody tr").nth(1).locator("select.score")
    assert [row_selects.nth(i).input_value() for i in range(count)] == values


def test_round_two_starts_from_round_one_scores(page_as) -> None:  # type: ignore[no-untyped-def]
    fac = page_as("facilitator")
    decision_id = fresh_decision(fac, blind=False)
    a = page_as("analyst-a")
    url = f"/decisions/{decision_id}/matrix"
    a.goto(url)
    a.get_by_label("Your score for Joint drills on Escalation risk").select_option("4")
    expect(a.locator(".save-status", has_text="Saved")).to_have_count(1)
    # Leave the matrix: an open matrix reloads itself when a round opens, and that reload
    # would race the navigation below.
    a.goto("/")
    fac.goto(url)
    fac.once("dialog", lambda dialog: dialog.accept())
    fac.get_by_role("button", name="Open round 2").click()
    expect(fac.get_by_text("Round 2 · open scoring")).to_be_visible()
    a.goto(url)
    select = a.get_by_label("Your score for Joint drills on Escalation risk")
    expect(select).to_have_value("4")
    expect(a.locator(".group .prev").first).to_contain_text("Round 1 group:")
    select.select_option("3")
    expect(a.locator(".save-status", has_text="Saved")).to_have_count(1)
    a.goto(url + "?round=1")
    expect(a.get_by_text("earlier round, read-only")).to_be_visible()
    expect(a.locator("table.matrix select")).to_have_count(0)
    expect(a.get_by_label("Your score for Joint drills on Escalation risk")).to_have_text("You: 4")


def test_facilitator_weight_change_moves_totals_live(page_as) -> None:  # type: ignore[no-untyped-def]
    fac = page_as("facilitator")
    decision_id = fresh_decision(fac, blind=False)
    a = page_as("analyst-a")
    url = f"/decisions/{decision_id}/matrix"
    a.goto(url)
    # Intelligence sharing is acceptable but risky; joint drills the opposite.
    for label, value in (
        ("Intelligence sharing on Acceptability", "5"),
        ("Intelligence sharing on Escalation risk", "5"),
        ("Joint drills on Acceptability", "1"),
        ("Joint drills on Escalation risk", "1"),
    ):
        a.get_by_label(f"Your score for {label}").select_option(value)
    expect(a.locator(".save-status", has_text="Saved")).to_have_count(4)
    fac.goto(url)
    expect(fac.locator("#ranking li").first).to_contain_text("50.0")  # 50/50 weights: a tie
    weight = fac.get_by_label("Weight of Acceptability")
    weight.fill("150")
    weight.press("Tab")
    expect(fac.locator("#ranking li").first).to_contain_text("Intelligence sharing")
    expect(fac.locator("#ranking li").first).to_contain_text("75.0")
    expect(fac.locator(".crit", has_text="Acceptability")).to_contain_text("75 %")
    # The analyst's open page follows without a reload.
    expect(a.locator("#ranking li").first).to_contain_text("75.0")


def test_rationale_written_in_the_drawer_shows_everywhere(page_as) -> None:  # type: ignore[no-untyped-def]
    fac = page_as("facilitator")
    decision_id = fresh_decision(fac, blind=False)
    a = page_as("analyst-a")
    a.goto(f"/decisions/{decision_id}/matrix")
    a.get_by_label("Your score for Joint drills on Acceptability").select_option("2")
    expect(a.locator(".save-status", has_text="Saved")).to_have_count(1)
    a.get_by_role("button", name="Details for Joint drills on Acceptability").click()
    drawer = a.locator("#cell-detail")
    expect(drawer.get_by_role("heading", name="Joint drills — Acceptability")).to_be_focused()
    drawer.get_by_label("Your rationale for Joint drills on Acceptability").fill(
        "Hosts wary of visible drills"
    )
    drawer.get_by_role("button", name="Save rationale").click()
    expect(drawer.get_by_text("Rationale saved.")).to_be_visible()
    expect(drawer.get_by_role("row", name="Analyst A")).to_contain_text(
        "Hosts wary of visible drills"
    )
    a.keyboard.press("Escape")
    expect(drawer).to_be_empty()
    expect(
        a.get_by_role("button", name="Details for Joint drills on Acceptability")
    ).to_be_focused()
    a.get_by_label("Your score for Joint drills on Acceptability").focus()
    expect(
        a.locator("#matrix-table .my-rationale", has_text="Hosts wary of visible drills")
    ).to_be_visible()
