"""Retention: once a conference's retention period is over, nothing of the day names its
participants any more. The participants are erased (`venue.erasure`: the person's row stays
without name, e-mail or link, so their questions, chat messages and votes keep their text and
counts), and everybody's attendance forgets whose it was (`rooms.erasure.forget`: the counts stay
with the attendee numbers). Speakers, facilitators, moderators and organizers keep their names
where they acted in that role (the programme, the documentation, the chat), but not in the
attendance."""

import datetime

from django.db import transaction
from django.utils import timezone

from rooms import erasure as places
from rooms.models import Connection
from venue import erasure
from venue.models import Conference, Person, Role


def expired(today=None):
    """Conferences whose retention period is over: the day plus its retention days has passed."""
    today = today or timezone.localdate()
    return [c for c in Conference.objects.filter(attendance_retention_days__isnull=False)
            if c.date + datetime.timedelta(days=c.attendance_retention_days) < today]


def forget_named_attendance(today=None, dry_run=False):
    """{conference: (connections that no longer name their person, participants erased)}; with
    `dry_run`, what would be."""
    forgotten = {}
    for conference in expired(today):
        with transaction.atomic():
            participants = list(Person.objects.filter(conference=conference, role=Role.PARTICIPANT, erased_at=None))
            named = Connection.objects.filter(conference=conference, person__isnull=False)
            if dry_run:
                forgotten[conference] = (named.count(), len(participants))
                continue
            # Erasing the participants forgets their connections too; then everybody else's.
            connections = named.filter(person__in=participants).count()
            erased = erasure.erase(participants)
            everyone = Person.objects.filter(conference=conference).values_list("pk", flat=True)
            connections += places.forget(list(everyone))
            forgotten[conference] = (connections, len(erased))
    return forgotten
