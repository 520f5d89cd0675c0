"""The door's turns (frontend/admission.py): first come first served, and a socket that leaves
while waiting gives up its place without taking anybody's turn."""

import asyncio
import time

from django.test import override_settings

from frontend import admission
from frontend.admission import Joins


@override_settings(PLENUM_JOIN_CONCURRENCY=1, PLENUM_JOIN_MAX_WAIT_SECONDS=60)
async def test_turns_go_in_order_of_arrival_and_a_socket_that_leaves_gives_up_its_place():
    joins = Joins()
    assert await joins.turn() is None  # the first joins at once
    order = []

    async def socket(name):
        assert await joins.turn() is None
        order.append(name)

    waiting = [asyncio.ensure_future(socket(name)) for name in ("b", "c", "d")]
    await asyncio.sleep(0)
    waiting[1].cancel()  # "c" closes its tab while waiting
    await asyncio.sleep(0)
    assert order == [] and joins.joining == 1
    joins.done()  # the first is in; "b" gets the turn
    await asyncio.sleep(0)
    assert order == ["b"]
    joins.done()
    await asyncio.sleep(0)
    assert order == ["b", "d"]
    joins.done()
    assert joins.joining == 0 and not joins.waiting


@override_settings(PLENUM_JOIN_CONCURRENCY=1, PLENUM_JOIN_MAX_WAIT_SECONDS=0.5, PLENUM_JOIN_ASSUMED_RATE=100)
async def test_who_would_wait_too_long_is_told_when_to_come_back():
    joins = Joins()
    assert await joins.turn() is None
    # Nothing finished yet: 100 joins a second are assumed, so 49 may wait up to half a second
    # (the 50th waits exactly that long); the 51st is told to come back.
    waiting = [asyncio.ensure_future(joins.turn()) for _ in range(50)]
    await asyncio.sleep(0)
    assert len(joins.waiting) == 50
    seconds = await joins.turn()
    assert seconds == 1
    for task in waiting:
        task.cancel()
    await asyncio.sleep(0)
    joins.done()
    assert joins.joining == 0 and not joins.waiting


@override_settings(PLENUM_JOIN_ASSUMED_RATE=200)
def test_the_rate_is_measured_over_the_span_the_window_covers_once_it_covers_a_second():
    joins = Joins()
    now = time.monotonic()
    # A storm's first joins: too few to tell a rate by; the assumed one holds.
    joins.finished.extend([now - 0.2, now - 0.1])
    assert joins.rate() == 200
    # 600 joins over the last two seconds: 300 a second, not 600 / 5 = 120 as if the window were full.
    joins.finished.clear()
    joins.finished.extend(now - 2 + i * (2 / 600) for i in range(600))
    assert 290 < joins.rate() < 310
    # What is older than the window no longer counts.
    joins.finished.appendleft(now - admission.WINDOW_SECONDS - 1)
    assert 290 < joins.rate() < 310
