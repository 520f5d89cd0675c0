"""The whole live state of a page, as one frame for a socket that (re)connects.

Cached per process by the conference's state version, which every change of live state bumps
in its own transaction: a join storm of a thousand sockets renders it once per audience and
language, not once per socket.
"""

from dataclasses import dataclass

from agenda import frames as agenda_frames
from agenda import state
from frontend import frames
from rooms import places
from rooms.forums import view as forums
from rooms.plenary import view as plenary
from venue import auth, groups, languages, render, version
from venue.errors import Refused

_cache = {}
_CACHE_LIMIT = 64


def current(conference_id, audience, language, state_version=None):
    if state_version is None:
        state_version = version.current(conference_id)
    key = (conference_id, state_version, audience, language)
    frame = _cache.get(key)
    if frame is None:
        day = state.load(conference_id)
        frame = agenda_frames.render_frame(day, audience, language)
        if audience == groups.CONSOLE:
            frame += console_panels(conference_id, language, day)
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        # Keyed by the version read before rendering: at worst a newer state is cached under an
        # older key, never an older state under a newer one.
        _cache[key] = frame
    return frame


def console_panels(conference_id, language, day=None):
    """The console's plenary panels and the forums' overview (participants get their place instead)."""
    templates, context = plenary.console_parts(conference_id, day)
    context = {**context, **forums.overview_context(conference_id)}
    return render.render(templates + list(forums.OVERVIEW_PARTS), context, groups.CONSOLE, language)


@dataclass
class Arrival:
    snapshot: str
    place: int | None
    me: dict
    # The place frame, when the socket was in the place's group before this was read (see arrive_all).
    place_frame: str | None = None
    # The state version all of this was read at.
    version: int | None = None


def arrive_all(requests):
    """Everything connecting sockets read once they are in their groups ((person, audience,
    language, joined place) each), in one trip to the database thread: the current state, each
    one's place (participants) and what is theirs alone. An Arrival, or a Refused if the person
    was revoked since the socket's first look, for each, in order.

    In a join storm every trip waits behind everyone else's on the process's one database
    thread: one trip for all the sockets that came meanwhile, with one query for all their
    revocations and versions and (on PostgreSQL) one for all their own rows, is much of what a
    connect costs there (venue/batching.py)."""
    # Before the snapshot's version is read: whatever is broadcast after this note is rendered
    # in our language too, whatever was committed before it is in the snapshot (venue/languages.py).
    for person, _audience, language, _joined in requests:
        languages.note(person.conference_id, language)
    # Revoked after the socket's first look (consumers.admit_all)? It is in the person's group now,
    # so a revocation after this look reaches it there.
    versions = auth.admitted_versions([person for person, *_rest in requests])
    found = [None] * len(requests)
    # Sockets of one conference at one state version (a storm's) read their own rows together.
    alike = {}
    for index, (person, *_rest) in enumerate(requests):
        state_version = versions.get(person.pk)
        if state_version is None:
            found[index] = Refused("access_revoked", "Your access to this conference has been revoked.")
        else:
            alike.setdefault((person.conference_id, state_version), []).append(index)
    for (conference_id, state_version), indices in alike.items():
        # What all arrivals read alike (the live item, the latest poll) is read once per state version.
        with version.pinned(conference_id, state_version):
            mine = frames.me_for_each([requests[index][0] for index in indices])
            for index, me in zip(indices, mine):
                found[index] = _arrival(state_version, me, *requests[index])
    return found


def _arrival(state_version, me, person, audience, language, joined_place):
    first = current(person.conference_id, audience, language, state_version)
    place = places.place_of(person) if audience == groups.PARTICIPANTS else None
    # The socket entered `joined_place`'s group before the version was read: nothing said
    # there since is missed, so its frame may come from this trip too (else one more trip,
    # after joining the right group: VenueConsumer.move_to).
    place_frame = None
    if audience == groups.PARTICIPANTS and place == joined_place:
        place_frame = frames.place_frame(person.conference_id, place, language)
    return Arrival(first, place, me, place_frame, state_version)
