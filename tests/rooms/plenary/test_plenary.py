"""The morning in the plenary over real sockets: questions, votes, stage, hands, chat, reactions, polls."""

import asyncio
import json

import pytest

from agenda.models import AgendaItem, QuestionMode
from rooms.models import (
    ChatMessage, Hand, Poll, PollVote, Question, QuestionState, ReactionTally, StageDisplay, StageSeat,
)
from tests.support.clients import connect, has
from venue.models import Person, Role


async def start_day(console, items=1):
    for _ in range(items):
        reply = await console.command("agenda.next")
        assert reply["type"] == "ack", reply


@pytest.fixture
async def hall(conference, moderator, participants, layer):
    """The moderator's console and two participants, all connected, the minister's talk live."""
    console = await connect(moderator)
    alice = await connect(participants[0])
    bob = await connect(participants[1], "en")
    await start_day(console, 2)
    yield console, alice, bob
    for client in (console, alice, bob):
        await client.close()


async def test_a_question_is_asked_upvoted_answered_and_shown_on_the_stage(hall, participants):
    console, alice, bob = hall
    reply = await alice.command("question.ask", text="Wie wird das KIM langfristig finanziert?")
    assert reply["type"] == "ack" and reply["state"] == "visible"
    question = await Question.objects.select_related("item").aget(pk=reply["question"])
    assert question.item.title.startswith("Integrationspolitik")

    frame = await bob.receive_until(has('id="questions"', "Wie wird das KIM langfristig finanziert?"))
    assert "Miriam Hoffmann" in frame

    assert (await bob.command("question.vote", question=question.pk))["votes"] == 1
    twice = await bob.command("question.vote", question=question.pk)
    assert twice["code"] == "already_voted"
    # From another page of his: still one person, one vote.
    other_tab = await connect(participants[1])
    assert (await other_tab.command("question.vote", question=question.pk))["code"] == "already_voted"
    await other_tab.close()
    assert (await Question.objects.aget(pk=question.pk)).votes == 1

    assert (await console.command("question.answering", question=question.pk))["state"] == "answering"
    for client in (alice, bob):
        frame = await client.receive_until(has('id="stage"', 'class="stage-question"'))
        assert "Wie wird das KIM langfristig finanziert?" in frame
    assert (await StageDisplay.objects.aget()).question_id == question.pk

    await console.command("question.answered", question=question.pk)
    frame = await alice.receive_until(lambda f: 'id="stage"' in f and "stage-question" not in f)
    assert "Integrationspolitik" in frame
    assert (await Question.objects.aget(pk=question.pk)).state == QuestionState.ANSWERED


async def test_anonymous_questions_hide_the_name_from_the_audience_only(hall):
    console, alice, bob = hall
    question = (await alice.command("question.ask", text="Eine heikle Frage", anonymous=True))["question"]
    seen_by_bob = await bob.receive_until(has("Eine heikle Frage", 'id="questions"'))
    assert "Anonymous" in seen_by_bob
    seen_by_console = await console.receive_until(has("Eine heikle Frage", 'id="questions"'))
    assert "Miriam Hoffmann" in seen_by_console
    # On the stage too, the console sees who asked and the audience does not.
    await console.command("question.answering", question=question)
    on_stage = await console.seen_or_receive(has('id="stage"', 'class="stage-question"', "Eine heikle Frage"))
    assert "Miriam Hoffmann" in on_stage
    await bob.receive_until(has('id="stage"', 'class="stage-question"', "Eine heikle Frage"))
    # Nothing Bob was sent names her: not the list, not the stage, nothing else.
    await bob.assert_never(has("Miriam Hoffmann"), what="the anonymous asker was named to the audience")


async def test_premoderated_questions_wait_for_approval(hall, conference):
    console, alice, bob = hall
    await AgendaItem.objects.filter(state="live").aupdate(question_mode=QuestionMode.PREMODERATED)
    reply = await alice.command("question.ask", text="Bitte erst prüfen")
    assert reply["state"] == "pending"
    pending = await console.receive_until(has("Bitte erst prüfen", "Warten auf Freigabe"))
    assert 'value="question.approve"' in pending
    # Participants do not see a pending question.
    await bob.assert_never(has("Bitte erst prüfen"), what="a question awaiting approval was shown to the audience")
    vote = await bob.command("question.vote", question=reply["question"])
    assert vote["code"] == "not_votable"
    await console.command("question.approve", question=reply["question"])
    await bob.receive_until(has("Bitte erst prüfen", 'id="questions"'))


async def test_duplicates_are_merged_and_their_votes_counted_once(hall, participants):
    console, alice, bob = hall
    first = (await alice.command("question.ask", text="Gibt es Sprachkurse für Eltern?"))["question"]
    second = (await bob.command("question.ask", text="Sprachkurse für Eltern – wo?"))["question"]
    await bob.command("question.vote", question=first)
    await alice.command("question.vote", question=second)
    await bob.command("question.vote", question=second)
    keeper = await console.command("question.merge", question=second, into=first)
    # Bob voted for both: his vote counts once.
    assert keeper["votes"] == 2
    merged = await Question.objects.aget(pk=second)
    assert merged.state == QuestionState.MERGED and merged.merged_into_id == first
    assert await alice.command("question.merge", question=first, into=second) == {
        "type": "error", "code": "forbidden", "message": "Das ist in Ihrer Rolle nicht möglich.", "id": alice._next_id,
    }


async def test_question_refusals_change_nothing(hall, conference, moderator):
    console, alice, bob = hall
    assert (await alice.command("question.ask", text="x" * 501))["code"] == "too_long"
    assert (await alice.command("question.ask", text="   "))["code"] == "missing_field"
    assert (await alice.command("question.vote", question=999999))["code"] == "not_found"
    assert (await alice.command("question.answering", question=1))["code"] == "forbidden"
    await alice.command("question.ask", text="Erste Frage")
    assert (await alice.command("question.ask", text="Gleich noch eine"))["code"] == "rate_limited"
    # No question to a closed item: after the talk ends, nothing is live.
    await console.command("agenda.end")
    assert (await bob.command("question.ask", text="Zu spät?"))["code"] == "questions_closed"
    assert await Question.objects.acount() == 1


async def test_hands_go_up_in_order_and_the_moderator_brings_someone_on_stage(hall, participants):
    console, alice, bob = hall
    # Bob's hand is stored before Alice's is sent: his acknowledgement comes first.
    assert (await bob.command("hand.raise"))["hand"] is True
    await alice.command("hand.raise")
    assert (await alice.command("hand.raise"))["code"] == "hand_already_raised"
    queue = await console.receive_until(has('id="hands"', "Miriam Hoffmann", "Yusuf Demir"))
    assert queue.index("Yusuf Demir") < queue.index("Miriam Hoffmann")
    assert (await alice.command("media.stage", person=participants[1].pk))["code"] == "forbidden"

    assert (await console.command("media.stage", person=participants[1].pk))["type"] == "ack"
    frame = await alice.receive_until(has('id="stage"', 'data-person="%d"' % participants[1].pk))
    assert "Yusuf Demir" in frame
    assert await StageSeat.objects.filter(person=participants[1]).aexists()
    assert not await Hand.objects.filter(person=participants[1], lowered_at=None).aexists()

    await console.command("media.unstage", person=participants[1].pk)
    await alice.receive_until(lambda f: 'id="stage"' in f and 'data-person="%d"' % participants[1].pk not in f)
    assert not await StageSeat.objects.filter(person=participants[1]).aexists()
    assert (await alice.command("hand.lower"))["hand"] is False
    assert (await alice.command("hand.lower"))["code"] == "hand_not_raised"


async def test_chat_is_escaped_limited_and_moderated(hall, participants):
    console, alice, bob = hall
    reply = await alice.command("chat.send", text='<script>alert(1)</script> siehe https://kreis-heinsberg.de')
    frame = await bob.receive_until(has("chat-message-%d" % reply["message"]))
    assert "<script>" not in frame and "&lt;script&gt;" in frame
    assert '<a href="https://kreis-heinsberg.de" rel="nofollow">' in frame
    assert (await alice.command("chat.send", text="y" * 501))["code"] == "too_long"
    for n in range(4):
        assert (await alice.command("chat.send", text=f"Nachricht {n}"))["type"] == "ack"
    limited = await alice.command("chat.send", text="eine zu viel")
    assert limited["code"] == "rate_limited" and "bitte warten Sie" in limited["message"]

    assert (await bob.command("chat.delete", message=reply["message"]))["code"] == "forbidden"
    await console.command("chat.delete", message=reply["message"])
    gone = await bob.receive_until(has("chat-message-%d" % reply["message"], "deleted"))
    assert "alert(1)" not in gone
    await console.command("chat.mute", person=participants[1].pk, minutes=5)
    muted = await bob.command("chat.send", text="Hallo?")
    assert muted["code"] == "muted"
    assert await ChatMessage.objects.filter(author=participants[1]).acount() == 0


async def test_many_claps_become_one_aggregate_burst(hall, participants, conference):
    console, alice, bob = hall
    # Clicks go out as fast as a hand can click: nobody waits for an ack before the next.
    claps = [await alice.send("reaction", kind="applause") for _ in range(10)]
    too_many = await alice.send("reaction", kind="applause")
    heart = await bob.send("reaction", kind="heart")
    assert (await bob.command("reaction", kind="confetti"))["code"] == "invalid_field"
    assert (await alice.reply_to(too_many))["code"] == "rate_limited"
    # A reaction is acknowledged once the tally that counts it is stored.
    assert (await bob.reply_to(heart))["type"] == "ack"
    assert (await ReactionTally.objects.aget(kind="heart")).count == 1
    for clap in claps:
        assert (await alice.reply_to(clap))["type"] == "ack"
    assert (await ReactionTally.objects.aget(kind="applause")).count == 10
    import re

    def counted(kind):
        return sum(int(n) for f in bob.frames if 'class="burst"' in f
                   for n in re.findall(rf'data-kind="{kind}" data-count="(\d+)"', f))

    # Eleven reactions arrive as one or two aggregates (a half-second window may split them),
    # never as one frame per click, and every click is counted once.
    await bob.seen_or_receive(lambda f: 'class="burst"' in f and counted("applause") == 10 and counted("heart") == 1, timeout=10)
    await bob.assert_at_most(2, has('class="burst"'), what="reaction bursts for eleven clicks")
    tally = await ReactionTally.objects.aget(kind="applause")
    assert tally.count == 10


async def test_a_poll_is_opened_voted_once_and_revealed_on_the_stage(hall):
    console, alice, bob = hall
    reply = await console.command(
        "poll.open", question="Wie beurteilen Sie die Integrationsarbeit im Kreis?",
        options="sehr gut\ngut\nausbaufähig",
    )
    poll = await Poll.objects.aget(pk=reply["poll"])
    options = [o async for o in poll.options.order_by("order")]
    frame = await alice.receive_until(has('id="poll"', "Wie beurteilen Sie"))
    assert 'value="poll.vote"' in frame and 'type="radio"' in frame
    assert (await alice.command("poll.vote", poll=poll.pk, option=options[0].pk))["type"] == "ack"
    assert (await alice.command("poll.vote", poll=poll.pk, option=options[1].pk))["code"] == "already_voted"
    assert (await bob.command("poll.vote", poll=poll.pk, option=[options[0].pk, options[1].pk]))["code"] == "invalid_field"
    assert (await bob.command("poll.vote", poll=poll.pk, option=999999))["code"] == "not_found"
    await bob.command("poll.vote", poll=poll.pk, option=str(options[0].pk))
    assert (await bob.command("poll.reveal", poll=poll.pk))["code"] == "forbidden"
    await console.command("poll.reveal", poll=poll.pk)
    for client in (alice, bob):
        frame = await client.receive_until(has('id="stage"', "poll-results"))
        assert 'data-option-count="%d">2 (100%%)' % options[0].pk in frame
    assert (await alice.command("poll.vote", poll=poll.pk, option=options[2].pk))["code"] == "poll_closed"
    assert await PollVote.objects.acount() == 2


async def test_multiple_choice_polls_take_several_options(hall):
    console, alice, bob = hall
    reply = await console.command("poll.open", question="Welche Themen?", options="Bildung\nArbeit\nSprache", multiple="true")
    poll = await Poll.objects.aget(pk=reply["poll"])
    ids = [o.pk async for o in poll.options.order_by("order")]
    assert (await alice.command("poll.vote", poll=poll.pk, option=[str(ids[0]), str(ids[2])]))["type"] == "ack"
    assert await PollVote.objects.filter(person__display_name="Miriam Hoffmann").acount() == 2
    assert (await console.command("poll.open", question="Leer", options="nur eine"))["code"] == "invalid_field"


async def test_announcements_and_countdowns_reach_everyone(hall):
    console, alice, bob = hall
    # The console's form sends its "everyone" choice as an empty room.
    assert (await console.command("announce", text="Die Fachforen beginnen um 13:15 Uhr.", room=""))["type"] == "ack"
    assert (await console.command("announce", text="An Raum null", room=0))["code"] == "not_found"
    assert (await console.command("announce", text="An Raum x", room="x"))["code"] == "invalid_field"
    for client in (alice, bob):
        await client.receive_until(has('hx-swap-oob="beforeend:#announcements"', "Die Fachforen beginnen"))
    await console.command("countdown.start", minutes=10, label="Pause bis 13:30")
    frame = await bob.receive_until(has('id="stage"', "Pause bis 13:30", "data-until"))
    assert 'class="countdown"' in frame
    assert (await alice.command("countdown.start", minutes=1))["code"] == "forbidden"
    assert (await console.command("countdown.start", minutes=0))["code"] == "invalid_field"
    await console.command("countdown.stop")
    await bob.receive_until(lambda f: 'id="stage"' in f and "data-until" not in f)
    assert (await console.command("countdown.stop"))["code"] == "no_countdown"
    assert (await alice.command("announce", text="Ich bin auch wichtig"))["code"] == "forbidden"


async def test_a_co_moderator_moderates_questions_but_not_the_agenda(hall, conference):
    console, alice, bob = hall
    comoderator = await Person.objects.acreate(conference=conference, display_name="Co", role=Role.COMODERATOR)
    co = await connect(comoderator)
    question = (await alice.command("question.ask", text="Eine Frage an den Minister"))["question"]
    await bob.receive_until(has('id="questions"', "Eine Frage an den Minister"))
    shown = bob.mark()
    assert (await co.command("question.hide", question=question))["state"] == "hidden"
    # The hide is acknowledged once it is announced: the audience's list comes without it.
    await bob.receive_until(has('id="questions"'))
    await bob.assert_never(has("Eine Frage an den Minister"), since=shown, what="a hidden question was shown to the audience")
    assert (await co.command("agenda.next"))["code"] == "forbidden"
    assert (await co.command("media.stage", person=comoderator.pk))["code"] == "forbidden"
    await co.close()


async def test_a_reconnecting_participant_gets_the_stage_questions_and_their_own_votes(hall, participants):
    console, alice, bob = hall
    question = (await alice.command("question.ask", text="Frage vor dem Neuladen"))["question"]
    await bob.command("question.vote", question=question)
    await bob.command("hand.raise")
    await bob.close()
    again = await connect(participants[1])
    snapshot = await again.receive_until(has('id="questions"'))
    assert "Frage vor dem Neuladen" in snapshot and 'id="stage"' in snapshot and 'id="chat"' in snapshot
    me = json.loads(await again.receive_until(lambda f: f.startswith('{"type": "me"')))
    assert me["voted_questions"] == [question] and me["hand"] is True
    await again.close()


async def test_the_moderation_switches_the_live_items_questions(hall):
    console, alice, bob = hall
    assert (await alice.command("agenda.questions", mode="closed"))["code"] == "forbidden"
    assert (await console.command("agenda.questions", mode="closed"))["mode"] == "closed"
    assert (await alice.command("question.ask", text="Geht das noch?"))["code"] == "questions_closed"
    assert (await console.command("agenda.questions", mode="premoderated"))["mode"] == "premoderated"
    assert (await alice.command("question.ask", text="Jetzt mit Freigabe"))["state"] == "pending"
    assert (await console.command("agenda.questions", mode="sometimes"))["code"] == "invalid_field"


def pdf_with_pages(count):
    import io

    import pypdfium2

    document = pypdfium2.PdfDocument.new()
    for _ in range(count):
        document.new_page(400, 300)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


async def test_the_moderator_puts_a_pdf_page_on_the_stage(hall, moderator, participants):

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    console, alice, bob = hall
    browser = Client()
    await asyncio.to_thread(browser.get, f"/p/{moderator.token}/")
    pdf = SimpleUploadedFile("vortrag.pdf", pdf_with_pages(3), content_type="application/pdf")
    shown = await asyncio.to_thread(browser.post, "/console/slide/", {"file": pdf, "page": "2"})
    assert shown.status_code == 201, shown.content
    frame = await alice.receive_until(has('id="stage"', 'class="stage-slide"'))
    assert "/stage/slide/?v=" in frame
    viewer = Client()
    await asyncio.to_thread(viewer.get, f"/p/{participants[0].token}/")
    slide = await asyncio.to_thread(viewer.get, "/stage/slide/")
    assert slide.status_code == 200 and slide["Content-Type"] == "image/png"
    assert b"".join(slide.streaming_content).startswith(b"\x89PNG")

    beyond = SimpleUploadedFile("vortrag.pdf", pdf_with_pages(3))
    assert (await asyncio.to_thread(browser.post, "/console/slide/", {"file": beyond, "page": "9"})).json()["code"] == "invalid_field"
    fake = SimpleUploadedFile("folie.png", b"\x89PNG\r\n\x1a\n<html>not an image</html>")
    assert (await asyncio.to_thread(browser.post, "/console/slide/", {"file": fake})).json()["code"] == "invalid_file"
    assert (await asyncio.to_thread(viewer.post, "/console/slide/", {"file": fake})).status_code == 403


async def test_raised_hands_go_down_when_the_next_item_starts(hall, participants):
    import json

    console, alice, bob = hall
    await alice.command("hand.raise")
    await console.command("agenda.next")
    told = await alice.seen_or_receive(lambda f: f.startswith('{"type": "hand"'))
    assert json.loads(told) == {"type": "hand", "hand": False}
    assert not await Hand.objects.filter(lowered_at=None).aexists()
    # The console's queue showed her hand, and then (before or after the ack) no longer does.
    hands = [i for i, f in enumerate(console.frames) if 'id="hands"' in f]
    raised_at = max(i for i in hands if "Miriam Hoffmann" in console.frames[i])
    if not any(i > raised_at for i in hands):
        await console.receive_until(lambda f: 'id="hands"' in f)
    assert "Miriam Hoffmann" not in [f for f in console.frames if 'id="hands"' in f][-1]
    assert (await alice.command("hand.raise"))["hand"] is True


async def test_the_next_item_clears_the_stage_and_the_question_on_it_counts_as_answered(hall, participants):
    console, alice, bob = hall
    question = (await alice.command("question.ask", text="Und die Finanzierung nach 2022?"))["question"]
    await console.command("question.answering", question=question)
    await bob.receive_until(has('id="stage"', 'class="stage-question"'))
    # Miriam was invited up to ask it in person.
    assert (await console.command("media.stage", person=participants[0].pk))["type"] == "ack"
    await bob.receive_until(has('id="stage"', 'data-person="%d"' % participants[0].pk))

    # The moderator goes straight on to the keynote without marking the question answered.
    await console.command("agenda.next")
    frame = await bob.receive_until(has('id="stage"', "Wissenschaftlicher Input"))
    assert "stage-question" not in frame and "Und die Finanzierung nach 2022?" not in frame
    assert 'data-person="%d"' % participants[0].pk not in frame
    assert (await StageDisplay.objects.aget()).mode == "item"
    assert not await StageSeat.objects.aexists()
    assert (await Question.objects.aget(pk=question)).state == QuestionState.ANSWERED


async def test_a_burst_of_votes_goes_out_as_one_update(hall, participants):

    console, alice, bob = hall
    question = (await alice.command("question.ask", text="Wer stimmt zu?"))["question"]
    await bob.receive_until(has('id="questions"', "Wer stimmt zu?"))
    voters = [bob] + [await connect(p) for p in participants[2:4]]
    before = len(bob.frames)
    replies = await asyncio.gather(*(v.command("question.vote", question=question) for v in voters))
    assert all(r["type"] == "ack" for r in replies)
    # Every vote is stored and acknowledged at once; the list on the pages follows once (or
    # twice, when the votes straddle two coalescing windows).
    await bob.seen_or_receive(lambda f: 'id="questions"' in f and 'data-votes="3"' in f, timeout=10)
    updates = await bob.assert_at_most(2, has('id="questions"'), since=before, what="list updates for one burst of votes")
    assert 'data-votes="3"' in updates[-1]
    for voter in voters[1:]:
        await voter.close()
