"""Where each person is: the place follows from the day's phase and, in the forums, from the
person's assignment; in a break, from the table they stand at. The consumer moves its socket
between room groups when this changes (a "placement" control message)."""

from django.db import transaction
from django.db.models import Count

from agenda import state
from agenda.models import Phase
from rooms.models import ForumAssignment, Room, RoomKind, TableSeat
from venue import fanout, groups, version
from venue.prepared import Prepared


def room_for_phase(conference_id, day):
    """The room everybody is in for the day's phase; forums are per person and give None."""
    if day.phase == Phase.FORUMS:
        return None
    if day.live is not None and day.live.room is not None:
        return day.live.room
    kind = RoomKind.LOUNGE if day.phase == Phase.BREAK else RoomKind.PLENARY
    return Room.objects.filter(conference_id=conference_id, kind=kind).order_by("order").first()


def placement(conference_id, day=None):
    """{"default": room id or None, "people": {person id (str): room id}}: everyone's place.

    Sent to every process as a control message when the phase changes, so that each socket can
    find its own place without a database query.
    """
    day = day or state.load(conference_id)
    if day.phase == Phase.FORUMS:
        people = {
            str(person_id): room_id
            for person_id, room_id in ForumAssignment.objects.filter(
                room__conference_id=conference_id
            ).values_list("person_id", "room_id")
        }
        # Facilitators are in the forum they lead, whether or not anyone assigned them.
        led = Room.objects.filter(conference_id=conference_id, kind=RoomKind.FORUM, facilitator__isnull=False)
        for room_id, facilitator_id in led.values_list("pk", "facilitator_id"):
            people[str(facilitator_id)] = room_id
        return {"default": waiting_room(conference_id), "people": people}
    room = room_for_phase(conference_id, day)
    people = {}
    if day.phase == Phase.BREAK:
        # In a break, people at a standing table are there; the rest are in the lounge.
        people = {
            str(person_id): table_id
            for person_id, table_id in TableSeat.objects.filter(
                table__conference_id=conference_id
            ).values_list("person_id", "table_id")
        }
    return {"default": room.pk if room else None, "people": people}


# What `place_of` reads for each connecting socket (venue/prepared.py).
_led_forum = Prepared(
    lambda person: Room.objects.filter(facilitator_id=person, kind=RoomKind.FORUM).order_by("order", "name").values_list("pk")[:1],
    person=int,
)
_forum_seat = Prepared(lambda person: ForumAssignment.objects.filter(person_id=person).order_by().values_list("room_id")[:1], person=int)
_table_seat = Prepared(lambda person: TableSeat.objects.filter(person_id=person).order_by().values_list("table_id")[:1], person=int)


def place_of(person, day=None):
    """One person's place, with a few small queries (every connecting socket asks this)."""
    if day is not None:
        found = placement(person.conference_id, day)
        return found["people"].get(str(person.pk), found["default"])
    live = state.live_item(person.conference_id)
    phase = live.phase if live is not None else None
    if phase == Phase.FORUMS:
        led = _led_forum.first(person=person.pk)
        if led is not None:
            return led
        seat = _forum_seat.first(person=person.pk)
        return seat if seat is not None else waiting_room(person.conference_id)
    if phase == Phase.BREAK:
        table = _table_seat.first(person=person.pk)
        if table is not None:
            return table
    if live is not None and live.room_id is not None:
        return live.room_id
    kind = RoomKind.LOUNGE if phase == Phase.BREAK else RoomKind.PLENARY
    return version.shared(
        person.conference_id, f"first_room.{kind}",
        lambda: Room.objects.filter(conference_id=person.conference_id, kind=kind).order_by("order").values_list("pk", flat=True).first(),
    )


def forums_full(conference_id):
    """True if every forum has as many members as seats (and there is at least one forum)."""
    forums = Room.objects.filter(conference_id=conference_id, kind=RoomKind.FORUM).annotate(members=Count("assignments"))
    seats = [(room.capacity, room.members) for room in forums]
    return bool(seats) and all(capacity is not None and members >= capacity for capacity, members in seats)


def waiting_room(conference_id):
    """Where someone without a forum is during the forum phase: choosing one (None) while a seat
    is free; in the plenary, listening, once every forum is full, until a seat is theirs."""
    if not forums_full(conference_id):
        return None
    return Room.objects.filter(conference_id=conference_id, kind=RoomKind.PLENARY).order_by("order").values_list("pk", flat=True).first()


def room_of(conference_id, room_id):
    if room_id is None:
        return None
    return Room.objects.filter(conference_id=conference_id, pk=room_id).first()


def send_everyone(conference_id, day=None, version=None):
    """Every socket of the conference, on every process, goes to its place now."""
    payload = {"kind": "placement", **placement(conference_id, day)}
    if version is not None:
        payload["version"] = version
    fanout.control_sync(groups.everyone(conference_id), payload)


def move_person_on_commit(person_id, room_id):
    """Once the transaction has committed, this person's sockets go to `room_id`."""
    payload = {"kind": "placement", "default": room_id, "people": {}}
    transaction.on_commit(lambda: fanout.control_sync(groups.person(person_id), payload))


def hold_seats(*rooms):
    """Lock these rooms' rows until the transaction ends, so that their seats are counted and
    taken by one joiner at a time, whichever process the joiners come through (PostgreSQL;
    SQLite runs one write transaction at a time anyway). Always in the order of their ids, so
    that two joiners who want the same rooms never wait for each other in a circle."""
    ids = sorted({room.pk for room in rooms})
    list(Room.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
