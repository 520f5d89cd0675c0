"""The live state of the day as templates see it, read in one place."""

from dataclasses import dataclass

from agenda.machine import phase_of
from agenda.models import AgendaItem, ItemState, Phase, QuestionMode
from rooms.models import Room, RoomKind
from venue.models import Conference


@dataclass
class DayState:
    conference: Conference
    items: list
    live: AgendaItem | None
    phase: str
    room: Room | None
    next_item: AgendaItem | None
    forums: list

    def as_context(self):
        return {
            "conference": self.conference,
            "items": self.items,
            "live": self.live,
            "phase": self.phase,
            "current_room": self.room,
            "next_item": self.next_item,
            "forums": self.forums,
            "version": self.conference.state_version,
            "question_modes": QuestionMode.choices,
        }


def load(conference_id):
    conference = Conference.objects.get(pk=conference_id)
    items = AgendaItem.with_speakers(list(
        AgendaItem.objects.filter(conference=conference).select_related("room").order_by("order")
    ))
    live = next((item for item in items if item.state == ItemState.LIVE), None)
    phase = phase_of(live)
    rooms = list(Room.objects.filter(conference=conference))
    by_kind = {}
    for room in rooms:
        by_kind.setdefault(room.kind, []).append(room)
    room = place_for(phase, live, by_kind)
    anchor = live.order if live else max(
        (i.order for i in items if i.state == ItemState.DONE), default=-1
    )
    next_item = next(
        (i for i in items if i.state == ItemState.SCHEDULED and i.order > anchor), None
    )
    return DayState(
        conference=conference,
        items=items,
        live=live,
        phase=phase,
        room=room,
        next_item=next_item,
        forums=by_kind.get(RoomKind.FORUM, []),
    )


def place_for(phase, live, rooms_by_kind):
    """The room everybody is in for a phase; forums are per person and give None here."""
    if phase == Phase.FORUMS:
        return None
    if live is not None and live.room is not None:
        return live.room
    if phase == Phase.BREAK:
        return next(iter(rooms_by_kind.get(RoomKind.LOUNGE, [])), None)
    return next(iter(rooms_by_kind.get(RoomKind.PLENARY, [])), None)
