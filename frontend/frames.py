"""Frames a socket gets for itself: its place (plenary, a forum, the lounge, a table, or the
forum choice), and what differs for this one person (`me`).

Place frames are cached per process by (conference, state version, place, language): a hundred
people who enter a forum at once cost one render.
"""

from agenda import state
from agenda.models import ItemState, Phase
from rooms import chat, places
from rooms.forums.view import ForumView, waiting_context, writer_reads, writers_from
from rooms.lounge.tables import LoungeView
from rooms.models import ForumChoice, Room, RoomKind
from rooms.plenary import reactions
from rooms.plenary import view as plenary
from venue import groups, render, version
from venue.prepared import Tagged, tagged

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
    """The place frame of `room_id` as of the current state version (or the pinned one: a
    connecting socket renders it in the same trip as its snapshot, see snapshot.arrive_all)."""
    key = (conference_id, version.seen(conference_id), room_id, language)
    frame = _cache.get(key)
    if frame is None:
        frame = render.render(("frontend/_place.html",), place_context(conference_id, room_id), groups.PARTICIPANTS, language)
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[key] = frame
    return frame


def _personal_reads(person, conference, item, poll):
    return [
        *writer_reads(person),
        *plenary.personal_reads(person, conference, item, poll),
        tagged(Room.objects.filter(facilitator_id=person), "facilitates", "pk", "order"),
        tagged(ForumChoice.objects.filter(person_id=person), "forum_choice", "room_id", "rank"),
    ]


# Every connecting socket reads its own rows of every place in this one query (venue/prepared.py).
_personal = Tagged(_personal_reads, person=int, conference=int, item=int, poll=int)


def me_for_each(people):
    """What differs for each of these people of one conference: sent to them alone, applied by
    the page's script.

    Every connecting socket asks for this, so it reads only small things, no day state: a
    crowd's own rows in one query on PostgreSQL (venue.prepared.Tagged.values_for_each); what
    all sockets read alike comes from `version.shared`.
    """
    if not people:
        return []
    arguments, live = plenary.personal_arguments(people[0].conference_id)
    everyone = _personal.values_for_each("person", [person.pk for person in people], **arguments)
    return [
        {
            "type": "me",
            "person": person.pk,
            "writer_of": writers_from(found),
            "facilitates": found["facilitates"],
            "forum_choices": found["forum_choice"],
            **plenary.mine(found, live, arguments["item"]),
        }
        for person, found in zip(people, everyone)
    ]
