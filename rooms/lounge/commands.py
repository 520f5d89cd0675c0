"""WebSocket commands of the Stehtisch lounge: walking up to a table and leaving it."""

from rooms.lounge import tables
from venue.protocol import Field, command, run


@command("table.join", fields=(Field("table", int),))
async def table_join(socket, table):
    joined = await run(tables.join, socket.person, table)
    return {"table": joined.pk}


@command("table.leave")
async def table_leave(socket):
    await run(tables.leave, socket.person)
    return {}
