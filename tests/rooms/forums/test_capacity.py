"""More people than seats: whoever finds every forum full listens in the plenary and is told so;
the moderator raises a capacity or opens an additional forum with a facilitator chosen on the
spot, seats the rest with one click, and the waiting people move as soon as a seat is theirs."""

from agenda.models import AgendaItem, Phase
from rooms.models import ForumAssignment, Room, RoomKind
from tests.support.clients import connect, has, signed_in_as
from venue.models import Person


async def test_the_unseated_wait_in_the_plenary_until_the_moderator_makes_room(conference, moderator, participants, layer):
    forums = [f async for f in Room.objects.filter(conference=conference, kind=RoomKind.FORUM).order_by("order")]
    # Seven others took every seat: two in the first forum, one in each of the rest.
    for number, forum in enumerate([forums[0], *forums], start=1):
        other = await Person.objects.acreate(conference=conference, display_name=f"Früh {number}")
        await ForumAssignment.objects.acreate(person=other, room=forum)
    await Room.objects.filter(pk=forums[0].pk).aupdate(capacity=2)
    await Room.objects.filter(kind=RoomKind.FORUM).exclude(pk=forums[0].pk).aupdate(capacity=1)
    alice_person, bob_person, carla = participants[:3]
    console = await connect(moderator)
    alice, bob = await connect(alice_person), await connect(bob_person)
    for client in (alice, bob):
        await client.receive_until(has('id="place"'))

    # Before the phase: no additional forum.
    refused = await console.command("forum.open_overflow", facilitator=carla.pk, capacity=5)
    assert refused["code"] == "phase_closed"
    item = await AgendaItem.objects.aget(conference=conference, phase=Phase.FORUMS)
    assert (await console.command("agenda.start", item=item.pk))["type"] == "ack"
    for client in (alice, bob):
        # Their place stays the plenary; the note tells them why and what comes.
        waiting = await client.receive_until(has('id="forum-waiting"', "Sie sind im Plenum und hören zu"))
        assert "Alle 6 Fachforen sind voll (7 von 7 Plätzen belegt)" in waiting

    # Only the moderation changes seats, and only with sound numbers.
    assert (await alice.command("forum.capacity", forum=forums[1].pk, capacity=50))["code"] == "forbidden"
    assert (await alice.command("forum.open_overflow", facilitator=carla.pk, capacity=5))["code"] == "forbidden"
    assert (await console.command("forum.capacity", forum=forums[1].pk, capacity="viele"))["code"] == "invalid_field"
    assert (await console.command("forum.capacity", forum=forums[1].pk, capacity=0))["code"] == "invalid_field"
    assert (await console.command("forum.capacity", forum=999999, capacity=5))["code"] == "not_found"
    assert (await console.command("forum.capacity", forum=forums[0].pk, capacity=1))["code"] == "invalid_field"
    assert (await console.command("forum.open_overflow", facilitator=999999, capacity=5))["code"] == "not_found"
    assert (await console.command("forum.open_overflow", facilitator=forums[0].facilitator_id, capacity=5))["code"] == "invalid_field"
    assert (await console.command("forum.open_overflow", facilitator=carla.pk, capacity=5, name="x" * 121))["code"] == "too_long"
    assert [f.capacity async for f in Room.objects.filter(kind=RoomKind.FORUM).order_by("order")] == [2, 1, 1, 1, 1, 1]

    # One more seat in the second forum: the waiting may choose; Alice takes it.
    assert (await console.command("forum.capacity", forum=forums[1].pk, capacity=2))["capacity"] == 2
    for client in (alice, bob):
        await client.receive_until(has('id="place"', "place-choose"))
    assert (await alice.command("forum.choose", forum=forums[1].pk))["joined"] == forums[1].pk
    await alice.seen_or_receive(has('id="place"', "place-forum", forums[1].name))
    # The last seat is gone: Bob waits in the plenary again.
    await bob.receive_until(has('id="place"', "place-plenary", "Sie sind im Plenum", "8 von 8"))

    # An additional forum, led by Carla, chosen on the spot; one click seats everyone left.
    opened = await console.command("forum.open_overflow", facilitator=carla.pk, capacity=20, name="Zusatzforum Wohnen")
    assert opened["name"] == "Zusatzforum Wohnen"
    overview = await console.seen_or_receive(has('id="capacity-forum"', "Zusatzforum Wohnen"))
    assert 'id="forums-overview"' in overview
    await bob.receive_until(has('id="place"', "place-choose", "Zusatzforum Wohnen"))
    seated = await console.command("forum.assign_rest")
    assert seated["assigned"] >= 1 and seated["unseated"] == 0
    await bob.receive_until(has('id="place"', "place-forum", "Zusatzforum Wohnen"))
    extra = await Room.objects.aget(pk=opened["forum"])
    assert extra.kind == RoomKind.FORUM and extra.facilitator_id == carla.pk and extra.capacity == 20
    assert await ForumAssignment.objects.filter(room=extra, person=bob_person).aexists()
    assert not await ForumAssignment.objects.filter(person=carla).aexists()
    for client in (console, alice, bob):
        await client.close()


def test_the_console_offers_the_capacity_controls(conference, moderator, participants):
    page = signed_in_as(moderator).get("/console/").content.decode()
    assert 'id="forum-capacity"' in page and 'value="forum.open_overflow"' in page and 'id="capacity-forum"' in page
    # Anyone may be asked on the spot to lead the additional forum.
    assert all(f'<option value="{p.pk}">{p.display_name}' in page for p in participants)
