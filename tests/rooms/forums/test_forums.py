"""The Fachforen over real sockets: the phase moves everyone, boards change live, results come back."""

import asyncio
import struct
import zlib

import pytest
from django.test import Client

from agenda.models import AgendaItem, Phase
from rooms.models import BoardEntry, ForumAssignment, ForumSettings, ResultVersion, Room, RoomKind, StageSeat, Upload
from tests.support.clients import connect, has


def png_bytes(width=2, height=2):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def forums_of(conference):
    return list(Room.objects.filter(conference=conference, kind=RoomKind.FORUM).order_by("order"))


def forum_item(conference):
    return AgendaItem.objects.get(conference=conference, phase=Phase.FORUMS)


@pytest.fixture
def afternoon(conference):
    forums = forums_of(conference)
    return {
        "forums": forums,
        "facilitator": forums[0].facilitator,
        "item": forum_item(conference),
    }


async def enter(client):
    """Read until the socket has been shown its place; returns that frame."""
    return await client.receive_until(has('id="place"'))


async def test_moderator_starts_forum_phase_moves_everyone_to_their_forum(afternoon, moderator, participants, layer):
    forums = afternoon["forums"]
    console = await connect(moderator)
    people = [await connect(p) for p in participants]
    for client in people:
        assert "place-" in await enter(client)
    # Two choose in advance, the moderator seats the rest.
    assert (await people[0].command("forum.choose", forum=[forums[2].pk, forums[3].pk]))["joined"] is None
    assert (await people[1].command("forum.choose", forum=forums[2].pk))["type"] == "ack"
    seated = await console.command("forum.assign_rest")
    assert seated["unseated"] == 0 and seated["assigned"] >= 4
    assigned = {a.person_id: a.room_id async for a in ForumAssignment.objects.all()}
    assert assigned[participants[0].pk] == forums[2].pk and assigned[participants[1].pk] == forums[2].pk

    assert (await console.command("agenda.start", item=afternoon["item"].pk))["type"] == "ack"
    for person, client in zip(participants, people):
        place = await client.receive_until(has('id="place"', "place-forum"))
        room = next(f for f in forums if f.pk == assigned[person.pk])
        assert room.name in place and 'id="board"' in place
    presence = await console.receive_until(has('id="presence"', forums[2].name), timeout=5)
    assert f'data-room-count="{forums[2].name}">2<' in presence
    for client in [console, *people]:
        await client.close()


async def test_the_forums_opening_while_someone_joins_is_not_undone_by_their_join(afternoon, moderator, participants, layer, monkeypatch):
    # Alice's page connects; her join has read the plenary as her place when the moderator opens
    # the forums. The move to her forum reaches her socket before the join shows her place: she
    # must end up in her forum, not in the plenary her join had read.
    from frontend.consumers import VenueConsumer

    forum = afternoon["forums"][0]
    await ForumAssignment.objects.acreate(person=participants[0], room=forum)
    console = await connect(moderator)
    first_frame, placed, gate = asyncio.Event(), asyncio.Event(), asyncio.Event()
    send, control = VenueConsumer.send, VenueConsumer.control

    async def held_send(self, text_data=None, bytes_data=None, close=False):
        # Alice's snapshot waits (her join has read the state) until the move has reached her.
        if self.person is not None and self.person.pk == participants[0].pk and not first_frame.is_set():
            first_frame.set()
            await gate.wait()
        await send(self, text_data=text_data, bytes_data=bytes_data, close=close)

    async def noted_control(self, payload):
        await control(self, payload)
        if payload.get("kind") == "placement" and self.person.pk == participants[0].pk:
            placed.set()

    monkeypatch.setattr(VenueConsumer, "send", held_send)
    monkeypatch.setattr(VenueConsumer, "control", noted_control)
    joining = asyncio.ensure_future(connect(participants[0]))
    await asyncio.wait_for(first_frame.wait(), 5)
    assert (await console.command("agenda.start", item=afternoon["item"].pk))["type"] == "ack"
    await asyncio.wait_for(placed.wait(), 5)
    gate.set()
    alice = await asyncio.wait_for(joining, 5)
    await alice.receive_until(has('id="place"', "place-forum", forum.name))
    await alice.assert_never(has('id="place"', "place-plenary"), what="the join's older place undid the move")
    for client in (console, alice):
        await client.close()


async def test_a_participant_without_a_forum_chooses_one_when_the_phase_opens(afternoon, moderator, participants, layer):
    forums = afternoon["forums"]
    console = await connect(moderator)
    alice = await connect(participants[0])
    await enter(alice)
    await console.command("agenda.start", item=afternoon["item"].pk)
    choose = await alice.receive_until(has('id="place"', "place-choose"))
    assert all(f.name in choose for f in forums)
    assert (await alice.command("forum.choose", forum=999999))["code"] == "not_found"
    assert (await alice.command("forum.choose", forum="abc"))["code"] == "invalid_field"
    reply = await alice.command("forum.choose", forum=forums[4].pk)
    assert reply["joined"] == forums[4].pk
    await alice.receive_until(has('id="place"', "place-forum", forums[4].name))
    # A full forum refuses; switching needs the moderator's permission and a free seat.
    bob = await connect(participants[1])
    await enter(bob)
    await Room.objects.filter(pk=forums[4].pk).aupdate(capacity=1)
    assert (await bob.command("forum.choose", forum=forums[4].pk))["code"] == "forum_full"
    assert (await alice.command("forum.switch", forum=forums[5].pk))["code"] == "switching_not_allowed"
    await console.command("forum.switching", allowed="true")
    assert (await alice.command("forum.switch", forum=forums[5].pk))["forum"] == forums[5].pk
    await alice.receive_until(has('id="place"', forums[5].name))
    assert (await bob.command("forum.switch", forum=forums[5].pk))["forum"] == forums[5].pk
    assert (await alice.command("forum.switch", forum=forums[4].pk))["forum"] == forums[4].pk
    assert (await bob.command("forum.switch", forum=forums[4].pk))["code"] == "forum_full"
    assert (await bob.command("forum.assign_rest"))["code"] == "forbidden"
    for client in (console, alice, bob):
        await client.close()


async def test_switching_outside_the_forum_phase_is_refused(afternoon, participants, layer):
    alice = await connect(participants[0])
    await enter(alice)
    assert (await alice.command("forum.switch", forum=afternoon["forums"][0].pk))["code"] == "phase_closed"
    assert not await ForumAssignment.objects.aexists()
    await alice.close()


@pytest.fixture
async def two_forums(afternoon, moderator, participants, layer):
    """Forums 1 and 2 in session: Alice and Bob in the first with its facilitator, Carla in the
    second, Dan still choosing one, the moderator at the console."""
    first, second = afternoon["forums"][:2]
    for person, forum in ((participants[0], first), (participants[1], first), (participants[2], second)):
        await ForumAssignment.objects.acreate(person=person, room=forum)
    console = await connect(moderator)
    lead = await connect(afternoon["facilitator"])
    alice, bob, carla, dan = [await connect(p) for p in participants[:4]]
    for client in (lead, alice, bob, carla, dan):
        await enter(client)
    await console.command("agenda.start", item=afternoon["item"].pk)
    for client, forum in ((lead, first), (alice, first), (bob, first), (carla, second)):
        await client.receive_until(has('id="place"', "place-forum", forum.name))
    await dan.receive_until(has('id="place"', "place-choose"))
    yield first, console, lead, alice, bob, carla, dan
    for client in (console, lead, alice, bob, carla, dan):
        await client.close()


async def test_a_forums_chat_stays_in_the_forum_and_the_plenarys_stays_out(two_forums):
    first, console, lead, alice, bob, carla, dan = two_forums
    said = await alice.command("chat.send", text="Nur für unser Forum")
    await bob.receive_until(has(f"chat-message-{said['message']}", "Nur für unser Forum"))
    for client, where in ((carla, "in another forum"), (dan, "to someone still choosing"), (console, "in the console")):
        await client.assert_never(has("Nur für unser Forum"), what=f"a forum's chat was shown {where}")

    # The console chats in the plenary: the forums do not hear it.
    said = await console.command("chat.send", text="Aus dem Plenum")
    await console.seen_or_receive(has(f"chat-message-{said['message']}", "Aus dem Plenum"))
    for client in (alice, bob, carla):
        await client.assert_never(has("Aus dem Plenum"), what="the plenary's chat was shown in a forum")


async def test_members_of_two_forums_reconnecting_one_after_the_other_each_land_in_their_own(two_forums, participants, afternoon):
    # A connecting participant first waits in the place the previous one went to (in a storm,
    # everybody's): Carla, reconnecting right after Alice, must still land in her own forum,
    # hear it, and hear nothing of Alice's.
    first, console, lead, alice, bob, carla, dan = two_forums
    second = afternoon["forums"][1]
    await alice.close()
    alice = await connect(participants[0])
    assert first.name in await enter(alice)
    await carla.close()
    carla = await connect(participants[2])
    place = await enter(carla)
    assert "place-forum" in place and second.name in place and first.name not in place
    said = await alice.command("chat.send", text="Nur im ersten Forum")
    await bob.receive_until(has(f"chat-message-{said['message']}", "Nur im ersten Forum"))
    await carla.assert_never(has("Nur im ersten Forum"), what="the forum Carla was guessed into was heard")
    said = await carla.command("chat.send", text="Nur im zweiten Forum")
    await carla.seen_or_receive(has(f"chat-message-{said['message']}", "Nur im zweiten Forum"))
    await alice.assert_never(has("Nur im zweiten Forum"), what="another forum's chat was heard")
    for client in (alice, carla):
        await client.close()


async def test_a_forums_board_is_shown_in_that_forum_only(two_forums):
    first, console, lead, alice, bob, carla, dan = two_forums
    assert (await lead.command("board.add", forum=first.pk, section="finding", text="Nur in Forum 1"))["type"] == "ack"
    await alice.receive_until(has('id="board"', "Nur in Forum 1"))
    # The console sees every board, in its overview.
    await console.seen_or_receive(has('id="forums-overview"', "Nur in Forum 1"))
    for client, where in ((carla, "in another forum"), (dan, "to someone still choosing")):
        await client.assert_never(has("Nur in Forum 1"), what=f"a forum's board was shown {where}")


@pytest.fixture
async def forum_one(afternoon, moderator, participants, layer):
    """Forum 1 in session: its facilitator and two participants in it, the moderator at the console."""
    forum = afternoon["forums"][0]
    for person in participants[:2]:
        await ForumAssignment.objects.acreate(person=person, room=forum)
    console = await connect(moderator)
    lead = await connect(afternoon["facilitator"])
    alice = await connect(participants[0])
    bob = await connect(participants[1])
    for client in (lead, alice, bob):
        await enter(client)
    await console.command("agenda.start", item=afternoon["item"].pk)
    for client in (lead, alice, bob):
        await client.receive_until(has('id="place"', "place-forum", forum.name))
    yield forum, console, lead, alice, bob
    for client in (console, lead, alice, bob):
        await client.close()


async def test_the_facilitator_writes_findings_and_members_see_them_live(forum_one, participants):
    forum, console, lead, alice, bob = forum_one
    reply = await lead.command("board.add", forum=forum.pk, section="finding", text="Sprache ist der Schlüssel")
    assert reply["version"] == 1
    board = await alice.receive_until(has('id="board"', "Sprache ist der Schlüssel"))
    assert 'data-section="finding"' in board
    overview = await console.receive_until(has('id="forums-overview"', "Sprache ist der Schlüssel"))
    assert "forum-table" in overview
    # Members comment and +1; they may not write on the board.
    assert (await alice.command("board.add", forum=forum.pk, section="finding", text="Ich auch"))["code"] == "forbidden"
    assert (await alice.command("board.plus_one", entry=reply["entry"]))["type"] == "ack"
    assert (await alice.command("board.plus_one", entry=reply["entry"]))["code"] == "already_voted"
    await bob.command("board.comment", entry=reply["entry"], text="Auch für Eltern!")
    await alice.receive_until(has('id="board"', "Auch für Eltern!", "+1"))
    # The facilitator names Bob co-writer; now he writes too.
    assert (await alice.command("board.writer", forum=forum.pk, person=participants[1].pk))["code"] == "forbidden"
    await lead.command("board.writer", forum=forum.pk, person=participants[1].pk)
    assert (await bob.command("board.add", forum=forum.pk, section="proposal", text="Sprachcafés in jeder Kommune"))["type"] == "ack"
    # Another forum's board is not Bob's to write or comment on (a forged id changes nothing).
    other = (await Room.objects.filter(kind=RoomKind.FORUM).order_by("order").alast())
    assert (await bob.command("board.add", forum=other.pk, section="finding", text="x"))["code"] == "forbidden"
    assert (await bob.command("board.add", forum=424242, section="finding", text="x"))["code"] == "not_found"
    assert (await bob.command("board.add", forum=forum.pk, section="gossip", text="x"))["code"] == "invalid_field"
    assert await BoardEntry.objects.acount() == 2


async def test_two_writers_editing_one_item_at_once_do_not_overwrite_each_other_silently(forum_one, participants):
    forum, console, lead, alice, bob = forum_one
    await lead.command("board.writer", forum=forum.pk, person=participants[1].pk)
    entry = (await lead.command("board.add", forum=forum.pk, section="question", text="Wer finanziert?"))["entry"]
    first, second = await asyncio.gather(
        lead.command("board.edit", entry=entry, version=1, text="Wer finanziert die Sprachkurse?"),
        bob.command("board.edit", entry=entry, version=1, text="Wer bezahlt?"),
    )
    replies = sorted([first, second], key=lambda r: r["type"])
    assert replies[0]["type"] == "ack" and replies[0]["version"] == 2
    assert replies[1]["code"] == "conflict" and "inzwischen geändert" in replies[1]["message"]
    stored = await BoardEntry.objects.aget(pk=entry)
    assert stored.version == 2 and stored.text in ("Wer finanziert die Sprachkurse?", "Wer bezahlt?")
    # The loser retries on the current version and wins this time.
    assert (await bob.command("board.edit", entry=entry, version=2, text="Wer bezahlt was?"))["version"] == 3
    assert (await lead.command("board.remove", entry=entry, version=2))["code"] == "conflict"
    await lead.command("board.remove", entry=entry, version=3)
    await alice.receive_until(lambda f: 'id="board"' in f and "Wer bezahlt was?" not in f)


async def test_moving_items_reorders_a_section(forum_one):
    forum, console, lead, alice, bob = forum_one
    ids = [(await lead.command("board.add", forum=forum.pk, section="proposal", text=t))["entry"] for t in ("A", "B", "C")]
    await lead.command("board.move", entry=ids[2], direction="up")
    order = [e.text async for e in BoardEntry.objects.filter(section="proposal").order_by("position")]
    assert order == ["A", "C", "B"]
    assert (await lead.command("board.move", entry=ids[0], direction="up"))["code"] == "invalid_field"


async def test_a_reconnecting_member_lands_back_in_the_forum_with_the_current_board(forum_one, participants):
    forum, console, lead, alice, bob = forum_one
    await lead.command("board.add", forum=forum.pk, section="finding", text="Vor dem Neuladen geschrieben")
    await alice.close()
    again = await connect(participants[0])
    place = await enter(again)
    assert "place-forum" in place and forum.name in place and "Vor dem Neuladen geschrieben" in place
    await again.close()


async def test_ending_the_phase_freezes_results_and_everyone_returns_to_the_plenary(forum_one, afternoon):
    forum, console, lead, alice, bob = forum_one
    await lead.command("board.add", forum=forum.pk, section="finding", text="Vielfalt als Stärke")
    await lead.command("board.add", forum=forum.pk, section="proposal", text="Integrationslots an Schulen")
    assert (await console.command("results.present", forum=forum.pk))["code"] == "no_results"
    await console.command("agenda.next")
    for client in (lead, alice, bob):
        await client.receive_until(has('id="place"', "place-plenary"))
    versions = [v async for v in ResultVersion.objects.filter(room=forum)]
    assert len(versions) == 1 and versions[0].number == 1
    assert versions[0].content["sections"][0]["entries"] == ["Vielfalt als Stärke"]
    assert await ResultVersion.objects.acount() == len(afternoon["forums"])
    # Members can no longer comment; the facilitator may still correct until it is presented.
    entry = await BoardEntry.objects.aget(text="Vielfalt als Stärke")
    assert (await alice.command("board.comment", entry=entry.pk, text="zu spät"))["code"] == "phase_closed"
    assert (await lead.command("board.edit", entry=entry.pk, version=1, text="Vielfalt ist eine Stärke"))["type"] == "ack"
    assert await ResultVersion.objects.filter(room=forum).acount() == 2

    # Presenting: forum 1 on stage with its facilitator, then forum 2, then back.
    step = await console.command("results.step", direction="next")
    assert step["forum"] == forum.pk
    for client in (alice, bob):
        stage = await client.receive_until(has('id="stage"', "results-slide", forum.name))
        assert "Vielfalt ist eine Stärke" in stage and "Integrationslots an Schulen" in stage
        assert f'data-person="{forum.facilitator_id}"' in stage
    assert (await lead.command("board.edit", entry=entry.pk, version=2, text="nachträglich"))["code"] == "board_closed"
    second = afternoon["forums"][1]
    assert (await console.command("results.step", direction="next"))["forum"] == second.pk
    await alice.receive_until(has('id="stage"', "results-slide", second.name))
    assert not await StageSeat.objects.filter(person_id=forum.facilitator_id).aexists()
    assert await StageSeat.objects.filter(person_id=second.facilitator_id).aexists()
    assert (await console.command("results.step", direction="previous"))["forum"] == forum.pk
    assert (await alice.command("results.step", direction="next"))["code"] == "forbidden"


async def test_uploads_are_checked_by_content_and_served_only_to_those_allowed(forum_one, participants, conference):
    forum, console, lead, alice, bob = forum_one
    facilitator = Client()
    await asyncio.to_thread(facilitator.get, f"/p/{forum.facilitator.token}/")
    url = f"/forums/{forum.pk}/uploads/"

    from django.core.files.uploadedfile import SimpleUploadedFile

    html = SimpleUploadedFile("recording.png", b"<html><script>alert(1)</script></html>", content_type="image/png")
    refused = await asyncio.to_thread(facilitator.post, url, {"title": "Fake", "file": html})
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_file"
    good = SimpleUploadedFile("x.html", png_bytes(), content_type="text/html")
    accepted = await asyncio.to_thread(facilitator.post, url, {"title": "Graphic Recording Forum 1", "file": good})
    assert accepted.status_code == 201 and accepted.json()["kind"] == "png"
    upload = await Upload.objects.aget()
    assert upload.file.name.endswith(".png") and "x.html" not in upload.file.name
    board = await alice.receive_until(has('id="board"', "Graphic Recording Forum 1"))
    assert f'/uploads/{upload.pk}/' in board

    member = Client()
    await asyncio.to_thread(member.get, f"/p/{participants[0].token}/")
    served = await asyncio.to_thread(member.get, f"/uploads/{upload.pk}/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff" and "sandbox" in served["Content-Security-Policy"]
    assert b"".join(served.streaming_content).startswith(b"\x89PNG")

    outsider = Client()
    await asyncio.to_thread(outsider.get, f"/p/{participants[3].token}/")
    assert (await asyncio.to_thread(outsider.get, f"/uploads/{upload.pk}/")).status_code == 404
    mallory = await asyncio.to_thread(outsider.post, url, {"title": "x", "file": SimpleUploadedFile("a.png", png_bytes())})
    assert mallory.status_code == 403
    too_big = SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 1))
    assert (await asyncio.to_thread(facilitator.post, url, {"title": "big", "file": too_big})).json()["code"] == "file_too_large"
    assert await Upload.objects.acount() == 1


async def test_ten_minutes_left_and_extending_the_phase(forum_one):
    forum, console, lead, alice, bob = forum_one
    reply = await console.command("forum.tell", text="Noch 10 Minuten!")
    assert reply["forums"] == 6
    await alice.receive_until(has("#announcements", "Noch 10 Minuten!"))
    extended = await console.command("forum.extend", minutes=10)
    settings = await ForumSettings.objects.aget()
    assert settings.ends_at.isoformat() == extended["ends_at"]
    await alice.receive_until(has('id="board"'))
    assert (await alice.command("forum.extend", minutes=10))["code"] == "forbidden"


async def test_a_forum_keeps_its_own_hand_queue_for_its_facilitator(forum_one, participants):
    forum, console, lead, alice, bob = forum_one
    assert (await alice.command("hand.raise"))["hand"] is True
    queue = await lead.receive_until(has('id="forum-hands"', "Miriam Hoffmann"))
    assert 'value="hand.dismiss"' in queue
    # The plenary's queue in the console stays empty: this hand is the forum's.
    await console.assert_never(has('id="hands"', "Miriam Hoffmann"), what="a forum's hand in the plenary's queue")
    assert (await bob.command("hand.dismiss", person=participants[0].pk))["code"] == "forbidden"
    assert (await lead.command("hand.dismiss", person=participants[0].pk))["type"] == "ack"
    await alice.receive_until(lambda f: 'id="forum-hands"' in f and "Miriam Hoffmann" not in f)


async def test_the_moderator_moves_one_person_to_another_forum(forum_one, afternoon, participants):
    forum, console, lead, alice, bob = forum_one
    target = afternoon["forums"][3]
    assert (await console.command("forum.move", person=participants[1].pk, forum=target.pk))["forum"] == target.pk
    await bob.receive_until(has('id="place"', target.name))
    assert (await alice.command("forum.move", person=participants[1].pk, forum=forum.pk))["code"] == "forbidden"
    await Room.objects.filter(pk=forum.pk).aupdate(capacity=1)
    assert (await console.command("forum.move", person=participants[1].pk, forum=forum.pk))["code"] == "forum_full"


async def test_an_upload_is_refused_before_its_body_is_read_and_huge_images_are_refused(forum_one, participants, moderator):
    forum, console, lead, alice, bob = forum_one
    url = f"/forums/{forum.pk}/uploads/"
    outsider = Client()
    await asyncio.to_thread(outsider.get, f"/p/{participants[3].token}/")
    # A body that does not even parse: who may not upload hears so, whatever they send.
    garbage = await asyncio.to_thread(
        outsider.post, url, data=b"--x\r\nnot a part", content_type="multipart/form-data; boundary=x"
    )
    assert garbage.status_code == 403 and garbage.json()["code"] == "forbidden"
    participant_slide = await asyncio.to_thread(
        outsider.post, "/console/slide/", data=b"--x\r\nnot a part", content_type="multipart/form-data; boundary=x"
    )
    assert participant_slide.status_code == 403

    from django.core.files.uploadedfile import SimpleUploadedFile

    facilitator = Client()
    await asyncio.to_thread(facilitator.get, f"/p/{forum.facilitator.token}/")
    # 36 megapixels in a few kilobytes; and a strip 20,000 pixels long.
    for width, height in ((6000, 6000), (20000, 10)):
        huge = SimpleUploadedFile("huge.png", png_bytes(width, height))
        refused = await asyncio.to_thread(facilitator.post, url, {"title": "Riesig", "file": huge})
        assert refused.status_code == 400 and refused.json()["code"] == "image_too_large", refused.content
        assert "Bild ist zu groß" in refused.json()["message"]  # the code's message, in the page's language
    moderation = Client()
    await asyncio.to_thread(moderation.get, f"/p/{moderator.token}/")
    slide = await asyncio.to_thread(moderation.post, "/console/slide/", {"file": SimpleUploadedFile("s.png", png_bytes(6000, 6000))})
    assert slide.json()["code"] == "image_too_large"
    assert not await Upload.objects.aexists()


async def test_refusals_give_away_neither_names_nor_whose_hand_is_up(forum_one, participants):
    forum, console, lead, alice, bob = forum_one
    stranger = participants[3]  # not in this forum
    assert (await alice.command("hand.raise"))["type"] == "ack"
    # A participant is refused alike for a raised hand, a lowered one, and nobody.
    for target in (participants[0].pk, participants[2].pk, 999_999):
        assert (await bob.command("hand.dismiss", person=target))["code"] == "forbidden"
    # The facilitator: one answer for a hand that is down and for a person who does not exist.
    for target in (stranger.pk, 999_999):
        reply = await lead.command("hand.dismiss", person=target)
        assert reply["code"] == "hand_not_raised"
    # Naming a co-writer: no name of anyone outside the forum, no word on who exists.
    replies = [await lead.command("board.writer", forum=forum.pk, person=target) for target in (stranger.pk, 999_999)]
    assert [reply["code"] for reply in replies] == ["not_a_member", "not_a_member"]
    assert replies[0]["message"] == replies[1]["message"]
    assert stranger.display_name not in replies[0]["message"]
