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
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from functools import cached_property
from itertools import accumulate, compress
from operator import mul, sub

from django.conf import settings
from django.db import connections
from django.db.models import CharField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from agenda.models import AgendaItem
from rooms.models import Connection
from venue.models import Person

# The report counts in whole microseconds since 1970 (UTC): integers are exact and much cheaper
# to sort and subtract than datetimes. Datetimes come back only for what is shown.
EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
NAIVE_EPOCH = EPOCH.replace(tzinfo=None)
MICROSECOND = timedelta(microseconds=1)
SECOND = 1_000_000


def grace():
    return timedelta(seconds=settings.PLENUM_ATTENDANCE_GRACE_SECONDS)


def stamp(moment):
    """An aware datetime as microseconds since 1970."""
    return (moment - EPOCH) // MICROSECOND


def moment_of(microseconds):
    """Microseconds since 1970 as an aware datetime (UTC)."""
    return EPOCH + timedelta(microseconds=microseconds)


def as_text(column):
    """A timestamp column read as text, to be turned into numbers by `stamps`. SQLite's driver
    would otherwise hand every value to Django's converter (a third of the page's time at a
    hundred thousand timestamps); text and `datetime.fromisoformat` are C all the way."""
    return Cast(column, CharField())


def stamps(texts):
    """Timestamps read by `as_text` as microseconds since 1970 (None stays None): SQLite stores
    UTC without a zone, PostgreSQL says "+00". One pass over a whole column, without a function
    call per value (there are a hundred thousand of them on a big day)."""
    parse = datetime.fromisoformat
    sample = next((text for text in texts if text is not None), None)
    epoch = EPOCH if sample is not None and parse(sample).tzinfo is not None else NAIVE_EPOCH
    return [None if text is None else (parse(text) - epoch) // MICROSECOND for text in texts]


def merged(intervals, gap=0):
    """(start, end) intervals joined where they overlap or lie at most `gap` apart, sorted."""
    out = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1] + gap:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def overlap(intervals, ends, start, end):
    """Time within [start, end) of `intervals` (merged: sorted, apart; `ends` their ends)."""
    total = 0
    index = bisect.bisect_right(ends, start)
    while index < len(intervals) and intervals[index][0] < end:
        a, b = intervals[index]
        total += min(b, end) - max(a, start)
        index += 1
    return total


def column(rows, index):
    return [row[index] for row in rows]


def fetch(queryset):
    """The rows of a `values_list` query as the database driver hands them over (Django's
    per-row machinery costs more than the report itself at forty thousand rows)."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def minutes(microseconds):
    """Whole minutes of a span in microseconds, rounded as `timedelta.total_seconds` would."""
    return round(microseconds / SECOND / 60)


def pseudonym(conference, attendee):
    """A stable name that says nothing: the same person gets the same one in every file of this
    conference, and nobody can turn it back into the person without the server's secret."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"attendance:{conference.pk}:{attendee}".encode(), hashlib.sha256)
    return f"TN-{digest.hexdigest()[:8].upper()}"


@dataclass
class Attendee:
    key: int  # the `attendee` number of their connections
    person: Person | None  # None once the person was deleted or the retention period is over
    intervals: list  # [(start, end)] in microseconds since 1970, merged
    name: str = ""  # the person's name, or their pseudonym
    organization: str = ""
    role: str = ""  # the role's name, in the active language
    items: dict = field(default_factory=dict)  # item id -> minutes present
    present_at: set = field(default_factory=set)  # item ids with any time present, however short

    @property
    def first_seen(self):
        return moment_of(self.intervals[0][0]) if self.intervals else None

    @property
    def last_seen(self):
        return moment_of(self.intervals[-1][1]) if self.intervals else None

    @cached_property
    def minutes(self):
        return minutes(sum(b - a for a, b in self.intervals))


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
    at: datetime
    attendee: Attendee
    joined: bool  # False: left


def report(conference, now=None, person_ids=None, events=False):
    """The day's attendance; `person_ids` limits it to these people (one certificate), `events`
    adds the raw joining and leaving (twice as many rows as connections, for their CSV);
    `connections` maps each connection to its attendee and end in microseconds (for the chart).
    Names appear only if the conference records attendance by name and the person still exists."""
    now = now or timezone.now()
    until = stamp(now)
    items = list(AgendaItem.objects.filter(conference=conference, started_at__isnull=False).order_by("order"))
    rows = Connection.objects.filter(conference=conference)
    if person_ids is not None:
        rows = rows.filter(person_id__in=person_ids)
    by_key, connections = {}, {}
    rows = fetch(rows.values_list("pk", "attendee", as_text("opened_at"), as_text("closed_at"), "person_id"))
    keys, opened, closed = column(rows, 1), stamps(column(rows, 2)), stamps(column(rows, 3))
    for (pk, key, _opened, _closed, _person), start, end in zip(rows, opened, closed):
        # A socket still open (or of a process that died) counts until now.
        end = until if end is None else end
        by_key.setdefault(key, []).append((start, end))
        connections[pk] = (key, end)
    # Only connections that still name their person name them (not once the person was erased
    # or the retention period is over).
    named_people = {person for *_row, person in rows if person is not None}
    people = {p.pk: p for p in Person.objects.filter(pk__in=named_people, conference=conference)}
    named = not conference.attendance_pseudonymous
    gap = grace() // MICROSECOND
    attendees, roles = {}, {}
    windows = [(item.pk, *_window(item, until)) for item in items]
    present = {item.pk: 0 for item in items}  # people there at any time during each item
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
            # Counted from the time itself: half a minute rounds to 0 minutes but was still there.
            if there:
                attendee.present_at.add(pk)
                present[pk] += 1
        attendees[key] = attendee
    ordered = sorted(attendees.values(), key=lambda a: (a.person is None, a.person.role if a.person else "", a.name, a.key))
    per_item = _items_attendance(items, ordered, present, until)
    joins_and_leaves = []
    if events:
        stamped = []
        for key, start, end in zip(keys, opened, closed):
            stamped.append((start, attendees[key], True))
            if end is not None:
                stamped.append((end, attendees[key], False))
        stamped.sort(key=lambda e: (e[0], e[1].name, e[2]))
        joins_and_leaves = [Event(moment_of(at), attendee, joined) for at, attendee, joined in stamped]
    return {"attendees": ordered, "items": items, "per_item": per_item, "events": joins_and_leaves,
            "connections": connections, "now": now,
            "invited": conference.people.count(), "grace_seconds": int(gap // SECOND),
            "pseudonymous": not named}


def _window(item, until):
    """An item's (start, end) in microseconds; an item still running ends now."""
    return stamp(item.started_at), stamp(item.ended_at) if item.ended_at else until


def presence(intervals):
    """How many people are there over time, from their (start, end) intervals (each person's
    merged): (moments, counts), from moments[i] on counts[i] are there."""
    # Each change is one number, the moment doubled and one added for joining: leaving sorts
    # before joining at the same instant (a handover is not two people at once), and a list of
    # numbers sorts many times faster than a list of pairs.
    changes = [2 * start + 1 for start, _end in intervals] + [2 * end for _start, end in intervals]
    changes.sort()
    moments = [change >> 1 for change in changes]
    counts = list(accumulate([2 * (change & 1) - 1 for change in changes]))
    # Of several changes at one instant, what counts is how many are there after them all.
    last = [moment != following for moment, following in zip(moments, moments[1:])] + [True]
    return list(compress(moments, last)), list(compress(counts, last))


def _items_attendance(items, attendees, present, until):
    """Each item's attendance, from one sweep over everybody's comings and goings (sorted once,
    not once per item); `present`: how many were there at any time during each item."""
    moments, counts = presence([interval for attendee in attendees for interval in attendee.intervals])
    # Person-microseconds from the first change to each change: whole numbers, exact.
    before = list(accumulate(map(mul, counts, map(sub, moments[1:], moments)), initial=0))

    def person_time(index, moment):
        """Person-microseconds until `moment`; `index`: the last change at or before it."""
        return before[index] + counts[index] * (moment - moments[index]) if index >= 0 else 0

    out = []
    for item in items:
        start, end = _window(item, until)
        if end <= start:
            out.append(ItemAttendance(item, present[item.pk], 0, 0.0))
            continue
        first = bisect.bisect_right(moments, start)  # changes up to and at the start
        last = bisect.bisect_left(moments, end)  # changes before the end
        here = counts[first - 1] if first else 0
        peak = max(here, max(counts[first:last], default=0))
        average = (person_time(last - 1, end) - person_time(first - 1, start)) / (end - start)
        out.append(ItemAttendance(item, present[item.pk], peak, round(average, 1)))
    return out


def people_rows(attendees, *, certificate_url=None, certificate_minimum=0):
    """The attendance page's table body: one row per attendee, with a link to their certificate
    when `certificate_url` is given and they stayed long enough.

    Built here rather than in a template loop: at two thousand rows Django's template engine
    spent a third of the page's second on them; these are the same cells, escaped the same way.
    """
    clock, roles, rows = _Clock(), {}, []
    for a in attendees:
        organization = f' <span class="muted">({escape(a.organization)})</span>' if a.organization else ""
        role = roles.get(a.role) or roles.setdefault(a.role, escape(a.role))
        first, last = (a.intervals[0][0], a.intervals[-1][1]) if a.intervals else (None, None)
        cells = [
            f'<tr><th scope="row">{escape(a.name)}{organization}</th><td>{role}</td>',
            f"<td>{clock(first)}</td><td>{clock(last)}</td>",
            f'<td data-minutes="{a.key}">{a.minutes}</td>',
        ]
        if certificate_url is not None:
            link = (f'<a href="{escape(certificate_url)}{a.person.pk}.pdf">PDF</a>'
                    if a.person and a.minutes >= certificate_minimum else "")
            cells.append(f"<td>{link}</td>")
        rows.append("".join(cells) + "</tr>")
    # Every value above is escaped or a number.
    return mark_safe("".join(rows))


class _Clock(dict):
    """Local hours and minutes of a moment in microseconds, worked out once per minute of the day
    (two thousand people came and went in a few hundred different minutes)."""

    def __call__(self, microseconds):
        if microseconds is None:
            return ""
        minute = microseconds // (60 * SECOND)
        text = self.get(minute)
        if text is None:
            text = self[minute] = timezone.localtime(moment_of(minute * 60 * SECOND)).strftime("%H:%M")
        return text
