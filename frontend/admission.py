"""The door of one process in a join storm: who joins now, who waits a moment, who comes back later.

A joining socket costs database trips and renders (who it is, consumers.VenueConsumer._join), all
on the process's one database thread. `Door`, the outermost websocket middleware, runs before
anything touches the database: a few sockets join at once and the next wait their turn in order
of arrival (`Joins`); one that would wait too long is accepted and closed at once with 4013 ("try
again later") after a `busy` error that says in how many seconds, and the page waits that long
plus jitter (frontend/static/plenum/retry.js). Without the door a storm queued every handshake
behind all the others until daphne's handshake timeout reset them all together.
"""

import asyncio
import json
import math
import time
from collections import deque
from urllib.parse import parse_qs

from django.conf import settings

from venue import errors, metrics

# How long the rate of finished joins is averaged over, to tell the waiting when to come back.
WINDOW_SECONDS = 5.0
# Below this span the rate is not measured yet: a storm's first joins would make it look
# anything from zero to infinite. Until then the process assumes PLENUM_JOIN_ASSUMED_RATE.
MEASURED_AFTER_SECONDS = 1.0
MAX_RETRY_SECONDS = 30
# A join that failed (Redis away, say): the page comes back after about this long.
RETRY_AFTER_FAILURE = 2
# Close codes after which the page opens its socket again by itself (frontend/static/plenum/retry.js;
# daphne lets an application send no 1012/1013, the standard codes for these two).
TRY_AGAIN_LATER = 4013
SERVICE_RESTART = 4012
LANGUAGES = {code for code, _name in settings.LANGUAGES}


class Joins:
    """Turns to join, first come first served: `PLENUM_JOIN_CONCURRENCY` sockets join at once,
    the next ones wait (their handshake unanswered, which daphne allows for
    --websocket_connect_timeout), and whoever would wait longer than
    `PLENUM_JOIN_MAX_WAIT_SECONDS` is told when to come back instead.

    A few at a time, each all the way through, beats everyone at once: the database thread works
    through one socket's queries after another instead of every socket's first query, then every
    socket's second, with nobody done until nearly all are."""

    def __init__(self):
        self.joining = 0
        self.waiting = deque()  # futures of the sockets waiting for a turn, in order of arrival
        self.finished = deque()

    def rate(self):
        now = time.monotonic()
        while self.finished and self.finished[0] < now - WINDOW_SECONDS:
            self.finished.popleft()
        # Over the span the window really covers: at the start of a storm the window is not full
        # yet, and dividing by all of it told sockets to come back that would have had a turn.
        span = now - self.finished[0] if self.finished else 0.0
        if span < MEASURED_AFTER_SECONDS:
            return settings.PLENUM_JOIN_ASSUMED_RATE
        return len(self.finished) / span

    async def turn(self):
        """Waits for this socket's turn and returns None; or, at once, in how many seconds to come back."""
        if self.joining < settings.PLENUM_JOIN_CONCURRENCY and not self.waiting:
            self.joining += 1
            return None
        wait = (len(self.waiting) + 1) / self.rate()
        if wait > settings.PLENUM_JOIN_MAX_WAIT_SECONDS:
            return max(1, min(MAX_RETRY_SECONDS, math.ceil(wait)))
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        try:
            await future
        except asyncio.CancelledError:
            # The socket went away while waiting; if the turn had just been handed to it, pass it on.
            if future.done() and not future.cancelled():
                self._hand_over()
            elif future in self.waiting:
                self.waiting.remove(future)
            raise
        return None

    def done(self):
        self.finished.append(time.monotonic())
        self._hand_over()

    def _hand_over(self):
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_result(None)  # the turn passes on; as many join as before
                return
        self.joining -= 1


joins = Joins()


class Ticket:
    """One admitted socket's place in the door; given back once, whichever comes first: the
    consumer's join finished (or failed), or the socket ended."""

    def __init__(self):
        self.held = True

    def done(self):
        if self.held:
            self.held = False
            joins.done()


def requested_language(scope):
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    requested = (query.get("lang") or [""])[0]
    return requested if requested in LANGUAGES else settings.LANGUAGE_CODE


def busy(language, seconds):
    """The frame that tells a page to come back in `seconds`."""
    return json.dumps({"type": "error", "code": "busy", "message": errors.message_for("busy", language), "retry_after": seconds})


class Door:
    """ASGI middleware for sockets, outermost: lets a socket in, or tells it when to come back."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        wait = await joins.turn()
        if wait is not None:
            await self._turn_away(scope, receive, send, wait)
            return
        ticket = Ticket()
        try:
            return await self.app({**scope, "admission": ticket}, receive, send)
        finally:
            ticket.done()

    @staticmethod
    async def _turn_away(scope, receive, send, seconds):
        metrics.JOINS.labels("busy").inc()
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": busy(requested_language(scope), seconds)})
        await send({"type": "websocket.close", "code": TRY_AGAIN_LATER})
