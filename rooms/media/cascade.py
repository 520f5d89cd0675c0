"""One room over several media workers: the cascade.

A worker is one process, so one core; the plenary's stage goes to everyone, so a room that lives
in one worker reaches only as many viewers as one core can forward to. A spread room
(`policy.spreads`: the plenary) therefore lives in every worker that has viewers of it: each new
viewer goes to the least loaded worker (rooms.media.load), publishers publish where they joined,
and each publisher's tracks cross once to every other worker that has people in the room, which
forwards them to its own. Large SFUs do the same (mediasoup pipes a producer into a router on
another worker, LiveKit relays tracks between nodes, Jitsi cascades bridges).

A crossing is a peer connection between two workers, and to the sending worker the other worker
is one more subscriber of the room: a `RelaySession`, whose slots carry every track published
here, packetised without decoding (rooms.media.forwarding). The receiving worker taps the
connection's receivers with ordinary `Forwarder`s (their owner a `RemotePublisher`), which its
viewers' slots read like any local publisher's. A viewer's keyframe request goes back the same
way: its slot asks the relay's forwarder, whose receiver sends a PLI to the sending worker, whose
relay slot asks the publisher's forwarder, which asks the publisher.

Workers speak to each other over the channel layer, on their own channels, in messages of type
CASCADE; one worker's messages to another are handled in order. `op` says what it is:

    hello                       I (re)started: forget what you knew of my predecessor
    want      room, place       I have people in this room: send me its tracks
    unwant    room              I have nobody there any more
    offer     room, sdp, tracks the relay's offer, from the worker that sends tracks
    answer    room, sdp         the receiving worker's answer
    tracks    room, tracks      which publisher and source each relayed track (mid) carries now
    peers     room, peers       the sending worker's own roster of the room (who has a tile)
    speaking  room, person, speaking    someone here started or stopped speaking (for last N)
    stage     conference, person, on    a stage seat given or taken on another worker
    last_n    conference, n     the moderator's "video for the last N speakers"
    on_air    conference, language, person  who is on air in an interpretation channel now
    recording conference, recording         the plenary is recorded now (null: no longer)
"""

import asyncio
import logging
from dataclasses import asdict

from channels.exceptions import ChannelFull
from django.conf import settings

from rooms.media import policy
from rooms.media import sfu as sfus
from rooms.media.forwarding import Forwarder
from rooms.models.interpretation import LANGUAGES
from venue import groups

logger = logging.getLogger(__name__)

CASCADE = "media.cascade"
RELAYED_SOURCES = ("audio", "video", "screen", "interpretation", "sign", "interpreter")


class RemotePublisher:
    """Another worker's publisher, as the tracks it relays here name them."""

    def __init__(self, person_id, name):
        self.person_id = person_id
        self.name = name


class IncomingRelay:
    """The tracks one other worker relays here for one room: its peer connection's receivers."""

    def __init__(self, peer):
        self.peer = peer
        self.pc = None
        self.by_transceiver = {}  # transceiver -> Forwarder, tapped on the track event
        self.forwarders = {}  # mid -> Forwarder
        self.owners = {}  # person id -> RemotePublisher
        self.peers = []  # that worker's own roster of the room
        self.lock = asyncio.Lock()

    def apply_tracks(self, tracks):
        """Label each relayed track with the publisher and source it carries now."""
        labelled = set()
        for entry in tracks:
            forwarder = self.forwarders.get(entry.get("mid"))
            person_id = entry.get("person")
            if forwarder is None or not isinstance(person_id, int):
                continue
            owner = self.owners.get(person_id)
            if owner is None:
                owner = self.owners[person_id] = RemotePublisher(person_id, str(entry.get("name", ""))[:80])
            forwarder.owner = owner
            forwarder.source = entry.get("source") if entry.get("source") in RELAYED_SOURCES else forwarder.kind
            forwarder.language = entry.get("language") if entry.get("language") in LANGUAGES else None
            labelled.add(forwarder)
        for forwarder in self.forwarders.values():
            if forwarder not in labelled:
                # A slot the other worker has freed: nobody is behind it until it says so.
                forwarder.owner = None

    def active(self):
        return [f for f in self.forwarders.values() if f.owner is not None]


class Cascade:
    """This worker's part in every spread room: whom it sends tracks to, and what it receives."""

    def __init__(self, sfu, layer, index):
        self.sfu = sfu
        self.layer = layer
        self.index = index
        self.wanted = {}  # room id -> indexes of the workers that want its tracks

    def others(self):
        return [i for i in range(settings.PLENUM_MEDIA_WORKERS) if i != self.index]

    async def send(self, peer, op, **payload):
        try:
            await self.layer.send(groups.media_worker(peer), {"type": CASCADE, "op": op, "from": self.index, **payload})
        except ChannelFull:
            # That worker is not reading; when a successor starts it says hello, and we start over.
            logger.warning("media worker %d is not reading; cascade %s not sent", peer, op)

    # -- what this worker's SFU tells the cascade ------------------------------------------

    async def started(self):
        for peer in self.others():
            await self.send(peer, "hello")

    async def room_opened(self, room):
        for peer in self.others():
            await self.send(peer, "want", room=room.place.room_id, place=asdict(room.place))
        for peer in sorted(self.wanted.get(room.place.room_id, ())):
            await self._serve(room, peer)

    async def room_closed(self, room):
        for peer in self.others():
            await self.send(peer, "unwant", room=room.place.room_id)
        for relay in list(room.remote.values()):
            await self._close_incoming(room, relay)

    async def speaking(self, room, person_id, speaking):
        for peer in sorted(self.wanted.get(room.place.room_id, ())):
            await self.send(peer, "speaking", room=room.place.room_id, person=person_id, speaking=speaking)

    async def stage(self, conference_id, person_id, on):
        for peer in self.others():
            await self.send(peer, "stage", conference=conference_id, person=person_id, on=on)

    async def last_n(self, conference_id, n):
        for peer in self.others():
            await self.send(peer, "last_n", conference=conference_id, n=n)

    async def on_air(self, conference_id, language, person_id):
        for peer in self.others():
            await self.send(peer, "on_air", conference=conference_id, language=language, person=person_id)

    # -- what the other workers say ---------------------------------------------------------

    async def handle(self, message):
        op = message.get("op")
        peer = message.get("from")
        if not isinstance(peer, int) or isinstance(peer, bool) or peer == self.index or peer not in self.others():
            logger.warning("cascade message %r from an unknown worker %r", op, peer)
            return
        handler = getattr(self, f"_on_{op}", None) if isinstance(op, str) and op.isidentifier() else None
        if handler is None:
            logger.warning("unknown cascade message %r", op)
            return
        await handler(peer, message)

    def _room(self, message):
        room_id = message.get("room")
        return self.sfu.rooms.get(room_id) if isinstance(room_id, int) else None

    async def _on_hello(self, peer, message):
        await self.forget(peer)

    async def _on_want(self, peer, message):
        room_id = message.get("room")
        if not isinstance(room_id, int):
            return
        self.wanted.setdefault(room_id, set()).add(peer)
        room = self.sfu.rooms.get(room_id)
        if room is not None:
            await self._serve(room, peer)

    async def _on_unwant(self, peer, message):
        room_id = message.get("room")
        wanting = self.wanted.get(room_id)
        if wanting is not None:
            wanting.discard(peer)
            if not wanting:
                del self.wanted[room_id]
        room = self._room(message)
        if room is not None:
            await self._stop_serving(room, peer)
            # Nobody is there any more, so that worker sends nothing either.
            relay = room.remote.get(peer)
            if relay is not None:
                await self._close_incoming(room, relay)
                await self.sfu.resync_room(room)
                await self.sfu.send_roster(room)

    async def _on_offer(self, peer, message):
        room = self._room(message)
        if room is None:
            # Nobody here any more: the sender should stop.
            await self.send(peer, "unwant", room=message.get("room"))
            return
        relay = room.remote.get(peer)
        if relay is None:
            relay = room.remote[peer] = IncomingRelay(peer)
        async with relay.lock:
            answer = await self._apply_offer(room, relay, str(message.get("sdp", "")))
            relay.apply_tracks(message.get("tracks") or [])
        if answer is None:
            return
        await self.send(peer, "answer", room=room.place.room_id, sdp=answer)
        await self.sfu.resync_room(room)

    async def _apply_offer(self, room, relay, sdp):
        fresh = relay.pc is None
        pc = sfus.new_peer_connection() if fresh else relay.pc

        @pc.on("track")
        def on_track(track):
            transceiver = next(t for t in pc.getTransceivers() if t.receiver.track is track)
            relay.by_transceiver[transceiver] = Forwarder(transceiver.receiver, track.kind, track.kind, None)

        try:
            await pc.setRemoteDescription(sfus.RTCSessionDescription(sdp=sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except sfus.SDP_ERRORS as error:
            logger.warning("the cascade offer of worker %d could not be applied: %s", relay.peer, error)
            if fresh:
                await sfus.close_peer_connection(pc)
                room.remote.pop(relay.peer, None)
            return None
        finally:
            pc.remove_listener("track", on_track)
        if fresh:
            relay.pc = pc
            self._watch(room, relay)
        for transceiver, forwarder in relay.by_transceiver.items():
            if transceiver.mid is not None:
                relay.forwarders[transceiver.mid] = forwarder
        return pc.localDescription.sdp

    def _watch(self, room, relay):
        @relay.pc.on("connectionstatechange")
        async def on_state():
            if relay.pc is not None and relay.pc.connectionState == "failed":
                logger.info("the cascade from worker %d failed", relay.peer)
                await self._close_incoming(room, relay)
                await self.sfu.resync_room(room)
                await self.sfu.send_roster(room)

    async def _on_answer(self, peer, message):
        room = self._room(message)
        session = room.relays.get(peer) if room is not None else None
        if session is None:
            return
        try:
            await self.sfu.apply_answer(session, str(message.get("sdp", "")))
        except Exception:
            logger.exception("the cascade answer of worker %d could not be applied", peer)

    async def _on_tracks(self, peer, message):
        room = self._room(message)
        relay = room.remote.get(peer) if room is not None else None
        if relay is None:
            return
        async with relay.lock:
            relay.apply_tracks(message.get("tracks") or [])
        await self.sfu.resync_room(room)

    async def _on_peers(self, peer, message):
        room = self._room(message)
        if room is None:
            return
        relay = room.remote.get(peer)
        if relay is None:
            relay = room.remote[peer] = IncomingRelay(peer)
        peers = message.get("peers")
        relay.peers = [p for p in peers if isinstance(p, dict)] if isinstance(peers, list) else []
        await self.sfu.send_roster(room)

    async def _on_speaking(self, peer, message):
        room = self._room(message)
        person_id = message.get("person")
        if room is not None and isinstance(person_id, int):
            await self.sfu.speaking_changed(room, person_id, bool(message.get("speaking")), local=False)

    async def _on_stage(self, peer, message):
        conference_id, person_id = message.get("conference"), message.get("person")
        if not isinstance(conference_id, int) or not isinstance(person_id, int):
            return
        if message.get("on"):
            await self.sfu.put_on_stage(conference_id, person_id, relayed=True)
        else:
            await self.sfu.take_off_stage(conference_id, person_id, relayed=True)

    async def _on_last_n(self, peer, message):
        conference_id, n = message.get("conference"), message.get("n")
        if isinstance(conference_id, int) and isinstance(n, int):
            await self.sfu.set_last_n(conference_id, n, relayed=True)

    async def recording(self, conference_id, recording_id):
        for peer in self.others():
            await self.send(peer, "recording", conference=conference_id, recording=recording_id)

    async def _on_recording(self, peer, message):
        conference_id, recording_id = message.get("conference"), message.get("recording")
        if not isinstance(conference_id, int):
            return
        if isinstance(recording_id, int) and not isinstance(recording_id, bool):
            await self.sfu.start_recording(conference_id, recording_id, relayed=True)
        elif recording_id is None:
            await self.sfu.stop_recording(conference_id, relayed=True)

    async def _on_on_air(self, peer, message):
        conference_id, language, person_id = message.get("conference"), message.get("language"), message.get("person")
        if isinstance(conference_id, int) and language in LANGUAGES and (person_id is None or isinstance(person_id, int)):
            await self.sfu.set_on_air(conference_id, language, person_id, relayed=True)

    # -- serving another worker -------------------------------------------------------------

    async def _serve(self, room, peer):
        """Send this room's tracks to worker `peer`, as one more subscriber of the room."""
        if peer in room.relays:
            return
        session = RelaySession(self, peer, room.place)
        room.relays[peer] = session
        room.sessions[session.socket] = session
        await self.sfu.sync(session)
        await session.tell({"type": "media.peers", "peers": room.local_roster()})

    async def _stop_serving(self, room, peer):
        session = room.relays.pop(peer, None)
        if session is None:
            return
        room.sessions.pop(session.socket, None)
        await self.sfu.close_session(session)

    async def _close_incoming(self, room, relay):
        if room.remote.get(relay.peer) is relay:
            del room.remote[relay.peer]
        for forwarder in relay.by_transceiver.values():
            forwarder.close()
        pc, relay.pc = relay.pc, None
        await sfus.close_peer_connection(pc)

    async def forget(self, peer):
        """Worker `peer` is gone (or a successor said hello): nothing of it stays here."""
        for wanting in self.wanted.values():
            wanting.discard(peer)
        for room in list(self.sfu.rooms.values()):
            await self._stop_serving(room, peer)
            relay = room.remote.get(peer)
            if relay is not None:
                await self._close_incoming(room, relay)
                await self.sfu.resync_room(room)
                await self.sfu.send_roster(room)
            if room.place.room_id in self.sfu.rooms and policy.spreads(room.place):
                # A successor knows nothing of this room yet: ask it, as on opening.
                await self.send(peer, "want", room=room.place.room_id, place=asdict(room.place))

    def stats(self):
        rooms = {}
        for room in self.sfu.rooms.values():
            if room.relays or room.remote:
                rooms[room.place.slug] = {
                    "sending_to": sorted(room.relays),
                    "sent_tracks": {peer: sum(1 for s in session.slots if s.forwarder is not None)
                                    for peer, session in room.relays.items()},
                    "receiving_from": {peer: len(relay.active()) for peer, relay in room.remote.items()},
                }
        return rooms


class RelayLink:
    """What a RelaySession has for a socket: messages go to the other worker, not to a page."""

    def __init__(self, cascade, peer, room_id):
        self.cascade = cascade
        self.peer = peer
        self.room_id = room_id


class _Nobody:
    pk = None
    display_name = ""


class RelaySession(sfus.MediaSession):
    """Stands in, on the sending worker, for another worker that has people in the room: a
    subscriber whose slots carry every track published here, and whose messages go to that
    worker instead of a page. It is in the room's sessions, so it follows every change of the
    room's publishers like any subscriber; it shows in no roster and publishes nothing."""

    relay = True

    def __init__(self, cascade, peer, place):
        super().__init__(RelayLink(cascade, peer, place.room_id), _Nobody(), place)
        self.peer = peer
        self.cascade = cascade

    async def tell(self, message):
        if self.closed:
            return
        kind = message.get("type")
        room_id = self.place.room_id
        if kind == "media.offer":
            await self.cascade.send(self.peer, "offer", room=room_id, sdp=message["sdp"], tracks=message["tracks"])
        elif kind == "media.tracks":
            await self.cascade.send(self.peer, "tracks", room=room_id, tracks=message["tracks"])
        elif kind == "media.peers":
            await self.cascade.send(self.peer, "peers", room=room_id, peers=message["peers"])
        # Everything else an SFU tells a page (muted, staged, failed) has no meaning here.
