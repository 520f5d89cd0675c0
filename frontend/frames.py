"""Frames a socket gets for itself: its place (plenary, a forum, the lounge, a table, or the
forum choice), and what differs for this one person (`me`).

Place frames are cached per process by (conference, state version, place, language): a hundred
people who enter a forum at once cost one render.
"""

from agenda import state
from agenda.models import ItemState, Phase
from rooms import chat, places
from rooms.forums.view import ForumView, waiting_context, writers_of
from rooms.lounge.tables import LoungeView
from rooms.models import ForumChoice, Room, RoomKind
from rooms.plenary import reactions
from rooms.plenary import view as plenary
from venue import groups, render, version
from venue.prepared import Prepared

_cache = {}
_CACHE_LIMIT = 256

PLACE_KINDS = {
    RoomKind.PLENARY: "plenary",
    RoomKind.FORUM: "forum",
    RoomKind.TABLE: "table",
    RoomKind.LOUNGE: "lounge",
}


def place_context(conference_id, room_id, day=None):
    day = day or state.load(conference_id)
    room = places.room_of(conference_id, room_id)
    view = plenary.Plenary(conference_id, day)
    context = {**view.context(), "place": room}
    context["reaction_buttons"] = list(reactions.EMOJI.items())
    context["forum_rooms"] = [r for r in view.day_rooms if r.kind == RoomKind.FORUM]
    # Choosing in advance makes sense only while the forums are still ahead.
    context["forums_ahead"] = any(i.phase == Phase.FORUMS and i.state == ItemState.SCHEDULED for i in day.items)
    if room is None:
        context["place_kind"] = "choose" if day.phase == Phase.FORUMS else "foyer"
    else:
        context["place_kind"] = PLACE_KINDS[room.kind]
    if context["place_kind"] in ("forum", "table"):
        context["chat"] = chat.RoomChat(room)
    if context["place_kind"] in ("lounge", "table"):
        context["lounge"] = LoungeView(conference_id)
    if context["place_kind"] in ("forum", "choose"):
        context.update(ForumView(conference_id, room, day).context())
    if context["place_kind"] == "plenary":
        # In the plenary during the forums: waiting for a seat (rooms.places.waiting_room).
        context.update(waiting_context(conference_id, day))
    return context


def cached(conference_id, state_version, room_id, language):
    """The place frame if this process rendered it for this state version already (no I/O)."""
    return _cache.get((conference_id, state_version, room_id, language))


def place_frame(conference_id, room_id, language):
    key = (conference_id, version.current(conference_id), room_id, language)
    frame = _cache.get(key)
    if frame is None:
        frame = render.render(("frontend/_place.html",), place_context(conference_id, room_id), groups.PARTICIPANTS, language)
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[key] = frame
    return frame


# Read for every connecting socket (venue/prepared.py).
_facilitates = Prepared(lambda person: Room.objects.filter(facilitator_id=person).order_by("order", "name").values_list("pk"), person=int)
_forum_choices = Prepared(
    lambda person: ForumChoice.objects.filter(person_id=person).order_by("rank").values_list("room_id"), person=int
)


def me(person):
    """What differs for this one person: sent to them alone, applied by the page's script.

    Every connecting socket asks for this, so it reads only small things, no day state.
    """
    return {
        "type": "me",
        "person": person.pk,
        "writer_of": writers_of(person),
        "facilitates": _facilitates.column(person=person.pk),
        "forum_choices": _forum_choices.column(person=person.pk),
        **plenary.mine(person),
    }
