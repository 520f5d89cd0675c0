"""Retention of named attendance: once a conference's retention period is over, its connections
forget whose they were. The counts stay (each connection keeps its attendee number), the names
go; the people themselves are the organizers' to delete (which forgets them the same way)."""

import datetime

from django.db import transaction
from django.utils import timezone

from rooms.models import Connection
from venue.models import Conference


def expired(today=None):
    """Conferences whose retention period is over: the day plus its retention days has passed."""
    today = today or timezone.localdate()
    return [c for c in Conference.objects.filter(attendance_retention_days__isnull=False)
            if c.date + datetime.timedelta(days=c.attendance_retention_days) < today]


def forget_named_attendance(today=None, dry_run=False):
    """{conference: connections that no longer name their person}; with `dry_run`, what would."""
    forgotten = {}
    for conference in expired(today):
        with transaction.atomic():
            named = Connection.objects.filter(conference=conference, person__isnull=False)
            forgotten[conference] = named.count() if dry_run else named.update(person=None)
    return forgotten
