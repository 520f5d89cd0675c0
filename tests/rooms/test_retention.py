"""The retention command: once a conference's retention period is over, its attendance names
nobody and its participants are erased (their questions and chat messages stay, without their
name); the counts stay, and a conference still inside its period keeps everything."""

import datetime
import io

from django.core.management import call_command
from django.utils import timezone

from agenda.models import AgendaItem
from frontend import attendance
from rooms.models import ChatMessage, Connection, Question, QuestionVote, Room, RoomKind
from tests.support.rows import rows_mentioning
from venue.models import Conference, Person, Role


def conference_with_a_day(slug, date, retention_days):
    """Three participants and a speaker, each with a connection, a question and a chat message;
    every participant votes for the speaker's question."""
    conference = Conference.objects.create(slug=slug, title=slug, date=date, attendance_retention_days=retention_days)
    start = datetime.datetime.combine(date, datetime.time(9), tzinfo=datetime.UTC)
    plenum = Room.objects.create(conference=conference, slug="plenum", name="Plenum", kind=RoomKind.PLENARY)
    talk = AgendaItem.objects.create(conference=conference, order=1, title="Vortrag", room=plenum, planned_start=start,
                                     planned_end=start + datetime.timedelta(hours=1), started_at=start,
                                     ended_at=start + datetime.timedelta(hours=1))
    people = [Person.objects.create(conference=conference, display_name=f"{slug} Teilnehmerin {number}",
                                    organization=f"{slug} Amt {number}", email=f"{slug}-{number}@example.org")
              for number in range(3)]
    people.append(Person.objects.create(conference=conference, display_name=f"{slug} Referentin", role=Role.SPEAKER))
    for number, person in enumerate(people):
        Connection.objects.create(person=person, process="p", opened_at=start,
                                  closed_at=start + datetime.timedelta(minutes=30 + number))
        Question.objects.create(item=talk, author=person, text=f"Frage {number} in {slug}", votes=number)
        ChatMessage.objects.create(room=plenum, author=person, text=f"Nachricht {number} in {slug}")
    speakers_question = Question.objects.get(author=people[-1])
    for person in people[:3]:
        QuestionVote.objects.create(question=speakers_question, person=person)
    return conference, people


def figures(conference):
    """What the day's records count: people, questions and their votes, messages, minutes."""
    data = attendance.report(conference)
    return {
        "people": conference.people.count(),
        "questions": sorted(Question.objects.filter(item__conference=conference).values_list("text", "votes")),
        "question votes": QuestionVote.objects.filter(question__item__conference=conference).count(),
        "chat": sorted(ChatMessage.objects.filter(room__conference=conference).values_list("text", flat=True)),
        "minutes": sorted((a.key, a.minutes) for a in data["attendees"]),
        "per item": [(row.present, row.peak, row.average) for row in data["per_item"]],
    }


def test_the_retention_command_forgets_exactly_the_expired_names_and_keeps_the_counts(transactional_db):
    today = timezone.localdate()
    expired, expired_people = conference_with_a_day("abgelaufen", today - datetime.timedelta(days=31), 30)
    on_the_edge, edge_people = conference_with_a_day("grenzfall", today - datetime.timedelta(days=30), 30)
    kept_forever, forever_people = conference_with_a_day("ohne-frist", today - datetime.timedelta(days=400), None)
    before = {conference.slug: figures(conference) for conference in (expired, on_the_edge, kept_forever)}

    out = io.StringIO()
    call_command("plenum_retention", "--dry-run", stdout=out)
    assert out.getvalue() == "abgelaufen: would forget the names of 4 connections, would erase 3 participants\n"
    assert Connection.objects.filter(person=None).count() == 0 and not Person.objects.exclude(erased_at=None).exists()

    out = io.StringIO()
    call_command("plenum_retention", stdout=out)
    assert out.getvalue() == "abgelaufen: forgot the names of 4 connections, erased 3 participants\n"
    # The counts stay everywhere: the same people (as rows), questions, votes, messages, minutes.
    assert {conference.slug: figures(conference) for conference in (expired, on_the_edge, kept_forever)} == before

    # Expired: the participants' names, organizations and e-mails are nowhere in the database.
    participants, speaker = expired_people[:3], expired_people[3]
    for person in participants:
        for value in (person.display_name, person.organization, person.email, person.token):
            assert rows_mentioning(value) == [], value
    assert all(p.erased_at and p.display_name == "Gelöschte Person" for p in Person.objects.filter(pk__in=[p.pk for p in participants]))
    # Their messages and questions are kept, by the erased person; questions are anonymous.
    assert ChatMessage.objects.filter(author__in=participants).count() == 3
    assert not Question.objects.filter(item__conference=expired, anonymous=False).exists()
    # The speaker keeps her name where she spoke, but the attendance names nobody.
    assert Person.objects.get(pk=speaker.pk).display_name == "abgelaufen Referentin"
    assert ChatMessage.objects.filter(author=speaker).count() == 1
    assert Connection.objects.filter(conference=expired).exclude(person=None).count() == 0
    assert Connection.objects.filter(conference=expired).exclude(attendee=None).count() == 4
    assert all(a.person is None and a.name.startswith("TN-") for a in attendance.report(expired)["attendees"])

    # Inside the period, or without one: everything as it was.
    for conference, people in ((on_the_edge, edge_people), (kept_forever, forever_people)):
        assert not Person.objects.filter(conference=conference).exclude(erased_at=None).exists()
        assert Connection.objects.filter(conference=conference, person=None).count() == 0
        assert not Question.objects.filter(item__conference=conference, anonymous=True).exists()
        assert [a.name for a in attendance.report(conference)["attendees"]] == sorted(p.display_name for p in people[:3]) + [people[3].display_name]

    out = io.StringIO()
    call_command("plenum_retention", stdout=out)
    assert out.getvalue() == "abgelaufen: forgot the names of 0 connections, erased 0 participants\n"
