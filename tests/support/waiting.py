"""Waiting for something to be so, not for some time to pass."""

import asyncio


async def wait_until(predicate, timeout=5, what="condition", interval=0.05):
    """Returns as soon as `predicate()` is true; fails after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(interval)
