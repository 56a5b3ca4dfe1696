"""Browser tests: Playwright driving Debian's Chromium against a live server on a free port.

The server is a real gunicorn process (2 workers, so nothing may rely on in-process state)
serving a freshly migrated SQLite database seeded with the demo decision. Chromium must be
installed (`.ci/run` installs it); without it these tests fail rather than skip.

Under xdist every browser test goes to one worker (see ``pytest_xdist_make_scheduler`` in
tests/conftest.py), so the server and the browser start once. Waits are on conditions, with
generous limits (``WAIT_MS``), so a busy machine makes a test slower, never red.

Every page state a test reaches is checked with axe-core (see tests/e2e/axe.py); a test that
reached one with an accessibility violation fails, after its own assertions, with the list.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from app import create_app
from tests.e2e.axe import Audit, audit_from_environment

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_PASSWORD = "e2e-demo-password"
ROOT = Path(__file__).resolve().parents[2]
# The longest any one wait (a navigation, a locator, an expect) may take before it fails.
WAIT_MS = 30_000
SERVER_START_S = 90
AXE_KEY = pytest.StashKey[Audit]()
AXE_SUMMARY: list[str] = []

expect.set_options(timeout=WAIT_MS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _init_and_seed(env: dict[str, str]) -> None:
    """`flask init-db` then `flask seed-demo`: the commands themselves, run in this process
    (two fresh interpreters would cost seconds of imports)."""
    with mock.patch.dict(os.environ, env):
        app = create_app({"DATABASE_URL": env["DATABASE_URL"], "SECRET_KEY": env["SECRET_KEY"]})
        try:
            runner = app.test_cli_runner()
            for command in ("init-db", "seed-demo"):
                result = runner.invoke(args=[command])
                assert result.exit_code == 0, result.output
        finally:
            app.extensions["options_matrix.engine"].dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    instance = tmp_path_factory.mktemp("e2e-instance")
    env = dict(os.environ)
    env.update(
        INSTANCE_PATH=str(instance),
        DATABASE_URL=f"sqlite:///{instance / 'e2e.sqlite3'}",
        SECRET_KEY="e2e-secret",
        DEMO_PASSWORD=DEMO_PASSWORD,
        # A memo render may take long on a loaded machine; the browser test waits as long.
        MEMO_RENDER_TIMEOUT="170",
    )
    _init_and_seed(env)
    port = _free_port()
    log = open(instance / "server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "app.wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_S
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=5)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((instance / "server.log").read_text()) from None
            time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page_as(
    browser: Browser, live_server: str, axe_audit: Audit
) -> Iterator[Callable[[str], Page]]:
    """``page_as("analyst-a")`` → a logged-in page in its own browser context."""
    contexts: list[BrowserContext] = []

    def login(username: str) -> Page:
        context = browser.new_context(
            base_url=live_server, viewport={"width": 1500, "height": 1000}
        )
        context.set_default_timeout(WAIT_MS)
        context.set_default_navigation_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        axe_audit.label(page, username)
        page.goto("/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield login
    for context in contexts:
        context.close()


@pytest.fixture(scope="session", autouse=True)
def axe_audit() -> Iterator[Audit]:
    """The session's accessibility checks, wired into every Playwright action."""
    audit = audit_from_environment()
    with audit.patched():
        yield audit
    AXE_SUMMARY.append(f"axe-core: {audit.runs} page states checked in {audit.seconds:.1f} s")
    AXE_SUMMARY.extend(f"  {took:.1f} s {url}" for took, url in audit.slowest)
    leftover = audit.report()
    assert not leftover, leftover


@pytest.fixture(autouse=True)
def _axe_each_test(request: pytest.FixtureRequest, axe_audit: Audit) -> None:
    axe_audit.begin()
    request.node.stash[AXE_KEY] = axe_audit


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a test passed, check the final state of every page still open and fail the test
    on any accessibility violation it met. A test that failed on its own keeps its failure;
    what axe found until then is added to its report as a section of its own."""
    audit = item.stash.get(AXE_KEY, None)
    passed = False
    if audit is not None:
        audit.in_test = True
    try:
        result = yield
        passed = True
    finally:
        if audit is not None:
            audit.in_test = False
        if audit is not None and not passed:
            report = audit.report()
            if report:
                item.add_report_section("call", "axe-core", report)
    if audit is not None:
        audit.check_open_pages()
        report = audit.report()
        if report:
            pytest.fail(report, pytrace=False)
    return result


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in AXE_SUMMARY:
        terminalreporter.write_line(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
