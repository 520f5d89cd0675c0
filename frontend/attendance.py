"""Attendance after the day: who was there, for how long, and during which agenda items.

Computed from the Connection rows that presence wrote (one per open socket), so nothing extra is
recorded during the day. Overlapping sockets of one person (two tabs) count once.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from agenda.models import AgendaItem
from rooms.models import Connection
from venue.models import Person


def merged(intervals):
    """Overlapping (start, end) intervals joined, sorted."""
    out = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def overlap(intervals, start, end):
    total = timedelta()
    for a, b in intervals:
        lo, hi = max(a, start), min(b, end)
        if hi > lo:
            total += hi - lo
    return total


@dataclass
class Attendee:
    person: Person
    intervals: list
    items: dict = field(default_factory=dict)  # item id -> minutes present
    present_at: set = field(default_factory=set)  # item ids with any time present, however short

    @property
    def first_seen(self):
        return self.intervals[0][0] if self.intervals else None

    @property
    def last_seen(self):
        return self.intervals[-1][1] if self.intervals else None

    @property
    def minutes(self):
        return round(sum((b - a for a, b in self.intervals), timedelta()).total_seconds() / 60)


def report(conference):
    now = timezone.now()
    items = list(AgendaItem.objects.filter(conference=conference, started_at__isnull=False).order_by("order"))
    by_person = {}
    for person_id, opened, closed in Connection.objects.filter(person__conference=conference).values_list(
        "person_id", "opened_at", "closed_at"
    ):
        # A socket still open (or of a process that died) counts until now.
        by_person.setdefault(person_id, []).append((opened, closed or now))
    people = Person.objects.filter(pk__in=by_person).order_by("role", "display_name")
    attendees = []
    for person in people:
        intervals = merged(by_person[person.pk])
        attendee = Attendee(person, intervals)
        for item in items:
            there = overlap(intervals, item.started_at, item.ended_at or now)
            attendee.items[item.pk] = round(there.total_seconds() / 60)
            if there:
                attendee.present_at.add(item.pk)
        attendees.append(attendee)
    per_item = []
    for item in items:
        # Counted from the time itself: half a minute rounds to 0 minutes but was still there.
        present = sum(1 for a in attendees if item.pk in a.present_at)
        per_item.append((item, present))
    return {"attendees": attendees, "items": items, "per_item": per_item, "invited": conference.people.count()}


def as_csv(conference):
    data = report(conference)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "organization", "role", "first seen", "last seen", "minutes"]
                    + [f"{item.order}. {item.title}" for item in data["items"]])
    for a in data["attendees"]:
        writer.writerow(
            [_safe(a.person.display_name), _safe(a.person.organization), a.person.role,
             a.first_seen.isoformat() if a.first_seen else "", a.last_seen.isoformat() if a.last_seen else "", a.minutes]
            + [a.items.get(item.pk, 0) for item in data["items"]]
        )
    return out.getvalue()


def _safe(text):
    # A cell that starts like a formula must not run as one in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
