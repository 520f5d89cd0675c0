"""Attendance after the day: who was there, for how long, and during which agenda items.

Computed from the Connection rows that presence wrote (one per open socket), so nothing extra is
recorded during the day. Overlapping sockets of one person (two tabs) count once, and a gap
shorter than the grace period (`PLENUM_ATTENDANCE_GRACE_SECONDS`: a reload, a tunnel) counts as
staying. The page and every file are built from the same `report`, so their figures agree.
"""

import bisect
import hashlib
import hmac
from dataclasses import dataclass, field
from functools import cached_property
from datetime import timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import connections
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

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


def overlap(intervals, ends, start, end):
    """Time within [start, end) of `intervals` (merged: sorted, apart; `ends` their ends)."""
    total = timedelta()
    index = bisect.bisect_right(ends, start)
    while index < len(intervals) and intervals[index][0] < end:
        a, b = intervals[index]
        total += min(b, end) - max(a, start)
        index += 1
    return total


def fetch(queryset):
    """The rows of a `values_list` query as the database driver hands them over. At a hundred
    thousand timestamps Django's per-value converters cost more than the report itself; the
    timestamps are made aware with `utc`."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def utc(value):
    """A timestamp from `fetch`: SQLite's come naive (stored in UTC), PostgreSQL's aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt_timezone.utc)


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

    @cached_property
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
    adds the raw joining and leaving (twice as many rows as connections, for their CSV);
    `connections` maps each connection to its attendee and end (for the chart). Names
    appear only if the conference records attendance by name and the person still exists."""
    now = now or timezone.now()
    items = list(AgendaItem.objects.filter(conference=conference, started_at__isnull=False).order_by("order"))
    rows = Connection.objects.filter(conference=conference)
    if person_ids is not None:
        rows = rows.filter(person_id__in=person_ids)
    by_key, raw, connections = {}, [], {}
    for pk, key, opened, closed in fetch(rows.values_list("pk", "attendee", "opened_at", "closed_at")):
        opened, closed = utc(opened), utc(closed)
        # A socket still open (or of a process that died) counts until now.
        by_key.setdefault(key, []).append((opened, closed or now))
        connections[pk] = (key, closed or now)
        if events:
            raw.append((key, opened, closed))
    people = {p.pk: p for p in Person.objects.filter(pk__in=by_key, conference=conference)}
    named = not conference.attendance_pseudonymous
    gap = grace()
    attendees, roles = {}, {}
    windows = [(item.pk, item.started_at, item.ended_at or now) for item in items]
    for key in by_key:
        person = people.get(key)
        attendee = Attendee(key, person, merged(by_key[key], gap))
        if person is not None and named:
            attendee.name, attendee.organization = person.display_name, person.organization
        else:
            attendee.name = pseudonym(conference, key)
        if person is not None:
            # One translation per role, not one per person.
            attendee.role = roles.get(person.role) or roles.setdefault(person.role, str(person.get_role_display()))
        else:
            attendee.role = "–"
        ends = [end for _start, end in attendee.intervals]
        for pk, start, end in windows:
            there = overlap(attendee.intervals, ends, start, end)
            attendee.items[pk] = minutes(there)
            if there:
                attendee.present_at.add(pk)
        attendees[key] = attendee
    ordered = sorted(attendees.values(), key=lambda a: (a.person is None, a.person.role if a.person else "", a.name, a.key))
    per_item = _items_attendance(items, ordered, now)
    joins_and_leaves = []
    if events:
        for key, opened, closed in raw:
            joins_and_leaves.append(Event(opened, attendees[key], True))
            if closed is not None:
                joins_and_leaves.append(Event(closed, attendees[key], False))
        joins_and_leaves.sort(key=lambda e: (e.at, e.attendee.name, e.joined))
    return {"attendees": ordered, "items": items, "per_item": per_item, "events": joins_and_leaves,
            "connections": connections, "now": now,
            "invited": conference.people.count(), "grace_seconds": int(gap.total_seconds()),
            "pseudonymous": not named}


def _items_attendance(items, attendees, now):
    """Each item's attendance, from one sweep over everybody's comings and goings (sorted once,
    not once per item)."""
    changes = []
    for attendee in attendees:
        for a, b in attendee.intervals:
            changes.append((a, 1))
            changes.append((b, -1))
    # Leaving sorts before joining at the same instant: a handover is not two people at once.
    changes.sort()
    here_after, here = [], 0
    for _at, change in changes:
        here += change
        here_after.append(here)
    out = []
    for item in items:
        start, end = item.started_at, item.ended_at or now
        # Counted from the time itself: half a minute rounds to 0 minutes but was still there.
        present = sum(1 for attendee in attendees if item.pk in attendee.present_at)
        if end <= start:
            out.append(ItemAttendance(item, present, 0, 0.0))
            continue
        index = bisect.bisect_right(changes, (start, 2))
        here = peak = here_after[index - 1] if index else 0
        person_seconds, last = 0.0, start
        while index < len(changes) and changes[index][0] < end:
            at = changes[index][0]
            person_seconds += here * (at - last).total_seconds()
            here, last = here_after[index], at
            peak = max(peak, here)
            index += 1
        person_seconds += here * (end - last).total_seconds()
        out.append(ItemAttendance(item, present, peak, round(person_seconds / (end - start).total_seconds(), 1)))
    return out


def people_rows(attendees, *, certificate_url=None, certificate_minimum=0):
    """The attendance page's table body: one row per attendee, with a link to their certificate
    when `certificate_url` is given and they stayed long enough.

    Built here rather than in a template loop: at two thousand rows Django's template engine
    spent a third of the page's second on them; these are the same cells, escaped the same way.
    """
    rows = []
    for a in attendees:
        organization = f' <span class="muted">({escape(a.organization)})</span>' if a.organization else ""
        cells = [
            f'<tr><th scope="row">{escape(a.name)}{organization}</th><td>{escape(a.role)}</td>',
            f"<td>{_clock(a.first_seen)}</td><td>{_clock(a.last_seen)}</td>",
            f'<td data-minutes="{a.key}">{a.minutes}</td>',
        ]
        if certificate_url is not None:
            link = (f'<a href="{escape(certificate_url)}{a.person.pk}.pdf">PDF</a>'
                    if a.person and a.minutes >= certificate_minimum else "")
            cells.append(f"<td>{link}</td>")
        rows.append("".join(cells) + "</tr>")
    # Every value above is escaped or a number.
    return mark_safe("".join(rows))


def _clock(moment):
    return timezone.localtime(moment).strftime("%H:%M") if moment else ""
