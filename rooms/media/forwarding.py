"""Forwarding encoded media: the seam in aiortc where frames are taken before the decoder.

aiortc's RTCRtpReceiver reassembles RTP packets into complete encoded frames in its jitter
buffer and hands each one to a decoder thread through a queue (`__decoder_queue`). We put a
tap in place of that queue: every complete encoded frame goes to the `Forwarder` of that
published track instead of the decoder. Each subscriber's RTCRtpSender reads a
`ForwardedTrack` whose `recv()` returns `av.Packet`s; RTCRtpSender packs a Packet into RTP
payloads without encoding (`Encoder.pack`), so a viewer costs packetising and encryption,
not a VP8 encoder. Nothing in this module decodes or encodes a frame.

Keyframe requests (PLI/FIR) from a subscriber reach its sender's `_send_keyframe`; we point
that at the forwarder, which sends a PLI to the publisher (rate-limited), so a late joiner
gets a picture as soon as the publisher's next keyframe arrives.

A microphone's loudness is read from the RTP header extension that browsers send with every
audio packet (RFC 6464, ssrc-audio-level: the level in -dBov, 0 loudest, 127 silence), at the
receiver's packet handler, without decoding anything: that is how the stage knows who speaks.

This depends on three private details of aiortc 1.16 (pinned in pyproject.toml): the
receiver's `_RTCRtpReceiver__decoder_queue` and `_handle_rtp_packet`, and the sender's
`_send_keyframe` method. `check_aiortc_seams()` asserts them, and the tests call it.
"""

import asyncio
import fractions
import logging
import threading
import time

import av
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.mediastreams import MediaStreamTrack

logger = logging.getLogger(__name__)

# A publisher is asked for a keyframe at most this often, however many subscribers ask.
KEYFRAME_INTERVAL_SECONDS = 0.4
# Frames a subscriber may fall behind before we drop its backlog (and, for video, wait for
# the next keyframe): a slow viewer must not hold memory or delay the others.
MAX_BACKLOG = {"video": 30, "audio": 25}
# A microphone frame at least this quiet (RFC 6464: -dBov) is silence: what a muted page or a
# silent room sends. Outputs that spare silence do not get it.
SILENT_LEVEL = 80
# Levels kept per microphone until its frame leaves the jitter buffer (a few frames later).
MAX_LEVELS_KEPT = 64
# RTP timestamp units of one frame when a slot switches source: keeps the outgoing timeline
# continuous for the browser's jitter buffer.
FRAME_STEP = {"video": 90000 // 30, "audio": 960}

_TAP_ATTRIBUTE = "_RTCRtpReceiver__decoder_queue"
_THREAD_ATTRIBUTE = "_RTCRtpReceiver__decoder_thread"


def check_aiortc_seams():
    """Fail loudly at start-up (and in tests) if aiortc changed under us."""
    if not callable(getattr(RTCRtpSender, "_send_keyframe", None)):
        raise RuntimeError("aiortc's RTCRtpSender has no _send_keyframe; forwarding needs it")
    probe = RTCRtpReceiver.__init__.__code__.co_names
    if "_RTCRtpReceiver__decoder_queue" not in probe:
        raise RuntimeError("aiortc's RTCRtpReceiver has no decoder queue to tap")
    if not callable(getattr(RTCRtpReceiver, "_handle_rtp_packet", None)):
        raise RuntimeError("aiortc's RTCRtpReceiver has no _handle_rtp_packet to read audio levels at")


def is_vp8_keyframe(data):
    # RFC 6386 section 9.1: bit 0 of the first byte of the frame tag is 0 for a key frame.
    return bool(data) and not (data[0] & 0x01)


class EncodedFrameTap:
    """Stands in for the receiver's decoder queue; complete encoded frames go to `on_frame`.

    aiortc still starts its decoder thread, which blocks in `get()` until the receiver stops
    (then `put(None)` wakes it, it ends the remote track and exits). It never decodes.
    """

    def __init__(self, on_frame):
        self._on_frame = on_frame
        self._stopped = threading.Event()

    def put(self, item):
        # Called on the event loop by RTCRtpReceiver._handle_rtp_packet, and with None on stop.
        if item is None:
            self._stopped.set()
            return
        codec, encoded_frame = item
        self._on_frame(codec, encoded_frame)

    def get(self):
        self._stopped.wait()
        return None


def tap_receiver(receiver, on_frame):
    """Route a receiver's encoded frames to `on_frame`; call before the receiver starts."""
    if getattr(receiver, _THREAD_ATTRIBUTE, None) is not None:
        raise RuntimeError("the receiver has started decoding already; tap it on the track event")
    setattr(receiver, _TAP_ATTRIBUTE, EncodedFrameTap(on_frame))


def tap_audio_levels(receiver, on_level):
    """Call `on_level(level, timestamp)` with each audio packet's RFC 6464 level (0 loudest,
    127 silence) and RTP timestamp."""
    handle = receiver._handle_rtp_packet

    async def read_level_first(packet, arrival_time_ms):
        level = packet.extensions.audio_level
        if level is not None:
            on_level(level[1], packet.timestamp)
        await handle(packet, arrival_time_ms)

    receiver._handle_rtp_packet = read_level_first


class Forwarder:
    """One published track (a microphone, a camera, a screen) and the outputs it feeds.

    `owner` is the publishing MediaSession, or, for a track that came over the cascade from
    another worker, that worker's stand-in for the publisher (rooms.media.cascade); it can change
    when the other worker reuses the relay's slot for another publisher.
    """

    def __init__(self, receiver, kind, source, owner, levels=False):
        self.receiver = receiver
        self.kind = kind
        self.source = source  # "audio", "video", "screen"; an interpreter's: "interpretation", "sign"
        self.language = None  # an interpreter's track: the language they interpret into
        self.owner = owner
        self.outputs = set()
        self.paused = False  # the moderator muted this microphone
        self.frames = 0
        # The loudest level (RFC 6464: lowest number) since the last look, for who is speaking,
        # and each recent packet's level by RTP timestamp (an audio frame is one packet).
        self.loudest = 127
        self._levels = {}
        self._first_timestamp = None
        self._last_keyframe_request = 0.0
        self._deferred_request = None
        tap_receiver(receiver, self._on_frame)
        if levels and kind == "audio":
            tap_audio_levels(receiver, self._on_level)

    def _on_level(self, level, timestamp):
        if not self.paused and level < self.loudest:
            self.loudest = level
        # aiortc hands frames on with their RTP timestamps counted from the first one's (its
        # TimestampMapper); the packets' levels are kept under the same count. Should the first
        # frame not be the first packet, a lookup misses and the frame simply goes out.
        if self._first_timestamp is None:
            self._first_timestamp = timestamp
        self._levels[(timestamp - self._first_timestamp) & 0xFFFFFFFF] = level
        if len(self._levels) > MAX_LEVELS_KEPT:
            del self._levels[next(iter(self._levels))]

    def take_loudest(self):
        loudest, self.loudest = self.loudest, 127
        return loudest

    def _on_frame(self, codec, encoded_frame):
        self.frames += 1
        level = self._levels.pop(encoded_frame.timestamp & 0xFFFFFFFF, None) if self._levels else None
        if self.paused or not self.outputs:
            return
        keyframe = self.kind == "audio" or is_vp8_keyframe(encoded_frame.data)
        # Silence need not travel to those who asked to be spared it (server-side DTX: the
        # browser's decoder fills the gap, as it does for a sender's own DTX).
        silent = level is not None and level >= SILENT_LEVEL
        for output in tuple(self.outputs):
            if silent and output.spare_silence:
                continue
            output.push(encoded_frame.data, encoded_frame.timestamp, codec.clockRate, keyframe)

    def attach(self, output):
        self.outputs.add(output)
        if self.kind == "video":
            self.request_keyframe()

    def detach(self, output):
        self.outputs.discard(output)

    def request_keyframe(self):
        """Ask the publisher for a keyframe soon; many requests in a short time become one."""
        if self.kind != "video":
            return
        now = time.monotonic()
        wait = self._last_keyframe_request + KEYFRAME_INTERVAL_SECONDS - now
        if wait <= 0:
            self._last_keyframe_request = now
            asyncio.ensure_future(self._send_pli())
        elif self._deferred_request is None:
            # One request stays pending so that a subscriber asking inside the window is served.
            self._deferred_request = asyncio.get_running_loop().call_later(wait, self._deferred)

    def _deferred(self):
        self._deferred_request = None
        self.request_keyframe()

    async def _send_pli(self):
        for source in self.receiver.getSynchronizationSources():
            await self.receiver._send_rtcp_pli(source.source)

    def close(self):
        if self._deferred_request is not None:
            self._deferred_request.cancel()
            self._deferred_request = None
        for output in tuple(self.outputs):
            output.switch(None)
        self.outputs.clear()


class ForwardedTrack(MediaStreamTrack):
    """What one subscriber's sender reads: another person's encoded frames, as av.Packet.

    A track is bound to one sender for the life of the subscriber's connection and can be
    switched from one forwarder to another, so a slot is reused without renegotiation.
    """

    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.forwarder = None
        self.queue = asyncio.Queue()
        self.sent = 0
        self.dropped = 0
        self.spare_silence = False  # see Forwarder._on_frame
        self._waiting_for_keyframe = kind == "video"
        self._offset = None
        self._last_out = None

    def bind(self, sender):
        # The sender calls _send_keyframe when the subscriber sends PLI or FIR; with nothing
        # to encode, the request belongs to the publisher.
        sender._send_keyframe = self.keyframe_requested

    def keyframe_requested(self):
        if self.forwarder is not None:
            self._waiting_for_keyframe = self.kind == "video"
            self.forwarder.request_keyframe()

    def switch(self, forwarder):
        if self.forwarder is forwarder:
            return
        if self.forwarder is not None:
            self.forwarder.detach(self)
        self.forwarder = forwarder
        self._offset = None
        self._waiting_for_keyframe = self.kind == "video"
        self._drain()
        if forwarder is not None:
            forwarder.attach(self)

    def push(self, data, timestamp, clock_rate, keyframe):
        if self.readyState != "live":
            return
        if self._waiting_for_keyframe:
            if not keyframe:
                self.dropped += 1
                return
            self._waiting_for_keyframe = False
        if self.queue.qsize() >= MAX_BACKLOG[self.kind]:
            # The sender is not keeping up: drop the backlog rather than deliver it late.
            self.dropped += self._drain()
            if self.kind == "video" and not keyframe:
                self._waiting_for_keyframe = True
                self.dropped += 1
                if self.forwarder is not None:
                    self.forwarder.request_keyframe()
                return
        if self._offset is None:
            start = 0 if self._last_out is None else self._last_out + FRAME_STEP[self.kind]
            self._offset = start - timestamp
        out = timestamp + self._offset
        self._last_out = out
        packet = av.Packet(data)
        packet.pts = out
        packet.time_base = _time_base(clock_rate)
        self.queue.put_nowait(packet)

    def _drain(self):
        dropped = 0
        while not self.queue.empty():
            self.queue.get_nowait()
            dropped += 1
        return dropped

    async def recv(self):
        packet = await self.queue.get()
        self.sent += 1
        return packet

    def stop(self):
        if self.forwarder is not None:
            self.forwarder.detach(self)
            self.forwarder = None
        super().stop()


_time_bases = {}


def _time_base(clock_rate):
    base = _time_bases.get(clock_rate)
    if base is None:
        base = _time_bases[clock_rate] = fractions.Fraction(1, clock_rate)
    return base
