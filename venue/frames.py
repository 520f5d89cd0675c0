"""Frames a socket gets for itself: its place (plenary, a forum, the lounge, or the forum choice).

Cached per process by (conference, state version, place, language): a hundred people who enter
a forum at once cost one render.
"""

from agenda import state
from agenda.models import Phase
from rooms import render
from rooms.models import RoomKind
from rooms.chats import RoomChat
from rooms.places import room_of
from rooms.plenary import Plenary
from venue.models import Conference

_cache = {}
_CACHE_LIMIT = 256
PARTICIPANTS = "participants"


def place_context(conference_id, room_id, day=None):
    day = day or state.load(conference_id)
    room = room_of(conference_id, room_id)
    context = {**Plenary(conference_id, day).context(), "place": room}
    from rooms import reactions

    context["reaction_buttons"] = list(reactions.EMOJI.items())
    context["forum_rooms"] = [r for r in Plenary(conference_id, day).day_rooms if r.kind == RoomKind.FORUM]
    # Choosing in advance makes sense only while the forums are still ahead.
    context["forums_ahead"] = any(i.phase == Phase.FORUMS and i.state == "scheduled" for i in day.items)
    if room is None:
        context["place_kind"] = "choose" if day.phase == Phase.FORUMS else "foyer"
    elif room.kind == RoomKind.PLENARY:
        context["place_kind"] = "plenary"
    elif room.kind == RoomKind.FORUM:
        context["place_kind"] = "forum"
    elif room.kind == RoomKind.TABLE:
        context["place_kind"] = "table"
    else:
        context["place_kind"] = "lounge"
    if context["place_kind"] in ("forum", "table"):
        context["chat"] = RoomChat(room)
    if context["place_kind"] in ("lounge", "table"):
        from rooms.lounge import LoungeView

        context["lounge"] = LoungeView(conference_id)
    if context["place_kind"] in ("forum", "choose"):
        from rooms.forums import ForumView

        context.update(ForumView(conference_id, room, day).context())
    return context


def cached(conference_id, version, room_id, language):
    """The place frame if this process rendered it for this state version already (no I/O)."""
    return _cache.get((conference_id, version, room_id, language))


def place_frame(conference_id, room_id, language):
    version = Conference.objects.values_list("state_version", flat=True).get(pk=conference_id)
    key = (conference_id, version, room_id, language)
    frame = _cache.get(key)
    if frame is None:
        frame = render.render(("rooms/_place.html",), place_context(conference_id, room_id), PARTICIPANTS, language)
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[key] = frame
    return frame
