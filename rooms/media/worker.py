"""The media workers: processes that own the SFU when PLENUM_MEDIA is "worker".

With several daphne processes, people in one room sit on different processes, so their media
cannot live in the daphne processes. Each daphne process relays its sockets' `media.*` commands
over the channel layer to the channel of a worker (`groups.media_worker`), and the worker runs
them with the same handlers, policy and SFU as in-process mode. With PLENUM_MEDIA_WORKERS above
one, forums and tables take turns by their id (`worker_of_room`): the same answer in every
process, from nothing but the room's primary key. A spread room (the plenary,
`policy.spreads`) lives in every worker that has people in it: a new viewer goes to the least
loaded worker (rooms.media.load), and the workers relay its tracks to each other
(rooms.media.cascade).
Everything a worker says to a socket (acks, errors, offers, rosters) goes straight to that
socket's own channel as a `fanout.deliver` message, which the consumer writes out.
`manage.py plenum_media_worker --index N` runs `serve(N)`.
"""

import asyncio
import json
import logging
import signal
import weakref
from collections import deque

from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections

from rooms import places
from rooms.media import cascade, load, policy, sfu
from rooms.models import Room, RoomKind
from rooms.presence import live_processes
from venue import fanout, groups, protocol
from venue.errors import Refused
from venue.models import Person

logger = logging.getLogger(__name__)

# The type of every message on a worker's channel.
COMMAND = "media.command"
LEAVE = "media.leave"

# The control message a worker sends to every socket (groups.media_news) when it starts: the
# sockets whose media was in an earlier process with its index tell their pages to join again.
STARTED = "media_worker_started"

# Commands about a person wherever their media is: the worker of their place answers, the
# others act as well.
EVERY_WORKER = frozenset({"media.mute"})

# Commands about the plenary's stage: they run in the worker that holds the plenary.
STAGE_COMMANDS = frozenset({"media.stage", "media.unstage", "media.resync_stage", "media.last_n", "interpretation.on_air",
                            "recording.follow", "interpretation.follow"})

# Sockets of this (web) process that joined a room's media, and the worker their media is in:
# only those need a "leave" when they close or move, so a thousand tabs closing at once do not
# all write to a worker, and their other commands (publish, answer, ...) go where their media is.
_relayed = weakref.WeakKeyDictionary()
# ... and the room (slug) they joined: joining the same spread room again stays where it is.
_joined = weakref.WeakKeyDictionary()


def worker_of_room(room_id, workers=None):
    """The index of the media worker that holds a room's media: rooms take turns by id."""
    return int(room_id) % (workers or settings.PLENUM_MEDIA_WORKERS)


def worker_of_slug(conference_id, slug):
    """The worker of a room named by its slug; one that does not exist goes to worker 0, which
    refuses it like any worker would (`no_such_room`). Reads the database."""
    room_id = Room.objects.filter(conference_id=conference_id, slug=slug).values_list("pk", flat=True).first()
    return worker_of_room(room_id) if room_id is not None else 0


def _spread_room(conference_id, slug):
    """Whether the room named by `slug` spans the workers. Reads the database."""
    room = Room.objects.filter(conference_id=conference_id, slug=slug).values_list("pk", "kind").first()
    return room is not None and policy.spreads(policy.Place(room[0], conference_id, slug, "", room[1], None))


def _plenary_worker(conference_id):
    room_id = Room.objects.filter(conference_id=conference_id, kind=RoomKind.PLENARY).values_list("pk", flat=True).first()
    return worker_of_room(room_id) if room_id is not None else 0


def _worker_of_person(conference_id, person_id):
    """The worker of the room someone's media is in: where rooms.places puts them."""
    person = Person.objects.filter(pk=person_id, conference_id=conference_id).first()
    room_id = places.place_of(person) if person is not None else None
    return worker_of_room(room_id) if room_id else _plenary_worker(conference_id)


# -- the web process's side -------------------------------------------------------------------


async def _target(socket, command_name, fields):
    """Which worker a command goes to (always 0 with one worker)."""
    current = _relayed.get(socket)
    if command_name == "media.join":
        target = 0
        if settings.PLENUM_MEDIA_WORKERS > 1:
            target = await _worker_for_join(socket, fields["room"], current)
        if current is not None and current != target:
            # Into a room of another worker: its policy is checked here first, so that a refused
            # join leaves the socket's media where it was, as it does within one worker.
            await database_sync_to_async(policy.admit)(socket.person, fields["room"])
            await _send_to_worker(current, socket, LEAVE, {}, None, reply=False)
        _relayed[socket] = target
        _joined[socket] = fields["room"]
        _watch_workers()
        return target
    if settings.PLENUM_MEDIA_WORKERS == 1:
        return 0
    if command_name in STAGE_COMMANDS:
        return await database_sync_to_async(_plenary_worker)(socket.conference_id)
    if command_name == "media.mute":
        return await database_sync_to_async(_worker_of_person)(socket.conference_id, fields["person"])
    if command_name == "media.stats" and fields.get("worker") is not None:
        if not 0 <= fields["worker"] < settings.PLENUM_MEDIA_WORKERS:
            raise Refused("not_found", "There is no media worker with that number.")
        return fields["worker"]
    if command_name == "media.stats" and fields.get("room"):
        return await database_sync_to_async(worker_of_slug)(socket.conference_id, fields["room"])
    # The socket's own media session (publish, answer, candidate, state, leave): where it joined.
    return current if current is not None else 0


async def _worker_for_join(socket, slug, current):
    """A forum or table: the worker that holds it. A spread room: where the socket's media is
    already, else the least loaded live worker (one that has not reported yet: by id)."""
    if not await database_sync_to_async(_spread_room)(socket.conference_id, slug):
        return await database_sync_to_async(worker_of_slug)(socket.conference_id, slug)
    if current is not None and _joined.get(socket) == slug:
        return current
    chosen = await load.choose()
    if chosen is None:
        return await database_sync_to_async(worker_of_slug)(socket.conference_id, slug)
    return chosen


# Whether this process watches the workers' reports for one that died (one task per event loop).
_watchers = {}


def _watch_workers():
    loop = asyncio.get_running_loop()
    task = _watchers.get(loop)
    if task is None or task.done():
        _watchers.clear()
        _watchers[loop] = asyncio.ensure_future(_workers_forever())


async def _workers_forever():
    """A worker that stops reporting is gone: the pages whose media was there join again (on a
    live worker), as they do when a successor starts (`started_again`)."""
    alive = set()
    while True:
        await asyncio.sleep(settings.PLENUM_MEDIA_LOAD_SECONDS)
        try:
            now = set(await load.live_workers())
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("could not read the media workers' reports", exc_info=True)
            continue
        for index in alive - now:
            logger.info("media worker %d stopped reporting; its pages join again", index)
            for socket in [s for s, i in list(_relayed.items()) if i == index]:
                try:
                    await started_again(socket, index)
                except Exception:
                    logger.exception("could not tell a page to join its media again")
        alive = now


async def _send_to_worker(index, socket, command_name, fields, message_id, reply):
    """Put one command on a worker's channel; ChannelFull means that worker is not reading."""
    await get_channel_layer().send(groups.media_worker(index), {
        "type": COMMAND,
        "person": socket.person.pk,
        "conference": socket.conference_id,
        "reply_to": socket.channel_name,
        # Which daphne process holds the socket: if it dies, the worker frees its media.
        "process": fanout.process_name(),
        "id": message_id,
        "command": command_name,
        "fields": fields,
        "reply": reply,
    })


def relay(socket, command_name, fields):
    """The handler's reply in worker mode: hand the validated fields on; the worker answers."""

    async def forward(message_id):
        try:
            index = await _target(socket, command_name, fields)
            await _send_to_worker(index, socket, command_name, dict(fields), message_id, reply=True)
        except ChannelFull:
            raise Refused(
                "media_unavailable", "Audio and video are not available right now; please try again later."
            ) from None
        if command_name in EVERY_WORKER:
            # A console-role person may have media in a room that is not their place: the other
            # workers act too, without a reply (the one above answers).
            for other in range(settings.PLENUM_MEDIA_WORKERS):
                if other != index:
                    try:
                        await _send_to_worker(other, socket, command_name, dict(fields), None, reply=False)
                    except ChannelFull:
                        logger.warning("media worker %d is not reading; %s not passed on", other, command_name)

    return protocol.ReplyElsewhere(forward)


async def tell_worker(socket, command_name, fields):
    """A command on a socket's behalf whose reply nobody waits for (e.g. a stage change)."""
    try:
        index = await _target(socket, command_name, fields)
        await _send_to_worker(index, socket, command_name, dict(fields), None, reply=False)
    except ChannelFull:
        logger.warning("media worker channel is full; %s was dropped", command_name)


async def hang_up(socket, *, closed):
    """The socket closed or moved: its media ends in its worker; nobody waits for a reply."""
    index = _relayed.get(socket)
    if index is None:
        return
    if closed:
        _relayed.pop(socket, None)
    try:
        await _send_to_worker(index, socket, LEAVE, {}, None, reply=False)
    except ChannelFull:
        # The worker is not reading; when it is back it knows nothing of this socket anyway.
        logger.warning("media worker channel is full; a leave was dropped")


async def started_again(socket, index):
    """Worker `index` (re)started and knows nothing of earlier peer connections: if this
    socket's media was there, it is gone, and the page is told to join its room again."""
    if not isinstance(index, int) or isinstance(index, bool) or _relayed.get(socket) != index:
        return
    _relayed.pop(socket, None)
    await socket.send(json.dumps({"type": "media.reset"}))


# -- the worker's side --------------------------------------------------------------------------


class RemoteSocket:
    """The worker's stand-in for a participant's socket in some daphne process.

    It has what the SFU and the command handlers use of a consumer: the person, the conference
    and a `send(text)`, which goes over the channel layer to the socket's own channel.
    """

    def __init__(self, layer, channel_name, person, process):
        self.layer = layer
        self.channel_name = channel_name
        self.person = person
        self.conference_id = person.conference_id
        self.process = process  # the daphne process's name in rooms.Process

    async def send(self, text):
        try:
            await self.layer.send(self.channel_name, {"type": fanout.DELIVER, "text": text})
        except ChannelFull:
            # That socket's process has stopped reading its channel; its tab will reconnect.
            logger.warning("channel %s is full; a media message to it was dropped", self.channel_name)




class MediaWorker:
    def __init__(self, layer, handlers, index=0):
        self.layer = layer
        self.index = index
        self.channel = groups.media_worker(index)
        self.handlers = handlers  # command name -> the function that does the work (commands.LOCAL)
        self.sockets = {}  # reply channel -> RemoteSocket, while its socket has media here
        # reply channel -> messages not yet handled. One socket's commands run in order (SDP
        # chunks, join before publish); different sockets' commands run side by side.
        self.queues = {}
        self._tasks = set()
        self.cascade = None
        if settings.PLENUM_MEDIA_WORKERS > 1:
            self.cascade = sfu.get().cascade = cascade.Cascade(sfu.get(), layer, index)

    async def run(self):
        async def dispatch(message):
            self.dispatch(message)

        await fanout.read_forever(self.layer, self.channel, dispatch, "media worker")

    def dispatch(self, message):
        if message.get("type") == cascade.CASCADE and self.cascade is not None:
            # One other worker's messages are handled in order (an offer before its tracks).
            channel = f"cascade.{message.get('from')}"
        else:
            channel = message.get("reply_to")
            if message.get("type") != COMMAND or not isinstance(channel, str):
                logger.warning("media worker got %r", message.get("type"))
                return
        queue = self.queues.get(channel)
        if queue is not None:
            queue.append(message)
            return
        queue = self.queues[channel] = deque([message])
        task = asyncio.ensure_future(self._drain(channel, queue))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, channel, queue):
        try:
            while queue:
                await self.handle(queue.popleft())
        finally:
            del self.queues[channel]

    async def handle(self, message):
        if message.get("type") == cascade.CASCADE:
            try:
                await self.cascade.handle(message)
            except Exception:
                logger.exception("cascade message %r failed", message.get("op"))
            return
        channel = message["reply_to"]
        message_id = message.get("id")
        wants_reply = message.get("reply") is not False
        try:
            reply = await self._run(message)
        except Refused as refused:
            text = protocol.error(refused.code, refused.message, message_id)
        except Exception:
            logger.exception("media command failed: %r", message.get("command"))
            text = protocol.error("internal_error", "That did not work; please try again.", message_id)
        else:
            text = protocol.ack(message_id, **(reply or {}))
        if wants_reply:
            await self.layer.send(channel, {"type": fanout.DELIVER, "text": text})

    async def _run(self, message):
        name = message.get("command")
        found = protocol.COMMANDS.get(name)
        handler = self.handlers.get(name)
        if found is None or handler is None:
            raise protocol.ProtocolError("unknown_type", "The media worker has no such command.")
        fields = protocol.clean_fields(found, message.get("fields"))
        channel = message["reply_to"]
        socket = self.sockets.get(channel)
        if socket is None:
            if name == LEAVE:
                # Nothing of this socket is here (it never joined, or already left).
                return {"left": False}
            socket = self.sockets[channel] = RemoteSocket(
                self.layer, channel, await self._person(message), message.get("process")
            )
        try:
            if name == "media.join" and await self._elsewhere(socket, fields["room"]):
                # The sender spreads rooms differently: PLENUM_MEDIA_WORKERS must be the same
                # everywhere, or one room's people would end up in two SFUs.
                logger.error("media.join for room %r came to worker %d, which does not hold it", fields["room"], self.index)
                raise Refused("media_unavailable", "Audio and video are not available right now; please try again later.")
            return await handler(socket, **fields)
        finally:
            if socket not in sfu.get().sessions:
                # Only sockets with media are remembered; a console's `media.stats` leaves nothing.
                self.sockets.pop(channel, None)

    async def _elsewhere(self, socket, slug):
        """Whether the room belongs to another worker (a room that does not exist does not; a
        spread room is in every worker)."""
        if settings.PLENUM_MEDIA_WORKERS == 1:
            return False
        room = await Room.objects.filter(conference_id=socket.conference_id, slug=slug).values_list("pk", "kind").afirst()
        if room is None or policy.spreads(policy.Place(room[0], socket.conference_id, slug, "", room[1], None)):
            return False
        return worker_of_room(room[0]) != self.index

    async def _person(self, message):
        person_id, conference_id = message.get("person"), message.get("conference")
        if not isinstance(person_id, int) or not isinstance(conference_id, int):
            raise protocol.ProtocolError("invalid_message", "A relayed command names its person.")
        person = await Person.objects.filter(pk=person_id, conference_id=conference_id).afirst()
        if person is None:
            raise Refused("not_found", "There is no such person in this conference.")
        return person

    async def sweep(self):
        """Free the media of sockets whose daphne process died without saying goodbye.

        A process that crashes sends no "leave"; its heartbeat in rooms.Process stops, and after
        presence.PROCESS_TIMEOUT its sockets count as gone here as they do in the head count.
        """
        processes = {socket.process for socket in self.sockets.values()}
        if not processes:
            return
        alive = await database_sync_to_async(_alive)(processes)
        for channel, socket in list(self.sockets.items()):
            if socket.process not in alive:
                logger.info("freeing the media of %s: its process %s is gone", channel, socket.process)
                # Through the socket's queue, behind whatever it sent last.
                self.dispatch({"type": COMMAND, "reply_to": channel, "command": LEAVE, "fields": {}, "reply": False})

    async def sweep_forever(self, interval):
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database may be away for a moment; the next sweep tries again.
                logger.exception("media worker sweep failed")

    async def report_forever(self, interval):
        """Tell every process how loaded this worker is and that it lives (rooms.media.load);
        forget the other workers that stopped telling."""
        alive = set()
        while True:
            try:
                current = sfu.get()
                await load.report(self.index, current.forwarded_streams() + len(current.sessions), current.viewer_cost())
                if self.cascade is not None:
                    now = set(await load.live_workers())
                    for gone in alive - now:
                        logger.info("media worker %d stopped reporting; forgetting its part of the rooms", gone)
                        await self.cascade.forget(gone)
                    alive = now
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("media worker load report failed; next try in a moment")
            await asyncio.sleep(interval)

    async def close(self):
        """Free every peer connection (an orderly stop); the pages see their rooms empty."""
        for socket in list(self.sockets.values()):
            await sfu.get().leave(socket)
        self.sockets.clear()


async def serve(handlers, index=0, ready=None):
    """Read worker `index`'s channel until SIGTERM or SIGINT and run what arrives with
    `handlers` (media command name -> handler: rooms.media.commands.LOCAL); `ready()` is called
    once it reads."""
    layer = get_channel_layer()
    worker = MediaWorker(layer, handlers, index)
    # The other workers forget what they knew of a predecessor with this index (its relays).
    if worker.cascade is not None:
        await worker.cascade.started()
    # Before reading: pages whose media was in a predecessor with this index join again, and
    # their joins find this process reading.
    await fanout.control(groups.media_news(), {"kind": STARTED, "index": index})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    tasks = [
        asyncio.ensure_future(worker.run()),
        asyncio.ensure_future(worker.sweep_forever(settings.PLENUM_HEARTBEAT_SECONDS)),
        asyncio.ensure_future(worker.report_forever(settings.PLENUM_MEDIA_LOAD_SECONDS)),
    ]
    if ready is not None:
        ready()
    await stop.wait()
    for task in tasks:
        task.cancel()
    await worker.close()
    await load.forget(index)
    await database_sync_to_async(_close_db)()


def _alive(names):
    return set(live_processes().filter(name__in=names).values_list("name", flat=True))


def _close_db():
    connections.close_all()
