"""Who sits in which forum: ranked wishes, seating at the start of the phase, switching, the
moderator's moves, and the phase's clock (more time, a word to every forum)."""

import datetime

from django.db import transaction
from django.utils import timezone

from agenda import state
from agenda.models import Phase
from rooms import places
from rooms.forums import assignment
from rooms.forums.view import ForumView, changed, forum_of, publish
from rooms.models import (
    ForumAssignment,
    ForumChoice,
    ForumSettings,
    Room,
    RoomKind,
)
from rooms.plenary import stage
from venue.errors import Refused
from venue.models import Person, Role
from venue.permissions import find, require_moderator, require_stage_manager


def _has_seat(room, excluding=None):
    """Whether `room` has a seat free; the room stays locked until the transaction ends, so
    that nobody else takes the seat between this count and the caller's insert."""
    if room.capacity is None:
        return True
    places.hold_seats(room)
    members = ForumAssignment.objects.filter(room=room)
    if excluding is not None:
        members = members.exclude(person=excluding)
    return members.count() < room.capacity


def choose(person, room_ids):
    """Record ranked wishes; while the forum phase runs, the first wish with a seat is joined."""
    if person.role != Role.PARTICIPANT and person.role != Role.SPEAKER:
        raise Refused("forbidden", "Only participants choose a forum.")
    room_ids = list(dict.fromkeys(room_ids))
    if not 1 <= len(room_ids) <= MAX_CHOICES:
        raise Refused("invalid_field", f"Choose 1 to {MAX_CHOICES} forums.")
    with transaction.atomic():
        rooms = [forum_of(person.conference_id, room_id) for room_id in room_ids]
        ForumChoice.objects.filter(person=person).delete()
        ForumChoice.objects.bulk_create(
            ForumChoice(person=person, room=room, rank=rank) for rank, room in enumerate(rooms, start=1)
        )
        joined = None
        if state.phase_now(person.conference_id) == Phase.FORUMS and not ForumAssignment.objects.filter(person=person).exists():
            places.hold_seats(*rooms)
            joined = next((room for room in rooms if _has_seat(room)), None)
            if joined is None:
                raise Refused("forum_full", "These forums are full; please choose another one.")
            ForumAssignment.objects.create(person=person, room=joined)
            places.move_person_on_commit(person.pk, joined.pk)
        # The last free seat taken: whoever is still choosing waits in the plenary now.
        filled = joined is not None and places.forums_full(person.conference_id)
        changed(person.conference_id, joined.pk if joined else None, board=False, placement=filled)
    return joined


def switch(person, room_id):
    """A participant walks to another forum: only if switching is allowed and a seat is free."""
    with transaction.atomic():
        room = forum_of(person.conference_id, room_id)
        if state.phase_now(person.conference_id) != Phase.FORUMS:
            raise Refused("phase_closed", "The forums are not in session.")
        settings = ForumSettings.objects.filter(conference_id=person.conference_id).first()
        current = ForumAssignment.objects.filter(person=person).first()
        if current is not None and not (settings and settings.allow_switching):
            raise Refused("switching_not_allowed", "The moderation has not opened the forums for switching.")
        if current is not None and current.room_id == room.pk:
            raise Refused("already_there", "You are already in this forum.")
        if not _has_seat(room, excluding=person):
            raise Refused("forum_full", "This forum is full.")
        old = current.room_id if current else None
        ForumAssignment.objects.update_or_create(person=person, defaults={"room": room, "assigned_by": None})
        places.move_person_on_commit(person.pk, room.pk)
        changed(person.conference_id, old, overview=True, board=False)
    return room


def move(conference_id, person_id, room_id, *, by):
    """The moderator moves one person into a forum (capacity still holds)."""
    require_stage_manager(by, conference_id)
    with transaction.atomic():
        person = find(Person, conference_id, person_id, message="There is no such person here.")
        room = forum_of(conference_id, room_id)
        if not _has_seat(room, excluding=person):
            raise Refused("forum_full", "This forum is full.")
        ForumAssignment.objects.update_or_create(person=person, defaults={"room": room, "assigned_by": by})
        in_session = state.phase_now(conference_id) == Phase.FORUMS
        if in_session:
            places.move_person_on_commit(person.pk, room.pk)
        changed(conference_id, None, board=False, placement=in_session and places.forums_full(conference_id))
    return room


def assign_rest(conference_id, *, by):
    """Seat everybody without a forum: wishes first, then the emptiest forums."""
    require_stage_manager(by, conference_id)
    return _seat(conference_id, by=by, only_with_wishes=False)


def _seat(conference_id, *, by, only_with_wishes):
    with transaction.atomic():
        forums = list(Room.objects.filter(conference_id=conference_id, kind=RoomKind.FORUM).order_by("order"))
        places.hold_seats(*forums)
        people = list(
            Person.objects.filter(conference_id=conference_id, role__in=[Role.PARTICIPANT, Role.SPEAKER], revoked_at=None)
            # A participant asked on the spot to lead a forum (capacity.open_overflow) leads it.
            .exclude(facilitated_rooms__kind=RoomKind.FORUM)
            .order_by("created_at", "pk").values_list("pk", flat=True)
        )
        existing = dict(ForumAssignment.objects.filter(room__in=forums).values_list("person_id", "room_id"))
        wishes = {}
        for person_id, room_id in ForumChoice.objects.filter(room__in=forums).order_by("rank").values_list("person_id", "room_id"):
            wishes.setdefault(person_id, []).append(room_id)
        if only_with_wishes:
            people = [pk for pk in people if pk in wishes]
        # Earlier wishes count first.
        people.sort(key=lambda pk: (pk not in wishes, pk))
        seated = assignment.assign(people, {room.pk: room.capacity for room in forums}, wishes, existing)
        new = [ForumAssignment(person_id=pk, room_id=room_id, assigned_by=by)
               for pk, room_id in seated.items() if pk not in existing]
        ForumAssignment.objects.bulk_create(new)
        unseated = len(people) - len(seated)
        changed(conference_id, None, board=False, placement=state.phase_now(conference_id) == Phase.FORUMS)
    return {"assigned": len(new), "unseated": unseated}


def set_switching(conference_id, allowed, *, by):
    require_stage_manager(by, conference_id)
    with transaction.atomic():
        ForumSettings.objects.update_or_create(conference_id=conference_id, defaults={"allow_switching": allowed})
        changed(conference_id, None, board=False)


def extend(conference_id, minutes, *, by):
    require_stage_manager(by, conference_id)
    if not 1 <= minutes <= 120:
        raise Refused("invalid_field", "Extend by 1 to 120 minutes.")
    with transaction.atomic():
        if state.phase_now(conference_id) != Phase.FORUMS:
            raise Refused("phase_closed", "The forums are not in session.")
        view = ForumView(conference_id)
        ends_at = (view.ends_at or timezone.now()) + datetime.timedelta(minutes=minutes)
        ForumSettings.objects.update_or_create(conference_id=conference_id, defaults={"ends_at": ends_at})
        rooms = [room.pk for room in view.forums]
        changed(conference_id, None, board=False)
        for room_id in rooms:
            transaction.on_commit(lambda room_id=room_id: publish(conference_id, room_id, overview=False))
    return ends_at


def tell_forums(conference_id, text, *, by):
    """One announcement to every forum at once ("10 minutes left")."""
    require_moderator(by, conference_id)
    forums = Room.objects.filter(conference_id=conference_id, kind=RoomKind.FORUM).values_list("pk", flat=True)
    return [stage.announce(conference_id, text, by=by, room_id=room_id) for room_id in forums]


def on_item_started(sender, item, **kwargs):
    """The forum phase opens: whoever chose a forum in advance is seated in it."""
    if item.phase == Phase.FORUMS:
        _seat(item.conference_id, by=None, only_with_wishes=True)


MAX_CHOICES = 3


