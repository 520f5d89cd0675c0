"""A crowd of sockets connecting at once shares its trips to the database (venue/batching.py),
and each socket still gets its own answer: its own person's frames, or its own refusal."""

import asyncio
import json

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.utils import timezone

from frontend import consumers
from rooms.models import Connection
from tests.support.clients import ORIGIN_HEADERS, Client, connect, signed_in_as
from venue.models import Person


async def first_frames(client):
    """What the socket got up to its `me` frame, or up to its close: (frames, close code)."""
    frames = []
    while True:
        output = await client.communicator.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            return frames, output.get("code")
        frames.append(output.get("text"))
        if frames[-1].startswith('{"type": "me"'):
            return frames, None


async def test_a_crowd_connecting_at_once_shares_trips_and_each_socket_gets_its_own_answer(conference, participants, layer, monkeypatch):
    limit = settings.PLENUM_MAX_SOCKETS_PER_PERSON
    newcomers = [await Person.objects.acreate(conference=conference, display_name=f"Gast {i}") for i in range(6)]
    crowd, alice, gone = [*participants[1:], *newcomers[:5]], participants[0], newcomers[5]
    await Person.objects.filter(pk=gone.pk).aupdate(revoked_at=timezone.now())
    trips = []
    for batch in (consumers.admissions, consumers.arrivals):
        run = batch.run

        def recorded(requests, run=run, name=batch):
            trips.append((name, len(requests)))
            return run(requests)

        monkeypatch.setattr(batch, "run", recorded)

    # Pages opened from the invite link connect with their session cookie instead of a token.
    session = await database_sync_to_async(lambda: signed_in_as(crowd[0]).cookies[settings.SESSION_COOKIE_NAME].value)()

    # Everyone at once: eight people (the first also from her page, by session), alice with two
    # tabs more than she may open, someone whose access was revoked, a forged token and a
    # forged session.
    people = [*crowd, *[alice] * (limit + 2), gone]
    clients = await asyncio.gather(
        *(connect(person) for person in people),
        connect_as("?lang=de", session),
        connect_as("?token=forged-token&lang=de"),
        connect_as("?lang=de", "forged-session-key"),
    )
    answers = await asyncio.gather(*(first_frames(client) for client in clients))
    by_session = answers[len(people)]
    answers = answers[:len(people)] + answers[len(people) + 1:]
    assert by_session[1] is None and json.loads(by_session[0][-1])["person"] == crowd[0].pk

    for person, (frames, closed) in zip(crowd, answers):
        assert closed is None
        me = json.loads(frames[-1])
        assert me["person"] == person.pk, "a socket got someone else's frames"
        assert any('id="agenda"' in frame for frame in frames) and any('id="place"' in frame for frame in frames)
    alices = answers[len(crowd):len(crowd) + limit + 2]
    assert sorted(closed for _frames, closed in alices if closed) == [4429, 4429]
    for frames, closed in alices:
        if closed:
            assert json.loads(frames[-1])["code"] == "too_many_sockets"
        else:
            assert json.loads(frames[-1])["person"] == alice.pk
    for frames, closed in answers[-3:]:  # the revoked person, the forged token and session
        assert closed == 4401 and json.loads(frames[-1])["code"] == "not_signed_in"
    open_rows = await database_sync_to_async(
        lambda: sorted(Connection.objects.filter(closed_at=None).values_list("person_id", flat=True))
    )()
    assert open_rows == sorted([person.pk for person in crowd] + [crowd[0].pk] + [alice.pk] * limit)

    # They shared trips: every socket was asked about, in fewer trips than sockets.
    admitted = [size for name, size in trips if name is consumers.admissions]
    arrived = [size for name, size in trips if name is consumers.arrivals]
    assert sum(admitted) == len(clients)
    assert sum(arrived) == len(crowd) + 1 + limit
    assert len(admitted) < len(clients) and len(arrived) < len(crowd) + 1 + limit, trips

    # And each is a working socket of its own person.
    reply = await clients[0].command("chat.send", text="Hallo aus der Menge")
    assert reply["type"] == "ack"
    for client in clients:
        await client.close()


async def connect_as(query, session_key=None):
    """A socket with this query string (and session cookie), as a page would open it."""
    from venue.asgi import application

    headers = list(ORIGIN_HEADERS)
    if session_key is not None:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    communicator = WebsocketCommunicator(application, f"/ws/venue/{query}", headers=headers)
    connected, _subprotocol = await communicator.connect()
    assert connected
    return Client(communicator)
