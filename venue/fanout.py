"""Broadcast fan-out: one channel-layer message per process, written locally to every socket.

Each daphne process owns one channel and joins each channel-layer group once, on behalf of all
its sockets in that group; it keeps its own registry of which local socket is in which group.
A broadcast therefore crosses the channel layer once per process, not once per socket (the way
Phoenix PubSub and Centrifugo fan out across nodes). Memberships are refreshed periodically and
the layer's group_expiry drops those of a process that died. A person's group (one per
person, entered by every socket) is not joined on the layer at all: messages for it travel in one
group that every process joins when it starts (`groups.people`), and each hub hands them to its
own sockets of that person, if any; a join storm adds no group per socket on Redis.

When anything in the process sees the channel layer fail (a socket's read, the hub's read, a
join, a publish) or Redis answers with another run id than before (it restarted and forgot every
group, possibly without any read failing, since redis-py retries), the hub *doubts* its
memberships: joins go to the layer for real until it has re-joined every group, and then every
socket that was open before the doubt is asked to reconnect (`resync`), so that its page takes a
fresh snapshot of whatever it may have missed meanwhile.

Consumers only call `enter`, `leave` and `leave_all`; publishers call `publish`.
`PLENUM_FANOUT = "socket"` makes every socket a group member itself: that exists only so the
benchmark can compare both ways in one run.
"""

import asyncio
import logging
import os
import time
import uuid
from collections import defaultdict
from socket import gethostname

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from redis.exceptions import RedisError

from venue import groups, metrics, signals

logger = logging.getLogger(__name__)

# What the channel layer raises when Redis is away (redis-py's errors derive from these two).
ChannelLayerErrors = (ConnectionError, OSError, RedisError)

DELIVER = "fanout.deliver"
# A frame for everyone in a group, with more appended for the sockets that are also in some
# other group (e.g. the plenary room's): still one channel-layer message and one write per socket.
DELIVER_WITH_EXTRAS = "fanout.deliver_with_extras"
# A control message is not written to sockets: each local socket in the group acts on it
# (e.g. moves to another room when the agenda sends everybody into the forums).
CONTROL = "fanout.control"
# The control payload the hub gives a socket that may have missed broadcasts while the channel
# layer was away: the socket closes so that its page reconnects and takes a fresh snapshot.
RESYNC = {"kind": "resync"}


def _message(group, text):
    # "at" (wall clock, shared by the processes of one machine) feeds the latency histogram.
    return {"type": DELIVER, "group": group, "text": text, "at": time.time()}


def per_socket():
    return settings.PLENUM_FANOUT == "socket"


def carrier(group):
    """The channel-layer group a message for `group` travels in (see groups.people)."""
    if groups.is_person(group) and not per_socket():
        return groups.people()
    return group


class Hub:
    """The registry of this process's sockets by group, bound to one event loop."""

    def __init__(self):
        self.loop = None
        self.layer = None
        self.channel = None
        self.name = f"{gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.groups = defaultdict(set)
        self.memberships = defaultdict(set)
        # The groups this process has joined on the channel layer, and per group a lock and the
        # number of its waiters (see _settle).
        self.joined = set()
        self._group_locks = {}
        self._tasks = []
        # False from a failure of the channel layer until every group is joined again (see doubt).
        self.sure = True
        # The sockets that were open when the doubt began: they reconnect once it is over.
        self.doubted = set()
        self.doubts = 0
        self.recovering = None
        self.doubted_since = None
        # Redis' run id per shard, as last seen by `_watch` (a new one: Redis restarted).
        self.servers = None

    async def start(self):
        self.loop = asyncio.get_running_loop()
        self.layer = get_channel_layer()
        # The layer's default prefix, like every socket's channel: channels-redis reads all of a
        # process's "!" channels through one lock and one blocking pop on that shared prefix, so a
        # channel with a prefix of its own waits behind every socket's 5-second pop before it is read.
        self.channel = await self.layer.new_channel()
        # With the in-memory layer this is the only process there can be: whatever sockets the
        # database still holds open belong to one that is gone (a restart of the demo).
        await database_sync_to_async(_beat)(self.name, True, isinstance(self.layer, InMemoryChannelLayer))
        # Before the first join: a restart from now on shows as another run id (see _watch).
        self.servers = await _servers(self.layer)
        if not per_socket():
            await self._settle(groups.people())
        self._tasks = [
            asyncio.ensure_future(self._read()),
            asyncio.ensure_future(self._refresh()),
            asyncio.ensure_future(self._heartbeat()),
        ]
        if self.servers is not None:
            self._tasks.append(asyncio.ensure_future(self._watch()))

    @property
    def started(self):
        return self.channel is not None

    async def enter(self, socket, group):
        if per_socket():
            await self.layer.group_add(group, socket.channel_name)
            self.memberships[socket].add(group)
            return
        self.groups[group].add(socket)
        self.memberships[socket].add(group)
        # Returns once the process is a member, so nothing sent to the group from now on is missed
        # (a person's group travels in `people`, which the process joined when it started).
        if carrier(group) == group:
            await self._settle(group)

    async def leave(self, socket, group):
        self.memberships[socket].discard(group)
        if not self.memberships[socket]:
            self.memberships.pop(socket, None)
        if per_socket():
            await self.layer.group_discard(group, socket.channel_name)
            return
        members = self.groups.get(group)
        if members is None:
            return
        members.discard(socket)
        if not members:
            del self.groups[group]
            if carrier(group) == group:
                await self._settle(group)

    async def leave_all(self, socket):
        """Forget `socket` everywhere, even while the channel layer is unreachable: the registry
        must not keep a closed socket; a membership the layer could not drop is dropped by the
        next renewal (`renew` settles every joined group)."""
        for group in list(self.memberships.get(socket, ())):
            try:
                await self.leave(socket, group)
            except ChannelLayerErrors as error:
                logger.warning("could not leave %s on the channel layer (%s); the next renewal will", group, error)

    async def _settle(self, group, renew=False):
        """Make the layer's membership of `group` match whether a local socket is in it.

        One change per group at a time: a discard and an add sent at once go over different
        pooled connections and may reach Redis in either order, which could leave the process
        out of a group that one of its sockets has just entered (or in one that all have left).
        Whoever holds the lock acts on the state as it is then, not as it was when they asked.
        """
        entry = self._group_locks.get(group)
        if entry is None:
            entry = self._group_locks[group] = [asyncio.Lock(), 0]
        entry[1] += 1
        try:
            async with entry[0]:
                wanted = bool(self.groups.get(group)) or group == groups.people()
                try:
                    # While in doubt, `joined` may list groups the layer has forgotten.
                    if wanted and (renew or not self.sure or group not in self.joined):
                        await self.layer.group_add(group, self.channel)
                        self.joined.add(group)
                    elif not wanted and group in self.joined:
                        await self.layer.group_discard(group, self.channel)
                        self.joined.discard(group)
                except ChannelLayerErrors as error:
                    self.doubt(f"a join failed ({error})")
                    raise
        finally:
            entry[1] -= 1
            if not entry[1]:
                del self._group_locks[group]

    async def renew(self):
        """Refresh this process's memberships before the layer's group_expiry drops them."""
        wanted = set(self.joined) | {group for group in self.groups if carrier(group) == group}
        if not per_socket():
            wanted.add(groups.people())
        for group in wanted:
            await self._settle(group, renew=True)
        if per_socket():
            # The benchmark's comparison mode: each socket's own memberships expire too.
            for socket, joined in list(self.memberships.items()):
                for group in list(joined):
                    await self.layer.group_add(group, socket.channel_name)

    def doubt(self, why):
        """The channel layer failed, or Redis restarted: the memberships may be gone.

        Until `_recover` has joined every group again, joins go to the layer for real (see
        `_settle`); if Redis did restart meanwhile (or was away longer than a message lives
        there), the sockets open now are asked to reconnect once it has (RESYNC).
        """
        if self.sure:
            logger.warning("fan-out doubts its channel-layer memberships: %s", why)
            self.doubted_since = time.monotonic()
            metrics.LAYER_DOUBTS.inc()
        self.sure = False
        self.doubts += 1
        self.doubted.update(self.memberships)
        if self.recovering is None or self.recovering.done():
            self.recovering = asyncio.ensure_future(self._recover())

    async def _recover(self):
        failed = False
        while True:
            doubts = self.doubts
            try:
                await self.renew()
                servers = await _servers(self.layer)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not failed:
                    logger.warning("fan-out cannot join its groups again yet (%s); retrying", error)
                failed = True
                await asyncio.sleep(0.5)
                continue
            if doubts != self.doubts:
                continue  # it failed again meanwhile: once more, so nothing joined before counts
            break
        # The same servers, and not for long: every membership and every message sent to this
        # process's channel meanwhile is still there (a broken pooled connection, say).
        lost = servers != self.servers or time.monotonic() - self.doubted_since > getattr(self.layer, "expiry", 60)
        self.servers = servers
        self.sure = True
        doubted, self.doubted = self.doubted, set()
        if not lost:
            logger.warning("fan-out is sure of its groups again; Redis kept them")
            return
        stale = [socket for socket in doubted if socket in self.memberships]
        logger.warning("fan-out joined its groups again; %d sockets reconnect to catch up", len(stale))
        metrics.RESYNCS.inc(len(stale))
        for socket in stale:
            try:
                await socket.control(RESYNC)
            except Exception:
                logger.exception("a socket could not be asked to reconnect")

    async def _watch(self):
        """Redis that restarted has forgotten every group, even if no read here failed (redis-py
        retries a broken connection, and the retry may reach the new server): compare run ids."""
        while True:
            await asyncio.sleep(settings.PLENUM_LAYER_WATCH_SECONDS)
            if not self.sure:
                continue  # `_recover` compares them once it is through
            try:
                servers = await _servers(self.layer)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.doubt(f"Redis does not answer ({error})")
                continue
            if servers != self.servers:
                self.doubt("Redis restarted")

    async def _read(self):
        # Redis that restarted has forgotten every group: doubt, and join them all again.
        await read_forever(self.layer, self.channel, self._dispatch, "fan-out", recover=self._reader_failed)

    async def _reader_failed(self):
        self.doubt("the hub could not read its channel")

    async def _dispatch(self, message):
        kind = message.get("type")
        if kind == DELIVER:
            text = message["text"]
            for socket in list(self.groups.get(message["group"], ())):
                await self._deliver(socket, text)
            _observe(message)
        elif kind == DELIVER_WITH_EXTRAS:
            await self._deliver_with_extras(message)
            _observe(message)
        elif kind == CONTROL:
            await self._control(message)
        else:
            logger.warning("fan-out channel got %r", kind)

    async def _deliver(self, socket, text):
        try:
            await socket.deliver(text)
        except Exception:
            # A socket that cannot be written to must not keep the others from their frame.
            logger.exception("delivery to one socket failed")

    async def _deliver_with_extras(self, message):
        extras = [(self.groups.get(group, ()), extra) for group, extra in message["extras"]]
        texts = {}  # which extras apply -> the whole frame, built once per combination
        for socket in list(self.groups.get(message["group"], ())):
            which = tuple(index for index, (members, _extra) in enumerate(extras) if socket in members)
            text = texts.get(which)
            if text is None:
                text = texts[which] = message["text"] + "".join(extras[index][1] for index in which)
            await self._deliver(socket, text)

    async def _control(self, message):
        for socket in list(self.groups.get(message["group"], ())):
            try:
                await socket.control(message["payload"])
            except Exception:
                # One socket failing to act must not keep the others in the group from it.
                logger.exception("control message failed for one socket")

    async def _refresh(self):
        while True:
            await asyncio.sleep(settings.PLENUM_PROCESS_REFRESH_SECONDS)
            try:
                await self.renew()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("fan-out refresh failed; next try in a moment")

    async def _heartbeat(self):
        # Often, and cheap: how soon the others count a dead process's sockets as gone.
        while True:
            await asyncio.sleep(settings.PLENUM_HEARTBEAT_SECONDS)
            try:
                await database_sync_to_async(_beat)(self.name, False, False)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("heartbeat failed; next try in a moment")


async def read_forever(layer, channel, handle, reader, recover=None):
    """Read `channel` until cancelled and hand each message to `handle` (a coroutine function).

    Neither a broken layer connection (Redis may come back) nor one message that fails to be
    handled ends the reading: a whole process's delivery, or every room's media, depends on it.
    After the layer failed, `recover` (a coroutine function) runs before the next read, until it
    succeeds: a restarted Redis holds none of the group memberships it had.
    """
    broken = False
    while True:
        try:
            if broken and recover is not None:
                await recover()
                logger.warning("%s reads its channel again", reader)
            broken = False
            message = await layer.receive(channel)
        except asyncio.CancelledError:
            raise
        except Exception:
            if not broken:
                logger.exception("%s could not read its channel; retrying", reader)
            broken = True
            await asyncio.sleep(0.5)
            continue
        try:
            await handle(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s could not handle a %r message", reader, message.get("type"))


async def _servers(layer):
    """The run id of every Redis server behind `layer` (None for a layer without servers)."""
    connection = getattr(layer, "connection", None)
    if connection is None or not hasattr(layer, "ring_size"):
        return None
    found = []
    for index in range(layer.ring_size):
        info = await connection(index).info("server")
        found.append(info.get("run_id"))
    return tuple(found)


def doubt(why):
    """A publish from this process's event loop saw the channel layer fail."""
    current = _hubs.get(asyncio.get_running_loop())
    if current is not None and current.started:
        current.doubt(why)


def _observe(message):
    at = message.get("at")
    if isinstance(at, (int, float)):
        metrics.BROADCAST_SECONDS.observe(max(0.0, time.time() - at))


def _beat(name, starting, alone):
    signals.heartbeat.send(sender=Hub, process=name, starting=starting, alone=alone)


_hubs = {}


async def hub():
    """This process's hub for the running event loop (tests run several loops in one process)."""
    loop = asyncio.get_running_loop()
    current = _hubs.get(loop)
    if current is None:
        current = Hub()
        _hubs.clear()
        _hubs[loop] = current
        # Sockets that connect while the hub starts wait for the same start.
        current.ready = asyncio.ensure_future(current.start())
    await current.ready
    return current


async def shutdown():
    """Stop this process's hub (tests and orderly exits); sockets should be closed first."""
    for current in list(_hubs.values()):
        for task in [*current._tasks, current.recovering]:
            if task is not None:
                task.cancel()
    _hubs.clear()


def process_name():
    current = next(iter(_hubs.values()), None)
    return current.name if current else None


def process_loop():
    """The event loop this process's sockets live on, or None outside a server (a shell)."""
    current = next(iter(_hubs.values()), None)
    return current.loop if current else None


async def publish(group, text):
    """Send one rendered frame to everyone in `group`, whichever process holds their socket."""
    await _send(carrier(group), _message(group, text))


async def _send(group, message):
    try:
        await get_channel_layer().group_send(group, message)
    except ChannelLayerErrors as error:
        # Redis may be away or restarting: the hub finds out which, and resyncs its sockets if
        # it was a restart.
        doubt(f"a broadcast failed ({error})")
        raise


def publish_sync(group, text):
    async_to_sync(publish)(group, text)


async def publish_with_extras(group, text, extras):
    """`text` to everyone in `group`; those also in a group of `extras` ({group: text}) get
    that text appended, in the same frame (one write per socket instead of two)."""
    if per_socket():
        # The benchmark's comparison mode has no registry to look into: two frames, as it used to.
        await publish(group, text)
        for other, extra in extras.items():
            await publish(other, extra)
        return
    await _send(
        carrier(group),
        {"type": DELIVER_WITH_EXTRAS, "group": group, "text": text, "extras": list(extras.items()), "at": time.time()},
    )


def publish_with_extras_sync(group, text, extras):
    async_to_sync(publish_with_extras)(group, text, extras)


async def control(group, payload):
    """Ask every socket in `group`, on every process, to act on `payload` (see Hub._control)."""
    await _send(carrier(group), {"type": CONTROL, "group": group, "payload": payload})


def control_sync(group, payload):
    async_to_sync(control)(group, payload)
