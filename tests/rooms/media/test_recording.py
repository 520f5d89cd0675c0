"""Recording the stage: a speaker's camera and microphone, written as they were sent (no
re-encoding) into a WebM that plays; the moderator's commands and their refusals."""

import asyncio

import av
import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient
from django.utils import timezone

from agenda.models import AgendaItem, Phase
from rooms.models import ItemRecording, RecordingFile
from tests.support.clients import connect, someone
from tests.support.media import MediaPeer, close_all, start
from venue.models import Person, Role

PLENARY = "plenum"
SECONDS = 20


@pytest.mark.timeout(120)
async def test_a_20_second_recording_of_a_speaker_opens_as_webm_with_about_600_frames(
    conference, moderator, participants, layer, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    await start(conference, moderator, Phase.PLENARY)
    speaker_person = await someone_async(conference, Role.SPEAKER)
    speaker = await MediaPeer.connect(speaker_person)
    viewer = await MediaPeer.connect(participants[0])
    console = await connect(moderator)
    assert (await speaker.join(PLENARY))["may_publish"] is True
    assert (await speaker.publish())["type"] == "ack"
    await viewer.join(PLENARY)
    await viewer.wait_for_frames(speaker_person, "video", count=10, timeout=20)

    # Only the moderation records, and nothing runs yet.
    assert (await viewer.command("recording.start"))["code"] == "forbidden"
    assert (await console.command("recording.stop"))["code"] == "not_recording"
    clock = asyncio.get_running_loop().time
    asked_to_start = clock()
    reply = await console.command("recording.start")
    assert reply["type"] == "ack", reply
    started = clock()
    assert (await console.command("recording.start"))["code"] == "already_recording"
    # Everyone in the plenary sees the mark while it runs.
    await wait_for_frame(viewer, "recording-mark")
    await asyncio.sleep(SECONDS)
    asked_to_stop = clock()
    assert (await console.command("recording.stop"))["type"] == "ack"
    # The recording ran at least from the start's acknowledgement until the stop was asked for,
    # and at most from asking for the start until the stop's acknowledgement: about SECONDS
    # (longer on a box so busy that the stop waited; once, 15 s longer).
    shortest, longest = asked_to_stop - started, clock() - asked_to_start

    recorded = await RecordingFile.objects.select_related("recording").aget()
    assert recorded.person_id == speaker_person.pk and recorded.recording.stopped_at is not None
    assert 0 <= recorded.offset_seconds < 2
    assert shortest - 1.5 <= recorded.duration_seconds <= longest + 1.5, (recorded.duration_seconds, shortest, longest)
    with av.open(str(tmp_path / recorded.file.name)) as container:
        kinds = {stream.type: stream.codec_context.name for stream in container.streams}
        assert kinds == {"video": "vp8", "audio": "opus"}
        assert shortest - 1.5 <= container.duration / 1_000_000 <= longest + 1.5
        pictures = sum(1 for frame in container.decode(video=0))
    # 30 frames a second from the fake camera, every one of them decodable.
    assert 0.9 * shortest * 30 <= pictures <= longest * 30 + 30, (pictures, shortest, longest)
    with av.open(str(tmp_path / recorded.file.name)) as container:
        sound = sum(frame.samples for frame in container.decode(audio=0)) / 48000
    assert shortest - 2 <= sound <= longest + 1.5, (sound, shortest, longest)

    # The organizer sees the file, puts it on the documentation page; once that is published,
    # anyone can play and download it there. Before, nobody but the organizers can.
    organizer = await Person.objects.aget(conference=conference, role=Role.ORGANIZER)
    browser, stranger = AsyncClient(), AsyncClient()
    await browser.get(f"/p/{organizer.token}/")
    page = (await browser.get("/organizer/")).content.decode()
    assert f"/recordings/{recorded.pk}.webm" in page
    assert (await stranger.get(f"/recordings/{recorded.pk}.webm")).status_code == 404
    assert (await browser.post(f"/organizer/recordings/{recorded.pk}/", {"documented": "1"})).status_code == 302
    conference.documentation_published_at = timezone.now()
    await conference.asave(update_fields=["documentation_published_at"])
    documentation = (await stranger.get(f"/documentation/{conference.slug}/")).content.decode()
    assert f'<video controls preload="metadata" src="/recordings/{recorded.pk}.webm">' in documentation
    response = await stranger.get(f"/recordings/{recorded.pk}.webm?download=1")
    assert response.status_code == 200 and response["Content-Type"] == "video/webm"
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content)[:4] == b"\x1a\x45\xdf\xa3"  # EBML

    # Ending the item ends its recording: the SFU closes the file at once.
    assert (await console.command("recording.start"))["type"] == "ack"
    await asyncio.sleep(1.5)
    assert (await console.command("agenda.end"))["type"] == "ack"
    assert await RecordingFile.objects.acount() == 2
    assert not await ItemRecording.objects.filter(stopped_at=None).aexists()
    assert (await console.command("agenda.next"))["type"] == "ack"

    # A break is no plenary: nothing to record there (nor in forums or at tables).
    while (await AgendaItem.objects.aget(state="live")).phase != Phase.BREAK:
        assert (await console.command("agenda.next"))["type"] == "ack"
    assert (await console.command("recording.start"))["code"] == "not_plenary"
    assert await ItemRecording.objects.acount() == 2
    await console.close()
    await close_all(speaker, viewer)


async def someone_async(conference, role):
    return await database_sync_to_async(someone)(conference, role)


async def wait_for_frame(peer, needle, timeout=5):
    deadline = asyncio.get_running_loop().time() + timeout
    while not any(needle in frame for frame in peer.frames):
        assert asyncio.get_running_loop().time() < deadline, f"no frame with {needle!r}"
        await asyncio.sleep(0.05)
