"""WebSocket commands for live audio and video: signalling for the SFU in rooms.media.sfu.

Each handler checks what the socket may do (rooms.media.policy) and hands over to the SFU;
the messages and their error codes are documented in docs/media.md. Where the handlers run
depends on PLENUM_MEDIA: in the daphne process that holds the socket ("inprocess"), or in the
media worker ("worker"), to which the daphne process only relays the validated message.
"""

import functools

from channels.db import database_sync_to_async
from django.conf import settings

from rooms.media import policy, sfu, worker
from rooms.models import StageSeat
from venue import groups
from venue.errors import Refused
from venue.models import AGENDA_ROLES, CONSOLE_ROLES, Person
from venue.protocol import EVERYONE, Field, command, on_connect, on_control, on_disconnect, on_move

# Command name -> the handler that does the work; the media worker calls these directly.
LOCAL = {}


def media_command(name, *, roles=EVERYONE, fields=()):
    """Declare a media command: run here in-process, or relayed to the media worker."""

    def register(handler):
        LOCAL[name] = handler

        @functools.wraps(handler)
        async def entry(socket, **cleaned):
            if relaying():
                return worker.relay(socket, name, cleaned)
            return await handler(socket, **cleaned)

        command(name, roles=roles, fields=fields, rate="media")(entry)
        return handler

    return register


def relaying():
    return settings.PLENUM_MEDIA == "worker"


# One chunk of a socket description: whole SDP lines, the client splits larger ones.
SDP_CHUNK = 6500
SDP_FIELDS = (Field("sdp", max_length=SDP_CHUNK), Field("more", bool, required=False))


@media_command("media.join", fields=(Field("room", max_length=50),))
async def join(socket, room):
    place = await database_sync_to_async(policy.admit)(socket.person, room)
    return await sfu.get().join(socket, socket.person, place)


@media_command("media.leave")
async def leave(socket):
    return {"left": await sfu.get().leave(socket)}


@media_command("media.publish", fields=SDP_FIELDS)
async def publish(socket, sdp, more=False):
    return await sfu.get().publish(socket, sdp, more)


@media_command("media.unpublish")
async def unpublish(socket):
    await sfu.get().unpublish(socket)
    return {}


@media_command("media.answer", fields=SDP_FIELDS)
async def answer(socket, sdp, more=False):
    return await sfu.get().answer(socket, sdp, more)


@media_command(
    "media.candidate",
    fields=(
        Field("target", choices=("publish", "subscribe")),
        # An empty candidate means "no more candidates", as in the browser's event.
        Field("candidate", required=False, max_length=400),
        Field("mid", required=False, max_length=32),
    ),
)
async def candidate(socket, target, candidate="", mid=""):
    await sfu.get().candidate(socket, target, candidate, mid)
    return {}


@media_command("media.state", fields=(Field("audio", bool), Field("video", bool), Field("screen", bool)))
async def state(socket, audio, video, screen):
    await sfu.get().set_state(socket, audio, video, screen)
    return {}


async def someone(socket, person_id):
    exists = await Person.objects.filter(pk=person_id, conference_id=socket.conference_id).aexists()
    if not exists:
        raise Refused("not_found", "There is no such person in this conference.")
    return person_id


@media_command("media.resync_stage", roles=AGENDA_ROLES, fields=(Field("person", int),))
async def resync_stage(socket, person):
    """The stage changed outside media (a forum's facilitator presenting): the SFU follows the
    stored seat, so the person may publish in the plenary at once, or stops doing so."""
    target = await someone(socket, person)
    seated = await StageSeat.objects.filter(conference_id=socket.conference_id, person_id=target).aexists()
    if seated:
        await sfu.get().put_on_stage(socket.conference_id, target)
    else:
        await sfu.get().take_off_stage(socket.conference_id, target)
    return {}


async def follow_stage(socket, person_ids):
    """Called by other commands after they changed stage seats; no reply goes to the client."""
    for person_id in person_ids:
        if relaying():
            await worker.tell_worker(socket, "media.resync_stage", {"person": person_id})
        else:
            await resync_stage(socket, person_id)


@media_command("media.mute", roles=CONSOLE_ROLES, fields=(Field("person", int),))
async def mute(socket, person):
    target = await someone(socket, person)
    return {"sessions": await sfu.get().mute(socket.conference_id, target)}






@media_command("media.stats", roles=CONSOLE_ROLES, fields=(
    Field("room", required=False, max_length=50), Field("worker", int, required=False),
))
async def stats(socket, room="", worker=None):
    """What the SFU holds, for operators and tests: this process's, or in worker mode the
    worker's numbered `worker`, or the one that holds `room` (without either, the worker of the
    asker's own media, or the first)."""
    return sfu.get().stats()


@on_disconnect
async def free_media(socket):
    # Closing the tab frees the server's peer connections at once.
    if relaying():
        await worker.hang_up(socket, closed=True)
        return
    await sfu.get().leave(socket)


@on_move
async def follow_place(socket, old, new):
    # The agenda moved this socket (into a forum, back to the plenary): the old room's media
    # ends on the server at once; the page then joins the new room's.
    if old == new:
        return
    if relaying():
        await worker.hang_up(socket, closed=False)
        return
    await sfu.get().leave(socket)


@on_connect
async def hear_of_workers(socket):
    # In worker mode every socket hears when a media worker (re)starts.
    if relaying():
        await socket.hub.enter(socket, groups.media_news())


@on_control(worker.STARTED)
async def worker_started(socket, payload):
    await worker.started_again(socket, payload.get("index"))
