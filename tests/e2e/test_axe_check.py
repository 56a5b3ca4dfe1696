"""The accessibility check itself (tests/e2e/axe.py): it finds what is wrong, names where, and
looks at a state once."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page

from tests.e2e.axe import Audit

BREAK_THE_PAGE = """() => {
  const main = document.querySelector('main');
  const img = document.createElement('img');
  img.id = 'no-alt';
  img.src = 'data:,';
  main.append(img);
  const p = document.createElement('p');
  p.id = 'painted-over';
  p.textContent = 'Invisible words';
  p.style.color = '#fff';
  p.style.background = '#fff';
  main.append(p);
}"""


def test_the_check_finds_violations_names_them_and_runs_once_per_state(
    page_as: Callable[[str], Page], axe_audit: Audit
) -> None:
    page = page_as("observer")
    page.goto("/")
    page.evaluate(BREAK_THE_PAGE)
    runs = axe_audit.runs
    axe_audit.check(page)
    assert axe_audit.runs == runs + 1
    report = axe_audit.report()
    assert "[critical] image-alt" in report
    assert "#no-alt" in report
    # Text painted in its background's colour is axe's "to review"; here it fails.
    assert "same colour as its background" in report
    assert "#painted-over" in report
    assert "(as observer)" in report
    assert report.count("\n  - /") == 2  # each failing node once, with the page it is on

    axe_audit.check(page)  # the same state again: not run again, nothing new to report
    assert axe_audit.runs == runs + 1
    assert axe_audit.report() == ""

    page.evaluate(
        "() => { document.getElementById('no-alt').remove(); "
        "document.getElementById('painted-over').remove(); }"
    )
