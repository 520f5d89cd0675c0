"""The SFU: media rooms, each participant's two peer connections, and who receives whom.

Every participant in a media room has at most two RTCPeerConnections with this process:

* a *publish* connection, offered by the browser (sendonly microphone, camera and, where
  allowed, screen), answered here after `policy.may_publish` said yes;
* a *subscribe* connection, offered by us, with one sendonly slot per track of everyone
  else in the room. A slot whose publisher left is reused for the next publisher of the
  same kind (a `ForwardedTrack` is switched, not replaced), so renegotiation happens only
  when a subscriber needs more slots than it ever had.

Only one side ever offers on each connection, so offers never collide. Each process keeps
its own `SFU` (one per event loop, like the fan-out hub); docs/media.md says why media of
one room must live in one process and how the media worker does that at scale.
"""

import asyncio
import json
import logging
import time

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc import sdp as aiortc_sdp
from aiortc.sdp import candidate_from_sdp
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError
from aiortc.rtcconfiguration import RTCBundlePolicy
from channels.db import database_sync_to_async
from django.conf import settings

from rooms.media import policy, recording
from rooms.media.forwarding import ForwardedTrack, Forwarder, check_aiortc_seams
from rooms.models.interpretation import SIGN_LANGUAGE
from venue import fanout, groups, render
from venue.errors import Refused

logger = logging.getLogger(__name__)

check_aiortc_seams()

# A whole SDP (several chunks of one message each) may not be larger than this.
MAX_SDP_BYTES = 64 * 1024
# A publish offer carries at most a microphone, a camera and a screen.
MAX_PUBLISH_SECTIONS = {"audio": 1, "video": 2}
VIDEO_CODEC = "video/VP8"
AUDIO_CODEC = "audio/opus"
# Errors aiortc raises for descriptions it cannot apply; anything else is our bug.
SDP_ERRORS = (ValueError, KeyError, IndexError, TypeError, AssertionError, AttributeError,
              InternalError, InvalidAccessError, InvalidStateError, OperationError)

# Who is speaking: a microphone whose loudest packet in a tick is at least this loud (RFC 6464:
# -dBov, so lower is louder; speech is around 30 to 45, a quiet room above 70), and for how long
# after the last such tick they still count as speaking (pauses between words and sentences).
SPEAKING_TICK_SECONDS = 0.1
SPEAKING_LEVEL = 60
SPEAKING_HOLD_SECONDS = 1.5
MAX_RECENT_SPEAKERS = 50

# Every RTCPeerConnection this process holds, so tests and operators can count them.
PEERS = set()


def open_peer_connections():
    return len(PEERS)


def ice_servers():
    """RTCIceServer list from settings; an explicit empty list keeps aiortc off public STUN."""
    servers = []
    for entry in settings.PLENUM_ICE_SERVERS:
        servers.append(RTCIceServer(
            urls=entry["urls"], username=entry.get("username"), credential=entry.get("credential")
        ))
    return servers


def new_peer_connection():
    pc = RTCPeerConnection(RTCConfiguration(
        iceServers=ice_servers(), bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
    ))
    PEERS.add(pc)
    return pc


async def close_peer_connection(pc):
    if pc is None:
        return
    try:
        await pc.close()
    finally:
        PEERS.discard(pc)


def _codec_preferences(kind):
    wanted = {VIDEO_CODEC.lower(), "video/rtx"} if kind == "video" else {AUDIO_CODEC.lower()}
    return [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() in wanted]


def parse_offer(text, *, allow_screen):
    """Check a publish offer before anything is changed; returns the parsed description."""
    try:
        description = aiortc_sdp.SessionDescription.parse(text)
    except SDP_ERRORS:
        raise Refused("invalid_sdp", "The offer is not a valid session description.") from None
    counts = {"audio": 0, "video": 0}
    for media in description.media:
        if media.kind not in counts:
            raise Refused("invalid_sdp", "Only audio and video may be published.")
        counts[media.kind] += 1
        if media.direction not in ("sendonly", "sendrecv", "inactive"):
            raise Refused("invalid_sdp", "A publish offer sends media; it does not receive it.")
        wanted = VIDEO_CODEC if media.kind == "video" else AUDIO_CODEC
        if not any(c.mimeType.lower() == wanted.lower() for c in media.rtp.codecs):
            raise Refused("unsupported_codec", f"{media.kind.capitalize()} must be offered as {wanted}.")
        if not media.ice.usernameFragment or not media.ice.password or not media.dtls or not media.dtls.fingerprints:
            raise Refused("invalid_sdp", "The offer lacks ICE credentials or a DTLS fingerprint.")
    if not description.media:
        raise Refused("invalid_sdp", "The offer has no media.")
    if counts["audio"] > MAX_PUBLISH_SECTIONS["audio"] or counts["video"] > MAX_PUBLISH_SECTIONS["video"]:
        raise Refused("too_many_tracks", "Publish one microphone, one camera and at most one screen.")
    if counts["video"] > 1 and not allow_screen:
        raise Refused("screen_not_allowed", "You may not share your screen in this room.")
    return description


def parse_answer(text):
    try:
        description = aiortc_sdp.SessionDescription.parse(text)
    except SDP_ERRORS:
        raise Refused("invalid_sdp", "The answer is not a valid session description.") from None
    if not description.media:
        raise Refused("invalid_sdp", "The answer has no media.")
    return description


def parse_candidate(text, mid):
    if text.startswith("candidate:"):
        text = text[len("candidate:"):]
    try:
        candidate = candidate_from_sdp(text)
    except SDP_ERRORS:
        raise Refused("invalid_candidate", "That is not an ICE candidate.") from None
    if candidate.protocol.lower() not in ("udp", "tcp") or not (0 < candidate.port < 65536):
        raise Refused("invalid_candidate", "That is not an ICE candidate.")
    candidate.sdpMid = mid or None
    candidate.sdpMLineIndex = None if mid else 0
    return candidate


class Slot:
    """One sendonly transceiver of a subscribe connection and the track that feeds it."""

    def __init__(self, transceiver, track):
        self.transceiver = transceiver
        self.track = track

    @property
    def kind(self):
        return self.track.kind

    @property
    def forwarder(self):
        return self.track.forwarder


class MediaSession:
    """One socket's presence in one media room."""

    relay = False  # a RelaySession (rooms.media.cascade) stands in for another worker

    def __init__(self, socket, person, place):
        self.socket = socket
        self.person = person
        self.person_id = person.pk
        self.name = person.display_name
        self.place = place
        self.publisher = None
        self.subscriber = None
        self.forwarders = {}  # source ("audio", "video", "screen") -> Forwarder
        self.slots = []
        self.state = {"audio": False, "video": False, "screen": False}
        self.muted_by_moderator = False
        self.lock = asyncio.Lock()
        self.awaiting_answer = False
        self.renegotiate = False
        self.chunks = {"publish": [], "answer": []}
        self.closed = False
        self.speaking = False
        self.spoke_at = None
        self.sent_tracks = None  # the track map this session was last told
        # An interpreter's session: the language they interpret the live item into (their
        # microphone is that language's channel, not the floor; they have no tile).
        self.interprets = None
        self.recorder = None  # while the plenary is recorded: this publisher's file
        # What this page listens to besides the floor: a spoken language's channel, and
        # whether it shows the sign-language interpreter.
        self.language = None
        self.sign = False

    async def tell(self, message):
        if self.closed:
            return
        await self.socket.send(json.dumps(message))

    def assemble(self, which, sdp, more):
        """Collect an SDP sent in several chunks (one WebSocket message is at most 8 KiB)."""
        parts = self.chunks[which]
        parts.append(sdp)
        if sum(len(p) for p in parts) > MAX_SDP_BYTES:
            parts.clear()
            raise Refused("sdp_too_large", f"A session description may be at most {MAX_SDP_BYTES} bytes.")
        if more:
            return None
        # Chunks are whole lines; the protocol strips each field, so line ends are put back here.
        text = "\r\n".join(parts) + "\r\n"
        parts.clear()
        return text

    def roster_entry(self):
        return {
            "person": self.person_id,
            "name": self.name,
            "publishing": self.publisher is not None,
            "muted": self.muted_by_moderator,
            **self.state,
        }


class MediaRoom:
    def __init__(self, place):
        self.place = place
        self.sessions = {}  # socket -> MediaSession (and RelaySessions: other workers)
        self.roster = None  # the peers last sent to everyone in the room
        self.local_peers = None  # this worker's own part of it, last sent to the other workers
        # A spread room (rooms.media.cascade): the workers this one sends the room's tracks to,
        # as RelaySessions, and what the others send here.
        self.relays = {}  # worker index -> RelaySession
        self.remote = {}  # worker index -> IncomingRelay
        # Who is speaking, and who spoke last (most recent first), wherever they publish.
        self.speaking = set()
        self.recent = []
        self.last_n = 0  # video for the audience only of the last N speakers; 0: everyone's

    def real_sessions(self):
        return [s for s in self.sessions.values() if not s.relay]

    def shown(self, session):
        """Who has a tile: in a forum or at a table everyone present, in the plenary only those
        who publish (the stage). A thousand people watching are an audience, not a roster that
        every one of them is sent again whenever someone comes or goes."""
        return not session.relay and not session.interprets and (
            self.place.kind != "plenary" or session.publisher is not None
        )

    def local_forwarders(self):
        for session in self.sessions.values():
            yield from session.forwarders.values()

    def forwarders(self):
        """Every track of the room: published here, or relayed from another worker."""
        yield from self.local_forwarders()
        for relay in self.remote.values():
            yield from relay.active()

    def publishers(self):
        return {s.person_id for s in self.sessions.values() if s.publisher is not None and not s.interprets}

    def local_roster(self):
        return [s.roster_entry() for s in self.sessions.values() if self.shown(s)]

    def leading(self, forwarders):
        """The people whose camera the audience sees under last N: the N who spoke last, then
        (while fewer have spoken) the others on the stage in the order they came."""
        cameras = []
        for forwarder in forwarders:
            if forwarder.source == "video" and forwarder.owner.person_id not in cameras:
                cameras.append(forwarder.owner.person_id)
        ranked = [p for p in self.recent if p in cameras] + [p for p in cameras if p not in self.recent]
        return set(ranked[: self.last_n])


class SFU:
    def __init__(self):
        self.rooms = {}  # room id -> MediaRoom
        self.sessions = {}  # socket -> MediaSession
        # conference id -> people whose role lets them on stage but whom the moderator took
        # off; seats (rooms.models.StageSeat) are persisted, this exception is not.
        self.taken_off = {}
        # In a media worker with others beside it: the rooms that span them (rooms.media.cascade).
        self.cascade = None
        self._speakers = None  # the task that watches who speaks, once anyone publishes audio
        # conference id -> (ItemRecording id, when this process began recording it): the
        # plenary is being recorded (rooms.plenary.recording stores it, every worker records
        # its own publishers).
        self.recording = {}
        # conference id -> {language: the interpreter on air}: persisted in
        # rooms.models.InterpretationChannel, told to every worker (the cascade's "on_air").
        self.on_air = {}

    # -- joining and leaving -------------------------------------------------------------

    async def _stage_flags(self, person, place):
        seated = False
        interprets = None
        if place.kind == "plenary":
            seated = await database_sync_to_async(policy.on_stage)(person)
            interprets = await database_sync_to_async(policy.interprets)(person, place)
        return {
            "on_stage": seated,
            "taken_off": person.pk in self.taken_off.get(place.conference_id, ()),
            "interprets": interprets,
        }

    async def join(self, socket, person, place):
        current = self.sessions.get(socket)
        if current is not None:
            if current.place.room_id == place.room_id:
                return await self._welcome(current)
            await self.leave(socket)
        room = self.rooms.get(place.room_id)
        opened = room is None
        if opened:
            room = self.rooms[place.room_id] = MediaRoom(place)
            if place.kind == "plenary":
                room.last_n = await database_sync_to_async(policy.last_n)(place.conference_id)
                self.on_air[place.conference_id] = await database_sync_to_async(policy.on_air)(place.conference_id)
        session = MediaSession(socket, person, place)
        room.sessions[socket] = session
        self.sessions[socket] = session
        await self._sync(session)
        await self._send_roster(room, newcomer=session)
        # Who speaks now: changes are published as they happen, a newcomer hears the state.
        for person_id in sorted(room.speaking):
            await session.tell({"type": "media.speaking", "room": place.slug, "person": person_id, "speaking": True})
        if opened and self.cascade is not None and policy.spreads(place):
            await self.cascade.room_opened(room)
        return await self._welcome(session)

    async def _welcome(self, session):
        flags = await self._stage_flags(session.person, session.place)
        session.interprets = flags["interprets"]
        on_air = self.on_air.get(session.place.conference_id, {})
        return {
            "interprets": session.interprets,
            "on_air": bool(session.interprets) and on_air.get(session.interprets) == session.person_id,
            "room": session.place.slug,
            "kind": session.place.kind,
            "may_publish": policy.may_publish(session.person, session.place, **flags),
            "may_share_screen": policy.may_share_screen(session.person, session.place, **flags),
            "ice_servers": settings.PLENUM_ICE_SERVERS,
            "max_publishers": session.place.max_publishers,
        }

    async def leave(self, socket):
        session = self.sessions.pop(socket, None)
        if session is None:
            return False
        session.closed = True
        room = self.rooms.get(session.place.room_id)
        if room is not None:
            room.sessions.pop(socket, None)
        was_publishing = bool(session.forwarders)
        await self._stop_publishing(session)
        for slot in session.slots:
            slot.track.stop()
        subscriber, session.subscriber = session.subscriber, None
        await close_peer_connection(subscriber)
        if room is not None:
            if room.real_sessions():
                if was_publishing:
                    await self._resync_room(room)
                await self._send_roster(room)
            elif self.rooms.get(session.place.room_id) is room:
                # Others may have left while this leave closed its connections (the last of
                # them removed the room), and someone may have opened the room anew since.
                del self.rooms[session.place.room_id]
                await self._close_room(room)
        return True

    async def _close_room(self, room):
        """The last person here left: what this worker sent to, or got from, the others ends."""
        for relay_session in list(room.relays.values()):
            room.sessions.pop(relay_session.socket, None)
            await self.close_session(relay_session)
        room.relays.clear()
        if self.cascade is not None and policy.spreads(room.place):
            await self.cascade.room_closed(room)

    async def close_session(self, session):
        """Free a session's subscriber side (a RelaySession has nothing else)."""
        session.closed = True
        for slot in session.slots:
            slot.track.stop()
        subscriber, session.subscriber = session.subscriber, None
        await close_peer_connection(subscriber)

    def _room_of(self, session):
        room = self.rooms.get(session.place.room_id)
        if session.closed or room is None:
            raise Refused("not_in_room", "Join a room's audio and video first.")
        return room

    def session_of(self, socket):
        session = self.sessions.get(socket)
        if session is None:
            raise Refused("not_in_room", "Join a room's audio and video first.")
        return session

    # -- publishing ----------------------------------------------------------------------

    async def publish(self, socket, sdp, more=False):
        """Answer a publish offer, or refuse it without changing anything."""
        session = self.session_of(socket)
        flags = await self._stage_flags(session.person, session.place)
        session.interprets = flags["interprets"]
        # The agenda may have moved the socket (and ended its media here) in the meantime.
        room = self._room_of(session)
        if not policy.may_publish(session.person, session.place, **flags):
            session.chunks["publish"].clear()
            raise Refused("may_not_publish", "You may not send audio or video in this room.")
        others = room.publishers() | {
            entry.get("person") for relay in room.remote.values() for entry in relay.peers if entry.get("publishing")
        }
        others.discard(session.person_id)
        if session.publisher is None and len(others) >= session.place.max_publishers:
            session.chunks["publish"].clear()
            raise Refused("room_full", f"At most {session.place.max_publishers} people can be seen and heard here.")
        text = session.assemble("publish", sdp, more)
        if text is None:
            return {"pending": True}
        parse_offer(text, allow_screen=policy.may_share_screen(session.person, session.place, **flags))

        fresh = session.publisher is None
        pc = session.publisher if not fresh else new_peer_connection()
        added = []

        @pc.on("track")
        def on_track(track):
            transceiver = next(t for t in pc.getTransceivers() if t.receiver.track is track)
            videos_before = sum(
                1 for t in pc.getTransceivers()[: pc.getTransceivers().index(transceiver)]
                if t.kind == "video"
            )
            source = "audio" if track.kind == "audio" else ("video" if videos_before == 0 else "screen")
            if session.interprets:
                # An interpreter's microphone is a language's channel; only a sign-language
                # interpreter's camera is seen (a spoken interpreter's goes to nobody).
                source = {"audio": "interpretation", "video": "sign" if session.interprets == SIGN_LANGUAGE else "interpreter"}.get(source, "interpreter")
            forwarder = Forwarder(transceiver.receiver, track.kind, source, session, levels=True)
            forwarder.language = session.interprets
            if source == "audio" and session.muted_by_moderator:
                forwarder.paused = True
            added.append(forwarder)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=text, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except SDP_ERRORS as error:
            logger.info("publish offer refused: %s", error)
            for forwarder in added:
                forwarder.close()
            if fresh:
                await close_peer_connection(pc)
            raise Refused("invalid_sdp", "The offer could not be applied.") from None
        finally:
            pc.remove_listener("track", on_track)
        if session.closed:
            # The session ended while the offer was applied: nothing of it may stay behind.
            for forwarder in added:
                forwarder.close()
            if fresh:
                await close_peer_connection(pc)
            raise Refused("not_in_room", "Join a room's audio and video first.")
        if fresh:
            session.publisher = pc
            self._watch(session, pc, "publish")
        for forwarder in added:
            session.forwarders[forwarder.source] = forwarder
        if "audio" in session.forwarders:
            self._watch_speakers()
        if session.place.conference_id in self.recording and session.place.kind == "plenary":
            await self._finish_recording(session)
            self._record(session)
        await self._resync_room(room, except_session=session)
        await self._send_roster(room)
        return {"sdp": pc.localDescription.sdp}

    async def unpublish(self, socket):
        session = self.session_of(socket)
        await self._stop_publishing(session)
        room = self.rooms.get(session.place.room_id)
        if session.closed or room is None:
            return
        await self._resync_room(room, except_session=session)
        await self._send_roster(room)

    async def _stop_publishing(self, session):
        await self._finish_recording(session)
        for forwarder in session.forwarders.values():
            forwarder.close()
        session.forwarders.clear()
        session.state = {"audio": False, "video": False, "screen": False}
        publisher, session.publisher = session.publisher, None
        await close_peer_connection(publisher)

    def _watch(self, session, pc, which):
        @pc.on("connectionstatechange")
        async def on_state():
            if pc.connectionState != "failed" or session.closed:
                return
            # The browser is gone or unreachable: free what it held and let it start again.
            logger.info("%s connection of person %s failed", which, session.person_id)
            if which == "publish" and session.publisher is pc:
                await self.unpublish(session.socket)
            elif which == "subscribe" and session.subscriber is pc:
                await self._reset_subscriber(session)
            await session.tell({"type": "media.failed", "connection": which})

    # -- subscribing ---------------------------------------------------------------------

    async def _resync_room(self, room, except_session=None):
        for other in list(room.sessions.values()):
            if other is not except_session:
                try:
                    await self._sync(other)
                except Exception:
                    # One subscriber whose connection broke (or closed meanwhile) must not keep
                    # the rest of the room from the new tracks, nor fail the command that caused it.
                    logger.exception("could not update the subscriptions of one session")

    def _wanted(self, session, room):
        """The tracks `session` receives: another worker (a RelaySession) every track published
        here; a person everyone else's, but, under last N, of the audience's cameras only those
        of the last N speakers (screens and every microphone always)."""
        if room is None:
            return []
        if session.relay:
            return list(room.local_forwarders())
        on_air = self.on_air.get(room.place.conference_id, {})
        wanted = [
            f for f in room.forwarders()
            if f.owner.person_id != session.person_id and self._hears(session, f, on_air)
        ]
        if room.last_n and session.publisher is None:
            leading = room.leading(wanted)
            wanted = [f for f in wanted if f.source != "video" or f.owner.person_id in leading]
        return wanted

    @staticmethod
    def _hears(session, forwarder, on_air):
        """Interpreters' tracks go only to those who chose them, and only the one on air; the
        floor (everything else) to everyone."""
        if forwarder.language is None:
            return True
        if on_air.get(forwarder.language) != forwarder.owner.person_id:
            return False
        if forwarder.source == "interpretation":
            return forwarder.language == session.language
        return forwarder.source == "sign" and session.sign

    async def _sync(self, session):
        """Give `session` one slot for every track it receives (`_wanted`)."""
        async with session.lock:
            if session.closed:
                return
            room = self.rooms.get(session.place.room_id)
            wanted = self._wanted(session, room)
            for slot in session.slots:
                if slot.forwarder is not None and slot.forwarder not in wanted:
                    slot.track.switch(None)
            assigned = {slot.forwarder for slot in session.slots}
            grew = False
            for forwarder in wanted:
                if forwarder in assigned:
                    continue
                slot = next(
                    (s for s in session.slots if s.kind == forwarder.kind and s.forwarder is None), None
                )
                if slot is None:
                    slot = self._add_slot(session, forwarder.kind)
                    grew = True
                slot.track.switch(forwarder)
            # Under last N the audience, and the other workers, are spared silent microphones:
            # a panel of eight then costs a viewer the cameras of N and the mics that speak.
            spare = bool(room and room.last_n) and (session.relay or session.publisher is None)
            for slot in session.slots:
                slot.track.spare_silence = spare
            if grew:
                if session.awaiting_answer:
                    session.renegotiate = True
                else:
                    await self._offer(session)
            elif session.subscriber is not None and not session.awaiting_answer:
                tracks = self._track_map(session)
                # A room's changes reach every session; most change nothing for most of them.
                if tracks != session.sent_tracks:
                    session.sent_tracks = tracks
                    await session.tell({"type": "media.tracks", "tracks": tracks})

    def _add_slot(self, session, kind):
        if session.subscriber is None:
            session.subscriber = new_peer_connection()
            self._watch(session, session.subscriber, "subscribe")
        track = ForwardedTrack(kind)
        transceiver = session.subscriber.addTransceiver(track, direction="sendonly")
        transceiver.setCodecPreferences(_codec_preferences(kind))
        track.bind(transceiver.sender)
        slot = Slot(transceiver, track)
        session.slots.append(slot)
        return slot

    def _track_map(self, session):
        tracks = []
        for slot in session.slots:
            forwarder = slot.forwarder
            if forwarder is None or slot.transceiver.mid is None:
                continue
            tracks.append({
                "mid": slot.transceiver.mid,
                "person": forwarder.owner.person_id,
                "name": forwarder.owner.name,
                "source": forwarder.source,
                "kind": forwarder.kind,
                **({"language": forwarder.language} if forwarder.language else {}),
            })
        return tracks

    async def _offer(self, session):
        pc = session.subscriber
        await pc.setLocalDescription(await pc.createOffer())
        session.awaiting_answer = True
        session.sent_tracks = self._track_map(session)
        await session.tell({
            "type": "media.offer",
            "sdp": pc.localDescription.sdp,
            "tracks": session.sent_tracks,
        })

    async def answer(self, socket, sdp, more=False):
        return await self.apply_answer(self.session_of(socket), sdp, more)

    async def apply_answer(self, session, sdp, more=False):
        """A subscriber's answer to our offer: a page's, or another worker's (a RelaySession)."""
        text = session.assemble("answer", sdp, more)
        if text is None:
            return {"pending": True}
        async with session.lock:
            if session.subscriber is None or not session.awaiting_answer:
                raise Refused("no_offer", "There is no offer waiting for an answer.")
            parse_answer(text)
            try:
                await session.subscriber.setRemoteDescription(RTCSessionDescription(sdp=text, type="answer"))
            except SDP_ERRORS as error:
                logger.info("subscribe answer refused: %s", error)
                raise Refused("invalid_sdp", "The answer could not be applied.") from None
            session.awaiting_answer = False
            again, session.renegotiate = session.renegotiate, False
            if again:
                await self._offer(session)
        return {}

    async def _reset_subscriber(self, session):
        async with session.lock:
            for slot in session.slots:
                slot.track.stop()
            session.slots = []
            session.awaiting_answer = session.renegotiate = False
            subscriber, session.subscriber = session.subscriber, None
            await close_peer_connection(subscriber)
        await self._sync(session)

    async def candidate(self, socket, target, candidate, mid):
        session = self.session_of(socket)
        pc = session.publisher if target == "publish" else session.subscriber
        if pc is None:
            raise Refused("no_connection", f"There is no {target} connection to add a candidate to.")
        parsed = parse_candidate(candidate, mid) if candidate else None
        try:
            await pc.addIceCandidate(parsed)
        except SDP_ERRORS:
            raise Refused("invalid_candidate", "That candidate does not belong to this connection.") from None

    # -- what people see of each other ---------------------------------------------------

    async def set_state(self, socket, audio, video, screen):
        session = self.session_of(socket)
        session.state = {"audio": audio, "video": video, "screen": screen}
        if audio and session.muted_by_moderator:
            # Unmuting after the moderator muted you is your own decision, as in a hall.
            session.muted_by_moderator = False
            forwarder = session.forwarders.get("audio")
            if forwarder is not None:
                forwarder.paused = False
        await self._send_roster(self.rooms[session.place.room_id])

    async def _send_roster(self, room, newcomer=None):
        """Tell the room who has a tile, when that changed; a newcomer is told in any case.

        In a spread room the tiles are this worker's publishers and the other workers'; the
        other workers are told only this worker's part (each adds its own)."""
        local = room.local_roster()
        peers = local + [entry for relay in room.remote.values() for entry in relay.peers]
        if local != room.local_peers:
            room.local_peers = local
            for relay_session in list(room.relays.values()):
                await relay_session.tell({"type": "media.peers", "peers": local})
        message = {"type": "media.peers", "room": room.place.slug, "peers": peers}
        if peers == room.roster:
            if newcomer is not None:
                await newcomer.tell(message)
            return
        room.roster = peers
        for session in room.real_sessions():
            await session.tell(message)

    # The cascade (rooms.media.cascade) works the room through these.
    sync = _sync
    resync_room = _resync_room
    send_roster = _send_roster

    # -- who is speaking -----------------------------------------------------------------

    def _watch_speakers(self):
        if self._speakers is None or self._speakers.done():
            self._speakers = asyncio.ensure_future(self._speakers_forever())

    async def _speakers_forever(self):
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(SPEAKING_TICK_SECONDS)
            now = loop.time()
            for room in list(self.rooms.values()):
                for session in room.real_sessions():
                    forwarder = session.forwarders.get("audio")
                    if forwarder is None:
                        continue
                    if forwarder.take_loudest() <= SPEAKING_LEVEL:
                        session.spoke_at = now
                    speaking = session.spoke_at is not None and now - session.spoke_at <= SPEAKING_HOLD_SECONDS
                    if speaking != session.speaking:
                        session.speaking = speaking
                        try:
                            await self.speaking_changed(room, session.person_id, speaking, local=True)
                        except Exception:
                            logger.exception("could not tell who is speaking")

    async def speaking_changed(self, room, person_id, speaking, *, local):
        """Someone started or stopped speaking: their tile shows it on every page (told once, by
        the worker where they publish), and under last N the audience's cameras follow."""
        before = room.leading(list(room.forwarders())) if room.last_n else None
        if speaking:
            room.speaking.add(person_id)
            if person_id in room.recent:
                room.recent.remove(person_id)
            room.recent.insert(0, person_id)
            del room.recent[MAX_RECENT_SPEAKERS:]
        else:
            room.speaking.discard(person_id)
        if local:
            await _tell_pages(room.place, person_id, speaking)
            if self.cascade is not None and policy.spreads(room.place):
                await self.cascade.speaking(room, person_id, speaking)
        if room.last_n and room.leading(list(room.forwarders())) != before:
            await self._resync_room(room)

    # -- interpretation ----------------------------------------------------------------------

    async def choose_language(self, socket, language, sign):
        """What this page hears besides the floor: a language's channel ("" for none) and
        whether it sees the sign-language interpreter."""
        session = self.session_of(socket)
        session.language = language or None
        session.sign = sign
        await self._sync(session)
        return {"language": language, "sign": sign}

    async def set_on_air(self, conference_id, language, person_id, *, relayed=False):
        """After the channel is stored (rooms.plenary.interpretation): listeners of `language`
        get `person_id`'s microphone instead of the last interpreter's, in the same slot (no
        renegotiation, no gap); None puts them back on the floor alone."""
        channels = self.on_air.setdefault(conference_id, {})
        if person_id is None:
            channels.pop(language, None)
        else:
            channels[language] = person_id
        if self.cascade is not None and not relayed:
            await self.cascade.on_air(conference_id, language, person_id)
        for room in list(self.rooms.values()):
            if room.place.conference_id != conference_id or room.place.kind != "plenary":
                continue
            await self._resync_room(room)
            for session in room.real_sessions():
                if session.interprets == language:
                    await session.tell({"type": "interpretation.on_air", "language": language, "person": person_id})

    # -- recording the stage -------------------------------------------------------------

    async def start_recording(self, conference_id, recording_id, *, relayed=False):
        """After the recording is stored (rooms.plenary.recording): every stage publisher here
        gets a file, and so does whoever publishes while it runs; the other workers do the same."""
        if conference_id not in self.recording:
            self.recording[conference_id] = (recording_id, time.monotonic())
        if self.cascade is not None and not relayed:
            await self.cascade.recording(conference_id, recording_id)
        for room in list(self.rooms.values()):
            if room.place.conference_id == conference_id and room.place.kind == "plenary":
                for session in room.real_sessions():
                    self._record(session)

    async def stop_recording(self, conference_id, *, relayed=False):
        self.recording.pop(conference_id, None)
        if self.cascade is not None and not relayed:
            await self.cascade.recording(conference_id, None)
        for session in list(self.sessions.values()):
            if session.place.conference_id == conference_id:
                await self._finish_recording(session)

    def _record(self, session):
        """Attach a recorder to a stage publisher's camera and microphone (not an interpreter's:
        the floor is recorded, not the channels)."""
        if session.recorder is not None or session.interprets or not session.forwarders:
            return
        recording_id, since = self.recording[session.place.conference_id]
        session.recorder = recording.Recorder(recording.path_for(recording_id, session.person_id), recording_id, since)
        for kind, source in (("audio", "audio"), ("video", "video")):
            forwarder = session.forwarders.get(source)
            if forwarder is not None:
                forwarder.attach(session.recorder.outputs[kind])

    async def _finish_recording(self, session):
        recorder, session.recorder = session.recorder, None
        if recorder is None:
            return
        for kind, source in (("audio", "audio"), ("video", "video")):
            forwarder = session.forwarders.get(source)
            if forwarder is not None:
                forwarder.detach(recorder.outputs[kind])
        written = recorder.close()
        if written is None:
            return
        offset, duration = written
        await database_sync_to_async(recording.store)(recorder, session.person_id, session.name, offset, duration)

    # -- the moderator's "last N" --------------------------------------------------------

    async def set_last_n(self, conference_id, n, *, relayed=False):
        """Video for the audience only of the last `n` speakers (0: everyone's), in every
        plenary this process holds of the conference, and in the other workers'."""
        for room in list(self.rooms.values()):
            if room.place.conference_id == conference_id and room.place.kind == "plenary" and room.last_n != n:
                room.last_n = n
                await self._resync_room(room)
        if self.cascade is not None and not relayed:
            await self.cascade.last_n(conference_id, n)

    def viewer_cost(self):
        """What one more viewer of a spread room costs here: a socket and a slot per track."""
        tracks = [len(list(room.forwarders())) for room in self.rooms.values() if policy.spreads(room.place)]
        return 1 + max(tracks, default=0)

    def forwarded_streams(self):
        """What this process forwards: one per slot that carries a track (a worker's load)."""
        return sum(
            1 for room in self.rooms.values() for session in room.sessions.values()
            for slot in session.slots if slot.forwarder is not None
        )

    def _room_stats(self, room):
        stats = {"present": len(room.real_sessions()), "publishing": len(room.publishers())}
        if room.place.kind == "plenary":
            stats.update(speaking=sorted(room.speaking), last_n=room.last_n)
        return stats

    def stats(self):
        stats = {
            "peer_connections": open_peer_connections(),
            "forwarded_streams": self.forwarded_streams(),
            "rooms": {room.place.slug: self._room_stats(room) for room in self.rooms.values()},
        }
        if self.cascade is not None:
            stats["worker"] = self.cascade.index
            stats["cascade"] = self.cascade.stats()
            stats["people"] = {
                room.place.slug: sorted(s.person_id for s in room.real_sessions()) for room in self.rooms.values()
            }
        return stats

    # -- the moderator -------------------------------------------------------------------

    def sessions_of(self, conference_id, person_id):
        return [
            s for s in self.sessions.values()
            if s.person_id == person_id and s.place.conference_id == conference_id
        ]

    async def mute(self, conference_id, person_id):
        """Stop forwarding someone's microphone at once; they may unmute themselves."""
        touched = set()
        for session in self.sessions_of(conference_id, person_id):
            session.muted_by_moderator = True
            session.state["audio"] = False
            forwarder = session.forwarders.get("audio")
            if forwarder is not None:
                forwarder.paused = True
            await session.tell({"type": "media.muted"})
            touched.add(session.place.room_id)
        for room_id in touched:
            if room_id in self.rooms:
                await self._send_roster(self.rooms[room_id])
        return len(touched)

    async def put_on_stage(self, conference_id, person_id, *, relayed=False):
        """After the seat is stored (rooms.plenary.stage): tell the person they may publish now,
        on whichever worker their media is."""
        self.taken_off.get(conference_id, set()).discard(person_id)
        for session in self.sessions_of(conference_id, person_id):
            await session.tell({"type": "media.staged", **await self._welcome(session)})
        if self.cascade is not None and not relayed:
            await self.cascade.stage(conference_id, person_id, True)

    async def take_off_stage(self, conference_id, person_id, *, relayed=False):
        """After the seat is removed: close their stage media; their role no longer suffices."""
        self.taken_off.setdefault(conference_id, set()).add(person_id)
        if self.cascade is not None and not relayed:
            await self.cascade.stage(conference_id, person_id, False)
        for session in self.sessions_of(conference_id, person_id):
            if session.place.kind != "plenary":
                continue
            await self._stop_publishing(session)
            room = self.rooms.get(session.place.room_id)
            if session.closed or room is None:
                continue  # they left while their publishing stopped
            await self._resync_room(room, except_session=session)
            await self._send_roster(room)
            await session.tell({"type": "media.unstaged", **await self._welcome(session)})


_sfus = {}


def get():
    """This process's SFU for the running event loop (tests run several loops in one process)."""
    loop = asyncio.get_running_loop()
    current = _sfus.get(loop)
    if current is None:
        _sfus.clear()
        current = _sfus[loop] = SFU()
    return current


async def _tell_pages(place, person_id, speaking):
    """Everyone in the room and every console: one broadcast per process, not one per viewer."""
    text = json.dumps({"type": "media.speaking", "room": place.slug, "person": person_id, "speaking": speaking})
    for language in render.languages():
        await fanout.publish(groups.room(place.conference_id, place.room_id, language), text)
        await fanout.publish(groups.audience(place.conference_id, groups.CONSOLE, language), text)
