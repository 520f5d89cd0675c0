"""Where each person is: the place follows from the day's phase and, in the forums, from the
person's assignment. The consumer moves its socket between room groups when this changes."""

from agenda import state
from agenda.models import Phase
from rooms.models import ForumAssignment, Room, RoomKind, TableSeat


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
        for room in day.forums:
            if room.facilitator_id:
                people[str(room.facilitator_id)] = room.pk
        return {"default": None, "people": people}
    if day.phase == Phase.BREAK:
        # In a break, people at a standing table are there; the rest are in the lounge.
        people = {
            str(person_id): table_id
            for person_id, table_id in TableSeat.objects.filter(
                table__conference_id=conference_id
            ).values_list("person_id", "table_id")
        }
        return {"default": day.room.pk if day.room else None, "people": people}
    return {"default": day.room.pk if day.room else None, "people": {}}


def place_of(person, day=None):
    """One person's place, with a few small queries (every connecting socket asks this)."""
    if day is not None:
        found = placement(person.conference_id, day)
        return found["people"].get(str(person.pk), found["default"])
    from agenda.models import AgendaItem, ItemState

    live = AgendaItem.objects.filter(conference_id=person.conference_id, state=ItemState.LIVE).first()
    phase = live.phase if live is not None else None
    if phase == Phase.FORUMS:
        led = Room.objects.filter(facilitator=person, kind=RoomKind.FORUM).values_list("pk", flat=True).first()
        if led is not None:
            return led
        return ForumAssignment.objects.filter(person=person).values_list("room_id", flat=True).first()
    if phase == Phase.BREAK:
        table = TableSeat.objects.filter(person=person).values_list("table_id", flat=True).first()
        if table is not None:
            return table
    if live is not None and live.room_id is not None:
        return live.room_id
    kind = RoomKind.LOUNGE if phase == Phase.BREAK else RoomKind.PLENARY
    return Room.objects.filter(conference_id=person.conference_id, kind=kind).order_by("order").values_list("pk", flat=True).first()


def room_of(conference_id, room_id):
    if room_id is None:
        return None
    return Room.objects.filter(conference_id=conference_id, pk=room_id).first()
