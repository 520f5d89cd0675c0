"""Privacy: pseudonymised attendance writes no name into any file, the join page says what is
recorded, and deleting or erasing a person removes their personal data but keeps the counts."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from openpyxl import load_workbook

from agenda.models import AgendaItem
from rooms.models import (
    ChatMessage,
    Connection,
    Hand,
    Poll,
    PollOption,
    PollState,
    PollVote,
    Question,
    QuestionState,
    QuestionVote,
    Room,
    RoomKind,
)
from tests.support.clients import signed_in_as, someone
from tests.support.day import at, ran
from tests.support.rows import rows_mentioning
from venue.models import Invite, Person, Role


@pytest.fixture
def day(conference, participants):
    welcome, talk = list(AgendaItem.objects.filter(conference=conference).order_by("order"))[:2]
    ran((welcome, 0), (talk, 20))
    for person, start, end in ((participants[0], 0, 25), (participants[1], 5, 17), (participants[2], 22, 38)):
        Connection.objects.create(person=person, process="p", opened_at=at(start), closed_at=at(end))
    return signed_in_as(someone(conference, Role.ORGANIZER))


def every_file(organizer):
    """The text of every attendance file an organizer can download."""
    texts = [organizer.get(url).content.decode("utf-8-sig") for url in
             ("/organizer/attendance.csv", "/organizer/attendance-items.csv", "/organizer/attendance-events.csv")]
    book = load_workbook(io.BytesIO(organizer.get("/organizer/attendance.xlsx").content))
    for sheet in book.worksheets:
        texts.append("\n".join(str(cell) for row in sheet.iter_rows(values_only=True) for cell in row if cell is not None))
    return texts


def test_pseudonymised_attendance_writes_no_name_into_any_file(conference, participants, day):
    conference.attendance_pseudonymous, conference.certificate_minimum_minutes = True, 15
    conference.save()
    texts = every_file(day)
    identifying = [p.display_name for p in participants] + [p.organization for p in participants if p.organization]
    for text in texts:
        for value in identifying:
            assert value not in text
    # The same pseudonym for the same person in the people's table and the events.
    pseudonyms = set(re.findall(r"TN-[0-9A-F]{8}", texts[0]))
    assert len(pseudonyms) == 3 and pseudonyms == set(re.findall(r"TN-[0-9A-F]{8}", texts[2]))
    page = day.get("/organizer/attendance/").content.decode()
    assert not any(name in page for name in identifying) and pseudonyms <= set(re.findall(r"TN-[0-9A-F]{8}", page))
    # A certificate names its person: in this mode only the person gets theirs.
    assert day.get("/organizer/certificates.zip").status_code == 404
    assert day.get(f"/organizer/certificates/{participants[0].pk}.pdf").status_code == 404
    assert signed_in_as(participants[0]).get("/certificate.pdf").status_code == 200


def test_the_join_page_says_what_is_recorded(conference):
    invite = Invite.objects.create(conference=conference, label="Öffentlich")
    page = Client().get(f"/join/{invite.token}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Was erfasst wird" in page and "namentlich" in page
    conference.attendance_pseudonymous, conference.attendance_retention_days = True, 30
    conference.save()
    page = Client().get(f"/join/{invite.token}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Pseudonym" in page and "30 Tage nach der Konferenz" in page


def test_deleting_a_person_removes_them_and_keeps_the_counts(conference, participants, day):
    talk = AgendaItem.objects.filter(conference=conference).order_by("order")[1]
    poll = Poll.objects.create(conference=conference, item=talk, question="Wie beurteilen Sie den Tag?", state=PollState.REVEALED)
    good = PollOption.objects.create(poll=poll, text="gut", order=1)
    PollVote.objects.create(poll=poll, option=good, person=participants[0])
    before = re.findall(r'data-(?:present|peak|average)="\d+">[\d,]+<', day.get("/organizer/attendance/").content.decode())
    alice = participants[0]
    alice_number = alice.pk
    alice.delete()

    page = day.get("/organizer/attendance/").content.decode()
    assert re.findall(r'data-(?:present|peak|average)="\d+">[\d,]+<', page) == before
    assert alice.display_name not in page
    assert f'data-minutes="{alice_number}">25<' in page
    assert not Person.objects.filter(display_name=alice.display_name).exists()
    assert Connection.objects.filter(attendee=alice_number, person=None).count() == 1
    assert poll.with_results() is not None and PollVote.objects.filter(poll=poll).count() == 1
    for text in every_file(day):
        assert alice.display_name not in text


def counts(conference, organizer):
    page = organizer.get("/organizer/attendance/").content.decode()
    return {
        # Sorted: the people table lists the erased after the named.
        "attendance": sorted(re.findall(r'data-(?:present|peak|average|minutes)="\d+">[\d,.]+<', page)),
        "questions": Question.objects.filter(item__conference=conference).count(),
        "question votes": QuestionVote.objects.filter(question__item__conference=conference).count(),
        "votes on questions": sorted(Question.objects.filter(item__conference=conference).values_list("votes", flat=True)),
        "chat": ChatMessage.objects.filter(room__conference=conference).count(),
        "poll votes": PollVote.objects.filter(poll__conference=conference).count(),
        "people": conference.people.count(),
    }


def test_erasing_a_person_removes_their_personal_data_everywhere_and_keeps_the_counts(conference, participants, day):
    talk = AgendaItem.objects.filter(conference=conference).order_by("order")[1]
    plenum = Room.objects.get(conference=conference, kind=RoomKind.PLENARY)
    alice, bob = participants[0], participants[1]
    alice.email = "miriam.hoffmann@example.org"
    alice.save()
    secrets = [alice.display_name, alice.organization, alice.email, alice.token]
    question = Question.objects.create(item=talk, author=alice, text="Wie erreichen wir die Eltern?",
                                       state=QuestionState.ANSWERED, votes=1)
    QuestionVote.objects.create(question=question, person=bob)
    ChatMessage.objects.create(room=plenum, author=alice, text="Danke für den Vortrag!")
    Hand.objects.create(conference=conference, person=alice)
    poll = Poll.objects.create(conference=conference, item=talk, question="Wie beurteilen Sie den Tag?", state=PollState.REVEALED)
    PollVote.objects.create(poll=poll, option=PollOption.objects.create(poll=poll, text="gut", order=1), person=alice)
    conference.documentation_published_at = talk.ended_at
    conference.save()
    before = counts(conference, day)
    assert alice.display_name in day.get("/organizer/attendance/").content.decode()

    # Only organizers erase, nobody themselves, and the organizer is asked first.
    assert signed_in_as(bob).post(f"/organizer/people/{alice.pk}/erase/").status_code == 403
    organizer = someone(conference, Role.ORGANIZER)
    assert day.post(f"/organizer/people/{organizer.pk}/erase/").status_code == 400
    assert Person.objects.get(pk=organizer.pk).erased_at is None
    asked = day.get(f"/organizer/people/{alice.pk}/erase/").content.decode()
    assert alice.display_name in asked and f'action="/organizer/people/{alice.pk}/erase/"' in asked
    assert Person.objects.get(pk=alice.pk).erased_at is None
    assert day.post(f"/organizer/people/{alice.pk}/erase/").status_code == 302

    # Nothing in the database says who she was; what she did is all still counted.
    for secret in secrets:
        assert rows_mentioning(secret) == [], secret
    assert counts(conference, day) == before
    erased = Person.objects.get(pk=alice.pk)
    assert erased.display_name == "Gelöschte Person" and erased.revoked_at and erased.erased_at
    assert Question.objects.get(pk=question.pk).text == "Wie erreichen wir die Eltern?"
    # Her raised hand went down.
    assert not Hand.objects.filter(person=alice, lowered_at=None).exists()
    # No page and no file shows her, though her question and message are there.
    moderator = signed_in_as(someone(conference, Role.MODERATOR))
    pages = {url: browser.get(url).content.decode() for browser, url in (
        (day, "/organizer/"), (day, "/organizer/attendance/"), (moderator, "/console/"), (signed_in_as(bob), "/venue/"),
        (Client(), f"/documentation/{conference.slug}/"))}
    for url, page in pages.items():
        assert not any(secret in page for secret in secrets), url
    assert "Wie erreichen wir die Eltern?" in pages[f"/documentation/{conference.slug}/"]
    assert "Danke für den Vortrag!" in pages["/venue/"] and "Gelöschte Person" in pages["/venue/"]
    for text in every_file(day):
        assert not any(secret in text for secret in secrets)
    # Her link is dead, and erasing twice changes nothing.
    assert Client().get(f"/p/{alice.token}/").status_code == 404
    assert day.get(f"/organizer/people/{alice.pk}/erase/").status_code == 404


def test_deleting_a_person_in_the_admin_erases_them(conference, participants, day):
    talk = AgendaItem.objects.filter(conference=conference).order_by("order")[1]
    alice = participants[0]
    Question.objects.create(item=talk, author=alice, text="Gibt es die Folien?")
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "-"))
    assert alice.display_name in admin.get(f"/admin/venue/person/{alice.pk}/delete/").content.decode()
    admin.post(f"/admin/venue/person/{alice.pk}/delete/", {"post": "yes"})
    assert Person.objects.get(pk=alice.pk).erased_at is not None and rows_mentioning(alice.display_name) == []
    assert Question.objects.filter(item=talk, text="Gibt es die Folien?").count() == 1
    # The action erases the selected people.
    bob = participants[1]
    admin.post("/admin/venue/person/", {"action": "erase_personal_data", "_selected_action": [bob.pk]})
    assert Person.objects.get(pk=bob.pk).erased_at is not None
