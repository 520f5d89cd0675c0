"""Real browsers against a real venue: Debian's Chromium driven by Playwright, and what a person
does with it (join, open the console, click "Weiter", publish in a forum).

Chromium is the system package at /usr/bin/chromium, driven by Playwright's own driver; nothing
is downloaded. The fixtures that start it are in tests/frontend/browser/conftest.py.
"""

import asyncio
import concurrent.futures
import json
import re
import time
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import expect

from tests.support.servers import manage

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
MEDIA_ARGS = CHROMIUM_ARGS + ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
VIEWPORT = {"width": 1280, "height": 800}

# The demo day as the pages show it.
WELCOME = "Begrüßung"
MINISTER = "Integrationspolitik des Landes NRW – mit Fragen"
QUESTION = "Wie wird das Kommunale Integrationsmanagement nach 2022 finanziert?"
FORUM = "Fachforum 1: Diversität und Mehrsprachigkeit"
FORUM_SLUG = "forum-diversitaet"


def assert_server_healthy(server):
    log = server.log_text()
    assert "Traceback" not in log, "the server logged a traceback:\n" + log[-4000:]


class Visitor:
    """One person's browser: their own context (cookies) and page, with every JS error kept."""

    def __init__(self, browser, name, **options):
        self.name = name
        # `options` go to the context, e.g. bypass_csp=True for a test that injects axe-core.
        self.context = browser.new_context(viewport=VIEWPORT, locale="de-DE", **options)
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


# --- What people do ------------------------------------------------------------------------------


def connected(page):
    expect(page.locator("#live")).to_have_attribute("data-connection", "open")


def open_console(visitors, server):
    moderator = visitors("moderator")
    moderator.page.goto(server.links["moderator console"])
    expect(moderator.page).to_have_url(re.compile(r"/console/$"))
    connected(moderator.page)
    return moderator


def join(visitors, server, name):
    visitor = visitors(name)
    page = visitor.page
    page.goto(server.links["participant invite"])
    page.get_by_label("Ihr Name, wie andere ihn sehen").fill(name)
    page.get_by_role("button", name="Eintreten").click()
    expect(page).to_have_url(re.compile(r"/venue/$"))
    expect(page.locator(".topbar .me")).to_contain_text(name)
    connected(page)
    return visitor


def shows_live(page, title):
    expect(page.locator("#now-playing h1")).to_have_text(title)
    expect(page.locator('#agenda [aria-current="step"] .title')).to_have_text(title)
    expect(page.locator('#agenda [aria-current="step"]')).to_have_count(1)


def click_next(console, title):
    """The moderator clicks "Weiter: <title>" and waits for the console to show it live."""
    console.get_by_role("button", name=re.compile(r"^Weiter")).click()
    expect(console.locator('#timeline [aria-current="step"] .title')).to_have_text(title)
    expect(console.locator("#now-playing h1")).to_have_text(title)


def facilitator_link(server):
    token = manage(server.env, "shell", "-v0", "-c",
                   "from rooms.models import Room; print(Room.objects.get(slug='forum-diversitaet').facilitator.token)")
    return f"{server.base_url}/p/{token.strip().splitlines()[-1]}/"


# --- Media in the browser ------------------------------------------------------------------------


class Moderator:
    """The moderator's socket, driven from a thread of its own (Playwright owns this one)."""

    def __init__(self, server):
        token = urlparse(server.links["moderator console"]).path.rstrip("/").split("/")[-1]
        self.url = f"ws://127.0.0.1:{server.port}/ws/venue/?token={token}&lang=de"
        self.origin = server.base_url
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def command(self, message_type, **fields):
        return self.pool.submit(asyncio.run, self._command(message_type, fields)).result(timeout=30)

    async def _command(self, message_type, fields):
        import websockets

        async with websockets.connect(self.url, origin=self.origin) as socket:
            await socket.send(json.dumps({"type": message_type, "id": "t1", **fields}))
            while True:
                frame = await asyncio.wait_for(socket.recv(), 10)
                if frame.startswith("{") and json.loads(frame).get("id") == "t1":
                    return json.loads(frame)


def enter(browser, server, name):
    context = browser.new_context(viewport=VIEWPORT, locale="de-DE")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.links["participant invite"])
    page.get_by_label("Ihr Name, wie andere ihn sehen").fill(name)
    page.get_by_role("button", name="Eintreten").click()
    expect(page).to_have_url(re.compile(r"/venue/$"))
    expect(page.locator("#live")).to_have_attribute("data-connection", "open")
    return context, page, errors


INBOUND = """async () => {
  const pc = window.plenumMedia.subscriber;
  if (!pc) return null;
  const out = {video: 0, audio: 0};
  (await pc.getStats()).forEach(r => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') out.video += r.framesDecoded || 0;
    if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audio += r.packetsReceived || 0;
  });
  return out;
}"""


def inbound(page):
    return page.evaluate(INBOUND) or {"video": 0, "audio": 0}


def wait_for(predicate, timeout, what):
    """Polls `predicate` (from Playwright's thread, which must not block in asyncio) until it holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout}s")
        time.sleep(0.2)


def publish_in_the_forum(browser, server, name):
    """A newcomer while the forums are in session: picks the first forum, whose media the page
    joins by itself, and turns on camera and microphone."""
    context, page, errors = enter(browser, server, name)
    page.locator(".forum-choice", has_text="Diversität und Mehrsprachigkeit").get_by_role("button").click()
    expect(page.locator("#place.place-forum")).to_be_attached()
    expect(page.locator("#media")).to_have_attribute("data-state", "joined")
    page.locator("#media .media-publish").click()
    expect(page.locator("#media .media-mic")).to_be_visible()
    return context, page, errors


def assert_each_decodes_the_other(*pages, timeout=20):
    for page in pages:
        expect(page.locator("#media .media-tile")).to_have_count(len(pages), timeout=timeout * 1000)
        wait_for(lambda page=page: inbound(page)["video"] > 10 and inbound(page)["audio"] > 10, timeout,
                 "media from the other page")
    first = {id(p): inbound(p) for p in pages}
    # Not a burst that stopped: the counts keep rising (30 more video frames, 50 more audio packets).
    for page in pages:
        wait_for(lambda page=page: inbound(page)["video"] > first[id(page)]["video"] + 30
                 and inbound(page)["audio"] > first[id(page)]["audio"] + 50, timeout,
                 "framesDecoded and audio packets keep rising")


class Door:
    """One daphne process as the browser helpers see a venue: its own address and links."""

    def __init__(self, daphne, links):
        self.daphne = daphne
        self.port = daphne.port
        self.base_url = daphne.base_url
        self.links = {
            label: f"{daphne.base_url}{urlparse(url).path}" for label, url in links.items()
        }

    def log_text(self):
        return self.daphne.log_text()


