"""The one WebSocket endpoint of everyone in the venue: parse, authorise, hand over to a command.

The consumer stays thin: commands live next to their domain (agenda.commands, the places'
commands modules under rooms/) and are found in the registry of venue.protocol.
"""

import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from frontend import frames, snapshot
from rooms import places, presence
from venue import errors, fanout, groups, languages, protocol
from venue.errors import Refused

logger = logging.getLogger(__name__)

LANGUAGES = {code for code, _name in settings.LANGUAGES}
# The control message that closes every socket of a revoked person (see `revoked`).
REVOKED = "revoked"
REVOKED_MESSAGE = "Your access to this conference has been revoked."
# Why the server closed a socket, as a WebSocket close code (docs/protocol.md).
CLOSE_CODES = {"not_signed_in": 4401, "access_revoked": 4403, "too_many_sockets": 4429}


def revoked(sender, conference_id, person_ids, **kwargs):
    """venue.signals.access_revoked: every socket of these people closes, in every process."""
    for person_id in person_ids:
        fanout.control_sync(groups.person(person_id), {"kind": REVOKED})


class VenueConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.person = self.scope.get("person")
        self.connection_id = None
        self.hub = None
        # Set once the connect sequence is through; `refusing` once the server closes this
        # socket (nothing it sends after that is acted on), `revoked` when its person was.
        self.connected = self.refusing = self.revoked = False
        # Broadcasts that arrive while the snapshot is being rendered wait until it is sent, so
        # that an update is never overwritten by the older snapshot.
        self.held = []
        self.language = self._language()
        await self.accept()
        if self.person is None:
            await self._shut("not_signed_in", "Open your invite link first.")
            return
        self.conference_id = self.person.conference_id
        self.audience = groups.audience_of(self.person.role)
        self.place = None
        self.hub = await fanout.hub()
        # In the person's group before the check below: a revocation committed after the check
        # reaches this socket there (see `control`).
        await self.hub.enter(self, groups.person(self.person.pk))
        try:
            self.connection_id = await database_sync_to_async(presence.open_connection)(
                self.person, self.hub.name
            )
        except Refused as refused:
            await self._shut(refused.code, refused.message)
            return
        await self.hub.enter(self, groups.audience(self.conference_id, self.audience, self.language))
        await self.hub.enter(self, groups.everyone(self.conference_id))
        for hook in protocol.CONNECT_HOOKS:
            try:
                await hook(self)
            except Exception:
                # A domain that cannot add its part must not keep the person out of the venue.
                logger.exception("connect hook %r failed", hook)
        # Before the snapshot: whatever is broadcast after this note is rendered in our language
        # too, whatever was committed before it is in the snapshot (venue/languages.py).
        if not languages.is_noted(self.conference_id, self.language):
            await database_sync_to_async(languages.note)(self.conference_id, self.language)
        # A late joiner sees the current state at once, from the same partials as everyone,
        # then what is theirs alone (their hand, their votes).
        await self.send(
            await database_sync_to_async(snapshot.current)(self.conference_id, self.audience, self.language)
        )
        if self.audience == groups.PARTICIPANTS:
            await self.move_to(await database_sync_to_async(places.place_of)(self.person), held=True)
        await self.send(json.dumps(await database_sync_to_async(frames.me)(self.person)))
        await self._release()
        self.connected = True
        presence.changed(self.conference_id)
        if self.revoked:
            await self._shut("access_revoked", REVOKED_MESSAGE)

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

    async def move_to(self, room_id, held=False, version=None):
        """Leave the old place's group, join the new one, and show the new place."""
        old = self.place
        if room_id == old and not held:
            return
        if self.held is None:
            self.held = []
        if old is not None and old != room_id:
            await self.hub.leave(self, groups.room(self.conference_id, old, self.language))
        self.place = room_id
        presence.moved(self.connection_id, room_id)
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
        frame = frames.cached(self.conference_id, version, room_id, self.language) if version else None
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
                await self.move_to(people.get(str(self.person.pk), payload.get("default")), version=payload.get("version"))
            presence.changed(self.conference_id)
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

    def _language(self):
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        requested = (query.get("lang") or [""])[0]
        return requested if requested in LANGUAGES else settings.LANGUAGE_CODE

    async def disconnect(self, code):
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
        try:
            message_id, found, fields = protocol.parse(text_data)
            if self.revoked:
                raise Refused("access_revoked", REVOKED_MESSAGE)
            protocol.authorize(found, self.person)
            await protocol.within_rate(found, self.person)
            reply = await found.handler(self, **fields)
            if isinstance(reply, protocol.ReplyElsewhere):
                await reply.forward(message_id)
                return
        except Refused as refused:
            message_id = getattr(refused, "message_id", message_id)
            await self.send(protocol.error(refused.code, refused.message, message_id))
            return
        except Exception:
            # The socket and the process stay up; the client learns that this one failed.
            logger.exception("command failed: %r", text_data[:200] if text_data else None)
            await self.send(protocol.error("internal_error", "That did not work; please try again.", message_id))
            return
        await self.send(protocol.ack(message_id, **(reply or {})))

    async def send(self, text_data=None, bytes_data=None, close=False):
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
