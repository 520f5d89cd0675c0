"""The venue socket with real WebSocket clients: the moderator runs the day, participants follow."""

import json

from agenda.models import AgendaItem, ItemState
from rooms.models import Connection
from tests.support.clients import connect


def is_error(frame):
    return frame.startswith("{") and json.loads(frame)["type"] == "error"


async def test_a_late_joiner_sees_the_current_state_at_once(conference, moderator, participants, layer):
    console = await connect(moderator)
    first = await console.receive()
    assert 'id="timeline"' in first and "Begrüßung" in first
    assert (await console.command("agenda.next"))["type"] == "ack"
    late = await connect(participants[0])
    frame = await late.receive()
    assert 'id="agenda"' in frame and 'id="now-playing"' in frame
    assert 'aria-current="step"' in frame
    assert '<h1 class="live-title">Begrüßung</h1>' in frame
    place = await late.receive()
    assert 'id="place"' in place and 'place-plenary' in place and 'id="stage"' in place
    await late.close()
    await console.close()


async def test_moderator_advances_and_both_participants_see_the_new_item(conference, moderator, participants, layer):
    console = await connect(moderator)
    alice = await connect(participants[0], "de")
    bob = await connect(participants[1], "en")
    for client in (console, alice, bob):
        await client.receive()  # the current state

    reply = await console.command("agenda.next")
    assert reply["type"] == "ack"
    welcome = await AgendaItem.objects.aget(pk=reply["item"])
    assert welcome.state == ItemState.LIVE

    for client, kicker in ((alice, "Jetzt"), (bob, "Now")):
        frame = await client.receive_until(lambda f: 'id="now-playing"' in f)
        assert '<h1 class="live-title">Begrüßung</h1>' in frame
        assert kicker in frame
        assert 'hx-swap-oob="true"' in frame
        # They are in the plenary: the new item's stage and questions come in the same frame,
        # and nothing else follows (one write per person for one click of "next").
        assert 'id="stage"' in frame and 'id="questions"' in frame and 'id="hands"' not in frame
        await client.assert_never(lambda f: True, since=client.mark(), what="a second write for one click of next")
    frame = await console.seen_or_receive(lambda f: 'id="timeline"' in f)
    assert 'id="now-playing"' in frame and 'id="stage"' in frame and 'id="hands"' in frame

    reply = await console.command("agenda.next")
    for client in (alice, bob):
        frame = await client.receive_until(lambda f: "Integrationspolitik des Landes NRW" in f and "live-title" in f)
        assert "Dr. Joachim Stamp" in frame
    for client in (console, alice, bob):
        await client.close()


async def test_a_participant_may_not_advance_the_agenda(conference, moderator, participants, layer):
    alice = await connect(participants[0])
    await alice.receive()
    for message_type, fields in (("agenda.next", {}), ("agenda.end", {}), ("agenda.start", {"item": 1})):
        reply = await alice.command(message_type, **fields)
        assert reply == {"type": "error", "code": "forbidden", "message": "Das ist in Ihrer Rolle nicht möglich.", "id": reply["id"]}
    assert not await AgendaItem.objects.filter(state=ItemState.LIVE).aexists()
    await alice.close()


async def test_garbage_is_answered_with_errors_and_the_socket_stays_up(conference, moderator, participants, layer):
    console = await connect(moderator)
    await console.receive()
    cases = [
        ("not json at all", "invalid_json"),
        ("[1, 2, 3]", "invalid_message"),
        ('{"no": "type"}', "invalid_message"),
        ('{"type": 7}', "invalid_message"),
        ('{"type": "launch.missiles"}', "unknown_type"),
        ('{"type": "agenda.start"}', "missing_field"),
        ('{"type": "agenda.start", "item": "1; DROP TABLE"}', "invalid_field"),
        ('{"type": "agenda.start", "item": true}', "invalid_field"),
        ('{"type": "agenda.next", "surprise": 1}', "invalid_field"),
        (json.dumps({"type": "ping", "pad": "x" * 20_000}), "message_too_large"),
    ]
    for text, code in cases:
        await console.send_raw(text=text)
        reply = json.loads(await console.receive_until(is_error))
        assert reply["type"] == "error" and reply["code"] == code, (text[:40], reply)
    await console.send_raw(data=b"\x00\x01")
    assert json.loads(await console.receive_until(is_error))["code"] == "binary_not_supported"
    # An illegal transition is an error too, and the connection still serves commands.
    assert (await console.command("agenda.end"))["code"] == "nothing_live"
    assert (await console.command("agenda.start", item="99999"))["code"] == "not_found"
    assert (await console.command("ping"))["type"] == "ack"
    assert (await console.command("agenda.next"))["type"] == "ack"
    await console.close()


async def test_a_socket_without_a_valid_token_is_told_and_closed(conference, layer):
    from channels.testing import WebsocketCommunicator
    from tests.support.clients import ORIGIN_HEADERS
    from venue.asgi import application

    communicator = WebsocketCommunicator(application, "/ws/venue/?token=forged", headers=ORIGIN_HEADERS)
    connected, _ = await communicator.connect()
    assert connected
    reply = json.loads(await communicator.receive_from())
    assert reply["code"] == "not_signed_in"
    assert (await communicator.receive_output())["type"] == "websocket.close"


async def test_a_revoked_person_cannot_connect(conference, participants, layer):
    from django.utils import timezone

    alice = participants[0]
    alice.revoked_at = timezone.now()
    await alice.asave(update_fields=["revoked_at"])
    client = await connect(alice)
    assert json.loads(await client.receive())["code"] == "not_signed_in"


async def test_a_foreign_origin_is_refused(conference, participants, layer):
    from channels.testing import WebsocketCommunicator
    from venue.asgi import application

    communicator = WebsocketCommunicator(
        application, f"/ws/venue/?token={participants[0].token}",
        headers=[(b"origin", b"http://evil.example"), (b"host", b"testserver")],
    )
    connected, _ = await communicator.connect()
    assert not connected


async def test_the_console_sees_who_is_connected(conference, moderator, participants, layer):
    console = await connect(moderator)
    await console.receive()
    clients = [await connect(p) for p in participants[:3]]
    frame = await console.receive_until(lambda f: 'id="presence"' in f and 'data-count="total">4<' in f, timeout=5)
    # Before the first item everyone waits in the plenary.
    assert 'data-room-count="Plenum">3<' in frame
    await console.command("agenda.next")
    await clients[0].close()
    frame = await console.receive_until(lambda f: 'id="presence"' in f and 'data-count="total">3<' in f, timeout=5)
    assert 'data-room-count="Plenum">2<' in frame
    assert await Connection.objects.filter(closed_at=None).acount() == 3
    for client in clients[1:]:
        await client.close()
    await console.close()
    assert await Connection.objects.filter(closed_at=None).acount() == 0
