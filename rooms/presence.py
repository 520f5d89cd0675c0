"""Who is connected, and where: the moderator's head count per room.

Every open socket is a Connection row (written before the socket counts as present), so the
counts are right across several daphne processes. A burst of joins is announced at most once
per second per process: a join storm of a thousand sockets costs the console a few updates.
"""

import asyncio
from datetime import timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from agenda import state
from agenda.models import Phase
from rooms import fanout, groups
from rooms.models import Connection, Process
from venue.models import CONSOLE_ROLES

ANNOUNCE_DELAY_SECONDS = 1.0
# A process that has not beaten its heart for this long holds no real sockets any more.
PROCESS_TIMEOUT = timedelta(seconds=3 * 30)


def open_connection(person, process):
    return Connection.objects.create(person=person, process=process).pk


def close_connection(connection_id):
    Connection.objects.filter(pk=connection_id, closed_at=None).update(closed_at=timezone.now())


def live_processes():
    return Process.objects.filter(last_seen__gte=timezone.now() - PROCESS_TIMEOUT).values("name")


def connected_people(conference_id):
    """People with at least one open socket on a live process."""
    return (
        Connection.objects.filter(
            person__conference_id=conference_id,
            closed_at=None,
            process__in=live_processes(),
        )
        .values_list("person_id", "person__role")
        .distinct()
    )


def counts(conference_id):
    """[(label, number)] of connected people per place, the moderator's view of the venue."""
    day = state.load(conference_id)
    people = list(connected_people(conference_id))
    audience = sum(1 for _pid, role in people if role not in CONSOLE_ROLES)
    staff = len(people) - audience
    if day.phase == Phase.FORUMS:
        place = str(_("Forums (%(count)s in parallel)") % {"count": len(day.forums)})
    elif day.room is not None:
        place = day.room.name
    else:
        place = str(_("Foyer"))
    return {"total": len(people), "rows": [(place, audience)], "staff": staff}


def _(text):
    return translation.gettext(text)


def render(conference_id):
    frames = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            context = {"presence": counts(conference_id), "oob": True}
            frames[language] = render_to_string("rooms/_presence.html", context)
    return frames


class Announcer:
    """Coalesces presence changes into one console update per second."""

    def __init__(self):
        self.pending = {}
        self.loop = None

    def changed(self, conference_id):
        loop = asyncio.get_running_loop()
        if loop is not self.loop:
            # A new event loop (a restarted server, another test) starts with nothing pending.
            self.loop, self.pending = loop, {}
        if conference_id in self.pending:
            return
        self.pending[conference_id] = asyncio.get_running_loop().call_later(
            ANNOUNCE_DELAY_SECONDS,
            lambda: asyncio.ensure_future(self._announce(conference_id)),
        )

    async def _announce(self, conference_id):
        self.pending.pop(conference_id, None)
        frames = await database_sync_to_async(render)(conference_id)
        for language, frame in frames.items():
            await fanout.publish(groups.audience(conference_id, groups.CONSOLE, language), frame)


announcer = Announcer()
