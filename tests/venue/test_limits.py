"""Per-person limits counted in Redis: every process counts into the same window."""

import asyncio
import time

from django.test import override_settings

from venue import limits
from venue.errors import Refused


async def test_a_burst_is_counted_exactly_once_in_redis_and_another_process_sees_the_count(redis_server):
    redis_server.flush()
    rate = limits.Rate(50, 3600)

    async def one():
        try:
            await limits.check(7, "vote", rate)
            return True
        except Refused as refused:
            assert refused.code == "rate_limited"
            return False

    limits._counters.clear()
    try:
        with override_settings(REDIS_URL=redis_server.url):
            # 300 at once from one process: more than redis-py's default pool of 100 connections.
            results = await asyncio.gather(*(one() for _ in range(300)))
            assert sum(results) == 50
            # Another process (its own client) counts on from there.
            other = limits.RedisCounters(redis_server.url)
            count, _previous = await other.hit("vote:7", int(time.time() // 3600), 3600)
            assert count == 301
            await other.client.aclose()
            await limits.counters().client.aclose()
    finally:
        limits._counters.clear()
