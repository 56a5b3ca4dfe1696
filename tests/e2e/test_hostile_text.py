"""Hostile text in the browser: a decision whose every text a person writes carries script,
event-handler, ``javascript:``, SVG, Markdown, entity and template payloads
(:mod:`tests.hostile_corpus`), shown on every page and fragment a member can reach.

On each one: no dialog opens, the console reports no error (a Content-Security-Policy refusal
of an injected script would be one), no element carries an event-handler attribute or a
``javascript:`` URL, ``{{7*7}}`` is not evaluated, and the payloads read as typed.

The decision is written straight into the live server's database (display names can only be
set there); everything after that goes through the browser.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, expect
from sqlalchemy import func, select
from sqlmodel import col

from app import create_app
from app.db.models import Revision
from app.db.uow import unit_of_work
from app.services import users as user_service
from tests.e2e.conftest import DEMO_PASSWORD, WAIT_MS
from tests.hostile_corpus import (
    ACTIVE_CONTENT_SCRIPT,
    CRITERIA,
    DECISION_TITLE,
    DISPLAY_NAMES,
    MARKUP,
    MEMO_FORM,
    OPTION_TITLES,
    QUESTION,
    RATIONALES,
    TEMPLATE_EVALUATED,
    HostileDecision,
    seed_decision,
)

# A 4xx answer we asked for shows in the console as a failed resource; nothing else may.
# Rendering a memo is real work; on a loaded machine it takes far longer than a page.
RENDER_WAIT_MS = 180_000
REFUSED_RESOURCE = re.compile(r"Failed to load resource: the server responded with a status of 4")


@dataclass
class Seeded:
    decision: HostileDecision
    facilitator: str
    analyst: str
    first_revision: int
    latest_revision: int

    @property
    def base(self) -> str:
        return f"/decisions/{self.decision.decision_id}"


def live_database_url(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The live server's SQLite database (its instance folder is made by ``live_server``)."""
    base = tmp_path_factory.getbasetemp()
    found = sorted({path.resolve() for path in base.glob("e2e-instance*/e2e.sqlite3")})
    assert len(found) == 1, found
    return f"sqlite:///{found[0]}", found[0].parent


@pytest.fixture(scope="module")
def seeded(live_server: str, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    url, instance = live_database_url(tmp_path_factory)
    suffix = uuid.uuid4().hex[:6]
    names = {role: f"hostile-{role}-{suffix}" for role in ("facilitator", "analyst", "analyst-b")}
    with mock.patch.dict(os.environ, {"INSTANCE_PATH": str(instance)}):
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "e2e-secret"})
    try:
        with app.app_context(), unit_of_work() as session:
            people = [
                user_service.create_user(
                    session=session,
                    username=username,
                    password=DEMO_PASSWORD,
                    display_name=display_name,
                    is_admin=role == "facilitator",
                )
                for (role, username), display_name in zip(names.items(), DISPLAY_NAMES, strict=True)
            ]
            decision = seed_decision(
                session, facilitator=people[0], analysts=(people[1], people[2])
            )
            first, latest = session.execute(
                select(func.min(Revision.id), func.max(Revision.id)).where(
                    col(Revision.decision_id) == decision.decision_id
                )
            ).one()
    finally:
        app.extensions["options_matrix.engine"].dispose()
    return Seeded(decision, names["facilitator"], names["analyst"], first, latest)


class Watch:
    """Dialogs, console errors and uncaught exceptions of one page, with the DOM checks."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        self.refusing = False
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: {error}"))

    def _dialog(self, dialog: Dialog) -> None:
        self.problems.append(f"{self.page.url}: dialog {dialog.type} {dialog.message!r}")
        dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        if self.refusing and REFUSED_RESOURCE.match(message.text):
            return
        self.problems.append(f"{self.page.url}: console {message.text}")

    @contextmanager
    def refusal(self) -> Iterator[None]:
        """While a 4xx answer is expected, its failed-resource message is no problem."""
        self.refusing = True
        try:
            yield
        finally:
            self.refusing = False

    def visit(self, url: str, status: int = 200) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status == status, (url, response)
        self.page.wait_for_load_state("load")
        self.check()

    def check(self, *literal: str) -> None:
        """The page (every frame) holds nothing active, evaluates no template and shows each
        ``literal`` text as typed."""
        for frame in self.page.frames:
            assert frame.evaluate(ACTIVE_CONTENT_SCRIPT) == [], frame.url
            text = frame.evaluate("document.body ? document.body.innerText : ''")
            assert TEMPLATE_EVALUATED not in text, frame.url
        shown = spaced(self.page.inner_text("body"))
        missing = [t[:60] for t in literal if spaced(t) not in shown]
        assert missing == [], (self.page.url, missing)
        assert self.problems == []


def spaced(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def as_html_reads(text: str) -> str:
    """``text`` as a form field holds it: HTML reads a carriage return as a line break."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def test_every_page_and_fragment_shows_hostile_text_as_text(
    page_as: Callable[[str], Page], seeded: Seeded
) -> None:
    page = page_as(seeded.facilitator)
    watch = Watch(page)
    base, options, criteria = seeded.base, seeded.decision.options, seeded.decision.criteria
    first_title, first_criterion = OPTION_TITLES[0], CRITERIA[0][0]
    watch.visit("/")
    watch.check(DECISION_TITLE, DISPLAY_NAMES[0])

    watch.visit(base)
    expect(page.locator(".decision-name")).to_have_text(DECISION_TITLE)
    watch.check(QUESTION, *OPTION_TITLES[:16], *DISPLAY_NAMES, first_criterion)
    # Members: an unknown, hostile username comes back in the message, as text.
    members = page.locator("#members")
    with watch.refusal():
        members.get_by_label("Username").fill(MARKUP[1])
        members.get_by_role("button", name="Add or change member").click()
        expect(page.locator("#members .error")).to_contain_text("No user is called")
    watch.check(f"No user is called “{MARKUP[1]}”")
    # The option's edit form (a fragment) holds the texts as values.
    page.get_by_role("button", name=f"Edit option {first_title}").first.click()
    editing = page.locator("li.editing")
    expect(editing.get_by_label("Title")).to_have_value(first_title)
    watch.check()

    watch.visit(f"{base}/matrix")
    page.get_by_role("button", name=f"Details for {first_title} on {first_criterion}").click()
    expect(page.locator("#cell-detail")).to_contain_text("Every analyst’s score")
    watch.check(*RATIONALES, *OPTION_TITLES)
    watch.visit(f"{base}/matrix/cells/{options[0]}/{criteria[1]}")
    watch.check(RATIONALES[0], CRITERIA[1][0])

    watch.visit(f"{base}/options")
    watch.visit(f"{base}/options/{options[0]}")
    expect(page.locator("#history ins", has_text="-edited")).to_have_count(1)  # the word diff
    watch.check(first_title, DISPLAY_NAMES[0])

    watch.visit(f"{base}/criteria")
    page.get_by_role("button", name=f"Edit criterion {first_criterion}").click()
    form = page.locator(f"#criterion-form-{criteria[0]}")
    expect(form.get_by_label("Name")).to_have_value(first_criterion)
    expect(form.get_by_label("Description")).to_have_value(as_html_reads(CRITERIA[0][1]))
    watch.check()

    watch.visit(f"{base}/history")
    watch.check(DISPLAY_NAMES[0], first_title)
    page.get_by_label("Person").select_option(label=f"{DISPLAY_NAMES[0]} (facilitator)")
    expect(page).to_have_url(re.compile(r"person=\d+"))
    watch.check(DISPLAY_NAMES[0])

    watch.visit(f"{base}/history/as-of?revision={seeded.latest_revision}")
    page.locator("table.matrix").get_by_role(
        "button", name=re.compile("^Details for ")
    ).first.click()
    expect(page.locator("#cell-detail")).to_contain_text("Every analyst’s score")
    watch.check(DECISION_TITLE)
    watch.visit(f"{base}/history/compare?from={seeded.first_revision}&to={seeded.latest_revision}")
    watch.check(first_title)

    watch.visit(f"{base}/memos/new")
    for label, name in (
        ("MEMORANDUM FOR", "memorandum_for"),
        ("FROM", "from_line"),
        ("SUBJECT", "subject"),
        ("Bottom line / recommendation (Markdown)", "bottom_line"),
    ):
        page.get_by_label(label).fill(MEMO_FORM[name])
    page.get_by_role("button", name="Preview").click()
    preview = page.frame_locator("iframe[name=memo-preview]")
    expect(preview.locator("h1")).to_have_text(MEMO_FORM["subject"])
    expect(preview.locator("table.matrix")).to_contain_text(first_title)
    watch.check()
    # Issue it: the register lists the hostile subject and issuer as text.
    with page.expect_download(timeout=RENDER_WAIT_MS) as download:
        page.get_by_role("button", name="Issue memo").click()
        page.wait_for_url(re.compile(r".*/memos\?issued=\d+"), timeout=RENDER_WAIT_MS)
    assert download.value.suggested_filename.endswith(".pdf")
    watch.check(MEMO_FORM["subject"], DISPLAY_NAMES[0])

    watch.visit(f"{base}/audit")
    watch.check(DISPLAY_NAMES[0])
    with watch.refusal():
        watch.visit(f"{base}/history?kind={MARKUP[0]}", status=400)
        watch.visit(f"{base}/audit?kind={MARKUP[1]}", status=400)


def test_analyst_scores_and_writes_next_to_hostile_text(
    page_as: Callable[[str], Page], seeded: Seeded
) -> None:
    page = page_as(seeded.analyst)
    watch = Watch(page)
    title, criterion = OPTION_TITLES[0], CRITERIA[0][0]
    watch.visit(f"{seeded.base}/matrix")
    expect(page.get_by_label(f"Your score for {title} on {criterion}")).to_have_value("1")
    page.get_by_role("button", name=f"Details for {title} on {criterion}").click()
    # The rationale (with its "</textarea><script>") is the textarea's value, nothing more.
    rationale = page.get_by_label(f"Your rationale for {title} on {criterion}")
    expect(rationale).to_have_value(as_html_reads(RATIONALES[0]))
    watch.check(RATIONALES[1])
    page.get_by_label(f"Your score for {OPTION_TITLES[3]} on {criterion}").select_option("4")
    expect(page.locator(".save-status", has_text="Saved")).to_have_count(1)
    watch.check(DISPLAY_NAMES[1])


def test_login_with_hostile_next_and_username(
    browser: Browser, live_server: str, seeded: Seeded
) -> None:
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        watch = Watch(page)
        hostile_next = f"javascript:alert('xss-next')//{MARKUP[3]}"
        watch.visit(f"/login?next={hostile_next}")
        expect(page.locator("input[name=next]")).to_have_value(hostile_next)
        # A failed login with a hostile username: the form and the audit log show it as text.
        with watch.refusal():
            page.get_by_label("Username").fill(MARKUP[1])
            page.get_by_label("Password").fill("not the password")
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("alert")).to_have_text("Unknown username or wrong password.")
        watch.check()
        expect(page.get_by_label("Username")).to_have_value(MARKUP[1])
        page.get_by_label("Username").fill(seeded.facilitator)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{live_server}/")  # not the javascript: target
        watch.check(DECISION_TITLE)
        watch.visit("/audit?kind=login_failed")
        watch.check(MARKUP[1])
    finally:
        context.close()
