"""Attendance after the day: who was there, for how long, and during which agenda items.

Computed from the Connection rows that presence wrote (one per open socket), so nothing extra is
recorded during the day. Overlapping sockets of one person (two tabs) count once, and a gap
shorter than the grace period (`PLENUM_ATTENDANCE_GRACE_SECONDS`: a reload, a tunnel) counts as
staying. The page and every file are built from the same `report`, so their figures agree.
"""

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from agenda.models import AgendaItem
from rooms.models import Connection
from venue.models import Person


def grace():
    return timedelta(seconds=settings.PLENUM_ATTENDANCE_GRACE_SECONDS)


def merged(intervals, gap=timedelta()):
    """(start, end) intervals joined where they overlap or lie at most `gap` apart, sorted."""
    out = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1] + gap:
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


def minutes(duration):
    return round(duration.total_seconds() / 60)


def pseudonym(conference, attendee):
    """A stable name that says nothing: the same person gets the same one in every file of this
    conference, and nobody can turn it back into the person without the server's secret."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"attendance:{conference.pk}:{attendee}".encode(), hashlib.sha256)
    return f"TN-{digest.hexdigest()[:8].upper()}"


@dataclass
class Attendee:
    key: int  # the `attendee` number of their connections
    person: Person | None  # None once the person was deleted or the retention period is over
    intervals: list
    name: str = ""  # the person's name, or their pseudonym
    organization: str = ""
    role: str = ""  # the role's name, in the active language
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
        return minutes(sum((b - a for a, b in self.intervals), timedelta()))


@dataclass
class ItemAttendance:
    item: AgendaItem
    present: int  # people there at any time during the item
    peak: int  # most people there at once
    average: float  # people there on average over the item's time

    @property
    def end(self):
        return self.item.ended_at


@dataclass
class Event:
    at: object
    attendee: Attendee
    joined: bool  # False: left


def report(conference, now=None, person_ids=None, events=False):
    """The day's attendance; `person_ids` limits it to these people (one certificate), `events`
    adds the raw joining and leaving (twice as many rows as connections, for their CSV). Names
    appear only if the conference records attendance by name and the person still exists."""
    now = now or timezone.now()
    items = list(AgendaItem.objects.filter(conference=conference, started_at__isnull=False).order_by("order"))
    rows = Connection.objects.filter(conference=conference)
    if person_ids is not None:
        rows = rows.filter(person_id__in=person_ids)
    by_key, raw = {}, []
    for key, opened, closed in rows.values_list("attendee", "opened_at", "closed_at"):
        # A socket still open (or of a process that died) counts until now.
        by_key.setdefault(key, []).append((opened, closed or now))
        if events:
            raw.append((key, opened, closed))
    people = {p.pk: p for p in Person.objects.filter(pk__in=by_key, conference=conference)}
    named = not conference.attendance_pseudonymous
    gap = grace()
    attendees = {}
    for key in by_key:
        person = people.get(key)
        attendee = Attendee(key, person, merged(by_key[key], gap))
        if person is not None and named:
            attendee.name, attendee.organization = person.display_name, person.organization
        else:
            attendee.name = pseudonym(conference, key)
        attendee.role = str(person.get_role_display()) if person is not None else "–"
        for item in items:
            there = overlap(attendee.intervals, item.started_at, item.ended_at or now)
            attendee.items[item.pk] = minutes(there)
            if there:
                attendee.present_at.add(item.pk)
        attendees[key] = attendee
    ordered = sorted(attendees.values(), key=lambda a: (a.person is None, a.person.role if a.person else "", a.name, a.key))
    per_item = [_item_attendance(item, ordered, now) for item in items]
    joins_and_leaves = []
    if events:
        for key, opened, closed in raw:
            joins_and_leaves.append(Event(opened, attendees[key], True))
            if closed is not None:
                joins_and_leaves.append(Event(closed, attendees[key], False))
        joins_and_leaves.sort(key=lambda e: (e.at, e.attendee.name, e.joined))
    return {"attendees": ordered, "items": items, "per_item": per_item, "events": joins_and_leaves,
            "invited": conference.people.count(), "grace_seconds": int(gap.total_seconds()),
            "pseudonymous": not named}


def _item_attendance(item, attendees, now):
    start, end = item.started_at, item.ended_at or now
    changes = []
    present = 0
    for attendee in attendees:
        # Counted from the time itself: half a minute rounds to 0 minutes but was still there.
        if item.pk in attendee.present_at:
            present += 1
        for a, b in attendee.intervals:
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                changes.append((lo, 1))
                changes.append((hi, -1))
    # Leaving sorts before joining at the same instant: a handover is not two people at once.
    changes.sort()
    peak = here = 0
    person_seconds = 0.0
    last = start
    for at, change in changes:
        person_seconds += here * (at - last).total_seconds()
        here += change
        peak = max(peak, here)
        last = at
    length = (end - start).total_seconds()
    average = round(person_seconds / length, 1) if length > 0 else 0.0
    return ItemAttendance(item, present, peak, average)
