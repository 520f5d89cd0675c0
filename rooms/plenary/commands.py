"""WebSocket commands of the plenary: the stage, announcements, questions, reactions and polls.

Each handler only names its fields and hands over to a domain function (rooms.plenary.stage,
.qa, .polls, .reactions); the domain checks permission and state.
"""

import asyncio
import logging

from rooms.media import sfu
from rooms.media import policy, worker
from rooms.media.commands import follow_stage, media_command, relaying, someone
from rooms.models import ReactionKind, StageMode
from rooms.models.captions import MAX_LINE_LENGTH
from rooms.models.interpretation import SPOKEN_LANGUAGES
from rooms.plenary import captions, interpretation, polls, qa, reactions, recording, stage
from venue import groups, protocol
from venue.errors import Refused
from venue.models import AGENDA_ROLES, MODERATION_ROLES, Role
from venue.protocol import Field, command, run

logger = logging.getLogger(__name__)


# --- The stage ---------------------------------------------------------------------------


@command("stage.show", roles=AGENDA_ROLES, fields=(
    Field("mode", choices=(StageMode.ITEM, StageMode.ANNOUNCEMENT)),
    Field("text", required=False, max_length=500),
))
async def stage_show(socket, mode, text=""):
    await run(stage.show_on_stage, socket.conference_id, mode, by=socket.person, text=text)
    return {}


@command("countdown.start", roles=AGENDA_ROLES, fields=(
    Field("minutes", int), Field("label", required=False, max_length=120),
))
async def countdown_start(socket, minutes, label=""):
    await run(stage.start_countdown, socket.conference_id, minutes, label, by=socket.person)
    return {}


@command("countdown.stop", roles=AGENDA_ROLES)
async def countdown_stop(socket):
    await run(stage.stop_countdown, socket.conference_id, by=socket.person)
    return {}


@command("announce", roles=MODERATION_ROLES, fields=(
    Field("text", max_length=500), Field("room", int, required=False),
))
async def announce(socket, text, room=None):
    await run(stage.announce, socket.conference_id, text, by=socket.person, room_id=room)
    return {}


# --- Questions ---------------------------------------------------------------------------

@command("question.ask", fields=(
    Field("text", max_length=qa.MAX_QUESTION_LENGTH), Field("anonymous", bool, required=False),
))
async def question_ask(socket, text, anonymous=False):
    question = await run(qa.ask, socket.person, text, anonymous=anonymous)
    return {"question": question.pk, "state": question.state}


@command("question.vote", fields=(Field("question", int),), rate="vote")
async def question_vote(socket, question):
    voted = await run(qa.vote, socket.person, question)
    return {"question": voted.pk, "votes": voted.votes}


def _moderation(action):
    async def handler(socket, question):
        changed = await run(qa.moderate, socket.conference_id, question, action, by=socket.person)
        return {"question": changed.pk, "state": changed.state}

    return handler


for _action in qa.MODERATION:
    command(f"question.{_action}", roles=MODERATION_ROLES, fields=(Field("question", int),))(_moderation(_action))


@command("question.merge", roles=MODERATION_ROLES, fields=(Field("question", int), Field("into", int)))
async def question_merge(socket, question, into):
    keeper = await run(qa.merge, socket.conference_id, question, into, by=socket.person)
    return {"question": keeper.pk, "votes": keeper.votes}


# --- Reactions ---------------------------------------------------------------------------

@command("reaction", fields=(Field("kind", choices=tuple(ReactionKind.values)),))
async def reaction(socket, kind):
    stored = reactions.aggregator.add(socket.person, kind)

    async def ack_once_stored(message_id):
        # Within half a second; meanwhile the socket goes on with its next message.
        try:
            await stored
        except Exception:
            text = protocol.error("not_counted", "Your reaction could not be counted; please try again.", message_id)
        else:
            text = protocol.ack(message_id)
        try:
            await socket.send(text)
        except Exception:
            # The socket closed in the meantime; the reaction is counted all the same.
            logger.info("a reaction's ack found its socket closed", exc_info=True)

    async def forward(message_id):
        task = asyncio.ensure_future(ack_once_stored(message_id))
        _pending_acks.add(task)
        task.add_done_callback(_pending_acks.discard)

    return protocol.ReplyElsewhere(forward)


# The reaction acks still waiting for their half second (a reference keeps each task alive).
_pending_acks = set()


# --- Polls -------------------------------------------------------------------------------

@command("poll.open", roles=AGENDA_ROLES, fields=(
    Field("question", max_length=300),
    Field("options", max_length=1200),
    Field("multiple", bool, required=False),
))
async def poll_open(socket, question, options, multiple=False):
    poll = await run(polls.open_poll, socket.conference_id, question, options.splitlines(),
                     multiple=multiple, by=socket.person)
    return {"poll": poll.pk}


@command("poll.vote", fields=(Field("poll", int), Field("option", list)), rate="vote")
async def poll_vote(socket, poll, option):
    voted = await run(polls.vote, socket.person, poll, option)
    return {"poll": voted.pk, "options": option}


@command("poll.close", roles=AGENDA_ROLES, fields=(Field("poll", int),))
async def poll_close(socket, poll):
    await run(polls.close, socket.conference_id, poll, by=socket.person)
    return {}


@command("poll.reveal", roles=AGENDA_ROLES, fields=(Field("poll", int),))
async def poll_reveal(socket, poll):
    await run(polls.reveal, socket.conference_id, poll, by=socket.person)
    return {}


# --- Live captions ----------------------------------------------------------------------

@command("caption.line", roles=(Role.CAPTIONER,), fields=(Field("text", max_length=MAX_LINE_LENGTH),))
async def caption_line(socket, text):
    line = await run(captions.add_line, socket.person, text)
    return {"seq": line.pk}


@command("captions.follow", fields=(Field("on", bool),))
async def captions_follow(socket, on):
    """Switch this page's captions on or off; on, it gets the live item's last lines at once."""
    group = groups.captions(socket.conference_id)
    if not on:
        await socket.hub.leave(socket, group)
        return {"captions": False}
    # Enter first, then read: a line stored in between comes twice (the page drops it by its
    # number), never not at all.
    await socket.hub.enter(socket, group)
    return {"captions": True, "lines": await run(captions.recent, socket.conference_id)}


@media_command("media.stage", roles=AGENDA_ROLES, fields=(Field("person", int),))
async def media_stage(socket, person):
    """Give someone a stage seat (persisted by rooms.plenary.stage) and tell them they may publish."""
    target = await someone(socket, person)
    try:
        await run(stage.invite_to_stage, socket.conference_id, target, by=socket.person)
    except Refused as refused:
        # A speaker whom we took off has no seat to restore; the seat exists otherwise.
        if refused.code != "already_on_stage":
            raise
    await sfu.get().put_on_stage(socket.conference_id, target)
    return {}


@media_command("media.unstage", roles=AGENDA_ROLES, fields=(Field("person", int),))
async def media_unstage(socket, person):
    """Take someone off the stage: their seat goes, their plenary camera and microphone stop."""
    target = await someone(socket, person)
    try:
        await run(stage.remove_from_stage, socket.conference_id, target, by=socket.person)
    except Refused as refused:
        # Speakers are on stage by their role, without a seat: that is what we take away here.
        if refused.code != "not_on_stage":
            raise
    await sfu.get().take_off_stage(socket.conference_id, target)
    return {}


@media_command("media.last_n", roles=AGENDA_ROLES, fields=(Field("n", int),))
async def media_last_n(socket, n):
    """The audience sees the cameras of the last `n` speakers only (0: everyone on the stage);
    stored, then every worker that holds the plenary follows."""
    await run(stage.set_media_last_n, socket.conference_id, n, by=socket.person)
    await sfu.get().set_last_n(socket.conference_id, n)
    return {"n": n}


# --- Interpretation channels ------------------------------------------------------------

@media_command("interpretation.on_air", roles=(Role.INTERPRETER,), fields=(Field("on", bool),))
async def interpretation_on_air(socket, on):
    """An interpreter takes their language's channel (the other interpreter of it is off at
    once), or gives it back to the floor; stored, then every worker's listeners follow."""
    language, on_air = await run(interpretation.go_on_air, socket.person, on)
    await sfu.get().set_on_air(socket.conference_id, language, on_air)
    return {"language": language, "on_air": on_air == socket.person.pk}


@media_command("interpretation.follow", roles=AGENDA_ROLES)
async def interpretation_follow(socket):
    """The SFU follows the stored channels (sent by the server itself when an item starts)."""
    stored = await run(policy.on_air, socket.conference_id)
    known = sfu.get().on_air.get(socket.conference_id, {})
    for language in sorted(set(stored) | set(known)):
        if stored.get(language) != known.get(language):
            await sfu.get().set_on_air(socket.conference_id, language, stored.get(language))
    return {}


async def follow_interpretation(socket):
    if relaying():
        await worker.tell_worker(socket, "interpretation.follow", {})
    else:
        await interpretation_follow(socket)


@media_command("media.language", fields=(
    Field("language", required=False, max_length=8, choices=("",) + tuple(SPOKEN_LANGUAGES)),
    Field("sign", bool, required=False),
))
async def media_language(socket, language="", sign=False):
    """What this page hears besides the floor (a language's interpreter) and whether it sees
    the sign-language interpreter."""
    return await sfu.get().choose_language(socket, language, sign)


# --- Recording ---------------------------------------------------------------------------

@command("recording.start", roles=AGENDA_ROLES)
async def recording_start(socket):
    """Record the live plenary item: stored (everyone sees the mark), then the SFU records."""
    started = await run(recording.start, socket.conference_id, by=socket.person)
    await follow_recording(socket)
    return {"recording": started.pk}


@command("recording.stop", roles=AGENDA_ROLES)
async def recording_stop(socket):
    await run(recording.stop, socket.conference_id, by=socket.person)
    await follow_recording(socket)
    return {}


@media_command("recording.follow", roles=AGENDA_ROLES)
async def recording_follow(socket):
    """The SFU follows the stored recording state (in worker mode: the plenary's worker, which
    tells the others)."""
    running = await run(recording.running, socket.conference_id)
    if running is not None:
        await sfu.get().start_recording(socket.conference_id, running.pk)
    else:
        await sfu.get().stop_recording(socket.conference_id)
    return {"recording": running.pk if running else None}


async def follow_recording(socket):
    if relaying():
        await worker.tell_worker(socket, "recording.follow", {})
    else:
        await recording_follow(socket)


async def on_item_ended_by(sender, socket, item, **kwargs):
    """The item's recording ended with it (rooms.plenary.recording): the SFU closes the files."""
    await follow_recording(socket)


async def on_item_started_by(sender, socket, item, **kwargs):
    """Whoever was on the stage for the last item may no longer publish there; the last item's
    recording has ended."""
    await follow_stage(socket, getattr(item, "unseated", ()))
    await follow_recording(socket)
    await follow_interpretation(socket)
