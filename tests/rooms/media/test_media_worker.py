"""Media at scale: daphne processes relay media commands to one media worker.

The first tests run the relay and the worker in this process over the in-memory channel layer
(fast, and they send the worker the bad cases). The topology test is the real thing: Alice's
socket is on one daphne process, Bob's on the other, both in the same forum; with
PLENUM_MEDIA=worker their commands go to `manage.py plenum_media_worker`, which holds everyone's
peer connections, so each sees the other. Real redis-server, PostgreSQL, daphne and aiortc
peers; nothing is mocked.
"""

import asyncio
import json
from datetime import timedelta

import psycopg
import pytest
from django.utils import timezone

from agenda.models import Phase
from frontend import demo
from rooms.media import commands, sfu, worker
from rooms.models import Process, Room
from tests.support.media import FORUM, DaphneClient, MediaPeer, Who, close_all, start, wait_until
from tests.support.servers import Daphne, MediaWorkerProcess, manage, prepare_demo, server_env
from venue import groups


@pytest.fixture
async def media_worker(layer, settings):
    """Worker mode, with the worker reading its channel in this process and event loop."""
    settings.PLENUM_MEDIA = "worker"
    media = worker.MediaWorker(layer, commands.LOCAL)
    reader = asyncio.ensure_future(media.run())
    yield media
    reader.cancel()
    await media.close()


async def test_in_worker_mode_the_socket_relays_and_the_worker_runs_the_forum(
    conference, moderator, participants, media_worker
):
    await start(conference, moderator, Phase.FORUMS)
    alice, bob = participants[0], participants[1]
    alice_peer, bob_peer = await MediaPeer.connect(alice), await MediaPeer.connect(bob)
    for peer in (alice_peer, bob_peer):
        assert (await peer.join(FORUM))["may_publish"] is True
        assert (await peer.publish())["type"] == "ack"
    await alice_peer.wait_for_frames(bob, "video", count=5)
    await bob_peer.wait_for_frames(alice, "video", count=5)
    # The SFU holds the worker's stand-ins, not the consumers: everything went through the worker.
    assert all(isinstance(s, worker.RemoteSocket) for s in sfu.get().sessions)
    assert len(media_worker.sockets) == 2

    # Bob closes his tab: the consumer's disconnect hook relays a leave.
    await bob_peer.client.close()
    await wait_until(lambda: sfu.open_peer_connections() == 2, what="bob's connections freed")
    assert len(media_worker.sockets) == 1

    # Alice's daphne process dies without a word: its heartbeat stops, the sweep frees her media.
    await Process.objects.aupdate(last_seen=timezone.now() - timedelta(minutes=5))
    await media_worker.sweep()
    await wait_until(lambda: sfu.open_peer_connections() == 0, what="alice's connections freed")
    assert media_worker.sockets == {}
    await close_all(alice_peer, bob_peer)


async def test_the_worker_checks_what_it_is_sent_again(conference, participants, media_worker, layer):
    reply_to = await layer.new_channel()
    alice = participants[0]

    async def ask(command, fields, person=alice.pk, conference_id=conference.pk):
        await layer.send(groups.media_worker(0), {
            "type": worker.COMMAND, "reply_to": reply_to, "id": 7, "process": "web-1",
            "person": person, "conference": conference_id, "command": command, "fields": fields,
        })
        message = await asyncio.wait_for(layer.receive(reply_to), 5)
        assert message["type"] == "fanout.deliver"
        return json.loads(message["text"])

    assert (await ask("media.publish", {"sdp": "v=0", "evil": 1}))["code"] == "invalid_field"
    assert (await ask("media.join", {}))["code"] == "missing_field"
    assert (await ask("media.join", {"room": "x" * 60}))["code"] == "too_long"
    # Only media commands run in the worker.
    assert (await ask("agenda.next", {}))["code"] == "unknown_type"
    assert (await ask("media.join", {"room": FORUM}, person=10**9))["code"] == "not_found"
    assert (await ask("media.join", {"room": FORUM}, conference_id=conference.pk + 1))["code"] == "not_found"
    assert (await ask("media.join", {"room": FORUM}, person="1"))["code"] == "invalid_message"
    # The policy runs in the worker too: the forums have not started.
    refused = await ask("media.join", {"room": FORUM})
    assert refused == {"type": "error", "code": "room_closed", "message": refused["message"], "id": 7}
    assert media_worker.sockets == {} and sfu.open_peer_connections() == 0







def forums_afternoon(redis_server, postgres_cluster, var_dir, name, seats, workers=1):
    """The demo day in its forums phase, served by two daphne processes and `workers` media
    workers; `seats` is {forum slug: how many participants sit in it}, or a function of the
    database's URL and the conference's id that returns it. A generator: the caller's
    fixture yields what it yields and everything is stopped and checked afterwards."""
    database_url = postgres_cluster.create_database(name)
    redis_server.flush()
    env = server_env(
        var_dir, DATABASE_URL=database_url, REDIS_URL=redis_server.url, PLENUM_MEDIA="worker",
        PLENUM_MEDIA_WORKERS=workers,
    )
    prepare_demo(env, "http://127.0.0.1")
    with psycopg.connect(database_url) as conn:
        conference_id, = conn.execute(
            "SELECT id FROM venue_conference WHERE slug = %s", (demo.SLUG,)
        ).fetchone()
        people = conn.execute(
            "SELECT id, role, token FROM venue_person WHERE conference_id = %s ORDER BY id", (conference_id,)
        ).fetchall()
    everyone = [(pk, token) for pk, role, token in people if role == "participant"]
    forums, taken = {}, 0
    for slug, count in (seats(database_url, conference_id) if callable(seats) else seats).items():
        forums[slug] = everyone[taken:taken + count]
        taken += count
    moderator = next((pk, token) for pk, role, token in people if role == "moderator")
    # The participants chose their forums; the moderator starts the forums phase.
    manage(env, "shell", "-c", (
        "from agenda import actions\n"
        "from agenda.models import AgendaItem, Phase\n"
        "from rooms.models import ForumAssignment, Room\n"
        "from venue.models import Person\n"
        f"for slug, pks in {({slug: [pk for pk, _t in seated] for slug, seated in forums.items()})!r}.items():\n"
        f"    room = Room.objects.get(conference_id={conference_id}, slug=slug)\n"
        "    for pk in pks:\n"
        "        ForumAssignment.objects.update_or_create(person_id=pk, defaults={'room': room})\n"
        f"item = AgendaItem.objects.filter(conference_id={conference_id}, phase=Phase.FORUMS).order_by('order').first()\n"
        f"actions.start({conference_id}, item.pk, by=Person.objects.get(pk={moderator[0]}))\n"
    ))
    daphnes = (Daphne(env), Daphne(env))
    # A test may add the successor of a worker it killed: whatever is in the list is stopped.
    media = [MediaWorkerProcess(env, index=index) for index in range(workers)]
    try:
        for process in (*media, *daphnes):
            process.start()
        yield {
            "conference": conference_id, "database_url": database_url, "processes": daphnes, "media": media, "forums": forums,
            "participants": [p for seated in forums.values() for p in seated], "moderator": moderator,
        }
    finally:
        for process in (*media, *daphnes):
            process.stop()
        postgres_cluster.drop_database(name)
    for process in (*media, *daphnes):
        assert "Traceback" not in process.log_text(), process.log_text()[-4000:]


@pytest.fixture
def forum_at_scale(redis_server, postgres_cluster, tmp_path):
    """Alice and Bob in one forum; two daphne processes, one media worker."""
    yield from forums_afternoon(redis_server, postgres_cluster, tmp_path, "plenum_media_worker", {FORUM: 2})


def two_forums_on_two_workers(database_url, conference_id):
    """Two demo forums whose media lives in different workers of two (rooms take turns by id)."""
    with psycopg.connect(database_url) as conn:
        rooms = dict(conn.execute(
            "SELECT slug, id FROM rooms_room WHERE conference_id = %s AND kind = 'forum' ORDER BY id", (conference_id,)
        ).fetchall())
    first, *others = rooms
    second = next(slug for slug in others if worker.worker_of_room(rooms[slug], 2) != worker.worker_of_room(rooms[first], 2))
    return (first, worker.worker_of_room(rooms[first], 2)), (second, worker.worker_of_room(rooms[second], 2))


async def test_a_worker_refuses_a_room_that_another_worker_holds(conference, participants, layer, settings):
    # A daphne process that counts workers differently would split a room between two SFUs.
    settings.PLENUM_MEDIA = "worker"
    settings.PLENUM_MEDIA_WORKERS = 2
    forum = await Room.objects.aget(conference=conference, slug=FORUM)
    theirs = 1 - worker.worker_of_room(forum.pk)
    media = worker.MediaWorker(layer, commands.LOCAL, theirs)
    reader = asyncio.ensure_future(media.run())
    reply_to = await layer.new_channel()
    await layer.send(groups.media_worker(theirs), {
        "type": worker.COMMAND, "reply_to": reply_to, "id": 3, "process": "web-1",
        "person": participants[0].pk, "conference": conference.pk, "command": "media.join",
        "fields": {"room": FORUM},
    })
    message = await asyncio.wait_for(layer.receive(reply_to), 5)
    assert json.loads(message["text"])["code"] == "media_unavailable"
    assert media.sockets == {} and sfu.open_peer_connections() == 0
    reader.cancel()
    await media.close()


async def test_a_socket_hears_media_unavailable_while_the_worker_is_away(
    conference, moderator, participants, layer, settings
):
    settings.PLENUM_MEDIA = "worker"  # and no worker reads its channel
    await start(conference, moderator, Phase.FORUMS)
    for index in range(layer.capacity):
        await layer.send(groups.media_worker(0), {"type": worker.COMMAND, "filler": index})
    peer = await MediaPeer.connect(participants[0])
    refused = await peer.join(FORUM)
    assert refused["type"] == "error" and refused["code"] == "media_unavailable"
    await peer.close()


@pytest.mark.topology
@pytest.mark.timeout(60)
async def test_forum_members_on_different_daphne_processes_see_each_other_through_the_media_worker(
    forum_at_scale,
):
    first, second = forum_at_scale["processes"]
    (alice_id, alice_token), (bob_id, bob_token) = forum_at_scale["participants"]
    alice, bob = Who(alice_id), Who(bob_id)
    alice_peer = MediaPeer(await DaphneClient.open(first, alice_token))
    bob_peer = MediaPeer(await DaphneClient.open(second, bob_token))
    console = MediaPeer(await DaphneClient.open(first, forum_at_scale["moderator"][1]))

    for peer in (alice_peer, bob_peer):
        joined = await peer.join(FORUM)
        assert joined["type"] == "ack" and joined["kind"] == "forum" and joined["may_publish"] is True
    # The relayed command is checked by the same policy in the worker: not Alice's forum.
    refused = await alice_peer.join("forum-bildung")
    assert refused["type"] == "error" and refused["code"] == "room_closed"
    # The refused join left her in her forum (a join elsewhere never got that far).
    assert (await alice_peer.join(FORUM))["room"] == FORUM
    for peer in (alice_peer, bob_peer):
        assert (await peer.publish())["type"] == "ack"

    await alice_peer.wait_for_frames(bob, "video", count=10, timeout=15)
    await bob_peer.wait_for_frames(alice, "video", count=10, timeout=15)
    assert alice_peer.decodable[(bob.pk, "video")].width == 640
    roster = [m for m in bob_peer.messages if m.get("type") == "media.peers"][-1]
    assert {p["person"] for p in roster["peers"]} == {alice.pk, bob.pk}

    # The worker holds everything: two publish and two subscribe connections, one room.
    stats = await console.command("media.stats")
    assert stats["peer_connections"] == 4
    assert stats["rooms"] == {FORUM: {"present": 2, "publishing": 2}}
    assert (await alice_peer.command("media.stats"))["code"] == "forbidden"

    # Bob closes his tab: his daphne process tells the worker, which frees his connections.
    await bob_peer.close()

    async def peer_connections():
        return (await console.command("media.stats"))["peer_connections"]

    deadline = asyncio.get_running_loop().time() + 5
    while (left := await peer_connections()) != 2:
        assert asyncio.get_running_loop().time() < deadline, f"{left} peer connections in the worker"
        await asyncio.sleep(0.1)
    await wait_until(
        lambda: any(
            m.get("type") == "media.peers" and [p["person"] for p in m["peers"]] == [alice.pk]
            for m in alice_peer.messages
        ),
        what="alice sees bob leave",
    )

    assert (await alice_peer.command("media.leave"))["left"] is True
    stats = await console.command("media.stats")
    assert stats["type"] == "ack" and stats["peer_connections"] == 0 and stats["rooms"] == {} and stats["forwarded_streams"] == 0
    await alice_peer.close()
    await console.close()


@pytest.fixture
def forums_on_two_workers(redis_server, postgres_cluster, tmp_path):
    """Alice and Bob in a forum of one media worker, Carla in a forum of the other."""

    def seats(database_url, conference_id):
        (mine, _), (other, _) = two_forums_on_two_workers(database_url, conference_id)
        return {mine: 2, other: 1}

    yield from forums_afternoon(redis_server, postgres_cluster, tmp_path, "plenum_two_media_workers", seats, workers=2)


@pytest.mark.topology
@pytest.mark.timeout(90)
async def test_two_media_workers_share_the_forums_and_each_room_lives_in_one_of_them(forums_on_two_workers):
    day = forums_on_two_workers
    first, second = day["processes"]
    (forum_a, worker_a), (forum_b, worker_b) = two_forums_on_two_workers(day["database_url"], day["conference"])
    assert list(day["forums"]) == [forum_a, forum_b] and worker_a != worker_b
    (alice_id, alice_token), (bob_id, bob_token) = day["forums"][forum_a]
    [(carla_id, carla_token)] = day["forums"][forum_b]
    alice = MediaPeer(await DaphneClient.open(first, alice_token))
    bob = MediaPeer(await DaphneClient.open(second, bob_token))
    carla = MediaPeer(await DaphneClient.open(first, carla_token))
    console = MediaPeer(await DaphneClient.open(second, day["moderator"][1]))

    for peer, forum in ((alice, forum_a), (bob, forum_a), (carla, forum_b)):
        joined = await peer.join(forum)
        assert joined["type"] == "ack" and joined["room"] == forum and joined["may_publish"] is True
        assert (await peer.publish())["type"] == "ack"
    await alice.wait_for_frames(Who(bob_id), "video", count=10, timeout=15)
    await bob.wait_for_frames(Who(alice_id), "video", count=10, timeout=15)

    async def stats(room):
        reply = await console.command("media.stats", room=room)
        assert reply["type"] == "ack", reply
        return reply

    # Each worker holds its own forum's connections and nothing of the other's.
    in_a, in_b = await stats(forum_a), await stats(forum_b)
    assert in_a["rooms"] == {forum_a: {"present": 2, "publishing": 2}} and in_a["peer_connections"] == 4
    assert in_b["rooms"] == {forum_b: {"present": 1, "publishing": 1}}

    # Into a forum of the other worker that is not hers: refused before her media is touched.
    refused = await alice.join(forum_b)
    assert refused["type"] == "error" and refused["code"] == "room_closed"
    assert (await stats(forum_a))["rooms"] == {forum_a: {"present": 2, "publishing": 2}}

    # The console looks into Carla's forum, then Alice's: it leaves the first worker's room.
    assert (await console.join(forum_b))["room"] == forum_b
    assert (await stats(forum_b))["rooms"][forum_b]["present"] == 2
    assert (await console.join(forum_a))["room"] == forum_a
    assert (await stats(forum_a))["rooms"][forum_a]["present"] == 3
    await wait_until(
        lambda: any(
            m.get("type") == "media.peers" and [p["person"] for p in m["peers"]] == [carla_id]
            for m in carla.messages
        ),
        what="carla sees the console leave",
    )
    # The moderator mutes Carla from Alice's forum: the mute finds her in the other worker.
    assert (await console.command("media.mute", person=carla_id))["sessions"] == 1
    await wait_until(lambda: any(m.get("type") == "media.muted" for m in carla.messages), what="carla muted")
    # A console-role person's media may be in a room that is not their place: every worker acts.
    await console.command("media.mute", person=day["moderator"][0])
    await wait_until(lambda: any(m.get("type") == "media.muted" for m in console.messages), what="the console muted")

    # Bob closes his tab: his forum's worker frees his connections.
    await bob.close()
    deadline = asyncio.get_running_loop().time() + 5
    while (left := (await stats(forum_a))["rooms"][forum_a]["present"]) != 2:
        assert asyncio.get_running_loop().time() < deadline, f"{left} present in {forum_a}"
        await asyncio.sleep(0.1)
    for peer in (alice, carla, console):
        await peer.close()
    media_logs = {process.index: process.log_text() for process in day["media"]}
    assert f"reading channel plenum.media.{worker_a}" in media_logs[worker_a]
    assert "does not hold it" not in "".join(media_logs.values())


@pytest.mark.topology
@pytest.mark.timeout(90)
async def test_when_the_media_worker_restarts_the_pages_are_told_to_join_again(forum_at_scale, tmp_path):
    first, second = forum_at_scale["processes"]
    (alice_id, alice_token), (bob_id, bob_token) = forum_at_scale["participants"]
    alice = MediaPeer(await DaphneClient.open(first, alice_token))
    bob = MediaPeer(await DaphneClient.open(second, bob_token))
    for peer in (alice, bob):
        assert (await peer.join(FORUM))["type"] == "ack"
        assert (await peer.publish())["type"] == "ack"
    await alice.wait_for_frames(Who(bob_id), "video", count=5, timeout=15)

    # The worker dies without a word and a new one takes its index.
    [old] = forum_at_scale["media"]
    old.kill()
    successor = MediaWorkerProcess(old.env, log_path=tmp_path / "media-worker-again.log")
    successor.start()
    forum_at_scale["media"].append(successor)
    for peer in (alice, bob):
        await wait_until(lambda peer=peer: any(m.get("type") == "media.reset" for m in peer.messages), what="media.reset")

    # Each page joins again, as media.js does on media.reset, and they see each other again.
    for peer in (alice, bob):
        await peer.reset()
        assert (await peer.join(FORUM))["type"] == "ack"
        assert (await peer.publish())["type"] == "ack"
    await alice.wait_for_frames(Who(bob_id), "video", count=10, timeout=15)
    await bob.wait_for_frames(Who(alice_id), "video", count=10, timeout=15)
    for peer in (alice, bob):
        await peer.close()
