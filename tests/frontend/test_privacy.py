"""Privacy: pseudonymised attendance writes no name into any file, the join page says what is
recorded, and deleting a person removes them but keeps the counts."""

import io
import re

import pytest
from django.test import Client
from openpyxl import load_workbook

from agenda.models import AgendaItem
from rooms.models import Connection, Poll, PollOption, PollState, PollVote
from tests.support.clients import signed_in_as, someone
from tests.support.day import at, ran
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
