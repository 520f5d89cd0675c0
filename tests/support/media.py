"""Media peers for the tests and the media benchmark: real aiortc peers on real venue sockets.

Each `MediaPeer` is a participant as the SFU sees a browser: the venue socket, a publish
connection with synthetic tracks and a subscribe connection that answers the SFU's offers
and decodes what arrives (the client decodes; the server never does).
"""

import asyncio
import json
from dataclasses import dataclass

import av
import psycopg
import websockets
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy
from channels.db import database_sync_to_async

from agenda import actions
from agenda.models import AgendaItem, Phase
from rooms.media import sfu
from tests.support.clients import Drains, connect, is_reply_to
from tests.support.waiting import wait_until
from venue.models import Role

# No ICE servers: aiortc would otherwise ask a public STUN server; tests stay on this machine.
# MAX_BUNDLE: with aiortc's default (balanced) a second video section of a remote offer keeps
# a transport that bundling has already stopped, and that track never starts.
LOCAL_ONLY = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


def sdp_chunks(sdp, size=5000):
    """Whole SDP lines in chunks that each fit one WebSocket message."""
    chunks, current = [], []
    for line in sdp.splitlines():
        if current and sum(len(x) + 2 for x in current) + len(line) > size:
            chunks.append("\r\n".join(current))
            current = []
        current.append(line)
    if current:
        chunks.append("\r\n".join(current))
    return chunks


class MovingPicture(VideoStreamTrack):
    """A synthetic camera: 640×360 with a moving bar, so every frame differs."""

    def __init__(self, width=640, height=360):
        super().__init__()
        self.width, self.height = width, height
        self.count = 0

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        luma = frame.planes[0]
        row = bytearray([40]) * luma.line_size
        x = (self.count * 8) % (self.width - 40)
        row[x:x + 40] = b"\xe6" * 40
        luma.update(bytes(row) * luma.height)
        for chroma in frame.planes[1:]:
            chroma.update(bytes([128]) * chroma.buffer_size)
        self.count += 1
        frame.pts, frame.time_base = pts, time_base
        return frame


class MediaPeer(Drains):
    """One person: their venue socket, their publish and subscribe connections.

    A reader task reads the socket all the time: every frame is kept in `frames`, the JSON ones
    also in `messages`; `drain` is a ping whose ack that reader sees after everything before it."""

    def __init__(self, client):
        self.client = client
        self.replies = {}
        self.frames = []
        self.messages = []
        self.publisher = None
        self.subscriber = None
        self.tracks = {}  # mid -> {"person", "source", ...}
        self.received = {}  # (person, source) -> frames
        self.first_frame_at = {}
        self.decodable = {}  # (person, source) -> first decoded frame
        self._consumers = []
        self._reader = asyncio.ensure_future(self._read())
        self.offers = 0

    @classmethod
    async def connect(cls, person):
        client = await connect(person)
        return cls(client)

    async def _read(self):
        while True:
            try:
                frame = await self.client.communicator.receive_from(timeout=3600)
            except asyncio.CancelledError:
                raise
            self.frames.append(frame)
            if not frame.startswith("{"):
                continue
            message = json.loads(frame)
            self.messages.append(message)
            waiter = self.replies.pop(message.get("id"), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(message)
            elif message.get("type") == "media.offer":
                asyncio.ensure_future(self._answer(message))
            elif message.get("type") == "media.tracks":
                self._map(message["tracks"])

    async def command(self, message_type, timeout=10, **fields):
        message_id = await self.client.send(message_type, **fields)
        waiter = self.replies[message_id] = asyncio.get_running_loop().create_future()
        return await asyncio.wait_for(waiter, timeout)

    async def drain(self, timeout=10):
        start = len(self.frames)
        sentinel = await self.command("ping", timeout=timeout)
        return [frame for frame in self.frames[start:] if not is_reply_to(frame, sentinel["id"])]

    async def send_sdp(self, message_type, sdp):
        parts = sdp_chunks(sdp)
        reply = None
        for index, part in enumerate(parts):
            reply = await self.command(message_type, sdp=part, more=index < len(parts) - 1)
            if reply["type"] == "error":
                return reply
        return reply

    async def join(self, room):
        return await self.command("media.join", room=room)

    async def publish(self, audio=True, video=True, screen=False):
        pc = self.publisher = RTCPeerConnection(LOCAL_ONLY)
        if audio:
            pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        if video:
            pc.addTransceiver(MovingPicture(), direction="sendonly")
        if screen:
            pc.addTransceiver(MovingPicture(320, 180), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        reply = await self.send_sdp("media.publish", pc.localDescription.sdp)
        if reply["type"] == "ack":
            await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
            await self.command("media.state", audio=audio, video=video, screen=screen)
        else:
            await pc.close()
            self.publisher = None
        return reply

    def _map(self, tracks):
        for entry in tracks:
            self.tracks[entry["mid"]] = entry

    async def _answer(self, message):
        self.offers += 1
        self._map(message["tracks"])
        if self.subscriber is None:
            self.subscriber = RTCPeerConnection(LOCAL_ONLY)
            self.subscriber.on("track", self._on_track)
        await self.subscriber.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="offer"))
        await self.subscriber.setLocalDescription(await self.subscriber.createAnswer())
        await self.send_sdp("media.answer", self.subscriber.localDescription.sdp)

    def _on_track(self, track):
        transceiver = next(t for t in self.subscriber.getTransceivers() if t.receiver.track is track)
        self._consumers.append(asyncio.ensure_future(self._consume(transceiver.mid, track)))

    async def _consume(self, mid, track):
        loop = asyncio.get_running_loop()
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            entry = self.tracks.get(mid)
            key = (entry["person"], entry["source"]) if entry else ("?", mid)
            self.received[key] = self.received.get(key, 0) + 1
            self.first_frame_at.setdefault(key, loop.time())
            if isinstance(frame, av.VideoFrame) and key not in self.decodable:
                self.decodable[key] = frame

    def frames_from(self, person, source):
        return self.received.get((person.pk, source), 0)

    async def wait_for_frames(self, person, source, count=5, timeout=10):
        deadline = asyncio.get_running_loop().time() + timeout
        while self.frames_from(person, source) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"{count} {source} frames from {person} did not arrive in {timeout}s; "
                    f"got {self.received}, tracks {self.tracks}"
                )
            await asyncio.sleep(0.05)

    async def reset(self):
        """Forget every connection and everything received, as a page does before joining again."""
        for task in self._consumers:
            task.cancel()
        self._consumers = []
        for pc in (self.publisher, self.subscriber):
            if pc is not None:
                await pc.close()
        self.publisher = self.subscriber = None
        self.tracks, self.received, self.first_frame_at, self.decodable = {}, {}, {}, {}

    async def close(self):
        await self.reset()
        self._reader.cancel()
        await self.client.close()


# -- the day as the tests need it ------------------------------------------------------------

FORUM = "forum-diversitaet"
OTHER_FORUM = "forum-bildung"


async def seat(person, slug):
    """Put `person` in a forum: media happens only in the room one is in (rooms.places)."""
    from rooms.models import ForumAssignment, Room

    room = await Room.objects.aget(slug=slug)
    await ForumAssignment.objects.aupdate_or_create(person=person, defaults={"room": room})


async def start(conference, moderator, phase):
    if phase == Phase.FORUMS:
        # Everyone chose the first forum in advance.
        async for person in conference.people.filter(role__in=[Role.PARTICIPANT, Role.SPEAKER]):
            await seat(person, FORUM)
    item = await AgendaItem.objects.filter(conference=conference, phase=phase).order_by("order").afirst()
    await database_sync_to_async(actions.start)(conference.pk, item.pk, by=moderator)


async def close_all(*peers):
    for peer in peers:
        await peer.close()
    await wait_until(lambda: sfu.open_peer_connections() == 0, what="all server peer connections closed")


@dataclass(frozen=True)
class Who:
    """A person as MediaPeer's frame counts name them."""

    pk: int


class DaphneClient:
    """What MediaPeer needs of a client, over a real WebSocket to one daphne process."""

    def __init__(self, connection):
        self.connection = connection
        self.communicator = self  # MediaPeer reads frames through `client.communicator`
        self._next_id = 0

    @classmethod
    async def open(cls, daphne, token):
        connection = await websockets.connect(
            f"ws://127.0.0.1:{daphne.port}/ws/venue/?token={token}",
            origin=f"http://127.0.0.1:{daphne.port}",
            compression=None, proxy=None, ping_interval=None, max_size=2**20,
        )
        return cls(connection)

    async def receive_from(self, timeout):
        return await asyncio.wait_for(self.connection.recv(), timeout)

    async def send(self, message_type, **fields):
        self._next_id += 1
        await self.connection.send(json.dumps({"type": message_type, "id": self._next_id, **fields}))
        return self._next_id

    async def close(self):
        await self.connection.close()


PANEL = "Podiumsgespräch mit Fragen aus dem Publikum"


def panel_speakers(database_url, count):
    """(id, token) of the demo panel's first `count` speakers, in the programme's order."""
    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT p.id, p.token FROM venue_person p JOIN agenda_agendaitem_speakers s ON s.person_id = p.id "
            "JOIN agenda_agendaitem i ON i.id = s.agendaitem_id WHERE i.title = %s ORDER BY s.id LIMIT %s",
            (PANEL, count),
        ).fetchall()
