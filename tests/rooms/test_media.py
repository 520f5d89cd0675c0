"""Live audio and video with real aiortc peers on real venue sockets: publish, subscribe, refuse.

Each `MediaPeer` is a participant as the SFU sees a browser: the venue socket, a publish
connection with synthetic tracks and a subscribe connection that answers the SFU's offers
and decodes what arrives (the client decodes; the server never does).
"""

import asyncio
import json

import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack

from tests.conftest import connect

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


class MediaPeer:
    """One person: their venue socket, their publish and subscribe connections."""

    def __init__(self, client):
        self.client = client
        self.replies = {}
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

from channels.db import database_sync_to_async  # noqa: E402

from agenda import actions  # noqa: E402
from agenda.models import AgendaItem, Phase  # noqa: E402
from rooms.media import forwarding, sfu  # noqa: E402
from tests.conftest import someone  # noqa: E402
from venue.models import Role  # noqa: E402

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


async def wait_until(predicate, timeout=5, what="condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(0.05)


async def close_all(*peers):
    for peer in peers:
        await peer.close()
    await wait_until(lambda: sfu.open_peer_connections() == 0, what="all server peer connections closed")


def test_the_aiortc_internals_we_forward_through_are_there():
    forwarding.check_aiortc_seams()


async def test_forum_members_see_and_hear_each_other_and_a_late_joiner_gets_a_picture_at_once(
    conference, moderator, participants, layer
):
    await start(conference, moderator, Phase.FORUMS)
    alice, bob = participants[0], participants[1]
    alice_peer, bob_peer = await MediaPeer.connect(alice), await MediaPeer.connect(bob)
    for peer in (alice_peer, bob_peer):
        joined = await peer.join(FORUM)
        assert joined["type"] == "ack" and joined["may_publish"] is True and joined["kind"] == "forum"
    assert (await alice_peer.publish())["type"] == "ack"
    assert (await bob_peer.publish())["type"] == "ack"

    for viewer, other in ((alice_peer, bob), (bob_peer, alice)):
        await viewer.wait_for_frames(other, "video", count=10)
        await viewer.wait_for_frames(other, "audio", count=10)
        assert viewer.decodable[(other.pk, "video")].width == 640
    # Two publishers, each with a publish and a subscribe connection.
    assert sfu.open_peer_connections() == 4

    # Let the stream run past its first keyframe: a late joiner needs a forwarded PLI.
    await asyncio.sleep(1.0)
    carol = participants[2]
    carol_peer = await MediaPeer.connect(carol)
    joined_at = asyncio.get_running_loop().time()
    await carol_peer.join(FORUM)
    await carol_peer.wait_for_frames(alice, "video", count=1, timeout=2)
    await carol_peer.wait_for_frames(bob, "video", count=1, timeout=2)
    assert carol_peer.first_frame_at[(alice.pk, "video")] - joined_at < 2.0
    picture = carol_peer.decodable[(alice.pk, "video")]
    assert (picture.width, picture.height) == (640, 360)
    assert sfu.open_peer_connections() == 5

    roster = [m for m in carol_peer.messages if m.get("type") == "media.peers"][-1]
    assert {p["person"] for p in roster["peers"]} == {alice.pk, bob.pk, carol.pk}

    # Leaving the room closes this person's connections on the server.
    assert (await alice_peer.command("media.leave"))["left"] is True
    await wait_until(lambda: sfu.open_peer_connections() == 3, what="alice's connections closed")
    await close_all(alice_peer, bob_peer, carol_peer)


async def test_a_participant_may_not_publish_on_the_plenary_stage_but_a_speaker_may(
    conference, moderator, participants, layer
):
    await start(conference, moderator, Phase.PLENARY)
    speaker = await database_sync_to_async(someone)(conference, Role.SPEAKER)
    alice = participants[0]
    alice_peer, speaker_peer = await MediaPeer.connect(alice), await MediaPeer.connect(speaker)
    joined = await alice_peer.join("plenum")
    assert joined["may_publish"] is False and joined["may_share_screen"] is False

    # The page would not offer a camera button; a hand-made offer is refused all the same.
    refused = await alice_peer.publish()
    assert refused["type"] == "error" and refused["code"] == "may_not_publish"
    assert sfu.open_peer_connections() == 0

    assert (await speaker_peer.join("plenum"))["may_publish"] is True
    assert (await speaker_peer.publish())["type"] == "ack"
    await alice_peer.wait_for_frames(speaker, "video", count=5)
    await alice_peer.wait_for_frames(speaker, "audio", count=5)
    await close_all(alice_peer, speaker_peer)


async def test_the_plenary_audience_is_not_a_roster_that_everyone_is_sent_again(
    conference, moderator, participants, layer
):
    # A thousand people watching the stage: each one coming or going must not send everyone a
    # list of everyone (that is a million messages); tiles are for those on the stage.
    await start(conference, moderator, Phase.PLENARY)
    speaker = await database_sync_to_async(someone)(conference, Role.SPEAKER)
    speaker_peer = await MediaPeer.connect(speaker)
    await speaker_peer.join("plenum")
    await speaker_peer.publish()
    audience = []
    for person in participants[:3]:
        peer = await MediaPeer.connect(person)
        await peer.join("plenum")
        audience.append(peer)

    def rosters(peer):
        return [m["peers"] for m in peer.messages if m.get("type") == "media.peers"]

    for peer in audience:
        # Told once, on joining: the speaker is the only tile.
        assert [[p["person"] for p in roster] for roster in rosters(peer)] == [[speaker.pk]]
    await audience[2].command("media.leave")
    late = await MediaPeer.connect(participants[3])
    await late.join("plenum")
    assert [[p["person"] for p in roster] for roster in rosters(late)] == [[speaker.pk]]
    await late.wait_for_frames(speaker, "video", count=3)
    for peer in audience:
        assert len(rosters(peer)) == 1, "nobody was sent the audience's comings and goings"
    # The stage changing is news for everyone.
    await speaker_peer.command("media.state", audio=False, video=True, screen=False)
    await wait_until(lambda: all(len(rosters(peer)) == 2 for peer in audience[:2] + [late]), what="new roster")
    assert rosters(late)[-1][0]["audio"] is False
    await close_all(speaker_peer, late, *audience)


async def test_the_moderator_mutes_a_speaker_and_takes_them_off_the_stage(
    conference, moderator, participants, layer
):
    await start(conference, moderator, Phase.PLENARY)
    speaker = await database_sync_to_async(someone)(conference, Role.SPEAKER)
    alice = participants[0]
    alice_peer, speaker_peer = await MediaPeer.connect(alice), await MediaPeer.connect(speaker)
    console = await MediaPeer.connect(moderator)
    await alice_peer.join("plenum")
    await speaker_peer.join("plenum")
    await speaker_peer.publish()
    await alice_peer.wait_for_frames(speaker, "audio", count=10)

    assert (await alice_peer.command("media.mute", person=speaker.pk))["code"] == "forbidden"
    assert (await console.command("media.mute", person=speaker.pk))["sessions"] == 1
    await wait_until(lambda: any(m.get("type") == "media.muted" for m in speaker_peer.messages), what="muted notice")
    await asyncio.sleep(0.3)  # frames already on their way
    heard = alice_peer.frames_from(speaker, "audio")
    seen = alice_peer.frames_from(speaker, "video")
    await asyncio.sleep(0.6)
    assert alice_peer.frames_from(speaker, "audio") == heard, "a muted microphone is not forwarded"
    assert alice_peer.frames_from(speaker, "video") > seen, "the camera goes on"

    # The speaker unmutes themselves: forwarding resumes.
    await speaker_peer.command("media.state", audio=True, video=True, screen=False)
    await alice_peer.wait_for_frames(speaker, "audio", count=heard + 10)

    assert sfu.open_peer_connections() == 2  # the speaker publishes, alice subscribes
    assert (await console.command("media.unstage", person=speaker.pk))["type"] == "ack"
    await wait_until(lambda: sfu.open_peer_connections() == 1, what="the speaker's publish connection closed")
    notice = next(m for m in speaker_peer.messages if m.get("type") == "media.unstaged")
    assert notice["may_publish"] is False
    again = await speaker_peer.publish()
    assert again["code"] == "may_not_publish"

    # Put back on stage (or a participant invited up), publishing works again.
    assert (await console.command("media.stage", person=alice.pk))["type"] == "ack"
    assert (await alice_peer.publish())["type"] == "ack"
    await speaker_peer.wait_for_frames(alice, "video", count=3)
    assert (await console.command("media.mute", person=10**9))["code"] == "not_found"
    await close_all(alice_peer, speaker_peer, console)


async def test_hostile_signalling_gets_clear_errors_and_changes_nothing(
    conference, moderator, participants, layer
):
    await start(conference, moderator, Phase.FORUMS)
    alice = participants[0]
    peer = await MediaPeer.connect(alice)

    async def code(message_type, **fields):
        reply = await peer.command(message_type, **fields)
        assert reply["type"] == "error", reply
        return reply["code"]

    # Nothing may be signalled before joining a room.
    assert await code("media.publish", sdp="v=0") == "not_in_room"
    assert await code("media.answer", sdp="v=0") == "not_in_room"
    assert await code("media.candidate", target="publish", candidate="candidate:1 1 udp 1 192.0.2.9 9 typ host") == "not_in_room"
    # Rooms that do not exist, have no media, or are not open now.
    assert await code("media.join", room="nowhere") == "no_such_room"
    assert await code("media.join", room="lounge") == "no_media_here"
    assert await code("media.join", room="stehtisch-1") == "room_closed"
    assert await code("media.join", room="plenum") == "room_closed"
    assert await code("media.join", room="x" * 60) == "too_long"

    assert (await peer.join(FORUM))["type"] == "ack"
    assert await code("media.publish", sdp="this is not sdp") == "invalid_sdp"
    assert await code("media.publish", sdp="v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel") == "invalid_sdp"
    assert await code("media.publish", sdp="v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\na=sendonly") == "unsupported_codec"
    # A screen is a second video section: forum participants (not facilitators) may not.
    refused = await peer.publish(screen=True)
    assert refused["code"] == "screen_not_allowed"
    assert sfu.open_peer_connections() == 0
    # An endless offer in chunks is cut off.
    for _ in range(12):
        reply = await peer.command("media.publish", sdp="a=x" + "y" * 6400, more=True)
        if reply["type"] == "error":
            break
    assert reply["code"] == "sdp_too_large"
    assert await code("media.publish", sdp="a=" + "y" * 7000) == "too_long"
    assert await code("media.answer", sdp="v=0") == "no_offer"
    assert await code("media.candidate", target="publish", candidate="x" * 500) == "too_long"
    assert await code("media.candidate", target="sideways", candidate="") == "invalid_field"
    assert await code("media.candidate", target="publish", candidate="candidate:1 1 udp 1 192.0.2.9 9 typ host") == "no_connection"

    # After all that, a proper offer still works, and a bad candidate on it is refused.
    assert (await peer.publish())["type"] == "ack"
    assert sfu.open_peer_connections() == 1
    assert await code("media.candidate", target="publish", candidate="candidate:garbage") == "invalid_candidate"
    assert await code("media.candidate", target="publish", candidate="candidate:1 1 sctp 1 192.0.2.9 9 typ host") == "invalid_candidate"
    assert await code("media.publish", sdp="nonsense again") == "invalid_sdp"
    assert sfu.open_peer_connections() == 1
    await close_all(peer)


async def test_closing_the_tab_and_moving_rooms_free_the_server_connections(
    conference, moderator, participants, layer
):
    await start(conference, moderator, Phase.FORUMS)
    alice, bob = participants[0], participants[1]
    alice_peer, bob_peer = await MediaPeer.connect(alice), await MediaPeer.connect(bob)
    for peer in (alice_peer, bob_peer):
        await peer.join(FORUM)
        await peer.publish()
    await bob_peer.wait_for_frames(alice, "video", count=3)
    assert sfu.open_peer_connections() == 4

    # Alice moves to another forum: her old connections close, bob loses her tile.
    moved = asyncio.get_running_loop().time()
    await seat(alice, OTHER_FORUM)
    assert (await alice_peer.join(OTHER_FORUM))["room"] == OTHER_FORUM
    await wait_until(lambda: sfu.open_peer_connections() == 2, timeout=2, what="alice's old connections closed")
    assert asyncio.get_running_loop().time() - moved < 2
    roster = [m for m in bob_peer.messages if m.get("type") == "media.peers"][-1]
    assert [p["person"] for p in roster["peers"]] == [bob.pk]

    # Bob closes the tab without a word: the disconnect frees his connections.
    await bob_peer.client.close()
    await wait_until(lambda: sfu.open_peer_connections() == 0, what="bob's connections closed")
    await close_all(alice_peer, bob_peer)


async def test_everyone_leaving_a_room_at_once_leaves_it_whole_for_the_next_ones(
    conference, moderator, participants, layer
):
    # The agenda moves a forum's people out all at once: their leaves overlap in the SFU.
    await start(conference, moderator, Phase.FORUMS)
    peers = [await MediaPeer.connect(person) for person in participants[:3]]
    for peer in peers:
        await peer.join(FORUM)
        await peer.publish()
    await peers[0].wait_for_frames(participants[1], "video", count=3)
    replies = await asyncio.gather(*(peer.command("media.leave") for peer in peers))
    assert [reply.get("left") for reply in replies] == [True, True, True], replies
    assert sfu.get().rooms == {} and sfu.open_peer_connections() == 0
    # The room is whole again for whoever comes next, while the last leaves may still run.
    again = await asyncio.gather(*(peer.command("media.leave") for peer in peers[:1]), peers[1].join(FORUM), peers[2].join(FORUM))
    assert again[0]["left"] is False and again[1]["type"] == again[2]["type"] == "ack"
    for peer in peers[1:]:
        await peer.reset()
        await peer.publish()
    await peers[1].wait_for_frames(participants[2], "video", count=3)
    await close_all(*peers)


async def test_media_happens_only_where_one_is_and_ends_when_the_agenda_moves_everyone(
    conference, moderator, participants, layer
):
    await start(conference, moderator, Phase.FORUMS)
    alice = participants[0]
    peer = await MediaPeer.connect(alice)
    assert (await peer.join(OTHER_FORUM))["code"] == "room_closed"
    assert (await peer.join(FORUM))["type"] == "ack"
    await peer.publish()
    # Alone in the room: her publish connection is open (a subscribe one comes with others).
    assert sfu.open_peer_connections() >= 1
    # The moderator ends the forums: the socket moves back to the plenary and the forum's media
    # ends on the server without a word from the page.
    await database_sync_to_async(actions.end)(conference.pk, by=moderator)
    await wait_until(lambda: sfu.open_peer_connections() == 0, timeout=3, what="the forum's media closed")
    assert (await peer.join(FORUM))["code"] == "room_closed"
    assert (await peer.join("plenum"))["type"] == "ack"
    await close_all(peer)


async def test_a_forums_facilitator_may_publish_on_stage_while_presenting_its_results(
    conference, moderator, participants, layer
):
    from rooms.models import Room

    await start(conference, moderator, Phase.FORUMS)
    first, second = [r async for r in Room.objects.filter(kind="forum").order_by("order")][:2]
    await database_sync_to_async(actions.end)(conference.pk, by=moderator)  # results freeze
    lead = await MediaPeer.connect(await database_sync_to_async(lambda: first.facilitator)())
    joined = await lead.join("plenum")
    assert joined["type"] == "ack" and joined["may_publish"] is False
    console = await MediaPeer.connect(moderator)
    assert (await console.command("results.step", direction="next"))["forum"] == first.pk
    await wait_until(lambda: any(m.get("type") == "media.staged" for m in lead.messages), what="the facilitator staged")
    staged = next(m for m in lead.messages if m.get("type") == "media.staged")
    assert staged["may_publish"] is True
    assert (await console.command("results.step", direction="next"))["forum"] == second.pk
    await wait_until(lambda: any(m.get("type") == "media.unstaged" for m in lead.messages), what="the facilitator unstaged")
    await close_all(lead, console)
