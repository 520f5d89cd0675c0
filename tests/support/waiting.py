"""Waiting for something to be so, not for some time to pass."""

import asyncio
import inspect


async def wait_until(predicate, timeout=5, what="condition", interval=0.05):
    """Returns as soon as `predicate()` is true (a coroutine function's result is awaited);
    fails after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await _holds(predicate):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(interval)


async def _holds(predicate):
    result = predicate()
    return await result if inspect.isawaitable(result) else result
