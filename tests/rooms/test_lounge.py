"""The Stehtisch lounge: walking up to a table, talking there, and the break ending."""

import asyncio

from agenda.models import AgendaItem, Phase
from rooms.models import Room, RoomKind, TableSeat
from tests.conftest import connect


def has(*needles):
    return lambda frame: all(needle in frame for needle in needles)


async def test_people_meet_at_a_standing_table_and_its_chat_stays_there(conference, moderator, participants, layer):
    tables = [t async for t in Room.objects.filter(kind=RoomKind.TABLE).order_by("order")]
    lunch = await AgendaItem.objects.aget(phase=Phase.BREAK, order=5)
    console = await connect(moderator)
    alice, bob, carla = [await connect(p) for p in participants[:3]]
    for client in (alice, bob, carla):
        await client.receive_until(has('id="place"'))
    assert (await alice.command("table.join", table=tables[0].pk))["code"] == "lounge_closed"

    await console.command("agenda.start", item=lunch.pk)
    for client in (alice, bob, carla):
        lounge = await client.receive_until(has('id="place"', "place-lounge"))
        assert "Stehtisch 1" in lounge and "Stehtisch 6" in lounge

    assert (await alice.command("table.join", table=tables[0].pk))["table"] == tables[0].pk
    await alice.receive_until(has('id="place"', "place-table", "Stehtisch 1"))
    # Those still in the lounge see who is standing where.
    await carla.receive_until(has('id="lounge-tables"', "Miriam Hoffmann"))
    await bob.command("table.join", table=tables[0].pk)
    await bob.receive_until(has('id="place"', "place-table"))

    said = await alice.command("chat.send", text="Schön, Sie hier zu treffen!")
    await bob.receive_until(has(f"chat-message-{said['message']}", "Schön, Sie hier zu treffen!"))
    await asyncio.sleep(0.3)
    assert not any("Schön, Sie hier zu treffen!" in f for f in carla.frames + console.frames)

    await Room.objects.filter(pk=tables[1].pk).aupdate(capacity=1)
    await carla.command("table.join", table=tables[1].pk)
    assert (await alice.command("table.join", table=tables[1].pk))["code"] == "table_full"
    assert (await alice.command("table.join", table=tables[0].pk))["code"] == "already_there"
    assert (await alice.command("table.join", table=999999))["code"] == "not_found"
    assert (await alice.command("table.join", table=(await Room.objects.aget(kind=RoomKind.PLENARY)).pk))["code"] == "not_found"

    assert (await bob.command("table.leave"))["type"] == "ack"
    await bob.receive_until(has('id="place"', "place-lounge"))
    assert (await bob.command("table.leave"))["code"] == "not_at_a_table"

    # The break ends: everyone is back in the plenary, and the tables are empty again.
    await console.command("agenda.end")
    for client in (alice, bob, carla):
        await client.receive_until(has('id="place"', "place-plenary"))
    assert not await TableSeat.objects.aexists()
    for client in (console, alice, bob, carla):
        await client.close()


async def test_the_plenary_chat_does_not_reach_a_forum(conference, moderator, participants, layer):
    from rooms.models import ForumAssignment

    forum = await Room.objects.filter(kind=RoomKind.FORUM).order_by("order").afirst()
    await ForumAssignment.objects.acreate(person=participants[0], room=forum)
    item = await AgendaItem.objects.aget(phase=Phase.FORUMS)
    console = await connect(moderator)
    alice, bob = await connect(participants[0]), await connect(participants[1])
    await console.command("agenda.start", item=item.pk)
    await alice.receive_until(has('id="place"', "place-forum"))
    await bob.receive_until(has('id="place"', "place-choose"))
    said = await alice.command("chat.send", text="Nur für unser Forum")
    mine = f"chat-message-{said['message']}"
    if not any(mine in f for f in alice.frames):
        await alice.receive_until(has(mine))
    await asyncio.sleep(0.3)
    assert not any("Nur für unser Forum" in f for f in bob.frames + console.frames)
    for client in (console, alice, bob):
        await client.close()
