"""Storm control for live parts that many people change at once (votes on questions and polls).

A vote is stored at once and acknowledged; the re-rendered part goes out at most once per
window per conference and process, carrying every vote of that window. A thousand votes in a
second become four broadcasts, not a thousand.
"""

import asyncio
import contextvars
import logging

from channels.db import database_sync_to_async

from venue import fanout

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 0.25


class Coalescer:
    def __init__(self, window=WINDOW_SECONDS):
        self.window = window
        self.pending = {}  # (publish function, conference id) -> set of parts
        self.loop = None

    def request(self, publish, conference_id, parts):
        """Runs on the process's event loop."""
        loop = asyncio.get_running_loop()
        if loop is not self.loop:
            self.loop, self.pending = loop, {}
        key = (publish, conference_id)
        waiting = self.pending.get(key)
        if waiting is not None:
            waiting.update(parts)
            return
        self.pending[key] = set(parts)
        loop.call_later(self.window, lambda: asyncio.ensure_future(self._flush(key)))

    async def _flush(self, key):
        publish, conference_id = key
        parts = self.pending.pop(key, set())
        if parts:
            await database_sync_to_async(publish)(conference_id, *sorted(parts))


coalescer = Coalescer()


def publish_soon(publish, conference_id, *parts):
    """From the database thread, after commit: `publish(conference_id, *parts)` once for every
    request of the coming window (one per window and process, with the union of the parts)."""
    loop = fanout.process_loop()
    if loop is None or loop.is_closed():
        # Not in a server process (a management command): nobody is connected here anyway,
        # but other processes may be, so publish right away.
        publish(conference_id, *parts)
        return
    # A fresh context: the database thread's own (asgiref's "inside sync_to_async" markers) must
    # not travel into the loop, or the later database call would see itself as nested.
    loop.call_soon_threadsafe(coalescer.request, publish, conference_id, parts, context=contextvars.Context())
