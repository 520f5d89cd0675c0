"""Who may take part in a room's media, and who may publish there: decided here and only here.

    room kind   may join (receive)                      may publish                      tiles
    plenary     everyone, while it is the day's room     speakers, moderators, organizers 6
                                                         and people with a StageSeat, unless
                                                         the moderator took them off; the
                                                         live item's interpreters (their own
                                                         channel, no tile: docs/media.md)
    forum       everyone, during the forums phase        everyone who joined the forum    12
    table       everyone, during a break                 everyone who joined the table    6
    lounge      nobody: the lounge's media happens at its tables

Moderators and organizers may join any room at any time (they look after the venue).
Screens may be shared by stage speakers in the plenary and by facilitators in forums.
"On stage" is a StageSeat (rooms.stage, persisted); "taken off" is the SFU's memory of the
moderator's `media.unstage` for someone whose role alone would let them publish.
Who is "present" is rooms.places' answer: the forum one is assigned to (or leads), the
table one stands at, the plenary otherwise; the socket leaves a room's media when it moves.
"""

from dataclasses import dataclass

from django.conf import settings

from rooms import places
from agenda import state
from agenda.models import Phase
from rooms.models import InterpretationChannel, Interpreter, Room, RoomKind, StageDisplay, StageSeat
from venue.errors import Refused
from venue.models import CONSOLE_ROLES, Role

MAX_PUBLISHERS = {RoomKind.PLENARY: 6, RoomKind.FORUM: 12, RoomKind.TABLE: 6}
STAGE_ROLES = frozenset({Role.SPEAKER, Role.MODERATOR, Role.ORGANIZER})


@dataclass(frozen=True)
class Place:
    """A room as the SFU needs it: plain values, no database access after admission."""

    room_id: int
    conference_id: int
    slug: str
    name: str
    kind: str
    facilitator_id: int | None

    @property
    def max_publishers(self):
        return MAX_PUBLISHERS[self.kind]


def admit(person, slug):
    """The Place `person` may enter for media now, or Refused. Reads the database."""
    room = Room.objects.filter(conference_id=person.conference_id, slug=slug).first()
    if room is None:
        raise Refused("no_such_room", "There is no such room in this conference.")
    if room.kind not in MAX_PUBLISHERS:
        raise Refused("no_media_here", "This room has no audio and video; join one of its tables.")
    if person.role not in CONSOLE_ROLES and places.place_of(person) != room.pk:
        # Media happens where the person is: their forum, their table, or the plenary.
        raise Refused("room_closed", "You are not in this room right now.")
    return Place(room.pk, room.conference_id, room.slug, room.name, room.kind, room.facilitator_id)


def on_stage(person):
    """Whether the moderator gave `person` a seat on the stage. Reads the database."""
    return StageSeat.objects.filter(conference_id=person.conference_id, person_id=person.pk).exists()


def interprets(person, place):
    """The language `person` interprets the live plenary item into, or None. Reads the database."""
    if place.kind != RoomKind.PLENARY or person.role != Role.INTERPRETER:
        return None
    item = state.live_item(person.conference_id)
    if item is None or item.phase != Phase.PLENARY:
        return None
    return Interpreter.objects.filter(item=item, person=person).values_list("language", flat=True).first()


def on_air(conference_id):
    """{language: the person on air} of a conference's interpretation channels. Reads the database."""
    return dict(
        InterpretationChannel.objects.filter(conference_id=conference_id, on_air__isnull=False)
        .values_list("language", "on_air_id")
    )


def may_publish(person, place, *, on_stage=False, taken_off=False, interprets=None):
    """Whether `person` may send audio and video into `place` (having joined it)."""
    if place.kind == RoomKind.PLENARY:
        if on_stage or interprets:
            return True
        return person.role in STAGE_ROLES and not taken_off
    return True


def may_share_screen(person, place, *, on_stage=False, taken_off=False, interprets=None):
    if place.kind == RoomKind.PLENARY:
        return not interprets and may_publish(person, place, on_stage=on_stage, taken_off=taken_off)
    if place.kind == RoomKind.FORUM:
        return (
            person.pk == place.facilitator_id
            or person.role == Role.FACILITATOR
            or person.role in CONSOLE_ROLES
        )
    return False


def spreads(place):
    """Whether a room's media spans every media worker (rooms.media.cascade): the plenary, when
    there are several workers and PLENUM_MEDIA_SPREAD says so."""
    return (
        place.kind == RoomKind.PLENARY
        and settings.PLENUM_MEDIA == "worker"
        and settings.PLENUM_MEDIA_WORKERS > 1
        and settings.PLENUM_MEDIA_SPREAD == "plenary"
    )


def last_n(conference_id):
    """The moderator's "video only for the last N speakers" (0: everyone's). Reads the database."""
    return StageDisplay.objects.filter(conference_id=conference_id).values_list("media_last_n", flat=True).first() or 0
