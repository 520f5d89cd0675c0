"""What the venue page offers for interpretation: the languages, and the sign-language tile on by
default where the organizers say so. (The channels themselves: tests/rooms/media/test_interpretation.py.)"""

from django.test import Client as HttpClient

from agenda import actions
from agenda.models import AgendaItem
from rooms.models import InterpretationChannel, Interpreter
from tests.support.clients import connect
from venue.models import Person, Role


def venue_page(person):
    browser = HttpClient()
    browser.get(f"/p/{person.token}/")
    return browser.get("/venue/").content.decode()


def test_the_sign_language_tile_is_on_by_default_only_where_the_organizers_say_so(conference, moderator, participants):
    item = AgendaItem.objects.get(conference=conference, order=2)
    actions.start(conference.pk, item.pk, by=moderator)
    page = venue_page(participants[0])
    assert 'data-sign-default="off"' in page
    assert '<option value="tr" lang="tr">Türkçe</option>' in page and '<option value="ar" lang="ar">العربية</option>' in page
    # The organizers add a sign-language interpreter to the next item, shown to everyone by default.
    following = AgendaItem.objects.get(conference=conference, order=3)
    signer = Person.objects.create(conference=conference, display_name="Gabi Gebärden", role=Role.INTERPRETER)
    Interpreter.objects.create(item=following, person=signer, language="dgs", shown_by_default=True)
    assert 'data-sign-default="off"' in venue_page(participants[0])  # not this item's
    actions.end(conference.pk, by=moderator)
    actions.start(conference.pk, following.pk, by=moderator)
    assert 'data-sign-default="on"' in venue_page(participants[1])


async def test_only_the_items_interpreters_go_on_air_one_per_language_and_a_new_item_starts_off_air(
    conference, moderator, participants, layer
):
    console = await connect(moderator)
    assert (await console.command("agenda.next"))["type"] == "ack"
    assert (await console.command("agenda.next"))["type"] == "ack"
    item = await AgendaItem.objects.aget(state="live")
    ayse, mehmet, olga = [
        await Person.objects.acreate(conference=conference, display_name=name, role=Role.INTERPRETER)
        for name in ("Ayşe", "Mehmet", "Olga")
    ]
    for person in (ayse, mehmet):
        await Interpreter.objects.acreate(item=item, person=person, language="tr")
    sockets = {name: await connect(person) for name, person in (("ayse", ayse), ("mehmet", mehmet), ("olga", olga))}
    alice = await connect(participants[0])
    assert (await alice.command("interpretation.on_air", on=True))["code"] == "forbidden"
    assert (await sockets["olga"].command("interpretation.on_air", on=True))["code"] == "not_interpreting"
    assert (await sockets["ayse"].command("interpretation.on_air", on="ja"))["code"] == "invalid_field"
    assert not await InterpretationChannel.objects.filter(on_air__isnull=False).aexists()
    assert (await sockets["ayse"].command("interpretation.on_air", on=True))["on_air"] is True
    assert (await sockets["mehmet"].command("interpretation.on_air", on=True))["on_air"] is True
    # Exactly one on air: Mehmet took the channel; Ayşe going off now changes nothing.
    assert (await sockets["ayse"].command("interpretation.on_air", on=False))["on_air"] is False
    assert (await InterpretationChannel.objects.aget(language="tr")).on_air_id == mehmet.pk
    # The next item has interpreters of its own: nobody is on air in it.
    assert (await console.command("agenda.next"))["type"] == "ack"
    assert (await InterpretationChannel.objects.aget(language="tr")).on_air_id is None
    assert (await sockets["mehmet"].command("interpretation.on_air", on=True))["code"] in ("not_interpreting", "not_plenary")
    for client in (console, alice, *sockets.values()):
        await client.close()
