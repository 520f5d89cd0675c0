"""Live audio and video in real browsers, in the production topology: two Chromium pages whose
sockets sit on different daphne processes meet in one forum through the media workers.

PostgreSQL, redis-server, two daphne processes and two media workers (PLENUM_MEDIA=worker,
PLENUM_MEDIA_WORKERS=2) run as real processes on 127.0.0.1; the pages' audio and video go to
the worker that holds the forum, their signalling through whichever daphne process they are on.
"""


import psycopg
import pytest
from playwright.sync_api import expect

from agenda.models import Phase
from frontend import demo
from tests.support.browser import (
    FORUM_SLUG,
    Door,
    Moderator,
    assert_each_decodes_the_other,
    assert_server_healthy,
    inbound,
    publish_in_the_forum,
    wait_for,
)
from tests.support.servers import MediaWorkerProcess, media_topology

pytestmark = [pytest.mark.browser, pytest.mark.topology]


def forum_workers(database_url, conference_id):
    """{forum slug: the index of the worker of two that holds its media}."""
    from rooms.media.worker import worker_of_room

    with psycopg.connect(database_url) as connection:
        rooms = connection.execute(
            "SELECT slug, id FROM rooms_room WHERE conference_id = %s AND kind = 'forum'", (conference_id,)
        ).fetchall()
    return {slug: worker_of_room(pk, 2) for slug, pk in rooms}




@pytest.fixture(scope="module")
def venue_at_scale(redis_server, postgres_cluster, tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("browser-scale")
    with media_topology(redis_server, postgres_cluster, var_dir, "plenum_browser_media") as venue:
        with psycopg.connect(venue.database_url) as connection:
            conference_id, = connection.execute("SELECT id FROM venue_conference WHERE slug = %s", (demo.SLUG,)).fetchone()
        yield ([Door(daphne, venue.links) for daphne in venue.daphnes], venue.workers,
               forum_workers(venue.database_url, conference_id))


def test_two_browsers_on_two_daphne_processes_see_and_hear_each_other_through_a_media_worker(
    media_browser, venue_at_scale
):
    (first, second), workers, held_by = venue_at_scale
    moderator = Moderator(first)
    steps = next(index for index, row in enumerate(demo.AGENDA) if row[2] == Phase.FORUMS) + 1
    for _ in range(steps):
        reply = moderator.command("agenda.next")
        assert reply["type"] == "ack", reply

    # Ada's socket is on the first daphne process, Ben's on the second.
    pages = [publish_in_the_forum(media_browser, door, name) for door, name in ((first, "Ada Weit"), (second, "Ben Fern"))]
    (_c1, ada, ada_errors), (_c2, ben, ben_errors) = pages
    assert ada.url.startswith(first.base_url) and ben.url.startswith(second.base_url)
    assert_each_decodes_the_other(ada, ben, timeout=25)

    # The forum's worker holds both pages' connections; the other worker holds none of them.
    stats = moderator.command("media.stats", room=FORUM_SLUG)
    assert stats["peer_connections"] == 4 and stats["rooms"][FORUM_SLUG] == {"present": 2, "publishing": 2}, stats
    other_room = next(slug for slug, index in held_by.items() if index != held_by[FORUM_SLUG])
    assert moderator.command("media.stats", room=other_room)["peer_connections"] == 0

    # The forum's worker dies without a word and a successor takes its index: both pages join
    # again by themselves, publish again, and decode each other on fresh connections.
    holder = next(w for w in workers if w.index == held_by[FORUM_SLUG])
    for page in (ada, ben):
        page.evaluate("window.plenumMedia.subscriber.plenumBeforeRestart = true")
    holder.kill()
    successor = MediaWorkerProcess(holder.env, index=holder.index, log_path=holder.log_path.with_name("media-again.log"))
    successor.start()
    workers.append(successor)
    for page in (ada, ben):
        wait_for(lambda page=page: page.evaluate(
            "!!window.plenumMedia.subscriber && !window.plenumMedia.subscriber.plenumBeforeRestart"
        ), 20, "a new subscribe connection after the restart")
        wait_for(lambda page=page: inbound(page)["video"] > 10 and inbound(page)["audio"] > 10, 25, "media again")
    expect(ada.locator("#media .media-tile")).to_have_count(2)

    # Ben closes his tab: his daphne process tells the worker, which frees his connections.
    pages[1][0].close()
    wait_for(lambda: moderator.command("media.stats", room=FORUM_SLUG)["peer_connections"] == 2, 10, "Ben's connections closed")
    expect(ada.locator("#media .media-tile")).to_have_count(1)
    pages[0][0].close()

    assert not ada_errors and not ben_errors, ada_errors + ben_errors
    for process in (first, second, *workers):
        assert_server_healthy(process)
