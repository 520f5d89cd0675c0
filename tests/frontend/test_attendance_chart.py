"""Attendance at a glance: the organizer's chart of people present per room over the day, with its
figures as a table, on a scripted day; and the stays that a real socket leaves behind."""

import datetime
import re

from django.utils import timezone

from agenda.models import AgendaItem, ItemState
from frontend import attendance, attendance_chart
from rooms import presence
from rooms.models import Connection, Room, RoomKind, Stay
from tests.support.clients import connect, signed_in_as, someone
from tests.support.day import at, ran
from venue.models import Role


def socket(person, opened, closed, *stays):
    """A connection from `opened` to `closed` (minutes) and where it was: (minute, room)."""
    connection = Connection.objects.create(person=person, process="p", opened_at=at(opened),
                                           closed_at=at(closed) if closed is not None else None)
    for minute, room in stays:
        Stay.objects.create(connection=connection, room=room, entered_at=at(minute))
    return connection


def scripted_day(conference, participants):
    """Welcome 0–20 and talk 20–40 in the plenary, lunch 40–60 in the lounge."""
    items = list(AgendaItem.objects.filter(conference=conference).order_by("order"))
    welcome, talk, lunch = items[0], items[1], next(i for i in items if i.room and i.room.kind == RoomKind.LOUNGE)
    ran((welcome, 0), (talk, 20), (lunch, 40))
    rooms = {room.slug: room for room in Room.objects.filter(conference=conference)}
    plenum, lounge = rooms["plenum"], rooms["lounge"]
    forum = Room.objects.filter(conference=conference, kind=RoomKind.FORUM).order_by("order").first()
    table = Room.objects.filter(conference=conference, kind=RoomKind.TABLE).order_by("order").first()
    alice, bob, carla = participants[:3]
    # Alice stays all day: the plenary, then the lounge, then a standing table (the same line).
    socket(alice, 0, 60, (0, plenum), (40, lounge), (45, table))
    # Bob is away from minute 30 to 35 (longer than the grace period).
    socket(bob, 5, 30, (5, plenum))
    socket(bob, 35, 38, (35, plenum))
    # Carla sits in a forum with two tabs open: she counts once; before that she chose (no room).
    socket(carla, 20, 30, (20, None), (22, forum))
    socket(carla, 24, 38, (24, forum))
    return {"plenum": plenum, "forum": forum, "lounge": lounge, "items": (welcome, talk, lunch)}


def slot_figures(page):
    cells = re.findall(r'<td data-slot="([\d:]+)" data-room="([\w-]+)">(\d+)</td>', page)
    return {(slot, room): int(count) for slot, room, count in cells}


def test_the_chart_shows_people_per_room_over_the_day_and_its_table_says_the_same(conference, participants):
    day = scripted_day(conference, participants)
    plenum, forum = f"room-{day['plenum'].pk}", f"room-{day['forum'].pk}"
    organizer = signed_in_as(someone(conference, Role.ORGANIZER))
    page = organizer.get("/organizer/attendance/", HTTP_ACCEPT_LANGUAGE="de").content.decode()

    # The SVG has a name, a description, and a line per room that anyone was in.
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="attendance-chart-title attendance-chart-desc"' in svg
    assert "<title id=\"attendance-chart-title\">" in svg and "<desc id=\"attendance-chart-desc\">" in svg
    assert set(re.findall(r'<polyline data-line="([\w-]+)"', svg)) == {plenum, forum, "lounge"}
    # Each line is named at its end and has its own dash pattern.
    for name in ("Plenum", "Stehtische"):
        assert name in svg
    dashes = re.findall(r'<polyline data-line="[\w-]+" points="[^"]*" stroke="#\w+"(?: stroke-dasharray="([^"]*)")?', svg)
    assert len(set(dashes)) == 3
    # The agenda items are marked, numbered, with their titles.
    for item in day["items"]:
        assert f'data-item="{item.pk}"' in svg and item.title in page

    # Most people at once per quarter hour (Berlin time): Carla's two tabs count once, the
    # lounge and its table are one line.
    assert slot_figures(page) == {
        ("10:30", plenum): 2, ("10:45", plenum): 2, ("11:00", plenum): 2, ("11:15", plenum): 0,
        ("10:30", forum): 0, ("10:45", forum): 1, ("11:00", forum): 1, ("11:15", forum): 0,
        ("10:30", "lounge"): 0, ("10:45", "lounge"): 0, ("11:00", "lounge"): 1, ("11:15", "lounge"): 1,
    }
    assert "<details>" in page and "attendance-slots" in page

    # The x-axis covers the day, in Berlin time: from 10:30 to 11:30.
    assert re.search(r'data-start="2021-11-29T10:30:00\+01:00" data-end="2021-11-29T11:30:00\+01:00"', svg)
    assert re.findall(r'data-tick="([\d:]+)"', svg) == ["10:30", "10:45", "11:00", "11:15", "11:30"]


def test_the_lines_count_people_at_each_instant(conference, participants):
    day = scripted_day(conference, participants)
    data = attendance.report(conference, now=at(120))
    lines = {line.key: line for line in attendance_chart.room_lines(conference, data["connections"], data["now"])[0]}
    plenum, forum = lines[f"room-{day['plenum'].pk}"], lines[f"room-{day['forum'].pk}"]
    assert [plenum.at(at(m)) for m in (0, 4, 5, 29, 32, 36, 39, 41)] == [1, 1, 2, 2, 1, 2, 1, 0]
    # Carla chose for two minutes (in no room), then one person in the forum however many tabs.
    assert [forum.at(at(m)) for m in (21, 23, 25, 31, 37, 38)] == [0, 1, 1, 1, 1, 0]
    assert [lines["lounge"].at(at(m)) for m in (39, 40, 50, 60)] == [0, 1, 1, 0]


def test_while_the_day_runs_the_axis_reaches_now(conference, participants):
    now = timezone.now()
    welcome = AgendaItem.objects.filter(conference=conference).order_by("order").first()
    welcome.state, welcome.started_at = ItemState.LIVE, now - datetime.timedelta(minutes=50)
    welcome.save()
    plenum = Room.objects.get(conference=conference, slug="plenum")
    connection = Connection.objects.create(person=participants[0], process="p", opened_at=welcome.started_at)
    Stay.objects.create(connection=connection, room=plenum, entered_at=welcome.started_at)

    page = signed_in_as(someone(conference, Role.ORGANIZER)).get("/organizer/attendance/").content.decode()
    start, end = (datetime.datetime.fromisoformat(s) for s in
                  re.search(r'data-start="([^"]+)" data-end="([^"]+)"', page).groups())
    assert start <= welcome.started_at and end >= now
    assert end - start <= datetime.timedelta(minutes=50 + 2 * 15)
    # The one participant is in the plenary now: the last quarter hour counts her.
    assert slot_figures(page)[(timezone.localtime(end - attendance_chart.SLOT).strftime("%H:%M"), f"room-{plenum.pk}")] == 1


def test_before_anybody_was_in_a_room_the_page_says_so(conference):
    page = signed_in_as(someone(conference, Role.ORGANIZER)).get("/organizer/attendance/").content.decode()
    assert "attendance-chart-title" not in page and "Noch war niemand in einem Raum" in page


async def test_a_socket_records_where_it_was_as_it_moves(conference, moderator, participants, layer):
    alice = await connect(participants[0])
    await alice.receive_until(lambda f: 'id="place"' in f)
    console = await connect(moderator)
    await console.receive()
    lunch = await AgendaItem.objects.filter(conference=conference, phase="break").order_by("order").afirst()
    assert (await console.command("agenda.start", item=lunch.pk))["type"] == "ack"
    await alice.receive_until(lambda f: 'id="place"' in f and "place-lounge" in f)
    await presence.flush_stays()
    stays = [(room.kind if room else None) async for room in
             (await_rooms(Stay.objects.filter(connection__person=participants[0]).order_by("entered_at")))]
    assert stays == [RoomKind.PLENARY, RoomKind.LOUNGE]
    await alice.close()
    await console.close()


async def await_rooms(stays):
    async for stay in stays.select_related("room"):
        yield stay.room
