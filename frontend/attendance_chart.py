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

from django.utils import timezone
from django.utils.translation import gettext as _

from frontend.attendance import MICROSECOND, as_text, column, fetch, grace, merged, moment_of, presence, stamp, stamps
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
    # When the number of people present changed (microseconds since 1970), and to what.
    moments: list = field(default_factory=list)
    counts: list = field(default_factory=list)
    colour: str = ""
    dash: str = ""
    points: str = ""  # the SVG polyline
    slots: list = field(default_factory=list)  # most people at once in each slot
    label_y: int = 0

    def at(self, moment):
        """People present at this instant (an aware datetime)."""
        return self.count_at(stamp(moment))

    def count_at(self, microseconds):
        index = bisect.bisect_right(self.moments, microseconds) - 1
        return self.counts[index] if index >= 0 else 0

    def most(self, start, end):
        """Most people at once in [start, end) (microseconds)."""
        first, last = bisect.bisect_right(self.moments, start), bisect.bisect_left(self.moments, end)
        return max(self.count_at(start), max(self.counts[first:last], default=0))


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
    `connections`: each connection's attendee and end in microseconds ({id: (attendee, closed or
    now)}), as the attendance report read them."""
    keys, lines = line_of(Room.objects.filter(conference=conference).order_by("order", "pk"))
    rows = fetch(Stay.objects.filter(connection__conference=conference)
                 .order_by("connection_id", "entered_at", "pk")
                 .values_list("connection_id", "room_id", as_text("entered_at")))
    entered = stamps(column(rows, 2))
    by_line = {key: {} for key in lines}  # line key -> attendee -> [(start, end)]
    # A stay ends where the same connection's next one begins, or when the connection closed.
    following = zip(rows, entered, rows[1:] + [(None,)], entered[1:] + [None])
    for (connection, room_id, _entered), start, (next_connection, *_rest), next_start in following:
        key, owner = keys.get(room_id), connections.get(connection)
        if key is None or owner is None:
            continue
        end = next_start if next_connection == connection else owner[1]
        if end > start:
            by_line[key].setdefault(owner[0], []).append((start, end))
    gap = grace() // MICROSECOND
    for key, people in by_line.items():
        line = lines[key]
        line.moments, line.counts = presence([interval for intervals in people.values()
                                              for interval in merged(intervals, gap)])
    ends = [moment for line in lines.values() for moment in line.moments[:1] + line.moments[-1:]]
    first, last = min(ends, default=None), max(ends, default=None)
    return (list(lines.values()), moment_of(first) if first is not None else None,
            moment_of(last) if last is not None else None)


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
    lines = [line for line in lines if line.moments]
    if day is None or not lines:
        return None
    start, end = day
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    length = (end - start).total_seconds()

    def x(moment):
        return round(LEFT + (moment - start).total_seconds() / length * plot_w, 1)

    slot_starts = [start + n * SLOT for n in range((end - start) // SLOT)]
    slot_stamps = [stamp(moment) for moment in slot_starts]
    slot_length = SLOT // MICROSECOND
    for number, line in enumerate(lines):
        line.colour, line.dash = STYLES[number % len(STYLES)]
        line.slots = [line.most(moment, moment + slot_length) for moment in slot_stamps]
    top = max(max(line.slots) for line in lines)
    step = nice_step(max(top, 1))
    y_max = max(step, -(-top // step) * step)

    def y(count):
        return round(TOP + plot_h - count / y_max * plot_h, 1)

    samples = [start + n * SAMPLE for n in range(int(length // SAMPLE.total_seconds()) + 1)]
    # Where each sample lies on the x axis is the same for every line.
    xs = [(x(moment), stamp(moment)) for moment in samples]
    for line in lines:
        line.points = " ".join(f"{at_x},{y(line.count_at(moment))}" for at_x, moment in xs)
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
