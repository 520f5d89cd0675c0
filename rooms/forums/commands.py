"""WebSocket commands of the forums: choosing and seating, the results board, presenting results."""

from rooms.forums import board, results, seating
from rooms.forums import capacity as capacity_module
from rooms.media.commands import follow_stage
from rooms.models import BoardSection
from venue.models import AGENDA_ROLES, MODERATION_ROLES, Role
from venue.protocol import Field, command, run


@command("forum.choose", roles=(Role.PARTICIPANT, Role.SPEAKER), fields=(Field("forum", list),))
async def forum_choose(socket, forum):
    """`forum` is one forum id or a ranked list of up to three."""
    joined = await run(seating.choose, socket.person, forum)
    return {"forums": forum, "joined": joined.pk if joined else None}


@command("forum.switch", fields=(Field("forum", int),))
async def forum_switch(socket, forum):
    room = await run(seating.switch, socket.person, forum)
    return {"forum": room.pk}


@command("forum.move", roles=AGENDA_ROLES, fields=(Field("person", int), Field("forum", int)))
async def forum_move(socket, person, forum):
    room = await run(seating.move, socket.conference_id, person, forum, by=socket.person)
    return {"forum": room.pk}


@command("forum.assign_rest", roles=AGENDA_ROLES)
async def forum_assign_rest(socket):
    return await run(seating.assign_rest, socket.conference_id, by=socket.person)


@command("forum.capacity", roles=AGENDA_ROLES, fields=(Field("forum", int), Field("capacity", int)))
async def forum_capacity(socket, forum, capacity):
    room = await run(capacity_module.set_capacity, socket.conference_id, forum, capacity, by=socket.person)
    return {"forum": room.pk, "capacity": room.capacity}


@command("forum.open_overflow", roles=AGENDA_ROLES, fields=(
    Field("facilitator", int), Field("capacity", int), Field("name", required=False, max_length=capacity_module.MAX_NAME_LENGTH),
))
async def forum_open_overflow(socket, facilitator, capacity, name=""):
    room = await run(capacity_module.open_overflow, socket.conference_id, facilitator, capacity, name or "", by=socket.person)
    return {"forum": room.pk, "name": room.name}


@command("forum.switching", roles=AGENDA_ROLES, fields=(Field("allowed", bool),))
async def forum_switching(socket, allowed):
    await run(seating.set_switching, socket.conference_id, allowed, by=socket.person)
    return {"allowed": allowed}


@command("forum.extend", roles=AGENDA_ROLES, fields=(Field("minutes", int),))
async def forum_extend(socket, minutes):
    ends_at = await run(seating.extend, socket.conference_id, minutes, by=socket.person)
    return {"ends_at": ends_at.isoformat()}


@command("forum.tell", roles=MODERATION_ROLES, fields=(Field("text", max_length=500),))
async def forum_tell(socket, text):
    sent = await run(seating.tell_forums, socket.conference_id, text, by=socket.person)
    return {"forums": len(sent)}


@command("board.add", fields=(
    Field("forum", int), Field("section", choices=tuple(BoardSection.values)), Field("text", max_length=board.MAX_ENTRY_LENGTH),
))
async def board_add(socket, forum, section, text):
    entry = await run(board.add_entry, socket.person, forum, section, text)
    return {"entry": entry.pk, "version": entry.version}


@command("board.edit", fields=(Field("entry", int), Field("version", int), Field("text", max_length=board.MAX_ENTRY_LENGTH)))
async def board_edit(socket, entry, version, text):
    changed = await run(board.edit_entry, socket.person, entry, text, version)
    return {"entry": changed.pk, "version": changed.version}


@command("board.remove", fields=(Field("entry", int), Field("version", int)))
async def board_remove(socket, entry, version):
    await run(board.remove_entry, socket.person, entry, version)
    return {"entry": entry}


@command("board.move", fields=(Field("entry", int), Field("direction", choices=("up", "down"))))
async def board_move(socket, entry, direction):
    await run(board.move_entry, socket.person, entry, direction)
    return {"entry": entry}


@command("board.comment", fields=(Field("entry", int), Field("text", max_length=board.MAX_COMMENT_LENGTH)))
async def board_comment(socket, entry, text):
    made = await run(board.comment, socket.person, entry, text)
    return {"comment": made.pk}


@command("board.plus_one", fields=(Field("entry", int),), rate="vote")
async def board_plus_one(socket, entry):
    await run(board.plus_one, socket.person, entry)
    return {"entry": entry}


@command("board.writer", fields=(Field("forum", int), Field("person", int)))
async def board_writer(socket, forum, person):
    writer = await run(board.name_writer, socket.person, forum, person)
    return {"person": writer.pk}


@command("results.present", roles=AGENDA_ROLES, fields=(Field("forum", int),))
async def results_present(socket, forum):
    result = await run(results.present, socket.conference_id, forum, by=socket.person)
    await _media_follows(socket, result)
    return {"result": result.pk, "forum": forum}


async def _media_follows(socket, result):
    # The presenting facilitator may publish on the stage at once; the one before may no longer.
    await follow_stage(socket, result.unseated + result.seated)


@command("results.step", roles=AGENDA_ROLES, fields=(Field("direction", choices=("next", "previous")),))
async def results_step(socket, direction):
    result = await run(results.step, socket.conference_id, direction, by=socket.person)
    await _media_follows(socket, result)
    return {"result": result.pk, "forum": result.room_id}
