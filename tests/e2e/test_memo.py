"""A facilitator issues a decision memo from the browser and downloads it (demo decision)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, Route, expect

RENDER_WAIT_MS = 180_000


def test_facilitator_issues_and_downloads_a_memo(page_as: Callable[[str], Page]) -> None:
    page = page_as("facilitator")
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", on_console)
    page.goto("/decisions/1/memos")
    page.get_by_role("link", name="Issue memo").click()
    page.wait_for_url("**/decisions/1/memos/new")

    # The short form: SUBJECT comes from the decision, the bottom line is drafted.
    expect(page.get_by_label("SUBJECT")).to_have_value(re.compile("US engagement in Central Asian"))
    expect(page.get_by_label("Bottom line / recommendation (Markdown)")).to_have_value(
        re.compile(r"We recommend \*\*|level in first place")
    )
    page.get_by_label("MEMORANDUM FOR").fill("The National Security Advisor")
    page.get_by_label("FROM").fill("Morgan Hale, Central Asia options team")
    subject = "Central Asia: how to stay engaged — e2e memo"
    page.get_by_label("SUBJECT").fill(subject)
    page.get_by_label("Bottom line / recommendation (Markdown)").fill(
        "We recommend **intelligence sharing** now, and drills once hosts are ready."
    )

    # HTML preview in the frame next to the form.
    page.get_by_role("button", name="Preview").click()
    preview = page.frame_locator("iframe[name=memo-preview]")
    expect(preview.get_by_role("heading", name="Bottom line")).to_be_visible()
    expect(preview.get_by_role("heading", name="The matrix")).to_be_visible()
    expect(preview.locator("h1")).to_have_text(subject)
    matrix = preview.locator("table.matrix")
    for title in (
        "Intelligence sharing on Afghan threats",
        "Joint US–Russian stabilisation efforts",
    ):
        expect(matrix).to_contain_text(title)

    # Issue: hold the request so the progress indicator can be seen, then let it through.
    held: list[Route] = []

    def hold(route: Route) -> None:
        if route.request.method == "POST":
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r".*/decisions/1/memos$"), hold)
    progress = page.locator("#issue-progress")
    # Rendering a PDF is real work: on a loaded machine it can take far longer than a page.
    with page.expect_download(timeout=RENDER_WAIT_MS) as first_download:
        page.get_by_role("button", name="Issue memo").click()
        expect(progress).to_have_class(re.compile(r"htmx-request"))
        expect(progress).to_have_css("opacity", "1")
        expect(page.get_by_role("button", name="Issue memo")).to_be_disabled()
        assert len(held) == 1
        held[0].continue_()
        page.wait_for_url(re.compile(r".*/decisions/1/memos\?issued=\d+"), timeout=RENDER_WAIT_MS)
    page.unroute(re.compile(r".*/decisions/1/memos$"))

    # The PDF downloaded by itself and the memo is in the list.
    auto = first_download.value
    auto_bytes = Path(auto.path()).read_bytes()
    assert auto_bytes.startswith(b"%PDF-")
    # Named from the decision's title, the memo's number and its date.
    assert re.fullmatch(
        r"us-engagement-in-central-asian-security-2021_memo-\d+_\d{4}-\d{2}-\d{2}\.pdf",
        auto.suggested_filename,
    ), auto.suggested_filename
    number = re.search(r"_memo-(\d+)_", auto.suggested_filename).group(1)  # type: ignore[union-attr]
    expect(page.locator("#memo-issued")).to_contain_text(f"Memo {number} issued")
    row = page.locator("#memo-list tbody tr").filter(has_text=subject)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Morgan Hale")
    digest = hashlib.sha256(auto_bytes).hexdigest()
    expect(row.locator("code.sha")).to_have_attribute("title", digest)

    # Downloading it again from the list gives the same bytes.
    with page.expect_download(timeout=RENDER_WAIT_MS) as again:
        row.get_by_role("link", name=subject).click()
    again_bytes = Path(again.value.path()).read_bytes()
    assert again_bytes.startswith(b"%PDF")
    assert hashlib.sha256(again_bytes).hexdigest() == digest

    # Its Word copy for clearance, beside it, named the same way.
    with page.expect_download(timeout=RENDER_WAIT_MS) as word:
        row.get_by_role("link", name="Word copy").click()
    assert word.value.suggested_filename == auto.suggested_filename.replace(".pdf", ".docx")
    assert Path(word.value.path()).read_bytes().startswith(b"PK")

    # Issuing it is in the decision's history, linked to the memo and to the matrix it reflects.
    page.goto("/decisions/1/history?kind=memo")
    entry = page.locator("li.memo-entry").filter(has_text=subject)
    expect(entry).to_contain_text(f"issued memo {number}")
    expect(entry.get_by_role("link", name=f"Memo {number} (PDF)")).to_be_visible()
    entry.get_by_role("link", name="Matrix as this memo reflects it").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "The matrix as it stood after change"
    )
    assert problems == []
