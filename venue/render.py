"""Render a broadcast once per audience and language, then publish the same bytes to each group."""

from django.template.loader import render_to_string
from django.utils import translation

from venue import fanout, groups
from venue import languages as spoken_languages


def languages():
    """Every language Plenum speaks: for frames that are the same in all of them (JSON)."""
    return spoken_languages.configured()


def languages_of(conference_id):
    """The languages this conference's rendered frames are needed in (venue/languages.py)."""
    return spoken_languages.spoken(conference_id)


def render(templates, context, audience, language):
    with translation.override(language):
        values = {**context, "oob": True, "audience": audience}
        return "".join(render_to_string(name, values) for name in templates)


def frames(conference_id, templates, context, audiences=groups.AUDIENCES):
    spoken = languages_of(conference_id)
    return {
        (audience, language): render(templates, context, audience, language)
        for audience in audiences
        for language in spoken
    }


def broadcast(conference_id, templates, context, audiences=groups.AUDIENCES, room_id=None):
    """Called after the change is committed; never before (persist, then publish).

    With `room_id`, the participants' copy goes only to the people in that room; the console
    audience always gets its copy.
    """
    for (audience, language), text in frames(conference_id, templates, context, audiences).items():
        publish(conference_id, audience, language, text, room_id=room_id)


def publish(conference_id, audience, language, text, room_id=None):
    """One rendered frame to one audience and language (the participants of `room_id` only)."""
    fanout.publish_sync(group_of(conference_id, audience, language, room_id), text)


def group_of(conference_id, audience, language, room_id=None):
    if audience == groups.PARTICIPANTS and room_id is not None:
        return groups.room(conference_id, room_id, language)
    return groups.audience(conference_id, audience, language)


