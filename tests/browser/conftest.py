"""Browser fixtures: the demo estate on a live server, headless Chromium, a phone-sized page.

The server runs in a subprocess with its own database: `kefu.db.database` is one global that
the function-scoped `app` fixture rebinds, so a live server in this process would be pulled
onto another test's database.
"""
import os
import re
import select
import shutil
import subprocess
import sys

import pytest
from playwright.sync_api import expect
from playwright.sync_api import sync_playwright

import pgtest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCREENSHOTS = os.path.join(ROOT, "tests", "screenshots")
DOC_SCREENSHOTS = os.path.join(ROOT, "docs", "screenshots")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
STARTUP_SECONDS = 60

# How long a tap or an assertion waits for the page. `make test` runs two test processes while CI runs
# the PostgreSQL suite beside them on two cores, each with its server and Chromium: a page that answers
# in a tenth of a second alone has taken over five there. Waiting longer only slows a failing test.
WAIT_MS = 15_000
expect.set_options(timeout=WAIT_MS)

# Lets a test's routes see the service worker's own requests (Playwright's offline switch doesn't
# reach them), so a test can take the signal away from the worker too. Set before Playwright starts.
os.environ.setdefault("PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS", "1")

# Chromium's own CSP console error doesn't say which element broke the policy; this does.
REPORT_CSP = """document.addEventListener("securitypolicyviolation", (e) => console.warn(
  "CSP violation:", e.violatedDirective, e.sourceFile + ":" + e.lineNumber + ":" + e.columnNumber,
  e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 200) : ""));"""


def pytest_collection_modifyitems(items):
    """Every test under tests/browser/ is a browser test (`-m "not browser"` skips them)."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


class LiveServer:
    """The demo estate served by tests/browser/live_server.py on a free port."""

    def __init__(self, instance):
        self.instance = instance
        # Its own database: a SQLite file in its folder, or one on the tests' PostgreSQL server.
        self.database = pgtest.fresh("kefu_test_browser") if pgtest.URL else os.path.join(instance, "browser.sqlite3")
        self.log_path = os.path.join(instance, "server.log")
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen([sys.executable, os.path.join(HERE, "live_server.py"), instance,
                                         self.database],
                                        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self._log, text=True)
        ready, _, _ = select.select([self.process.stdout], [], [], STARTUP_SECONDS)
        line = self.process.stdout.readline().strip() if ready else ""
        if not line.isdigit():
            self.stop()
            with open(self.log_path) as handle:
                raise RuntimeError(f"live server did not start:\n{handle.read()[-3000:]}")
        self.url = f"http://127.0.0.1:{line}"

    def query(self, sql, *params):
        """Rows from the server's database (? placeholders)."""
        return pgtest.query(self.database, sql, *params)

    def log_size(self):
        return os.path.getsize(self.log_path)

    def log_since(self, offset):
        with open(self.log_path, errors="replace") as handle:
            handle.seek(offset)
            return handle.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()
        self._log.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A fresh demo estate per test module (tests in a module share it, in file order)."""
    server = LiveServer(str(tmp_path_factory.mktemp("live")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageProblems:
    """Uncaught JS errors, console errors and server tracebacks seen while a test ran.

    A test that provokes an error on purpose (a 422 form) allows its console line with `allow`.
    """

    def __init__(self, server):
        self.server = server
        self.log_offset = server.log_size()
        self.errors = []
        self.allowed = []

    def allow(self, pattern):
        self.allowed.append(re.compile(pattern))

    def on_pageerror(self, error):
        self.errors.append(f"uncaught JS error: {error}")

    def on_console(self, message):
        if message.type == "error" or message.text.startswith("CSP violation:"):
            location = message.location or {}
            self.errors.append(f"console {message.type}: {message.text} ({location.get('url', '')})")

    def found(self):
        problems = [e for e in self.errors if not any(p.search(e) for p in self.allowed)]
        log = self.server.log_since(self.log_offset)
        if "Traceback" in log:
            problems.append("server traceback:\n" + log[log.index("Traceback"):][:4000])
        return problems


@pytest.fixture
def page_problems(live_server):
    return PageProblems(live_server)


def new_phone_page(browser, live_server, page_problems, service_workers="block", timezone_id="Asia/Shanghai"):
    """A phone-sized page in a browser context of its own (its own cookies), signed out. The service
    worker (the phone's copy of the check pages) is kept out unless a test is about it: with it, a
    page a test just changed on the server could come from the phone's copy."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id=timezone_id,
                                  base_url=live_server.url, service_workers=service_workers)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.add_init_script(REPORT_CSP)
    page.on("pageerror", page_problems.on_pageerror)
    page.on("console", page_problems.on_console)
    return page


@pytest.fixture
def page(browser, live_server, page_problems):
    """A phone-sized page on the live server (relative URLs work), signed out."""
    page = new_phone_page(browser, live_server, page_problems)
    yield page
    page.context.close()


@pytest.fixture
def phones(browser, live_server, page_problems):
    """Call it for one more phone: several people, each signed in on a page of their own."""
    pages = []

    def new():
        pages.append(new_phone_page(browser, live_server, page_problems))
        return pages[-1]

    yield new
    for page in pages:
        page.context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail the test itself (not its teardown) when the page or the server misbehaved."""
    problems = item.funcargs.get("page_problems")
    try:
        result = yield
    except BaseException:
        if problems is not None and problems.found():
            item.add_report_section("call", "page and server problems", "\n".join(problems.found()))
        raise
    if problems is not None and problems.found():
        pytest.fail("\n".join(problems.found()), pytrace=False)
    return result


def save_screenshot(page, name):
    """A full-page PNG in tests/screenshots/ (and docs/screenshots/ with KEFU_SCREENSHOTS=docs)."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = os.path.join(SCREENSHOTS, f"{name}.png")
    # A viewport as tall as the page keeps the fixed tab bar at the bottom of the picture
    # (a full_page screenshot leaves it floating where the phone's screen ended).
    viewport = page.viewport_size
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": viewport["width"], "height": max(height, viewport["height"])})
    try:
        # caret="initial": hiding the caret leaves style="" on inputs, which htmx then copies
        # onto swapped-in elements, a CSP violation that real users never trigger.
        page.screenshot(path=path, full_page=True, caret="initial")
    finally:
        page.set_viewport_size(viewport)
    if os.environ.get("KEFU_SCREENSHOTS") == "docs":
        os.makedirs(DOC_SCREENSHOTS, exist_ok=True)
        shutil.copyfile(path, os.path.join(DOC_SCREENSHOTS, f"{name}.png"))
    return path


@pytest.fixture
def shot():
    return save_screenshot
