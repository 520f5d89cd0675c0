"""Real WebSocket clients against the ASGI app, and the one way to prove that a socket was not sent something.

A frame that a test has not read is not a frame the person did not get: it may be waiting on the
socket. `Drains` reads a socket up to a sentinel (a `ping`, which the server acknowledges after
everything it had already written to that socket) and only then looks for what must be absent.
"""

import asyncio
import json

from channels.testing import WebsocketCommunicator
from django.test import Client as PageClient

from venue.models import Person

ORIGIN_HEADERS = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


def has(*needles):
    """A frame predicate: every one of `needles` is in the frame."""
    return lambda frame: all(needle in frame for needle in needles)


def someone(conference, role, index=0):
    return Person.objects.filter(conference=conference, role=role).order_by("pk")[index]


def signed_in_as(person):
    """A Django test client that opened `person`'s personal link: their pages over HTTP."""
    browser = PageClient()
    browser.get(f"/p/{person.token}/")
    return browser


def is_reply_to(frame, message_id):
    return frame.startswith('{"type": ') and json.loads(frame).get("id") == message_id


class Drains:
    """Proving absence on a socket: "this person was not sent that", "at most N updates".

    A `ping` is answered with {"type": "ack", "id": N} in order after everything the server had
    already written to the socket, so reading up to that ack (`drain`) reads every frame the
    socket had been sent when the ping arrived. It does not wait for a broadcast still on its
    way: broadcasts are published after a commit and travel through the channel layer and the
    process's fan-out hub, and some are coalesced (votes, presence, reaction bursts). So first
    wait for what proves the broadcast in question went out, then drain:

        said = await alice.command("chat.send", text="Nur hier")    # acked: published
        await bob.receive_until(has("Nur hier"))                    # the rightful recipient has it
        await carla.assert_never(has("Nur hier"), what="another table's chat")

    A command's broadcasts are published before the command is acknowledged (the domain
    function announces on commit, before it returns), except the coalesced ones; for those, wait
    until a rightful recipient holds the coalesced frame, or until the observer itself holds a
    later frame of the same kind. In one process the hub then delivers them before it gets to
    anything later, and the ping's ack follows. Across processes (a Redis channel layer), the
    observer's process reads the layer on its own schedule: there, the proof is the observer
    holding a later frame that travelled the same way.

    A class using this keeps every frame it reads in `frames`, and reads the socket up to the
    sentinel in `drain`.
    """

    frames: list

    async def drain(self, timeout=10):
        """Reads everything the socket was sent before now, records it in `frames` and returns it."""
        raise NotImplementedError

    def mark(self):
        """Where the frames read so far end: `since` for the checks below."""
        return len(self.frames)

    async def assert_never(self, predicate, what, since=0):
        """Drains the socket, then asserts that no frame since `since` (by default: since it
        connected) satisfies `predicate`."""
        await self.drain()
        leaked = [frame for frame in self.frames[since:] if predicate(frame)]
        assert not leaked, f"{what}: {len(leaked)} frame(s) that must not be here, the first: {leaked[0][:400]!r}"

    async def assert_at_most(self, count, predicate, what, since=0):
        """Drains the socket, then asserts that at most `count` frames since `since` satisfy
        `predicate`; returns those frames."""
        await self.drain()
        matching = [frame for frame in self.frames[since:] if predicate(frame)]
        assert len(matching) <= count, f"{what}: {len(matching)} frames, at most {count} expected: {matching!r}"[:2000]
        return matching


async def drain_to_sentinel(client, timeout):
    """`drain` for a client with `send(type)` that returns the message's id and `_read(timeout)`."""
    sentinel = await client.send("ping")
    start = len(client.frames)
    try:
        async with asyncio.timeout(timeout):
            while True:
                frame = await client._read()
                if is_reply_to(frame, sentinel):
                    return client.frames[start:]
                client.frames.append(frame)
    except TimeoutError:
        raise AssertionError(f"no answer to the sentinel ping within {timeout}s; got {client.frames[start:][-3:]!r}") from None


class Client(Drains):
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

    async def _read(self, timeout=3600):
        return await self.communicator.receive_from(timeout=timeout)

    async def receive(self, timeout=5):
        frame = await self._read(timeout)
        self.frames.append(frame)
        return frame

    async def receive_until(self, predicate, timeout=5):
        """The first frame that satisfies `predicate`; frames before it are kept in self.frames."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no matching frame within {timeout}s; got {self.frames[-3:]!r}")
            try:
                frame = await self.receive(timeout=left)
            except asyncio.TimeoutError:
                raise AssertionError(f"no matching frame within {timeout}s; got {self.frames[-3:]!r}") from None
            if predicate(frame):
                return frame

    async def seen_or_receive(self, predicate, timeout=5):
        """A frame already received that satisfies `predicate`, or the next one that does."""
        for frame in self.frames:
            if predicate(frame):
                return frame
        return await self.receive_until(predicate, timeout)

    async def reply_to(self, message_id, timeout=5):
        frame = await self.receive_until(lambda f: f.startswith("{") and json.loads(f).get("id") == message_id, timeout)
        return json.loads(frame)

    async def command(self, message_type, **fields):
        return await self.reply_to(await self.send(message_type, **fields))

    async def drain(self, timeout=10):
        return await drain_to_sentinel(self, timeout)

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
