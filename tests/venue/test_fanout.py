"""The fan-out hub against a real redis-server: a process is a group member exactly while it
holds a socket in that group, however sockets come and go at the same moment.

A process that is not a member while one of its sockets is in the group loses that socket's
broadcasts; one that stays a member after its last socket left keeps receiving (and dropping)
the group's traffic until the membership expires.
"""

import asyncio

import pytest
from redis.exceptions import ConnectionError

from tests.support.topology import RedisServer
from tests.support.waiting import wait_until
from venue import fanout, metrics
from venue.fanout import Hub
from venue.layers import RedisChannelLayer

pytestmark = [pytest.mark.topology]


class Tab:
    """What the hub needs of a socket: somewhere to deliver frames."""

    def __init__(self, name):
        self.name = name
        self.frames = []

    async def deliver(self, text):
        self.frames.append(text)


@pytest.fixture
async def redis_hub(redis_server):
    redis_server.flush()
    hub = Hub()
    # The host options of venue/settings.py (redis-py's own pool stops at 100 connections).
    host = {"address": redis_server.url, "socket_timeout": 30, "max_connections": 10_000}
    hub.layer = RedisChannelLayer(hosts=[host], group_expiry=120)
    hub.channel = await hub.layer.new_channel()
    hub.loop = asyncio.get_running_loop()
    reader = asyncio.ensure_future(hub._read())
    try:
        yield hub
    finally:
        reader.cancel()
        await hub.layer.flush()
        await hub.layer.close_pools()


async def members(hub, group):
    async with hub.layer.connection(hub.layer.consistent_hash(group)) as connection:
        return {m.decode() for m in await connection.zrange(hub.layer._group_key(group), 0, -1)}


async def test_one_tab_leaving_as_another_arrives_keeps_the_process_in_the_group(redis_hub):
    # The lounge table: the last person walks away while someone else steps up.
    # Around them, others open and close tabs, so the layer's connections are busy.
    group = "conf.1.room.7.de"
    tabs = [Tab("a"), Tab("b")]
    crowd = [Tab(f"c{n}") for n in range(100)]
    await redis_hub.enter(tabs[0], group)
    for round_ in range(60):
        # Fresh connections each round, as after a quiet spell: how long a connection takes to
        # open decides which command reaches Redis first.
        await redis_hub.layer.close_pools()
        leaving, arriving = tabs[round_ % 2], tabs[(round_ + 1) % 2]
        step = redis_hub.leave if round_ % 2 else redis_hub.enter
        await asyncio.gather(
            *(step(tab, f"person.{n}") for n, tab in enumerate(crowd[:50])),
            redis_hub.leave(leaving, group),
            redis_hub.enter(arriving, group),
            *(step(tab, f"person.{n + 50}") for n, tab in enumerate(crowd[50:])),
        )
        assert await members(redis_hub, group) == {redis_hub.channel}, f"round {round_}"
    await redis_hub.layer.group_send(group, {"type": "fanout.deliver", "group": group, "text": "still here"})
    stays = tabs[60 % 2]
    async with asyncio.timeout(5):
        while "still here" not in stays.frames:
            await asyncio.sleep(0.01)


async def test_the_refresh_does_not_bring_back_a_group_that_everyone_left(redis_hub):
    groups = [f"person.{n}" for n in range(300)]
    tabs = [Tab(str(n)) for n in range(300)]
    for tab, group in zip(tabs, groups):
        await redis_hub.enter(tab, group)
    # The periodic renewal runs while everybody closes their tab.
    refresh = asyncio.ensure_future(redis_hub.renew())
    await asyncio.gather(*(redis_hub.leave(tab, group) for tab, group in zip(tabs, groups)))
    await refresh
    left_behind = [group for group in groups if await members(redis_hub, group)]
    assert left_behind == []


class BrokenTab(Tab):
    async def deliver(self, text):
        raise ConnectionResetError("the tab is gone")


async def test_a_bad_message_or_a_broken_socket_does_not_stop_delivery(redis_hub):
    group = "conf.1.everyone"
    broken, fine = BrokenTab("broken"), Tab("fine")
    for tab in (broken, fine):
        await redis_hub.enter(tab, group)
    # Something that is not a well-formed delivery reaches the process channel ...
    await redis_hub.layer.send(redis_hub.channel, {"type": "fanout.deliver"})
    await redis_hub.layer.send(redis_hub.channel, {"type": "fanout.deliver_with_extras", "group": group})
    # ... and one socket cannot be written to: the others still get their frames.
    await redis_hub.layer.group_send(group, {"type": "fanout.deliver", "group": group, "text": "one"})
    await redis_hub.layer.group_send(
        group, {"type": "fanout.deliver_with_extras", "group": group, "text": "two", "extras": [["conf.1.room.3.de", "!"]]}
    )
    async with asyncio.timeout(5):
        while fine.frames != ["one", "two"]:
            await asyncio.sleep(0.01)


class ListeningTab(Tab):
    """A tab that also acts on control messages, as a socket does (RESYNC: it reconnects)."""

    def __init__(self, name):
        super().__init__(name)
        self.controls = []

    async def control(self, payload):
        self.controls.append(payload)


async def test_a_redis_restart_makes_the_hub_join_again_and_its_sockets_catch_up(settings):
    # Redis restarts empty, forgetting every membership, and redis-py's retries may hide that from
    # every read: the hub notices by the new run id, joins its groups again, and asks the sockets
    # that were open meanwhile to reconnect (their pages take a fresh snapshot). A tab that
    # enters while the hub is in doubt is joined for real, not from memory.
    settings.PLENUM_LAYER_WATCH_SECONDS = 0.1
    resyncs = metrics.REGISTRY.get_sample_value("plenum_resyncs_total")
    server = RedisServer().start()
    host = {"address": server.url, "socket_timeout": 30, "max_connections": 100}
    hub = Hub()
    hub.layer = RedisChannelLayer(hosts=[host], group_expiry=120)
    hub.channel = await hub.layer.new_channel()
    hub.loop = asyncio.get_running_loop()
    hub.servers = await fanout._servers(hub.layer)
    tasks = [asyncio.ensure_future(hub._read()), asyncio.ensure_future(hub._watch())]
    group, other = "conf.1.room.7.de", "conf.1.room.8.de"
    before, during = ListeningTab("before"), ListeningTab("during")
    try:
        await hub.enter(before, group)
        assert hub.channel in await members(hub, group)

        server.stop()
        server = RedisServer(port=server.port).start()

        async def rejoined():
            try:
                return hub.sure and hub.channel in await members(hub, group)
            except ConnectionError:  # the test's own pooled connection to the old server
                return False

        await wait_until(rejoined, timeout=10, what="the hub joined its group again")
        assert before.controls == [fanout.RESYNC]
        assert metrics.REGISTRY.get_sample_value("plenum_resyncs_total") == resyncs + 1
        # After the doubt, a tab entering a group the hub has not joined yet is joined for real,
        # and broadcasts reach both again.
        await hub.enter(during, other)
        assert hub.channel in await members(hub, other)
        await hub.layer.group_send(group, fanout._message(group, "nach dem Neustart"))
        await wait_until(lambda: before.frames == ["nach dem Neustart"], timeout=10, what="the broadcast after the restart")
        assert during.controls == []
    finally:
        for task in tasks:
            task.cancel()
        await hub.layer.close_pools()
        server.stop()


async def test_connections_cut_without_a_restart_do_not_send_the_pages_away(redis_hub):
    # Redis drops every client connection (a network blip) but keeps its data: the hub doubts,
    # finds the same server, and keeps its sockets: nothing they were sent was lost.
    group = "conf.1.room.9.de"
    tab = ListeningTab("tab")
    await redis_hub.enter(tab, group)
    redis_hub.servers = await fanout._servers(redis_hub.layer)
    async with redis_hub.layer.connection(0) as connection:
        await connection.client_kill_filter(_type="normal", skipme=False)
    redis_hub.doubt("the test cut the connections")
    await wait_until(lambda: redis_hub.sure, timeout=10, what="the hub is sure again")
    await redis_hub.layer.group_send(group, fanout._message(group, "nach der Unterbrechung"))
    await wait_until(lambda: tab.frames == ["nach der Unterbrechung"], timeout=10, what="the broadcast after the cut")
    assert tab.controls == []
    assert metrics.REGISTRY.get_sample_value("plenum_layer_doubts_total") >= 1
