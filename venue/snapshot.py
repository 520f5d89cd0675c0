"""The whole live state of a page, as one frame for a socket that (re)connects.

Cached per process by the conference's state version, which every change of live state bumps
in its own transaction: a join storm of a thousand sockets renders it once per audience and
language, not once per socket.
"""

from agenda import announce, state
from rooms import groups, plenary
from venue.models import Conference

_cache = {}
_CACHE_LIMIT = 64


def current(conference_id, audience, language):
    version = Conference.objects.values_list("state_version", flat=True).get(pk=conference_id)
    key = (conference_id, version, audience, language)
    frame = _cache.get(key)
    if frame is None:
        day = state.load(conference_id)
        frame = announce.render_frame(day, audience, language)
        if audience == groups.CONSOLE:
            frame += plenary.render_console_snapshot(conference_id, language, day)
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        # Keyed by the version read before rendering: at worst a newer state is cached under an
        # older key, never an older state under a newer one.
        _cache[key] = frame
    return frame
