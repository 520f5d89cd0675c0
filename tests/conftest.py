"""Shared fixtures: the demo conference, its people, and real WebSocket clients against the ASGI app."""

import asyncio
import json

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from venue import fanout
from frontend import demo
from venue.models import Person, Role

ORIGIN_HEADERS = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


@pytest.fixture
def conference(transactional_db):
    return demo.create()


def someone(conference, role, index=0):
    return Person.objects.filter(conference=conference, role=role).order_by("pk")[index]


@pytest.fixture
def moderator(conference):
    return someone(conference, Role.MODERATOR)


@pytest.fixture
def participants(conference):
    return list(Person.objects.filter(conference=conference, role=Role.PARTICIPANT).order_by("pk"))


@pytest.fixture
async def layer():
    channel_layer = get_channel_layer()
    await channel_layer.flush()
    yield channel_layer
    await fanout.shutdown()
    await channel_layer.flush()


class Client:
    """A participant's socket as the browser holds it: sends commands, reads frames."""

    def __init__(self, communicator):
        self.communicator = communicator
        self.frames = []
        self._next_id = 0

    async def send(self, message_type, **fields):
        self._next_id += 1
        await self.communicator.send_to(text_data=json.dumps({"type": message_type, "id": self._next_id, **fields}))
        return self._next_id

    async def send_raw(self, text=None, data=None):
        await self.communicator.send_to(text_data=text, bytes_data=data)

    async def receive(self, timeout=3):
        frame = await self.communicator.receive_from(timeout=timeout)
        self.frames.append(frame)
        return frame

    async def receive_until(self, predicate, timeout=3):
        """The first frame that satisfies `predicate`; frames before it are kept in self.frames."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no matching frame within {timeout}s; got {self.frames[-3:]!r}")
            frame = await self.receive(timeout=left)
            if predicate(frame):
                return frame

    async def seen_or_receive(self, predicate, timeout=3):
        """A frame already received that satisfies `predicate`, or the next one that does."""
        for frame in self.frames:
            if predicate(frame):
                return frame
        return await self.receive_until(predicate, timeout)

    async def reply_to(self, message_id, timeout=3):
        frame = await self.receive_until(
            lambda f: f.startswith("{") and json.loads(f).get("id") == message_id, timeout
        )
        return json.loads(frame)

    async def command(self, message_type, **fields):
        return await self.reply_to(await self.send(message_type, **fields))

    async def close(self):
        await self.communicator.disconnect()


async def connect(person, language="de", path=None):
    from venue.asgi import application

    url = path or f"/ws/venue/?token={person.token}&lang={language}"
    communicator = WebsocketCommunicator(application, url, headers=ORIGIN_HEADERS)
    connected, _subprotocol = await communicator.connect()
    assert connected
    client = Client(communicator)
    return client
