"""A real venue for real browsers: a daphne on 127.0.0.1 with a fresh demo day for each test, and
Debian's Chromium.

A machine without Chromium fails the browser tests loudly rather than skipping them, so CI cannot
go green without having looked at a page.
"""

import asyncio
import shutil
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest
from playwright.sync_api import sync_playwright

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, MEDIA_ARGS, Visitor
from tests.support.servers import Daphne, prepare_demo, server_env


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


def playwright_here():
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
        pytest.fail("the browser fixtures use Playwright's sync API and must not run inside an event loop")
    from playwright.sync_api import expect

    # A slow CI machine gets more than Playwright's default 5 s before a page counts as wrong.
    expect.set_options(timeout=10_000)
    return sync_playwright()


@pytest.fixture(scope="module")
def browser():
    with playwright_here() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def media_browser():
    """Chromium with a fake camera and microphone; the shared `browser` fixture has neither."""
    with playwright_here() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=MEDIA_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def demo_day(tmp_path_factory):
    """The demo conference migrated and created once: a var dir to copy, and its links' paths."""
    var_dir = tmp_path_factory.mktemp("plenum-demo-day")
    links = prepare_demo(server_env(var_dir), "http://127.0.0.1")
    return var_dir, {label: urlparse(url).path for label, url in links.items()}


@pytest.fixture
def venue_server(demo_day, tmp_path):
    """A daphne with the embedded defaults (SQLite, in-memory layer) on a copy of the demo day:
    every test begins before the welcome, whatever ran before it."""
    with served(demo_day, tmp_path / "plenum-var") as server:
        yield server


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


@contextmanager
def served(demo_day, var_dir):
    """A running daphne on a fresh copy of the demo day in `var_dir`, with the demo's links."""
    template, paths = demo_day
    shutil.copytree(template, var_dir)
    server = Daphne(server_env(var_dir))
    with server:
        server.links = {label: server.base_url + path for label, path in paths.items()}
        yield server


@pytest.fixture(scope="module")
def day_server(demo_day, tmp_path_factory):
    """One venue for a whole module that walks through the day step by step."""
    with served(demo_day, tmp_path_factory.mktemp("day") / "plenum-var") as server:
        yield server


@pytest.fixture(scope="module")
def people(browser):
    """Opens a Visitor (a browser context of its own) per call, for the whole module; options go
    to the context (e.g. `bypass_csp=True` for a test that injects a script)."""
    opened = []

    def open_visitor(name, **options):
        visitor = Visitor(browser, name, **options)
        opened.append(visitor)
        return visitor

    yield open_visitor
    for visitor in opened:
        visitor.close()
