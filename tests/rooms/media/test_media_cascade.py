"""The plenary over two media workers: the cascade (rooms.media.cascade).

Real redis-server, PostgreSQL, two daphne processes and two media workers; the speaker and the
viewers are aiortc peers on real WebSockets. The panel is live: a speaker publishes where they
joined, viewers go to the least loaded worker, and the stage's tracks cross between the workers
once each.
"""

import asyncio

import psycopg
import pytest
import redis

from frontend import demo
from rooms.media import load
from tests.support.media import PANEL, DaphneClient, MediaPeer, Who, panel_speakers
from tests.support.servers import manage, media_topology
from tests.support.waiting import wait_until

PLENARY = "plenum"


def start_the_panel(env, database_url):
    manage(env, "shell", "-c", (
        "from agenda import actions\n"
        "from agenda.models import AgendaItem\n"
        "from venue.models import Person\n"
        f"item = AgendaItem.objects.get(conference__slug={demo.SLUG!r}, title={PANEL!r})\n"
        "moderator = Person.objects.get(conference=item.conference, role='moderator')\n"
        "actions.start(item.conference_id, item.pk, by=moderator)\n"
    ))


@pytest.fixture
def panel_on_two_workers(redis_server, postgres_cluster, tmp_path):
    """The panel is live; two daphne processes, two media workers, the plenary spread."""
    with media_topology(redis_server, postgres_cluster, tmp_path, "plenum_cascade", prepare=start_the_panel,
                        PLENUM_MEDIA_SPREAD="plenary", PLENUM_MEDIA_LOAD_SECONDS=0.5) as venue:
        with psycopg.connect(venue.database_url) as conn:
            participants = conn.execute(
                "SELECT id, token FROM venue_person WHERE role = 'participant' ORDER BY id LIMIT 3"
            ).fetchall()
            moderator = conn.execute("SELECT id, token FROM venue_person WHERE role = 'moderator'").fetchone()
        [speaker] = panel_speakers(venue.database_url, 1)
        yield {
            "daphnes": venue.daphnes, "media": venue.workers, "speaker": speaker, "participants": participants,
            "moderator": moderator, "redis": redis_server,
        }
    for process in (*venue.workers, *venue.daphnes):
        assert "Traceback" not in process.log_text(), process.log_text()[-4000:]


def reported(redis_url):
    """Which workers have reported their load (rooms.media.load) lately."""
    client = redis.Redis.from_url(redis_url)
    try:
        return {int(key) for key in client.hgetall(load.SEEN)}
    finally:
        client.close()


async def worker_stats(console, index):
    reply = await console.command("media.stats", worker=index)
    assert reply["type"] == "ack", reply
    assert reply["worker"] == index
    return reply


def count_keyframe_requests(peer):
    """How often the publisher's camera was asked for a keyframe (PLI/FIR reach `_send_keyframe`)."""
    sender = next(t.sender for t in peer.publisher.getTransceivers() if t.kind == "video")
    asked = {"count": 0}
    original = sender._send_keyframe

    def counted():
        asked["count"] += 1
        original()

    sender._send_keyframe = counted
    return asked


async def viewers_on(console, worker_index):
    return (await worker_stats(console, worker_index))["rooms"].get(PLENARY, {}).get("present", 0)


@pytest.mark.topology
@pytest.mark.timeout(120)
async def test_the_stage_reaches_viewers_on_both_workers_through_one_relay_per_track(panel_on_two_workers):
    day = panel_on_two_workers
    first, second = day["daphnes"]
    await wait_until(lambda: reported(day["redis"].url) == {0, 1}, what="both workers report", timeout=15)
    speaker_id, speaker_token = day["speaker"]
    speaker = MediaPeer(await DaphneClient.open(first, speaker_token))
    console = MediaPeer(await DaphneClient.open(second, day["moderator"][1]))
    joined = await speaker.join(PLENARY)
    assert joined["type"] == "ack" and joined["may_publish"] is True
    assert (await speaker.publish())["type"] == "ack"
    asked = count_keyframe_requests(speaker)

    viewers = []
    for index, (_pk, token) in enumerate(day["participants"]):
        viewer = MediaPeer(await DaphneClient.open(day["daphnes"][index % 2], token))
        viewer.person_id = _pk
        assert (await viewer.join(PLENARY))["may_publish"] is False
        viewers.append(viewer)
        await viewer.wait_for_frames(Who(speaker_id), "video", count=10, timeout=20)
    for viewer in viewers:
        await viewer.wait_for_frames(Who(speaker_id), "audio", count=10, timeout=20)

    # The viewers are on both workers: each new one went to the less loaded.
    on_0, on_1 = await viewers_on(console, 0), await viewers_on(console, 1)
    assert on_0 >= 1 and on_1 >= 1 and on_0 + on_1 == 4, (on_0, on_1)  # the speaker is one of them
    # The speaker publishes in one worker, which sends each of the two tracks once to the other,
    # however many viewers that one has.
    stats = {index: await worker_stats(console, index) for index in (0, 1)}
    origin = next(index for index in (0, 1) if stats[index]["rooms"][PLENARY]["publishing"] == 1)
    other = 1 - origin
    assert stats[origin]["cascade"][PLENARY]["sending_to"] == [other]
    assert stats[origin]["cascade"][PLENARY]["sent_tracks"] == {str(other): 2}
    assert stats[other]["cascade"][PLENARY]["receiving_from"] == {str(origin): 2}

    # A viewer on the other worker asks for a keyframe: the request reaches the publisher.
    await asyncio.sleep(1)  # the keyframe requests of the joins (rate-limited) pass first
    before = asked["count"]
    people_there = set(stats[other]["people"][PLENARY])
    remote_viewers = [v for v in viewers if v.person_id in people_there]
    assert remote_viewers, stats
    receiver = next(t.receiver for t in remote_viewers[0].subscriber.getTransceivers() if t.kind == "video" and t.receiver.track)
    for source in receiver.getSynchronizationSources():
        await receiver._send_rtcp_pli(source.source)
    await wait_until(lambda: asked["count"] > before, what="the publisher asked for a keyframe", timeout=5)

    # Off the stage: the speaker's tracks stop on both workers, and nothing runs for nobody.
    assert (await console.command("media.unstage", person=speaker_id))["type"] == "ack"

    async def cascade_idle():
        origin_stats, other_stats = await worker_stats(console, origin), await worker_stats(console, other)
        sent = origin_stats["cascade"].get(PLENARY, {}).get("sent_tracks", {}).get(str(other), 0)
        got = other_stats["cascade"].get(PLENARY, {}).get("receiving_from", {}).get(str(origin), 0)
        return sent == 0 and got == 0 and origin_stats["forwarded_streams"] == 0 and other_stats["forwarded_streams"] == 0

    deadline = asyncio.get_running_loop().time() + 10
    while not await cascade_idle():
        assert asyncio.get_running_loop().time() < deadline, "the cascade still forwards after unstaging"
        await asyncio.sleep(0.2)
    frames = [v.frames_from(Who(speaker_id), "video") for v in viewers]
    await asyncio.sleep(1)
    assert [v.frames_from(Who(speaker_id), "video") for v in viewers] == frames

    # The viewers on the other worker close their tabs: it has nobody left in the plenary, tells
    # the speaker's worker so, and that one keeps no relay to it.
    for viewer in remote_viewers:
        await viewer.close()

    async def relay_gone():
        return PLENARY not in (await worker_stats(console, origin))["cascade"]

    deadline = asyncio.get_running_loop().time() + 10
    while not await relay_gone():
        assert asyncio.get_running_loop().time() < deadline, "a relay runs to a worker without viewers"
        await asyncio.sleep(0.2)
    assert PLENARY not in (await worker_stats(console, other))["rooms"]
    for peer in (*[v for v in viewers if v not in remote_viewers], speaker, console):
        await peer.close()


async def talk_watched_on_both_workers(day):
    """The speaker publishes (from the first daphne process) and the three viewers (on both)
    see them. Returns the peers, both workers' stats, and the index of the speaker's worker."""
    await wait_until(lambda: reported(day["redis"].url) == {0, 1}, what="both workers report", timeout=15)
    speaker_id, speaker_token = day["speaker"]
    speaker = MediaPeer(await DaphneClient.open(day["daphnes"][0], speaker_token))
    speaker.person_id = speaker_id
    console = MediaPeer(await DaphneClient.open(day["daphnes"][1], day["moderator"][1]))
    assert (await speaker.join(PLENARY))["type"] == "ack"
    assert (await speaker.publish())["type"] == "ack"
    viewers = []
    for index, (pk, token) in enumerate(day["participants"]):
        viewer = MediaPeer(await DaphneClient.open(day["daphnes"][index % 2], token))
        viewer.person_id = pk
        assert (await viewer.join(PLENARY))["type"] == "ack"
        viewers.append(viewer)
    for viewer in viewers:
        await viewer.wait_for_frames(Who(speaker_id), "video", count=10, timeout=20)
    stats = {index: await worker_stats(console, index) for index in (0, 1)}
    origin = next(index for index in (0, 1) if stats[index]["rooms"][PLENARY]["publishing"] == 1)
    return speaker, console, viewers, stats, origin


@pytest.mark.topology
@pytest.mark.timeout(120)
async def test_when_a_worker_dies_its_viewers_get_the_stage_again_from_the_other(panel_on_two_workers):
    speaker, console, viewers, stats, origin = await talk_watched_on_both_workers(panel_on_two_workers)
    day, speaker_id, other = panel_on_two_workers, speaker.person_id, 1 - origin
    doomed = [v for v in viewers if v.person_id in stats[other]["people"][PLENARY]]
    assert doomed, stats

    # Mid-talk, the other worker is killed: no successor starts.
    killed_at = asyncio.get_running_loop().time()
    day["media"][other].kill()
    for viewer in doomed:
        await wait_until(lambda viewer=viewer: any(m.get("type") == "media.reset" for m in viewer.messages),
                         what="media.reset", timeout=10)
        # The page joins again, as media.js does on media.reset: on the worker that lives.
        await viewer.reset()
        assert (await viewer.join(PLENARY))["type"] == "ack"
    for viewer in doomed:
        await viewer.wait_for_frames(Who(speaker_id), "video", count=5, timeout=10)
    assert asyncio.get_running_loop().time() - killed_at < 10
    assert set((await worker_stats(console, origin))["people"][PLENARY]) >= {v.person_id for v in viewers}
    for peer in (*viewers, speaker, console):
        await peer.close()


@pytest.mark.topology
@pytest.mark.timeout(120)
async def test_when_the_speakers_worker_dies_the_speaker_publishes_again_and_every_viewer_gets_the_new_track(
    panel_on_two_workers,
):
    speaker, console, viewers, stats, origin = await talk_watched_on_both_workers(panel_on_two_workers)
    day, speaker_id, survivor = panel_on_two_workers, speaker.person_id, 1 - origin
    assert set(stats[survivor]["people"][PLENARY]) & {v.person_id for v in viewers}, stats

    # The worker that holds the speaker's tracks is killed mid-talk.
    killed_at = asyncio.get_running_loop().time()
    day["media"][origin].kill()
    moved = [speaker] + [v for v in viewers if v.person_id in stats[origin]["people"][PLENARY]]
    for peer in moved:
        await wait_until(lambda peer=peer: any(m.get("type") == "media.reset" for m in peer.messages),
                         what="media.reset", timeout=10)
        # As media.js does on media.reset: join again, and publish again if one did.
        await peer.reset()
        assert (await peer.join(PLENARY))["type"] == "ack"
    assert (await speaker.publish())["type"] == "ack"
    # Every viewer, wherever it was, gets the new track from the worker that lives.
    for viewer in viewers:
        received = viewer.frames_from(Who(speaker_id), "video")
        await viewer.wait_for_frames(Who(speaker_id), "video", count=received + 5, timeout=10)
    assert asyncio.get_running_loop().time() - killed_at < 15
    assert set((await worker_stats(console, survivor))["people"][PLENARY]) >= {speaker_id, *(v.person_id for v in viewers)}
    for peer in (*viewers, speaker, console):
        await peer.close()
