"""The whole live state of a page, as one frame for a socket that (re)connects.

Cached per process by the conference's state version, which every change of live state bumps
in its own transaction: a join storm of a thousand sockets renders it once per audience and
language, not once per socket.
"""

from agenda import frames as agenda_frames
from agenda import state
from rooms.forums import view as forums
from rooms.plenary import view as plenary
from venue import groups, render, version

_cache = {}
_CACHE_LIMIT = 64


def current(conference_id, audience, language):
    key = (conference_id, version.current(conference_id), audience, language)
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
