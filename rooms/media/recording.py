"""Recording the stage without re-encoding: each publisher's encoded VP8 and Opus frames, as the
SFU forwards them, muxed into one WebM file per publisher and item (PyAV's muxer, no codec).

A `Recorder` is one more output of a publisher's forwarders (rooms.media.forwarding): it gets
the same complete encoded frames a viewer's slot gets, and writes them as packets. Video starts
at the first keyframe (the forwarder asks the publisher for one when the recorder attaches); each
stream's timestamps count from its first frame, placed by its arrival on the recorder's clock,
so audio and video line up in the file, and the file's start is stored as an offset from the
item's recording start so that a player can line up the files of several speakers.
"""

import fractions
import logging
import struct
import time
import uuid

import av
from django.conf import settings

from rooms.models import RecordingFile

logger = logging.getLogger(__name__)

RECORDINGS = "recordings"
# A stream's timestamps may move on by at most this many seconds between two frames; a larger
# jump, or one backwards, is a discontinuity that the file bridges with one frame's step.
MAX_GAP = 10
FRAME_STEP = {"video": 90000 // 30, "audio": 960}
VIDEO_CLOCK = 90000
AUDIO_CLOCK = 48000
# What Opus in WebM needs in CodecPrivate (RFC 7845 section 5.1): version 1, two channels,
# 312 samples of pre-skip (what browsers use), 48 kHz, no gain, mapping family 0.
OPUS_HEAD = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 312, AUDIO_CLOCK, 0, 0)


def vp8_size(data):
    """Width and height from a VP8 keyframe's header (RFC 6386 section 9.1), or None."""
    if len(data) < 10 or data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":
        return None
    width, height = struct.unpack("<HH", data[6:10])
    return width & 0x3FFF, height & 0x3FFF


class RecorderOutput:
    """What a forwarder pushes to: one kind (audio or video) of one Recorder."""

    spare_silence = False

    def __init__(self, recorder, kind):
        self.recorder = recorder
        self.kind = kind

    def push(self, data, timestamp, clock_rate, keyframe):
        self.recorder.write(self.kind, data, timestamp, keyframe)


class Recorder:
    """One publisher's WebM file for one item: created on the first frame worth writing."""

    def __init__(self, path, recording_id=None, recording_started=None):
        self.path = path
        self.recording_id = recording_id
        self.started = time.monotonic()  # the recorder's clock: when it was attached
        # Seconds after the item's recording began at which this recorder was attached.
        self.attached_after = self.started - recording_started if recording_started is not None else 0.0
        self.container = None
        self.streams = {}
        self.first = {}  # kind -> (first RTP timestamp, pts offset of that first frame)
        self.last_pts = {}
        self.frames = {"audio": 0, "video": 0}
        self.first_frame_at = None  # seconds after `started` at which the file begins
        self.video_size = None
        self.pending_audio = []  # audio before the first keyframe: the file starts with a picture
        self.closed = False
        self.outputs = {"audio": RecorderOutput(self, "audio"), "video": RecorderOutput(self, "video")}

    def write(self, kind, data, timestamp, keyframe):
        if self.closed:
            return
        now = time.monotonic()
        if kind == "video" and self.container is None:
            size = vp8_size(data) if keyframe else None
            if size is None:
                return
            self._open(size, now)
        if self.container is None:
            if kind == "audio":
                # Kept briefly: at most a second of audio before the first picture.
                self.pending_audio.append((data, timestamp, now))
                del self.pending_audio[:-50]
            return
        try:
            self._mux(kind, data, timestamp, now)
        except (av.FFmpegError, ValueError) as error:
            logger.warning("recording %s: a %s frame could not be written: %s", self.path, kind, error)

    def _open(self, size, now):
        self.video_size = size
        self.container = av.open(str(self.path), "w", format="webm")
        video = self.container.add_stream("libvpx", rate=30)
        video.width, video.height = size
        video.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        audio = self.container.add_stream("libopus", rate=AUDIO_CLOCK)
        audio.codec_context.extradata = OPUS_HEAD
        audio.time_base = fractions.Fraction(1, AUDIO_CLOCK)
        self.streams = {"video": video, "audio": audio}
        self.container.start_encoding()
        # The file begins with its first picture; audio that came just before it is dropped.
        self.first_frame_at = now - self.started
        self.origin = now
        self.pending_audio = []

    def _mux(self, kind, data, timestamp, now):
        stream = self.streams[kind]
        clock = VIDEO_CLOCK if kind == "video" else AUDIO_CLOCK
        if kind not in self.first:
            self.first[kind] = (timestamp, round((now - self.origin) * clock))
        first_timestamp, offset = self.first[kind]
        pts = offset + ((timestamp - first_timestamp) & 0xFFFFFFFF)
        last = self.last_pts.get(kind)
        if last is not None and not last < pts <= last + MAX_GAP * clock:
            # The publisher's clock jumped (it restarted its track, or a wrap): the file goes on
            # one frame later, keeping every frame and the file's timeline in order.
            pts = last + FRAME_STEP[kind]
            self.first[kind] = (timestamp, pts)
        self.last_pts[kind] = pts
        packet = av.Packet(data)
        packet.stream = stream
        packet.pts = packet.dts = pts
        # In the stream's RTP clock; the muxer rescales to WebM's milliseconds.
        packet.time_base = fractions.Fraction(1, clock)
        self.container.mux(packet)
        self.frames[kind] += 1

    def close(self):
        """Ends the file; returns (seconds after the item's recording began at which it begins,
        its duration in seconds), or None when no picture ever came (no file is written then)."""
        if self.closed:
            return None
        self.closed = True
        if self.container is None:
            return None
        ends = {kind: self.last_pts[kind] / (VIDEO_CLOCK if kind == "video" else AUDIO_CLOCK) for kind in self.last_pts}
        self.container.close()
        return self.attached_after + self.first_frame_at, max(ends.values(), default=0.0)


def path_for(recording_id, person_id):
    """Where a publisher's file of a recording goes (MEDIA_ROOT/recordings/, made if missing)."""
    folder = settings.MEDIA_ROOT / RECORDINGS
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{int(recording_id)}-{int(person_id)}-{uuid.uuid4().hex[:8]}.webm"


def store(recorder, person_id, name, offset, duration):
    """The finished file, for the organizers to choose from. Reads and writes the database."""
    return RecordingFile.objects.create(
        recording_id=recorder.recording_id, person_id=person_id, name=name[:80],
        file=f"{RECORDINGS}/{recorder.path.name}", offset_seconds=round(offset, 3),
        duration_seconds=round(duration, 3), size=recorder.path.stat().st_size,
    )
