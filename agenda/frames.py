"""The agenda's own partials, rendered once per audience and language.

The same partials render the first page load and every live update; the frontend publishes
them (frontend.live) together with what follows the live item in the plenary.
"""

from venue import render

PARTIALS = {
    "participants": (
        "agenda/_agenda.html",
        "agenda/_now_playing.html",
    ),
    "console": (
        "agenda/_timeline.html",
        "agenda/_now_playing.html",
    ),
}


def render_frame(day, audience, language, context=None):
    return render.render(PARTIALS[audience], context or day.as_context(), audience, language)
