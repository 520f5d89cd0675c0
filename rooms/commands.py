"""WebSocket commands of the plenary: hands, stage, questions, chat, reactions, polls, announcements.

Each handler only names its fields and hands over to a domain function (rooms.stage, rooms.qa,
rooms.chat, rooms.polls, rooms.reactions); the domain checks permission and state.
"""

import asyncio
import logging

from channels.db import database_sync_to_async

from rooms import chat, forums, lounge, polls, qa, reactions, stage
from rooms.models import BoardSection, ReactionKind, StageMode
from rooms.permissions import find
from venue import protocol
from venue.models import AGENDA_ROLES, MODERATION_ROLES, Person, Role
from venue.protocol import Field, command

logger = logging.getLogger(__name__)


def run(function, *args, **kwargs):
    return database_sync_to_async(function)(*args, **kwargs)


@command("ping")
async def ping(session):
    """Lets a client (and the benchmark) measure a round trip; answers with an ack."""
    return {}


# --- Hands and stage ---------------------------------------------------------------------

@command("hand.raise")
async def hand_raise(session):
    await run(stage.raise_hand, session.person, getattr(session, "place", None))
    return {"hand": True}


@command("hand.lower")
async def hand_lower(session):
    await run(stage.lower_hand, session.person)
    return {"hand": False}


@command("hand.dismiss", fields=(Field("person", int),))
async def hand_dismiss(session, person):
    target = await run(find, Person, session.conference_id, person, message="There is no such person here.")
    await run(stage.lower_hand, target, by=session.person)
    return {}


# Putting people on the stage and taking them off is `media.stage` / `media.unstage`
# (rooms/media/commands.py): the seat is stored by rooms.stage and the SFU follows at once.


@command("stage.show", roles=AGENDA_ROLES, fields=(
    Field("mode", choices=(StageMode.ITEM, StageMode.ANNOUNCEMENT)),
    Field("text", required=False, max_length=500),
))
async def stage_show(session, mode, text=""):
    await run(stage.show_on_stage, session.conference_id, mode, by=session.person, text=text)
    return {}


@command("countdown.start", roles=AGENDA_ROLES, fields=(
    Field("minutes", int), Field("label", required=False, max_length=120),
))
async def countdown_start(session, minutes, label=""):
    await run(stage.start_countdown, session.conference_id, minutes, label, by=session.person)
    return {}


@command("countdown.stop", roles=AGENDA_ROLES)
async def countdown_stop(session):
    await run(stage.stop_countdown, session.conference_id, by=session.person)
    return {}


@command("announce", roles=MODERATION_ROLES, fields=(
    Field("text", max_length=500), Field("room", int, required=False),
))
async def announce(session, text, room=None):
    await run(stage.announce, session.conference_id, text, by=session.person, room_id=room)
    return {}


# --- Questions ---------------------------------------------------------------------------

@command("question.ask", fields=(
    Field("text", max_length=qa.MAX_QUESTION_LENGTH), Field("anonymous", bool, required=False),
))
async def question_ask(session, text, anonymous=False):
    question = await run(qa.ask, session.person, text, anonymous=anonymous)
    return {"question": question.pk, "state": question.state}


@command("question.vote", fields=(Field("question", int),))
async def question_vote(session, question):
    voted = await run(qa.vote, session.person, question)
    return {"question": voted.pk, "votes": voted.votes}


def _moderation(action):
    async def handler(session, question):
        changed = await run(qa.moderate, session.conference_id, question, action, by=session.person)
        return {"question": changed.pk, "state": changed.state}

    return handler


for _action in qa.MODERATION:
    command(f"question.{_action}", roles=MODERATION_ROLES, fields=(Field("question", int),))(_moderation(_action))


@command("question.merge", roles=MODERATION_ROLES, fields=(Field("question", int), Field("into", int)))
async def question_merge(session, question, into):
    keeper = await run(qa.merge, session.conference_id, question, into, by=session.person)
    return {"question": keeper.pk, "votes": keeper.votes}


# --- Chat --------------------------------------------------------------------------------

@command("chat.send", fields=(Field("text", max_length=chat.MAX_LENGTH),))
async def chat_send(session, text):
    # The socket's place is known to the server; the client cannot name another room.
    message = await run(chat.send, session.person, text, getattr(session, "place", None))
    return {"message": message.pk}


@command("chat.delete", roles=MODERATION_ROLES, fields=(Field("message", int),))
async def chat_delete(session, message):
    await run(chat.delete, session.conference_id, message, by=session.person)
    return {}


@command("chat.mute", roles=MODERATION_ROLES, fields=(Field("person", int), Field("minutes", int)))
async def chat_mute(session, person, minutes):
    muted = await run(chat.mute, session.conference_id, person, minutes, by=session.person)
    return {"until": muted.until.isoformat()}


# --- Reactions ---------------------------------------------------------------------------

@command("reaction", fields=(Field("kind", choices=tuple(ReactionKind.values)),))
async def reaction(session, kind):
    stored = reactions.aggregator.add(session.person, kind)

    async def ack_once_stored(message_id):
        # Within half a second; meanwhile the socket goes on with its next message.
        try:
            await stored
        except Exception:
            text = protocol.error("not_counted", "Your reaction could not be counted; please try again.", message_id)
        else:
            text = protocol.ack(message_id)
        try:
            await session.send(text)
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
async def poll_open(session, question, options, multiple=False):
    poll = await run(polls.open_poll, session.conference_id, question, options.splitlines(),
                     multiple=multiple, by=session.person)
    return {"poll": poll.pk}


@command("poll.vote", fields=(Field("poll", int), Field("option", list)))
async def poll_vote(session, poll, option):
    voted = await run(polls.vote, session.person, poll, option)
    return {"poll": voted.pk, "options": option}


@command("poll.close", roles=AGENDA_ROLES, fields=(Field("poll", int),))
async def poll_close(session, poll):
    await run(polls.close, session.conference_id, poll, by=session.person)
    return {}


@command("poll.reveal", roles=AGENDA_ROLES, fields=(Field("poll", int),))
async def poll_reveal(session, poll):
    await run(polls.reveal, session.conference_id, poll, by=session.person)
    return {}


# --- Forums ------------------------------------------------------------------------------

@command("forum.choose", roles=(Role.PARTICIPANT, Role.SPEAKER), fields=(Field("forum", list),))
async def forum_choose(session, forum):
    """`forum` is one forum id or a ranked list of up to three."""
    joined = await run(forums.choose, session.person, forum)
    return {"forums": forum, "joined": joined.pk if joined else None}


@command("forum.switch", fields=(Field("forum", int),))
async def forum_switch(session, forum):
    room = await run(forums.switch, session.person, forum)
    return {"forum": room.pk}


@command("forum.move", roles=AGENDA_ROLES, fields=(Field("person", int), Field("forum", int)))
async def forum_move(session, person, forum):
    room = await run(forums.move, session.conference_id, person, forum, by=session.person)
    return {"forum": room.pk}


@command("forum.assign_rest", roles=AGENDA_ROLES)
async def forum_assign_rest(session):
    return await run(forums.assign_rest, session.conference_id, by=session.person)


@command("forum.switching", roles=AGENDA_ROLES, fields=(Field("allowed", bool),))
async def forum_switching(session, allowed):
    await run(forums.set_switching, session.conference_id, allowed, by=session.person)
    return {"allowed": allowed}


@command("forum.extend", roles=AGENDA_ROLES, fields=(Field("minutes", int),))
async def forum_extend(session, minutes):
    ends_at = await run(forums.extend, session.conference_id, minutes, by=session.person)
    return {"ends_at": ends_at.isoformat()}


@command("forum.tell", roles=MODERATION_ROLES, fields=(Field("text", max_length=500),))
async def forum_tell(session, text):
    sent = await run(forums.tell_forums, session.conference_id, text, by=session.person)
    return {"forums": len(sent)}


@command("board.add", fields=(
    Field("forum", int), Field("section", choices=tuple(BoardSection.values)), Field("text", max_length=forums.MAX_ENTRY_LENGTH),
))
async def board_add(session, forum, section, text):
    entry = await run(forums.add_entry, session.person, forum, section, text)
    return {"entry": entry.pk, "version": entry.version}


@command("board.edit", fields=(Field("entry", int), Field("version", int), Field("text", max_length=forums.MAX_ENTRY_LENGTH)))
async def board_edit(session, entry, version, text):
    changed = await run(forums.edit_entry, session.person, entry, text, version)
    return {"entry": changed.pk, "version": changed.version}


@command("board.remove", fields=(Field("entry", int), Field("version", int)))
async def board_remove(session, entry, version):
    await run(forums.remove_entry, session.person, entry, version)
    return {"entry": entry}


@command("board.move", fields=(Field("entry", int), Field("direction", choices=("up", "down"))))
async def board_move(session, entry, direction):
    await run(forums.move_entry, session.person, entry, direction)
    return {"entry": entry}


@command("board.comment", fields=(Field("entry", int), Field("text", max_length=forums.MAX_COMMENT_LENGTH)))
async def board_comment(session, entry, text):
    made = await run(forums.comment, session.person, entry, text)
    return {"comment": made.pk}


@command("board.plus_one", fields=(Field("entry", int),))
async def board_plus_one(session, entry):
    await run(forums.plus_one, session.person, entry)
    return {"entry": entry}


@command("board.writer", fields=(Field("forum", int), Field("person", int)))
async def board_writer(session, forum, person):
    writer = await run(forums.name_writer, session.person, forum, person)
    return {"person": writer.pk}


@command("results.present", roles=AGENDA_ROLES, fields=(Field("forum", int),))
async def results_present(session, forum):
    result = await run(forums.present, session.conference_id, forum, by=session.person)
    await _media_follows(session, result)
    return {"result": result.pk, "forum": forum}


async def _media_follows(session, result):
    # The presenting facilitator may publish on the stage at once; the one before may no longer.
    from rooms.media import commands as media

    await media.follow_stage(session, result.unseated + result.seated)


@command("results.step", roles=AGENDA_ROLES, fields=(Field("direction", choices=("next", "previous")),))
async def results_step(session, direction):
    result = await run(forums.step, session.conference_id, direction, by=session.person)
    await _media_follows(session, result)
    return {"result": result.pk, "forum": result.room_id}


# --- Standing tables ---------------------------------------------------------------------

@command("table.join", fields=(Field("table", int),))
async def table_join(session, table):
    joined = await run(lounge.join, session.person, table)
    return {"table": joined.pk}


@command("table.leave")
async def table_leave(session):
    await run(lounge.leave, session.person)
    return {}
