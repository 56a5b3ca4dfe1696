"""The robustness panel in a real browser: SVG chart, sentences, and the facilitator's controls."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import ConsoleMessage, Page, expect


def test_panel_renders_and_band_control_re_renders(page_as: Callable[[str], Page]) -> None:
    page = page_as("facilitator")
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", on_console)
    page.goto("/decisions/1")
    section = page.locator("#robustness")
    expect(section.get_by_role("heading", name="Robustness", exact=True)).to_be_visible()
    chart = section.locator("svg.acceptability")
    expect(chart).to_be_visible()
    assert chart.locator("rect[fill^='url(#ra-rank-']").count() >= 5
    expect(chart.locator("text", has_text="1st")).to_be_visible()
    expect(section.get_by_text("Probability each option ranks first")).to_be_visible()
    sentences = section.locator("ul.sensitivity li")
    assert sentences.count() == 7  # one per criterion of the demo decision
    expect(sentences.first).to_contain_text("Intelligence sharing on Afghan threats stays first")
    expect(section).to_contain_text("each weight within ± 5 percentage points of the agreed weight")
    first_before = section.locator("data.p-first").first.get_attribute("value")

    band = section.get_by_label("Weight model")
    expect(band).to_have_value("5")
    band.select_option("10")  # the form re-renders the panel on change
    page.wait_for_url("**/decisions/1?*band=10*")
    section = page.locator("#robustness")
    expect(section).to_contain_text("within ± 10 percentage points of the agreed weight")
    expect(section.get_by_label("Weight model")).to_have_value("10")
    expect(section.locator("svg.acceptability")).to_be_visible()
    first_after = section.locator("data.p-first").first.get_attribute("value")
    assert first_after != first_before
    assert page.locator("#robustness").count() == 1  # swapped in place, not nested

    # The pushed address is bookmarkable: loading it afresh shows the same figures.
    page.reload()
    expect(page.locator("#robustness data.p-first").first).to_have_attribute(
        "value", first_after or ""
    )
    assert problems == []
