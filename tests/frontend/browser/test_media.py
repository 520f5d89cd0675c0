"""Live audio and video in real browsers: two Chromium pages with fake camera and microphone in a forum.

Each page publishes through the SFU and receives the other; getStats() in each page must show
the other's video frames being decoded and audio packets arriving. Closing a page must free
its connections on the server (counted by the moderator's `media.stats`).
"""

import pytest
from playwright.sync_api import expect

from agenda.models import Phase
from frontend import demo
from tests.support.browser import (
    FORUM_SLUG,
    Moderator,
    assert_each_decodes_the_other,
    assert_server_healthy,
    publish_in_the_forum,
    wait_for,
)
from tests.support.servers import ROOT

pytestmark = pytest.mark.browser

SCREENSHOT = ROOT / "docs" / "screenshots" / "forum-media.png"
# Every tile's picture is showing (HAVE_CURRENT_DATA or better), not a black box.
PICTURES_SHOWING = """() => [...document.querySelectorAll('#media .media-tile video')].every(v => v.readyState >= 2 && v.videoWidth > 0)"""


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
    wait_for(lambda: ada.evaluate(PICTURES_SHOWING), 10, "both tiles show a picture")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    ada.locator("#media").screenshot(path=str(SCREENSHOT))

    stats = moderator.command("media.stats")
    assert stats["peer_connections"] == 4, stats
    assert stats["rooms"][FORUM_SLUG] == {"present": 2, "publishing": 2}

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
