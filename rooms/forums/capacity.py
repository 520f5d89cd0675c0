"""More people than seats: during the forum phase the moderator raises a forum's capacity or
opens an overflow forum with a facilitator chosen on the spot; `seating.assign_rest` then seats
the rest. Whoever waits without a seat listens in the plenary (`places.waiting_room`) and is
moved as soon as a seat is theirs (the placement that follows every change here)."""

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import translation
from django.utils.translation import gettext as _

from agenda import state
from agenda.models import Phase
from rooms.forums.view import changed, forum_of
from rooms.models import ForumAssignment, Room, RoomKind
from venue.errors import Refused
from venue.models import Person
from venue.permissions import find, require_stage_manager

MAX_CAPACITY = 2000
MAX_NAME_LENGTH = 120


def _check_capacity(capacity):
    if not 1 <= capacity <= MAX_CAPACITY:
        raise Refused("invalid_field", f"A forum has 1 to {MAX_CAPACITY} seats.")


def set_capacity(conference_id, room_id, capacity, *, by):
    """A forum gets `capacity` seats; never fewer than the people already in it."""
    require_stage_manager(by, conference_id)
    _check_capacity(capacity)
    with transaction.atomic():
        room = forum_of(conference_id, room_id)
        room = Room.objects.select_for_update().get(pk=room.pk)
        members = ForumAssignment.objects.filter(room=room).count()
        if capacity < members:
            raise Refused("invalid_field", f"{members} people are in this forum already.")
        room.capacity = capacity
        room.save(update_fields=["capacity"])
        changed(conference_id, None, board=False, placement=state.phase_now(conference_id) == Phase.FORUMS)
    return room


def open_overflow(conference_id, facilitator_id, capacity, name="", *, by):
    """A further forum, while the forums are in session, led by `facilitator_id` (who leaves
    the forum they sat in)."""
    require_stage_manager(by, conference_id)
    _check_capacity(capacity)
    name = " ".join(name.split())[:MAX_NAME_LENGTH]
    with transaction.atomic():
        if state.phase_now(conference_id) != Phase.FORUMS:
            raise Refused("phase_closed", "The forums are not in session.")
        facilitator = find(Person, conference_id, facilitator_id, message="There is no such person here.")
        if not facilitator.is_active:
            raise Refused("not_found", "There is no such person here.")
        if Room.objects.filter(conference_id=conference_id, kind=RoomKind.FORUM, facilitator=facilitator).exists():
            raise Refused("invalid_field", "This person leads a forum already.")
        forums = Room.objects.filter(conference_id=conference_id, kind=RoomKind.FORUM)
        number = forums.count() + 1
        order = (forums.aggregate(last=Max("order"))["last"] or 0) + 1
        slug = f"forum-overflow-{number}"
        while Room.objects.filter(conference_id=conference_id, slug=slug).exists():
            number += 1
            slug = f"forum-overflow-{number}"
        if not name:
            # A room's name is the conference's, not the moderator's page language.
            with translation.override(settings.LANGUAGE_CODE):
                name = _("Additional forum %(number)s") % {"number": number}
        room = Room.objects.create(conference_id=conference_id, slug=slug, name=name, kind=RoomKind.FORUM,
                                   capacity=capacity, order=order, facilitator=facilitator)
        ForumAssignment.objects.filter(person=facilitator).delete()
        changed(conference_id, None, board=False, placement=True)
    return room
