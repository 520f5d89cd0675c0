"""Redis restarts mid-day: the sockets come back by themselves and nothing acknowledged is lost.

Two daphne processes share PostgreSQL and a real redis-server, which is stopped and started
again on the same port (empty: it keeps nothing). A page's socket reconnects when it is closed
with 1006/1011/1012/1013 (htmx's ws extension) or 4012/4013 (frontend/static/plenum/retry.js);
these clients do the same, and a chat message acknowledged before, during or after the outage is
stored and reaches the other process.
"""

import asyncio
import time

import psycopg
import pytest
import websockets

from frontend import demo
from tests.support.servers import Daphne, prepare_demo, server_env
from tests.support.sockets import Socket
from tests.support.topology import RedisServer, start_or_fail

pytestmark = [pytest.mark.topology, pytest.mark.timeout(150)]

# The close codes after which the page opens its socket again.
RECONNECTING = {1006, 1011, 1012, 1013, 4012, 4013}


class Page:
    """A page's socket that reconnects like the page does, keeping every frame it saw."""

    def __init__(self, daphne, token):
        self.daphne = daphne
        self.token = token
        self.socket = None
        self.frames = []
        self.reconnects = 0

    async def open(self, timeout=40):
        deadline = time.monotonic() + timeout
        while True:
            assert time.monotonic() < deadline, f"the page never got back in:\n{self.daphne.log_text()[-4000:]}"
            try:
                self.socket = await Socket.open(self.daphne, self.token)
                await self.socket.settled(timeout=15)
                self.frames.extend(self.socket.frames)
                return self
            except (OSError, websockets.ConnectionClosed, websockets.InvalidStatus, TimeoutError) as error:
                closed = getattr(error, "rcvd", None)
                assert closed is None or closed.code in RECONNECTING, f"closed for good: {closed}"
                self.reconnects += 1
                await asyncio.sleep(0.3)

    async def chat(self, text, reopen=True):
        """Sends a chat message; returns whether it was acknowledged. A closed socket is opened
        again first if `reopen` (which waits while the channel layer is away: the server refuses
        joins it cannot make real); one that closes meanwhile is left closed until then."""
        if self.socket is None:
            if not reopen:
                return False
            await self.open()
        try:
            reply = await self.socket.command("chat.send", text=text)
        except (websockets.ConnectionClosed, TimeoutError) as error:
            closed = getattr(error, "rcvd", None)
            assert closed is None or closed.code in RECONNECTING, f"closed for good: {closed}"
            self.socket = None
            return False
        return reply.get("type") == "ack"

    async def sees(self, text, timeout=20):
        """Until a frame holding `text` arrives, reconnecting as the page would."""
        deadline = time.monotonic() + timeout
        if self.socket is None:
            await self.open()
        while not any(text in frame for frame in self.frames):
            assert time.monotonic() < deadline, f"{text!r} never reached the page:\n{self.daphne.log_text()[-6000:]}"
            try:
                frame = await self.socket.receive(timeout=max(0.1, deadline - time.monotonic()))
                self.frames.append(frame)
            except websockets.ConnectionClosed as error:
                assert error.rcvd is None or error.rcvd.code in RECONNECTING, f"closed for good: {error.rcvd}"
                await self.open()
            except TimeoutError:
                pass


@pytest.fixture
def restartable_topology(postgres_cluster, tmp_path):
    redis_server = start_or_fail(RedisServer().start)
    name = "plenum_redis_restart"
    database_url = postgres_cluster.create_database(name)
    env = server_env(tmp_path, DATABASE_URL=database_url, REDIS_URL=redis_server.url, CONN_MAX_AGE=60)
    prepare_demo(env, "http://127.0.0.1")
    daphnes = [Daphne(env), Daphne(env)]
    try:
        for daphne in daphnes:
            daphne.start()
        yield redis_server, daphnes, database_url
    finally:
        for daphne in daphnes:
            daphne.stop()
        redis_server.stop()
        postgres_cluster.drop_database(name)


def participant_tokens(database_url):
    with psycopg.connect(database_url) as conn:
        return [token for token, in conn.execute(
            "SELECT p.token FROM venue_person p JOIN venue_conference c ON c.id = p.conference_id "
            "WHERE c.slug = %s AND p.role = 'participant' ORDER BY p.id", (demo.SLUG,),
        )]


def stored_chat(database_url):
    with psycopg.connect(database_url) as conn:
        return {text for text, in conn.execute("SELECT text FROM rooms_chatmessage")}


async def acknowledged_chat(page, prefix, timeout=30):
    """Sends `prefix` (made unique) until it is acknowledged; returns the acknowledged text."""
    deadline = time.monotonic() + timeout
    while True:
        text = f"{prefix} {time.monotonic():.3f}"
        if await page.chat(text):
            return text
        assert time.monotonic() < deadline, f"{prefix!r} never got an ack after Redis came back"
        await asyncio.sleep(2.5)


async def test_redis_restart_mid_day_sockets_come_back_and_nothing_acknowledged_is_lost(restartable_topology):
    redis_server, (first, second), database_url = restartable_topology
    speaker_token, listener_token = participant_tokens(database_url)[:2]
    speaker = await Page(first, speaker_token).open()
    listener = await Page(second, listener_token).open()

    assert await speaker.chat("vor dem Neustart")
    await listener.sees("vor dem Neustart")

    redis_server.stop()
    # The chat allows 5 messages in 10 s per person: at most 4 go out in any 10 s here.
    during = [f"während des Ausfalls {n}" for n in range(2)]
    acknowledged = [text for text in during if await speaker.chat(text, reopen=False)]
    restarted = RedisServer(port=redis_server.port)
    redis_server.process, redis_server.dir = restarted.start().process, restarted.dir
    redis_server.log_path = restarted.log_path

    # Within a few seconds both pages are back and hear each other again, across processes (a
    # page may be asked once more to reconnect when its process has joined its groups again:
    # what is not acknowledged is sent again, as a person would).
    text = await acknowledged_chat(speaker, "nach dem Neustart")
    await listener.sees(text, timeout=20)
    answer = await acknowledged_chat(listener, "Antwort nach dem Neustart")
    await speaker.sees(answer)

    # Nothing acknowledged is lost: every acked message is stored (and so in every snapshot).
    stored = stored_chat(database_url)
    assert {"vor dem Neustart", text, answer, *acknowledged} <= stored
    for daphne in (first, second):
        assert daphne.process.poll() is None, daphne.log_text()[-3000:]
    for page in (speaker, listener):
        await page.socket.close()
