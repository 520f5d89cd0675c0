"""Who is speaking, and the moderator's "video for the last N speakers" (rooms.media.sfu).

aiortc peers publish on the plenary's stage through the SFU; a microphone that plays a tone is
speaking (its packets carry RFC 6464 audio levels, read without decoding), one that sends
silence is not.
"""

import asyncio
import math
from array import array

from aiortc import AudioStreamTrack, RTCPeerConnection, RTCSessionDescription
from channels.db import database_sync_to_async

from agenda.models import Phase
from rooms.models import StageDisplay
from tests.support.clients import someone
from tests.support.media import LOCAL_ONLY, MediaPeer, MovingPicture, close_all, start
from tests.support.waiting import wait_until
from venue.models import Role

PLENARY = "plenum"


class Tone(AudioStreamTrack):
    """A microphone in front of someone talking loudly: a 440 Hz tone."""

    async def recv(self):
        frame = await super().recv()
        offset = frame.pts
        samples = array("h", (int(16000 * math.sin(2 * math.pi * 440 * (offset + i) / frame.sample_rate))
                              for i in range(frame.samples)))
        frame.planes[0].update(samples.tobytes())
        return frame


async def publish(peer, audio_track):
    pc = peer.publisher = RTCPeerConnection(LOCAL_ONLY)
    pc.addTransceiver(audio_track, direction="sendonly")
    pc.addTransceiver(MovingPicture(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    reply = await peer.send_sdp("media.publish", pc.localDescription.sdp)
    assert reply["type"] == "ack", reply
    await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
    await peer.command("media.state", audio=True, video=True, screen=False)


def tracks_now(peer):
    """The server's latest word on what this peer's slots carry (an offer or a track map)."""
    latest = [m for m in peer.messages if m.get("type") in ("media.offer", "media.tracks")]
    return latest[-1]["tracks"] if latest else []


def cameras(peer):
    """Whose cameras the server sends this peer now."""
    return {entry["person"] for entry in tracks_now(peer) if entry["source"] == "video"}


async def test_the_audience_sees_the_cameras_of_the_last_speakers_and_everyone_sees_who_speaks(
    conference, moderator, participants, layer
):
    await start(conference, moderator, Phase.PLENARY)
    quiet_one, loud_one = await database_sync_to_async(lambda: (someone(conference, Role.SPEAKER, 0), someone(conference, Role.SPEAKER, 1)))()
    quiet, loud = await MediaPeer.connect(quiet_one), await MediaPeer.connect(loud_one)
    viewer, console = await MediaPeer.connect(participants[0]), await MediaPeer.connect(moderator)
    for peer in (quiet, loud, viewer, console):
        assert (await peer.join(PLENARY))["type"] == "ack"

    # Off by default: the audience gets both cameras.
    await publish(quiet, AudioStreamTrack())
    await viewer.wait_for_frames(quiet_one, "video", count=5)
    tone = Tone()
    await publish(loud, tone)
    await viewer.wait_for_frames(loud_one, "video", count=5)

    # The loud one speaks: every page in the plenary is told, by person, within a moment.
    await wait_until(
        lambda: any(m.get("type") == "media.speaking" and m["person"] == loud_one.pk and m["speaking"]
                    for m in viewer.messages),
        timeout=3, what="the viewer told that the loud speaker speaks",
    )
    assert not any(m.get("type") == "media.speaking" and m["person"] == quiet_one.pk for m in viewer.messages)
    # Someone who comes in now is told at once who speaks (not only of the next change).
    latecomer = await MediaPeer.connect(participants[1])
    assert (await latecomer.join(PLENARY))["type"] == "ack"
    assert [m["person"] for m in latecomer.messages if m.get("type") == "media.speaking" and m["speaking"]] == [loud_one.pk]
    await latecomer.close()

    # Only the moderation sets last N, from 0 to the stage's six seats.
    assert (await viewer.command("media.last_n", n=1))["code"] == "forbidden"
    assert (await console.command("media.last_n", n=7))["code"] == "invalid_field"
    reply = await console.command("media.last_n", n=1)
    assert reply["type"] == "ack" and reply["n"] == 1
    assert (await StageDisplay.objects.aget(conference=conference)).media_last_n == 1

    # The audience now gets the camera of the last speaker only, and every microphone.
    await wait_until(lambda: cameras(viewer) == {loud_one.pk}, what="only the loud speaker's camera")
    assert {e["person"] for e in tracks_now(viewer) if e["source"] == "audio"} == {quiet_one.pk, loud_one.pk}
    sent_before = viewer.frames_from(quiet_one, "video")
    await viewer.wait_for_frames(loud_one, "video", count=viewer.frames_from(loud_one, "video") + 10)
    assert viewer.frames_from(quiet_one, "video") <= sent_before + 2
    # Those on the stage see each other whatever N is.
    assert cameras(quiet) == {loud_one.pk} and cameras(loud) == {quiet_one.pk}
    # The quiet one's microphone sends silence: the audience is spared it (its slot stays),
    # while the loud one's goes on; those on the stage still get it.
    await asyncio.sleep(0.3)  # frames that left before last N took effect
    spared, heard = viewer.frames_from(quiet_one, "audio"), loud.frames_from(quiet_one, "audio")
    await viewer.wait_for_frames(loud_one, "audio", count=viewer.frames_from(loud_one, "audio") + 50)
    assert viewer.frames_from(quiet_one, "audio") <= spared + 3
    assert loud.frames_from(quiet_one, "audio") >= heard + 20

    # The loud one falls silent and the quiet one starts: the camera follows the new speaker.
    tone.stop()
    microphone = next(t.sender for t in quiet.publisher.getTransceivers() if t.kind == "audio")
    microphone.replaceTrack(Tone())
    await wait_until(lambda: cameras(viewer) == {quiet_one.pk}, timeout=5, what="the camera follows the speaker")

    # Back to everyone's camera.
    assert (await console.command("media.last_n", n=0))["type"] == "ack"
    await wait_until(lambda: cameras(viewer) == {quiet_one.pk, loud_one.pk}, what="both cameras again")
    await close_all(quiet, loud, viewer, console)
