"""A real venue for real browsers: one daphne on 127.0.0.1 with the demo day, and Debian's Chromium.

Chromium is the system package at /usr/bin/chromium, driven by Playwright's own driver; nothing
is downloaded. A machine without it fails the browser tests loudly rather than skipping them,
so CI cannot go green without having looked at a page.
"""

import asyncio
from pathlib import Path

import pytest

from tests.servers import Daphne, prepare_demo, server_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing browser test shows what the server said: a traceback there explains a timeout here."""
    report = yield
    if report.failed and hasattr(item, "funcargs"):
        # Whatever server the test ran against (its fixture may have any name).
        for name, value in item.funcargs.items():
            if hasattr(value, "log_text"):
                report.sections.append((f"{name} log (last 80 lines)", "\n".join(value.log_text().splitlines()[-80:])))
    return report


def assert_server_healthy(server):
    log = server.log_text()
    assert "Traceback" not in log, "the server logged a traceback:\n" + log[-4000:]


@pytest.fixture(scope="module")
def browser():
    # One Chromium per test module, closed with it: Playwright's sync API keeps an event loop
    # running in this thread, and the async tests of later modules need the thread to themselves.
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium); "
            "the browser tests never download a browser.",
            pytrace=False,
        )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        pytest.fail("the browser fixture uses Playwright's sync API and must not run inside an event loop")
    from playwright.sync_api import expect, sync_playwright

    # A slow CI machine gets more than Playwright's default 5 s before a page counts as wrong.
    expect.set_options(timeout=10_000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def venue_server(tmp_path_factory):
    """A daphne with the embedded defaults (SQLite, in-memory layer) and the demo conference."""
    env = server_env(tmp_path_factory.mktemp("plenum-var"))
    server = Daphne(env)
    links = prepare_demo(env, server.base_url)
    with server:
        server.links = links
        yield server


class Visitor:
    """One person's browser: their own context (cookies) and page, with every JS error kept."""

    def __init__(self, browser, name):
        self.name = name
        self.context = browser.new_context(viewport=VIEWPORT, locale="de-DE")
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.page.on("console", self._console)

    def _console(self, message):
        if message.type == "error":
            where = message.location.get("url") or "?"
            self.errors.append(f"console: {message.text} ({where})")

    def close(self):
        self.context.close()


def assert_no_javascript_errors(*visitors):
    errors = [f"{v.name}: {e}" for v in visitors for e in v.errors]
    assert not errors, "JavaScript errors in the browser:\n" + "\n".join(errors)


@pytest.fixture
def visitors(browser):
    """Opens a Visitor (a fresh browser context) per call; closes them all after the test."""
    opened = []

    def open_visitor(name):
        visitor = Visitor(browser, name)
        opened.append(visitor)
        return visitor

    yield open_visitor
    for visitor in opened:
        visitor.close()
