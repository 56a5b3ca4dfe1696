"""The matrix fits its screen: Total and Rank stay in view from 1024 px up, a phone shows one
criterion at a readable width, and printing gives the matrix alone, header row repeated."""

from __future__ import annotations

import io
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from tests.e2e.conftest import DEMO_PASSWORD, WAIT_MS

DEMO_MATRIX = "/decisions/1/matrix"
WIDE_CRITERIA = [
    f"{word} criterion {n:02d}"
    for n, word in enumerate(
        (
            "Allied",
            "Budget",
            "Cyber",
            "Diplomatic",
            "Economic",
            "Forces",
            "Governance",
            "Humanitarian",
            "Intelligence",
            "Juridical",
            "Kinetic",
            "Logistic",
        ),
        start=1,
    )
]
WIDE_OPTIONS = [f"Wide option {n:02d}" for n in range(1, 31)]

# Everything a user clicks or types into; none of it belongs on paper.
CONTROLS = "nav, form, select, button, textarea, input:not([type=hidden])"


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def post(page: Page, url: str, form: dict[str, str | float | bool]) -> str:
    token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    response = page.request.post(url, form=form, headers={"X-CSRFToken": token})
    assert response.ok, (url, response.status, response.text()[:300])
    return response.url


@pytest.fixture(scope="module")
def wide_matrix(browser: Browser, live_server: str) -> Iterator[str]:
    """A decision with more criteria than a laptop screen holds and more options than one
    printed page holds; open scoring, so Total and Rank are shown; two cells scored, one of
    them with a rationale."""
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    log_in(page, "facilitator")
    url = post(page, "/decisions", {"title": f"Wide matrix {uuid.uuid4().hex[:6]}"})
    match = re.search(r"/decisions/(\d+)", url)
    assert match, url
    base = f"/decisions/{match.group(1)}"
    post(page, f"{base}/members", {"username": "analyst-a", "role": "analyst"})
    for title in WIDE_OPTIONS:
        post(page, f"{base}/options", {"title": title})
    for name in WIDE_CRITERIA:
        post(page, f"{base}/criteria", {"name": name, "direction": "benefit", "weight": "10"})
    post(page, f"{base}/settings", {"status": "scoring"})
    context.close()
    # One score with a rationale (first option, first criterion), one without (second option).
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    log_in(page, "analyst-a")
    page.goto(f"{base}/matrix")
    selects = page.locator("#matrix-table select.score")
    for index, rationale in ((0, "Allies asked for it."), (len(WIDE_CRITERIA), "")):
        select_id = selects.nth(index).get_attribute("id")
        assert select_id, index
        option_id, criterion_id = select_id.split("-")[1:]
        post(
            page,
            f"{base}/matrix/scores",
            {
                "option_id": option_id,
                "criterion_id": criterion_id,
                "value": "4",
                "rationale": rationale,
            },
        )
    context.close()
    yield f"{base}/matrix"


def open_matrix(page: Page, url: str, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(url)
    expect(page.locator("#matrix-table")).to_be_visible()


def scroll_matrix(page: Page, where: str) -> None:
    """Scroll the matrix's own scroller to its left end, middle or right end."""
    page.evaluate(
        """(where) => {
            const s = document.querySelector('.matrix-scroll');
            const most = s.scrollWidth - s.clientWidth;
            s.scrollLeft = where === 'start' ? 0 : where === 'middle' ? most / 2 : most;
        }""",
        where,
    )


def horizontal_spans(page: Page, selector: str) -> list[tuple[float, float]]:
    spans: list[tuple[float, float]] = []
    for handle in page.locator(selector).all():
        box = handle.bounding_box()
        assert box is not None, selector
        spans.append((box["x"], box["x"] + box["width"]))
    return spans


def assert_total_and_rank_in_view(page: Page, width: int, rows: int) -> None:
    for selector in ("#matrix-table td.total", "#matrix-table td.rank"):
        spans = horizontal_spans(page, selector)
        assert len(spans) == rows, selector
        for left, right in spans:
            assert left >= 0 and right <= width, (selector, left, right, width)
    # Not merely placed in view: drawn on top, not hidden under a scrolled criterion.
    covered = page.evaluate(
        """() => [...document.querySelectorAll('#matrix-table td.total, #matrix-table td.rank')]
            .slice(0, 2).filter(cell => {
                cell.scrollIntoView({block: 'center', inline: 'nearest'});
                const b = cell.getBoundingClientRect();
                const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
                return !cell.contains(hit);
            }).length"""
    )
    assert covered == 0


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (1280, 800)])
def test_total_and_rank_stay_in_view_on_the_demo_matrix(
    page_as: Callable[[str], Page], width: int, height: int
) -> None:
    page = page_as("analyst-a")
    open_matrix(page, DEMO_MATRIX, width, height)
    rows = page.locator("#matrix-table tbody tr").count()
    assert page.locator("#matrix-table th.crit").count() == 7
    for where in ("start", "end"):
        scroll_matrix(page, where)
        assert_total_and_rank_in_view(page, width, rows)
    # The page itself never scrolls sideways; only the matrix does, if it must.
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (1280, 800)])
def test_a_wide_matrix_scrolls_between_the_option_and_total_columns(
    page_as: Callable[[str], Page], wide_matrix: str, width: int, height: int
) -> None:
    page = page_as("facilitator")
    open_matrix(page, wide_matrix, width, height)
    scroller = page.locator(".matrix-scroll")
    assert scroller.evaluate("s => s.scrollWidth > s.clientWidth")
    option_column = page.locator("#matrix-table tbody th.opt").first
    for where in ("start", "middle", "end"):
        scroll_matrix(page, where)
        assert_total_and_rank_in_view(page, width, len(WIDE_OPTIONS))
        box = option_column.bounding_box()
        assert box is not None and box["x"] >= 0, (where, box)
    assert scroller.evaluate("s => s.scrollLeft > 0")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_phone_shows_one_whole_criterion_at_a_readable_width(
    page_as: Callable[[str], Page],
) -> None:
    page = page_as("analyst-a")
    open_matrix(page, DEMO_MATRIX, 390, 844)
    headers = page.locator("#matrix-table th.crit")
    for header in headers.all():
        box = header.bounding_box()
        assert box is not None
        assert 250 <= box["width"] <= 390, box
    # As the page opens, the first criterion is shown whole beside the option names.
    first = headers.first.bounding_box()
    assert first is not None and first["x"] + first["width"] <= 390, first
    # Any one criterion, brought into view, is shown whole beside the option names.
    fourth = headers.nth(3)
    fourth.evaluate("th => th.scrollIntoView({inline: 'end', block: 'nearest'})")
    box = fourth.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    score = page.locator("#matrix-table tbody tr").first.locator("td.cell").nth(3)
    cell_box = score.bounding_box()
    assert cell_box is not None and cell_box["x"] + cell_box["width"] <= 390, cell_box
    assert page.locator(".matrix-scroll").evaluate("s => s.scrollWidth > s.clientWidth")


def pdf_text(pdf: bytes) -> list[str]:
    """Each page's text, ligatures undone and all white space removed (names wrap in cells)."""
    return [
        re.sub(r"\s+", "", unicodedata.normalize("NFKC", page.extract_text()))
        for page in PdfReader(io.BytesIO(pdf)).pages
    ]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_printed_without_controls(page: Page) -> None:
    page.emulate_media(media="print")
    shown = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter(e => e.getClientRects().length > 0).map(e => e.outerHTML.slice(0, 80))""",
        CONTROLS,
    )
    assert shown == []
    expect(page.locator("header.top")).to_be_hidden()
    assert page.locator("#matrix-table thead").evaluate("t => getComputedStyle(t).display") == (
        "table-header-group"
    )


def test_printing_the_demo_matrix_gives_every_criterion_and_no_controls(
    page_as: Callable[[str], Page],
) -> None:
    page = page_as("facilitator")
    open_matrix(page, DEMO_MATRIX, 1280, 800)
    names = page.locator("#matrix-table th.crit .cname").all_inner_texts()
    assert len(names) == 7
    assert_printed_without_controls(page)
    text = "".join(pdf_text(page.pdf()))
    for name in [*names, "Total", "Rank"]:
        assert squeeze(name) in text, name


def test_printing_a_wide_matrix_repeats_the_header_row_on_every_page(
    page_as: Callable[[str], Page], wide_matrix: str
) -> None:
    page = page_as("facilitator")
    open_matrix(page, wide_matrix, 1280, 800)
    assert_printed_without_controls(page)
    pdf = page.pdf()
    pages = pdf_text(pdf)
    assert len(pages) > 1
    with_header = [
        text
        for text in pages
        if all(squeeze(name) in text for name in [*WIDE_CRITERIA, "Total", "Rank"])
    ]
    assert len(with_header) > 1
    whole = "".join(pages)
    for title in WIDE_OPTIONS:
        assert squeeze(title) in whole, title


def test_only_cells_with_the_analysts_own_rationale_are_marked(
    page_as: Callable[[str], Page], wide_matrix: str
) -> None:
    page = page_as("analyst-a")
    open_matrix(page, wide_matrix, 1280, 800)
    expect(page.locator("#matrix-table td.cell.has-rationale")).to_have_count(1)
    rows = page.locator("#matrix-table tbody tr")
    with_rationale = rows.first.locator("td.cell").first
    expect(with_rationale).to_have_class(re.compile(r"\bhas-rationale\b"))
    # Scored without a rationale: not marked.
    expect(rows.nth(1).locator("td.cell").first.locator("select.score")).to_have_value("4")
    mark = with_rationale.evaluate("td => getComputedStyle(td, '::after').content")
    assert "✎" in mark
