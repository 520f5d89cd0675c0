"""WebSocket commands that run the agenda; each hands over to agenda.actions."""

from channels.db import database_sync_to_async

from agenda import actions, signals
from agenda.models import AgendaItem, QuestionMode
from venue.models import AGENDA_ROLES, MODERATION_ROLES
from venue.protocol import Field, command


@command("agenda.start", roles=AGENDA_ROLES, fields=(Field("item", int),))
async def start(session, item):
    started = await database_sync_to_async(actions.start)(session.conference_id, item, by=session.person)
    await _media_follows(session, started)
    return {"item": started.pk}


@command("agenda.next", roles=AGENDA_ROLES)
async def advance(session):
    started = await database_sync_to_async(actions.advance)(session.conference_id, by=session.person)
    await _media_follows(session, started)
    return {"item": started.pk}


async def _media_follows(session, started):
    # What must follow on this socket's process (whoever left the stage stops publishing there).
    await signals.item_started_by.asend(sender=AgendaItem, session=session, item=started)


@command("agenda.end", roles=AGENDA_ROLES)
async def end(session):
    ended = await database_sync_to_async(actions.end)(session.conference_id, by=session.person)
    return {"item": ended.pk}


@command("agenda.questions", roles=MODERATION_ROLES, fields=(Field("mode", choices=tuple(QuestionMode.values)),))
async def questions(session, mode):
    item = await database_sync_to_async(actions.set_question_mode)(session.conference_id, mode, by=session.person)
    return {"item": item.pk, "mode": item.question_mode}
