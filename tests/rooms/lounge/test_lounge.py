"""The Stehtisch lounge: walking up to a table, talking there, and the break ending."""

from agenda.models import AgendaItem, Phase
from rooms.models import Room, RoomKind, TableSeat
from tests.support.clients import connect, has


async def test_people_meet_at_a_standing_table_and_its_chat_stays_there(conference, moderator, participants, layer):
    tables = [t async for t in Room.objects.filter(kind=RoomKind.TABLE).order_by("order")]
    lunch = await AgendaItem.objects.aget(phase=Phase.BREAK, order=5)
    console = await connect(moderator)
    alice, bob, carla, dan = [await connect(p) for p in participants[:4]]
    for client in (alice, bob, carla, dan):
        await client.receive_until(has('id="place"'))
    assert (await alice.command("table.join", table=tables[0].pk))["code"] == "lounge_closed"

    await console.command("agenda.start", item=lunch.pk)
    for client in (alice, bob, carla, dan):
        lounge = await client.receive_until(has('id="place"', "place-lounge"))
        assert "Stehtisch 1" in lounge and "Stehtisch 6" in lounge

    assert (await alice.command("table.join", table=tables[0].pk))["table"] == tables[0].pk
    await alice.receive_until(has('id="place"', "place-table", "Stehtisch 1"))
    # Those still in the lounge see who is standing where.
    await carla.receive_until(has('id="lounge-tables"', "Miriam Hoffmann"))
    await bob.command("table.join", table=tables[0].pk)
    await bob.receive_until(has('id="place"', "place-table"))
    await Room.objects.filter(pk=tables[1].pk).aupdate(capacity=1)
    await carla.command("table.join", table=tables[1].pk)
    await carla.receive_until(has('id="place"', "place-table", "Stehtisch 2"))

    # What is said at a table is heard there: not at the next table, not in the lounge, not by
    # the console (which follows the plenary's chat).
    said = await alice.command("chat.send", text="Schön, Sie hier zu treffen!")
    await bob.receive_until(has(f"chat-message-{said['message']}", "Schön, Sie hier zu treffen!"))
    for client, where in ((carla, "at the next table"), (dan, "in the lounge"), (console, "in the console")):
        await client.assert_never(has("Schön, Sie hier zu treffen!"), what=f"a table's chat was shown {where}")

    assert (await alice.command("table.join", table=tables[1].pk))["code"] == "table_full"
    assert (await alice.command("table.join", table=tables[0].pk))["code"] == "already_there"
    assert (await alice.command("table.join", table=999999))["code"] == "not_found"
    assert (await alice.command("table.join", table=(await Room.objects.aget(kind=RoomKind.PLENARY)).pk))["code"] == "not_found"

    assert (await bob.command("table.leave"))["type"] == "ack"
    await bob.receive_until(has('id="place"', "place-lounge"))
    assert (await bob.command("table.leave"))["code"] == "not_at_a_table"

    # The break ends: everyone is back in the plenary, and the tables are empty again.
    await console.command("agenda.end")
    for client in (alice, bob, carla, dan):
        await client.receive_until(has('id="place"', "place-plenary"))
    assert not await TableSeat.objects.aexists()
    for client in (console, alice, bob, carla, dan):
        await client.close()
