"""Per-person rate limits that every process shares: how many commands of one class a person
may send in a window, whichever socket and process they come through.

Counters are kept per window: in Redis when REDIS_URL is set (every daphne process counts in the
same key), in this process's memory in the embedded default (where this is the only process).
The classes and their limits are declared with the commands (venue/protocol.py, `RATES`).
"""

import asyncio
import logging
import time
from dataclasses import dataclass

import redis.asyncio
import redis.exceptions
from django.conf import settings

from venue.errors import Refused

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


class MemoryCounters:
    """One process's counters: the embedded default, where no other process serves the venue."""

    def __init__(self):
        self.windows = {}

    async def hit(self, key, window, seconds):
        """Counts one hit in `window`; returns (hits in it so far, hits in the window before)."""
        current, count, previous = self.windows.get(key, (window, 0, 0))
        if current != window:
            previous = count if current == window - 1 else 0
            count = 0
        count += 1
        self.windows[key] = (window, count, previous)
        return count, previous


class RedisCounters:
    """Counters in Redis, shared by every process: one round trip per command."""

    def __init__(self, url):
        # As for the channel layer (venue/settings.py): redis-py 8's pool of 100 raises instead
        # of waiting when a thousand people react at once.
        self.client = redis.asyncio.from_url(url, max_connections=10_000, socket_timeout=30)

    async def hit(self, key, window, seconds):
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.incr(f"plenum:limit:{key}:{window}")
            pipe.expire(f"plenum:limit:{key}:{window}", 2 * seconds + 1)
            pipe.get(f"plenum:limit:{key}:{window - 1}")
            count, _expiry, previous = await pipe.execute()
        return count, int(previous or 0)


_counters = {}


def counters():
    """This event loop's counters (a Redis client belongs to the loop that opened it)."""
    loop = asyncio.get_running_loop()
    current = _counters.get(loop)
    if current is None:
        current = RedisCounters(settings.REDIS_URL) if settings.REDIS_URL else MemoryCounters()
        _counters.clear()
        _counters[loop] = current
    return current


async def check(person_id, name, rate):
    """Count one command of class `name` for this person; refuse it if it is one too many.

    A sliding window, estimated from two fixed ones (the current and the one before, weighted
    by how much of it still lies within the last `rate.seconds`): a burst across the boundary of
    two windows is counted as one."""
    now = time.time()
    window, into = divmod(now, rate.seconds)
    try:
        count, previous = await counters().hit(f"{name}:{int(person_id)}", int(window), rate.seconds)
    except redis.exceptions.RedisError:
        # Redis away for a moment (a restart) must not stop the venue: the command goes through
        # uncounted, as everything else waits for Redis to come back.
        logger.warning("rate limit not counted: Redis unavailable", exc_info=True)
        return
    if count + previous * (1 - into / rate.seconds) > rate.count:
        raise Refused(
            "rate_limited",
            f"Too many of these at once (at most {rate.count} in {rate.seconds} seconds); please wait a moment.",
        )
