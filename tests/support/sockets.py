"""A browser tab's WebSocket to a real daphne process, from the outside, as `websockets` sees it."""

import asyncio
import json

import websockets

from tests.support.clients import Drains, drain_to_sentinel


class Socket(Drains):
    """One browser tab's socket to one daphne process, from the outside, as websockets sees it.

    Every frame read is kept in `frames`; `drain`, `assert_never` and `assert_at_most` prove
    absence as the in-process clients do (tests/support/clients.py)."""

    def __init__(self, connection):
        self.connection = connection
        self.first_frame = None
        self.frames = []
        self._next_id = 0

    @classmethod
    async def open(cls, daphne, token, language="de"):
        connection = await websockets.connect(
            f"ws://127.0.0.1:{daphne.port}/ws/venue/?token={token}&lang={language}",
            origin=f"http://127.0.0.1:{daphne.port}",
            compression=None, proxy=None, ping_interval=None,
        )
        socket = cls(connection)
        socket.first_frame = await socket.receive(timeout=10)
        return socket

    async def settled(self, timeout=30):
        """Waits for the last frame of the connect sequence (what is this person's alone): from
        then on the page is complete, and the server holds nothing more to do for this socket."""
        await self.until(lambda f: f.startswith('{"type": "me"'), timeout)
        return self

    async def _read(self, timeout=3600):
        return await asyncio.wait_for(self.connection.recv(), timeout)

    async def receive(self, timeout=10):
        frame = await self._read(timeout)
        self.frames.append(frame)
        return frame

    async def until(self, predicate, timeout=10):
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.receive()
                if predicate(frame):
                    return frame

    async def send(self, message_type, **fields):
        self._next_id += 1
        await self.connection.send(json.dumps({"type": message_type, "id": self._next_id, **fields}))
        return self._next_id

    async def command(self, message_type, **fields):
        message_id = await self.send(message_type, **fields)
        frame = await self.until(lambda f: f.startswith("{") and json.loads(f).get("id") == message_id)
        return json.loads(frame)

    async def drain(self, timeout=10):
        return await drain_to_sentinel(self, timeout)

    async def close(self):
        await self.connection.close()
