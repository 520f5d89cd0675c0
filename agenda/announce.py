"""Rendering the live agenda state once per audience and language, and publishing it.

The same partials render the first page load and every live update.
"""

from agenda import state
from rooms import render

STATE_PARTIALS = {
    "participants": (
        "agenda/_agenda.html",
        "agenda/_now_playing.html",
    ),
    "console": (
        "agenda/_timeline.html",
        "agenda/_now_playing.html",
    ),
}


def render_frame(day, audience, language):
    return render.render(STATE_PARTIALS[audience], day.as_context(), audience, language)


def state_changed(conference_id):
    from rooms import fanout, forums, groups, places, plenary

    day = state.load(conference_id)
    # The stage, the questions (they belong to the live item) and the console's stage list all
    # follow the live item. They ride in the same frame as the agenda: the console gets both,
    # and so does each participant in the plenary room; everyone else gets the agenda alone.
    stage, plenary_room = plenary.frames(conference_id, ("stage", "questions", "hands"), day)
    context = day.as_context()
    for audience, templates in STATE_PARTIALS.items():
        for language in render.languages():
            text = render.render(templates, context, audience, language)
            extra = stage.get((audience, language), "")
            group = render.group_of(conference_id, audience, language)
            if audience == groups.PARTICIPANTS and plenary_room is not None and extra:
                in_plenary = render.group_of(conference_id, audience, language, plenary_room)
                fanout.publish_with_extras_sync(group, text, {in_plenary: extra})
            else:
                fanout.publish_sync(group, text + extra)
    # Then everybody moves to where the new phase puts them (each socket acts on this itself).

    fanout.control_sync(
        groups.everyone(conference_id),
        {"kind": "placement", "version": day.conference.state_version, **places.placement(conference_id, day)},
    )
    forums.announce_overview(conference_id)
