"""Accessibility in the browser tests: axe-core on every page state they reach.

Every action a test takes through Playwright (a click, a key press on a locator, a fill, a
page's ``evaluate``, closing a page or, in the test, its context) first looks at each frame of
the page it acts on; a state not seen before (frame URL, viewport, screen or print media and the
whole DOM, hashed, less the CSRF token and htmx's passing classes) is checked with the vendored
axe-core (``tests/e2e/vendor/axe-core``). The same happens after a navigation finishes and once
more at the end of each test (the final state after htmx swaps). A test that reached a state
with any violation, of any impact, fails with the list: rule, page, person, the failing nodes'
selectors and HTML. Key presses on ``page.keyboard`` are not hooked: their result is checked at
the test's next action.

axe is evaluated in the page through the DevTools protocol, which the app's
Content-Security-Policy does not govern: no script tag is added and the policy is untouched.
Each distinct state is checked once per session; meeting it again in another test reports the
same findings without running axe again. Running CSS animations and transitions are set to
their end for the run (and put back after), so a fading status line is judged as it settles,
not at a random moment of the fade.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Error, Frame, Locator, Page

AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"

# Every rule axe enables by default (WCAG 2.0–2.2 A and AA, colour contrast included, and
# its best practices). Passes are not collected in full; results "to review" are, for one
# case that is always a defect here (see RUN).
AXE_OPTIONS: dict[str, Any] = {"resultTypes": ["violations", "incomplete"], "iframes": False}

FINGERPRINT = """() => {
  // Between two documents, or this one still being parsed: no state to judge yet.
  if (!document.documentElement || !document.body || document.readyState === 'loading') {
    return null;
  }
  // The session's CSRF token and htmx's passing classes do not make a state of their own.
  const token = (document.querySelector('input[name=csrf_token]') || {}).value;
  let html = document.documentElement.outerHTML
    .replace(/ ?\bhtmx-(settling|added|swapping|request)\b/g, '');
  if (token) html = html.split(token).join('');
  const s = location.href + '|' + innerWidth + 'x' + innerHeight + '|'
    + matchMedia('print').matches + '|' + html;
  let a = 0x811c9dc5, b = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 16777619);
    b = (Math.imul(b, 31) + c) | 0;
  }
  return s.length + ':' + (a >>> 0).toString(16) + ':' + (b >>> 0).toString(16);
}"""

RUN = """async (options) => {
  const running = document.getAnimations().map((a) => [a, a.currentTime, a.playState]);
  for (const [a] of running) { try { a.finish(); } catch (e) { /* infinite: leave it */ } }
  try {
    const result = await axe.run(document, options);
    const node = (n) => ({
      target: n.target.map(String).join(' '), html: n.html, summary: n.failureSummary,
    });
    const found = result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, nodes: v.nodes.map(node),
    }));
    // Text the same colour as its background: axe leaves it "to review" (it might be hidden
    // on purpose); here it is always a defect (our hidden text is clipped, never painted
    // over), so it counts.
    for (const v of result.incomplete.filter((v) => v.id === 'color-contrast')) {
      const equal = v.nodes.filter((n) => n.any.some((c) => c.data && c.data.messageKey === 'equalRatio'));
      if (equal.length) {
        found.push({
          id: 'color-contrast', impact: 'serious',
          help: 'Text must not be the same colour as its background (1:1 contrast)',
          helpUrl: v.helpUrl,
          nodes: equal.map((n) => ({ ...node(n), summary: 'Text and background are one colour (1:1)' })),
        });
      }
    }
    return found;
  } finally {
    for (const [a, t, s] of running) {
      try { a.currentTime = t; if (s === 'running') a.play(); } catch (e) { /* gone */ }
    }
  }
}"""

# A frame that navigates or closes while it is being looked at: that state is gone.
GONE = (
    "Execution context was destroyed",
    "Frame was detached",
    "Target page, context or browser has been closed",
    "Target closed",
    "has been closed",
    "Cannot find context",
)

# Playwright calls that act on a page: its state is checked before each (and after the
# navigations, when the new page has loaded).
LOCATOR_ACTIONS = (
    "check",
    "clear",
    "click",
    "dblclick",
    "dispatch_event",
    "fill",
    "focus",
    "hover",
    "press",
    "press_sequentially",
    "select_option",
    "select_text",
    "set_checked",
    "set_input_files",
    "tap",
    "type",
    "uncheck",
)
PAGE_BEFORE = ("close", "evaluate", "click", "fill", "press", "select_option", "type")
PAGE_AFTER = (
    "emulate_media",
    "go_back",
    "go_forward",
    "goto",
    "reload",
    "set_viewport_size",
    "wait_for_load_state",
    "wait_for_url",
)


@dataclass
class Finding:
    """One rule broken in one page state."""

    rule: str
    impact: str
    help: str
    help_url: str
    url: str
    who: str
    nodes: list[dict[str, str]]


@dataclass
class Audit:
    """The session's accessibility checks: which states were seen, what was found, in which
    test."""

    seen: dict[str, list[Finding]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    states: set[str] = field(default_factory=set)
    runs: int = 0
    seconds: float = 0.0
    slowest: list[tuple[float, str]] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)
    labels: dict[int, str] = field(default_factory=dict)
    busy: bool = False
    in_test: bool = False
    report_path: Path | None = None

    # -- what a test does ---------------------------------------------------------------------

    def label(self, page: Page, who: str) -> None:
        """Name the person a page belongs to, for the report."""
        self.labels[id(page.context)] = who

    def check(self, page: Page) -> None:
        """Check every frame of ``page`` in its current state (a no-op for a state seen)."""
        if self.busy or page.is_closed():
            return
        self.busy = True
        try:
            for frame in list(page.frames):
                self._check_frame(page, frame)
        finally:
            self.busy = False

    def check_open_pages(self) -> None:
        for context in list(self.contexts):
            for page in list(context.pages):
                self.check(page)

    def begin(self) -> None:
        self.states = set()

    def report(self) -> str:
        """The findings since the last report, readable; empty when there are none."""
        findings, self.findings = self.findings, []
        if not findings:
            return ""
        if self.report_path is not None:
            with self.report_path.open("a", encoding="utf-8") as out:
                for f in findings:
                    out.write(json.dumps(f.__dict__) + "\n")
        return format_findings(findings)

    # -- how --------------------------------------------------------------------------------

    def _check_frame(self, page: Page, frame: Frame) -> None:
        if not frame.url.startswith(("http://", "https://")):
            return
        try:
            key = frame.evaluate(FINGERPRINT)
            if key is None or key in self.states:
                return
            if key not in self.seen:
                if not frame.evaluate("() => typeof window.axe === 'object'"):
                    frame.evaluate(axe_source())
                started = time.perf_counter()
                violations = frame.evaluate(RUN, AXE_OPTIONS)
                took = time.perf_counter() - started
                self.seconds += took
                self.slowest = sorted([*self.slowest, (took, frame.url)], reverse=True)[:5]
                self.runs += 1
                who = self.labels.get(id(page.context), "anonymous")
                self.seen[key] = [
                    Finding(
                        rule=v["id"],
                        impact=v["impact"] or "",
                        help=v["help"],
                        help_url=v["helpUrl"],
                        url=frame.url,
                        who=who,
                        nodes=v["nodes"],
                    )
                    for v in violations
                ]
        except Error as error:
            if any(text in str(error) for text in GONE):
                return
            raise
        self.states.add(key)
        self.findings.extend(self.seen[key])

    # -- wiring ------------------------------------------------------------------------------

    def watch(self, context: BrowserContext) -> None:
        self.contexts.append(context)

    @contextmanager
    def patched(self) -> Iterator[None]:
        """Wrap Playwright's action methods so each one checks the page it acts on."""
        audit = self
        with pytest.MonkeyPatch.context() as mp:

            def before(method: Callable[..., Any], page_of: Callable[[Any], Page]) -> Any:
                def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                    __tracebackhide__ = True
                    audit.check(page_of(self))
                    return method(self, *args, **kwargs)

                return wrapper

            def after(method: Callable[..., Any]) -> Any:
                def wrapper(self: Page, *args: Any, **kwargs: Any) -> Any:
                    __tracebackhide__ = True
                    result = method(self, *args, **kwargs)
                    audit.check(self)
                    return result

                return wrapper

            for name in LOCATOR_ACTIONS:
                mp.setattr(Locator, name, before(getattr(Locator, name), lambda loc: loc.page))
            for name in PAGE_BEFORE:
                mp.setattr(Page, name, before(getattr(Page, name), lambda page: page))
            for name in PAGE_AFTER:
                mp.setattr(Page, name, after(getattr(Page, name)))

            new_context = Browser.new_context

            def watched_context(self: Browser, *args: Any, **kwargs: Any) -> BrowserContext:
                context = new_context(self, *args, **kwargs)
                audit.watch(context)
                return context

            close_context = BrowserContext.close

            def checked_close(self: BrowserContext, *args: Any, **kwargs: Any) -> None:
                # Closed by the test itself: its last state counts. Closed by a fixture after
                # the test, the test's final state has been checked already.
                if audit.in_test:
                    for page in list(self.pages):
                        audit.check(page)
                if self in audit.contexts:
                    audit.contexts.remove(self)
                audit.labels.pop(id(self), None)
                close_context(self, *args, **kwargs)

            mp.setattr(Browser, "new_context", watched_context)
            mp.setattr(BrowserContext, "close", checked_close)
            yield


@functools.cache
def axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _short(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_findings(findings: list[Finding], nodes_per_rule: int = 8) -> str:
    """Group by rule, then by page; each failing node once, with selector, HTML and why."""
    by_rule: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        by_rule.setdefault((f.rule, f.help), []).append(f)
    pages = {(_path(f.url), f.who) for f in findings}
    lines = [
        f"axe-core found {len(by_rule)} rule(s) broken on {len(pages)} page(s) "
        "(every violation fails the test; fix the page, not the check):"
    ]
    for (rule, help_text), group in by_rule.items():
        first = group[0]
        lines.append("")
        lines.append(f"[{first.impact}] {rule}: {help_text}")
        lines.append(f"  {first.help_url}")
        shown: set[tuple[str, str, str]] = set()
        hidden = 0
        for f in group:
            for node in f.nodes:
                key = (_path(f.url), node["target"], node["html"])
                if key in shown:
                    continue
                if len(shown) >= nodes_per_rule:
                    hidden += 1
                    continue
                shown.add(key)
                lines.append(f"  - {_path(f.url)} (as {f.who})")
                lines.append(f"      {node['target']}")
                lines.append(f"      {_short(node['html'])}")
                summary = _short(node.get("summary") or "", 400)
                if summary:
                    lines.append(f"      {summary}")
        if hidden:
            lines.append(f"  … and {hidden} more node(s)")
    return "\n".join(lines)


def audit_from_environment() -> Audit:
    """``AXE_REPORT=path`` also appends every finding to that file as JSON lines."""
    report = os.environ.get("AXE_REPORT")
    return Audit(report_path=Path(report) if report else None)
