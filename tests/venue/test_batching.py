"""Trips to the database thread shared by whoever asks while one is under way (venue/batching.py)."""

import asyncio
import threading

import pytest

from tests.support.waiting import wait_until
from venue.batching import Batch


class Recorder:
    """A trip function that records each trip's requests and can be held inside a trip."""

    def __init__(self):
        self.trips = []
        self.inside = threading.Event()
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, requests):
        self.trips.append(list(requests))
        self.inside.set()
        self.gate.wait(5)
        if "all fail" in requests:
            raise RuntimeError("the database went away")
        return [ValueError(f"no {request}") if request.startswith("bad") else request.upper() for request in requests]


async def until(event):
    await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, event.wait, 5), 6)


async def test_requests_made_during_a_trip_go_together_in_the_next_and_each_gets_its_own_answer():
    run = Recorder()
    run.gate.clear()
    batch = Batch("test", run)
    first = asyncio.ensure_future(batch("alice"))
    await until(run.inside)  # the first went at once, alone
    later = [asyncio.ensure_future(batch(name)) for name in ("bob", "bad carla", "dora")]
    await asyncio.sleep(0.05)
    run.gate.set()
    assert await first == "ALICE"
    assert await later[0] == "BOB"
    with pytest.raises(ValueError, match="no bad carla"):
        await later[1]
    assert await later[2] == "DORA"
    assert run.trips == [["alice"], ["bob", "bad carla", "dora"]]


async def test_a_failed_trip_fails_its_own_requests_only():
    run = Recorder()
    run.gate.clear()
    batch = Batch("test", run)
    doomed = [asyncio.ensure_future(batch(name)) for name in ("all fail",)]
    await until(run.inside)
    fine = asyncio.ensure_future(batch("erik"))
    await asyncio.sleep(0.05)
    run.gate.set()
    with pytest.raises(RuntimeError, match="went away"):
        await doomed[0]
    assert await fine == "ERIK"


async def test_a_trip_takes_at_most_its_limit_and_the_rest_follow():
    run = Recorder()
    run.gate.clear()
    batch = Batch("test", run, limit=2)
    first = asyncio.ensure_future(batch("a"))
    await until(run.inside)
    rest = [asyncio.ensure_future(batch(name)) for name in ("b", "c", "d", "e", "f")]
    await asyncio.sleep(0.05)
    run.gate.set()
    assert [await first, *[await one for one in rest]] == ["A", "B", "C", "D", "E", "F"]
    assert run.trips == [["a"], ["b", "c"], ["d", "e"], ["f"]]


async def test_a_caller_who_left_before_the_trip_is_not_taken_along():
    run = Recorder()
    run.gate.clear()
    batch = Batch("test", run)
    staying = asyncio.ensure_future(batch("fritz"))
    await until(run.inside)
    leaving = asyncio.ensure_future(batch("gina"))
    coming = asyncio.ensure_future(batch("ida"))
    await asyncio.sleep(0.05)
    leaving.cancel()
    run.gate.set()
    assert (await staying, await coming) == ("FRITZ", "IDA")
    assert run.trips == [["fritz"], ["ida"]]


async def test_what_a_trip_did_for_a_caller_who_left_during_it_is_handed_back_to_be_undone():
    run = Recorder()
    run.gate.clear()
    undone = []
    batch = Batch("test", run, abandoned=undone.extend)
    staying = asyncio.ensure_future(batch("fritz"))
    leaving = asyncio.ensure_future(batch("gina"))
    refused = asyncio.ensure_future(batch("bad hans"))
    await until(run.inside)
    assert run.trips == [["fritz", "gina", "bad hans"]]
    leaving.cancel()
    refused.cancel()
    await asyncio.sleep(0.05)
    run.gate.set()
    assert await staying == "FRITZ"
    # What the trip did for gina, whose socket went away meanwhile, comes back to be undone; a
    # refusal did nothing, so there is nothing to undo for hans.
    await wait_until(lambda: undone, timeout=5)
    assert undone == ["GINA"]
