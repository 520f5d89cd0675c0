"""The one WebSocket endpoint of everyone in the venue: parse, authorise, hand over to a command.

The consumer stays thin: commands live next to their domain (agenda.commands, the places'
commands modules under rooms/) and are found in the registry of venue.protocol.
"""

import asyncio
import json
import logging
from typing import ClassVar

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import transaction

from frontend import admission, frames, snapshot
from rooms import presence
from venue import auth, errors, fanout, groups, metrics, protocol
from venue.batching import Batch
from venue.errors import Refused

logger = logging.getLogger(__name__)

# What the resilient channel read hands to dispatch when the channel layer fails (see below).
LAYER_LOST = {"type": "layer.lost"}
# The control message that closes every socket of a revoked person (see `revoked`).
REVOKED = "revoked"
REVOKED_MESSAGE = "Your access to this conference has been revoked."
# Why the server closed a socket, as a WebSocket close code (docs/protocol.md).
CLOSE_CODES = {"not_signed_in": 4401, "access_revoked": 4403, "too_many_sockets": 4429}


class JoiningPlace:
    """Where a participant's socket goes while it joins.

    Before the join reads the state, the socket enters the group of its `guess`: the place the
    last participant who joined this process went to (in a storm, everybody's), so that the
    place's frame can come in the same trip as the rest. A placement that reaches the socket
    before the join has taken its place is kept (`placed`); `settle` then picks the newer of it
    and what the join read (moving at once would be undone by the join's own, older place).
    """

    _last: ClassVar[dict] = {}  # conference id -> the place the last participant who joined this process went to

    def __init__(self, conference_id):
        self.conference_id = conference_id
        self.guess = self._last.get(conference_id)
        self.pending = None  # (state version, place) of a placement during the join
        self.settled = False

    def placed(self, version, place):
        # One without a version, a single person's move, was sent after what it moved was
        # committed: at least as new as anything read before, or the same.
        if self.pending is None or None in (version, self.pending[0]) or version >= self.pending[0]:
            self.pending = (version, place)

    def settle(self, arrival):
        """Where the join moves the socket: (place, its frame if read with the arrival, the
        version of the placement it follows, if any)."""
        self.settled = True
        place, frame, version = arrival.place, arrival.place_frame, None
        if self.pending is not None and (None in (self.pending[0], arrival.version) or self.pending[0] > arrival.version):
            # Everyone was moved after `arrive_all` read the state: that placement wins.
            (version, place), frame = self.pending, None
        self._last[self.conference_id] = place
        return place, frame, version


def admit_all(requests):
    """Who is on the other end of each of many connecting sockets ((credentials, process) each),
    with their socket counted as open, in one transaction and a few statements: for each, in
    order, (person, connection id), (None, None) when nobody is signed in (or they were
    revoked), or a Refused (too many sockets). See `admissions`."""
    with transaction.atomic():
        people = auth.people_for([credentials for credentials, _process in requests], locked=True)
        found = [(None, None)] * len(requests)
        by_process = {}
        for index, ((_credentials, process), person) in enumerate(zip(requests, people)):
            if person is not None:
                by_process.setdefault(process, []).append(index)
        for process, indices in by_process.items():
            opened = presence.open_connections([people[index] for index in indices], process)
            for index, connection_id in zip(indices, opened):
                found[index] = connection_id if isinstance(connection_id, Refused) else (people[index], connection_id)
        return found


def _abandoned(results):
    """Sockets that went away while their admission was under way: their rows are closed."""
    presence.close_connections([connection_id for _person, connection_id in results if connection_id is not None])


# The connecting sockets of this process share their trips to the database (venue/batching.py).
admissions = Batch("admit", admit_all, abandoned=_abandoned)
arrivals = Batch("arrive", snapshot.arrive_all)


def revoked(sender, conference_id, person_ids, **kwargs):
    """venue.signals.access_revoked: every socket of these people closes, in every process."""
    for person_id in person_ids:
        fanout.control_sync(groups.person(person_id), {"kind": REVOKED})


class VenueConsumer(AsyncWebsocketConsumer):
    # channels assigns the layer's receive for this socket's channel to `channel_receive`; reading
    # it through `_receive_from_layer` keeps a Redis outage from crashing the socket (a crash
    # would skip `disconnect`, leaving the socket in the hub and its connection open).
    @property
    def channel_receive(self):
        return self._receive_from_layer

    @channel_receive.setter
    def channel_receive(self, receive):
        self._layer_receive = receive
        self._layer_lost = False

    async def _receive_from_layer(self):
        if self._layer_lost:
            await asyncio.Event().wait()  # closing; the consumer stops and cancels this
        try:
            return await self._layer_receive()
        except fanout.ChannelLayerErrors as error:
            logger.warning("a socket lost its channel layer (%s); it reconnects", error)
            self._layer_lost = True
            if self.hub is not None:
                self.hub.doubt(f"a socket could not read its channel ({error})")
            return LAYER_LOST

    async def dispatch(self, message):
        # channels' own dispatch first closes stale database connections, in the one database
        # thread, before every message: a join storm's connect waited there behind everyone's
        # queries for nothing. Every database call of ours (database_sync_to_async) closes them
        # itself, in that thread, before and after it runs.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def layer_lost(self, _message):
        # The page reconnects, and its snapshot shows whatever it missed meanwhile.
        self.refusing = True
        await self.close(code=admission.SERVICE_RESTART)

    async def connect(self):
        self.person = None
        self.connection_id = None
        self.hub = None
        self.place = None
        self.counted = False
        # Set once the connect sequence is through; `refusing` once the server closes this
        # socket (nothing it sends after that is acted on), `revoked` when its person was.
        self.connected = self.refusing = self.revoked = False
        # Broadcasts that arrive while the snapshot is being rendered wait until it is sent, so
        # that an update is never overwritten by the older snapshot.
        self.held = []
        # A participant's place while it joins (see JoiningPlace).
        self.joining = None
        self.language = admission.requested_language(self.scope)
        # The handshake is answered with the first frame (see `send`).
        self.accepted = False
        try:
            self.hub = await fanout.hub()
            self.person, self.connection_id = await admissions((self.scope.get("credentials"), self.hub.name))
            if self.person is None:
                await self._shut("not_signed_in", "Open your invite link first.")
                return
            self.conference_id = self.person.conference_id
            self.audience = groups.audience_of(self.person.role)
            await self._join()
        except Refused as refused:
            await self._shut(refused.code, refused.message)
            return
        except Disconnected:
            # The page went away while joining (a tab closed in a storm): nobody to tell.
            if self.hub is not None:
                await self.hub.leave_all(self)
            return
        except Exception:
            # Redis away, say: the page is told to come back instead of holding a deaf socket.
            logger.exception("a socket could not join; it is told to try again")
            if self.hub is not None:
                await self.hub.leave_all(self)
            self.refusing = True
            await self.send(admission.busy(self.language, admission.RETRY_AFTER_FAILURE))
            await self.close(code=admission.TRY_AGAIN_LATER)
            return
        finally:
            # Joined (or not): the door may let the next socket in.
            ticket = self.scope.get("admission")
            if ticket is not None:
                ticket.done()
        metrics.JOINS.labels("admitted").inc()
        self.counted = True
        metrics.socket_moved(False, self.place)
        self.connected = True
        presence.changed(self.conference_id)
        if self.revoked:
            await self._shut("access_revoked", REVOKED_MESSAGE)

    async def _join(self):
        if self.audience == groups.PARTICIPANTS:
            # Before the socket can hear a placement (in `everyone`'s group, below).
            self.joining = JoiningPlace(self.conference_id)
        # In the person's group before `arrive_all` looks at the person once more: a revocation
        # committed after that look reaches this socket there (see `control`), one committed
        # before it is refused by it.
        await self.hub.enter(self, groups.person(self.person.pk))
        await self.hub.enter(self, groups.audience(self.conference_id, self.audience, self.language))
        await self.hub.enter(self, groups.everyone(self.conference_id))
        for hook in protocol.CONNECT_HOOKS:
            try:
                await hook(self)
            except Exception:
                # A domain that cannot add its part must not keep the person out of the venue.
                logger.exception("connect hook %r failed", hook)
        # A participant most likely goes where the last one who joined this process went (in a
        # storm, everyone to the plenary): in that place's group before `arrive_all` reads the
        # state, the place's frame can come with the rest, and the three frames leave in one write.
        guess = self.joining.guess if self.joining is not None else None
        if guess is not None:
            await self.hub.enter(self, groups.room(self.conference_id, guess, self.language))
        # Everything else this socket reads, in one trip to the database thread (shared with
        # whoever connects meanwhile: `snapshot.arrive_all`).
        arrival = await arrivals((self.person, self.audience, self.language, guess))
        # A late joiner sees the current state at once, from the same partials as everyone,
        # then what is theirs alone (their hand, their votes).
        await self.send(arrival.snapshot)
        if self.joining is not None:
            place, frame, version = self.joining.settle(arrival)
            if guess is not None and guess != place:
                await self.hub.leave(self, groups.room(self.conference_id, guess, self.language))
            await self.move_to(place, held=True, frame=frame, version=version)
        await self.send(json.dumps(arrival.me))
        await self._release()

    async def _shut(self, code, message):
        """Tell the client why, and close the socket; nothing it sends from now on is acted on."""
        if self.refusing:
            return
        self.refusing = True
        await self.send(protocol.error(code, message))
        await self.close(code=CLOSE_CODES[code])

    async def _release(self):
        held, self.held = self.held, None
        for text in held or ():
            await self.send(text)

    async def move_to(self, room_id, held=False, version=None, frame=None):
        """Leave the old place's group, join the new one, and show the new place (`frame`: its
        frame, read after this socket entered the place's group)."""
        old = self.place
        if room_id == old and not held:
            return
        if self.held is None:
            self.held = []
        if old is not None and old != room_id:
            await self.hub.leave(self, groups.room(self.conference_id, old, self.language))
        self.place = room_id
        presence.moved(self.connection_id, room_id)
        if self.counted:
            metrics.socket_moved(old, room_id)
        if room_id is not None:
            await self.hub.enter(self, groups.room(self.conference_id, room_id, self.language))
        # When everyone moves at once, the first socket of a place renders it; the others find it
        # in this process's cache by the version the move came with, without a database trip.
        # Domains let go of the old place first (media closes), so that whatever the page does on
        # seeing its new place cannot be undone by them afterwards.
        for hook in protocol.MOVE_HOOKS:
            try:
                await hook(self, old, room_id)
            except Exception:
                logger.exception("move hook %r failed", hook)
        if frame is None and version:
            frame = frames.cached(self.conference_id, version, room_id, self.language)
        if frame is None:
            frame = await database_sync_to_async(frames.place_frame)(self.conference_id, room_id, self.language)
        await self.send(frame)
        if not held:
            await self._release()

    async def control(self, payload):
        """A control message from the fan-out hub: this socket acts on it itself."""
        kind = payload.get("kind")
        if kind == "placement":
            if self.audience == groups.PARTICIPANTS:
                people = payload.get("people") or {}
                place = people.get(str(self.person.pk), payload.get("default"))
                if not self.joining.settled:
                    # Still joining: the join moves there itself if this is newer than what it read.
                    self.joining.placed(payload.get("version"), place)
                    return
                await self.move_to(place, version=payload.get("version"))
            presence.changed(self.conference_id)
            return
        if kind == fanout.RESYNC["kind"]:
            # The channel layer was away: this page may have missed broadcasts, so it reconnects
            # and takes a fresh snapshot.
            if self.connected and not self.refusing:
                self.refusing = True
                await self.close(code=admission.SERVICE_RESTART)
            return
        if kind == REVOKED:
            self.revoked = True
            # A socket still connecting closes once it is through (see `connect`).
            if self.connected:
                await self._shut("access_revoked", REVOKED_MESSAGE)
            return
        handler = protocol.CONTROL_HANDLERS.get(kind)
        if handler is None:
            logger.warning("control message of unknown kind %r", kind)
            return
        await handler(self, payload)

    async def disconnect(self, code):
        if self.counted:
            self.counted = False
            metrics.socket_moved(self.place, False)
        if self.person is not None and self.connection_id is not None:
            for hook in protocol.DISCONNECT_HOOKS:
                try:
                    await hook(self)
                except Exception:
                    # One domain failing to clean up must not keep the others from doing so.
                    logger.exception("disconnect hook %r failed", hook)
        if self.hub is not None:
            await self.hub.leave_all(self)
        if self.connection_id is not None:
            await database_sync_to_async(presence.close_connection)(self.connection_id)
            presence.changed(self.conference_id)

    async def receive(self, text_data=None, bytes_data=None):
        if self.person is None or (self.refusing and not self.revoked):
            return
        message_id = None
        kind = metrics.UNKNOWN
        try:
            message_id, found, fields = protocol.parse(text_data)
            kind = found.name
            if self.revoked:
                raise Refused("access_revoked", REVOKED_MESSAGE)
            protocol.authorize(found, self.person)
            await protocol.within_rate(found, self.person)
            reply = await found.handler(self, **fields)
            if isinstance(reply, protocol.ReplyElsewhere):
                metrics.command(kind, "relayed")
                await reply.forward(message_id)
                return
        except Refused as refused:
            metrics.command(kind, "refused")
            metrics.refused(refused.code)
            message_id = getattr(refused, "message_id", message_id)
            await self.send(protocol.error(refused.code, refused.message, message_id))
            return
        except Exception:
            metrics.command(kind, "failed")
            # The socket and the process stay up; the client learns that this one failed.
            logger.exception("command failed: %r", text_data[:200] if text_data else None)
            await self.send(protocol.error("internal_error", "That did not work; please try again.", message_id))
            return
        metrics.command(kind, "ok")
        await self.send(protocol.ack(message_id, **(reply or {})))

    async def send(self, text_data=None, bytes_data=None, close=False):
        # The handshake is answered with the first frame, not before: the answer and the first
        # frames then leave in one write (a join storm's event loop spent a third of its time in
        # sends), and a page has nothing to do before its first frame anyway.
        if not self.accepted:
            self.accepted = True
            await self.accept()
        # Every error this socket gets, its own or one forwarded by the media worker, reads in
        # the socket's language; the code stays as it was sent.
        if text_data is not None and text_data.startswith(errors.ERROR_PREFIX):
            text_data = errors.localized(text_data, self.language)
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def deliver(self, text):
        """Called by this process's fan-out hub with a frame for one of this socket's groups."""
        if self.held is not None:
            self.held.append(text)
            return
        await self.send(text)

    async def fanout_deliver(self, event):
        # Reached in the benchmark's per-socket mode, where this socket is a group member, and
        # with replies and offers that the media worker sends to this socket's own channel.
        await self.deliver(event["text"])

    async def fanout_control(self, event):
        await self.control(event["payload"])
