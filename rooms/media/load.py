"""How loaded each media worker is, and which ones live: one answer for every process, in Redis.

Each worker writes, every PLENUM_MEDIA_LOAD_SECONDS, its load (the streams it forwards, plus one
per socket whose media it holds) and the time of writing (Redis' own clock, so that processes
on several machines agree). A daphne process that places a new viewer of a spread room reads
them and takes the least loaded live worker; it adds what one viewer costs there (a socket and
a slot per track of the room) to that worker's figure at once, so that a thousand viewers
joining within one report are spread too, not sent to the same worker.
"""

import asyncio

import redis.asyncio as aioredis
from django.conf import settings

LOAD = "plenum:media:load"  # hash: worker index -> load
SEEN = "plenum:media:seen"  # hash: worker index -> Redis time (seconds) of its last report
# hash: worker index -> what one more viewer of a spread room costs it (its slots, one per track)
VIEWER = "plenum:media:viewer"

_clients = {}


def _client():
    # One client per event loop (tests run several loops in one process).
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        _clients.clear()
        client = _clients[loop] = aioredis.from_url(settings.REDIS_URL)
    return client


async def _now(client):
    seconds, microseconds = await client.time()
    return seconds + microseconds / 1_000_000


def stale_after():
    return 3 * settings.PLENUM_MEDIA_LOAD_SECONDS


async def report(index, load, viewer=1):
    client = _client()
    now = await _now(client)
    async with client.pipeline(transaction=True) as pipe:
        pipe.hset(LOAD, str(index), int(load))
        pipe.hset(VIEWER, str(index), int(viewer))
        pipe.hset(SEEN, str(index), repr(now))
        await pipe.execute()


async def forget(index):
    """An orderly stop: the others need not wait for this worker's report to go stale."""
    client = _client()
    async with client.pipeline(transaction=True) as pipe:
        pipe.hdel(LOAD, str(index))
        pipe.hdel(VIEWER, str(index))
        pipe.hdel(SEEN, str(index))
        await pipe.execute()


async def _reports():
    client = _client()
    now = await _now(client)
    loads, viewers, seen = await asyncio.gather(client.hgetall(LOAD), client.hgetall(VIEWER), client.hgetall(SEEN))
    alive = {}
    for key, when in seen.items():
        index = int(key)
        if index >= settings.PLENUM_MEDIA_WORKERS or now - float(when) > stale_after():
            continue
        alive[index] = (int(loads.get(key, 0)), int(viewers.get(key, 1)))
    return alive


async def live_workers():
    """{index: load} of the workers that reported lately."""
    return {index: load for index, (load, _viewer) in (await _reports()).items()}


async def choose():
    """The least loaded live worker (the lowest index among equals), or None if none lives."""
    alive = await _reports()
    if not alive:
        return None
    index = min(alive, key=lambda i: (alive[i][0], i))
    # What a viewer costs is the same on every worker of a spread room (each gets every track);
    # the largest report stands for all, in case one has not seen the room's tracks yet.
    await _client().hincrby(LOAD, str(index), max(viewer for _load, viewer in alive.values()))
    return index
