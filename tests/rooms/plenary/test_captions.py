"""Live captions over real sockets: a captioner types, the pages that switched captions on read it."""

import json

import pytest
from channels.db import database_sync_to_async
from django.test import Client as HttpClient

from agenda.models import AgendaItem
from frontend import documentation
from rooms.models import CaptionLine
from rooms.plenary import captions
from tests.support.clients import connect
from venue.models import Person, Role


def captions_in(frames):
    """The caption messages among `frames`, as (seq, text) in the order they arrived."""
    found = []
    for frame in frames:
        if frame.startswith('{"type": "caption"'):
            message = json.loads(frame)
            found.append((message["seq"], message["text"]))
    return found


def is_caption(frame):
    return frame.startswith('{"type": "caption"')


@pytest.fixture
def captioners(conference):
    return [
        Person.objects.create(conference=conference, display_name=name, role=Role.CAPTIONER)
        for name in ("Schrift Eins", "Schrift Zwei")
    ]


@pytest.fixture
async def hall(conference, moderator, participants, captioners, layer):
    """The console, two captioners, three participants; the minister's talk (a plenary item) live."""
    console = await connect(moderator)
    first, second = [await connect(person) for person in captioners]
    alice = await connect(participants[0])
    bob = await connect(participants[1], "en")
    carla = await connect(participants[2])
    for _ in range(2):
        assert (await console.command("agenda.next"))["type"] == "ack"
    yield console, first, second, alice, bob, carla
    for client in (console, first, second, alice, bob, carla):
        await client.close()


async def test_lines_reach_every_page_with_captions_on_in_order_and_no_other(hall, participants):
    console, first, second, alice, bob, carla = hall
    for client in (alice, bob):
        reply = await client.command("captions.follow", on=True)
        assert reply["captions"] is True and reply["lines"] == []
    said = ["Guten Morgen, meine Damen und Herren.", "Ich freue mich, hier zu sein.", "Integration beginnt vor Ort."]
    for text in said[:2]:
        assert (await first.command("caption.line", text=text))["type"] == "ack"
    # The second captioner takes over by typing; nothing to hand over, no line lost.
    assert (await second.command("caption.line", text=said[2]))["type"] == "ack"
    for client in (alice, bob):
        while len(captions_in(client.frames)) < 3:
            await client.receive_until(is_caption)
        got = captions_in(client.frames)
        assert [text for _seq, text in got] == said
        assert [seq for seq, _text in got] == sorted(seq for seq, _text in got)
    # Carla never switched captions on; the console did not either; Alice switches off again.
    await carla.assert_never(is_caption, what="captions to a page that did not switch them on")
    await console.assert_never(is_caption, what="captions to the console that did not switch them on")
    assert (await alice.command("captions.follow", on=False))["captions"] is False
    mark = alice.mark()
    await first.command("caption.line", text="Nur noch für Bob.")
    await bob.receive_until(lambda f: is_caption(f) and json.loads(f)["text"] == "Nur noch für Bob.")
    await alice.assert_never(is_caption, what="captions after switching them off", since=mark)

    # A page that reloads (a new socket) and switches captions on again has the item's lines at once.
    reloaded = await connect(participants[1], "en")
    reply = await reloaded.command("captions.follow", on=True)
    assert [line["text"] for line in reply["lines"]] == said + ["Nur noch für Bob."]
    await reloaded.close()

    # The lines are the item's transcript; once the organizer publishes it, the documentation shows it.
    item = await AgendaItem.objects.aget(state="live")
    assert await CaptionLine.objects.filter(item=item).acount() == 4
    assert (await console.command("agenda.next"))["type"] == "ack"
    organizer = await Person.objects.select_related("conference").aget(conference_id=item.conference_id, role=Role.ORGANIZER)
    transcript = await database_sync_to_async(captions.transcript)(item.pk)
    assert transcript == said + ["Nur noch für Bob."]
    await database_sync_to_async(captions.publish_transcript)(item.conference_id, item.pk, True, by=organizer)
    context = await database_sync_to_async(documentation.build)(organizer.conference)
    shown = next(i for i in context["items"] if i.pk == item.pk)
    assert shown.transcript == transcript


async def test_only_captioners_write_captions_and_only_during_a_plenary_item(conference, moderator, participants, captioners, layer):
    console = await connect(moderator)
    captioner = await connect(captioners[0])
    alice = await connect(participants[0])
    # Before the day begins nothing is live: there is no item to caption.
    assert (await captioner.command("caption.line", text="Zu früh"))["code"] == "not_plenary"
    assert (await console.command("agenda.next"))["type"] == "ack"
    for client in (alice, console):
        assert (await client.command("caption.line", text="Ich bin kein Schriftdolmetscher"))["code"] == "forbidden"
    refusals = {
        "missing_field": {"text": "   "},
        "too_long": {"text": "x" * 301},
        "invalid_field": {"text": 42},
    }
    for code, fields in refusals.items():
        assert (await captioner.command("caption.line", **fields))["code"] == code, code
    assert (await captioner.command("caption.line", text="Hallo", item=3))["code"] == "invalid_field"
    assert (await alice.command("captions.follow", on="vielleicht"))["code"] == "invalid_field"
    assert (await alice.command("captions.follow"))["code"] == "missing_field"
    assert await CaptionLine.objects.acount() == 0
    # The lunch break is no plenary item: nothing to caption there.
    while (await AgendaItem.objects.aget(state="live")).phase != "break":
        assert (await console.command("agenda.next"))["type"] == "ack"
    assert (await captioner.command("caption.line", text="In der Pause"))["code"] == "not_plenary"
    assert await CaptionLine.objects.acount() == 0
    for client in (console, captioner, alice):
        await client.close()


def test_the_organizer_puts_a_transcript_on_the_documentation_page(conference, captioners):
    item = AgendaItem.objects.get(conference=conference, order=2)
    for text in ("Erste Zeile", "Zweite Zeile"):
        CaptionLine.objects.create(conference=conference, item=item, by=captioners[0], text=text)
    organizer = Person.objects.get(conference=conference, role=Role.ORGANIZER)
    browser = HttpClient()
    browser.get(f"/p/{organizer.token}/")
    page = browser.get("/organizer/").content.decode()
    assert "Put on the documentation page" in page or "Auf die Dokumentationsseite" in page
    assert browser.post(f"/organizer/transcripts/{item.pk}/", {"publish": "1"}).status_code == 302
    assert "Zweite Zeile" in browser.get(f"/documentation/{conference.slug}/").content.decode()
    # A participant may not; an item of nobody's conference is not found.
    assert browser.post("/organizer/transcripts/999999/", {"publish": "0"}).status_code == 404
    someone_else = HttpClient()
    someone_else.get(f"/p/{Person.objects.filter(conference=conference, role=Role.PARTICIPANT).first().token}/")
    assert someone_else.post(f"/organizer/transcripts/{item.pk}/", {"publish": "0"}).status_code == 403
    assert "Zweite Zeile" in browser.get(f"/documentation/{conference.slug}/").content.decode()
    assert browser.post(f"/organizer/transcripts/{item.pk}/", {"publish": "0"}).status_code == 302
    assert "Zweite Zeile" not in browser.get(f"/documentation/{conference.slug}/").content.decode()
