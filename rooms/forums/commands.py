"""WebSocket commands of the forums: choosing and seating, the results board, presenting results."""

from rooms.forums import board, results, seating
from rooms.media.commands import follow_stage
from rooms.models import BoardSection
from venue.models import AGENDA_ROLES, MODERATION_ROLES, Role
from venue.protocol import Field, command, run


@command("forum.choose", roles=(Role.PARTICIPANT, Role.SPEAKER), fields=(Field("forum", list),))
async def forum_choose(session, forum):
    """`forum` is one forum id or a ranked list of up to three."""
    joined = await run(seating.choose, session.person, forum)
    return {"forums": forum, "joined": joined.pk if joined else None}


@command("forum.switch", fields=(Field("forum", int),))
async def forum_switch(session, forum):
    room = await run(seating.switch, session.person, forum)
    return {"forum": room.pk}


@command("forum.move", roles=AGENDA_ROLES, fields=(Field("person", int), Field("forum", int)))
async def forum_move(session, person, forum):
    room = await run(seating.move, session.conference_id, person, forum, by=session.person)
    return {"forum": room.pk}


@command("forum.assign_rest", roles=AGENDA_ROLES)
async def forum_assign_rest(session):
    return await run(seating.assign_rest, session.conference_id, by=session.person)


@command("forum.switching", roles=AGENDA_ROLES, fields=(Field("allowed", bool),))
async def forum_switching(session, allowed):
    await run(seating.set_switching, session.conference_id, allowed, by=session.person)
    return {"allowed": allowed}


@command("forum.extend", roles=AGENDA_ROLES, fields=(Field("minutes", int),))
async def forum_extend(session, minutes):
    ends_at = await run(seating.extend, session.conference_id, minutes, by=session.person)
    return {"ends_at": ends_at.isoformat()}


@command("forum.tell", roles=MODERATION_ROLES, fields=(Field("text", max_length=500),))
async def forum_tell(session, text):
    sent = await run(seating.tell_forums, session.conference_id, text, by=session.person)
    return {"forums": len(sent)}


@command("board.add", fields=(
    Field("forum", int), Field("section", choices=tuple(BoardSection.values)), Field("text", max_length=board.MAX_ENTRY_LENGTH),
))
async def board_add(session, forum, section, text):
    entry = await run(board.add_entry, session.person, forum, section, text)
    return {"entry": entry.pk, "version": entry.version}


@command("board.edit", fields=(Field("entry", int), Field("version", int), Field("text", max_length=board.MAX_ENTRY_LENGTH)))
async def board_edit(session, entry, version, text):
    changed = await run(board.edit_entry, session.person, entry, text, version)
    return {"entry": changed.pk, "version": changed.version}


@command("board.remove", fields=(Field("entry", int), Field("version", int)))
async def board_remove(session, entry, version):
    await run(board.remove_entry, session.person, entry, version)
    return {"entry": entry}


@command("board.move", fields=(Field("entry", int), Field("direction", choices=("up", "down"))))
async def board_move(session, entry, direction):
    await run(board.move_entry, session.person, entry, direction)
    return {"entry": entry}


@command("board.comment", fields=(Field("entry", int), Field("text", max_length=board.MAX_COMMENT_LENGTH)))
async def board_comment(session, entry, text):
    made = await run(board.comment, session.person, entry, text)
    return {"comment": made.pk}


@command("board.plus_one", fields=(Field("entry", int),))
async def board_plus_one(session, entry):
    await run(board.plus_one, session.person, entry)
    return {"entry": entry}


@command("board.writer", fields=(Field("forum", int), Field("person", int)))
async def board_writer(session, forum, person):
    writer = await run(board.name_writer, session.person, forum, person)
    return {"person": writer.pk}


@command("results.present", roles=AGENDA_ROLES, fields=(Field("forum", int),))
async def results_present(session, forum):
    result = await run(results.present, session.conference_id, forum, by=session.person)
    await _media_follows(session, result)
    return {"result": result.pk, "forum": forum}


async def _media_follows(session, result):
    # The presenting facilitator may publish on the stage at once; the one before may no longer.
    await follow_stage(session, result.unseated + result.seated)


@command("results.step", roles=AGENDA_ROLES, fields=(Field("direction", choices=("next", "previous")),))
async def results_step(session, direction):
    result = await run(results.step, session.conference_id, direction, by=session.person)
    await _media_follows(session, result)
    return {"result": result.pk, "forum": result.room_id}
