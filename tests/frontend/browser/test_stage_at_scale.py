"""The plenary's stage in real browsers over two media workers, and who is speaking.

PostgreSQL, redis-server, two daphne processes and two media workers run as real processes on
127.0.0.1, the plenary spread over both workers. Two panel speakers open their personal links:
each page publishes in the worker it was placed on, and each decodes the other's camera, which
crossed between the workers. Chromium's fake microphone beeps; with one page muted, only the
other's tile is marked as speaking, on both pages, and the mark follows when they swap.
"""

import pytest
from playwright.sync_api import expect

from agenda.models import Phase
from frontend import demo
from tests.support.browser import VIEWPORT, Door, Moderator, assert_server_healthy, inbound, wait_for
from tests.support.media import PANEL, panel_speakers
from tests.support.servers import media_topology

pytestmark = [pytest.mark.browser, pytest.mark.topology]

@pytest.fixture(scope="module")
def plenary_at_scale(redis_server, postgres_cluster, tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("browser-stage")
    with media_topology(redis_server, postgres_cluster, var_dir, "plenum_browser_stage",
                        PLENUM_MEDIA_SPREAD="plenary", PLENUM_MEDIA_LOAD_SECONDS=0.5) as venue:
        yield ([Door(daphne, venue.links) for daphne in venue.daphnes], venue.workers,
               panel_speakers(venue.database_url, 2))


def open_as_speaker(browser, door, token):
    context = browser.new_context(viewport=VIEWPORT, locale="de-DE")
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{door.base_url}/p/{token}/")
    expect(page.locator("#place.place-plenary")).to_be_attached()
    expect(page.locator("#media")).to_have_attribute("data-state", "joined")
    page.locator("#media .media-publish").click()
    expect(page.locator("#media .media-mic")).to_be_visible()
    return context, page, errors


def tile(page, person_id):
    return page.locator(f'#media .media-tile[data-person="{person_id}"][data-source="camera"]')


def test_two_speakers_on_two_workers_see_each_other_and_the_speaking_mark_follows_who_talks(
    media_browser, plenary_at_scale
):
    (first, second), workers, ((ada_id, ada_token), (ben_id, ben_token)) = plenary_at_scale
    moderator = Moderator(first)
    steps = next(index for index, row in enumerate(demo.AGENDA) if row[3] == PANEL) + 1
    for _ in range(steps):
        assert moderator.command("agenda.next")["type"] == "ack"
    assert demo.AGENDA[steps - 1][2] == Phase.PLENARY

    ada_context, ada, ada_errors = open_as_speaker(media_browser, first, ada_token)
    ben_context, ben, ben_errors = open_as_speaker(media_browser, second, ben_token)

    # Each page's media is in another worker: the least loaded took the second one.
    stats = {index: moderator.command("media.stats", worker=index) for index in (0, 1)}
    where = {person: index for index in (0, 1) for person in stats[index]["people"].get("plenum", [])}
    assert {where[ada_id], where[ben_id]} == {0, 1}, stats

    # Each decodes the other's camera, which crossed between the workers.
    for page in (ada, ben):
        # (A hidden tile waits for each speaker's screen, which they may share on the stage.)
        expect(page.locator("#media .media-tile[data-source=camera]")).to_have_count(2, timeout=25_000)
        wait_for(lambda page=page: inbound(page)["video"] > 10 and inbound(page)["audio"] > 10, 25, "the other speaker")
    before = {id(page): inbound(page)["video"] for page in (ada, ben)}
    wait_for(lambda: all(inbound(page)["video"] > before[id(page)] + 10 for page in (ada, ben)), 10,
             "framesDecoded rising on both pages")

    # Ada mutes her microphone: Ben's beeps mark his tile, on both pages, and not hers.
    ada.locator("#media .media-mic").click()
    for page in (ada, ben):
        expect(tile(page, ben_id)).to_have_attribute("data-active-speaker", "yes", timeout=10_000)
        expect(tile(page, ada_id)).not_to_have_attribute("data-active-speaker", "yes", timeout=10_000)

    # They swap: the mark follows.
    ada.locator("#media .media-mic").click()
    ben.locator("#media .media-mic").click()
    for page in (ada, ben):
        expect(tile(page, ada_id)).to_have_attribute("data-active-speaker", "yes", timeout=10_000)
        expect(tile(page, ben_id)).not_to_have_attribute("data-active-speaker", "yes", timeout=10_000)

    ada_context.close()
    ben_context.close()
    assert not ada_errors and not ben_errors, ada_errors + ben_errors
    for process in (first, second, *workers):
        assert_server_healthy(process)
