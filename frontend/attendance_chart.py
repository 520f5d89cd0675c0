"""The attendance page's chart: how many people were in each room over the day, with the agenda
items marked, as server-rendered SVG (no JavaScript) and the same figures as a table.

Built from the stays that presence recorded (`rooms.models.Stay`: where each socket was). One
person counts once per room however many tabs they had there, and a gap shorter than the grace
period counts as staying, as in `frontend.attendance`. The lounge and its standing tables are
one line. Lines differ in colour (each at least 3:1 against the white background), in dash
pattern and by the room's name written at the line's end.
"""

import bisect
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import groupby
from operator import itemgetter

from django.utils import timezone
from django.utils.translation import gettext as _

from frontend.attendance import fetch, grace, merged, utc
from rooms.models import Room, RoomKind, Stay

SLOT = timedelta(minutes=15)
SAMPLE = timedelta(minutes=1)
# Colour, dash pattern: each colour has a contrast of 5:1 or more against white.
STYLES = [("#1f4e79", ""), ("#a23b1f", "8 4"), ("#2e6b30", "2 3"), ("#6a3d9a", "10 3 2 3"),
          ("#8a5a00", "4 4"), ("#00607a", "12 4"), ("#b0246a", "1 3"), ("#4d4d4d", "6 2 2 2")]
WIDTH, HEIGHT = 960, 380
LEFT, RIGHT, TOP, BOTTOM = 52, 190, 36, 48
LABEL_SPACING = 14
LOUNGE = "lounge"


@dataclass
class Line:
    key: str  # "room-<id>" or "lounge" (the lounge and its tables)
    name: str
    changes: list = field(default_factory=list)  # [(time, people present from then on)]
    colour: str = ""
    dash: str = ""
    points: str = ""  # the SVG polyline
    slots: list = field(default_factory=list)  # most people at once in each slot
    label_y: int = 0

    def at(self, moment):
        """People present at this instant."""
        index = bisect.bisect_right(self.changes, (moment, float("inf"))) - 1
        return self.changes[index][1] if index >= 0 else 0

    def most(self, start, end):
        """Most people at once in [start, end)."""
        peak = self.at(start)
        index = bisect.bisect_right(self.changes, (start, float("inf")))
        while index < len(self.changes) and self.changes[index][0] < end:
            peak = max(peak, self.changes[index][1])
            index += 1
        return peak


def line_of(rooms):
    """Each room's line: the plenary and each forum its own, the lounge and its tables one."""
    keys, lines = {}, {}
    for room in rooms:
        if room.kind in (RoomKind.LOUNGE, RoomKind.TABLE):
            keys[room.pk] = LOUNGE
            lines.setdefault(LOUNGE, Line(LOUNGE, _("Lounge and tables")))
        else:
            keys[room.pk] = f"room-{room.pk}"
            lines[keys[room.pk]] = Line(keys[room.pk], room.name)
    return keys, lines


def room_lines(conference, connections, now):
    """The lines with their changes, in the rooms' order, and the first and last moment of a stay.
    `connections`: each connection's attendee and end ({id: (attendee, closed or now)}), as the
    attendance report read them."""
    keys, lines = line_of(Room.objects.filter(conference=conference).order_by("order", "pk"))
    rows = fetch(Stay.objects.filter(connection__conference=conference)
                 .order_by("connection_id", "entered_at", "pk")
                 .values_list("connection_id", "room_id", "entered_at"))
    by_line = {}  # line key -> attendee -> [(start, end)]
    for connection, stays in groupby(rows, key=itemgetter(0)):
        if connection not in connections:
            continue
        attendee, closed = connections[connection]
        stays = [(room_id, utc(entered)) for _connection, room_id, entered in stays]
        # A stay ends where the same connection's next one begins, or when the connection closed.
        ends = [entered for _room, entered in stays[1:]] + [closed]
        for (room_id, entered), end in zip(stays, ends):
            if room_id in keys and end > entered:
                by_line.setdefault(keys[room_id], {}).setdefault(attendee, []).append((entered, end))
    gap = grace()
    for key, people in by_line.items():
        steps = []
        for intervals in people.values():
            for start, end in merged(intervals, gap):
                steps.append((start, 1))
                steps.append((end, -1))
        # Leaving sorts before joining at the same instant: a handover is not two people at once.
        steps.sort()
        here, changes = 0, []
        for moment, step in steps:
            here += step
            if changes and changes[-1][0] == moment:
                changes[-1] = (moment, here)
            else:
                changes.append((moment, here))
        lines[key].changes = changes
    moments = [moment for line in lines.values() for moment, _here in line.changes[:1] + line.changes[-1:]]
    return list(lines.values()), min(moments, default=None), max(moments, default=None)


def span(items, first, last, now):
    """The chart's time axis: the whole day, from the first item or stay to the last, in
    quarter hours."""
    starts = [item.started_at for item in items] + ([first] if first else [])
    ends = [item.ended_at or now for item in items] + ([last] if last else [])
    if not starts:
        return None
    start, end = min(starts), max(ends)
    start = start - timedelta(minutes=timezone.localtime(start).minute % 15, seconds=start.second,
                              microseconds=start.microsecond)
    slots = max(1, -(-(end - start) // SLOT))
    return start, start + slots * SLOT


def nice_step(top, ticks=5):
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if top / step <= ticks:
            return step
    return 10000


def chart(conference, data):
    """Everything the chart's template draws, or None before anybody was in a room; `data` is
    the day's attendance report (`frontend.attendance.report`)."""
    now, per_item = data["now"], data["per_item"]
    lines, first, last = room_lines(conference, data["connections"], now)
    items = [row.item for row in per_item]
    day = span(items, first, last, now)
    lines = [line for line in lines if line.changes]
    if day is None or not lines:
        return None
    start, end = day
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    length = (end - start).total_seconds()

    def x(moment):
        return round(LEFT + (moment - start).total_seconds() / length * plot_w, 1)

    slot_starts = [start + n * SLOT for n in range((end - start) // SLOT)]
    for number, line in enumerate(lines):
        line.colour, line.dash = STYLES[number % len(STYLES)]
        line.slots = [line.most(moment, moment + SLOT) for moment in slot_starts]
    top = max(max(line.slots) for line in lines)
    step = nice_step(max(top, 1))
    y_max = max(step, -(-top // step) * step)

    def y(count):
        return round(TOP + plot_h - count / y_max * plot_h, 1)

    samples = [start + n * SAMPLE for n in range(int(length // SAMPLE.total_seconds()) + 1)]
    for line in lines:
        line.points = " ".join(f"{x(moment)},{y(line.at(moment))}" for moment in samples)
    # Each line's name at its end, moved apart where two lines end close together.
    placed = sorted(lines, key=lambda line: y(line.at(samples[-1])))
    previous = None
    for line in placed:
        line.label_y = round(y(line.at(samples[-1]))) + 4
        if previous is not None and line.label_y < previous + LABEL_SPACING:
            line.label_y = previous + LABEL_SPACING
        previous = line.label_y
    overflow = previous - (HEIGHT - 4)
    if overflow > 0:
        for line in placed:
            line.label_y -= overflow
    hour_step = 1 if length > 3 * 3600 else 0.5 if length > 3600 else 0.25
    ticks = []
    moment = start
    while moment <= end:
        local = timezone.localtime(moment)
        minutes_in = local.hour * 60 + local.minute
        if minutes_in % round(hour_step * 60) == 0:
            ticks.append({"x": x(moment), "label": local.strftime("%H:%M")})
        moment += SLOT
    marks = []
    for number, row in enumerate(per_item, start=1):
        item_start, item_end = max(row.item.started_at, start), min(row.item.ended_at or now, end)
        marks.append({"number": number, "row": row, "x": x(item_start), "width": max(0.0, x(item_end) - x(item_start)),
                      "shaded": number % 2 == 0})
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right_edge": WIDTH - RIGHT, "top": TOP,
        "bottom_edge": HEIGHT - BOTTOM, "middle": LEFT + plot_w // 2, "plot_height": plot_h, "label_x": WIDTH - RIGHT + 6,
        "lines": lines, "marks": marks, "x_ticks": ticks,
        "y_ticks": [{"y": y(n), "label": n} for n in range(0, y_max + 1, step)],
        "slots": [{"start": moment, "end": moment + SLOT, "counts": [(line, line.slots[n]) for line in lines]}
                  for n, moment in enumerate(slot_starts)],
        "start": start, "end": end, "peak": top,
    }
