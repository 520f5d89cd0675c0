"""What every page gets when the day changes (agenda.signals.day_changed).

The new agenda goes to everyone; the stage, the questions and the console's hand queue follow
the live item and ride in the same frame: the console gets all of it, and so does each
participant in the plenary room, everyone else the agenda alone. Then every socket goes to its
new place, and the console's forums overview follows. In the plenary's frame rides the note
for those waiting there for a forum's seat.
"""

from agenda import frames as agenda_frames
from agenda import state
from rooms import places
from rooms.forums import view as forums
from rooms.plenary import view as plenary
from venue import fanout, groups, render


def on_day_changed(sender, conference_id, **kwargs):
    day = state.load(conference_id)
    stage, plenary_room = plenary.frames(conference_id, ("stage", "questions", "hands"), day)
    context = day.as_context()
    waiting = forums.waiting_context(conference_id, day)
    spoken = render.languages_of(conference_id)
    for audience in agenda_frames.PARTIALS:
        for language in spoken:
            text = agenda_frames.render_frame(day, audience, language, context)
            extra = stage.get((audience, language), "")
            if audience == groups.PARTICIPANTS:
                # Whoever waits in the plenary for a forum's seat is told so, or no longer.
                extra += render.render(("forums/_waiting.html",), waiting, audience, language)
            group = render.group_of(conference_id, audience, language)
            if audience == groups.PARTICIPANTS and plenary_room is not None and extra:
                in_plenary = render.group_of(conference_id, audience, language, plenary_room)
                fanout.publish_with_extras_sync(group, text, {in_plenary: extra})
            else:
                fanout.publish_sync(group, text + extra)
    # Each socket acts on the placement itself, on whichever process holds it.
    places.send_everyone(conference_id, day, version=day.conference.state_version)
    forums.publish_overview(conference_id)
