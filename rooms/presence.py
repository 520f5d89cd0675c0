"""Who is connected, and where: the moderator's head count per room, and each socket's stays.

Every open socket is a Connection row (written before the socket counts as present), so the
counts are right across several daphne processes. A burst of joins is published at most once
per second per process: a join storm of a thousand sockets costs the console a few updates.
Where each socket was (its `Stay` rows, for the attendance chart) is written the same way: when
everybody moves at once, each process writes its sockets' moves in one INSERT a second.
"""

import asyncio
import logging
from datetime import timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Greatest
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from agenda import state
from agenda.models import Phase
from rooms import places
from rooms.models import Connection, Process, Room, Stay
from venue import fanout, groups, render
from venue.errors import Refused
from venue.models import CONSOLE_ROLES, Conference
from venue.prepared import insert_many

logger = logging.getLogger(__name__)

PUBLISH_DELAY_SECONDS = 1.0
# A process that has not beaten its heart for this long holds no real sockets any more.
PROCESS_TIMEOUT = timedelta(seconds=3 * settings.PLENUM_HEARTBEAT_SECONDS)


# A connecting socket's row is written only while its person has fewer open sockets than anyone
# may: one statement, run while the person's row is locked (see open_connections).
_BELOW_LIMIT = (
    f"(SELECT COUNT(*) FROM {Connection._meta.db_table} AS others"
    f" WHERE others.person_id = candidate.person_id AND others.closed_at IS NULL) < %s"
)


def open_connections(people, process):
    """Count a new socket of each of `people` as open, unless that person already has as many
    sockets open as anyone may (in every process together: the rows are shared). Returns each
    socket's connection id, in order, or a Refused (too many sockets) in its place.

    Call it in the transaction that read `people` locked and not revoked (venue.auth,
    `people_for(…, locked=True)`): one person's sockets are then counted one at a time,
    whichever process opens them, and a revocation waits for the row, or this for it. A join
    storm's sockets are written together (one statement for everyone's first socket, one more
    for whoever brought a second one in the same storm, and so on).
    """
    limit = settings.PLENUM_MAX_SOCKETS_PER_PERSON
    opened_at = timezone.now()
    ids = [None] * len(people)
    rounds = []  # each person at most once per statement: they would not see each other's row
    for index, person in enumerate(people):
        for written in rounds:
            if person.pk not in written:
                written[person.pk] = index
                break
        else:
            rounds.append({person.pk: index})
    for written in rounds:
        indices = list(written.values())
        # What Connection.save() would write, without building the rows through the ORM.
        rows = [{**Connection.of(people[i]), "process": process, "opened_at": opened_at} for i in indices]
        written_ids = insert_many(Connection, rows, key="person_id", where=(_BELOW_LIMIT, (limit,)))
        for index, connection_id in zip(indices, written_ids):
            ids[index] = connection_id
    return [
        connection_id if connection_id is not None
        else Refused("too_many_sockets", f"You have {limit} pages of the venue open already; close one first.")
        for connection_id in ids
    ]


def close_connections(connection_ids):
    Connection.objects.filter(pk__in=connection_ids, closed_at=None).update(closed_at=timezone.now())


def close_connection(connection_id):
    Connection.objects.filter(pk=connection_id, closed_at=None).update(closed_at=timezone.now())


def reap(*, keep, everyone_else=False):
    """Close the connections of processes that died without closing them, as of their last
    heartbeat (the last moment they are known to have held them), and forget those processes.

    Without this, a crashed process's sockets would stay open in the database for good, and the
    attendance report would count their people as present for the rest of the day. `keep` is
    the calling process. With `everyone_else` (the in-memory channel layer, where no other
    process can be serving the venue) every other process is dead at once: a restarted demo
    does not count its former sockets for another minute and a half.
    """
    dead = Process.objects.exclude(name=keep)
    if not everyone_else:
        dead = dead.filter(last_seen__lt=timezone.now() - PROCESS_TIMEOUT)
    closed = 0
    for name, last_seen in list(dead.values_list("name", "last_seen")):
        closed += Connection.objects.filter(process=name, closed_at=None).update(
            closed_at=Greatest(F("opened_at"), Value(last_seen, output_field=DateTimeField()))
        )
        # Unless it beat again meanwhile: then it was only slow, and it keeps its row.
        Process.objects.filter(name=name, last_seen=last_seen).delete()
    return closed


def on_heartbeat(sender, process, starting, alone, **kwargs):
    """This process is alive; processes that stopped beating hold no sockets any more."""
    Process.objects.update_or_create(name=process, defaults={"last_seen": timezone.now()})
    closed = reap(keep=process, everyone_else=starting and alone)
    if closed:
        logger.info("closed %d sockets of processes that stopped", closed)


def live_processes():
    return Process.objects.filter(last_seen__gte=timezone.now() - PROCESS_TIMEOUT).values("name")


def connected_people(conference_id):
    """People with at least one open socket on a live process (each once, however many tabs)."""
    return (
        Connection.objects.filter(
            conference_id=conference_id,
            person__isnull=False,
            closed_at=None,
            process__in=live_processes(),
        )
        # Without the model's ordering, which DISTINCT would otherwise take in (one row per socket).
        .order_by()
        .values_list("person_id", "person__role")
        .distinct()
    )


def counts(conference_id):
    """The moderator's view of the venue: connected people per place, in the rooms' order."""
    day = state.load(conference_id)
    placement = places.placement(conference_id, day)
    people = list(connected_people(conference_id))
    staff = sum(1 for _pid, role in people if role in CONSOLE_ROLES)
    per_room = {}
    for person_id, role in people:
        if role in CONSOLE_ROLES:
            continue
        room_id = placement["people"].get(str(person_id), placement["default"])
        per_room[room_id] = per_room.get(room_id, 0) + 1
    rooms = {room.pk: room for room in Room.objects.filter(pk__in=[pk for pk in per_room if pk])}
    rows = [(rooms[pk].name, n) for pk, n in sorted(per_room.items(), key=lambda kv: (rooms[kv[0]].order if kv[0] else -1)) if pk]
    if None in per_room:
        # Lazy: rendered in the language of each frame (render_counts counts once for all).
        label = gettext_lazy("Choosing a forum") if day.phase == Phase.FORUMS else gettext_lazy("Foyer")
        rows.insert(0, (label, per_room[None]))
    return {"total": len(people), "rows": rows, "staff": staff}


def render_counts(conference_id):
    frames = {}
    context = {"presence": counts(conference_id), "oob": True}
    for language in render.languages_of(conference_id):
        with translation.override(language):
            frames[language] = render_to_string("rooms/_presence.html", context)
    return frames


class CountPublisher:
    """Coalesces presence changes into one console update per second and process."""

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
            PUBLISH_DELAY_SECONDS,
            lambda: asyncio.ensure_future(self._publish(conference_id)),
        )

    async def _publish(self, conference_id):
        self.pending.pop(conference_id, None)
        try:
            frames = await database_sync_to_async(render_counts)(conference_id)
        except Conference.DoesNotExist:
            return  # deleted in the meantime (an organizer's reset): nobody is left to tell

        for language, frame in frames.items():
            await fanout.publish(groups.audience(conference_id, groups.CONSOLE, language), frame)


_publisher = CountPublisher()


def changed(conference_id):
    """Someone came or went (on the event loop): the console's counts follow within a second."""
    _publisher.changed(conference_id)


def write_stays(stays):
    """Store these stays, except those whose connection or room is gone meanwhile (a reset)."""
    connections = set(Connection.objects.filter(pk__in={s.connection_id for s in stays}).values_list("pk", flat=True))
    rooms = set(Room.objects.filter(pk__in={s.room_id for s in stays if s.room_id}).values_list("pk", flat=True))
    kept = [s for s in stays if s.connection_id in connections and (s.room_id is None or s.room_id in rooms)]
    try:
        Stay.objects.bulk_create(kept)
    except IntegrityError:
        # Deleted between the check and the write: these stays belong to nothing any more.
        logger.warning("%d stays not recorded: their connections or rooms were deleted", len(kept))
    return len(kept)


class StayRecorder:
    """Coalesces this process's moves into one write per second (like the counts)."""

    def __init__(self):
        self.pending = []
        self.handle = None
        self.loop = None

    def moved(self, connection_id, room_id):
        loop = asyncio.get_running_loop()
        if loop is not self.loop:
            self.loop, self.pending, self.handle = loop, [], None
        # The time of the move, not of the write.
        self.pending.append(Stay(connection_id=connection_id, room_id=room_id, entered_at=timezone.now()))
        if self.handle is None:
            self.handle = loop.call_later(PUBLISH_DELAY_SECONDS, lambda: asyncio.ensure_future(self.flush()))

    async def flush(self):
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        stays, self.pending = self.pending, []
        if stays:
            await database_sync_to_async(write_stays)(stays)


_stays = StayRecorder()


def moved(connection_id, room_id):
    """This socket is in `room_id` now (None: in no room); stored within a second."""
    _stays.moved(connection_id, room_id)


async def flush_stays():
    """Write the moves still waiting (a test, a process that stops)."""
    await _stays.flush()
