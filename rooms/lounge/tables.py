"""The Stehtisch lounge: standing tables of six that people walk up to and leave, in the breaks."""

from functools import cached_property

from django.db import transaction
from django.db.models import Count

from agenda import state
from agenda.models import Phase
from rooms import places
from rooms.models import Room, RoomKind, TableSeat
from venue import fanout, groups, render, version
from venue.errors import Refused
from venue.permissions import find


class LoungeView:
    def __init__(self, conference_id):
        self.conference_id = conference_id

    @cached_property
    def tables(self):
        tables = list(
            Room.objects.filter(conference_id=self.conference_id, kind=RoomKind.TABLE)
            .annotate(standing=Count("seats"))
            .order_by("order")
        )
        people = {}
        for seat in TableSeat.objects.filter(table__in=tables).select_related("person").order_by("joined_at"):
            people.setdefault(seat.table_id, []).append(seat.person)
        for table in tables:
            table.people = people.get(table.pk, [])
            table.full = table.capacity is not None and table.standing >= table.capacity
        return tables


def _table(conference_id, table_id):
    table = find(Room, conference_id, table_id, message="There is no such table.")
    if table.kind != RoomKind.TABLE:
        raise Refused("not_found", "There is no such table.")
    return table


def join(person, table_id):
    with transaction.atomic():
        table = _table(person.conference_id, table_id)
        if state.phase_now(person.conference_id) != Phase.BREAK:
            raise Refused("lounge_closed", "The standing tables are open in the breaks.")
        seat = TableSeat.objects.filter(person=person).first()
        if seat is not None and seat.table_id == table.pk:
            raise Refused("already_there", "You are already at this table.")
        places.hold_seats(table)
        if table.capacity is not None and TableSeat.objects.filter(table=table).exclude(person=person).count() >= table.capacity:
            raise Refused("table_full", "This table is full; try another one.")
        TableSeat.objects.update_or_create(person=person, defaults={"table": table})
        _moved(person, table.pk)
    return table


def leave(person):
    with transaction.atomic():
        removed, _kinds = TableSeat.objects.filter(person=person).delete()
        if not removed:
            raise Refused("not_at_a_table", "You are not at a table.")
        lounge = Room.objects.filter(conference_id=person.conference_id, kind=RoomKind.LOUNGE).first()
        _moved(person, lounge.pk if lounge else None)


def _moved(person, room_id):
    version.bump(person.conference_id)
    places.move_person_on_commit(person.pk, room_id)
    transaction.on_commit(lambda: publish(person.conference_id))


def publish(conference_id):
    """The tables and who stands at them, to everyone in the lounge and at its tables."""
    view = LoungeView(conference_id)
    rooms = [r.pk for r in Room.objects.filter(conference_id=conference_id, kind__in=[RoomKind.LOUNGE, RoomKind.TABLE])]
    for language in render.languages_of(conference_id):
        text = render.render(("lounge/_tables.html",), {"lounge": view}, groups.PARTICIPANTS, language)
        for room_id in rooms:
            fanout.publish_sync(groups.room(conference_id, room_id, language), text)


def on_item_ended(sender, item, **kwargs):
    """A break is over: nobody stands at a table any more (the next break starts afresh)."""
    if item.phase == Phase.BREAK:
        TableSeat.objects.filter(table__conference_id=item.conference_id).delete()
