"""The facilitator's walk-through: a blind, two-round exercise run through the browser only.

A facilitator who is also an administrator creates accounts for her team from a pasted list;
each new person sets a password through the one-time link she hands them and logs in. She
creates a blind decision, fills in its question, options, weighted criteria and members
(found by name) by following the set-up checklist, and starts scoring. Both analysts score
every cell with the keyboard (one slip undone with Ctrl+Z); a comment one writes on a cell
stays hidden from the other, and the observer sees no scores. She reveals round 1 (the
confirmation tells her how many cells are unscored), opens round 2; an analyst learns of it
from his home page and notifications, finds the contested cell marked and changes his score;
she reveals round 2 and issues a memo, which downloads. No shell, no README; every page state
on the way is checked with axe-core (tests/e2e/axe.py).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Dialog, Page, expect

from tests.e2e.axe import Audit
from tests.e2e.conftest import WAIT_MS

# Rendering a memo is real work: on a loaded machine it takes far longer than a page.
RENDER_WAIT_MS = 180_000
PASSWORD = "walk-through-password-1"
OPTIONS = (
    ("Intelligence sharing", "Share threat assessments with host governments."),
    ("Joint border drills", "Train border units together twice a year."),
    ("Development aid", "Fund water and energy projects along the border."),
)
# name, direction, weight
CRITERIA = (
    ("Host acceptability", "benefit", "50"),
    ("Escalation risk", "cost", "30"),
    ("Cost to the US", "cost", "20"),
)
# Each analyst's round-1 scores, row by row (options) and column by column (criteria). The
# analysts disagree by 3 points on "Joint border drills × Escalation risk": a contested cell.
SCORES = {
    "first": ((5, 2, 2), (3, 4, 3), (4, 1, 5)),
    "second": ((4, 2, 3), (3, 1, 3), (4, 2, 4)),
}
CONTESTED = ("Joint border drills", "Escalation risk")
COMMENT = "Drills this close to the border will read as escalation in Moscow."


@dataclass
class Person:
    username: str
    name: str
    role: str


def accept_and_record(asked: list[str]) -> Callable[[Dialog], None]:
    def handle(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    return handle


def set_password_and_log_in(
    browser: Browser, live_server: str, axe_audit: Audit, person: Person, link: str
) -> Page:
    """The new person opens the link in their own browser, sets a password and logs in."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(WAIT_MS)
    page = context.new_page()
    axe_audit.label(page, person.username)
    page.goto(link)
    expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    expect(page.get_by_text(f"Welcome, {person.name}")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password again").fill(PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_text("Your password is set")).to_be_visible()
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.get_by_role("heading", name="Your decisions")).to_be_visible()
    return page


def score_every_cell_by_keyboard(page: Page, scores: tuple[tuple[int, ...], ...]) -> None:
    """Digits pick a score, arrows move: along the first row, down, back along the second…"""
    options = [title for title, _ in OPTIONS]
    criteria = [name for name, _, _ in CRITERIA]
    page.get_by_label(f"Your score for {options[0]} on {criteria[0]}").focus()
    for row, option in enumerate(options):
        columns = list(range(len(criteria)))
        if row % 2:
            columns.reverse()
        for step, column in enumerate(columns):
            select = page.get_by_label(f"Your score for {option} on {criteria[column]}")
            expect(select).to_be_focused()
            page.keyboard.press(str(scores[row][column]))
            expect(select).to_have_value(str(scores[row][column]))
            expect(select.locator("xpath=..").locator(".save-status")).to_contain_text("Saved")
            if step < len(columns) - 1:
                page.keyboard.press("ArrowLeft" if row % 2 else "ArrowRight")
        if row < len(options) - 1:
            page.keyboard.press("ArrowDown")
    cells = len(options) * len(criteria)
    expect(page.locator("#my-progress-count")).to_contain_text(
        f"You have scored {cells} of {cells} cells"
    )


def test_a_facilitator_runs_a_blind_two_round_exercise_for_a_team_she_created(
    page_as: Callable[[str], Page], browser: Browser, live_server: str, axe_audit: Audit
) -> None:
    suffix = uuid.uuid4().hex[:6]
    first = Person(f"ana-{suffix}", "Ana Alves", "analyst")
    second = Person(f"ben-{suffix}", "Ben Brooks", "analyst")
    observer = Person(f"obi-{suffix}", "Obi Okafor", "observer")
    team = (first, second, observer)

    # --- People: accounts from a pasted list, one-time links read off the page ---------------
    fac = page_as("facilitator")
    fac.get_by_role("link", name="People").click()
    expect(fac.get_by_role("heading", name="People", exact=True)).to_be_visible()
    fac.get_by_label("Paste a list").fill(
        "\n".join(f"{p.username}, {p.name}, {p.username}@example.org" for p in team)
    )
    fac.get_by_role("button", name="Create accounts").click()
    expect(fac.get_by_role("heading", name="3 accounts created")).to_be_visible()
    links = {
        p.username: fac.get_by_label(f"Set-password link for {p.username}").input_value()
        for p in team
    }
    pages = {
        p.username: set_password_and_log_in(browser, live_server, axe_audit, p, links[p.username])
        for p in team
    }
    a, b, obs = (pages[p.username] for p in team)
    # A link works once.
    used = pages[observer.username].context.new_page()
    used.goto(links[observer.username])
    expect(used.get_by_text("This link has expired or has been used")).to_be_visible()
    used.close()

    # --- A new decision, blind from the start ------------------------------------------------
    fac.get_by_role("link", name="Options Matrix").click()
    title = f"Central Asia engagement {suffix}"
    fac.get_by_label("Title").fill(title)
    fac.get_by_label("Question").fill("How should the US stay engaged in Central Asia?")
    fac.get_by_role("radio", name=re.compile(r"^Blind")).check()
    fac.get_by_role("button", name="Create decision").click()
    expect(fac.get_by_role("heading", name=title, level=1)).to_be_visible()
    decision_url = fac.url
    setup = fac.locator("#setup")
    expect(setup).to_contain_text("Set-up: a draft, scoring has not started")
    expect(fac.get_by_role("button", name="Start scoring")).to_be_disabled()

    # The checklist's links lead to each step.
    setup.get_by_role("link", name=re.compile("option", re.I)).click()
    for option_title, summary in OPTIONS:
        fac.get_by_label("Option title").fill(option_title)
        fac.get_by_label("One-line summary").fill(summary)
        fac.get_by_role("button", name="Add option").click()
        expect(fac.locator("#option-list li", has_text=option_title)).to_be_visible()
        expect(fac.get_by_label("Option title")).to_have_value("")

    add = fac.locator("#criterion-add")
    for name, direction, weight in CRITERIA:
        add.get_by_label("Criterion name").fill(name)
        add.get_by_label("Weight").fill(weight)
        add.get_by_label("Direction").select_option(direction)
        fac.get_by_role("button", name="Add criterion").click()
        expect(fac.locator("#criteria").get_by_text(name, exact=True).first).to_be_visible()
        add = fac.locator("#criterion-add")
        expect(add.get_by_label("Criterion name")).to_have_value("")

    # Members: search by name, choose, give a role; a visible message after each.
    members = fac.locator("#members")
    for person in team:
        # The member form is swapped in after each change; type once htmx has settled it.
        expect(fac.locator("#members.htmx-added, #members.htmx-settling")).to_have_count(0)
        members.get_by_label("Person: search by name or username").press_sequentially(
            person.name.split()[0], delay=50
        )
        choice = members.get_by_role("radio", name=re.compile(person.name))
        expect(choice).to_be_visible()
        choice.check()
        members.get_by_label("Role", exact=True).select_option(person.role)
        members.get_by_role("button", name="Add or change member").click()
        expect(members.get_by_role("status")).to_contain_text(
            f"{person.name} ({person.username}) is now"
        )
        expect(members.get_by_label("Person: search by name or username")).to_have_value("")

    fac.reload()
    expect(fac.locator("#setup li.todo")).to_have_count(0)
    start = fac.get_by_role("button", name="Start scoring")
    expect(start).to_be_enabled()
    start.click()
    expect(fac.locator("#setup")).to_have_count(0)

    # --- Round 1: both analysts score every cell with the keyboard -----------------------------
    matrix_url = decision_url.rstrip("/") + "/matrix"
    for page, who in ((a, "first"), (b, "second")):
        page.goto("/")
        row = page.get_by_role("row", name=re.compile(re.escape(title)))
        expect(row).to_contain_text("analyst")
        expect(row).to_contain_text("9 of 9 cells to score")
        row.get_by_role("link", name=title).click()
        page.get_by_role("link", name="Score in the matrix").click()
        page.wait_for_url(re.compile(r"/matrix"))
        expect(
            page.get_by_text("you see only your own scores until the facilitator")
        ).to_be_visible()
        score_every_cell_by_keyboard(page, SCORES[who])
        if who == "first":
            # A slip of the finger on the last cell, taken back with Ctrl+Z.
            last = page.get_by_label(f"Your score for {OPTIONS[-1][0]} on {CRITERIA[-1][0]}")
            expect(last).to_be_focused()
            page.keyboard.press("1")
            expect(last).to_have_value("1")
            expect(last.locator("xpath=..").locator(".save-status")).to_contain_text("Saved")
            page.keyboard.press("Control+z")
            expect(last).to_have_value(str(SCORES["first"][-1][-1]))
            # A word on the cell she expects to be contested, in the cell's discussion.
            page.get_by_role("button", name=f"Details for {CONTESTED[0]} on {CONTESTED[1]}").click()
            drawer = page.locator("#cell-detail")
            drawer.get_by_label(f"Your comment on {CONTESTED[0]} on {CONTESTED[1]}").fill(COMMENT)
            drawer.get_by_role("button", name="Post comment").click()
            expect(drawer.locator(".comment-body", has_text=COMMENT)).to_be_visible()
            drawer.get_by_role("button", name="Close cell details").click()
            expect(drawer).to_be_empty()
        else:
            # Blind: the first analyst's comment on the cell is not shown to the second.
            page.get_by_role("button", name=f"Details for {CONTESTED[0]} on {CONTESTED[1]}").click()
            drawer = page.locator("#cell-detail")
            expect(drawer.get_by_role("heading", name=re.compile("^Discussion"))).to_be_visible()
            expect(drawer).not_to_contain_text(COMMENT)
            drawer.get_by_role("button", name="Close cell details").click()
            expect(drawer).to_be_empty()
        # Blind: the other analyst's scores and the group's values are nowhere on the page.
        expect(page.locator("#matrix-table .gv")).to_have_count(0)
        expect(page.locator("#matrix-table th.total-col")).to_have_count(0)

    # The observer sees no scores at all.
    obs.goto(matrix_url)
    expect(obs.locator("table.matrix")).to_be_visible()
    expect(obs.locator("table.matrix select")).to_have_count(0)
    expect(obs.locator("#matrix-table .gv")).to_have_count(0)
    expect(obs.get_by_text("stay hidden until the facilitator reveals round 1")).to_be_visible()
    for cell_text in obs.locator("#matrix-table td.cell").all_inner_texts():
        assert not re.search(r"\b[1-5]\b", cell_text), cell_text

    # --- Reveal round 1, with the confirmation -------------------------------------------------
    fac.goto(matrix_url)
    expect(fac.get_by_role("row", name=re.compile(first.name))).to_contain_text("9 / 9")
    asked: list[str] = []
    fac.once("dialog", accept_and_record(asked))
    fac.get_by_role("button", name="Reveal round 1").click()
    expect(fac.locator("#matrix-table .gv").first).to_be_visible()
    assert "0 of 18 cells are still unscored" in asked[0], asked
    contested = fac.get_by_role(
        "button", name=f"Details for {CONTESTED[0]} on {CONTESTED[1]}"
    ).locator("..")
    expect(contested.locator(".flag")).to_have_text("contested")
    # Every open matrix reloads itself on the reveal: the analysts and the observer now see the
    # group's values.
    for page in (a, b, obs):
        expect(page.locator("#matrix-table .gv").first).to_be_visible()
    # Revealed, the round's comments are shared too.
    b.get_by_role("button", name=f"Details for {CONTESTED[0]} on {CONTESTED[1]}").click()
    expect(b.locator("#cell-detail .comment-body", has_text=COMMENT)).to_be_visible()
    b.get_by_role("button", name="Close cell details").click()

    # --- Round 2: open it; an analyst changes the contested score; reveal it --------------------
    for page in (a, b, obs):
        page.goto("/")  # away from the matrix, which reloads itself when a round opens
    fac.goto(matrix_url)
    fac.once("dialog", lambda dialog: dialog.accept())
    fac.get_by_role("button", name="Open round 2").click()
    expect(fac.get_by_text("Round 2 · blind scoring, not yet revealed")).to_be_visible()

    # The analysts learn it from their home page and their notifications.
    b.goto("/")
    row = b.get_by_role("row", name=re.compile(re.escape(title)))
    expect(row).to_contain_text("round 2 opened — your previous scores are carried over")
    b.get_by_role("link", name=re.compile(r"^Notifications \(\d+ unread\)")).click()
    notes = b.locator("ol.notifications")
    expect(notes).to_contain_text(f"Round 1 of “{title}” was revealed")
    # Opening a notification marks it read and leads to the matrix.
    b.get_by_role("button", name=re.compile(f"Round 2 opened in “{re.escape(title)}”")).click()
    b.wait_for_url(re.compile(r"/matrix"))
    select = b.get_by_label(f"Your score for {CONTESTED[0]} on {CONTESTED[1]}")
    expect(select).to_have_value("1")  # carried over from round 1
    # The cell the analysts disagreed on in round 1 is marked; the others are not.
    marked = b.locator("#matrix-table .prev-contested")
    expect(marked).to_have_count(1)
    expect(marked).to_have_text("contested in round 1")
    expect(select.locator("xpath=ancestor::td").locator(".prev-contested")).to_have_count(1)
    select.focus()
    b.keyboard.press("3")
    expect(select).to_have_value("3")
    expect(select.locator("xpath=..").locator(".save-status")).to_contain_text("Saved")
    b.goto("/")

    fac.goto(matrix_url)
    asked.clear()
    fac.once("dialog", accept_and_record(asked))
    fac.get_by_role("button", name="Reveal round 2").click()
    expect(fac.locator("#matrix-table .gv").first).to_be_visible()
    assert "0 of 18 cells are still unscored" in asked[0], asked
    cell = fac.get_by_role("button", name=f"Details for {CONTESTED[0]} on {CONTESTED[1]}")
    expect(cell.locator("..").locator(".gv")).to_have_text("3.5")

    # --- The memo -----------------------------------------------------------------------------
    fac.get_by_role("link", name="Memos").first.click()
    fac.get_by_role("link", name="Issue memo").click()
    subject = f"Central Asia: how to stay engaged ({suffix})"
    fac.get_by_label("SUBJECT").fill(subject)
    fac.get_by_label("MEMORANDUM FOR").fill("The National Security Advisor")
    fac.get_by_role("button", name="Preview").click()
    preview = fac.frame_locator("iframe[name=memo-preview]")
    expect(preview.locator("h1")).to_have_text(subject)
    expect(preview.locator("table.matrix")).to_contain_text("Intelligence sharing")
    with fac.expect_download(timeout=RENDER_WAIT_MS) as download:
        fac.get_by_role("button", name="Issue memo").click()
        fac.wait_for_url(re.compile(r"/memos\?issued=\d+"), timeout=RENDER_WAIT_MS)
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    expect(fac.locator("#memo-issued")).to_contain_text(re.compile(r"Memo (\d+ )?issued"))
    expect(fac.locator("#memo-list tbody tr").filter(has_text=subject)).to_have_count(1)

    # The team hears of the memo; the decision's audit log holds the reveals and the memo.
    a.goto("/")
    expect(a.get_by_role("row", name=re.compile(re.escape(title)))).to_contain_text(
        re.compile(r"memo (\d+ )?issued")
    )
    a.get_by_role("link", name=re.compile(r"^Notifications")).click()
    expect(a.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(a.locator("main")).to_contain_text(re.compile(r"Memo 1 of .+ was issued"))
    fac.get_by_role("link", name="Audit log", exact=True).click()
    log = fac.locator("#audit-log")
    expect(log).to_contain_text(re.compile("reveal", re.I))
    expect(log).to_contain_text(re.compile("memo", re.I))
    # Accounts are the administrator's: the observer is told so.
    response = obs.goto("/people")
    assert response is not None and response.status == 403
    expect(obs.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(obs.get_by_text("Only administrators may manage accounts.")).to_be_visible()
