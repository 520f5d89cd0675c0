"""WebSocket commands of the Stehtisch lounge: walking up to a table and leaving it."""

from rooms.lounge import tables
from venue.protocol import Field, command, run


@command("table.join", fields=(Field("table", int),))
async def table_join(session, table):
    joined = await run(tables.join, session.person, table)
    return {"table": joined.pk}


@command("table.leave")
async def table_leave(session):
    await run(tables.leave, session.person)
    return {}
