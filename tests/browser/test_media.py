"""Live audio and video in real browsers: two Chromium pages with fake camera and microphone in a forum.

Each page publishes through the SFU and receives the other; getStats() in each page must show
the other's video frames being decoded and audio packets arriving. Closing a page must free
its connections on the server (counted by the moderator's `media.stats`).
"""

import asyncio
import concurrent.futures
import json
import re
import time
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, assert_server_healthy
from agenda.models import Phase
from tests.servers import ROOT
from frontend import demo

pytestmark = pytest.mark.browser

FORUM = "forum-diversitaet"
SCREENSHOT = ROOT / "docs" / "screenshots" / "forum-media.png"
MEDIA_ARGS = CHROMIUM_ARGS + ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def media_browser():
    """Chromium with a fake camera and microphone; the shared `browser` fixture has neither."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package; nothing is downloaded.", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=MEDIA_ARGS)
        yield chromium
        chromium.close()


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
    time.sleep(1.5)
    for page in pages:
        now = inbound(page)
        assert now["video"] > first[id(page)]["video"], "framesDecoded keeps rising"
        assert now["audio"] > first[id(page)]["audio"], "audio packets keep arriving"


def test_two_browsers_in_a_forum_see_and_hear_each_other(media_browser, venue_server):
    moderator = Moderator(venue_server)
    # The moderator clicks "next" until the forums are in session.
    steps = next(index for index, row in enumerate(demo.AGENDA) if row[2] == Phase.FORUMS) + 1
    for _ in range(steps):
        reply = moderator.command("agenda.next")
        assert reply["type"] == "ack", reply

    pages = [publish_in_the_forum(media_browser, venue_server, name) for name in ("Ada Forum", "Ben Forum")]
    (_c1, ada, ada_errors), (_c2, ben, ben_errors) = pages
    assert_each_decodes_the_other(ada, ben)

    ada.locator("#media").scroll_into_view_if_needed()
    time.sleep(0.5)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    ada.locator("#media").screenshot(path=str(SCREENSHOT))

    stats = moderator.command("media.stats")
    assert stats["peer_connections"] == 4, stats
    assert stats["rooms"][FORUM] == {"present": 2, "publishing": 2}

    # Ben closes his tab: his two connections go; Ada's subscribe connection stays, now empty.
    pages[1][0].close()
    wait_for(lambda: moderator.command("media.stats")["peer_connections"] == 2, 10, "Ben's connections closed")
    expect(ada.locator("#media .media-tile")).to_have_count(1)
    # Ada leaves the room with the button: nothing is left on the server.
    ada.locator("#media .media-leave").click()
    wait_for(lambda: moderator.command("media.stats")["peer_connections"] == 0, 10, "Ada's connections closed")
    pages[0][0].close()

    assert not ada_errors and not ben_errors, ada_errors + ben_errors
    assert_server_healthy(venue_server)
