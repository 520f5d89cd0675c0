"""The plenary for two thousand: a stage of five publishers and N viewers through the media workers.

Five speakers publish 640×360 VP8 at 30 fps and Opus into the plenary; N participants watch.
Everything goes the way a browser's media goes: daphne process(es) with PLENUM_MEDIA=worker,
`manage.py plenum_media_worker` processes, redis-server and PostgreSQL, the demo conference with
its panel item live, and the venue socket (`media.join`, `media.publish` and `media.answer` in
SDP chunks, `media.offer`, `media.tracks`). The clients are as cheap as the measurement allows:

* the publishers (one process) replay VP8 and Opus encoded once at start-up: an av.Packet that
  aiortc's sender packs without encoding, as rooms.media.forwarding's ForwardedTrack does;
* the viewers (one or two processes) answer the server's subscribe offers and read only the RTP
  header of each packet (SSRC, sequence number, marker bit): no jitter buffer, no decoder.

Per configuration (media workers, PLENUM_MEDIA_SPREAD, last-N) and N it prints the frames per
second each viewer gets on each stage track, the CPU of every server process and of the clients
next to the machine's busy CPU, which worker serves how many viewers (found from the UDP ports
in the server's offers), and the agenda's broadcast latency idle and under media load.

    .venv/bin/python bench/stage.py --counts 10 --window 3 --windows 1   # a quick check
    .venv/bin/python bench/stage.py                                      # the issue's comparisons
    .venv/bin/python bench/stage.py --find-max --workers 1 2             # largest N at full rate
"""

import argparse
import asyncio
import fractions
import json
import math
import os
import random
import re
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.broadcast import (  # noqa: E402
    Clients,
    ParticipantSocket,
    answer_commands,
    classify,
    machine_busy_seconds,
    moderator_socket,
    percentile,
    process_cpu_seconds,
    raise_open_file_limit,
    tree_cpu_seconds,
    ws_url,
)
from bench.media import _local_only  # noqa: E402
from tests.support.servers import Daphne, MediaWorkerProcess, manage, prepare_demo, server_env  # noqa: E402
from tests.support.topology import PostgresCluster, RedisServer  # noqa: E402

ROOM = "plenum"
PANEL_TITLE = "Podiumsgespräch"
STAGE = 5  # publishers: the panel's five speakers
WIDTH, HEIGHT, FPS = 640, 360, 30
VIDEO_BITRATE = 500_000  # what aiortc's own VP8 encoder aims at; a 360p camera in a browser is similar
FULL_RATE_FPS = 29.0  # the "full rate": every viewer at least this on every stage video track
AGENDA_FRAME = b'id="now-playing"'  # the agenda's partial in every broadcast of the day's state

SETUP_SNIPPET = """
from agenda import actions
from agenda.models import AgendaItem
from frontend import demo
from venue.models import Person, Role
conference = demo.create()
moderator = conference.people.filter(role=Role.MODERATOR).first()
panel = AgendaItem.objects.get(conference=conference, title__startswith={panel!r})
actions.start(conference.pk, panel.pk, by=moderator)
people = Person.objects.bulk_create(
    [Person(conference=conference, display_name=f"Publikum {{i:05d}}", organization="bench")
     for i in range({count})],
    batch_size=500,
)
print("moderator", moderator.pk, moderator.token)
for speaker in panel.speaker_list:
    print("speaker", speaker.pk, speaker.token)
for person in people:
    print("viewer", person.pk, person.token)
"""


# ---------------------------------------------------------------------------------------------
# What the stage sends: encoded once, replayed without encoding.


def encode_video(seconds, seed):
    """`seconds` of 640×360 VP8 at 30 fps with aiortc's encoder settings (CBR 500 kbps, realtime):
    a keyframe, then delta frames. The picture has a moving bar and a patch that changes every
    frame (a speaker's face), so the encoder spends its bitrate as it would on a camera."""
    import av

    rng = random.Random(seed)
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.time_base = fractions.Fraction(1, FPS)
    codec.framerate = FPS
    codec.bit_rate = VIDEO_BITRATE
    codec.gop_size = 3000
    codec.qmin, codec.qmax = 2, 56
    codec.options = {
        "bufsize": str(VIDEO_BITRATE), "cpu-used": "-6", "deadline": "realtime", "lag-in-frames": "0",
        "minrate": str(VIDEO_BITRATE), "maxrate": str(VIDEO_BITRATE), "noise-sensitivity": "4",
        "overshoot-pct": "15", "partitions": "0", "static-thresh": "1", "undershoot-pct": "100",
    }
    background = bytes(
        ((x * 3) // 8 + (y * 5) // 9 + ((x // 32 + y // 32) % 2) * 24 + seed * 17) % 256
        for y in range(HEIGHT) for x in range(WIDTH)
    )
    packets = []
    for index in range(int(seconds * FPS)):
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        luma = bytearray(background)
        x = (index * 8) % (WIDTH - 40)
        for y in range(HEIGHT):
            luma[y * WIDTH + x:y * WIDTH + x + 40] = b"\xe6" * 40
        for y in range(140, 220):
            luma[y * WIDTH + 280:y * WIDTH + 360] = rng.randbytes(80)
        plane = frame.planes[0]
        if plane.line_size != WIDTH:
            raise RuntimeError(f"unexpected luma stride {plane.line_size}")
        plane.update(bytes(luma))
        for chroma in frame.planes[1:]:
            chroma.update(bytes([128]) * chroma.buffer_size)
        frame.pts, frame.time_base = index, codec.time_base
        packets.extend(bytes(p) for p in codec.encode(frame))
    packets.extend(bytes(p) for p in codec.encode(None))
    if not packets or packets[0][0] & 0x01:
        raise RuntimeError("the encoded video does not start with a keyframe")
    return packets


def encode_audio(seconds, seed):
    """`seconds` of Opus in 20 ms packets (48 kHz stereo, aiortc's settings): a warbling tone."""
    import av

    codec = av.CodecContext.create("libopus", "w")
    codec.bit_rate = 96000
    codec.format = "s16"
    codec.layout = "stereo"
    codec.sample_rate = 48000
    codec.time_base = fractions.Fraction(1, 48000)
    codec.options = {"application": "voip"}
    packets = []
    pitch = 180 + 40 * seed
    for index in range(int(seconds * 50) + 2):
        samples = []
        for n in range(960):
            t = (index * 960 + n) / 48000
            value = int(6000 * math.sin(2 * math.pi * pitch * t) * (0.6 + 0.4 * math.sin(2 * math.pi * 3 * t)))
            samples += (value, value)
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        frame.planes[0].update(struct.pack(f"<{len(samples)}h", *samples))
        frame.sample_rate = 48000
        frame.pts = index * 960
        frame.time_base = codec.time_base
        packets.extend(bytes(p) for p in codec.encode(frame))
    return packets[: int(seconds * 50)]


class Replay:
    """A MediaStreamTrack (built by `replay_track`) whose recv() returns the next encoded packet on
    the clock: 30 frames or 50 Opus packets a second, looping. A keyframe request (PLI) from the
    server starts the video loop again at its keyframe, as a browser's encoder would send one."""

    def __init__(self, kind, packets):
        self.kind = kind
        self.packets = packets
        self.interval = 1 / FPS if kind == "video" else 0.02
        self.step = 90000 // FPS if kind == "video" else 960
        self.clock_rate = 90000 if kind == "video" else 48000
        self.position = 0
        self.sent = 0
        self.keyframe_requests = 0
        self.started = None

    def restart(self):
        self.keyframe_requests += 1
        self.position = 0

    async def next_packet(self):
        import av

        now = time.monotonic()
        if self.started is None:
            self.started = now
        due = self.started + self.sent * self.interval
        if due > now:
            await asyncio.sleep(due - now)
        elif now - due > 1.0:
            # The process stalled for a second: go on from now instead of sending a burst.
            self.started = now - self.sent * self.interval
        packet = av.Packet(self.packets[self.position])
        packet.pts = self.sent * self.step
        packet.time_base = fractions.Fraction(1, self.clock_rate)
        self.position = (self.position + 1) % len(self.packets)
        self.sent += 1
        return packet


def replay_track(replay):
    from aiortc.mediastreams import MediaStreamTrack

    class ReplayTrack(MediaStreamTrack):
        kind = replay.kind

        async def recv(self):
            return await replay.next_packet()

    return ReplayTrack()


# ---------------------------------------------------------------------------------------------
# What arrives: the RTP header of each packet, per SSRC.


class Tally:
    """Packets, marker bits (one per video frame) and the sequence range per SSRC of one peer
    connection, read from the RTP header as each datagram arrives.

    The tap sits in front of aioice: an SRTP packet is counted and dropped when it reaches the
    socket's protocol, before aioice's STUN parse, its queue, the DTLS transport, SRTP
    decryption and the receiver (whose jitter buffer and decoder it never reaches). The RTP
    header is not encrypted, so nothing is lost for counting. STUN (consent checks), DTLS and
    RTCP take aiortc's own path. A viewer costs this client little more than a socket read per
    packet, so that the machine's CPU goes to the servers being measured."""

    def __init__(self):
        self.streams = {}  # ssrc -> [packets, markers, first seq, highest seq, wraps, first arrival]

    def count(self, data):
        ssrc = int.from_bytes(data[8:12], "big")
        seq = (data[2] << 8) | data[3]
        stream = self.streams.get(ssrc)
        if stream is None:
            self.streams[ssrc] = [1, data[1] >> 7, seq, seq, 0, time.monotonic()]
            return
        stream[0] += 1
        stream[1] += data[1] >> 7
        ahead = (seq - stream[3]) & 0xFFFF
        if 0 < ahead < 0x8000:
            if seq < stream[3]:
                stream[4] += 0x10000
            stream[3] = seq

    def tap(self, pc):
        """Put the counter in front of every socket of `pc` (after setLocalDescription: the
        sockets exist once the candidates are gathered)."""
        for transceiver in pc.getTransceivers():
            dtls = transceiver.receiver.transport
            connection = getattr(getattr(dtls, "transport", None), "_connection", None)
            for protocol in getattr(connection, "_protocols", ()):
                if getattr(protocol, "bench_tally", None) is self:
                    continue
                protocol.bench_tally = self
                protocol.datagram_received = self._receiver(protocol.datagram_received)

    def _receiver(self, original):
        count = self.count

        def datagram_received(data, addr):
            # RTP: first byte 128..191 (version 2), and not RTCP (second byte 192..208).
            if len(data) >= 12 and 127 < data[0] < 192 and not 191 < data[1] < 209:
                count(data)
            else:
                original(data, addr)

        return datagram_received


SSRC_LINE = re.compile(r"^a=ssrc:(\d+) ", re.M)
FID_LINE = re.compile(r"^a=ssrc-group:FID (\d+)", re.M)
CANDIDATE_LINE = re.compile(r"^a=candidate:\S+ \d+ udp \d+ \S+ (\d+) typ", re.M | re.I)


def ssrcs_by_mid(sdp):
    """{ssrc: mid} of the media each m-section of an offer sends (the primary SSRC, not RTX)."""
    found = {}
    for section in sdp.split("\nm=")[1:]:
        mid = re.search(r"^a=mid:(\S+)", section, re.M)
        primary = FID_LINE.search(section) or SSRC_LINE.search(section)
        if mid and primary:
            found[int(primary.group(1))] = mid.group(1)
    return found


def sdp_chunks(sdp, size=5000):
    """Whole SDP lines in chunks of at most `size` characters, one WebSocket message each.
    The same as tests.support.media.sdp_chunks, a module that needs Django set up to import."""
    chunks, current, length = [], [], 0
    for line in sdp.splitlines():
        if current and length + len(line) + 2 > size:
            chunks.append("\r\n".join(current))
            current, length = [], 0
        current.append(line)
        length += len(line) + 2
    if current:
        chunks.append("\r\n".join(current))
    return chunks


# ---------------------------------------------------------------------------------------------
# One person on the venue socket: commands, the subscribe connection, the agenda's frames.


class Refusal(Exception):
    def __init__(self, reply):
        super().__init__(f"{reply.get('code')}: {reply.get('message')}")
        self.code = reply.get("code")


class Member:
    """A venue socket (bench.broadcast's Sans-I/O ParticipantSocket) that answers the server's
    subscribe offers with a counting peer connection and notes when agenda frames arrive."""

    def __init__(self, port, token):
        self.port, self.token = port, token
        self.socket = None
        self.next_id = 0
        self.waiting = {}
        self.pc = None
        self.tally = Tally()
        self.mids = {}  # ssrc -> mid
        self.tracks = {}  # mid -> {"person", "source", "kind", ...}
        self.server_port = None  # a UDP port of the server's subscribe connection: which worker
        self.answering = asyncio.Lock()
        self.answered = asyncio.Event()
        self.offers = 0
        self.joined_at = None
        self.agenda_frames = []
        self.errors = []
        self.messages = {}  # JSON message type -> how many arrived (the signalling's chatter)

    async def open(self):
        loop = asyncio.get_running_loop()
        _transport, self.socket = await loop.create_connection(
            lambda: ParticipantSocket(ws_url(self.port, self.token), f"http://127.0.0.1:{self.port}", self.on_text),
            "127.0.0.1", self.port,
        )
        await self.socket.opened

    def on_text(self, text, at):
        if text[:1] != b"{":
            if AGENDA_FRAME in text:
                self.agenda_frames.append(at)
                del self.agenda_frames[:-20]
            return
        message = json.loads(text)
        kind = message.get("type")
        self.messages[kind] = self.messages.get(kind, 0) + 1
        waiter = self.waiting.pop(message.get("id"), None)
        if waiter is not None:
            if not waiter.done():
                waiter.set_result(message)
            return
        if kind == "media.offer":
            asyncio.ensure_future(self.answer(message))
        elif kind == "media.tracks":
            self.tracks = {t["mid"]: t for t in message["tracks"]}
        elif kind in ("media.failed", "media.reset", "error"):
            self.errors.append(message.get("code") or kind)

    async def command(self, message_type, timeout=20.0, **fields):
        self.next_id += 1
        message_id = self.next_id
        waiter = self.waiting[message_id] = asyncio.get_running_loop().create_future()
        self.socket.send_text(json.dumps({"type": message_type, "id": message_id, **fields}).encode())
        try:
            reply = await asyncio.wait_for(waiter, timeout)
        finally:
            self.waiting.pop(message_id, None)
        if reply.get("type") == "error":
            raise Refusal(reply)
        return reply

    async def send_sdp(self, message_type, sdp):
        parts = sdp_chunks(sdp)
        reply = None
        for index, part in enumerate(parts):
            reply = await self.command(message_type, sdp=part, more=index < len(parts) - 1)
        return reply

    async def answer(self, offer):
        from aiortc import RTCPeerConnection, RTCSessionDescription

        async with self.answering:
            try:
                self.offers += 1
                if self.pc is None:
                    self.pc = RTCPeerConnection(_local_only())
                self.mids.update(ssrcs_by_mid(offer["sdp"]))
                ports = CANDIDATE_LINE.findall(offer["sdp"])
                if ports:
                    self.server_port = int(ports[0])
                self.tracks = {t["mid"]: t for t in offer.get("tracks", ())}
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                self.tally.tap(self.pc)
                await self.send_sdp("media.answer", self.pc.localDescription.sdp)
                self.answered.set()
            except Refusal as refusal:
                self.errors.append(f"answer refused: {refusal.code}")
            except (asyncio.TimeoutError, ConnectionError) as error:
                self.errors.append(f"answer: {type(error).__name__}")

    async def join(self, timeout):
        self.joined_at = time.monotonic()
        await self.command("media.join", timeout=timeout, room=ROOM)
        await asyncio.wait_for(self.answered.wait(), timeout)

    def snapshot(self):
        """What arrived so far: {mid: [packets, markers, expected packets, first arrival]}."""
        streams = {}
        for ssrc, (packets, markers, first, highest, wraps, first_at) in self.tally.streams.items():
            mid = self.mids.get(ssrc)
            if mid is not None:
                streams[mid] = [packets, markers, wraps + highest - first + 1, first_at]
        tracks = {mid: [t["person"], t["source"], t["kind"]] for mid, t in self.tracks.items()}
        return {"streams": streams, "tracks": tracks, "port": self.server_port, "messages": dict(self.messages),
                "joined_at": self.joined_at, "offers": self.offers, "errors": list(self.errors)}

    async def close(self):
        if self.pc is not None:
            try:
                await asyncio.wait_for(self.pc.close(), 5)
            except asyncio.TimeoutError:
                pass
        if self.socket is not None:
            self.socket.close()


class Speaker(Member):
    """A panel speaker: publishes the replayed camera and microphone, and (as a browser on the
    stage does) watches the other four.

    Like a browser, every audio packet carries its level (RFC 6464), which the server reads to
    know who speaks (and, with last-N, whose cameras the audience sees). The speakers take turns:
    speaker k talks (−20 dBov) during every turn k of `turn_seconds`, and is silent (−127) in the
    others; with `turn_seconds` 0 all five talk all the time."""

    TALKING, SILENT = -20, -127

    def __init__(self, port, token, seed, seconds, turn_seconds, epoch):
        super().__init__(port, token)
        self.seed, self.turn_seconds, self.epoch = seed, turn_seconds, epoch
        self.replays = [Replay("audio", encode_audio(seconds, seed)), Replay("video", encode_video(seconds, seed))]
        self.publisher = None

    def level(self):
        if not self.turn_seconds:
            return self.TALKING
        turn = int((time.monotonic() - self.epoch) / self.turn_seconds) % STAGE
        return self.TALKING if turn == self.seed else self.SILENT

    def _with_levels(self, sender):
        # aiortc puts a level on a packet when it encoded the frame itself; a replayed packet
        # gets the speaker's level here, where the sender takes its next frame.
        next_frame = sender._next_encoded_frame

        async def next_frame_with_level(codec):
            frame = await next_frame(codec)
            if frame is not None:
                frame.audio_level = self.level()
            return frame

        sender._next_encoded_frame = next_frame_with_level

    async def publish(self, timeout):
        from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription

        await self.command("media.join", timeout=timeout, room=ROOM)
        pc = self.publisher = RTCPeerConnection(_local_only())
        for replay in self.replays:
            transceiver = pc.addTransceiver(replay_track(replay), direction="sendonly")
            wanted = {"video/vp8", "video/rtx"} if replay.kind == "video" else {"audio/opus"}
            # As the browser does: the server takes VP8 and Opus only.
            transceiver.setCodecPreferences(
                [c for c in RTCRtpSender.getCapabilities(replay.kind).codecs if c.mimeType.lower() in wanted]
            )
            # A keyframe request restarts the loop at its keyframe instead of forcing an encode.
            transceiver.sender._send_keyframe = replay.restart
            if replay.kind == "audio":
                self._with_levels(transceiver.sender)
        await pc.setLocalDescription(await pc.createOffer())
        reply = await self.send_sdp("media.publish", pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
        await self.command("media.state", timeout=timeout, audio=True, video=True, screen=False)
        ports = CANDIDATE_LINE.findall(reply["sdp"])
        return {"port": int(ports[0]) if ports else None}

    async def close(self):
        if self.publisher is not None:
            try:
                await asyncio.wait_for(self.publisher.close(), 5)
            except asyncio.TimeoutError:
                pass
        await super().close()


# ---------------------------------------------------------------------------------------------
# Client processes, driven by the coordinator over a pipe (bench.broadcast's answer_commands).


class Audience:
    """The members of one client process: they connect, join the plenary's media, and report."""

    def __init__(self, members):
        self.members = members
        self.connected = 0
        self.joined = 0
        self.failures = {}

    def _fail(self, reason):
        self.failures[reason] = self.failures.get(reason, 0) + 1

    async def _gated(self, action, members, at_once, deadline):
        gate = asyncio.Semaphore(at_once)
        done = []

        async def one(member):
            async with gate:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._fail("not started before the deadline")
                    return
                try:
                    await asyncio.wait_for(action(member), remaining)
                    done.append(member)
                except Refusal as refusal:
                    self._fail(f"refused: {refusal.code}")
                except (OSError, asyncio.TimeoutError, ConnectionError) as error:
                    self._fail(classify(error))

        tasks = [asyncio.ensure_future(one(m)) for m in members]
        if tasks:
            await asyncio.wait(tasks, timeout=max(0.1, deadline - time.monotonic() + 1))
            for task in tasks:
                task.cancel()
        return done

    async def connect(self, count, at_once, seconds):
        """Open the sockets of members up to `count` (of this process)."""
        start, self.failures = self.connected, {}
        wanted = self.members[start:count]
        done = await self._gated(lambda m: m.open(), wanted, at_once, time.monotonic() + seconds)
        # Members that failed stay unconnected; the next ones still count from here.
        self.connected = count
        return {"connected": len(done), "asked": len(wanted), "failures": self.failures}

    async def join(self, at_once, seconds):
        """Join the plenary's media with every connected member not yet in it."""
        self.failures = {}
        wanted = [m for m in self.members[self.joined:self.connected] if m.socket is not None]
        done = await self._gated(lambda m: m.join(seconds), wanted, at_once, time.monotonic() + seconds)
        self.joined = self.connected
        return {"joined": len(done), "asked": len(wanted), "failures": self.failures}

    async def snapshot(self):
        return {"at": time.monotonic(), "members": [m.snapshot() for m in self.members[:self.joined] if m.socket is not None]}

    async def arrivals(self, since, deadline):
        """For each connected member, seconds from `since` to its first agenda frame after it."""
        connected = [m for m in self.members[:self.connected] if m.socket is not None]

        def first(member):
            return next((at for at in member.agenda_frames if at >= since), None)

        while time.monotonic() < deadline and any(first(m) is None for m in connected):
            await asyncio.sleep(0.01)
        return [None if first(m) is None else first(m) - since for m in connected]

    async def close(self):
        await asyncio.gather(*(m.close() for m in self.members), return_exceptions=True)
        await asyncio.sleep(0.3)


def viewer_process(pipe, targets):
    # Ctrl-C is the coordinator's to handle: it closes the clients in order, then the servers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_open_file_limit()
    asyncio.run(_viewers(pipe, targets))


async def _viewers(pipe, targets):
    audience = Audience([Member(port, token) for port, token in targets])
    handlers = {"connect": audience.connect, "join": audience.join, "snapshot": audience.snapshot,
                "arrivals": audience.arrivals}
    await answer_commands(pipe, handlers, audience.close)


def speaker_process(pipe, targets):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_open_file_limit()
    asyncio.run(_speakers(pipe, targets))


async def _speakers(pipe, targets):
    _port, _token, seconds, turn_seconds = targets[0]
    epoch = time.monotonic()
    stage = Audience([Speaker(port, token, seed, seconds, turn_seconds, epoch)
                      for seed, (port, token, _s, _t) in enumerate(targets)])

    async def publish(seconds):
        results = {"ports": [], "failures": {}}
        for member in stage.members:
            await member.open()
            stage.connected += 1
            try:
                results["ports"].append((await member.publish(seconds))["port"])
            except Refusal as refusal:
                results["failures"][refusal.code] = results["failures"].get(refusal.code, 0) + 1
        stage.joined = stage.connected
        return results

    async def replays():
        return [[r.kind, r.sent, r.keyframe_requests] for m in stage.members for r in m.replays]

    handlers = {"publish": publish, "snapshot": stage.snapshot, "replays": replays}
    await answer_commands(pipe, handlers, stage.close)


# ---------------------------------------------------------------------------------------------
# The servers and measuring them from outside.


def udp_sockets():
    """{inode: (local port, drops)} of every UDP socket (IPv4 and IPv6) on this machine."""
    found = {}
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path) as table:
                lines = table.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            found[int(fields[9])] = (int(fields[1].rsplit(":", 1)[1], 16), int(fields[-1]))
    return found


def socket_inodes(pid):
    inodes = set()
    try:
        entries = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for entry in entries:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{entry}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    return inodes


def udp_by_process(pids):
    """{name: {inode: (local port, drops so far)}} of the UDP sockets each named process holds."""
    table = udp_sockets()
    return {name: {inode: table[inode] for inode in socket_inodes(pid) if inode in table} for name, pid in pids.items()}


def udp_drops_between(before, after):
    """Datagrams each process's sockets dropped (receive buffer full) between two readings;
    sockets opened in between count from zero, closed ones are left out."""
    dropped = {}
    for name, sockets in after.items():
        earlier = before.get(name, {})
        total = sum(drops - earlier.get(inode, (0, 0))[1] for inode, (_port, drops) in sockets.items())
        if total > 0:
            dropped[name] = total
    return dropped


class Meter:
    """CPU seconds of named processes (PostgreSQL with its backends), and the machine's."""

    def __init__(self):
        self.processes = {}  # name -> (pid, with children)

    def watch(self, name, pid, tree=False):
        self.processes[name] = (pid, tree)

    def read(self):
        cpu = {}
        for name, (pid, tree) in self.processes.items():
            try:
                cpu[name] = tree_cpu_seconds(pid) if tree else process_cpu_seconds(pid)
            except OSError:
                cpu[name] = float("nan")  # it ended
        return {"cpu": cpu, "machine": machine_busy_seconds(), "wall": time.monotonic(),
                "udp": udp_by_process({n: p for n, (p, _t) in self.processes.items()})}

    @staticmethod
    def between(before, after):
        wall = after["wall"] - before["wall"]
        return {
            "seconds": wall,
            "cpu": {k: (after["cpu"][k] - before["cpu"][k]) / wall for k in after["cpu"] if k in before["cpu"]},
            "machine": (after["machine"] - before["machine"]) / wall,
            "udp_drops": udp_drops_between(before["udp"], after["udp"]),
        }


class Services:
    """redis-server and a PostgreSQL cluster for the whole invocation, and a template database
    with the demo conference, its panel item live and enough participants; each run copies it."""

    TEMPLATE = "stage_template"

    def __init__(self, viewers, var_dir):
        self.viewers = viewers
        self.var_dir = var_dir
        self.redis = self.postgres = None
        self.people = None

    def start(self):
        self.redis = RedisServer().start()
        self.postgres = PostgresCluster().start()
        url = self.postgres.create_database(self.TEMPLATE)
        env = server_env(self.var_dir, DATABASE_URL=url, LOG_LEVEL="WARNING")
        prepare_demo(env, "http://127.0.0.1")
        out = manage(env, "shell", "-c", SETUP_SNIPPET.format(panel=PANEL_TITLE, count=int(self.viewers)))
        people = {"moderator": None, "speaker": [], "viewer": []}
        for line in out.splitlines():
            kind, _, rest = line.partition(" ")
            if kind in people:
                pk, token = rest.split()
                if kind == "moderator":
                    people[kind] = (int(pk), token)
                else:
                    people[kind].append((int(pk), token))
        if people["moderator"] is None or len(people["speaker"]) != STAGE or len(people["viewer"]) != self.viewers:
            raise RuntimeError(f"the demo did not give a moderator, {STAGE} panel speakers and {self.viewers} viewers:\n{out[:2000]}")
        self.people = people
        return self

    def database(self, name):
        """A fresh copy of the template: the same people and tokens in every run."""
        import psycopg

        with psycopg.connect(self.postgres.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.TEMPLATE}"')
        return self.postgres.url(name)

    def stop(self):
        for service in (self.redis, self.postgres):
            if service is None:
                continue
            try:
                service.stop()
            except (RuntimeError, OSError) as error:
                print(f"  (could not stop {type(service).__name__}: {error})", file=sys.stderr)


@dataclass
class Config:
    workers: int
    spread: str  # PLENUM_MEDIA_SPREAD: "none" (every room in one worker) or "plenary"
    last_n: int  # 0: every viewer gets all five cameras

    @property
    def label(self):
        spread = f", spread {self.spread}" if self.workers > 1 else ""
        last_n = f", last-N {self.last_n}" if self.last_n else ""
        return f"{self.workers} worker{'s' if self.workers > 1 else ''}{spread}{last_n}"


class Venue:
    """One run's servers: daphne processes and media workers on a fresh database; a context manager."""

    def __init__(self, services, config, args, name):
        self.services, self.config, self.args, self.name = services, config, args, name
        self.daphnes, self.workers = [], []
        self.database = None
        self.var_dir = Path(tempfile.mkdtemp(prefix="bench-stage-"))

    def __enter__(self):
        try:
            self.services.redis.flush()
            url = self.services.database(self.name)
            self.database = self.name
            env = server_env(
                self.var_dir, DATABASE_URL=url, REDIS_URL=self.services.redis.url, PLENUM_MEDIA="worker",
                PLENUM_MEDIA_WORKERS=self.config.workers, PLENUM_MEDIA_SPREAD=self.config.spread,
                CONN_MAX_AGE=60, LOG_LEVEL="WARNING",
            )
            self.workers = [MediaWorkerProcess(env, index=i) for i in range(self.config.workers)]
            for worker in self.workers:
                worker.start()
            self.daphnes = [Daphne(env) for _ in range(self.args.daphnes)]
            for daphne in self.daphnes:
                daphne.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for process in (*self.daphnes, *self.workers):
            try:
                process.stop()
            except OSError:
                pass
        if self.database:
            try:
                self.services.postgres.drop_database(self.database)
            except Exception as error:  # noqa: BLE001 - cleanup goes on; the cluster is thrown away anyway
                print(f"  (could not drop {self.database}: {error})", file=sys.stderr)
        if self.args.keep:
            print(f"  (kept {self.var_dir})")
        else:
            shutil.rmtree(self.var_dir, ignore_errors=True)

    def tracebacks(self):
        notes = []
        for process in (*self.daphnes, *self.workers):
            count = process.log_text().count("Traceback")
            if count:
                notes.append(f"{process.log_path.name} logged {count} tracebacks")
        return notes

    def meter(self, clients):
        meter = Meter()
        for index, worker in enumerate(self.workers):
            meter.watch(f"media-{index}", worker.process.pid)
        for index, daphne in enumerate(self.daphnes):
            meter.watch(f"daphne-{index}", daphne.process.pid)
        meter.watch("redis", self.services.redis.pid)
        meter.watch("postgres", self.services.postgres.pid, tree=True)
        for name, process in clients.items():
            meter.watch(name, process.pid)
        return meter


# ---------------------------------------------------------------------------------------------
# One configuration at one N: connect, probe idle, publish, join, measure, probe busy.


@dataclass
class Run:
    config: dict
    viewers: int
    connected: int = 0
    joined: int = 0
    failures: dict = field(default_factory=dict)
    last_n_reply: str = ""
    stage_only: dict = field(default_factory=dict)  # the window before any viewer joined
    windows: list = field(default_factory=list)
    idle: dict = field(default_factory=dict)
    busy: dict = field(default_factory=dict)
    join_seconds: dict = field(default_factory=dict)
    worker_stats: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    full_rate: bool = False
    others_before: float = float("nan")  # cores the machine was busy with others' work before the run
    # --record: windows in pairs, the stage forwarded without and then with recording it
    recording_pairs: list = field(default_factory=list)
    recorded_files: list = field(default_factory=list)

    def median(self, key, sub=None):
        values = [w[key] if sub is None else w[key].get(sub) for w in self.windows]
        values = [v for v in values if v is not None and v == v]
        return statistics.median(values) if values else float("nan")


async def others_load(limit, threshold):
    """The machine's busy CPU (cores) while none of ours runs; waits up to `limit` seconds for it
    to fall under `threshold`: this machine is shared, and what others use is not ours to measure."""
    deadline = time.monotonic() + limit
    while True:
        busy, began = machine_busy_seconds(), time.monotonic()
        await asyncio.sleep(1.0)
        load = (machine_busy_seconds() - busy) / (time.monotonic() - began)
        if load < threshold or time.monotonic() >= deadline:
            return load


def share(count, processes):
    return [len(range(part, count, processes)) for part in range(processes)]


async def call(socket, message_type, timeout=20, **fields):
    """One command on the coordinator's own socket (the moderator's); returns the reply."""
    message_id = f"c{time.monotonic_ns()}"
    await socket.send(json.dumps({"type": message_type, "id": message_id, **fields}))
    deadline = time.monotonic() + timeout
    while True:
        frame = await asyncio.wait_for(socket.recv(), max(0.1, deadline - time.monotonic()))
        if frame.startswith("{"):
            reply = json.loads(frame)
            if reply.get("id") == message_id:
                return reply


async def probe_agenda(socket, viewers, rounds, round_seconds):
    """The moderator switches the live item's questions (agenda.questions): the agenda's state
    changes and every socket gets the day's partials again, rendered once per audience, as after
    "Weiter", without moving anyone out of the plenary's media. Each viewer notes when its
    frame arrives; latency = arrival - send (CLOCK_MONOTONIC, the same in every process)."""
    per_round, everything, acks = [], [], []
    for number in range(rounds):
        await asyncio.sleep(0.2 + random.random() * 0.2)
        sent = time.monotonic()
        reply = await call(socket, "agenda.questions", mode=("open", "premoderated")[number % 2])
        acks.append(time.monotonic() - sent)
        if reply.get("type") != "ack":
            raise RuntimeError(f"agenda.questions refused: {reply}")
        replies = await viewers.ask("arrivals", sent, sent + round_seconds)
        latencies = [x for reply in replies for x in reply]
        received = [x for x in latencies if x is not None]
        everything.extend(received)
        per_round.append({"received": len(received), "lost": len(latencies) - len(received),
                          "p50": percentile(received, 0.5), "p99": percentile(received, 0.99)})
    rounds_p99 = [r["p99"] for r in per_round if r["p99"] == r["p99"]]
    return {
        "rounds": len(per_round),
        "lost": sum(r["lost"] for r in per_round),
        "p50": percentile(everything, 0.5),
        "p99": statistics.median(rounds_p99) if rounds_p99 else float("nan"),  # median over rounds
        "p99_pooled": percentile(everything, 0.99),
        "max": max(everything, default=float("nan")),
        # The moderator's own ack (the change stored and rendered): the server's part of the latency.
        "ack_p50": percentile(acks, 0.5),
    }


def judge(before, after, meter_window, owners, speaker_ids, last_n):
    """Figures of one window from two snapshots of every viewer, and the meter's CPU."""
    expected_video = min(last_n, STAGE) if last_n else STAGE
    fps_all, audio_all, live_counts = [], [], []
    worst_viewer = []
    packets = expected = 0
    per_worker = {}
    chatter = {}  # JSON messages of each type per second, summed over viewers
    detail = []  # per viewer: [person, kind, frames (video) or packets (audio) per second] per track
    for (t0, old), (t1, new) in zip(before, after):
        seconds = t1 - t0
        video_rates, audio_rates = [], []
        for mid, stream in new["streams"].items():
            track = new["tracks"].get(mid)
            if track is None or track[0] not in speaker_ids:
                continue
            previous = old["streams"].get(mid, [0, 0, 0, None])
            packets += stream[0] - previous[0]
            expected += stream[2] - previous[2]
            if track[2] == "video":
                video_rates.append((stream[1] - previous[1]) / seconds)
            else:
                audio_rates.append((stream[0] - previous[0]) / seconds)
        detail.append(sorted([track[0], track[2], round((stream[1] if track[2] == "video" else stream[0]) - (previous[1] if track[2] == "video" else previous[0])) / seconds]
                             for mid, stream in new["streams"].items()
                             for track, previous in [(new["tracks"].get(mid), old["streams"].get(mid, [0, 0, 0, None]))]
                             if track is not None and track[0] in speaker_ids))
        video_rates.sort(reverse=True)
        live = [r for r in video_rates if r >= 1.0]
        live_counts.append(len(live))
        # Last-N: the N cameras a viewer gets must be at full rate; without it, all five.
        counted = (video_rates + [0.0] * expected_video)[:expected_video]
        fps_all.extend(counted)
        worst_viewer.append(min(counted) if counted else 0.0)
        audio_all.extend(audio_rates or [0.0])
        worker = owners.get(new["port"], "?")
        per_worker[worker] = per_worker.get(worker, 0) + 1
        for kind, n in new["messages"].items():
            chatter[kind] = chatter.get(kind, 0) + (n - old["messages"].get(kind, 0)) / seconds
    at_full = sum(1 for w in worst_viewer if w >= FULL_RATE_FPS)
    return {
        "seconds": meter_window["seconds"],
        "viewers": len(worst_viewer),
        "fps_min": min(worst_viewer, default=float("nan")),
        "fps_p1": percentile(worst_viewer, 0.01),
        "fps_mean": statistics.mean(fps_all) if fps_all else float("nan"),
        "viewers_at_full_rate": at_full,
        "video_tracks_live": [min(live_counts, default=0), max(live_counts, default=0)],
        "audio_pps_min": min(audio_all, default=float("nan")),
        "loss": max(0.0, 1 - packets / expected) if expected else float("nan"),
        "viewers_per_worker": per_worker,
        # JSON messages per viewer and second, by type (media.tracks, media.speaking, ...)
        "messages_per_viewer": {k: v / len(worst_viewer) for k, v in chatter.items() if v > 0} if worst_viewer else {},
        "per_viewer": detail,
        "cpu": meter_window["cpu"],
        "machine": meter_window["machine"],
        "udp_drops": meter_window["udp_drops"],
    }


async def snapshots(viewers):
    replies = await viewers.ask("snapshot")
    return [(reply["at"], member) for reply in replies for member in reply["members"]]


async def window(session, seconds, owners, last_n):
    mark = meter_mark = session.meter.read()
    sent = (await session.stage.ask("replays"))[0]
    first = await snapshots(session.viewers)
    await asyncio.sleep(seconds)
    last = await snapshots(session.viewers)
    sent_after = (await session.stage.ask("replays"))[0]
    result = judge(first, last, Meter.between(mark, session.meter.read()), owners, session.speaker_ids, last_n)
    # What the stage itself sent meanwhile: a viewer cannot get more than this.
    elapsed = session.meter.read()["wall"] - meter_mark["wall"]
    video = [(b[1] - a[1]) / elapsed for a, b in zip(sent, sent_after) if a[0] == "video"]
    result["sent_fps"] = [min(video, default=0.0), max(video, default=0.0)]
    # The server asks a publisher for a keyframe when a subscriber's backlog overflowed (or a
    # new one attached): in a steady window, a sign that the worker does not keep up.
    result["keyframes_asked"] = sum(b[2] - a[2] for a, b in zip(sent, sent_after) if a[0] == "video")
    # What the server told the clients went wrong so far (media.failed, media.reset, errors).
    stage = (await session.stage.ask("snapshot"))[0]["members"]
    errors = {}
    for member in [m for _at, m in last] + stage:
        for error in member["errors"]:
            errors[error] = errors.get(error, 0) + 1
    result["client_errors"] = errors
    return result


async def wait_receiving(viewers, speaker_ids, last_n, seconds):
    """Until every viewer gets packets on the stage tracks it should get (bounded)."""
    wanted_video = min(last_n, STAGE) if last_n else STAGE
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        members = [m for _at, m in await snapshots(viewers)]
        ready = 0
        for member in members:
            video = sum(1 for mid, t in member["tracks"].items()
                        if t[0] in speaker_ids and t[2] == "video" and mid in member["streams"])
            ready += video >= wanted_video
        if members and ready == len(members):
            return True, members
        await asyncio.sleep(0.5)
    return False, members


def join_times(members, speaker_ids):
    """Seconds from media.join to packets on every stage track a viewer got."""
    times = []
    for member in members:
        arrivals = [s[3] for mid, s in member["streams"].items()
                    if member["tracks"].get(mid, [None])[0] in speaker_ids]
        if arrivals and member["joined_at"]:
            times.append(max(arrivals) - member["joined_at"])
    return {"p50": percentile(times, 0.5), "p99": percentile(times, 0.99), "max": max(times, default=float("nan"))}


class Session:
    """Client processes and the moderator's socket for one Venue."""

    def __init__(self, venue, services, args, max_viewers):
        self.venue, self.services, self.args = venue, services, args
        ports = [d.port for d in venue.daphnes]
        people = services.people
        self.speaker_ids = {pk for pk, _token in people["speaker"]}
        speakers = [(ports[i % len(ports)], token, args.loop_seconds, args.turn_seconds)
                    for i, (_pk, token) in enumerate(people["speaker"])]
        targets = [(ports[i % len(ports)], token) for i, (_pk, token) in enumerate(people["viewer"][:max_viewers])]
        self.processes = max(1, min(args.client_processes, math.ceil(max_viewers / 20)))
        self.stage = Clients(speakers, 1, target=speaker_process)
        self.viewers = Clients(targets, self.processes, target=viewer_process)
        self.moderator = None
        clients = {"speakers": self.stage.processes[0]}
        clients.update({f"viewers-{i}": p for i, p in enumerate(self.viewers.processes)})
        self.meter = venue.meter(clients)
        self.connected = 0

    async def start(self):
        await self.stage.ask("ready")
        await self.viewers.ask("ready")
        self.moderator, _attempts = await moderator_socket(self.venue.daphnes[0].port, self.services.people["moderator"][1])

    def owners(self):
        """{UDP port: "media-K"} of every media worker's sockets, read from /proc now."""
        owners = {}
        workers = {f"media-{i}": w.process.pid for i, w in enumerate(self.venue.workers)}
        for name, sockets in udp_by_process(workers).items():
            for port, _drops in sockets.values():
                owners[port] = name
        return owners

    async def grow(self, count, join):
        """Connect viewers up to `count` in all (and join them to the plenary's media)."""
        counts = share(count, self.processes)
        seconds = self.args.connect_seconds + count * 0.05
        replies = await asyncio.gather(*(
            self.viewers.ask_one(part, "connect", counts[part], self.args.at_once, seconds)
            for part in range(self.processes)
        ))
        failures = {}
        for reply in replies:
            for reason, n in reply["failures"].items():
                failures[reason] = failures.get(reason, 0) + n
        connected = sum(r["connected"] for r in replies)
        joined = 0
        if join:
            replies = await self.viewers.ask("join", self.args.at_once, self.args.join_seconds + count * 0.2)
            joined = sum(r["joined"] for r in replies)
            for reply in replies:
                for reason, n in reply["failures"].items():
                    failures[reason] = failures.get(reason, 0) + n
        return connected, joined, failures

    async def join_all(self, count):
        replies = await self.viewers.ask("join", self.args.at_once, self.args.join_seconds + count * 0.2)
        failures = {}
        for reply in replies:
            for reason, n in reply["failures"].items():
                failures[reason] = failures.get(reason, 0) + n
        return sum(r["joined"] for r in replies), failures

    async def publish(self):
        reply = (await self.stage.ask("publish", self.args.join_seconds))[0]
        if reply["failures"]:
            raise RuntimeError(f"the stage could not publish: {reply['failures']}")
        return reply["ports"]

    async def worker_stats(self):
        """Each worker's own account (media.stats): peer connections, forwarded streams, and
        the cascade, where it has one."""
        stats = {}
        for index in range(len(self.venue.workers)):
            reply = await call(self.moderator, "media.stats", worker=index)
            if reply.get("type") != "ack":
                # Before the cascade, media.stats had no `worker` field.
                reply = await call(self.moderator, "media.stats")
                stats[f"media-{index}"] = {"refused": reply.get("code")} if reply.get("type") != "ack" else {
                    k: v for k, v in reply.items() if k not in ("type", "id")}
                break
            stats[f"media-{index}"] = {k: v for k, v in reply.items() if k not in ("type", "id")}
        return stats

    async def set_last_n(self, n):
        reply = await call(self.moderator, "media.last_n", n=n)
        if reply.get("type") == "ack":
            return "accepted"
        return f"refused: {reply.get('code')} ({reply.get('message')})"

    async def close(self):
        """Close the clients in order (their peer connections, then their sockets); whatever
        does not answer in time is terminated. Also after an error or an interruption."""
        from websockets.exceptions import WebSocketException

        if self.moderator is not None:
            try:
                await asyncio.wait_for(self.moderator.close(), 5)
            except (asyncio.TimeoutError, OSError, WebSocketException):
                pass
        for clients in (self.viewers, self.stage):
            try:
                await asyncio.wait_for(clients.ask("close"), 30)
            except (asyncio.TimeoutError, EOFError, OSError):
                pass
            clients.stop()


async def measure(services, config, count, args, number):
    run = Run(config=asdict(config), viewers=count)
    run.others_before = await others_load(args.quiet_wait, args.quiet_cores)
    with Venue(services, config, args, f"stage_{number}") as venue:
        session = Session(venue, services, args, count)
        try:
            await session.start()
            run.connected, _joined, run.failures = await session.grow(count, join=False)
            if args.probes:
                run.idle = await probe_agenda(session.moderator, session.viewers, args.probes, args.round_seconds)
            stage_ports = await session.publish()
            if config.last_n:
                run.last_n_reply = await session.set_last_n(config.last_n)
                if run.last_n_reply != "accepted":
                    run.notes.append(f"media.last_n {config.last_n} {run.last_n_reply}: measured with all five")
            await asyncio.sleep(args.settle)
            owners = session.owners()
            homes = sorted({owners.get(p, "?") for p in stage_ports})
            run.notes.append(f"the stage publishes into {', '.join(homes)}")
            run.stage_only = await window(session, min(args.window, 3.0), owners, config.last_n)
            run.joined, failures = await session.join_all(count)
            for reason, n in failures.items():
                run.failures[reason] = run.failures.get(reason, 0) + n
            ready, members = await wait_receiving(session.viewers, session.speaker_ids, config.last_n,
                                                  args.join_seconds)
            run.join_seconds = join_times(members, session.speaker_ids)
            if not ready:
                run.notes.append("not every viewer received every stage track before the deadline")
            await asyncio.sleep(args.settle)
            owners = session.owners()
            for _ in range(args.windows):
                run.windows.append(await window(session, args.window, owners, config.last_n))
            if args.record:
                await measure_recording(run, session, venue, owners, config, args)
            if args.probes:
                run.busy = await probe_agenda(session.moderator, session.viewers, args.probes, args.round_seconds)
            run.worker_stats = await session.worker_stats()
            replays = (await session.stage.ask("replays"))[0]
            restarts = sum(r[2] for r in replays if r[0] == "video")
            if restarts:
                run.notes.append(f"the publishers were asked for {restarts} keyframes")
        finally:
            await session.close()
        run.notes.extend(venue.tracebacks())
    run.full_rate = run.median("fps_min") >= FULL_RATE_FPS and run.joined == count
    return run


async def measure_recording(run, session, venue, owners, config, args):
    """The recording's cost in one run: windows in pairs, the same stage and viewers forwarded
    without recording and then while the moderator records it (every publisher's VP8 and Opus
    muxed into a WebM on the worker that holds them), so that the others' load on a shared
    machine hits both alike."""
    for _ in range(args.windows):
        without = await window(session, args.window, owners, config.last_n)
        reply = await call(session.moderator, "recording.start")
        if reply.get("type") != "ack":
            run.notes.append(f"recording.start: {reply}")
            return
        await asyncio.sleep(1.0)  # the recorders wait for each camera's next keyframe
        with_recording = await window(session, args.window, owners, config.last_n)
        await call(session.moderator, "recording.stop")
        run.recording_pairs.append((without, with_recording))
        await asyncio.sleep(0.5)
    folder = venue.var_dir / "uploads" / "recordings"
    run.recorded_files = sorted((f.name, f.stat().st_size) for f in folder.glob("*.webm")) if folder.exists() else []


def print_recording(run):
    if not run.recording_pairs:
        return
    without = statistics.median(sum(worker_cpu(a).values()) for a, _b in run.recording_pairs)
    recording = statistics.median(sum(worker_cpu(b).values()) for _a, b in run.recording_pairs)
    deltas = [sum(worker_cpu(b).values()) - sum(worker_cpu(a).values()) for a, b in run.recording_pairs]
    fps = statistics.median(b["fps_min"] for _a, b in run.recording_pairs)
    sizes = sum(size for _name, size in run.recorded_files)
    print(f"  recording ({len(run.recording_pairs)} pairs of windows): media workers {without:.3f} cores without,"
          f" {recording:.3f} with; the difference per pair {', '.join(f'{d:+.3f}' for d in deltas)};"
          f" median {statistics.median(deltas) / STAGE * 100:+.1f} % of a core per publisher;"
          f" viewers' fps min while recording {fps:.1f}; {len(run.recorded_files)} files, {sizes / 1e6:.1f} MB")


async def find_max(services, config, args, number):
    """Raise N in coarse steps on one set of servers until some viewer gets under 29 fps on a
    stage track (or the time or --max-n is reached); returns the steps."""
    steps = []
    others = await others_load(args.quiet_wait, args.quiet_cores)
    print(f"  others' load before: {others:.2f} cores", flush=True)
    started = time.monotonic()
    with Venue(services, config, args, f"stage_max_{number}") as venue:
        session = Session(venue, services, args, args.max_n)
        try:
            await session.start()
            await session.publish()
            last_n_reply = ""
            if config.last_n:
                last_n_reply = await session.set_last_n(config.last_n)
            await asyncio.sleep(args.settle)
            count = args.start
            while count <= args.max_n:
                if time.monotonic() - started > args.max_seconds:
                    steps.append({"viewers": count, "stopped": f"time budget of {args.max_seconds:.0f} s spent"})
                    break
                connected, joined, failures = await session.grow(count, join=True)
                ready, _members = await wait_receiving(session.viewers, session.speaker_ids, config.last_n,
                                                       args.join_seconds)
                await asyncio.sleep(args.settle)
                owners = session.owners()
                results = [await window(session, args.window, owners, config.last_n) for _ in range(args.windows)]
                step = {
                    "viewers": count, "failures": failures, "ready": ready, "last_n_reply": last_n_reply,
                    "fps_min": statistics.median(r["fps_min"] for r in results),
                    "windows": results,
                }
                step["full_rate"] = step["fps_min"] >= FULL_RATE_FPS and not failures
                steps.append(step)
                print_step(config, step)
                if not step["full_rate"]:
                    break
                count = max(count + 5, int(round(count * args.growth / 5.0)) * 5)
        finally:
            await session.close()
        if steps:
            steps[-1]["notes"] = venue.tracebacks()
    return steps


# ---------------------------------------------------------------------------------------------
# Reporting.


def ms(seconds):
    return "—" if seconds != seconds else f"{seconds * 1000:.0f}"


def cores(value):
    return "—" if value != value else f"{value:.2f}"


def worker_cpu(window):
    return {k: v for k, v in sorted(window["cpu"].items()) if k.startswith("media-")}


def client_cpu(window):
    return sum(v for k, v in window["cpu"].items() if k.startswith(("viewers-", "speakers")))


def print_run(run, config):
    w = run.windows
    print(f"\n== {config.label}, N={run.viewers}: {run.joined}/{run.viewers} joined"
          + (f" (failures: {run.failures})" if run.failures else "")
          + f"; others' load before the run {run.others_before:.2f} cores")
    rows = ([("stage", run.stage_only)] if run.stage_only else []) + [(str(i), x) for i, x in enumerate(w, start=1)]
    if not rows:
        return
    workers = list(worker_cpu(rows[0][1]))
    print("  window  viewers  fps min  mean  tracks  audio/s   loss | " + " ".join(f"{k:>7}" for k in workers)
          + "  daphne  redis     pg | stage viewers | machine  other | viewers per worker")
    for label, x in rows:
        cpu = x["cpu"]
        daphne = sum(v for k, v in cpu.items() if k.startswith("daphne-"))
        viewers = sum(v for k, v in cpu.items() if k.startswith("viewers-"))
        other = x["machine"] - sum(cpu.values())
        fps = (f"{x['fps_min']:>8.1f} {x['fps_mean']:>5.1f} {x['video_tracks_live'][0]:>3}-{x['video_tracks_live'][1]:<3}"
               f" {x['audio_pps_min']:>7.1f} {x['loss']:>6.1%}") if x["viewers"] else f"{'':>8} {'':>5} {'':>7} {'':>7} {'':>6}"
        print(
            f"  {label:>6} {x['viewers']:>8} {fps} | " + " ".join(f"{cpu[k]:>7.3f}" for k in workers)
            + f"  {daphne:>6.3f} {cpu.get('redis', 0):>6.3f} {cpu.get('postgres', 0):>6.3f}"
            f" | {cpu.get('speakers', 0):>5.2f} {viewers:>7.2f} | {x['machine']:>7.2f} {other:>6.2f}"
            f" | {x['viewers_per_worker'] or ''}"
        )
        notes = []
        if x["sent_fps"][0] < FULL_RATE_FPS:
            notes.append(f"the stage itself sent only {x['sent_fps'][0]:.1f} fps")
        if x["messages_per_viewer"]:
            notes.append("JSON messages per viewer and second: "
                         + ", ".join(f"{k} {v:.1f}" for k, v in sorted(x["messages_per_viewer"].items())))
        if x["keyframes_asked"]:
            notes.append(f"the server asked the stage for {x['keyframes_asked']} keyframes (subscriber backlogs dropped)")
        if x["udp_drops"]:
            notes.append(f"UDP receive-buffer drops: {x['udp_drops']}")
        if x.get("client_errors"):
            notes.append(f"the server told the clients so far: {x['client_errors']}")
        if notes:
            print(f"  {'':>6} " + "; ".join(notes))
    print("  (CPU in cores: CPU seconds per second of each process; other = the machine's busy CPU that is not ours)")
    js = run.join_seconds
    if js:
        print(f"  media.join to every stage track: p50 {ms(js['p50'])} ms, p99 {ms(js['p99'])} ms, max {ms(js['max'])} ms")
    for label, probe in (("idle", run.idle), ("media", run.busy)):
        if probe:
            print(f"  agenda broadcast, {label:>5}: p50 {ms(probe['p50'])} ms, p99 {ms(probe['p99'])} ms (median over"
                  f" {probe['rounds']} rounds; pooled {ms(probe['p99_pooled'])}), max {ms(probe['max'])} ms, lost {probe['lost']};"
                  f" the moderator's ack p50 {ms(probe.get('ack_p50', float('nan')))} ms")
    print_worker_stats(run.worker_stats)
    for note in run.notes:
        print(f"  note: {note}")


def print_worker_stats(stats):
    """One line per worker from its media.stats: what it holds and what crosses the cascade."""
    for name, own in stats.items():
        if "refused" in own:
            print(f"  {name} media.stats: refused ({own['refused']})")
            continue
        plenary = own.get("rooms", {}).get(ROOM, {})
        line = (f"  {name} says: {own.get('peer_connections', '?')} peer connections, "
                f"{own.get('forwarded_streams', '?')} forwarded streams, plenary present {plenary.get('present', 0)}, "
                f"publishing {plenary.get('publishing', 0)}")
        if "last_n" in plenary:
            line += f", last-N {plenary['last_n']}, speaking {plenary.get('speaking')}"
        cascade = own.get("cascade", {}).get(ROOM)
        if cascade:
            line += f"; cascade: sends {cascade.get('sent_tracks')} tracks, gets {cascade.get('receiving_from')}"
        print(line)


def print_step(config, step):
    if "windows" not in step:
        print(f"  {config.label}: N={step['viewers']}: {step['stopped']}")
        return
    x = step["windows"][len(step["windows"]) // 2]
    print(f"  {config.label}: N={step['viewers']:>4}  fps min {step['fps_min']:5.1f}  "
          + " ".join(f"{k} {v:.2f}" for k, v in worker_cpu(x).items())
          + f"  clients {client_cpu(x):.2f}  machine {x['machine']:.2f}/{os.cpu_count()}  {x['viewers_per_worker']}"
          + ("  full rate" if step["full_rate"] else "  BELOW full rate")
          + (f"  failures {step['failures']}" if step["failures"] else ""), flush=True)


def per_viewer_cost(run):
    """Worker CPU seconds per viewer-second above the stage-only window (ms)."""
    if not run.windows or not run.viewers:
        return float("nan")
    workers = statistics.median(sum(worker_cpu(x).values()) for x in run.windows)
    base = sum(worker_cpu(run.stage_only).values()) if run.stage_only else 0.0
    return (workers - base) / run.viewers * 1000


def medians(windows, pick):
    values = [pick(x) for x in windows]
    return statistics.median(values) if values else float("nan")


def summary(runs, configs, maxima):
    print("\n== Summary (medians over windows; CPU in cores = CPU seconds per second)")
    print("  configuration                          N  full rate  fps min  workers CPU    daphne  redis  machine"
          "  viewers/worker-core  ms per viewer  agenda p99 idle → media")
    by_key = {}
    for run, config in zip(runs, configs):
        by_key[(config.workers, config.spread, config.last_n, run.viewers)] = run
        names = sorted(worker_cpu(run.windows[0])) if run.windows else []
        per_worker = {k: medians(run.windows, lambda x, k=k: x["cpu"][k]) for k in names}
        total = sum(per_worker.values())
        served = run.windows[-1]["viewers_per_worker"] if run.windows else {}
        per_core = " ".join(f"{k[6:]}:{served.get(k, 0) / v:.0f}" for k, v in per_worker.items() if v > 0.05 and served.get(k))
        change = ""
        if run.idle and run.busy and run.idle["p99"] == run.idle["p99"]:
            change = f"{ms(run.idle['p99'])} → {ms(run.busy['p99'])} ms ({run.busy['p99'] / run.idle['p99'] - 1:+.0%})"
        daphne = medians(run.windows, lambda x: sum(v for k, v in x["cpu"].items() if k.startswith("daphne-")))
        redis = medians(run.windows, lambda x: x["cpu"].get("redis", 0.0))
        machine = medians(run.windows, lambda x: x["machine"])
        # Viewers per core and the cost per viewer mean something only while every viewer got
        # full rate: a saturated worker's CPU stops growing with N.
        capacity = f"{run.viewers / total:>6.0f} ({per_core})" if run.full_rate and total else "     — (not at full rate)"
        cost = f"{per_viewer_cost(run):>13.1f}" if run.full_rate else f"{'—':>13}"
        print(f"  {config.label:<36} {run.viewers:>4}  {'yes' if run.full_rate else 'no':>9}  {run.median('fps_min'):>7.1f}"
              f"  {' + '.join(f'{v:.2f}' for v in per_worker.values()):<13} {daphne:>7.2f} {redis:>6.2f} {machine:>8.2f}"
              f"  {capacity:<20} {cost}  {change}")
    # A steady stage changes nothing a viewer's slots carry: media.tracks should come only with
    # a change (a speaking turn under last-N). More than that is signalling load in every figure.
    for run, config in zip(runs, configs):
        tracks_rate = medians(run.windows, lambda x: x["messages_per_viewer"].get("media.tracks", 0.0))
        if tracks_rate > 0.5:
            print(f"  note ({config.label}, N={run.viewers}): with nothing changing, the server sent each viewer "
                  f"{tracks_rate:.1f} media.tracks a second; this run's CPU figures include that")
    print()

    # The spread's own cost, from the stage-only windows (the stage, no viewers: neither run is
    # saturated there): what the workers and Redis spend more when the plenary is spread, per
    # track and extra worker, against one ordinary subscriber's track in one worker.
    ordinary = [run for (w, _s, n, _c), run in by_key.items() if w == 1 and not n and run.full_rate]
    ordinary_track = statistics.median(
        per_viewer_cost(run) / (2 * STAGE) for run in ordinary) if ordinary else float("nan")
    for (workers, spread, last_n, n), run in sorted(by_key.items()):
        if workers < 2 or spread != "plenary" or not run.stage_only:
            continue
        single = by_key.get((1, "none", last_n, n))
        if single is None or not single.stage_only:
            continue
        # The tracks that cross, as the workers count them (media.stats); else one per track and extra worker.
        crossing = sum(sum((own.get("cascade", {}).get(ROOM, {}).get("sent_tracks") or {}).values())
                       for own in run.worker_stats.values())
        tracks = crossing or 2 * STAGE * (workers - 1)

        def load(x):
            return sum(worker_cpu(x).values()) + x["cpu"].get("redis", 0.0)

        def daphne(x):
            return sum(v for k, v in x["cpu"].items() if k.startswith("daphne-"))

        extra = load(run.stage_only) - load(single.stage_only)
        print(f"  cascade ({config_label(workers, spread, last_n)}, the stage alone, N={n} run): workers + Redis "
              f"{load(run.stage_only):.2f} vs. {load(single.stage_only):.2f} cores in one worker = "
              f"{extra * 1000 / tracks:.1f} ms per track-second for {tracks} tracks crossing; daphne "
              f"{daphne(run.stage_only):.2f} vs. {daphne(single.stage_only):.2f} cores")
        if ordinary_track == ordinary_track:
            verdict = "yes" if extra / tracks * 1000 <= ordinary_track else "no"
            print(f"    one ordinary subscriber's track in one worker (full-rate runs): {ordinary_track:.1f} ms per"
                  f" track-second; target: cascade ≤ that → {verdict}")
    # Last-N: cost per viewer against all five cameras, where both ran at full rate.
    for (workers, spread, last_n, n), run in sorted(by_key.items()):
        if not last_n:
            continue
        full = by_key.get((workers, spread, 0, n))
        if full is None:
            continue
        label = f"  last-N {last_n} ({config_label(workers, spread, 0)}, N={n})"
        if run.last_n_reply != "accepted":
            print(f"{label}: the server {run.last_n_reply}; no ratio")
        elif not (run.full_rate and full.full_rate):
            print(f"{label}: no ratio, not both at full rate (fps min {run.median('fps_min'):.1f} and {full.median('fps_min'):.1f})")
        else:
            ratio = per_viewer_cost(run) / per_viewer_cost(full)
            print(f"{label}: {per_viewer_cost(run):.1f} vs. {per_viewer_cost(full):.1f} ms per viewer"
                  f" = {ratio:.0%} of all five (target ≤ 45 %) → {'yes' if ratio <= 0.45 else 'no'}")
    for run, config in zip(runs, configs):
        if run.idle and run.busy and run.idle["p99"] == run.idle["p99"]:
            change = run.busy["p99"] / run.idle["p99"] - 1
            print(f"  agenda broadcast p99 ({config.label}, N={run.viewers}): idle {ms(run.idle['p99'])} ms, "
                  f"under media {ms(run.busy['p99'])} ms: {change:+.0%} (target ≤ +20 %) → {'yes' if change <= 0.2 else 'no'}"
                  + ("" if run.full_rate else " (media not at full rate)"))
    if maxima:
        print()
        best = {}
        for config, steps in maxima:
            passed = [s for s in steps if s.get("full_rate")]
            failed = next((s for s in steps if "windows" in s and not s["full_rate"]), None)
            top = passed[-1]["viewers"] if passed else 0
            best[(config.workers, config.spread, config.last_n)] = top
            line = f"  largest N at full rate, {config.label}: {top}"
            if failed:
                x = failed["windows"][len(failed["windows"]) // 2]
                busiest = max(worker_cpu(x).values(), default=0.0)
                line += (f"; at N={failed['viewers']}: fps min {failed['fps_min']:.1f}, workers "
                         + " + ".join(f"{v:.2f}" for v in worker_cpu(x).values())
                         + f" cores, clients {client_cpu(x):.2f}, machine {x['machine']:.2f} of {os.cpu_count()}")
                if busiest >= 0.85:
                    line += " → a worker is near one core: the worker is the limit"
                elif x["machine"] >= 0.9 * os.cpu_count():
                    line += " → the machine ran out before the workers (no worker near one core)"
            else:
                line += " (no step below full rate: --max-n or the time budget stopped the search)"
            print(line)
        for (workers, spread, last_n), top in best.items():
            if workers > 1 and (1, "none", last_n) in best and best[(1, "none", last_n)]:
                print(f"  {workers} workers ({spread}) / 1 worker: {top} / {best[(1, 'none', last_n)]} = "
                      f"{top / best[(1, 'none', last_n)]:.2f}× (target ≥ 1.8×)")
        # Where the machine, not the workers, ran out: what each worker carried per core of its own.
        for config, steps in maxima:
            passed = [s for s in steps if s.get("full_rate")]
            if not passed:
                continue
            x = passed[-1]["windows"][len(passed[-1]["windows"]) // 2]
            rates = {k: x["viewers_per_worker"].get(k, 0) / v for k, v in worker_cpu(x).items() if v > 0.05}
            carried = " + ".join(f"{x['viewers_per_worker'].get(k, 0)} on {k} at {v:.2f} cores" for k, v in worker_cpu(x).items())
            if rates:
                print(f"  {config.label}, N={passed[-1]['viewers']}: {carried} → "
                      + ", ".join(f"{k} {r:.0f} viewers per core" for k, r in rates.items())
                      + f"; if each worker may use one core: about {sum(rates.values()):.0f} viewers"
                      + f" (the machine was {x['machine']:.2f} of {os.cpu_count()} cores busy, clients {client_cpu(x):.2f})")


def config_label(workers, spread, last_n):
    return Config(workers, spread, last_n).label


# ---------------------------------------------------------------------------------------------


def plan(args):
    configs = []
    for workers in args.workers:
        spreads = args.spread if workers > 1 else ["none"]
        for spread in spreads:
            for last_n in args.last_n:
                configs.append(Config(workers, spread, last_n))
    return configs


async def run_all(args, services):
    # SIGTERM as Ctrl-C: the running task is cancelled and every `finally` stops what it started.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    configs = plan(args)
    runs, run_configs, maxima = [], [], []
    number = 0
    if args.find_max:
        for config in configs:
            number += 1
            print(f"\n== find-max: {config.label}", flush=True)
            maxima.append((config, await find_max(services, config, args, number)))
    else:
        for config in configs:
            for count in args.counts:
                number += 1
                run = await measure(services, config, count, args, number)
                print_run(run, config)
                print_recording(run)
                runs.append(run)
                run_configs.append(config)
    summary(runs, run_configs, maxima)
    return runs, run_configs, maxima


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], choices=[1, 2, 3, 4],
                        help="media workers (PLENUM_MEDIA_WORKERS); several values run one after another")
    parser.add_argument("--spread", nargs="+", default=["plenary"], choices=["plenary", "none"],
                        help="PLENUM_MEDIA_SPREAD for runs with several workers: plenary = its viewers over all "
                             "workers (the default), none = every room in one worker")
    parser.add_argument("--last-n", type=int, nargs="+", default=[0, 2],
                        help="the moderator's media.last_n (0 = all five cameras); several values run in turn")
    parser.add_argument("--counts", type=int, nargs="+", default=[6, 12], help="viewers per run")
    parser.add_argument("--window", type=float, default=4.0, help="seconds per measured window")
    parser.add_argument("--windows", type=int, default=3, help="windows per run (figures are their medians)")
    parser.add_argument("--probes", type=int, default=10, help="agenda broadcasts measured idle and under media (0: none)")
    parser.add_argument("--round-seconds", type=float, default=5.0, help="after this a viewer's agenda frame counts as lost")
    parser.add_argument("--find-max", action="store_true", help="raise N until a viewer gets under 29 fps")
    parser.add_argument("--start", type=int, default=5, help="find-max: first N")
    parser.add_argument("--growth", type=float, default=1.3, help="find-max: N grows by this factor per step (at least 5)")
    parser.add_argument("--max-n", type=int, default=400, help="find-max: largest N tried")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="find-max: time budget per configuration")
    parser.add_argument("--daphnes", type=int, default=2, help="daphne processes (viewers alternate between them)")
    parser.add_argument("--client-processes", type=int, default=2, help="viewer processes (at most one per 20 viewers)")
    parser.add_argument("--at-once", type=int, default=10, help="viewers connecting or joining at the same time, per process")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds between joining and measuring")
    parser.add_argument("--connect-seconds", type=float, default=30.0)
    parser.add_argument("--join-seconds", type=float, default=30.0)
    parser.add_argument("--turn-seconds", type=float, default=20.0,
                        help="the speakers take turns of this length (their audio levels say who talks); 0: all talk at once")
    parser.add_argument("--loop-seconds", type=float, default=3.0, help="seconds of pre-encoded media each publisher loops")
    parser.add_argument("--quiet-wait", type=float, default=30.0,
                        help="before each run, wait up to this many seconds for the machine to be quiet")
    parser.add_argument("--quiet-cores", type=float, default=0.3, help="quiet: others use fewer cores than this")
    parser.add_argument("--record", action="store_true",
                        help="also measure recording the stage: pairs of windows without and with recording")
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument("--keep", action="store_true", help="keep each run's var dir (daphne and worker logs)")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.counts) or args.start < 1:
        parser.error("N must be at least 1")

    files = raise_open_file_limit()  # the servers inherit it
    largest = args.max_n if args.find_max else max(args.counts)
    print(f"Stage benchmark: {os.cpu_count()} CPUs, open files {files}, plan: "
          + "; ".join(c.label for c in plan(args))
          + (f"; find-max from {args.start} to {args.max_n}" if args.find_max else f"; N = {args.counts}"), flush=True)

    def stop_on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)
    var_dir = Path(tempfile.mkdtemp(prefix="bench-stage-services-"))
    services = Services(largest, var_dir)
    try:
        services.start()
        runs, configs, maxima = asyncio.run(run_all(args, services))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\ninterrupted: the servers are stopped", file=sys.stderr)
        raise SystemExit(130)
    finally:
        signal.signal(signal.SIGTERM, stop_on_term)  # asyncio.run put the default back
        services.stop()
        shutil.rmtree(var_dir, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "machine": {"cpus": os.cpu_count()},
            "runs": [asdict(run) for run in runs],
            "find_max": [{"config": asdict(config), "steps": steps} for config, steps in maxima],
        }, indent=2, default=str))


if __name__ == "__main__":
    main()
