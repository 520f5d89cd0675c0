"""WebSocket commands that run the agenda; each hands over to agenda.actions."""

from channels.db import database_sync_to_async

from agenda import actions, signals
from agenda.models import AgendaItem, QuestionMode
from venue.models import AGENDA_ROLES, MODERATION_ROLES
from venue.protocol import Field, command


@command("agenda.start", roles=AGENDA_ROLES, fields=(Field("item", int),))
async def start(socket, item):
    started = await database_sync_to_async(actions.start)(socket.conference_id, item, by=socket.person)
    await _media_follows(socket, started)
    return {"item": started.pk}


@command("agenda.next", roles=AGENDA_ROLES)
async def advance(socket):
    started = await database_sync_to_async(actions.advance)(socket.conference_id, by=socket.person)
    await _media_follows(socket, started)
    return {"item": started.pk}


async def _media_follows(socket, started):
    # What must follow on this socket's process (whoever left the stage stops publishing there).
    await signals.item_started_by.asend(sender=AgendaItem, socket=socket, item=started)


@command("agenda.end", roles=AGENDA_ROLES)
async def end(socket):
    ended = await database_sync_to_async(actions.end)(socket.conference_id, by=socket.person)
    await signals.item_ended_by.asend(sender=AgendaItem, socket=socket, item=ended)
    return {"item": ended.pk}


@command("agenda.questions", roles=MODERATION_ROLES, fields=(Field("mode", choices=tuple(QuestionMode.values)),))
async def questions(socket, mode):
    item = await database_sync_to_async(actions.set_question_mode)(socket.conference_id, mode, by=socket.person)
    return {"item": item.pk, "mode": item.question_mode}
