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
    day = state.load(conference_id)
    for audience, templates in STATE_PARTIALS.items():
        render.broadcast(conference_id, templates, day.as_context(), audiences=(audience,))
    # The stage, the questions (they belong to the live item) and the console's stage list
    # all follow the live item.
    from rooms import plenary

    plenary.announce(conference_id, "stage", "questions", "hands")
    # Then everybody moves to where the new phase puts them (each socket acts on this itself).
    from rooms import fanout, forums, groups, places

    fanout.control_sync(
        groups.everyone(conference_id),
        {"kind": "placement", "version": day.conference.state_version, **places.placement(conference_id, day)},
    )
    forums.announce_overview(conference_id)
