"""What-if weights in the browser: sliders moved by keyboard change totals, ranks and the
verdict live, nothing is saved, the figures are the server's own, and the facilitator adopts.

A decision of our own (open scoring, scale 1-5, Acceptability benefit and Escalation risk cost,
both weighted 50). Scores give the group values Intelligence sharing 4.5 / 4.5 and Joint
drills 2.5 / 1.5: at 50/50 Joint drills leads (62.5 against 50.0); with Acceptability at 80
Intelligence sharing does.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import numpy as np
from playwright.sync_api import Page, expect

from app.domain import analysis

OPTIONS = ("Intelligence sharing", "Joint drills")
CRITERIA = (("Acceptability", "benefit"), ("Escalation risk", "cost"))
# analyst → option → (Acceptability, Escalation risk)
SCORES = {
    "analyst-a": {"Intelligence sharing": ("5", "5"), "Joint drills": ("2", "1")},
    "analyst-b": {"Intelligence sharing": ("4", "4"), "Joint drills": ("3", "2")},
}
GROUP = np.array([[[4.5, 4.5], [2.5, 1.5]]])  # options x criteria, as one panel


def csrf(page: Page) -> str:
    return str(page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']"))


def post(page: Page, url: str, form: dict[str, str]):  # type: ignore[no-untyped-def]
    response = page.request.post(url, form=form, headers={"X-CSRFToken": csrf(page)})
    assert response.ok, (url, response.status, response.text()[:300])
    return response


def scored_decision(page_as: Callable[[str], Page], *, blind: bool = False) -> tuple[int, Page]:
    """Our own decision (open unless ``blind``) with an observer, scored by both analysts in their matrices; the facilitator's
    page is returned with it."""
    fac = page_as("facilitator")
    fac.goto("/")
    response = post(
        fac,
        "/decisions",
        {
            "title": f"What-if {uuid.uuid4().hex[:6]}",
            "question": "Which option should we pursue?",
            "scale_min": "1",
            "scale_max": "5",
            "scoring_mode": "blind" if blind else "open",
        },
    )
    match = re.search(r"/decisions/(\d+)", response.url)
    assert match
    decision_id = int(match.group(1))
    base = f"/decisions/{decision_id}"
    for username in ("analyst-a", "analyst-b"):
        post(fac, f"{base}/members", {"username": username, "role": "analyst"})
    post(fac, f"{base}/members", {"username": "observer", "role": "observer"})
    for title in OPTIONS:
        post(fac, f"{base}/options", {"title": title})
    for name, direction in CRITERIA:
        post(fac, f"{base}/criteria", {"name": name, "direction": direction, "weight": "50"})
    post(fac, f"{base}/start", {})
    for analyst, rows in SCORES.items():
        page = page_as(analyst)
        page.goto(f"{base}/matrix")
        for option, values in rows.items():
            for (criterion, _), value in zip(CRITERIA, values, strict=True):
                page.get_by_label(f"Your score for {option} on {criterion}").select_option(value)
                expect(page.locator(".save-status", has_text="Saved")).not_to_have_count(0)
        page.context.close()
    return decision_id, fac


def server_totals(weights: list[float]) -> dict[str, str]:
    """The totals the matrix would print under ``weights`` (the domain's maths, "%.1f")."""
    ev = analysis.evaluate(GROUP, weights, [d for _, d in CRITERIA], analysis.Scale(1, 5))
    return {title: f"{ev.totals[i]:.1f}" for i, title in enumerate(OPTIONS)}


def shown_totals(page: Page) -> dict[str, str]:
    totals = {}
    for row in page.locator("#what-if-results tbody tr").all():
        title = row.locator("th").inner_text().split(" (rests on")[0].strip()
        totals[title] = row.locator("td.what-if-total").inner_text().strip()
    return totals


def test_keyboard_sliders_change_the_figures_live_and_save_nothing(
    page_as: Callable[[str], Page],
) -> None:
    decision_id, _ = scored_decision(page_as)
    page = page_as("analyst-a")
    page.goto(f"/decisions/{decision_id}/what-if")
    verdict = page.locator("#what-if-verdict")
    expect(verdict).to_have_text("Joint drills still ranks first.")
    expect(verdict).to_have_attribute("aria-live", "polite")
    assert (
        shown_totals(page)
        == server_totals([50, 50])
        == {
            "Intelligence sharing": "50.0",
            "Joint drills": "62.5",
        }
    )

    slider = page.get_by_role("slider", name="Acceptability")
    slider.focus()
    for _ in range(30):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_label("Weight of Acceptability")).to_have_value("80")
    expect(verdict).to_have_text(
        "With these weights, Intelligence sharing ranks first instead of Joint drills."
    )
    expect(page.locator("#what-if-results tbody tr").first.locator("th")).to_contain_text(
        "Intelligence sharing"
    )
    criterion_id = (slider.get_attribute("id") or "").removeprefix("wi-range-")
    share = page.locator(f"#wi-share-{criterion_id}")
    expect(share).to_have_text("61.5 %")  # 80 / 130
    expect(page.locator("#what-if-results")).to_contain_text("up 1 place")

    # An exact weight typed into the box: a non-trivial vector, checked against the server.
    exact = page.get_by_label("Weight of Escalation risk")
    exact.fill("37.25")
    expect(page.locator("#what-if-results")).to_have_attribute(
        "data-verdict", re.compile("Intelligence sharing")
    )
    expected = server_totals([80, 37.25])
    expect(page.locator("#what-if-results tbody tr td.what-if-total").first).to_have_text(
        expected["Intelligence sharing"]
    )
    assert shown_totals(page) == expected

    # Back to the agreed weights by the reset button, and nothing was saved.
    page.get_by_role("button", name="Reset to the agreed weights").click()
    expect(verdict).to_have_text("Joint drills still ranks first.")
    expect(page.get_by_label("Weight of Acceptability")).to_have_value("50")
    page.reload()
    expect(page.get_by_label("Weight of Acceptability")).to_have_value("50")
    expect(page.get_by_label("Weight of Escalation risk")).to_have_value("50")
    assert page.get_by_role("button", name="Adopt these weights").count() == 0


def test_the_facilitator_adopts_the_weights_tried(page_as: Callable[[str], Page]) -> None:
    decision_id, fac = scored_decision(page_as)
    url = f"/decisions/{decision_id}/what-if"
    # A second tab opened now goes stale once the first adopts.
    earlier = fac.context.new_page()
    earlier.goto(url)
    fac.goto(url)
    slider = fac.get_by_role("slider", name="Acceptability")
    criterion_id = (slider.get_attribute("id") or "").removeprefix("wi-range-")
    slider.focus()
    for _ in range(30):
        fac.keyboard.press("ArrowRight")
    fac.get_by_label("Weight of Escalation risk").fill("37.25")
    expected = server_totals([80, 37.25])
    expect(fac.locator("#what-if-results tbody tr td.what-if-total").first).to_have_text(
        expected["Intelligence sharing"]
    )
    tried = shown_totals(fac)
    assert tried == expected

    messages: list[str] = []

    def accept(dialog) -> None:  # type: ignore[no-untyped-def]
        messages.append(dialog.message)
        dialog.accept()

    fac.on("dialog", accept)
    fac.get_by_role("button", name="Adopt these weights").click()
    fac.wait_for_url(re.compile(rf"/decisions/{decision_id}/matrix$"))
    expect(fac.get_by_text("The what-if weights are now the decision's weights")).to_be_visible()
    assert messages and "Adopt these weights" in messages[0]
    weights = fac.locator(".weights input[type=number]")
    expect(weights.nth(0)).to_have_value("80")
    expect(weights.nth(1)).to_have_value("37.25")
    # The matrix now prints exactly what the what-if showed.
    for title, total in tried.items():
        row = fac.locator("#matrix-table tbody tr", has=fac.get_by_role("rowheader", name=title))
        expect(row.locator("td.total")).to_contain_text(total)
    # The tab opened before the adoption is stale: adopting from it is refused.
    earlier.on("dialog", lambda dialog: dialog.accept())
    earlier.get_by_label("Weight of Acceptability").fill("10")
    expect(earlier.locator("#wi-share-" + criterion_id)).to_have_text("16.7 %")  # 10 / 60
    earlier.get_by_role("button", name="Adopt these weights").click()
    expect(earlier.locator("#adopt-message")).to_contain_text("Nothing was adopted")
    expect(earlier.locator("#adopt-message")).to_contain_text("changed: Acceptability")
    expect(weights.nth(0)).to_have_value("80")
