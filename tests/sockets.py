"""A browser tab's WebSocket to a real daphne process, from the outside, as `websockets` sees it."""

import asyncio
import json

import websockets


class Socket:
    """One browser tab's socket to one daphne process, from the outside, as websockets sees it."""

    def __init__(self, connection):
        self.connection = connection
        self.first_frame = None
        self._next_id = 0

    @classmethod
    async def open(cls, daphne, token, language="de"):
        connection = await websockets.connect(
            f"ws://127.0.0.1:{daphne.port}/ws/venue/?token={token}&lang={language}",
            origin=f"http://127.0.0.1:{daphne.port}",
            compression=None, proxy=None, ping_interval=None,
        )
        socket = cls(connection)
        socket.first_frame = await asyncio.wait_for(connection.recv(), 5)
        return socket

    async def settled(self, timeout=30):
        """Waits for the last frame of the connect sequence (what is this person's alone): from
        then on the page is complete, and the server holds nothing more to do for this socket."""
        await self.until(lambda f: f.startswith('{"type": "me"'), timeout)
        return self

    async def until(self, predicate, timeout=5):
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.connection.recv()
                if predicate(frame):
                    return frame

    async def command(self, message_type, **fields):
        self._next_id += 1
        message_id = self._next_id
        await self.connection.send(json.dumps({"type": message_type, "id": message_id, **fields}))
        frame = await self.until(lambda f: f.startswith("{") and json.loads(f).get("id") == message_id)
        return json.loads(frame)

    async def none_within(self, predicate, seconds):
        """Asserts that no frame matching `predicate` arrives for `seconds`."""
        try:
            frame = await self.until(predicate, seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected frame: {frame[:200]!r}")

    async def close(self):
        await self.connection.close()


async def eventually(check, timeout=5, interval=0.05):
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(interval)
