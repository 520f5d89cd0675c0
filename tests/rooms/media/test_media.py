"""Live audio and video with real aiortc peers on real venue sockets: publish, subscribe, refuse.

Each `MediaPeer` (tests/support/media.py) is a participant as the SFU sees a browser: the venue
socket, a publish connection with synthetic tracks and a subscribe connection that answers the
SFU's offers and decodes what arrives (the client decodes; the server never does).
"""

import asyncio
import json

from channels.db import database_sync_to_async

from agenda import actions
from agenda.models import Phase
from rooms.media import forwarding, sfu
from tests.support.clients import someone
from tests.support.media import FORUM, OTHER_FORUM, MediaPeer, close_all, seat, start, wait_until
from venue.models import Role


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

    # Let the streams run well past their first keyframes (a second of pictures): a late
    # joiner gets a picture only if the SFU asks the publishers for a new one (a forwarded PLI);
    # without it, no frame could be decoded at all until the next keyframe, which aiortc's
    # encoder sends only when asked.
    for viewer, other in ((alice_peer, bob), (bob_peer, alice)):
        await viewer.wait_for_frames(other, "video", count=40)
    carol = participants[2]
    carol_peer = await MediaPeer.connect(carol)
    joined_at = asyncio.get_running_loop().time()
    await carol_peer.join(FORUM)
    await carol_peer.wait_for_frames(alice, "video", count=1, timeout=5)
    await carol_peer.wait_for_frames(bob, "video", count=1, timeout=5)
    assert carol_peer.first_frame_at[(alice.pk, "video")] - joined_at < 5
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

    def is_roster(frame):
        return frame.startswith("{") and json.loads(frame).get("type") == "media.peers"

    for peer in audience:
        # Told once, on joining: the speaker is the only tile.
        assert [[p["person"] for p in roster] for roster in rosters(peer)] == [[speaker.pk]]
    await audience[2].command("media.leave")
    late = await MediaPeer.connect(participants[3])
    await late.join("plenum")
    assert [[p["person"] for p in roster] for roster in rosters(late)] == [[speaker.pk]]
    await late.wait_for_frames(speaker, "video", count=3)
    for peer in audience:
        await peer.assert_at_most(1, is_roster, what="rosters: nobody is sent the audience's comings and goings")
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
    # Sound already on its way still arrives: count from when ten more pictures have come.
    await alice_peer.wait_for_frames(speaker, "video", count=alice_peer.frames_from(speaker, "video") + 10)
    heard = alice_peer.frames_from(speaker, "audio")
    # The camera goes on (twenty more pictures, two thirds of a second) while the microphone is silent.
    await alice_peer.wait_for_frames(speaker, "video", count=alice_peer.frames_from(speaker, "video") + 20)
    assert alice_peer.frames_from(speaker, "audio") == heard, "a muted microphone is not forwarded"

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
    await seat(alice, OTHER_FORUM)
    assert (await alice_peer.join(OTHER_FORUM))["room"] == OTHER_FORUM
    await wait_until(lambda: sfu.open_peer_connections() == 2, what="alice's old connections closed")
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
