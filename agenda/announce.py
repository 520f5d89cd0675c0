"""Rendering the live state once per audience and language, and publishing it.

The same partials render the first page load and every live update; a broadcast is rendered
once per (audience, language) and the same bytes go to every socket of that audience.
"""

from django.template.loader import render_to_string
from django.utils import translation
from django.conf import settings

from agenda import state
from rooms import fanout, groups

STATE_PARTIALS = {
    groups.PARTICIPANTS: (
        "agenda/_agenda.html",
        "agenda/_now_playing.html",
        "rooms/_current_room.html",
    ),
    groups.CONSOLE: (
        "agenda/_timeline.html",
        "agenda/_now_playing.html",
    ),
}

# (conference, version, audience, language) -> frame; a late joiner gets the cached frame.
_cache = {}
_CACHE_LIMIT = 64


def render_frame(day, audience, language):
    key = (day.conference.pk, day.conference.state_version, audience, language)
    frame = _cache.get(key)
    if frame is None:
        context = {**day.as_context(), "oob": True, "audience": audience}
        with translation.override(language):
            frame = "".join(render_to_string(name, context) for name in STATE_PARTIALS[audience])
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[key] = frame
    return frame


def current_frame(conference_id, audience, language):
    return render_frame(state.load(conference_id), audience, language)


def state_changed(conference_id):
    day = state.load(conference_id)
    for audience in groups.AUDIENCES:
        for language, _name in settings.LANGUAGES:
            fanout.publish_sync(
                groups.audience(conference_id, audience, language),
                render_frame(day, audience, language),
            )
