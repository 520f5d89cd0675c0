"""Interpretation channels through real media workers: a German floor, two Turkish interpreters
who hand over, listeners who chose Turkish or nothing, on both workers of a spread plenary.

Real redis-server, PostgreSQL, two daphne processes and two media workers; every person is an
aiortc peer on a real WebSocket; packets are counted per track as the listeners receive them.
"""

import asyncio

import psycopg
import pytest

from frontend import demo
from tests.support.media import PANEL, DaphneClient, MediaPeer, Who, panel_speakers
from tests.support.servers import manage, media_topology
from tests.support.waiting import wait_until

PLENARY = "plenum"


def start_the_panel_with_interpreters(env, database_url):
    manage(env, "shell", "-c", (
        "from agenda import actions\n"
        "from agenda.models import AgendaItem\n"
        "from rooms.models import Interpreter\n"
        "from venue.models import Person\n"
        f"item = AgendaItem.objects.get(conference__slug={demo.SLUG!r}, title={PANEL!r})\n"
        "for name in ('Ayşe Dolmetscherin', 'Mehmet Dolmetscher'):\n"
        "    person = Person.objects.create(conference=item.conference, display_name=name, role='interpreter')\n"
        "    Interpreter.objects.create(item=item, person=person, language='tr')\n"
        "moderator = Person.objects.get(conference=item.conference, role='moderator')\n"
        "actions.start(item.conference_id, item.pk, by=moderator)\n"
    ))


@pytest.fixture
def panel_with_interpreters(redis_server, postgres_cluster, tmp_path):
    with media_topology(redis_server, postgres_cluster, tmp_path, "plenum_interpretation",
                        prepare=start_the_panel_with_interpreters,
                        PLENUM_MEDIA_SPREAD="plenary", PLENUM_MEDIA_LOAD_SECONDS=0.3) as venue:
        with psycopg.connect(venue.database_url) as conn:
            participants = conn.execute(
                "SELECT id, token FROM venue_person WHERE role = 'participant' ORDER BY id LIMIT 4"
            ).fetchall()
            interpreters = conn.execute(
                "SELECT id, token FROM venue_person WHERE role = 'interpreter' ORDER BY id"
            ).fetchall()
            moderator = conn.execute("SELECT id, token FROM venue_person WHERE role = 'moderator'").fetchone()
        [speaker] = panel_speakers(venue.database_url, 1)
        yield {
            "daphnes": venue.daphnes, "speaker": speaker, "participants": participants,
            "interpreters": interpreters, "moderator": moderator, "database_url": venue.database_url,
        }
    for process in (*venue.workers, *venue.daphnes):
        assert "Traceback" not in process.log_text(), process.log_text()[-4000:]


def interpretation_tracks(tracks):
    return [entry for entry in tracks if entry.get("source") == "interpretation"]


def channels_ever_told(peer):
    """Every track map the listener was sent, as the lists of interpretation tracks in it."""
    return [interpretation_tracks(m["tracks"]) for m in peer.messages if m.get("type") in ("media.offer", "media.tracks")]


def on_air_in_database(database_url):
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT on_air_id FROM rooms_interpretationchannel WHERE language = 'tr'").fetchone()[0]


async def worker_of(console, person_id):
    for index in (0, 1):
        reply = await console.command("media.stats", worker=index)
        if person_id in reply.get("people", {}).get(PLENARY, []):
            return index
    return None


@pytest.mark.topology
@pytest.mark.timeout(150)
async def test_turkish_listeners_hear_the_interpreter_on_air_and_the_floor_german_ones_the_floor_alone(panel_with_interpreters):
    day = panel_with_interpreters
    first, second = day["daphnes"]
    speaker_id, speaker_token = day["speaker"]
    speaker = MediaPeer(await DaphneClient.open(first, speaker_token))
    console = MediaPeer(await DaphneClient.open(second, day["moderator"][1]))
    assert (await speaker.join(PLENARY))["type"] == "ack"
    assert (await speaker.publish(audio=True, video=False))["type"] == "ack"

    (ayse_id, ayse_token), (mehmet_id, mehmet_token) = day["interpreters"]
    ayse = MediaPeer(await DaphneClient.open(first, ayse_token))
    mehmet = MediaPeer(await DaphneClient.open(second, mehmet_token))
    for interpreter in (ayse, mehmet):
        joined = await interpreter.join(PLENARY)
        assert joined["interprets"] == "tr" and joined["may_publish"] is True, joined
        assert (await interpreter.publish(audio=True, video=False))["type"] == "ack"
        # The interpreter hears the floor.
        await interpreter.wait_for_frames(Who(speaker_id), "audio", count=10, timeout=20)
    # A participant may not go on air; a listener may not choose a language that is no channel.
    listeners = []
    for index, (pk, token) in enumerate(day["participants"]):
        listener = MediaPeer(await DaphneClient.open(day["daphnes"][index % 2], token))
        listener.person_id = pk
        assert (await listener.join(PLENARY))["type"] == "ack"
        listeners.append(listener)
        await listener.wait_for_frames(Who(speaker_id), "audio", count=5, timeout=20)
        await asyncio.sleep(0.4)  # the workers report their load: the next listener may go elsewhere
    assert (await listeners[0].command("interpretation.on_air", on=True))["code"] == "forbidden"
    assert (await listeners[0].command("media.language", language="xx"))["code"] == "invalid_field"
    turkish, german = listeners[:2], listeners[2:]
    for listener in turkish:
        assert (await listener.command("media.language", language="tr"))["language"] == "tr"

    # Nobody on air yet: everybody hears the floor alone.
    await asyncio.sleep(0.5)
    assert all(not any(channels_ever_told(listener)) for listener in listeners)

    reply = await ayse.command("interpretation.on_air", on=True)
    assert reply == {"type": "ack", "id": reply["id"], "language": "tr", "on_air": True}
    for listener in turkish:
        await listener.wait_for_frames(Who(ayse_id), "interpretation", count=25, timeout=20)
        await listener.wait_for_frames(Who(speaker_id), "audio", count=25, timeout=20)
    for listener in german:
        await listener.wait_for_frames(Who(speaker_id), "audio", count=25, timeout=20)
        assert not any(channels_ever_told(listener)), channels_ever_told(listener)
        assert not any(source == "interpretation" for (_person, source) in listener.received)

    # A Turkish listener on the other worker than Ayşe's hears her through the cascade.
    ayse_worker = await worker_of(console, ayse_id)
    workers = {listener.person_id: await worker_of(console, listener.person_id) for listener in listeners}
    assert set(workers.values()) == {0, 1}, workers
    if not any(workers[listener.person_id] != ayse_worker for listener in turkish):
        # Both Turkish listeners happen to share Ayşe's worker: a German listener on the other
        # one switches to Turkish, and is the remote listener from now on.
        remote = next(listener for listener in german if workers[listener.person_id] != ayse_worker)
        german.remove(remote)
        turkish.append(remote)
        assert (await remote.command("media.language", language="tr"))["language"] == "tr"
        await remote.wait_for_frames(Who(ayse_id), "interpretation", count=25, timeout=20)

    # Hand-over: Mehmet goes on air; Ayşe is off at once, told so; the listeners' one channel
    # slot now carries Mehmet. Never two interpreters at once, never a renegotiation for it.
    offers_before = [listener.offers for listener in turkish]
    reply = await mehmet.command("interpretation.on_air", on=True)
    assert reply["on_air"] is True
    assert on_air_in_database(day["database_url"]) == mehmet_id
    await wait_until(lambda: any(m.get("type") == "interpretation.on_air" and m.get("person") == mehmet_id
                                 for m in ayse.messages), what="Ayşe told she is off air", timeout=10)
    for listener in turkish:
        await listener.wait_for_frames(Who(mehmet_id), "interpretation", count=25, timeout=20)
        heard_from_ayse = listener.frames_from(Who(ayse_id), "interpretation")
        await asyncio.sleep(0.5)
        assert listener.frames_from(Who(ayse_id), "interpretation") <= heard_from_ayse + 3
        assert all(len(told) <= 1 for told in channels_ever_told(listener)), channels_ever_told(listener)
        assert [t["person"] for t in channels_ever_told(listener)[-1]] == [mehmet_id]
    assert [listener.offers for listener in turkish] == offers_before
    for listener in german:
        assert not any(source == "interpretation" for (_person, source) in listener.received)

    # Mehmet goes off air: the Turkish listeners fall back to the floor alone.
    assert (await mehmet.command("interpretation.on_air", on=False))["on_air"] is False
    assert on_air_in_database(day["database_url"]) is None
    for listener in turkish:
        await wait_until(lambda listener=listener: not channels_ever_told(listener)[-1],
                         what="the channel gone from the track map", timeout=10)
        before = listener.frames_from(Who(speaker_id), "audio")
        await listener.wait_for_frames(Who(speaker_id), "audio", count=before + 10, timeout=10)

    for peer in (*listeners, ayse, mehmet, speaker, console):
        await peer.close()
