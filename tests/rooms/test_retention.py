"""The retention command: named attendance of conferences past their retention period loses its
names, nothing else; the counts stay."""

import datetime
import io

from django.core.management import call_command
from django.utils import timezone

from rooms.models import Connection
from venue.models import Conference, Person


def conference_with_attendance(slug, date, retention_days):
    conference = Conference.objects.create(slug=slug, title=slug, date=date, attendance_retention_days=retention_days)
    start = datetime.datetime.combine(date, datetime.time(9), tzinfo=datetime.timezone.utc)
    for number in range(3):
        person = Person.objects.create(conference=conference, display_name=f"{slug} {number}")
        Connection.objects.create(person=person, process="p", opened_at=start, closed_at=start + datetime.timedelta(minutes=30))
    return conference


def test_the_retention_command_forgets_exactly_the_expired_names(transactional_db):
    today = timezone.localdate()
    expired = conference_with_attendance("abgelaufen", today - datetime.timedelta(days=31), 30)
    on_the_edge = conference_with_attendance("grenzfall", today - datetime.timedelta(days=30), 30)
    kept_forever = conference_with_attendance("ohne-frist", today - datetime.timedelta(days=400), None)

    out = io.StringIO()
    call_command("plenum_retention", "--dry-run", stdout=out)
    assert "abgelaufen: would forget the names of 3 connections" in out.getvalue()
    assert Connection.objects.filter(person=None).count() == 0

    call_command("plenum_retention", stdout=io.StringIO())
    assert Connection.objects.filter(conference=expired, person=None).count() == 3
    assert Connection.objects.filter(conference=expired).exclude(attendee=None).count() == 3
    for conference in (on_the_edge, kept_forever):
        assert Connection.objects.filter(conference=conference, person=None).count() == 0
    # The people are the organizers' to delete; only the attendance forgot them.
    assert Person.objects.filter(conference=expired).count() == 3
    out = io.StringIO()
    call_command("plenum_retention", stdout=out)
    assert "abgelaufen: forgot the names of 0 connections" in out.getvalue()
