"""A venue that stays closed: revoked people lose their open sockets at once, and one person
cannot open sockets or send commands without limit, nor vote twice by joining twice."""

import json

from channels.db import database_sync_to_async
from django.test import Client as Browser

from rooms.models import Connection
from tests.support.clients import connect
from venue import access
from venue.models import Invite, Person, Role


def closed_with(client):
    async def read():
        while True:
            output = await client.communicator.receive_output(timeout=5)
            if output["type"] == "websocket.close":
                return output.get("code")
            client.frames.append(output.get("text"))
    return read()


def errors(client, code):
    return [frame for frame in client.frames if frame and frame.startswith('{"type": "error"') and json.loads(frame)["code"] == code]


async def test_revoking_a_person_closes_each_of_their_sockets_at_once(conference, participants, layer):
    alice, bob = participants[0], participants[1]
    tabs = [await connect(alice) for _ in range(2)]
    other = await connect(bob)
    for tab in (*tabs, other):
        await tab.drain()
    # Before: alice's socket is acknowledged like anyone's.
    assert (await tabs[0].command("hand.raise"))["type"] == "ack"

    assert await database_sync_to_async(access.revoke_person)(alice)

    for tab in tabs:
        assert await closed_with(tab) == 4403
        assert errors(tab, "access_revoked")
        # The client answers the close (a browser does so by itself).
        await tab.close()
    assert (await other.command("ping"))["type"] == "ack"
    assert not await Connection.objects.filter(person=alice, closed_at=None).aexists()
    again = await connect(alice)
    assert json.loads(await again.receive())["code"] == "not_signed_in"
    await other.close()


async def test_revoking_an_invite_link_closes_the_sockets_of_everyone_who_joined_through_it(conference, layer):
    press = await Invite.objects.acreate(conference=conference, label="Presse", role=Role.PARTICIPANT)
    staff = await Invite.objects.acreate(conference=conference, label="Verwaltung", role=Role.PARTICIPANT)
    joined = [await Person.objects.acreate(conference=conference, display_name=f"Presse {i}", invite=press) for i in range(2)]
    kept = await Person.objects.acreate(conference=conference, display_name="Verwaltung", invite=staff)
    sockets = [await connect(person) for person in (*joined, kept)]
    for socket in sockets:
        await socket.drain()

    await database_sync_to_async(access.revoke_invite)(press)

    for socket in sockets[:2]:
        assert await closed_with(socket) == 4403
    assert (await sockets[2].command("chat.send", text="Noch da"))["type"] == "ack"
    await sockets[2].close()


async def test_a_person_opens_a_handful_of_sockets_and_the_next_is_refused_clearly(conference, participants, layer):
    alice = participants[0]
    tabs = [await connect(alice) for _ in range(5)]
    for tab in tabs:
        await tab.drain()
    sixth = await connect(alice)
    assert await closed_with(sixth) == 4429
    assert errors(sixth, "too_many_sockets")
    await tabs[0].close()
    seventh = await connect(alice)
    assert (await seventh.command("ping"))["type"] == "ack"
    for tab in (*tabs[1:], seventh):
        await tab.close()


async def test_hands_go_up_and_down_only_so_often(conference, participants, layer):
    alice = await connect(participants[0])
    replies = [await alice.command("hand.raise" if i % 2 == 0 else "hand.lower") for i in range(12)]
    assert [reply["type"] for reply in replies[:10]] == ["ack"] * 10
    assert [reply.get("code") for reply in replies[10:]] == ["rate_limited"] * 2
    # Another person is not limited by her.
    bob = await connect(participants[1])
    assert (await bob.command("hand.raise"))["type"] == "ack"
    await alice.close()
    await bob.close()


async def test_every_state_changing_command_counts_against_a_limit_across_a_persons_sockets(conference, participants, layer):
    alice = participants[0]
    tabs = [await connect(alice) for _ in range(2)]
    for tab in tabs:
        await tab.drain()
    # Refused or not, each command counts; from two tabs together.
    codes = [(await tabs[i % 2].command("table.leave")).get("code") for i in range(62)]
    assert codes[:60] == ["not_at_a_table"] * 60
    assert codes[60:] == ["rate_limited"] * 2
    # A ping changes nothing and is never limited.
    assert (await tabs[0].command("ping"))["type"] == "ack"
    for tab in tabs:
        await tab.close()


def test_joining_again_through_the_same_link_in_the_same_browser_is_the_same_person(conference):
    invite = Invite.objects.create(conference=conference, label="Presse", role=Role.PARTICIPANT)
    browser = Browser()
    for attempt in range(3):
        response = browser.post(f"/join/{invite.token}/", {"display_name": f"Nina {attempt}", "organization": ""})
        assert response.status_code == 302
    assert list(Person.objects.filter(invite=invite).values_list("display_name", flat=True)) == ["Nina 0"]
    # Another browser is another person.
    Browser().post(f"/join/{invite.token}/", {"display_name": "Olaf", "organization": ""})
    assert Person.objects.filter(invite=invite).count() == 2


